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
4. instance 1 then shows the client's scores for the session;
5. with two job workers (`manage.py procrastinate worker`) beside the two instances, the
   clinic admin's team analytics page, requested on both instances in turn, is fitted by
   the workers once per change of the data: three fits (therapist ICC, three-level model,
   alpha) before the client's form above and three after it, however many page views ask
   (TEAM_FIT_IN_REQUEST_MAX_SESSIONS=0 sends every fit to the workers, as a large clinic's).

Prints PASS or FAIL per check and overall; exits 1 on any FAIL. Without DATABASE_URL it
uses bench/run.py's embedded database (dyad_bench_http), migrated and seeded if needed.
"""

from __future__ import annotations

import http.cookiejar
import re
import secrets
import subprocess
import sys
import time
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


class JobWorkers:
    """`count` Procrastinate worker processes on the analytics queue; always stopped."""

    def __init__(self, env: dict[str, str], count: int) -> None:
        self.env, self.count = env, count
        self.processes: list[subprocess.Popen] = []
        self.logs: list[Path] = []

    def __enter__(self) -> JobWorkers:
        bench.BENCH_DIR.mkdir(parents=True, exist_ok=True)
        for i in range(self.count):
            log = bench.BENCH_DIR / f"job-worker-{i + 1}.log"
            self.logs.append(log)
            with log.open("w") as out:
                self.processes.append(
                    subprocess.Popen(  # noqa: S603 - our interpreter and manage.py
                        [bench.PY, "manage.py", "procrastinate", "worker", "--queues",
                         "analytics", "--name", f"bench-{i + 1}"],
                        cwd=bench.ROOT, env={**self.env, "LOG_LEVEL": "INFO"},
                        stdout=out, stderr=subprocess.STDOUT,
                    )
                )  # fmt: skip
        deadline = time.monotonic() + 120  # timed from a running worker, not its start-up
        while time.monotonic() < deadline and not all(
            "Starting worker" in log.read_text(errors="replace") for log in self.logs
        ):
            time.sleep(0.2)
        return self

    def results(self) -> list[str]:
        """The result of every refit the workers ran ("fitted" or "skipped: …")."""
        text = "".join(log.read_text(errors="replace") for log in self.logs)
        return re.findall(r"outcomes\.refit_team_part\[\d+\].*?Result: ([^\n]+)", text)

    def __exit__(self, *exc: object) -> None:
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()


def admin_browser(base: str) -> Browser:
    browser = Browser()
    _, _, html = browser.request(base + "/accounts/login/")
    browser.request(
        base + "/accounts/login/",
        {"username": "admin", "password": DEMO_PASSWORD, "csrfmiddlewaretoken": browser.csrf(html)},
    )
    return browser


def analytics_until_complete(
    admin: Browser, urls: list[str], workers: JobWorkers, fitted_before: int, timeout: float = 180
) -> tuple[int, float, int]:
    """Request /analytics/ on each instance in turn until neither shows a part pending or
    stale: (page views, seconds, fits the workers ran meanwhile)."""
    begin, views = time.monotonic(), 0
    while time.monotonic() - begin < timeout:
        for url in urls:
            status, _, page = admin.request(url + "/analytics/")
            views += 1
            if status == 200 and "-pending" not in page and "-stale" not in page:
                fitted = sum(r == "fitted" for r in workers.results())
                return views, time.monotonic() - begin, fitted - fitted_before
        time.sleep(0.5)
    return views, time.monotonic() - begin, -1


def team_fits(one: str, two: str, scenario_between) -> list[tuple[str, bool, str]]:  # type: ignore[no-untyped-def]
    results: list[tuple[str, bool, str]] = []
    admin = admin_browser(one)
    with JobWorkers(ENV, 2) as workers:
        views, seconds, fits = analytics_until_complete(admin, [one, two], workers, 0)
        check(
            results,
            "team models fitted once (3 parts) by two workers for two instances",
            fits == 3,
            f"{fits} fits for {views} page views over {seconds:.1f} s",
        )
        FIGURES.append(("first view (cold cache)", views, seconds, fits))
        results += scenario_between()
        views, seconds, fits = analytics_until_complete(admin, [two, one], workers, fits)
        check(
            results,
            "after a new form: fitted once more (3 parts), not once per instance",
            fits == 3,
            f"{fits} fits for {views} page views over {seconds:.1f} s",
        )
        FIGURES.append(("after one new client form", views, seconds, fits))
        skipped = sum(r.startswith("skipped") for r in workers.results())
        FIGURES.append(("refit jobs that found the result already there", 0, 0.0, skipped))
    return results


ENV: dict[str, str] = {}
FIGURES: list[tuple[str, int, float, int]] = []


def main() -> None:
    bench.ensure_database(Path(__file__))
    secret_key = secrets.token_urlsafe(50)
    print("Preparing the bench database (migrate, demo clinic, collectstatic)…", flush=True)
    bench.build(secret_key, fresh=False)
    # The demo admin has no authenticator: the second factor is off for this run.
    env = bench.production_env(secret_key, TEAM_FIT_IN_REQUEST_MAX_SESSIONS="0",
                               TEAM_FIT_IN_REQUEST_MAX_FORMS="0", REQUIRE_2FA="false")  # fmt: skip
    ENV.update(env)
    # A cold start: the shared cache (a table in this database) keeps a previous run's fits.
    bench.manage(env, "shell", "-c", "from django.core.cache import cache; cache.clear()")
    with bench.Gunicorn(env, workers=1) as one, bench.Gunicorn(env, workers=1) as two:
        print(f"Instance 1: {one.url}   instance 2: {two.url}   (one database)", flush=True)
        results = team_fits(one.url, two.url, lambda: scenario(one.url, two.url))
    if FIGURES:
        print("\n| Team analytics, 2 instances + 2 workers | page views | seconds | fits |")
        print("|---|---:|---:|---:|")
        for label, views, seconds, fits in FIGURES:
            print(f"| {label} | {views or '—'} | {f'{seconds:.1f}' if seconds else '—'} | {fits} |")
    ok = bool(results) and all(passed for _, passed, _ in results)
    print(f"\nScale-out check: {'PASS' if ok else 'FAIL'}")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
