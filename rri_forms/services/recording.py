"""Turning validated answers into stored rows: answers, scores, risk flag.

Every write path (client form, therapist form, corrections, demo data) goes through
`administration_rows`, so stored scores always come from the same scoring code.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import NamedTuple

from django.db import connections, router

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


class SessionIds(NamedTuple):
    """What a new administration needs of its therapy session, when the caller has the
    ids but no TherapySession instance (the client's submit reads them with its lock)."""

    pk: int
    dyad_id: int


def administration_rows(
    *,
    session: TherapySession | SessionIds,
    instrument: Instrument,
    answers: Mapping[int, int | None],
    submitted_at: datetime.datetime,
    submitted_by: StaffMember | None,
) -> AdministrationRows:
    """Score the answers and build unsaved rows. Raises ValueError on invalid answers."""
    result = score_answers(instrument.spec, answers)
    administration = Administration(
        session_id=session.pk,
        dyad_id=session.dyad_id,
        instrument=instrument,
        instrument_code=instrument.code,
        rater=instrument.rater,
        submitted_at=submitted_at,
        submitted_by=submitted_by,
        risk_flag=result.has_risk,
    )
    if isinstance(session, TherapySession):
        administration.session = session  # cached, as before, for callers that read it
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


def save_many_rows(many: Sequence[AdministrationRows]) -> list[Administration]:
    """Insert several administrations (of distinct instruments) with their answers and
    scores, inside the caller's atomic, in ONE statement: three INSERTs chained by
    data-modifying CTEs, answers and scores joined to their new administration by
    instrument.

    The client's submit stores two or more forms at once. Through the ORM that was an
    INSERT per table per form, and Django's bulk_create spent ~2 ms of CPU per submit
    preparing 30-odd rows field by field; this is the phone form's hot path (POST budget
    ~9 ms all in). Every row still fires its pghistory trigger, so the append-only history
    is unchanged; the foreign keys are checked at commit (Django makes them DEFERRABLE
    INITIALLY DEFERRED). Administrations get their ids; answer and score objects do not.
    tests/rri_forms/test_client_flow.py checks the stored rows field by field. A new
    column on these tables needs adding here too (tests fail loudly if it is NOT NULL).
    """
    if not many:
        return []
    instrument_ids = [rows.administration.instrument_id for rows in many]
    if len(set(instrument_ids)) != len(instrument_ids):
        raise ValueError("save_many_rows joins answers to forms by instrument: one form each")
    administrations = [rows.administration for rows in many]
    answers = [(rows.administration.instrument_id, a) for rows in many for a in rows.answers]
    scores = [(rows.administration.instrument_id, s) for rows in many for s in rows.scores]
    tables = {
        "adm": Administration._meta.db_table,
        "ans": Answer._meta.db_table,
        "score": Score._meta.db_table,
    }
    sql = """
        WITH adm AS (
            INSERT INTO "{adm}" ("session_id", "dyad_id", "instrument_id", "instrument_code",
                                 "rater", "submitted_at", "submitted_by_id", "risk_flag")
            SELECT * FROM UNNEST(%s::bigint[], %s::bigint[], %s::bigint[], %s::varchar[],
                                 %s::varchar[], %s::timestamptz[], %s::bigint[], %s::boolean[])
            RETURNING "id", "instrument_id"
        ), ans AS (
            INSERT INTO "{ans}" ("administration_id", "item_number", "value", "min_value",
                                 "max_value")
            SELECT adm."id", a.item_number, a.value, a.min_value, a.max_value
            FROM UNNEST(%s::bigint[], %s::smallint[], %s::smallint[], %s::smallint[],
                        %s::smallint[]) AS a(instrument_id, item_number, value, min_value,
                                             max_value)
            JOIN adm ON adm."instrument_id" = a.instrument_id
        ), sc AS (
            INSERT INTO "{score}" ("administration_id", "scale", "value", "band")
            SELECT adm."id", s.scale, s.value, s.band
            FROM UNNEST(%s::bigint[], %s::varchar[], %s::float8[], %s::varchar[])
                 AS s(instrument_id, scale, value, band)
            JOIN adm ON adm."instrument_id" = s.instrument_id
        )
        SELECT "id", "instrument_id" FROM adm
    """.format(**tables)  # noqa: S608 - table names from the models, values are parameters
    params = [
        [a.session_id for a in administrations],
        [a.dyad_id for a in administrations],
        instrument_ids,
        [a.instrument_code for a in administrations],
        [a.rater for a in administrations],
        [a.submitted_at for a in administrations],
        [a.submitted_by_id for a in administrations],
        [a.risk_flag for a in administrations],
        [i for i, _ in answers],
        [a.item_number for _, a in answers],
        [a.value for _, a in answers],
        [a.min_value for _, a in answers],
        [a.max_value for _, a in answers],
        [i for i, _ in scores],
        [s.scale for _, s in scores],
        [s.value for _, s in scores],
        [s.band for _, s in scores],
    ]
    using = router.db_for_write(Administration)
    with connections[using].cursor() as cursor:
        cursor.execute(sql, params)
        new_ids = {instrument_id: pk for pk, instrument_id in cursor.fetchall()}
    for rows in many:
        administration = rows.administration
        administration.pk = new_ids[administration.instrument_id]
        administration._state.adding = False
        administration._state.db = using
        for row in rows.answers + rows.scores:
            row.administration = administration
    return administrations
