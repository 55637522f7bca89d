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
from typing import Any, NamedTuple

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


class AdministrationValues(NamedTuple):
    session_id: int
    dyad_id: int
    instrument_id: int
    instrument_code: str
    rater: str
    submitted_at: datetime.datetime
    submitted_by_id: int | None
    risk_flag: bool


@dataclass
class AdministrationRows:
    """One form's unsaved rows, kept as plain values; the model instances
    (`administration`, `answers`, `scores`) are built on first use: the client's submit
    writes the values with one SQL statement and never needs them (the form's and 30-odd
    answer instances cost ~0.4 ms of a submit)."""

    values: AdministrationValues
    answer_values: list[AnswerValues]
    score_values: list[ScoreValues]
    result: ScoreResult
    instrument: Instrument
    session: TherapySession | None = None  # cached on the instance, for callers that read it
    submitted_by: StaffMember | None = None

    @functools.cached_property
    def administration(self) -> Administration:
        values = self.values
        administration = Administration(
            session_id=values.session_id,
            dyad_id=values.dyad_id,
            instrument=self.instrument,
            instrument_code=values.instrument_code,
            rater=values.rater,
            submitted_at=values.submitted_at,
            submitted_by=self.submitted_by,
            risk_flag=values.risk_flag,
        )
        if self.session is not None:
            administration.session = self.session
        return administration

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
    given = {n: v for n, v in answers.items() if v is not None}
    return AdministrationRows(
        AdministrationValues(
            session.pk,
            session.dyad_id,
            instrument.pk,
            instrument.code,
            instrument.rater,
            submitted_at,
            submitted_by.pk if submitted_by is not None else None,
            result.has_risk,
        ),
        answer_values(instrument, given),
        score_values(result),
        result,
        instrument,
        session if isinstance(session, TherapySession) else None,
        submitted_by,
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
) -> tuple[dict[int, int], list[int]]:
    """Insert several administrations (of distinct instruments) with their answers and
    scores, inside the caller's atomic, in ONE statement: three INSERTs chained by
    data-modifying CTEs, answers and scores joined to their new administration by
    instrument, every row passed in one JSON parameter. `also` are further UPDATE or
    INSERT statements (SQL without RETURNING, parameters) run as part of that statement
    (the client's submit marks its link used and its session saved there: one round trip
    instead of three); returns the new administrations' ids by instrument id and the rows
    each of `also` wrote.

    The client's submit stores two or more forms at once. Through the ORM that was an
    INSERT per table per form, and Django's bulk_create spent ~2 ms of CPU per submit
    preparing 30-odd rows field by field (and psycopg quoting arrays element by element
    cost ~0.3 ms more; json.dumps is C). This is the phone form's hot path. Every row
    still fires its pghistory trigger, so the append-only history is unchanged; the
    foreign keys are checked at commit (Django makes them DEFERRABLE INITIALLY DEFERRED).
    Administration instances already built get their ids; no instance is made.
    tests/rri_forms/test_client_flow.py checks the stored rows field by field. A new
    column on these tables needs adding here too (tests fail loudly if it is NOT NULL).
    """
    if not many:
        return {}, [0] * len(also)
    instrument_ids = [rows.values.instrument_id for rows in many]
    if len(set(instrument_ids)) != len(instrument_ids):
        raise ValueError("save_many_rows joins answers to forms by instrument: one form each")
    payload = _many_rows_payload(many)
    sql = _many_rows_sql(len(also)).format(**{f"also_{n}": w for n, (w, _) in enumerate(also)})
    using = router.db_for_write(Administration)
    with connections[using].cursor() as cursor:
        # allow_nan=False: a NaN score would not be valid JSON; fail rather than guess.
        params: list[Any] = [json.dumps(payload, allow_nan=False)]
        for _, also_params in also:
            params.extend(also_params)
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    new_ids = {row[1]: row[0] for row in rows}
    written = list(rows[0][2:]) if rows else [0] * len(also)
    for built in many:
        if "administration" in built.__dict__:  # an instance a caller made: it is saved now
            administration = built.administration
            administration.pk = new_ids[built.values.instrument_id]
            administration._state.adding = False
            administration._state.db = using
    return new_ids, written


def _many_rows_payload(many: Sequence[AdministrationRows]) -> dict[str, list[dict[str, object]]]:
    return {
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
            for a in (rows.values for rows in many)
        ],
        "ans": [
            {"i": rows.values.instrument_id, "n": n, "v": v, "lo": lo, "hi": hi}
            for rows in many
            for n, v, lo, hi in rows.answer_values
        ],
        "sc": [
            {"i": rows.values.instrument_id, "s": scale, "v": value, "b": band}
            for rows in many
            for scale, value, band in rows.score_values
        ],
    }


@functools.cache
def _many_rows_sql(also: int) -> str:
    """save_many_rows' statement, with `also` slots `{also_0}`… for the further writes."""
    also_ctes = "".join(f", x{n} AS ({{also_{n}}} RETURNING 1)" for n in range(also))
    also_counts = "".join(f", (SELECT count(*) FROM x{n})" for n in range(also))  # noqa: S608
    return f"""
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
            SELECT adm."id", a.n, a.v, a.lo, a.hi
            FROM p, jsonb_to_recordset(p.j -> 'ans') AS a(
                i bigint, n smallint, v smallint, lo smallint, hi smallint)
            JOIN adm ON adm."instrument_id" = a.i
        ), sc AS (
            INSERT INTO "{Score._meta.db_table}" ("administration_id", "scale", "value", "band")
            SELECT adm."id", s.s, s.v, s.b
            FROM p, jsonb_to_recordset(p.j -> 'sc') AS s(
                i bigint, s varchar, v float8, b varchar)
            JOIN adm ON adm."instrument_id" = s.i
        ){also_ctes}
        SELECT "id", "instrument_id"{also_counts} FROM adm
    """  # noqa: S608 - table names from the models; the values travel as one parameter
