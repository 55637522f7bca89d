"""Password spraying: one address trying many usernames hits RATELIMIT_LOGIN_IP."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.conftest import CsrfClient
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db

SPRAYER = "203.0.113.9"
COLLEAGUE = "198.51.100.20"


@pytest.fixture(autouse=True)
def _three_per_window(settings):
    settings.RATELIMITS = {**settings.RATELIMITS, "login_ip": "3/10m"}


def _sign_in(url: str, username: str, password: str, address: str, **headers: str):
    http = CsrfClient()
    data = {"username": username, "password": password}
    return http, http.post_form(url, data, REMOTE_ADDR=address, **headers)


def test_spraying_one_password_over_many_usernames_is_stopped(personas):
    usernames = ["therapist_a1", "therapist_a2", "supervisor_a"]
    for username in usernames:  # one try each: far below the per-username lockout
        _http, response = _sign_in(reverse("login"), username, "Winter2026!", SPRAYER)
        assert response.status_code == 200
    http, refused = _sign_in(reverse("login"), "admin_a", PASSWORD, SPRAYER)  # even right
    assert refused.status_code == 429
    assert int(refused["Retry-After"]) > 0 and "no-store" in refused["Cache-Control"]
    body = refused.content.decode()
    assert "many sign-in attempts from your network" in body
    assert "admin_a" not in body
    assert http.session.get("_auth_user_id") is None
    # Another address is not affected.
    _http, ok = _sign_in(reverse("login"), "admin_a", PASSWORD, COLLEAGUE)
    assert ok.status_code == 302 and ok["Location"] == reverse("home")


def test_viewing_the_login_page_is_not_counted(personas):
    http = CsrfClient()
    for _ in range(5):
        assert http.get(reverse("login"), REMOTE_ADDR=SPRAYER).status_code == 200
    _http, ok = _sign_in(reverse("login"), "therapist_a1", PASSWORD, SPRAYER)
    assert ok.status_code == 302


def test_the_django_admin_login_shares_the_limit(personas):
    for _ in range(2):
        _sign_in(reverse("login"), "nobody", "x", SPRAYER)
    _http, third = _sign_in(reverse("admin:login"), "nobody", "x", SPRAYER)
    assert third.status_code == 200
    _http, fourth = _sign_in(reverse("admin:login"), "nobody", "x", SPRAYER)
    assert fourth.status_code == 429


def test_a_forged_forwarded_for_does_not_reset_the_count(personas):
    for n in range(4):
        _http, response = _sign_in(
            reverse("login"), "nobody", "x", SPRAYER, HTTP_X_FORWARDED_FOR=f"10.0.0.{n}"
        )
    assert response.status_code == 429


def test_switched_off_with_the_other_limits(personas, settings):
    settings.RATELIMIT_ENABLED = False
    for n in range(5):
        _http, response = _sign_in(reverse("login"), f"nobody{n}", "x", SPRAYER)
    assert response.status_code == 200
