from __future__ import annotations

import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from clinic.models import Client, Dyad, TherapySession
from clinic.services import care as services

pytestmark = pytest.mark.django_db


def test_session_log_creates_a_session(personas):
    dyad = personas.dyad_a1
    session = services.session_log(
        actor_user=personas.therapist_a1.user, dyad=dyad, number=4, date=dyad.clinic.today()
    )
    assert session.number == 4
    assert session.created_by == personas.therapist_a1


def test_session_log_refuses_future_date(personas):
    dyad = personas.dyad_a1
    tomorrow = dyad.clinic.today() + datetime.timedelta(days=1)
    with pytest.raises(ValidationError) as info:
        services.session_log(
            actor_user=personas.therapist_a1.user, dyad=dyad, number=4, date=tomorrow
        )
    assert "future" in str(info.value.message_dict["date"])
    assert not TherapySession.objects.filter(dyad=dyad, number=4).exists()


def test_session_log_refuses_duplicate_number(personas):
    dyad = personas.dyad_a1
    with pytest.raises(ValidationError) as info:
        services.session_log(
            actor_user=personas.therapist_a1.user, dyad=dyad, number=1, date=dyad.clinic.today()
        )
    assert "already has a session with this number" in " ".join(info.value.messages)


def test_session_log_refuses_date_before_dyad_start(personas):
    dyad = personas.dyad_a1
    with pytest.raises(ValidationError):
        services.session_log(
            actor_user=personas.therapist_a1.user,
            dyad=dyad,
            number=9,
            date=dyad.started_on - datetime.timedelta(days=1),
        )


def test_supervisor_cannot_log_sessions(personas):
    dyad = personas.dyad_a1
    with pytest.raises(PermissionDenied):
        services.session_log(
            actor_user=personas.supervisor_a.user, dyad=dyad, number=9, date=dyad.clinic.today()
        )


def test_ended_dyad_takes_no_sessions(personas):
    dyad = personas.dyad_a1
    services.dyad_end(
        actor_user=personas.therapist_a1.user, dyad=dyad, ended_on=dyad.clinic.today()
    )
    with pytest.raises(ValidationError):
        services.session_log(
            actor_user=personas.therapist_a1.user, dyad=dyad, number=9, date=dyad.clinic.today()
        )


def test_client_create_with_dyad_is_all_or_nothing(personas):
    """A second active dyad for the same client is refused and nothing is left behind."""
    today = personas.clinic_a.today()
    dyad = services.client_create_with_dyad(
        actor_user=personas.therapist_a2.user,
        code="NEW-1",
        display_name="Kim",
        email="",
        therapist=personas.therapist_a2,
        started_on=today,
    )
    assert dyad.client.code == "NEW-1" and dyad.is_active
    with pytest.raises(ValidationError):
        services.client_create_with_dyad(
            actor_user=personas.therapist_a2.user,
            code="NEW-1",
            display_name="",
            email="",
            therapist=personas.therapist_a2,
            started_on=today,
        )
    assert Client.objects.filter(code="NEW-1").count() == 1


def test_therapist_cannot_open_dyad_for_colleague(personas):
    with pytest.raises(PermissionDenied):
        services.client_create_with_dyad(
            actor_user=personas.therapist_a1.user,
            code="NEW-2",
            display_name="",
            email="",
            therapist=personas.therapist_a2,
            started_on=personas.clinic_a.today(),
        )
    assert not Client.objects.filter(code="NEW-2").exists()


def test_admin_cannot_assign_other_clinics_therapist(personas):
    with pytest.raises(ValidationError):
        services.client_create_with_dyad(
            actor_user=personas.admin_a.user,
            code="NEW-3",
            display_name="",
            email="",
            therapist=personas.therapist_b1,
            started_on=personas.clinic_a.today(),
        )
    assert not Dyad.objects.filter(client__code="NEW-3").exists()
