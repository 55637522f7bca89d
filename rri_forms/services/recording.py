"""Turning validated answers into stored rows: answers, scores, risk flag.

Every write path (client form, therapist form, corrections, demo data) goes through
`administration_rows`, so stored scores always come from the same scoring code.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from dataclasses import dataclass

from clinic.models import StaffMember, TherapySession
from rri_forms.models import Administration, Answer, Instrument, Score
from rri_forms.scoring import ScoreResult, score_answers


@dataclass
class AdministrationRows:
    administration: Administration
    answers: list[Answer]
    scores: list[Score]
    result: ScoreResult


def answer_rows(instrument: Instrument, values: Mapping[int, int]) -> list[Answer]:
    spec = instrument.spec
    rows = []
    for number, value in sorted(values.items()):
        scale = spec.item(number).response_scale
        rows.append(
            Answer(item_number=number, value=value, min_value=scale.min, max_value=scale.max)
        )
    return rows


def score_rows(result: ScoreResult) -> list[Score]:
    return [
        Score(scale=name, value=value, band=result.bands.get(name, ""))
        for name, value in result.scales.items()
    ]


def administration_rows(
    *,
    session: TherapySession,
    instrument: Instrument,
    answers: Mapping[int, int | None],
    submitted_at: datetime.datetime,
    submitted_by: StaffMember | None,
) -> AdministrationRows:
    """Score the answers and build unsaved rows. Raises ValueError on invalid answers."""
    result = score_answers(instrument.spec, answers)
    administration = Administration(
        session=session,
        dyad_id=session.dyad_id,
        instrument=instrument,
        instrument_code=instrument.code,
        rater=instrument.rater,
        submitted_at=submitted_at,
        submitted_by=submitted_by,
        risk_flag=result.has_risk,
    )
    given = {n: v for n, v in answers.items() if v is not None}
    return AdministrationRows(
        administration, answer_rows(instrument, given), score_rows(result), result
    )


def save_rows(rows: AdministrationRows) -> Administration:
    """Insert one administration with its answers and scores (inside the caller's atomic)."""
    rows.administration.save()
    for row in rows.answers + rows.scores:
        row.administration = rows.administration
    Answer.objects.bulk_create(rows.answers)
    Score.objects.bulk_create(rows.scores)
    return rows.administration
