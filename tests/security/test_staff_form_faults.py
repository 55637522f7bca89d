"""Staff forms that write clinical rows when the database fails mid-save: nothing is kept
and the form comes back with what was typed (the therapist's own forms are in
test_therapist_forms_faults.py)."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any

import pytest
from django.db import connection
from django.urls import reverse

from clinic.models import Client, Dyad, TherapySession
from clinic.services import care as services
from rri_forms.models import ClientLink
from tests.security.test_faults import FailOnWrite, _no_traceback

pytestmark = pytest.mark.django_db

DAY = datetime.timedelta(days=1)
SAVE_FAILED = "We could not save just now, so nothing was saved. What you entered is still here"


@dataclass
class Case:
    persona: str
    url: str
    data: dict[str, str]
    shown: list[str]  # how the typed values (none the form's initial) appear when shown again
    state: Any  # what the save would change, read from the database


def _log_session(personas) -> Case:  # type: ignore[no-untyped-def]
    dyad = personas.dyad_a1
    day = (dyad.clinic.today() - DAY).isoformat()
    return Case(
        "therapist_a1",
        reverse("session_new", args=[dyad.pk]),
        {"number": "17", "date": day, "attendance": TherapySession.Attendance.ATTENDED},
        ['value="17"', f'value="{day}"'],
        lambda: (
            sorted(TherapySession.objects.filter(dyad=dyad).values_list("number", flat=True)),
            ClientLink.objects.filter(session__dyad=dyad).count(),
        ),
    )


def _add_client(personas) -> Case:  # type: ignore[no-untyped-def]
    day = (personas.clinic_a.today() - DAY).isoformat()
    return Case(
        "therapist_a1",
        reverse("client_new"),
        {"code": "A1-0777", "display_name": "Sam", "email": "sam@example.org", "started_on": day},
        ['value="A1-0777"', 'value="Sam"', 'value="sam@example.org"', f'value="{day}"'],
        lambda: (Client.objects.count(), Dyad.objects.count()),
    )


def _edit_client(personas) -> Case:  # type: ignore[no-untyped-def]
    client = personas.dyad_a1.client
    return Case(
        "therapist_a1",
        reverse("client_edit", args=[client.pk]),
        {"code": "A1-0888", "display_name": "Kim", "email": "kim@example.org"},
        ['value="A1-0888"', 'value="Kim"', 'value="kim@example.org"'],
        lambda: Client.objects.filter(pk=client.pk).values().get(),
    )


def _open_dyad(personas) -> Case:  # type: ignore[no-untyped-def]
    dyad = personas.dyad_a1
    day = dyad.clinic.today() - 5 * DAY
    services.dyad_end(actor_user=personas.therapist_a1.user, dyad=dyad, ended_on=day - 5 * DAY)
    return Case(
        "therapist_a1",
        reverse("client_dyad_new", args=[dyad.client_id]),
        {"started_on": day.isoformat()},
        [f'value="{day.isoformat()}"'],
        lambda: Dyad.objects.filter(client=dyad.client_id).count(),
    )


def _transfer(personas) -> Case:  # type: ignore[no-untyped-def]
    dyad = personas.dyad_a1
    to = personas.therapist_a2
    day = (dyad.clinic.today() - DAY).isoformat()
    return Case(
        "admin_a",
        reverse("dyad_transfer", args=[dyad.pk]),
        {"therapist": str(to.pk), "on": day},
        [f'value="{to.pk}" selected', f'value="{day}"'],
        lambda: sorted(
            Dyad.objects.filter(client=dyad.client_id).values_list(
                "therapist_id", "status", "ended_on"
            )
        ),
    )


# (form, the write statement that fails): each form's writes, in turn.
@pytest.mark.parametrize(
    ("make", "n"),
    [
        (_log_session, 1),  # the session
        (_log_session, 2),  # the client's link, after the session was written
        (_add_client, 1),  # the client
        (_add_client, 2),  # the dyad, after the client was written
        (_edit_client, 1),
        (_open_dyad, 1),
        (_transfer, 1),  # ending the dyad
        (_transfer, 2),  # the new dyad, after the old one was ended
    ],
    ids=lambda v: v.__name__.strip("_") if callable(v) else f"write{v}",
)
def test_a_staff_form_failing_mid_save_keeps_nothing_and_what_was_typed(login, personas, make, n):
    case = make(personas)
    http = login(case.persona)
    before = case.state()
    failing = FailOnWrite(n)
    with connection.execute_wrapper(failing):
        response = http.post_form(case.url, case.data)

    assert len(failing.writes) == n  # the failure really happened, at that statement
    assert response.status_code == 503
    assert response["Retry-After"] == "30"
    body = response.content.decode()
    assert SAVE_FAILED in body
    for typed in case.shown:
        assert typed in body
    _no_traceback(response)
    assert case.state() == before

    # Sending the same form again saves it.
    assert http.post_form(case.url, case.data).status_code == 302
    assert case.state() != before
