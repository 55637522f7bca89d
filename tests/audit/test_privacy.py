"""Privacy requests: export everything, pseudonymise, erase (refused under a hold); and no
clinical data in logs."""

from __future__ import annotations

import csv
import io
import json
import logging
import re
import zipfile

import pytest
from django.db import IntegrityError
from django.urls import reverse

from clinic import privacy
from clinic.history import ClientEvent, DyadEvent
from clinic.models import AccessLog, Client, Dyad, TherapySession
from dyad.lib.logfilters import MESSAGE_REMOVED
from rri_forms.history import AnswerEvent
from rri_forms.models import (
    Administration,
    AdministrationCorrection,
    Answer,
    ClientLink,
    Instrument,
    Score,
)
from rri_forms.services.links import link_issue
from rri_forms.services.therapist_forms import therapist_forms_save
from tests.conftest import CsrfClient
from tests.factories import StaffFactory
from tests.rri_forms.conftest import complete_answers

pytestmark = pytest.mark.django_db


def _submit_client_forms(session, therapist) -> ClientLink:
    link, token = link_issue(actor_user=therapist.user, session=session)
    phone = CsrfClient()
    phone.get(reverse("client_link", args=[token]))
    body = phone.get(reverse("client_form")).content.decode()
    data = complete_answers([Instrument.objects.get(pk=pk) for pk in link.instrument_ids])
    data["submission_id"] = re.search(r'name="submission_id" value="([^"]+)"', body)[1]
    assert phone.post_form(reverse("client_form"), data).status_code == 302
    return link


@pytest.fixture
def full_record(personas):
    """Client A1 with client forms, therapist forms, a correction and an access log entry."""
    session = personas.session_a1
    therapist = personas.therapist_a1
    link = _submit_client_forms(session, therapist)
    instruments = list(Instrument.objects.filter(is_current=True, rater="therapist"))
    answers = {i.pk: {item.number: 3 for item in i.spec.items} for i in instruments}
    therapist_forms_save(
        actor_user=therapist.user, session=session, instruments=instruments, answers=answers
    )
    answers = {pk: {**values, 1: 4} for pk, values in answers.items()}
    therapist_forms_save(
        actor_user=therapist.user, session=session, instruments=instruments, answers=answers
    )
    client = personas.dyad_a1.client
    client.email = "robin@example.org"
    client.save()
    AccessLog.objects.create(
        clinic=client.clinic,
        staff=personas.supervisor_a,
        action=AccessLog.Action.VIEW_SESSION,
        client_id=client.pk,
        object_type="therapysession",
        object_id=session.pk,
        path=f"/sessions/{session.pk}/",
    )
    return client, link


def _privacy(name: str, client: Client) -> str:
    return reverse(name, args=[client.pk])


# --- Who may --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("persona", "expected"),
    [
        ("admin_a", 200),
        ("therapist_a1", 403),  # sees the client, but privacy requests are for admins
        ("supervisor_a", 403),
        ("therapist_a2", 404),
        ("therapist_b1", 404),
    ],
)
def test_privacy_page_is_for_the_clinics_admins(personas, login, persona, expected):
    client = personas.dyad_a1.client
    assert login(persona).get(_privacy("client_privacy", client)).status_code == expected


def test_another_clinics_admin_gets_404_everywhere(personas, login):
    admin_b = StaffFactory(clinic=personas.clinic_b, role="admin", user__username="admin_b")
    personas.admin_b = admin_b
    http = login("admin_b")
    client = personas.dyad_a1.client
    assert http.get(_privacy("client_privacy", client)).status_code == 404
    assert http.get(_privacy("client_privacy_export", client)).status_code == 404
    for name in ("client_retention", "client_pseudonymise", "client_erase"):
        assert http.post_form(_privacy(name, client), {"confirm": client.code}).status_code == 404
    assert Client.objects.filter(pk=client.pk, code="A1-0001").exists()


