"""Rate limits kept in PostgreSQL: 429 with Retry-After, nothing sent or saved, no XFF bypass."""

from __future__ import annotations

import datetime
import re
import secrets
import threading

import pytest
from django.core import mail
from django.core.exceptions import ImproperlyConfigured
from django.db import connection
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from clinic.models import RateLimitBucket
from dyad.lib import ratelimit
from rri_forms.models import Administration, ClientLink, Instrument, LinkEmail
from rri_forms.services.links import link_issue
from tests.conftest import CsrfClient
from tests.rri_forms.conftest import complete_answers

pytestmark = pytest.mark.django_db


def _exhaust(scope: str, identity: object) -> None:
    for _ in range(ratelimit.rate_for(scope).limit):
        assert ratelimit.hit(scope, identity).allowed


def _random_token() -> str:
    return secrets.token_urlsafe(16)


@pytest.fixture
def client_email(personas):
    client = personas.dyad_a1.client
    client.email = "robin@example.org"
    client.save()
    return client


# --- The counter ------------------------------------------------------------------------


def test_hit_counts_and_refuses_past_the_limit(settings):
    settings.RATELIMITS = {**settings.RATELIMITS, "link_open_ip": "3/m"}
    counts = [ratelimit.hit("link_open_ip", "192.0.2.1") for _ in range(4)]
    assert [d.count for d in counts] == [1, 2, 3, 4]
    assert [d.allowed for d in counts] == [True, True, True, False]
    assert 1 <= counts[-1].retry_after <= 60
    # Other identities and other scopes have their own counters.
    assert ratelimit.hit("link_open_ip", "192.0.2.2").count == 1
    assert ratelimit.hit("link_guess_ip", "192.0.2.1").count == 1


def test_hit_many_counts_each_limit_in_one_statement(settings):
    settings.RATELIMITS = {
        **settings.RATELIMITS,
        "client_submit_link": "2/h",
        "client_submit_ip": "3/m",
    }
    for expected in (1, 2, 3):
        with CaptureQueriesContext(connection) as queries:
            link, ip = ratelimit.hit_many(
                ("client_submit_link", 7), ("client_submit_ip", "192.0.2.9")
            )
        assert len(queries.captured_queries) == 1
        assert (link.scope, link.count, link.limit) == ("client_submit_link", expected, 2)
        assert (ip.scope, ip.count, ip.limit) == ("client_submit_ip", expected, 3)
        assert 1 <= link.retry_after <= 3600 and 1 <= ip.retry_after <= 60
    assert (link.allowed, ip.allowed) == (False, True)
    assert ratelimit.first_refusal(link, ip) == link
    # Same counters as hit(): the next single hit continues the count.
    assert ratelimit.hit("client_submit_ip", "192.0.2.9").count == 4


def test_table_holds_no_addresses_or_tokens():
    ratelimit.hit("link_open_ip", "192.0.2.77")
    bucket = RateLimitBucket.objects.get()
    assert "192.0.2.77" not in bucket.key and len(bucket.key) == 64
    assert bucket.scope == "link_open_ip"


def test_a_new_window_starts_a_new_count(settings, monkeypatch):
    settings.RATELIMITS = {**settings.RATELIMITS, "link_open_ip": "2/m"}
    start = datetime.datetime(2026, 5, 1, 12, 0, 5, tzinfo=datetime.UTC)
    monkeypatch.setattr(ratelimit.timezone, "now", lambda: start)
    for _ in range(3):
        last = ratelimit.hit("link_open_ip", "192.0.2.9")
    assert not last.allowed and last.retry_after == 55
    assert not ratelimit.exhausted("link_open_ip", "192.0.2.9").allowed
    later = start + datetime.timedelta(minutes=1)
    monkeypatch.setattr(ratelimit.timezone, "now", lambda: later)
    assert ratelimit.exhausted("link_open_ip", "192.0.2.9").allowed
    assert ratelimit.hit("link_open_ip", "192.0.2.9").count == 1


def test_expired_counters_are_purged(settings, monkeypatch):
    ratelimit.hit("link_open_ip", "192.0.2.3")
    RateLimitBucket.objects.update(window_start=datetime.datetime(2020, 1, 1, tzinfo=datetime.UTC))
    ratelimit.hit("link_open_ip", "192.0.2.4")
    assert ratelimit.purge_expired() == 1
    assert RateLimitBucket.objects.count() == 1


