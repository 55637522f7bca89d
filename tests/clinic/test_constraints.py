"""The rules live in Postgres: bypass Python validation and the database still refuses."""

from __future__ import annotations

import datetime

import pytest
from django.db import IntegrityError, transaction

from clinic.models import Client, Dyad, Supervision, TherapySession

pytestmark = pytest.mark.django_db


def _violates(constraint: str, fn) -> None:
    with pytest.raises(IntegrityError) as info, transaction.atomic():
        fn()
    assert info.value.__cause__.diag.constraint_name == constraint


def test_client_code_unique_per_clinic(personas):
    existing = personas.dyad_a1.client
    _violates(
        "client_code_unique_per_clinic",
        lambda: Client.objects.create(clinic=existing.clinic, code=existing.code),
    )
    # The same code in another clinic is fine: codes are per clinic.
    Client.objects.create(clinic=personas.clinic_b, code=existing.code)


def test_session_number_unique_per_dyad(personas):
    dyad = personas.dyad_a1
    _violates(
        "session_number_unique_per_dyad",
        lambda: TherapySession.objects.create(dyad=dyad, number=1, date=dyad.started_on),
    )


def test_session_number_positive(personas):
    dyad = personas.dyad_a1
    _violates(
        "session_number_positive",
        lambda: TherapySession.objects.create(dyad=dyad, number=0, date=dyad.started_on),
    )


def test_one_active_dyad_per_client(personas):
    dyad = personas.dyad_a1
    _violates(
        "dyad_one_active_per_client",
        lambda: Dyad.objects.create(
            clinic=dyad.clinic,
            therapist=personas.therapist_a2,
            client=dyad.client,
            started_on=dyad.started_on,
        ),
    )


def test_successive_dyads_are_allowed(personas):
    dyad = personas.dyad_a1
    last = personas.session_a1.date
    Dyad.objects.filter(pk=dyad.pk).update(status="ended", ended_on=last)
    Dyad.objects.create(
        clinic=dyad.clinic,
        therapist=personas.therapist_a2,
        client=dyad.client,
        started_on=last,
    )
    assert dyad.client.dyads.count() == 2


def test_dyad_cannot_end_before_start(personas):
    dyad = personas.dyad_a1
    _violates(
        "dyad_ends_after_start",
        lambda: Dyad.objects.filter(pk=dyad.pk).update(
            status="ended", ended_on=dyad.started_on - datetime.timedelta(days=1)
        ),
    )


def test_dyad_status_matches_end_date(personas):
    _violates(
        "dyad_status_matches_end",
        lambda: Dyad.objects.filter(pk=personas.dyad_a1.pk).update(status="ended"),
    )


def test_supervision_rules(personas):
    sup = personas.supervisor_a
    _violates(
        "supervision_not_self", lambda: Supervision.objects.create(supervisor=sup, therapist=sup)
    )
    _violates(
        "supervision_unique_pair",
        lambda: Supervision.objects.create(supervisor=sup, therapist=personas.therapist_a1),
    )


def test_clinical_rows_are_protected(personas):
    from django.db.models import ProtectedError

    with pytest.raises(ProtectedError):
        personas.dyad_a1.client.delete()
    with pytest.raises(ProtectedError):
        personas.dyad_a1.delete()
