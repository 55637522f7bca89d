"""Security headers, the Content Security Policy, cookies and `check --deploy`."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.urls import reverse

from scripts.plotly_css import expected_files, plotly_js_path
from tests.conftest import CsrfClient
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]

STRICT = {
    "default-src": {"'self'"},
    "script-src": {"'self'"},
    "style-src": {"'self'"},
    "img-src": {"'self'", "data:"},
    "object-src": {"'none'"},
    "base-uri": {"'none'"},
    "frame-ancestors": {"'none'"},
    "form-action": {"'self'"},
}


def parse_csp(header: str) -> dict[str, set[str]]:
    policy = {}
    for directive in filter(None, (part.strip() for part in header.split(";"))):
        name, *values = directive.split()
        policy[name] = set(values)
    return policy


def assert_strict_csp(response) -> None:  # type: ignore[no-untyped-def]
    header = response["Content-Security-Policy"]
    assert "unsafe-inline" not in header and "unsafe-eval" not in header, header
    assert parse_csp(header) == STRICT, header


def test_csp_is_strict_on_staff_pages(login):
    assert_strict_csp(login("therapist_a1").get(reverse("caseload")))


def test_csp_is_strict_on_chart_pages(login, personas):
    assert_strict_csp(login("therapist_a1").get(reverse("dyad_detail", args=[personas.dyad_a1.pk])))


def test_csp_is_strict_on_login_client_and_error_pages(personas):
    http = CsrfClient()
    assert_strict_csp(http.get(reverse("login")))
    assert_strict_csp(http.get(reverse("client_start")))  # no link: the lean problem page
    assert_strict_csp(http.get("/no-such-page/"))


def test_security_headers(login):
    response = login("therapist_a1").get(reverse("caseload"))
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"


def test_hsts_over_https(personas, settings):
    settings.SECURE_HSTS_SECONDS = 31536000
    settings.SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    response = CsrfClient().get(reverse("login"), secure=True)
    assert response["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"


def test_host_prefixed_cookies_meet_the_prefix_rules(personas, settings):
    """__Host- cookies must be Secure, Path=/ and carry no Domain (else browsers drop them)."""
    settings.SESSION_COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = True
    settings.SESSION_COOKIE_NAME = "__Host-sessionid"
    settings.CSRF_COOKIE_NAME = "__Host-csrftoken"
    http = CsrfClient()
    http.get(reverse("login"), secure=True)
    response = http.post_form(
        reverse("login"),
        {"username": "therapist_a1", "password": PASSWORD},
        secure=True,
        HTTP_REFERER="https://testserver/accounts/login/",  # HTTPS CSRF checks the Referer
    )
    assert response.status_code == 302
    for name in ("__Host-sessionid", "__Host-csrftoken"):
        cookie = http.cookies[name]
        assert cookie["secure"] and cookie["path"] == "/" and not cookie["domain"], name
        assert cookie["samesite"] == "Lax"
    assert http.cookies["__Host-sessionid"]["httponly"]


def _production(code: str, **env: str) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("SECURE_", "SESSION_"))}
    base.update(
        DEBUG="false", SECRET_KEY=secrets.token_urlsafe(50), ALLOWED_HOSTS="dyad.example.org"
    )
    base.update(env)
    return subprocess.run(  # noqa: S603
        [sys.executable, *code.split()]
        if code.startswith("manage.py")
        else [sys.executable, "-c", code],
        cwd=ROOT,
        env=base,
        capture_output=True,
        text=True,
        check=False,
    )


def test_production_settings_harden_cookies_and_transport():
    result = _production(
        "import dyad.settings as s; print(s.SESSION_COOKIE_NAME, s.CSRF_COOKIE_NAME, "
        "s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SESSION_COOKIE_HTTPONLY, "
        "s.SECURE_SSL_REDIRECT, s.SECURE_HSTS_SECONDS, s.SECURE_HSTS_INCLUDE_SUBDOMAINS, "
        "s.REQUIRE_2FA)"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "__Host-sessionid", "__Host-csrftoken", "True", "True", "True", "True", "31536000",
        "True", "True",
    ]  # fmt: skip


def test_check_deploy_passes_with_production_settings():
    result = _production("manage.py check --deploy --fail-level WARNING")
    assert result.returncode == 0, result.stdout + result.stderr


def test_plotly_stylesheets_match_the_installed_plotly():
    """plotly.js's own stylesheets, served as files so plotly need not inject <style>.

    Fails after a plotly upgrade: run `python scripts/plotly_css.py` and commit the files.
    """
    files = expected_files(plotly_js_path().read_text(encoding="utf-8"))
    assert len(files) >= 3  # global rules, maplibre's sheet, the <head> include
    for path, text in files.items():
        assert path.read_text(encoding="utf-8") == text, path
