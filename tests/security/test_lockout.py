"""Login lockout (django-axes): 5 failures per username + address lock that pair 15 minutes."""

from __future__ import annotations

import datetime
import re

import pytest
from axes.models import AccessAttempt
from django.test import RequestFactory
from django.urls import reverse

from dyad.lib.client_ip import client_ip
from tests.conftest import CsrfClient
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db

ADDRESS = "198.51.100.7"


def _attempt(http: CsrfClient, username: str, password: str, address: str = ADDRESS, **extra):
    return http.post_form(
        reverse("login"), {"username": username, "password": password}, REMOTE_ADDR=address, **extra
    )


def _fail(http: CsrfClient, username: str, times: int, address: str = ADDRESS, **extra) -> list:
    return [_attempt(http, username, "wrong-password", address, **extra) for _ in range(times)]


def test_four_failures_do_not_lock(personas):
    http = CsrfClient()
    responses = _fail(http, "therapist_a1", 4)
    assert [r.status_code for r in responses] == [200] * 4
    assert "correct username and password" in responses[-1].content.decode()
    ok = _attempt(http, "therapist_a1", PASSWORD)
    assert ok.status_code == 302 and ok["Location"] == reverse("home")


def test_fifth_failure_locks_even_the_right_password(personas):
    http = CsrfClient()
    responses = _fail(http, "therapist_a1", 5)
    assert [r.status_code for r in responses] == [200] * 4 + [429]
    http = CsrfClient()
    locked = _attempt(http, "therapist_a1", PASSWORD)
    assert locked.status_code == 429
    assert http.session.get("_auth_user_id") is None


def test_lockout_page_says_when_to_retry_and_nothing_about_the_account(personas):
    response = _fail(CsrfClient(), "therapist_a1", 5)[-1]
    body = response.content.decode()
    assert response.status_code == 429
    assert response["Retry-After"] == "900"
    assert "no-store" in response["Cache-Control"]
    assert "paused for 15 minutes" in body
    assert re.search(r"You can try again at \d\d:\d\d", body)
    assert "therapist_a1" not in body
    assert "Traceback" not in body


def test_unknown_username_gets_the_same_lockout(personas):
    known = _fail(CsrfClient(), "therapist_a1", 5)[-1]
    unknown = _fail(CsrfClient(), "nobody-by-this-name", 5)[-1]
    assert unknown.status_code == known.status_code == 429
    assert unknown["Retry-After"] == known["Retry-After"]

    def strip_time(body: bytes) -> str:
        return re.sub(r"\d\d:\d\d", "HH:MM", body.decode())

    assert strip_time(unknown.content) == strip_time(known.content)


def test_lockout_is_per_username_and_address(personas):
    _fail(CsrfClient(), "therapist_a1", 5)
    from_elsewhere = _attempt(CsrfClient(), "therapist_a1", PASSWORD, address="203.0.113.50")
    assert from_elsewhere.status_code == 302
    other_user = _attempt(CsrfClient(), "therapist_a2", PASSWORD)
    assert other_user.status_code == 302


def test_forged_forwarded_for_does_not_escape_the_lock(personas):
    """Without a trusted proxy, X-Forwarded-For is the client's own text: ignored."""
    http = CsrfClient()
    for i in range(5):
        _attempt(http, "therapist_a1", "wrong", HTTP_X_FORWARDED_FOR=f"192.0.2.{i}")
    response = _attempt(http, "therapist_a1", PASSWORD, HTTP_X_FORWARDED_FOR="192.0.2.99")
    assert response.status_code == 429


def test_lock_ends_after_the_cool_off(personas):
    _fail(CsrfClient(), "therapist_a1", 5)
    # Time travel: the last failure was 16 minutes ago.
    AccessAttempt.objects.update(
        attempt_time=datetime.datetime.now(tz=datetime.UTC) - datetime.timedelta(minutes=16)
    )
    assert _attempt(CsrfClient(), "therapist_a1", PASSWORD).status_code == 302


def test_success_resets_the_failure_count(personas):
    http = CsrfClient()
    _fail(http, "therapist_a1", 4)
    assert _attempt(http, "therapist_a1", PASSWORD).status_code == 302
    responses = _fail(CsrfClient(), "therapist_a1", 4)
    assert [r.status_code for r in responses] == [200] * 4


@pytest.mark.parametrize(
    ("proxies", "forwarded", "expected"),
    [
        (0, "192.0.2.1", "10.0.0.2"),  # no proxy: header ignored
        (1, "192.0.2.1, 203.0.113.9", "203.0.113.9"),  # the proxy's entry, not the forged one
        (2, "192.0.2.1, 203.0.113.9, 10.0.0.1", "203.0.113.9"),
        (2, "203.0.113.9", "10.0.0.2"),  # fewer hops than proxies: distrust, use the peer
    ],
)
def test_client_address_behind_trusted_proxies(settings, proxies, forwarded, expected):
    settings.TRUSTED_PROXY_COUNT = proxies
    request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR=forwarded)
    assert client_ip(request) == expected


def test_lockout_uses_the_proxy_address_when_configured(personas, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    http = CsrfClient()
    for _ in range(5):
        _attempt(http, "therapist_a1", "wrong", "10.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.9")
    assert AccessAttempt.objects.get().ip_address == "203.0.113.9"
    # The same proxy relaying another client is not locked.
    other = _attempt(
        http, "therapist_a1", PASSWORD, "10.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.10"
    )
    assert other.status_code == 302
