"""Scale-out check: two gunicorn instances, one database, no shared memory.

    python bench/scale_out.py

(`make bench` runs it after bench/run.py.) Starts two gunicorn instances (DEBUG off, one
sync worker each) on two loopback ports against the same PostgreSQL database and checks,
over HTTP only, that:

1. the demo therapist signs in on instance 1 and is signed in on instance 2 too
   (sessions live in the database), and a second sign-in, through instance 2's login form,
   is valid on instance 1;
2. a session logged on instance 1 shows a client link (the raw token is kept in the
   staff session just for that page);
3. that link opens and is completed on instance 2 (token exchange, form, saved page);
4. instance 1 then shows the client's scores for the session.

Prints PASS or FAIL per check and overall; exits 1 on any FAIL. Without DATABASE_URL it
uses bench/run.py's embedded database (dyad_bench_http), migrated and seeded if needed.
"""

from __future__ import annotations

import http.cookiejar
import re
import secrets
import sys
import urllib.error
import urllib.parse
import urllib.request
from html import unescape
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import run as bench  # noqa: E402 - bench/run.py: database, environment, gunicorn helpers

DEMO_PASSWORD = "dyad-demo-2026"  # noqa: S105 - the documented demo login


class Browser:
    """A cookie-keeping HTTP client that reports redirects instead of following them."""

    def __init__(self) -> None:
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(self.jar), bench.NoRedirect()
        )

    def request(self, url: str, data: dict | None = None) -> tuple[int, str, str]:
        """(status, Location header, body)."""
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        try:
            with self.opener.open(url, body, timeout=30) as response:
                return response.status, "", response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.headers.get("Location", ""), error.read().decode()

    def csrf(self, html: str) -> str:
        return next((i.get("value", "") for i in inputs(html) if i.get("name") == _CSRF), "")


_CSRF = "csrfmiddlewaretoken"


def inputs(html: str) -> list[dict[str, str]]:
    """The attributes of every <input> in the page."""
    return [
        {k: unescape(v) for k, v in re.findall(r'([\w-]+)="([^"]*)"', tag)}
        for tag in re.findall(r"<input\b[^>]*>", html)
    ]


def field(html: str, name: str) -> str | None:
    return next((i.get("value") for i in inputs(html) if i.get("name") == name), None)


def check(results: list[tuple[str, bool, str]], name: str, ok: bool, detail: str = "") -> bool:
    results.append((name, ok, detail))
    print(f"{'PASS' if ok else 'FAIL'}  {name}{f' — {detail}' if detail else ''}", flush=True)
    return ok


def sign_in(browser: Browser, base: str) -> tuple[int, str]:
    """The demo therapist's login through `base`'s form: (status, Location)."""
    _, _, html = browser.request(base + "/accounts/login/")
    status, location, _ = browser.request(
        base + "/accounts/login/",
        {
            "username": "therapist",
            "password": DEMO_PASSWORD,
            "csrfmiddlewaretoken": browser.csrf(html),
        },
    )
    return status, location


def scenario(one: str, two: str) -> list[tuple[str, bool, str]]:
    results: list[tuple[str, bool, str]] = []
    staff = Browser()
    status, location = sign_in(staff, one)
    if not check(results, "staff login on instance 1", status == 302, f"{status} → {location}"):
        return results
    status, _, caseload = staff.request(two + "/caseload/")
    check(
        results,
        "the same login is valid on instance 2",
        status == 200 and "Log out" in caseload,
        f"GET /caseload/ on instance 2: {status}",
    )
    other = Browser()
    status, location = sign_in(other, two)
    check(results, "staff login on instance 2", status == 302, f"{status} → {location}")
    status, _, page = other.request(one + "/caseload/")
    check(
        results,
        "that login is valid on instance 1",
        status == 200 and "Log out" in page,
        f"GET /caseload/ on instance 1: {status}",
    )
    dyad = re.search(r'href="/dyads/(\d+)/"', caseload)
    if not check(results, "caseload lists a dyad", dyad is not None):
        return results
    new_url = f"{one}/dyads/{dyad.group(1)}/sessions/new/"
    status, _, form = staff.request(new_url)
    number, date = field(form, "number"), field(form, "date")
    if not check(results, "session form on instance 1", status == 200 and bool(number and date)):
        return results
    status, location, _ = staff.request(
        new_url,
        {
            "number": number,
            "date": date,
            "attendance": "attended",
            "csrfmiddlewaretoken": staff.csrf(form),
        },
    )
    session_path = urllib.parse.urlsplit(location).path
    if not check(results, "session logged on instance 1", status == 302, location):
        return results
    status, _, page = staff.request(one + session_path)
    link = next((i.get("value") for i in inputs(page) if i.get("id") == "client-link"), None)
    if not check(results, "client link shown on instance 1", status == 200 and bool(link)):
        return results
    token_path = urllib.parse.urlsplit(link).path

    phone = Browser()
    status, location, _ = phone.request(two + token_path)
    check(results, "link opens on instance 2", status == 302, f"{status} → {location}")
    status, _, form = phone.request(two + "/c/form/")
    radios: dict[str, list[str]] = {}
    for attrs in inputs(form):
        if attrs.get("type") == "radio":
            radios.setdefault(attrs["name"], []).append(attrs["value"])
    submission = field(form, "submission_id")
    if not check(
        results,
        "client form on instance 2",
        status == 200 and bool(radios) and bool(submission),
        f"{len(radios)} questions",
    ):
        return results
    data = {name: values[len(values) // 2] for name, values in radios.items()}
    data.update(submission_id=submission, csrfmiddlewaretoken=phone.csrf(form))
    if field(form, "link_ref"):
        data["link_ref"] = field(form, "link_ref")
    status, location, _ = phone.request(two + "/c/form/", data)
    check(results, "answers sent on instance 2", status == 302, f"{status} → {location}")
    status, _, saved = phone.request(two + "/c/saved/")
    check(results, "saved page on instance 2", status == 200 and "saved" in saved, str(status))
    status, _, page = staff.request(one + session_path)
    client_part = page.split('id="client-forms"', 1)[-1].split('id="therapist-forms"', 1)[0]
    check(
        results,
        "instance 1 shows the client's scores",
        status == 200 and "RRI-C" in client_part and "total" in client_part,
    )
    return results


def main() -> None:
    bench.ensure_database(Path(__file__))
    secret_key = secrets.token_urlsafe(50)
    print("Preparing the bench database (migrate, demo clinic, collectstatic)…", flush=True)
    bench.build(secret_key, fresh=False)
    env = bench.production_env(secret_key)
    with bench.Gunicorn(env, workers=1) as one, bench.Gunicorn(env, workers=1) as two:
        print(f"Instance 1: {one.url}   instance 2: {two.url}   (one database)", flush=True)
        results = scenario(one.url, two.url)
    ok = bool(results) and all(passed for _, passed, _ in results)
    print(f"\nScale-out check: {'PASS' if ok else 'FAIL'}")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
