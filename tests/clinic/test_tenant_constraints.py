"""Tenant and clinical consistency holds in Postgres: writes that bypass the services are
refused by a named constraint, and a service that races past its own checks shows the
constraint's readable message instead of failing."""

from __future__ import annotations

import datetime
import importlib

import pytest
from django.core.exceptions import ValidationError
from django.db import DatabaseError, IntegrityError, connection, transaction

from clinic import services, staff_services
from clinic.models import Dyad, StaffMember, Supervision, TherapySession
from dyad.lib.integrity import readable_integrity_errors
from rri_forms.models import Administration, ClientLink
from rri_forms.selectors import current_instruments
from rri_forms.services import links
from rri_forms.services.therapist_forms import therapist_forms_save
from tests.factories import ClientFactory, DyadFactory

pytestmark = pytest.mark.django_db

DAY = datetime.timedelta(days=1)


def _violates(constraint: str, fn) -> None:
    with pytest.raises(IntegrityError) as info, transaction.atomic():
        fn()
    assert info.value.__cause__.diag.constraint_name == constraint


def _sql(sql: str, params: list | None) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


# A dyad's therapist and client are of the dyad's clinic (composite foreign keys).


def test_dyad_therapist_of_another_clinic_is_refused(personas):
    client = ClientFactory(clinic=personas.clinic_a, code="A-0099")
    _violates(
        "dyad_therapist_same_clinic",
        lambda: Dyad.objects.create(
            clinic=personas.clinic_a,
            therapist=personas.therapist_b1,
            client=client,
            started_on=datetime.date(2026, 1, 5),
        ),
    )


def test_dyad_client_of_another_clinic_is_refused(personas):
    client_b = ClientFactory(clinic=personas.clinic_b, code="B-0099")
    _violates(
        "dyad_client_same_clinic",
        lambda: Dyad.objects.create(
            clinic=personas.clinic_a,
            therapist=personas.therapist_a1,
            client=client_b,
            started_on=datetime.date(2026, 1, 5),
        ),
    )


def test_moving_a_dyads_parent_to_another_clinic_is_refused(personas):
    _violates(
        "dyad_therapist_same_clinic",
        lambda: StaffMember.objects.filter(pk=personas.therapist_a1.pk).update(
            clinic=personas.clinic_b
        ),
    )
    _violates(
        "dyad_client_same_clinic",
        lambda: _sql(
            "UPDATE clinic_client SET clinic_id = %s WHERE id = %s",
            [personas.clinic_b.pk, personas.dyad_a1.client_id],
        ),
    )
    _violates(
        "dyad_therapist_same_clinic",
        lambda: Dyad.objects.filter(pk=personas.dyad_a1.pk).update(clinic=personas.clinic_b),
    )


def test_dyad_open_racing_a_clinic_check_shows_the_message(personas, monkeypatch):
    # As if the therapist had been checked while still at clinic A.
    monkeypatch.setattr(services, "_check_therapist", lambda actor, therapist: None)
    client = ClientFactory(clinic=personas.clinic_a, code="A-0098")
    with pytest.raises(ValidationError) as info:
        services.dyad_open(
            actor_user=personas.admin_a.user,
            client=client,
            therapist=personas.therapist_b1,
            started_on=datetime.date(2026, 1, 5),
        )
    assert info.value.messages == ["The therapist works at another clinic."]
    assert not Dyad.objects.filter(client=client).exists()


# A supervision links a supervisor and a therapist of one clinic (triggers).


def test_supervision_across_clinics_is_refused(personas):
    _violates(
        "supervision_same_clinic",
        lambda: Supervision.objects.create(
            supervisor=personas.supervisor_a, therapist=personas.therapist_b1
        ),
    )


@pytest.mark.parametrize(
    ("supervisor", "therapist"),
    [("admin_a", "therapist_a2"), ("therapist_a1", "therapist_a2"), ("supervisor_a", "admin_a")],
)
def test_supervision_needs_a_supervisor_and_a_therapist(personas, supervisor, therapist):
    _violates(
        "supervision_roles_fit",
        lambda: Supervision.objects.create(
            supervisor=personas.by_name(supervisor), therapist=personas.by_name(therapist)
        ),
    )


