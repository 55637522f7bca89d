"""Append-only history: every write leaves an event with its actor; events cannot change."""

from __future__ import annotations

import re

import pghistory.models
import pytest
from django.apps import apps
from django.db import DatabaseError, connection, transaction
from django.urls import reverse

from clinic.history import HISTORY_SOURCES, ClientEvent, DyadEvent, TherapySessionEvent
from clinic.models import AccessLog, TherapySession
from outcomes.services.acknowledgements import alert_acknowledge
from rri_forms.history import AdministrationEvent, AnswerEvent, ClientLinkEvent, ScoreEvent
from rri_forms.models import Instrument
from rri_forms.services.links import link_issue
from rri_forms.services.therapist_forms import therapist_forms_save
from tests.conftest import CsrfClient
from tests.rri_forms.conftest import complete_answers

pytestmark = pytest.mark.django_db

EVENT_MODELS = [source.event_model for source in HISTORY_SOURCES]


def test_every_clinical_model_is_tracked():
    tracked = {model.pgh_tracked_model._meta.label for model in EVENT_MODELS}
    assert tracked == {
        "clinic.Client",
        "clinic.Dyad",
        "clinic.TherapySession",
        "rri_forms.Administration",
        "rri_forms.Answer",
        "rri_forms.Score",
        "rri_forms.AdministrationCorrection",
        "rri_forms.ClientLink",
        "outcomes.AlertAcknowledgement",
    }


def test_staff_write_records_user_staff_and_url(personas, login):
    http = login("therapist_a1")
    url = reverse("session_new", args=[personas.dyad_a1.pk])
    data = {"number": 40, "date": personas.dyad_a1.started_on.isoformat(), "attendance": "attended"}
    assert http.post_form(url, data).status_code == 302
    session = TherapySession.objects.get(dyad=personas.dyad_a1, number=40)
    event = TherapySessionEvent.objects.get(pgh_obj_id=session.pk, pgh_label="insert")
    assert event.pgh_context["user"] == personas.therapist_a1.user.pk
    assert event.pgh_context["staff"] == personas.therapist_a1.pk
    assert event.pgh_context["url"] == url
    # The client link issued in the same request carries the same context.
    link_event = ClientLinkEvent.objects.get(session_id=session.pk, pgh_label="insert")
    assert link_event.pgh_context_id == event.pgh_context_id


def test_update_records_the_old_and_new_rows_with_actor(personas, login):
    http = login("admin_a")
    dyad, last = personas.dyad_a1, personas.session_a1.date
    response = http.post_form(reverse("dyad_end", args=[dyad.pk]), {"ended_on": last.isoformat()})
    assert response.status_code == 302
    update = DyadEvent.objects.get(pgh_obj_id=dyad.pk, pgh_label="update")
    assert update.status == "ended" and update.ended_on == last
    assert update.pgh_context["staff"] == personas.admin_a.pk
    assert DyadEvent.objects.get(pgh_obj_id=dyad.pk, pgh_label="insert").status == "active"


def test_client_submit_records_the_client_link_as_actor(personas):
    link, token = link_issue(actor_user=personas.therapist_a1.user, session=personas.session_a1)
    phone = CsrfClient()
    phone.get(reverse("client_link", args=[token]))
    body = phone.get(reverse("client_form")).content.decode()
    data = complete_answers([Instrument.objects.get(pk=pk) for pk in link.instrument_ids])
    data["submission_id"] = re.search(r'name="submission_id" value="([^"]+)"', body)[1]
    assert phone.post_form(reverse("client_form"), data).status_code == 302
    events = AdministrationEvent.objects.filter(session_id=personas.session_a1.pk)
    assert events.count() == 2
    for event in events:
        assert event.pgh_context["client_link"] == link.pk
        assert event.pgh_context["staff"] is None and event.pgh_context["user"] is None
    assert AnswerEvent.objects.filter(pgh_context__client_link=link.pk).count() > 20
    assert ScoreEvent.objects.filter(pgh_context__client_link=link.pk).exists()
    used = ClientLinkEvent.objects.get(pgh_obj_id=link.pk, pgh_label="update")
    assert used.used_at is not None


def test_raw_sql_and_deletes_are_recorded_too(personas):
    client = personas.dyad_a2.client
    with connection.cursor() as cursor:
        cursor.execute("UPDATE clinic_client SET display_name = 'Sam' WHERE id = %s", [client.pk])
    update = ClientEvent.objects.get(pgh_obj_id=client.pk, pgh_label="update")
    assert update.code == client.code  # the row as it is now, without name and email
    session = personas.session_a2
    session_pk = session.pk
    session.delete()
    deleted = TherapySessionEvent.objects.get(pgh_obj_id=session_pk, pgh_label="delete")
    assert deleted.number == session.number  # the row as it was


def test_link_history_holds_no_token_hash():
    assert "token_hash" not in {field.name for field in ClientLinkEvent._meta.get_fields()}


