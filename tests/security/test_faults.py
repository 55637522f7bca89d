"""Faults: database outage (503), a save failing halfway, CSRF failures, generic error pages."""

from __future__ import annotations

import re
from unittest import mock

import pytest
from django.db import InterfaceError, OperationalError, connection
from django.db.backends.base.base import BaseDatabaseWrapper
from django.urls import reverse

from rri_forms.models import Administration, Answer, ClientLink, Instrument, Score
from rri_forms.services.links import link_issue
from tests.conftest import CsrfClient
from tests.rri_forms.conftest import complete_answers

pytestmark = pytest.mark.django_db


@pytest.fixture
def issued_link(personas):
    return link_issue(actor_user=personas.therapist_a1.user, session=personas.session_a1)


@pytest.fixture
def client_instruments(issued_link):
    by_id = Instrument.objects.in_bulk(issued_link[0].instrument_ids)
    return [by_id[i] for i in issued_link[0].instrument_ids]


DB_DOWN = OperationalError("could not connect to server: Connection refused")


def _no_traceback(response) -> None:  # type: ignore[no-untyped-def]
    body = response.content.decode()
    assert (
        "Traceback" not in body and "File &quot;" not in body and "Connection refused" not in body
    )


# --- Database unavailable -------------------------------------------------------------


@pytest.mark.parametrize("error", [DB_DOWN, InterfaceError("connection already closed")])
def test_database_down_in_a_view_is_a_503_with_retry_after(login, error):
    http = login("therapist_a1")
    with mock.patch("clinic.selectors.care.caseload_for_user", side_effect=error):
        response = http.get(reverse("caseload"))
    assert response.status_code == 503
    assert response["Retry-After"] == "30"
    assert "Dyad is unavailable for a moment" in response.content.decode()
    assert "try again" in response.content.decode()
    assert "Content-Security-Policy" in response
    _no_traceback(response)


def test_database_down_everywhere_is_a_503(login):
    """Every query fails (the cursor cannot be had), even loading the session and user."""
    http = login("therapist_a1")
    http.raise_request_exception = False
    with mock.patch.object(BaseDatabaseWrapper, "cursor", side_effect=DB_DOWN):
        response = http.get(reverse("caseload"))
    assert response.status_code == 503
    assert response["Retry-After"] == "30"
    assert "nothing from this request was saved" in response.content.decode()
    _no_traceback(response)


def test_database_down_on_a_phone_page_keeps_the_lean_layout(issued_link):
    phone = CsrfClient()
    phone.get(reverse("client_link", args=[issued_link[1]]))
    phone.raise_request_exception = False
    with mock.patch.object(BaseDatabaseWrapper, "cursor", side_effect=DB_DOWN):
        response = phone.get(reverse("client_start"))
    body = response.content.decode()
    assert response.status_code == 503
    assert "rri_forms/client.css" in body and "bootstrap" not in body
    assert "press the send button again" in body


# --- A client's save failing halfway --------------------------------------------------


def _open_form(token: str) -> tuple[CsrfClient, str]:
    phone = CsrfClient()
    phone.get(reverse("client_link", args=[token]))
    body = phone.get(reverse("client_form")).content.decode()
    return phone, re.search(r'name="submission_id" value="([0-9a-f-]+)"', body).group(1)


class FailOnWrite:
    """A database execute wrapper: the n-th write statement inside a transaction of the
    code under test (a savepoint within the test's own transaction) fails the way a lost
    connection does, before it reaches PostgreSQL; the writes before it really happened."""

    def __init__(self, n: int):
        self.n = n
        self.writes: list[str] = []

    def __call__(self, execute, sql, params, many, context):  # type: ignore[no-untyped-def]
        statement = sql.lstrip().upper()
        writes = statement.startswith(("INSERT", "UPDATE", "DELETE")) or (
            statement.startswith("WITH") and re.search(r"\b(INSERT|UPDATE|DELETE)\b", statement)
        )
        if writes and context["connection"].savepoint_ids:
            self.writes.append(statement)
            if len(self.writes) == self.n:
                raise OperationalError("server closed the connection unexpectedly")
        return execute(sql, params, many, context)


def _nothing_saved(session) -> None:  # type: ignore[no-untyped-def]
    assert not Administration.objects.filter(session=session).exists()
    assert not Answer.objects.filter(administration__session=session).exists()
    assert not Score.objects.filter(administration__session=session).exists()