def test_a_role_or_clinic_change_under_a_supervision_is_refused(personas):
    supervised = personas.therapist_a1
    _violates(
        "supervision_roles_fit",
        lambda: StaffMember.objects.filter(pk=supervised.pk).update(role="admin"),
    )
    _violates(
        "supervision_roles_fit",
        lambda: StaffMember.objects.filter(pk=personas.supervisor_a.pk).update(role="therapist"),
    )
    _violates(
        "supervision_same_clinic",
        lambda: StaffMember.objects.filter(pk=personas.supervisor_a.pk).update(
            clinic=personas.clinic_b
        ),
    )
    # Without the link the same change is fine.
    Supervision.objects.filter(therapist=supervised).delete()
    Dyad.objects.filter(therapist=supervised).update(
        status="ended", ended_on=personas.session_a1.date
    )
    StaffMember.objects.filter(pk=supervised.pk).update(role="admin")


def test_supervision_set_racing_a_check_shows_the_message(personas, monkeypatch):
    # As if the other therapist had been validated a moment before moving clinic.
    monkeypatch.setattr(Supervision, "clean", lambda self: None)
    with pytest.raises(ValidationError) as info:
        staff_services.supervision_set(
            actor_user=personas.admin_a.user,
            supervisor=personas.supervisor_a,
            therapists=[personas.therapist_a1, personas.therapist_b1],
        )
    assert info.value.messages == ["Supervisor and therapist must work at the same clinic."]


# A session falls within its dyad's dates (triggers on both tables).


def test_session_before_its_dyad_started_is_refused(personas):
    dyad = personas.dyad_a1
    _violates(
        "session_within_dyad_dates",
        lambda: TherapySession.objects.create(dyad=dyad, number=9, date=dyad.started_on - DAY),
    )
    _violates(
        "session_within_dyad_dates",
        lambda: TherapySession.objects.filter(pk=personas.session_a1.pk).update(
            date=dyad.started_on - DAY
        ),
    )
    TherapySession.objects.create(dyad=dyad, number=9, date=dyad.started_on)


def test_session_after_its_dyad_ended_is_refused(personas):
    session = personas.session_a1
    Dyad.objects.filter(pk=session.dyad_id).update(status="ended", ended_on=session.date)
    _violates(
        "session_within_dyad_dates",
        lambda: TherapySession.objects.create(dyad=session.dyad, number=9, date=session.date + DAY),
    )


def test_dyad_dates_cannot_leave_a_session_outside(personas):
    dyad, last = personas.dyad_a1, personas.session_a1
    _violates(
        "session_within_dyad_dates",
        lambda: Dyad.objects.filter(pk=dyad.pk).update(started_on=dyad.started_on + DAY),
    )
    _violates(
        "session_within_dyad_dates",
        lambda: Dyad.objects.filter(pk=dyad.pk).update(status="ended", ended_on=last.date - DAY),
    )


def test_ending_a_dyad_before_its_last_session_shows_the_message(personas):
    with pytest.raises(ValidationError) as info:
        services.dyad_end(
            actor_user=personas.therapist_a1.user,
            dyad=personas.dyad_a1,
            ended_on=personas.session_a1.date - DAY,
        )
    assert info.value.messages == [
        "A dyad's dates must include all its sessions: it cannot end before its last one."
    ]
    assert Dyad.objects.get(pk=personas.dyad_a1.pk).is_active


def test_session_log_racing_a_start_date_change_shows_the_message(personas):
    client = ClientFactory(clinic=personas.clinic_a, code="A-0097")
    dyad = DyadFactory(therapist=personas.therapist_a1, client=client)
    stale = Dyad.objects.get(pk=dyad.pk)
    Dyad.objects.filter(pk=dyad.pk).update(started_on=dyad.started_on + 10 * DAY)
    with pytest.raises(ValidationError) as info:
        services.session_log(
            actor_user=personas.therapist_a1.user, dyad=stale, number=1, date=dyad.started_on
        )
    assert info.value.messages == [
        "The session date must fall between the dyad's start and its end."
    ]


# A form's dyad is its session's (composite foreign key).


@pytest.fixture
def administration(personas) -> Administration:
    instruments = current_instruments(["RRI-T"])
    therapist_forms_save(
        actor_user=personas.therapist_a1.user,
        session=personas.session_a1,
        instruments=instruments,
        answers={instruments[0].pk: {item.number: 3 for item in instruments[0].spec.items}},
    )
    return Administration.objects.get(session=personas.session_a1, instrument_code="RRI-T")