@pytest.mark.parametrize("text", ["20", "x/h", "0/h", "5/0m", "5/w", ""])
def test_malformed_limits_stop_with_the_variable_named(settings, text):
    settings.RATELIMITS = {**settings.RATELIMITS, "link_open_ip": text}
    with pytest.raises(ImproperlyConfigured, match="RATELIMIT_LINK_OPEN_IP"):
        ratelimit.check_configuration()


@pytest.mark.parametrize(
    ("text", "limit", "period"),
    [("20/h", 20, 3600), ("60/10m", 60, 600), ("5/d", 5, 86400), (" 3 / 30s ", 3, 30)],
)
def test_rates_parse(text, limit, period):
    assert ratelimit.parse_rate(text) == ratelimit.Rate(limit, period)


@pytest.mark.django_db(transaction=True)
def test_concurrent_hits_are_all_counted(settings):
    """Eight workers on their own connections: the upsert loses no increment."""
    settings.RATELIMITS = {**settings.RATELIMITS, "link_open_ip": "1000/h"}
    errors = []

    def worker():
        try:
            for _ in range(10):
                ratelimit.hit("link_open_ip", "192.0.2.50")
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert RateLimitBucket.objects.get().count == 80


# --- The client's address -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("proxies", "remote", "forwarded", "expected"),
    [
        (0, "192.0.2.1", "203.0.113.9", "192.0.2.1"),  # XFF ignored without proxies
        (1, "10.0.0.2", "203.0.113.9", "203.0.113.9"),
        (1, "10.0.0.2", "1.2.3.4, 203.0.113.9", "203.0.113.9"),  # spoofed left part
        (2, "10.0.0.3", "1.2.3.4, 203.0.113.9, 10.0.0.2", "203.0.113.9"),
        (2, "10.0.0.3", "203.0.113.9", "10.0.0.3"),  # too short: not via the proxies
        (1, "10.0.0.2", "not-an-ip", "10.0.0.2"),
        (0, "2001:db8:1:2:3:4:5:6", "", "2001:db8:1:2::/64"),
        (0, "::ffff:192.0.2.8", "", "192.0.2.8"),
    ],
)
def test_client_ip(settings, proxies, remote, forwarded, expected):
    settings.TRUSTED_PROXY_COUNT = proxies
    request = RequestFactory().get("/", REMOTE_ADDR=remote, HTTP_X_FORWARDED_FOR=forwarded)
    assert ratelimit.client_ip(request) == expected


# --- Guessing link tokens --------------------------------------------------------------------


def test_guessing_tokens_hits_the_limit_and_then_every_token_is_refused(personas):
    _link, token = link_issue(actor_user=personas.therapist_a1.user, session=personas.session_a1)
    guesser = CsrfClient()
    limit = ratelimit.rate_for("link_guess_ip").limit
    for _ in range(limit):
        assert guesser.get(reverse("client_link", args=[_random_token()])).status_code == 404
    refused = guesser.get(reverse("client_link", args=[_random_token()]))
    assert refused.status_code == 429
    assert int(refused["Retry-After"]) > 0
    assert "Please wait a moment" in refused.content.decode()
    # A real token gets the same answer from that address: no oracle for the guesser.
    assert guesser.get(reverse("client_link", args=[token])).status_code == 429
    # Another address is not affected.
    other = CsrfClient(REMOTE_ADDR="198.51.100.7")
    assert other.get(reverse("client_link", args=[token])).status_code == 302


def test_spoofed_forwarded_for_does_not_reset_the_counter(personas, settings):
    settings.TRUSTED_PROXY_COUNT = 0
    guesser = CsrfClient()
    limit = ratelimit.rate_for("link_guess_ip").limit
    statuses = [
        guesser.get(
            reverse("client_link", args=[_random_token()]),
            HTTP_X_FORWARDED_FOR=f"203.0.113.{n}",
        ).status_code
        for n in range(limit + 3)
    ]
    assert statuses[:limit] == [404] * limit
    assert statuses[limit:] == [429] * 3


