"""Postgres refuses answers whose range is not the answered instrument version's."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, connection, transaction

from rri_forms.models import Administration, Answer, Instrument
from tests.factories import make_administration

pytestmark = pytest.mark.django_db


@pytest.fixture
def rri_t_administration(personas) -> Administration:
    return make_administration(
        personas.session_a1, "RRI-T", value=3, submitted_by=personas.therapist_a1
    )


def _violated(sql: str, params: list) -> str:
    """Run raw SQL that must fail; the name of the constraint Postgres reports."""
    with pytest.raises(IntegrityError) as error, transaction.atomic(), connection.cursor() as c:
        c.execute(sql, params)
    return error.value.__cause__.diag.constraint_name


INSERT = (
    "INSERT INTO rri_forms_answer (administration_id, item_number, value, min_value, max_value)"
    " VALUES (%s, %s, %s, %s, %s)"
)


def test_shipped_instruments_carry_their_item_scales(rri_t_administration):
    rri_t = rri_t_administration.instrument
    assert rri_t.item_scales == {str(n): [1, 5] for n in range(1, 25)}


@pytest.mark.parametrize(
    ("item", "value", "low", "high", "constraint"),
    [
        (24, 6, 1, 5, "answer_within_scale"),
        (24, 3, 5, 1, "answer_scale_bounds_sane"),
        (24, 3, 3, 3, "answer_scale_bounds_sane"),
        (24, 3, 0, 50, "answer_scale_bounds_sane"),
        (24, 7, 0, 10, "answer_scale_matches_instrument"),  # sane, but RRI-T runs 1-5
        (24, 3, 1, 4, "answer_scale_matches_instrument"),
        (99, 3, 1, 5, "answer_scale_matches_instrument"),  # RRI-T has no item 99
    ],
)
def test_bad_raw_answer_rows_are_refused(rri_t_administration, item, value, low, high, constraint):
    Answer.objects.filter(administration=rri_t_administration, item_number=24).delete()
    params = [rri_t_administration.pk, item, value, low, high]
    assert _violated(INSERT, params) == constraint


def test_a_right_raw_row_is_accepted(rri_t_administration):
    Answer.objects.filter(administration=rri_t_administration, item_number=24).delete()
    with connection.cursor() as cursor:
        cursor.execute(INSERT, [rri_t_administration.pk, 24, 5, 1, 5])
    assert Answer.objects.get(administration=rri_t_administration, item_number=24).value == 5


def test_an_update_cannot_stretch_the_range(rri_t_administration):
    sql = (
        "UPDATE rri_forms_answer SET value = 0, min_value = 0"
        " WHERE administration_id = %s AND item_number = 1"
    )
    assert _violated(sql, [rri_t_administration.pk]) == "answer_scale_matches_instrument"


def test_item_scales_are_fixed_once_answered(rri_t_administration):
    sql = "UPDATE rri_forms_instrument SET item_scales = '{}'::jsonb WHERE id = %s"
    violated = _violated(sql, [rri_t_administration.instrument_id])
    assert violated == "instrument_scales_fixed_once_answered"
    unanswered = Instrument.objects.get(code="RRI-C", is_current=True)
    with connection.cursor() as cursor:
        cursor.execute(sql, [unanswered.pk])
    unanswered.refresh_from_db()
    assert unanswered.item_scales == {}