# The submit's transaction counts its rate limits in the statement that locks the link,
# then writes every form, marks the link used and the session saved in one statement:
# failing that second write is the halfway point (rate limits counted, nothing else).
@pytest.mark.parametrize("n", [2], ids=["forms-link-and-session"])
def test_a_submit_failing_halfway_keeps_nothing_and_gives_the_answers_back(
    issued_link, client_instruments, personas, n
):
    link, token = issued_link
    assert len(client_instruments) >= 2
    phone, submission_id = _open_form(token)
    data = {**complete_answers(client_instruments), "submission_id": submission_id}
    failing = FailOnWrite(n)
    with connection.execute_wrapper(failing):
        response = phone.post_form(reverse("client_form"), data)

    assert len(failing.writes) == n  # the failure really happened, at that statement
    assert "CLINIC_RATELIMITBUCKET" in failing.writes[0] and "FOR UPDATE" in failing.writes[0]
    if n >= 2:
        forms = failing.writes[1]
        assert "RRI_FORMS_ADMINISTRATION" in forms and "RRI_FORMS_ANSWER" in forms
        assert 'UPDATE "RRI_FORMS_CLIENTLINK"' in forms and "DJANGO_SESSION" in forms
    assert response.status_code == 503
    assert response["Retry-After"] == "30"
    body = response.content.decode()
    assert "We could not save just now; your answers are still here — press Send again" in body
    assert body.count(" checked>") == len(data) - 1  # every answer, minus submission_id
    assert f'value="{submission_id}"' in body  # the retry is the same submission
    _no_traceback(response)
    # Nothing of any form survived; the link is still open.
    _nothing_saved(personas.session_a1)
    link.refresh_from_db()
    assert link.used_at is None and link.state == ClientLink.State.LIVE

    # Pressing Send again saves everything, once.
    again = phone.post_form(reverse("client_form"), data)
    assert again.status_code == 302 and again["Location"] == reverse("client_saved")
    assert Administration.objects.filter(session=personas.session_a1).count() == len(
        client_instruments
    )


def test_a_submit_failing_at_its_first_statement_sends_the_client_back_to_their_answers(
    issued_link, client_instruments, personas
):
    """The first statement locks the link and reads its instruments: failing there, the
    view has nothing to draw the form with, so the phone gets the 503 page that says the
    answers are not saved and are still in the page behind it; Send again saves once."""
    link, token = issued_link
    phone, submission_id = _open_form(token)
    data = {**complete_answers(client_instruments), "submission_id": submission_id}
    failing = FailOnWrite(1)
    with connection.execute_wrapper(failing):
        response = phone.post_form(reverse("client_form"), data)
    assert len(failing.writes) == 1 and "CLINIC_RATELIMITBUCKET" in failing.writes[0]
    assert response.status_code == 503
    assert "Your answers were not saved yet" in response.content.decode()
    _no_traceback(response)
    _nothing_saved(personas.session_a1)
    again = phone.post_form(reverse("client_form"), data)
    assert again.status_code == 302 and again["Location"] == reverse("client_saved")


# --- CSRF failures --------------------------------------------------------------------


def test_csrf_failure_on_the_phone_form_says_nothing_was_saved_and_what_to_do(
    issued_link, client_instruments
):
    _link, token = issued_link
    phone, submission_id = _open_form(token)
    data = {**complete_answers(client_instruments), "submission_id": submission_id}
    response = phone.post(reverse("client_form"), data)  # no CSRF token
    body = response.content.decode()
    assert response.status_code == 403
    assert "Your answers were not saved" in body
    assert "your answers are still in that page" in body
    assert "press the send button again" in body
    assert "rri_forms/client.css" in body and "bootstrap" not in body
    assert "no-store" in response["Cache-Control"]
    assert not Administration.objects.exists()


def test_csrf_failure_on_a_staff_form(login, personas):
    http = login("therapist_a1")
    response = http.post(reverse("link_new", args=[personas.session_a1.pk]))  # no token
    body = response.content.decode()
    assert response.status_code == 403
    assert "The form was not sent" in body and "bootstrap" in body
    assert not ClientLink.objects.filter(session=personas.session_a1).exists()


# --- Generic error pages --------------------------------------------------------------


def test_404_is_generic(login):
    response = login("therapist_a1").get("/dyads/999999/")
    assert response.status_code == 404
    assert "Page not found" in response.content.decode()
    _no_traceback(response)


def test_404_on_phone_urls_uses_the_client_layout(db):
    response = CsrfClient().get(reverse("client_start") + "nothing/")
    body = response.content.decode()
    assert response.status_code == 404
    assert "rri_forms/client.css" in body and "your therapist" in body


def test_403_is_generic(login):
    response = login("therapist_a1").get(reverse("team"))
    assert response.status_code == 403
    assert "You cannot do this here" in response.content.decode()
    assert "Team view is for supervisors" not in response.content.decode()


def test_400_is_generic(db):
    response = CsrfClient().get(reverse("login"), HTTP_HOST="evil.example")
    assert response.status_code == 400
    assert "could not be understood" in response.content.decode()
    _no_traceback(response)


def test_500_shows_no_details(login, personas):
    http = login("therapist_a1")
    http.raise_request_exception = False
    secret = f"Robin {personas.dyad_a1.client.code} said something private"
    with mock.patch("clinic.selectors.care.caseload_for_user", side_effect=RuntimeError(secret)):
        response = http.get(reverse("caseload"))
    body = response.content.decode()
    assert response.status_code == 500
    assert "Something went wrong on our side" in body
    assert secret not in body and personas.dyad_a1.client.code not in body
    _no_traceback(response)