def _some_event(event_model, personas):
    """Make sure at least one event of this model exists; return its table and pgh_id."""
    if not event_model.objects.exists():
        link_issue(actor_user=personas.therapist_a1.user, session=personas.session_a1)
        therapist = list(Instrument.objects.filter(is_current=True, rater="therapist"))
        answers = {i.pk: {item.number: 3 for item in i.spec.items} for i in therapist}
        user = personas.therapist_a1.user
        therapist_forms_save(
            actor_user=user, session=personas.session_a1, instruments=therapist, answers=answers
        )
        changed = {pk: {**values, 1: 4} for pk, values in answers.items()}
        therapist_forms_save(
            actor_user=user, session=personas.session_a1, instruments=therapist, answers=changed
        )
        alert_acknowledge(
            actor_user=user,
            dyad=personas.dyad_a1,
            session_number=personas.session_a1.number,
            kind="risk",
            note="Reviewed with the client.",
        )
    return event_model._meta.db_table, event_model.objects.values_list("pgh_id", flat=True)[0]


@pytest.mark.parametrize("event_model", EVENT_MODELS, ids=lambda m: m.__name__)
@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE \"{table}\" SET pgh_label = 'forged' WHERE pgh_id = %s",
        'UPDATE "{table}" SET pgh_context = NULL WHERE pgh_id = %s',
        'DELETE FROM "{table}" WHERE pgh_id = %s',
    ],
    ids=["update-label", "update-context", "delete"],
)
def test_history_rows_cannot_be_updated_or_deleted(event_model, statement, personas):
    table, pgh_id = _some_event(event_model, personas)
    refused = pytest.raises(DatabaseError, match="pgtrigger: Cannot")
    with refused, transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(statement.format(table=table), [pgh_id])
    assert event_model.objects.filter(pgh_id=pgh_id).exclude(pgh_label="forged").exists()


def test_history_queryset_delete_is_refused_too(personas):
    with pytest.raises(DatabaseError, match="pgtrigger: Cannot"), transaction.atomic():
        ClientEvent.objects.all().delete()
    assert ClientEvent.objects.count() >= 3


@pytest.fixture
def access_entry(personas):
    return AccessLog.objects.create(
        clinic=personas.clinic_a,
        staff=personas.supervisor_a,
        action=AccessLog.Action.VIEW_DYAD,
        client_id=personas.dyad_a1.client_id,
        object_type="dyad",
        object_id=personas.dyad_a1.pk,
        path="/dyads/1/",
    )


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE clinic_accesslog SET staff_id = staff_id WHERE id = %s",
        "UPDATE clinic_accesslog SET client_id = NULL WHERE id = %s",
        "DELETE FROM clinic_accesslog WHERE id = %s",
    ],
    ids=["update-noop", "update-client", "delete"],
)
def test_access_log_rows_cannot_be_updated_or_deleted(access_entry, statement):
    with (
        pytest.raises(DatabaseError, match="pgtrigger: Cannot"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(statement, [access_entry.pk])
    assert AccessLog.objects.filter(pk=access_entry.pk, client_id=access_entry.client_id).exists()


def test_access_log_orm_writes_are_refused_too(access_entry):
    with pytest.raises(DatabaseError, match="pgtrigger: Cannot"), transaction.atomic():
        AccessLog.objects.filter(pk=access_entry.pk).update(detail="forged")
    with pytest.raises(DatabaseError, match="pgtrigger: Cannot"), transaction.atomic():
        AccessLog.objects.all().delete()
    assert AccessLog.objects.get(pk=access_entry.pk).detail == ""


def test_erasing_a_client_leaves_its_access_log_rows_untouched(access_entry, personas, login):
    client = personas.dyad_a1.client
    http = login("admin_a")
    response = http.post_form(reverse("client_erase", args=[client.pk]), {"confirm": client.code})
    assert response.status_code == 302
    kept = AccessLog.objects.get(pk=access_entry.pk)
    assert (kept.client_id, kept.detail, kept.path) == (client.pk, "", "/dyads/1/")


def _history_text() -> str:
    """Every row of every append-only event table, as JSON text."""
    texts = []
    with connection.cursor() as cursor:
        for model in apps.get_models():
            if issubclass(model, pghistory.models.Event):
                table = connection.ops.quote_name(model._meta.db_table)
                cursor.execute(f"SELECT row_to_json(e)::text FROM {table} e")  # noqa: S608
                texts.extend(row[0] for row in cursor.fetchall())
    return "\n".join(texts)


@pytest.mark.parametrize("request_name", ["client_pseudonymise", "client_erase"])
def test_no_history_row_holds_a_clients_name_or_email(personas, login, request_name):
    """Names and emails are never copied into the history, so a privacy request that
    removes them from the client leaves them nowhere (the history cannot be rewritten)."""
    client = personas.dyad_a1.client
    http = login("admin_a")
    edit = {"code": client.code, "display_name": "Marguerite", "email": "marguerite@example.org"}
    assert http.post_form(reverse("client_edit", args=[client.pk]), edit).status_code == 302
    update = ClientEvent.objects.filter(pgh_obj_id=client.pk, pgh_label="update").get()
    assert update.pgh_context["staff"] == personas.admin_a.pk  # the edit itself is recorded
    response = http.post_form(reverse(request_name, args=[client.pk]), {"confirm": client.code})
    assert response.status_code == 302
    history = _history_text()
    assert client.code in history  # the history is there, and holds the (pseudonymous) code
    assert "Marguerite" not in history and "marguerite@example.org" not in history
