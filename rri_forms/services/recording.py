"""Turning validated answers into stored rows: answers, scores, risk flag.

Every write path (client form, therapist form, corrections, demo data) goes through
`administration_rows`, so stored scores always come from the same scoring code.
"""

from __future__ import annotations

import datetime
import functools
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import NamedTuple

from django.db import connections, router

from clinic.models import StaffMember, TherapySession
from rri_forms.models import Administration, Answer, Instrument, Score
from rri_forms.scoring import ScoreResult, score_answers


class AnswerValues(NamedTuple):
    item_number: int
    value: int
    min_value: int
    max_value: int


class ScoreValues(NamedTuple):
    scale: str
    value: float | None
    band: str


@dataclass
class AdministrationRows:
    """One form's unsaved rows. Answers and scores are kept as plain values; the model
    instances (`answers`, `scores`) are built on first use: the client's submit writes the
    values with one SQL statement and never needs them (30-odd instances cost ~0.3 ms)."""

    administration: Administration
    answer_values: list[AnswerValues]
    score_values: list[ScoreValues]
    result: ScoreResult

    @functools.cached_property
    def answers(self) -> list[Answer]:
        return [Answer(**values._asdict()) for values in self.answer_values]

    @functools.cached_property
    def scores(self) -> list[Score]:
        return [Score(**values._asdict()) for values in self.score_values]


def answer_values(instrument: Instrument, values: Mapping[int, int]) -> list[AnswerValues]:
    spec = instrument.spec
    rows = []
    for number, value in sorted(values.items()):
        scale = spec.item(number).response_scale
        rows.append(AnswerValues(number, value, scale.min, scale.max))
    return rows


def score_values(result: ScoreResult) -> list[ScoreValues]:
    bands = result.bands
    return [ScoreValues(name, value, bands.get(name, "")) for name, value in result.scales.items()]


def answer_rows(instrument: Instrument, values: Mapping[int, int]) -> list[Answer]:
    return [Answer(**v._asdict()) for v in answer_values(instrument, values)]


def score_rows(result: ScoreResult) -> list[Score]:
    return [Score(**v._asdict()) for v in score_values(result)]


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
        administration, answer_values(instrument, given), score_values(result), result
    )


def save_rows(rows: AdministrationRows) -> Administration:
    """Insert one administration with its answers and scores (inside the caller's atomic)."""
    rows.administration.save()
    for row in rows.answers + rows.scores:
        row.administration = rows.administration
    Answer.objects.bulk_create(rows.answers)
    Score.objects.bulk_create(rows.scores)
    return rows.administration


def save_many_rows(
    many: Sequence[AdministrationRows], *, also: Sequence[tuple[str, Sequence[object]]] = ()
) -> tuple[list[Administration], list[int]]:
    """Insert several administrations (of distinct instruments) with their answers and
    scores, inside the caller's atomic, in ONE statement: three INSERTs chained by
    data-modifying CTEs, answers and scores joined to their new administration by
    instrument, every row passed in one JSON parameter. `also` are further UPDATE or
    INSERT statements (SQL without RETURNING, parameters) run as part of that statement
    (the client's submit marks its link used and its session saved there: one round trip
    instead of three); returns the administrations and the rows each of `also` wrote.

    The client's submit stores two or more forms at once. Through the ORM that was an
    INSERT per table per form, and Django's bulk_create spent ~2 ms of CPU per submit
    preparing 30-odd rows field by field (and psycopg quoting arrays element by element
    cost ~0.3 ms more; json.dumps is C). This is the phone form's hot path. Every row
    still fires its pghistory trigger, so the append-only history is unchanged; the
    foreign keys are checked at commit (Django makes them DEFERRABLE INITIALLY DEFERRED).
    Administrations get their ids; no answer or score instances are made.
    tests/rri_forms/test_client_flow.py checks the stored rows field by field. A new
    column on these tables needs adding here too (tests fail loudly if it is NOT NULL).
    """
    if not many:
        return [], []
    instrument_ids = [rows.administration.instrument_id for rows in many]
    if len(set(instrument_ids)) != len(instrument_ids):
        raise ValueError("save_many_rows joins answers to forms by instrument: one form each")
    payload = {
        "adm": [
            {
                "session_id": a.session_id,
                "dyad_id": a.dyad_id,
                "instrument_id": a.instrument_id,
                "instrument_code": a.instrument_code,
                "rater": a.rater,
                "submitted_at": a.submitted_at.isoformat(),  # aware: keeps its offset
                "submitted_by_id": a.submitted_by_id,
                "risk_flag": a.risk_flag,
            }
            for a in (rows.administration for rows in many)
        ],
        "ans": [
            {"instrument_id": rows.administration.instrument_id, **values._asdict()}
            for rows in many
            for values in rows.answer_values
        ],
        "sc": [
            {"instrument_id": rows.administration.instrument_id, **values._asdict()}
            for rows in many
            for values in rows.score_values
        ],
    }
    also_ctes = "".join(f", x{n} AS ({sql} RETURNING 1)" for n, (sql, _) in enumerate(also))
    also_counts = "".join(f", (SELECT count(*) FROM x{n})" for n in range(len(also)))  # noqa: S608
    sql = f"""
        WITH p AS (SELECT %s::jsonb AS j),
        adm AS (
            INSERT INTO "{Administration._meta.db_table}" (
                "session_id", "dyad_id", "instrument_id", "instrument_code",
                "rater", "submitted_at", "submitted_by_id", "risk_flag")
            SELECT r.* FROM p, jsonb_to_recordset(p.j -> 'adm') AS r(
                session_id bigint, dyad_id bigint, instrument_id bigint,
                instrument_code varchar, rater varchar, submitted_at timestamptz,
                submitted_by_id bigint, risk_flag boolean)
            RETURNING "id", "instrument_id"
        ), ans AS (
            INSERT INTO "{Answer._meta.db_table}" (
                "administration_id", "item_number", "value", "min_value", "max_value")
            SELECT adm."id", a.item_number, a.value, a.min_value, a.max_value
            FROM p, jsonb_to_recordset(p.j -> 'ans') AS a(
                instrument_id bigint, item_number smallint, value smallint,
                min_value smallint, max_value smallint)
            JOIN adm ON adm."instrument_id" = a.instrument_id
        ), sc AS (
            INSERT INTO "{Score._meta.db_table}" ("administration_id", "scale", "value", "band")
            SELECT adm."id", s.scale, s.value, s.band
            FROM p, jsonb_to_recordset(p.j -> 'sc') AS s(
                instrument_id bigint, scale varchar, value float8, band varchar)
            JOIN adm ON adm."instrument_id" = s.instrument_id
        ){also_ctes}
        SELECT "id", "instrument_id"{also_counts} FROM adm
    """  # noqa: S608 - table names from the models; the values travel as one parameter
    using = router.db_for_write(Administration)
    with connections[using].cursor() as cursor:
        # allow_nan=False: a NaN score would not be valid JSON; fail rather than guess.
        params = [json.dumps(payload, allow_nan=False)]
        for _, also_params in also:
            params.extend(also_params)
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    new_ids = {row[1]: row[0] for row in rows}
    written = list(rows[0][2:]) if rows else [0] * len(also)
    administrations = []
    for rows in many:
        administration = rows.administration
        administration.pk = new_ids[administration.instrument_id]
        administration._state.adding = False
        administration._state.db = using
        administrations.append(administration)
    return administrations, written