def test_changes_need_post(personas, login):
    http = login("admin_a")
    client = personas.dyad_a1.client
    for name in ("client_retention", "client_pseudonymise", "client_erase"):
        assert http.get(_privacy(name, client)).status_code == 405


# --- Export ---------------------------------------------------------------------------


def test_export_holds_everything_without_token_hashes(full_record, personas, login):
    client, link = full_record
    response = login("admin_a").get(_privacy("client_privacy_export", client))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    assert f"dyad-client-{client.pk}-export" in response["Content-Disposition"]
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    document = json.loads(archive.read("client.json"))
    tables = document["tables"]
    assert tables["clinic_client"][0]["code"] == "A1-0001"
    assert tables["clinic_client"][0]["email"] == "robin@example.org"
    assert len(tables["clinic_dyad"]) == 1
    assert len(tables["clinic_therapysession"]) == 3
    administrations = Administration.objects.filter(dyad=personas.dyad_a1)
    assert len(tables["rri_forms_administration"]) == administrations.count() == 4
    assert len(tables["rri_forms_answer"]) == Answer.objects.count()
    assert len(tables["rri_forms_score"]) == Score.objects.count()
    assert len(tables["rri_forms_administrationcorrection"]) == 2
    assert [row["id"] for row in tables["rri_forms_clientlink"]] == [link.pk]
    assert "token_hash" not in tables["rri_forms_clientlink"][0]
    assert "submission_digest" not in tables["rri_forms_clientlink"][0]
    assert "token_seed" not in tables["rri_forms_clientlink"][0]
    assert link.token_hash not in response.content.decode("latin-1")
    assert link.token_seed and link.token_seed not in response.content.decode("latin-1")
    [read] = tables["access_log_about_client"]
    assert read["action"] == "view_session"
    assert read["staff__display_name"] == personas.supervisor_a.display_name
    # Nothing of another client.
    assert personas.dyad_a2.client.code not in json.dumps(document)
    # One CSV per table, header first.
    names = set(archive.namelist())
    assert {"README.txt", "client.json", "csv/rri_forms_answer.csv"} <= names
    rows = list(csv.reader(io.StringIO(archive.read("csv/rri_forms_answer.csv").decode())))
    assert rows[0][:3] == ["id", "administration_id", "item_number"]
    assert len(rows) == Answer.objects.count() + 1
    logged = AccessLog.objects.get(action=AccessLog.Action.EXPORT, client_id=client.pk)
    assert logged.staff == personas.admin_a


def test_csv_cells_are_never_spreadsheet_formulas(personas, login):
    client = personas.dyad_a1.client
    client.display_name = "=HYPERLINK(1)"
    client.save()
    response = login("admin_a").get(_privacy("client_privacy_export", client))
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    text = archive.read("csv/clinic_client.csv").decode()
    assert "'=HYPERLINK(1)" in text


# --- Pseudonymise ---------------------------------------------------------------------


def test_pseudonymise_needs_the_code_typed_again(full_record, login):
    client, _link = full_record
    http = login("admin_a")
    response = http.post_form(_privacy("client_pseudonymise", client), {"confirm": "A1-0002"})
    assert response.status_code == 302
    client.refresh_from_db()
    assert client.code == "A1-0001" and client.email
    page = http.get(response["Location"]).content.decode()
    assert "does not match" in page
    assert not AccessLog.objects.filter(action=AccessLog.Action.PRIVACY).exists()


