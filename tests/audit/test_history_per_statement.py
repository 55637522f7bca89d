"""History written per statement (forms, answers, scores) and the request context set once
per transaction: the same event rows and context as per-row triggers and per-statement
set_config gave."""

from __future__ import annotations

import re

import pghistory
import pytest
from django.db import connection, transaction
from django.http import HttpResponse
from django.urls import reverse
from django.utils import timezone
from pghistory.models import Context

from clinic.history import ClientEvent, HistoryMiddleware
from clinic.models import Client
from rri_forms.history import AdministrationEvent, AnswerEvent, ClientLinkEvent, ScoreEvent
from rri_forms.models import Administration, Answer, Instrument, Score
from rri_forms.services.links import link_issue
from rri_forms.services.recording import administration_rows
from tests.conftest import CsrfClient
from tests.rri_forms.conftest import complete_answers

pytestmark = pytest.mark.django_db


def test_client_submit_events_match_the_rows_and_share_one_context(personas):
    link, token = link_issue(actor_user=personas.therapist_a1.user, session=personas.session_a1)
    phone = CsrfClient()
    phone.get(reverse("client_link", args=[token]))
    body = phone.get(reverse("client_form")).content.decode()
    data = complete_answers([Instrument.objects.get(pk=pk) for pk in link.instrument_ids])
    data["submission_id"] = re.search(r'name="submission_id" value="([^"]+)"', body)[1]
    assert phone.post_form(reverse("client_form"), data).status_code == 302

    administrations = Administration.objects.filter(session=personas.session_a1)
    answers = Answer.objects.filter(administration__in=administrations)
    scores = Score.objects.filter(administration__in=administrations)
    events = [
        *AdministrationEvent.objects.filter(pgh_obj__in=administrations),
        *AnswerEvent.objects.filter(administration__in=administrations),
        *ScoreEvent.objects.filter(administration__in=administrations),
    ]
    assert len(events) == administrations.count() + answers.count() + scores.count()
    # One event per row, copying it.
    answer_rows = {(a.pk, a.administration_id, a.item_number, a.value) for a in answers}
    answer_events = {
        (e.pgh_obj_id, e.administration_id, e.item_number, e.value)
        for e in events
        if isinstance(e, AnswerEvent)
    }
    assert answer_events == answer_rows
    assert {e.pgh_label for e in events} == {"insert"}
    used = ClientLinkEvent.objects.get(pgh_obj_id=link.pk, pgh_label="update")
    contexts = {e.pgh_context_id for e in [*events, used]}
    assert len(contexts) == 1 and None not in contexts
    for event in [*events, used]:
        assert event.pgh_context == {
            "user": None,
            "url": reverse("client_form"),
            "staff": None,
            "client_link": link.pk,
        }
    assert not Context.objects.exists()  # contexts live in the event rows only


def test_a_many_row_insert_records_every_row_with_its_context(personas):
    instrument = Instrument.objects.get(code="RRI-C")
    answers = {item.number: item.response_scale.max for item in instrument.spec.items}
    rows = administration_rows(
        session=personas.session_a1,
        instrument=instrument,
        answers=answers,
        submitted_at=timezone.now(),
        submitted_by=personas.therapist_a1,
    )
    with pghistory.context(note="bulk"), transaction.atomic():
        rows.administration.save()
        for answer in rows.answers:
            answer.administration = rows.administration
        Answer.objects.bulk_create(rows.answers)  # one INSERT of every row
    events = AnswerEvent.objects.filter(administration_id=rows.administration.pk)
    assert events.count() == len(answers)
    assert {e.pgh_context["note"] for e in events} == {"bulk"}
    assert {(e.item_number, e.value) for e in events} == set(answers.items())
    score = Score.objects.create(administration=rows.administration, scale="total", value=1.0)
    assert ScoreEvent.objects.get(pgh_obj_id=score.pk).value == 1.0  # a one-row insert too


def _through_middleware(rf, user, view):  # type: ignore[no-untyped-def]
    request = rf.post("/history-probe/")
    request.user = user
    return HistoryMiddleware(view)(request)


def test_the_context_is_set_once_per_transaction_and_again_when_needed(personas, rf):
    client = Client.objects.create(clinic=personas.clinic_a, code="H-1")
    sent: list[str] = []

    def recorder(execute, sql, params, many, context):  # type: ignore[no-untyped-def]
        if not sql.lstrip().upper().startswith(("SAVEPOINT", "RELEASE", "ROLLBACK")):
            sent.append(sql)
        return execute(sql, params, many, context)

    def view(request):  # type: ignore[no-untyped-def]
        with connection.execute_wrapper(recorder):  # inside the middleware's: sees the SQL sent
            rename = Client.objects.filter(pk=client.pk).update
            with transaction.atomic():
                rename(code="H-a")  # first write of the transaction: context set
                rename(code="H-b")  # the same transaction: not again
                pghistory.context(step="c")
                rename(code="H-c")  # the context changed: set again
            try:
                with transaction.atomic():
                    rename(code="H-d")  # set again? no: same context, same transaction
                    raise RuntimeError
            except RuntimeError:
                pass
            with transaction.atomic():
                with transaction.atomic():
                    pghistory.context(step="e")
                    rename(code="H-e")  # set inside a savepoint…
                    transaction.set_rollback(True)  # …which is rolled back with it
                rename(code="H-f")  # so set again
        return HttpResponse()

    _through_middleware(rf, personas.therapist_a1.user, view)
    assert ["set_config" in sql for sql in sent] == [True, False, True, False, True, True]
    events = {
        e.code.removeprefix("H-"): e
        for e in ClientEvent.objects.filter(pgh_obj_id=client.pk, pgh_label="update")
    }
    assert set(events) == {"a", "b", "c", "f"}  # d and e were rolled back
    for name, event in events.items():
        assert event.pgh_context["url"] == "/history-probe/"
        assert event.pgh_context["staff"] == personas.therapist_a1.pk
        assert event.pgh_context.get("step") == {"a": None, "b": None, "c": "c", "f": "e"}[name]
    assert len({e.pgh_context_id for e in events.values()}) == 1