def test_a_form_of_another_dyad_than_its_session_is_refused(personas, administration):
    _violates(
        "administration_dyad_is_sessions",
        lambda: Administration.objects.filter(pk=administration.pk).update(dyad=personas.dyad_a2),
    )
    _violates(
        "administration_dyad_is_sessions",
        lambda: _sql(
            "UPDATE clinic_therapysession SET dyad_id = %s, number = 99 WHERE id = %s",
            [personas.dyad_a2.pk, personas.session_a1.pk],
        ),
    )


def test_a_form_dyad_mismatch_reads_as_its_message(personas, administration):
    with (
        pytest.raises(ValidationError) as info,
        transaction.atomic(),
        readable_integrity_errors(Administration),
    ):
        Administration.objects.filter(pk=administration.pk).update(dyad=personas.dyad_b1)
    assert info.value.messages == ["A form belongs to the dyad of its session."]


# A client link is issued by staff of its session's clinic (trigger).


def _link(session: TherapySession, by: StaffMember, token: str) -> ClientLink:
    return ClientLink.objects.create(
        session=session,
        token_hash=token * 64,
        instrument_ids=[],
        created_by=by,
        expires_at=datetime.datetime(2030, 1, 1, tzinfo=datetime.UTC),
    )


def test_a_link_issued_by_another_clinic_is_refused(personas):
    _violates(
        "client_link_creator_same_clinic",
        lambda: _link(personas.session_a1, personas.therapist_b1, "a"),
    )
    link = _link(personas.session_a1, personas.therapist_a1, "b")
    _violates(
        "client_link_creator_same_clinic",
        lambda: ClientLink.objects.filter(pk=link.pk).update(created_by=personas.therapist_b1),
    )
    with (
        pytest.raises(ValidationError) as info,
        transaction.atomic(),
        readable_integrity_errors(ClientLink),
    ):
        ClientLink.objects.filter(pk=link.pk).update(session=personas.session_b1)
    assert info.value.messages == ["Only staff of the session's clinic can issue its client link."]


def test_link_issue_racing_a_clinic_move_shows_the_message(personas, monkeypatch):
    """The issuer checked in Python, then (as if moved meanwhile) stored as another clinic's:
    the service answers with the rule's message, and no link is stored."""
    monkeypatch.setattr(links, "require_staff", lambda user: personas.therapist_b1)
    with pytest.raises(ValidationError) as info:
        links.link_issue(actor_user=personas.therapist_a1.user, session=personas.session_a1)
    assert info.value.messages == ["Only staff of the session's clinic can issue its client link."]
    assert not ClientLink.objects.filter(session=personas.session_a1).exists()


# The migrations refuse to install a rule that existing rows break.


@pytest.mark.parametrize(
    ("module", "message"),
    [
        ("clinic.migrations.0011_dyads_sessions_and_supervision_consistent_in_postgres", "session"),
        ("rri_forms.migrations.0006_forms_and_links_consistent_with_their_session", "client link"),
    ],
)
def test_migration_check_refuses_rows_that_break_a_rule(personas, module, message):
    check = importlib.import_module(module).CHECK_EXISTING_ROWS
    _sql(check, None)  # today's rows pass
    with pytest.raises(DatabaseError, match=message), transaction.atomic():
        # As before the rules existed: replica mode skips triggers and foreign-key checks.
        _sql("SET LOCAL session_replication_role = replica", [])
        _sql(
            "UPDATE clinic_therapysession SET date = date - 400 WHERE id = %s",
            [personas.session_a1.pk],
        )
        _sql(
            "UPDATE rri_forms_clientlink SET created_by_id = %s",
            [personas.therapist_b1.pk],
        )
        _sql(
            "INSERT INTO rri_forms_clientlink (session_id, token_hash, instrument_ids,"
            " created_by_id, created_at, expires_at, submission_digest)"
            " VALUES (%s, 'x', '[]', %s, now(), now(), '')",
            [personas.session_a1.pk, personas.therapist_b1.pk],
        )
        _sql("SET LOCAL session_replication_role = origin", [])
        _sql(check, None)
