"""The therapist's forms when the database fails mid-save: nothing kept, answers given back."""

from __future__ import annotations

import pytest
from django.db import connection
from django.urls import reverse

from rri_forms.models import Administration, AdministrationCorrection, Answer, Score
from rri_forms.rendering import field_name
from rri_forms.selectors import current_instruments
from tests.rri_forms.conftest import complete_answers
from tests.security.test_faults import FailOnWrite, _no_traceback, _nothing_saved

pytestmark = pytest.mark.django_db

SAVE_FAILED = "We could not save just now, so nothing was saved. What you entered is still here"


@pytest.fixture
def instruments(personas):
    return current_instruments(["RRI-T", "PROGRESS-T"])


def _spread(item) -> int:  # type: ignore[no-untyped-def]
    """A different answer from item to item, so a page showing any fixed value fails."""
    scale = item.response_scale
    return scale.min + item.number % scale.points


def _assert_checked(body: str, data: dict[str, str]) -> None:
    assert body.count(" checked>") == len(data)
    for name, value in data.items():
        assert f'name="{name}" value="{value}" checked>' in body


# The save writes each form in turn: its administration, answers, scores (3 statements).
@pytest.mark.parametrize("n", range(1, 7))
def test_a_save_failing_at_any_write_keeps_nothing_and_gives_the_answers_back(
    login, personas, instruments, n
):
    http = login("therapist_a1")
    session = personas.session_a1
    url = reverse("therapist_forms", args=[session.pk])
    data = complete_answers(instruments, _spread)
    failing = FailOnWrite(n)
    with connection.execute_wrapper(failing):
        response = http.post_form(url, data)

    assert len(failing.writes) == n  # the failure really happened, at that statement
    assert response.status_code == 503
    assert response["Retry-After"] == "30"
    body = response.content.decode()
    assert SAVE_FAILED in body
    _assert_checked(body, data)
    _no_traceback(response)
    _nothing_saved(session)

    # Saving the same answers again stores them, once.
    assert http.post_form(url, data).status_code == 302
    saved = Answer.objects.filter(administration__session=session)
    assert {
        field_name(a.administration.instrument, a.item_number): str(a.value) for a in saved
    } == data
    assert Administration.objects.filter(session=session).count() == len(instruments)


# A correction of one form: delete its answers and scores, insert the new ones, update
# the form's risk flag, record the correction (6 statements).
@pytest.mark.parametrize("n", range(1, 7))
def test_a_correction_failing_at_any_write_keeps_the_earlier_answers(
    login, personas, instruments, n
):
    http = login("therapist_a1")
    session = personas.session_a1
    url = reverse("therapist_forms", args=[session.pk])
    first = complete_answers(instruments, lambda item: item.response_scale.min)
    assert http.post_form(url, first).status_code == 302
    before_answers = sorted(
        Answer.objects.filter(administration__session=session).values_list(
            "administration_id", "item_number", "value"
        )
    )
    before_scores = sorted(
        Score.objects.filter(administration__session=session).values_list(
            "administration_id", "scale", "value"
        )
    )
    corrected = {**first, **complete_answers(instruments[:1], _spread)}
    assert corrected != first
    failing = FailOnWrite(n)
    with connection.execute_wrapper(failing):
        response = http.post_form(url, corrected)

    assert len(failing.writes) == n
    assert response.status_code == 503
    body = response.content.decode()
    assert SAVE_FAILED in body and "Correct my forms" in body
    _assert_checked(body, corrected)
    _no_traceback(response)
    assert not AdministrationCorrection.objects.exists()
    assert before_answers == sorted(
        Answer.objects.filter(administration__session=session).values_list(
            "administration_id", "item_number", "value"
        )
    )
    assert before_scores == sorted(
        Score.objects.filter(administration__session=session).values_list(
            "administration_id", "scale", "value"
        )
    )

    assert http.post_form(url, corrected).status_code == 302
    assert AdministrationCorrection.objects.count() == 1
