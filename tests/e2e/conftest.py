"""Browser tests: Playwright (sync API) driving Debian's Chromium against `live_server`.

`make test` runs scripts/ensure_chromium.sh first, which installs Chromium when it is
missing and we are root, and fails when it cannot. Without a browser these tests fail too,
unless DYAD_SKIP_BROWSER_TESTS=1 asks to skip them (the skip and its reason are listed in
pytest's summary).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from django.conf import settings as django_settings
from django.test import Client as HttpClient

from tests.conftest import verify_second_factor

CHROMIUM = os.environ.get("DYAD_CHROMIUM", "/usr/bin/chromium")
SKIP_VARIABLE = "DYAD_SKIP_BROWSER_TESTS"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-quic",
    "--no-first-run",
    "--disable-sync",
]
INSTALL_HINT = (
    f"Chromium not found at {CHROMIUM}: install Debian's package "
    "(sudo apt-get install -y chromium) or set DYAD_CHROMIUM to a Chromium binary"
)
PHONE = {
    "viewport": {"width": 390, "height": 844},
    "is_mobile": True,
    "has_touch": True,
    "device_scale_factor": 2,
}
DESKTOP = {"viewport": {"width": 1280, "height": 900}}
SERIOUS = {"serious", "critical"}
_ASYNC_UNSAFE = "DJANGO_ALLOW_ASYNC_UNSAFE"


def _chromium_missing() -> str | None:
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)) and not shutil.which(
        CHROMIUM
    ):
        return INSTALL_HINT
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright is not installed: pip install -e '.[dev]'"
    return None


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if os.environ.get(SKIP_VARIABLE) == "1":
        pytest.skip(f"browser tests skipped on request ({SKIP_VARIABLE}=1)")
    reason = _chromium_missing()
    if reason:
        pytest.fail(f"{reason}; or skip the browser tests with {SKIP_VARIABLE}=1")
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an asyncio loop running on this thread, which trips
    # Django's async-safety check for the test's own ORM calls; allow them while the
    # browser is open (module scope: the override ends with the module).
    previous = os.environ.get(_ASYNC_UNSAFE)
    os.environ[_ASYNC_UNSAFE] = "true"
    try:
        with sync_playwright() as playwright:
            instance = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            yield instance
            instance.close()
    finally:
        if previous is None:
            os.environ.pop(_ASYNC_UNSAFE, None)
        else:
            os.environ[_ASYNC_UNSAFE] = previous


# Runs before any page script on every document (Playwright injects it past the page's CSP)
# and hands each CSP violation to the test.
_REPORT_CSP_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", (e) => {
  window.__dyadCspViolation(`${e.effectiveDirective} blocked ${e.blockedURI || "inline"}`
    + ` at ${e.sourceFile}:${e.lineNumber}`);
});
"""


@dataclass
class PageWatch:
    """Console errors, uncaught exceptions, CSP violations and CSP headers of one page."""

    errors: list[str] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)
    csp: dict[str, str] = field(default_factory=dict)  # document URL -> its CSP header

    def attach(self, page) -> None:  # type: ignore[no-untyped-def]
        def on_console(message) -> None:  # type: ignore[no-untyped-def]
            if message.type == "error":
                url = (message.location or {}).get("url", "")
                self.errors.append(f"console: {message.text} ({url})")

        def on_response(response) -> None:  # type: ignore[no-untyped-def]
            if response.request.resource_type == "document":
                header = response.headers.get("content-security-policy")
                if header:
                    self.csp[response.url] = header

        page.on("console", on_console)
        page.on("pageerror", lambda error: self.errors.append(f"pageerror: {error}"))
        page.on("response", on_response)
        page.expose_function("__dyadCspViolation", lambda text: self.violations.append(text))
        page.add_init_script(_REPORT_CSP_VIOLATIONS)

    def problems(self) -> list[str]:
        return self.errors + [f"CSP violation: {v}" for v in self.violations]


def assert_strict_csp(watch: PageWatch, url: str) -> None:
    """The document at `url` was sent with a CSP that lets no inline script run."""
    assert url in watch.csp, f"no Content-Security-Policy header on {url}"
    directives = {d.split()[0]: d.split()[1:] for d in watch.csp[url].split(";") if d.strip()}
    script_src = directives.get("script-src", directives.get("default-src"))
    assert script_src is not None and "'unsafe-inline'" not in script_src, watch.csp[url]


@pytest.fixture
def new_page(browser):  # type: ignore[no-untyped-def]
    """new_page(**context_options) -> (page, watch); contexts are closed after the test."""
    contexts = []

    def _new(**options):  # type: ignore[no-untyped-def]
        context = browser.new_context(**{**DESKTOP, **options})
        context.set_default_timeout(10_000)
        contexts.append(context)
        page = context.new_page()
        watch = PageWatch()
        watch.attach(page)
        return page, watch

    yield _new
    for context in contexts:
        context.close()


def login_cookie(context, live_server, user) -> None:  # type: ignore[no-untyped-def]
    """Sign the browser context in as `user`, second factor passed, without the forms."""
    http = HttpClient()
    http.force_login(user)
    verify_second_factor(http, user)
    cookie = http.cookies[django_settings.SESSION_COOKIE_NAME]
    context.add_cookies(
        [{"name": cookie.key, "value": cookie.value, "url": live_server.url, "httpOnly": True}]
    )


def axe_serious(page, known: set[str] = frozenset()) -> list[str]:  # type: ignore[no-untyped-def]
    """Serious or critical axe-core violations on the page (less `known` rule ids)."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    found = []
    for violation in results.response["violations"]:
        if violation.get("impact") in SERIOUS and violation["id"] not in known:
            targets = [node["target"] for node in violation["nodes"][:3]]
            found.append(f"{violation['id']} ({violation['impact']}): {targets}")
    return found


# A copy of a form's fields as the browser would send them, and a later re-send of exactly
# that copy through a fresh form element: the "Back, then send again" of a real client.
_SNAPSHOT_FORM = """(selector) => {
  const form = document.querySelector(selector);
  return {action: form.action, fields: [...new FormData(form)]};
}"""
_SUBMIT_COPY = """({action, fields}) => {
  const form = document.createElement("form");
  form.method = "post";
  form.action = action;
  for (const [name, value] of fields) {
    const input = document.createElement("input");
    input.type = "hidden";
    input.name = name;
    input.value = value;
    form.appendChild(input);
  }
  document.body.appendChild(form);
  form.submit();
}"""


def snapshot_form(page, selector: str) -> dict:  # type: ignore[no-untyped-def]
    return page.evaluate(_SNAPSHOT_FORM, selector)


def resubmit(page, snapshot: dict) -> int:  # type: ignore[no-untyped-def]
    """POST `snapshot` again from the current page; the POST's status code."""
    with page.expect_response(lambda r: r.request.method == "POST") as posted:
        page.evaluate(_SUBMIT_COPY, snapshot)
    page.wait_for_load_state()
    return posted.value.status