def test_pseudonymise_replaces_identity_and_keeps_clinical_rows(full_record, personas, login):
    client, _link = full_record
    answers_before = Answer.objects.count()
    http = login("admin_a")
    response = http.post_form(_privacy("client_pseudonymise", client), {"confirm": " A1-0001 "})
    assert response.status_code == 302
    client.refresh_from_db()
    assert re.fullmatch(r"ERASED-[0-9A-F]{8}", client.code)
    assert client.display_name == "" and client.email == ""
    assert Answer.objects.count() == answers_before
    assert Dyad.objects.filter(client=client).count() == 1
    logged = AccessLog.objects.get(action=AccessLog.Action.PRIVACY, client_id=client.pk)
    assert logged.staff == personas.admin_a
    assert "A1-0001" not in logged.detail and "robin" not in logged.detail
    # The history keeps the earlier version (a DBA procedure removes it; see docs).
    update = ClientEvent.objects.get(pgh_obj_id=client.pk, pgh_label="update", code=client.code)
    assert update.pgh_context["staff"] == personas.admin_a.pk


# --- Retention hold and erasure -------------------------------------------------------


def test_erasure_is_refused_under_a_retention_hold(full_record, login):
    client, _link = full_record
    http = login("admin_a")
    held = http.post_form(
        _privacy("client_retention", client),
        {"retention_hold": "on", "retention_note": "Court order 2026-14"},
    )
    assert held.status_code == 302
    client.refresh_from_db()
    assert client.retention_hold and client.retention_note == "Court order 2026-14"
    response = http.post_form(_privacy("client_erase", client), {"confirm": client.code})
    assert response.status_code == 302
    assert response["Location"] == _privacy("client_privacy", client)
    page = http.get(response["Location"]).content.decode()
    assert "retention hold" in page and "Court order 2026-14" in page
    assert Client.objects.filter(pk=client.pk).exists()
    assert Answer.objects.exists()


def test_pseudonymisation_is_refused_under_a_retention_hold(full_record, login):
    client, _link = full_record
    http = login("admin_a")
    http.post_form(
        _privacy("client_retention", client),
        {"retention_hold": "on", "retention_note": "Court order 2026-14"},
    )
    response = http.post_form(_privacy("client_pseudonymise", client), {"confirm": client.code})
    assert response.status_code == 302
    page = http.get(response["Location"]).content.decode()
    assert "retention hold" in page and "nothing was changed" in page
    client.refresh_from_db()
    assert client.code == "A1-0001" and client.email
    assert not AccessLog.objects.filter(
        action=AccessLog.Action.PRIVACY, detail__startswith="pseudonymised"
    ).exists()


def test_a_hold_needs_a_reason(personas, login):
    client = personas.dyad_a1.client
    http = login("admin_a")
    http.post_form(_privacy("client_retention", client), {"retention_hold": "on"})
    client.refresh_from_db()
    assert not client.retention_hold


def test_erase_deletes_every_clinical_row_of_the_client_only(full_record, personas, login):
    client, link = full_record
    other_answers = Answer.objects.exclude(administration__dyad=personas.dyad_a1).count()
    other_sessions = TherapySession.objects.exclude(dyad__client=client).count()
    http = login("admin_a")
    wrong = http.post_form(_privacy("client_erase", client), {"confirm": "a1-0001"})
    assert wrong.status_code == 302 and Client.objects.filter(pk=client.pk).exists()
    response = http.post_form(_privacy("client_erase", client), {"confirm": "A1-0001"})
    assert response.status_code == 302
    assert response["Location"] == reverse("audit_log")
    assert not Client.objects.filter(pk=client.pk).exists()
    assert not Dyad.objects.filter(client_id=client.pk).exists()
    assert not TherapySession.objects.filter(dyad_id=personas.dyad_a1.pk).exists()
    assert not Administration.objects.filter(dyad_id=personas.dyad_a1.pk).exists()
    assert not ClientLink.objects.filter(pk=link.pk).exists()
    assert not AdministrationCorrection.objects.exists()
    assert Answer.objects.count() == other_answers
    assert TherapySession.objects.count() == other_sessions
    # The read log stays unchanged (it still names the erased client's id, never the
    # code) and records the erasure.
    read = AccessLog.objects.get(action=AccessLog.Action.VIEW_SESSION)
    assert read.client_id == client.pk and read.client is None
    erased = AccessLog.objects.get(action=AccessLog.Action.PRIVACY)
    assert erased.object_type == "client" and erased.object_id == client.pk
    assert erased.client_id == client.pk
    assert erased.staff == personas.admin_a and "A1-0001" not in erased.detail
    # The append-only history keeps the events, deletions included.
    assert ClientEvent.objects.filter(pgh_obj_id=client.pk, pgh_label="delete").exists()
    assert DyadEvent.objects.filter(pgh_obj_id=personas.dyad_a1.pk, pgh_label="delete").exists()
    assert AnswerEvent.objects.filter(pgh_label="delete").exists()
    page = http.get(response["Location"]).content.decode()
    assert "was erased" in page


