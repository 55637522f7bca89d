"""Staff sessions: idle timeout, absolute lifetime, and deactivation ending every session."""

from __future__ import annotations

import datetime
import time

import pytest
from django.conf import settings
from django.contrib.sessions.models import Session
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from dyad.lib.session_security import LOGIN_AT_KEY, SAVED_AT_KEY
from tests.conftest import CsrfClient
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db
TWELVE_HOURS = 12 * 3600


@pytest.fixture
def client_session(personas):
    """A phone that opened a client link: (its test client, its session key)."""
    from rri_forms.services.links import link_issue

    _link, token = link_issue(actor_user=personas.therapist_a1.user, session=personas.session_a1)
    phone = CsrfClient()
    assert phone.get(reverse("client_link", args=[token])).status_code == 302
    return phone, phone.session.session_key


def _redirected_to_login(response) -> bool:  # type: ignore[no-untyped-def]
    return response.status_code == 302 and response["Location"].startswith(reverse("login"))


def _set_login_time(http: CsrfClient, seconds_ago: int) -> None:
    session = http.session
    session[LOGIN_AT_KEY] = int(time.time()) - seconds_ago
    session.save()


def test_timeouts_are_30_minutes_idle_and_12_hours_absolute():
    assert settings.SESSION_COOKIE_AGE == 30 * 60
    # Not saved on every request: the expiry is pushed at most once a minute (below).
    assert settings.SESSION_SAVE_EVERY_REQUEST is False
    assert settings.SESSION_REFRESH_SECONDS == 60
    assert settings.SESSION_ABSOLUTE_HOURS == 12


def test_password_login_stamps_the_login_time(personas):
    http = CsrfClient()
    http.post_form(reverse("login"), {"username": "therapist_a1", "password": PASSWORD})
    assert abs(http.session[LOGIN_AT_KEY] - time.time()) < 60


def test_session_just_under_the_absolute_limit_still_works(login):
    http = login("therapist_a1")
    _set_login_time(http, TWELVE_HOURS - 60)
    assert http.get(reverse("caseload")).status_code == 200


def test_session_older_than_the_absolute_limit_is_ended(login):
    http = login("therapist_a1")
    assert http.get(reverse("caseload")).status_code == 200
    _set_login_time(http, TWELVE_HOURS + 1)
    response = http.get(reverse("caseload"))
    assert _redirected_to_login(response)
    assert "next=" in response["Location"]
    assert "_auth_user_id" not in http.session
    # Activity does not revive it, and the login page says why.
    page = http.get(response["Location"])
    assert "signed out after 12 hours" in page.content.decode()
    assert _redirected_to_login(http.get(reverse("caseload")))


def test_absolute_limit_is_configurable(login, settings):
    settings.SESSION_ABSOLUTE_HOURS = 1
    http = login("therapist_a1")
    _set_login_time(http, 3601)
    assert _redirected_to_login(http.get(reverse("caseload")))


def test_session_without_a_stamp_gets_one_and_carries_on(login):
    http = login("therapist_a1")
    session = http.session
    del session[LOGIN_AT_KEY]
    session.save()
    assert http.get(reverse("caseload")).status_code == 200
    assert abs(http.session[LOGIN_AT_KEY] - time.time()) < 60


def test_idle_session_is_ended(login):
    http = login("therapist_a1")
    Session.objects.filter(session_key=http.session.session_key).update(
        expire_date=datetime.datetime.now(tz=datetime.UTC) - datetime.timedelta(seconds=1)
    )
    assert _redirected_to_login(http.get(reverse("caseload")))


def _expire_date(key: str) -> datetime.datetime:
    return Session.objects.get(session_key=key).expire_date


def _saved_seconds_ago(http: CsrfClient, seconds: int, *, expires_in: datetime.timedelta) -> str:
    """Make the session look last saved `seconds` ago and due to expire in `expires_in`."""
    session = http.session
    session[SAVED_AT_KEY] = int(time.time()) - seconds
    session.save()
    Session.objects.filter(session_key=session.session_key).update(
        expire_date=datetime.datetime.now(tz=datetime.UTC) + expires_in
    )
    return session.session_key


def test_a_request_after_the_refresh_interval_pushes_the_idle_expiry_forward(login):
    http = login("therapist_a1")
    soon = datetime.timedelta(minutes=5)
    key = _saved_seconds_ago(http, settings.SESSION_REFRESH_SECONDS, expires_in=soon)
    before = _expire_date(key)
    assert http.get(reverse("caseload")).status_code == 200
    assert _expire_date(key) > before + datetime.timedelta(minutes=20)
    assert abs(http.session[SAVED_AT_KEY] - time.time()) < 60
    # The cookie is renewed with it (same lifetime as the row).
    assert http.cookies[settings.SESSION_COOKIE_NAME]["max-age"] == settings.SESSION_COOKIE_AGE