def test_behind_a_proxy_only_the_proxy_added_address_counts(personas, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    proxy = CsrfClient(REMOTE_ADDR="10.0.0.2")
    limit = ratelimit.rate_for("link_guess_ip").limit
    statuses = [
        proxy.get(
            reverse("client_link", args=[_random_token()]),
            HTTP_X_FORWARDED_FOR=f"198.18.0.{n}, 203.0.113.5",  # left part chosen by the client
        ).status_code
        for n in range(limit + 1)
    ]
    assert statuses[-1] == 429
    fresh = proxy.get(
        reverse("client_link", args=[_random_token()]), HTTP_X_FORWARDED_FOR="203.0.113.6"
    )
    assert fresh.status_code == 404


def test_opening_one_link_too_often_is_refused(personas):
    link, token = link_issue(actor_user=personas.therapist_a1.user, session=personas.session_a1)
    _exhaust("link_open_token", link.pk)
    response = CsrfClient().get(reverse("client_link", args=[token]))
    assert response.status_code == 429
    assert "no-store" in response["Cache-Control"]


def test_opening_links_from_one_address_too_often_is_refused(personas):
    _link, token = link_issue(actor_user=personas.therapist_a1.user, session=personas.session_a1)
    _exhaust("link_open_ip", "127.0.0.1")
    assert CsrfClient().get(reverse("client_link", args=[token])).status_code == 429


# --- Submitting the client's forms -----------------------------------------------------------


def _phone_with_answers(personas):
    link, token = link_issue(actor_user=personas.therapist_a1.user, session=personas.session_a1)
    phone = CsrfClient()
    phone.get(reverse("client_link", args=[token]))
    body = phone.get(reverse("client_form")).content.decode()
    data = complete_answers([Instrument.objects.get(pk=pk) for pk in link.instrument_ids])
    data["submission_id"] = re.search(r'name="submission_id" value="([^"]+)"', body)[1]
    return link, phone, data


@pytest.mark.parametrize("scope", ["client_submit_link", "client_submit_ip"])
def test_exhausted_submit_limit_saves_nothing(personas, scope):
    link, phone, data = _phone_with_answers(personas)
    _exhaust(scope, link.pk if scope == "client_submit_link" else "127.0.0.1")
    response = phone.post_form(reverse("client_form"), data)
    assert response.status_code == 429
    assert "Retry-After" in response
    assert "have not been saved yet" in response.content.decode()
    assert "bootstrap" not in response.content.decode()  # the lean phone page
    assert not Administration.objects.exists()
    link.refresh_from_db()
    assert link.used_at is None


def test_submits_within_the_limit_go_through(personas):
    _link, phone, data = _phone_with_answers(personas)
    assert phone.post_form(reverse("client_form"), data).status_code == 302
    assert Administration.objects.filter(rater="client").count() == 2


# --- Emailing links -------------------------------------------------------------------------


@pytest.mark.parametrize("scope", ["link_email_staff", "link_email_client"])
def test_exhausted_email_limit_sends_nothing(personas, login, client_email, scope):
    identity = personas.therapist_a1.pk if scope == "link_email_staff" else client_email.pk
    _exhaust(scope, identity)
    links_before = ClientLink.objects.count()
    http = login("therapist_a1")
    response = http.post_form(reverse("link_email", args=[personas.session_a1.pk]))
    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0
    body = response.content.decode()
    assert "Too many requests" in body and "Nothing was sent or changed" in body
    assert reverse("session_detail", args=[personas.session_a1.pk]) in body
    assert len(mail.outbox) == 0
    assert ClientLink.objects.count() == links_before
    assert not LinkEmail.objects.exists()  # nothing queued either


def test_emailing_within_the_limit_queues_the_email(personas, login, client_email):
    http = login("therapist_a1")
    response = http.post_form(reverse("link_email", args=[personas.session_a1.pk]))
    assert response.status_code == 302
    assert LinkEmail.objects.filter(link__session=personas.session_a1, status="queued").exists()


def test_limits_can_be_switched_off(personas, settings):
    settings.RATELIMIT_ENABLED = False
    _link, token = link_issue(actor_user=personas.therapist_a1.user, session=personas.session_a1)
    for _ in range(ratelimit.rate_for("link_guess_ip").limit + 2):
        CsrfClient().get(reverse("client_link", args=[_random_token()]))
    assert CsrfClient().get(reverse("client_link", args=[token])).status_code == 302
    assert not RateLimitBucket.objects.exists()