def test_erase_is_all_or_nothing(full_record, personas, login, monkeypatch):
    """A session logged between reading the client's rows and deleting them: nothing goes."""
    client, _link = full_record
    answers = Answer.objects.count()
    real_client_rows = privacy.client_rows

    def rows_then_a_new_session(target):  # type: ignore[no-untyped-def]
        rows = real_client_rows(target)
        TherapySession.objects.create(
            dyad=personas.dyad_a1, number=77, date=personas.dyad_a1.started_on
        )
        return rows

    monkeypatch.setattr(privacy, "client_rows", rows_then_a_new_session)
    http = login("admin_a")
    response = http.post_form(_privacy("client_erase", client), {"confirm": client.code})
    assert response.status_code == 302
    assert Answer.objects.count() == answers
    assert Client.objects.filter(pk=client.pk).exists()
    assert not TherapySession.objects.filter(number=77).exists()  # rolled back as well
    assert not AccessLog.objects.filter(action=AccessLog.Action.PRIVACY).exists()
    assert "Nothing was erased" in http.get(response["Location"]).content.decode()


# --- No clinical data in logs ---------------------------------------------------------


def test_a_500_during_a_client_submit_logs_no_answers(personas, monkeypatch, caplog):
    link, token = link_issue(actor_user=personas.therapist_a1.user, session=personas.session_a1)
    phone = CsrfClient(raise_request_exception=False)
    phone.get(reverse("client_link", args=[token]))
    body = phone.get(reverse("client_form")).content.decode()
    data = complete_answers([Instrument.objects.get(pk=pk) for pk in link.instrument_ids])
    data["submission_id"] = re.search(r'name="submission_id" value="([^"]+)"', body)[1]
    data["free_text"] = "MARKER-POST-VALUE"

    secret = str(4000 + 242)

    def broken_submit(**kwargs):
        # Like a constraint violation, whose DETAIL repeats the row's values.
        detail = f"DETAIL:  Failing row contains (991, 7, {secret}, 1, 5)."
        raise IntegrityError(f'new row violates check constraint "answer_within_scale"\n{detail}')

    monkeypatch.setattr("rri_forms.views.client.client_forms_submit", broken_submit)
    with caplog.at_level(logging.ERROR, logger="django.request"):
        response = phone.post_form(reverse("client_form"), data)
    assert response.status_code == 500
    [record] = [r for r in caplog.records if r.name == "django.request"]
    text = logging.Formatter().format(record) + caplog.text
    assert "Internal Server Error: /c/form/" in text
    assert "IntegrityError" in text and "broken_submit" in text  # still debuggable
    assert secret not in text and "Failing row" not in text
    assert MESSAGE_REMOVED in text
    assert "MARKER-POST-VALUE" not in text
    assert record.request is None and record.exc_info is None


def test_link_tokens_are_masked_in_request_logs(personas, caplog):
    token = "AbCdEfGhIjKlMnOpQrStUv"
    with caplog.at_level(logging.WARNING, logger="django.request"):
        assert CsrfClient().get(reverse("client_link", args=[token])).status_code == 404
    assert "Not Found: /f/[token]" in caplog.text
    assert token not in caplog.text