def test_a_request_within_the_refresh_interval_does_not_write_the_session(login):
    http = login("therapist_a1")
    key = _saved_seconds_ago(http, 5, expires_in=datetime.timedelta(minutes=29))
    before = _expire_date(key)
    with CaptureQueriesContext(connection) as queries:
        assert http.get(reverse("caseload")).status_code == 200
    writes = [
        q["sql"]
        for q in queries.captured_queries
        if "django_session" in q["sql"] and not q["sql"].lstrip().startswith("SELECT")
    ]
    assert writes == []
    assert _expire_date(key) == before


def test_a_request_modifying_the_session_also_restamps_it(login):
    """A session saved anyway (here: a fresh login) records that save as its refresh."""
    http = CsrfClient()
    http.post_form(reverse("login"), {"username": "therapist_a1", "password": PASSWORD})
    assert abs(http.session[SAVED_AT_KEY] - time.time()) < 60


def test_idle_beyond_the_cookie_age_still_signs_out_despite_a_recent_stamp(login):
    """The refresh stamp only decides when to write; the row's expiry decides validity."""
    http = login("therapist_a1")
    _saved_seconds_ago(http, 5, expires_in=-datetime.timedelta(seconds=1))
    assert _redirected_to_login(http.get(reverse("caseload")))


def test_client_sessions_keep_their_idle_expiry_without_a_write_per_request(client_session):
    """The client's phone session (no sign-in) follows the same rule: GETs within the
    interval write nothing; after it, one write pushes the expiry."""
    http, key = client_session
    before = _expire_date(key)
    with CaptureQueriesContext(connection) as queries:
        assert http.get(reverse("client_form")).status_code == 200
    assert not [q for q in queries.captured_queries if "UPDATE" in q["sql"]]
    assert _expire_date(key) == before
    _saved_seconds_ago(
        http, settings.SESSION_REFRESH_SECONDS, expires_in=datetime.timedelta(minutes=5)
    )
    assert http.get(reverse("client_form")).status_code == 200
    assert _expire_date(key) > datetime.datetime.now(tz=datetime.UTC) + datetime.timedelta(
        minutes=25
    )


def test_no_session_is_created_for_a_visitor_without_one():
    http = CsrfClient()
    before = Session.objects.count()
    http.get(reverse("login"))
    assert Session.objects.count() == before


def _user_sessions(user) -> list[str]:  # type: ignore[no-untyped-def]
    return [
        s.session_key
        for s in Session.objects.all()
        if s.get_decoded().get("_auth_user_id") == str(user.pk)
    ]


def test_deactivating_a_staff_member_ends_all_their_sessions(personas, login):
    office, laptop = login("therapist_a1"), login("therapist_a1")
    colleague = login("therapist_a2")
    user = personas.therapist_a1.user
    assert len(_user_sessions(user)) == 2
    before = Session.objects.count()

    user.is_active = False
    user.save()

    assert _user_sessions(user) == []
    assert Session.objects.count() == before - 2
    assert len(_user_sessions(personas.therapist_a2.user)) == 1
    for http in (office, laptop):
        assert _redirected_to_login(http.get(reverse("caseload")))
    assert colleague.get(reverse("caseload")).status_code == 200


def test_deactivation_through_update_fields_also_ends_sessions(personas, login):
    login("supervisor_a")
    user = personas.supervisor_a.user
    user.is_active = False
    user.save(update_fields=["is_active"])
    assert _user_sessions(user) == []


def test_other_saves_keep_sessions(personas, login):
    login("therapist_a1")
    user = personas.therapist_a1.user
    user.first_name = "Renamed"
    user.save()
    assert len(_user_sessions(user)) == 1


# --- dyad/lib/session_store.py: Django's database sessions with plain SQL -------------------


def test_session_store_reads_only_unexpired_rows_and_saves_in_place():
    from django.contrib.sessions.backends.base import UpdateError

    from dyad.lib.session_store import SessionStore

    store = SessionStore()
    store["a"] = 1
    store.create()
    key = store.session_key
    assert SessionStore(key).load() == {"a": 1}

    again = SessionStore(key)
    again["b"] = 2
    again.save()
    assert Session.objects.get(session_key=key).get_decoded() == {"a": 1, "b": 2}
    assert SessionStore(key).load() == {"a": 1, "b": 2}

    gone = SessionStore(key)
    gone["c"] = 3  # loaded while the row exists...
    Session.objects.filter(session_key=key).update(session_key="ended-elsewhere-0001")
    with pytest.raises(UpdateError):
        gone.save()  # ...then ended elsewhere: not brought back

    Session.objects.filter(session_key="ended-elsewhere-0001").update(
        session_key=key,
        expire_date=datetime.datetime.now(tz=datetime.UTC) - datetime.timedelta(seconds=1),
    )
    expired = SessionStore(key)
    assert expired.load() == {}
    assert expired.session_key is None  # saved later, it gets a fresh key
