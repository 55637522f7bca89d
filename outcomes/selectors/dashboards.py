"""Clinic-scale reads for the therapist home and supervisor dashboard.

Each selector issues exactly one query whatever the number of dyads, so a page built from them
has a fixed query count (pinned in tests/outcomes/views/test_dashboard_pages.py); `gather`
reads them all and hands the frames to `outcomes.reports.dashboards`, the pure half, which
computes levels, trends and alerts and defines the window, trend and overdue.

Scale: at 2,000 dyads / 60,000 sessions the scores frame has ~10⁵ rows, so PostgreSQL hands
each column over as one value (binary numbers, see totals_frame; the other frames as one text
value that pandas parses as CSV), and large frames are cached while the data is unchanged
(see cached_totals_frame, bench/dashboard.py and docs/benchmarks.md).
"""

from __future__ import annotations

import csv
import datetime
import hashlib
import io
from collections.abc import Collection, Iterable, Sequence

import numpy as np
import pandas as pd
from django.core.cache import cache
from django.core.exceptions import EmptyResultSet
from django.db import connection
from django.db.models import (
    BooleanField,
    Count,
    Exists,
    ExpressionWrapper,
    Model,
    OuterRef,
    Q,
    QuerySet,
)
from django.utils import timezone

from clinic.history import TherapySessionEvent
from clinic.models import Clinic, Dyad, TherapySession
from clinic.scope import Scope
from outcomes.models import AlertAcknowledgement, AlertKind
from outcomes.reliable_change import total_references
from outcomes.reports.dashboards import Clinical, summarise, window_dates
from outcomes.selectors.frames import risk_item_label
from rri_forms.history import AdministrationEvent, ScoreEvent
from rri_forms.instrument_spec import InstrumentSpec
from rri_forms.models import Administration, Answer, ClientLink, Score

ALERT_WINDOW_DAYS = 28
OVERDUE_DAYS = 14

TOTALS_COLUMNS = ["dyad_id", "session_number", "session_date", "instrument", "score"]
RISK_COLUMNS = [
    "dyad_id", "session_number", "session_date", "instrument", "item_number", "value", "label",
]  # fmt: skip
LINK_COLUMNS = [
    "link_id", "dyad_id", "session_id", "session_number", "session_date",
    "created_at", "completed", "live", "expired",
]  # fmt: skip
STATS_COLUMNS = ["dyad_id", "attended", "with_client", "with_therapist", "therapist_missing"]


def last_days(today: datetime.date, days: int = ALERT_WINDOW_DAYS) -> tuple[datetime.date, ...]:
    """The first and last of the `days` days up to and including today: the default window."""
    return today - datetime.timedelta(days=days - 1), today


def overdue_since(today: datetime.date) -> datetime.date:
    """First day of the overdue period (the last OVERDUE_DAYS days, today included)."""
    return last_days(today, OVERDUE_DAYS)[0]


# --- Selectors (one query each) ------------------------------------------------------

Dyads = QuerySet[Dyad] | Sequence[int]


def _read_text(
    queryset: QuerySet,
    columns: list[str],
    dtypes: dict[str, str],
    *,
    order: tuple[int, ...] = (),
    booleans: tuple[str, ...] = (),
) -> pd.DataFrame:
    """Run a values_list queryset as ONE row of text (`string_agg` of its rows) and parse it
    with pandas' CSV reader.

    At ~10⁵ rows this is several times faster than building a Python tuple per row (or
    reading a `COPY`, which psycopg hands over one message per row). Fields are separated by
    U+001F, NULL becomes an empty field (NaN), booleans arrive as true/false. `order` gives the
    column positions the rows are aggregated in (none: any order).
    """
    try:
        sql, params = queryset.query.sql_with_params()
    except EmptyResultSet:
        sql = None
    text = None
    if sql is not None:
        names = [f"c{i}" for i in range(len(columns))]
        fields = ", ".join(f"coalesce(t.{n}::text, '')" for n in names)
        ordering = f" ORDER BY {', '.join(names[i] for i in order)}" if order else ""
        # Only generated column names and Django's own compiled SQL are interpolated; the
        # values stay parameters.
        statement = (
            f"SELECT string_agg(concat_ws(E'\\x1f', {fields}), E'\\n'{ordering}) "  # noqa: S608
            f"FROM ({sql}) AS t({', '.join(names)})"
        )
        with connection.cursor() as cursor:
            cursor.execute(statement, params)
            (text,) = cursor.fetchone()
    if not text:
        return pd.DataFrame(
            {
                c: pd.Series(dtype="bool" if c in booleans else dtypes.get(c, object))
                for c in columns
            }
        )
    # pandas' default float parser round-trips (tests check it), so thresholds are judged on
    # the same values as on the dyad page, which reads them through the ORM.
    frame = pd.read_csv(
        io.StringIO(text),
        sep="\x1f",
        names=columns,
        header=None,
        dtype=dtypes,
        true_values=["true"],
        false_values=["false"],
        quoting=csv.QUOTE_NONE,
        keep_default_na=False,
        na_values=[""],
    )
    for column in booleans:
        frame[column] = frame[column].astype(bool)
    return frame


# Each totals column as PostgreSQL aggregates it: numbers in their binary send form (big-endian
# bytes, read back with numpy, so the floats are the stored ones bit for bit), codes as lines.
_TOTALS_AGGREGATES = (
    "string_agg(int8send(t.c0::int8), '')",
    "string_agg(int8send(t.c1::int8), '')",
    "string_agg(date_send(t.c2), '')",
    "string_agg(t.c3, E'\\n')",
    "string_agg(float8send(t.c4), '')",
)
_DATE_EPOCH = np.datetime64("2000-01-01", "D")  # date_send counts days from it


def totals_frame(dyads: Dyads, *, until: datetime.date) -> pd.DataFrame:
    """Stored total scores of the dyads' sessions dated up to `until`, one row per score.

    Columns TOTALS_COLUMNS; `session_date` is datetime64. One query. Only totals are
    read: subscales are not shown on the dashboards and would triple the RRI rows.

    The query returns one row: each column aggregated into one value (`string_agg`; one
    aggregation step feeds each row to all five, so they share the row order), numbers in
    their binary send form and instrument codes as lines. On the benchmark clinic (1.6·10⁵
    totals) this takes 150 ms against 189 ms as CSV text (`_read_text`): the rows are
    neither formatted nor parsed (docs/benchmarks.md).
    """
    queryset = Score.objects.filter(
        administration__dyad__in=dyads,
        administration__session__date__lte=until,
        scale="total",
        value__isnull=False,
    ).values_list(
        "administration__dyad_id",
        "administration__session__number",
        "administration__session__date",
        "administration__instrument_code",
        "value",
    )
    try:
        sql, params = queryset.query.sql_with_params()
    except EmptyResultSet:
        sql = None
    dyad, number, date, codes, score = b"", b"", b"", "", b""
    if sql is not None:
        # Only Django's own compiled SQL is interpolated; the values stay parameters. Every
        # column is NOT NULL here (the value is filtered), so no aggregate skips a row.
        statement = (
            f"SELECT {', '.join(_TOTALS_AGGREGATES)} "  # noqa: S608
            f"FROM ({sql}) AS t(c0, c1, c2, c3, c4)"
        )
        with connection.cursor() as cursor:
            cursor.execute(statement, params)
            row = cursor.fetchone()
        if row[0] is not None:
            dyad, number, date, codes, score = row
    days = np.frombuffer(date, ">i4").astype(np.int64)
    return pd.DataFrame(
        {
            "dyad_id": np.frombuffer(dyad, ">i8").astype(np.int64),
            "session_number": np.frombuffer(number, ">i8").astype(np.int64),
            "session_date": (_DATE_EPOCH + days).astype("datetime64[us]"),
            "instrument": pd.Categorical(codes.split("\n") if codes else []),
            "score": np.frombuffer(score, ">f8").astype(np.float64),
        },
        columns=TOTALS_COLUMNS,
    )


# Reading the scores of a whole clinic is the costly part of the supervisor dashboard (a join
# of scores, forms and sessions: ~10⁵ rows at 2,000 dyads). Large frames are kept in Django's
# cache under one key per dyad set and end date, together with the version of the data they
# were read at, and reused while that version stands. The version is the newest id of each
# table the frame comes from (new rows) and of their append-only history tables (every
# insert, update and delete, e.g. a therapist's correction or `manage.py rescore`). Ids are
# handed out before commit, so a transaction that commits after a newer one can leave the
# newest ids unchanged: the short lifetime bounds how long such a frame can be reused.
CACHE_MIN_ROWS = 5_000
CACHE_SECONDS = 120


def _pk_column(model: type[Model]) -> str:
    column = model._meta.pk.column
    if column is None:  # only a field that is not stored lacks a column; a primary key is
        raise ValueError(f"{model.__name__} has no primary key column")
    return column


def scores_version() -> tuple[int | None, ...]:
    """The version of everything `totals_frame` reads. One query of index look-ups."""
    models = (Score, Administration, TherapySession, ScoreEvent, AdministrationEvent,
              TherapySessionEvent)  # fmt: skip
    qn = connection.ops.quote_name
    parts = ", ".join(
        f"(SELECT max({qn(_pk_column(m))}) FROM {qn(m._meta.db_table)})"  # noqa: S608
        for m in models
    )
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {parts}")  # table and column names only
        return tuple(cursor.fetchone())


def cached_totals_frame(
    dyads: Dyads, ids: Collection[int], *, until: datetime.date
) -> pd.DataFrame:
    """`totals_frame`, reused from the cache while the data has not changed (see above).

    Two queries when the cache is cold or stale (the version, then the frame), one when warm.
    """
    version = scores_version()
    digest = hashlib.sha256(",".join(map(str, sorted(ids))).encode()).hexdigest()[:32]
    key = f"dashboard-totals:{digest}:{until.isoformat()}"
    hit = cache.get(key)
    if hit is not None and hit[0] == version:
        return hit[1]
    frame = totals_frame(dyads, until=until)
    if len(frame) >= CACHE_MIN_ROWS:
        cache.set(key, (version, frame), CACHE_SECONDS)
    return frame


def risk_frame(dyads: Dyads, window: Scope, specs: dict[str, InstrumentSpec]) -> pd.DataFrame:
    """Risk items answered above their threshold at sessions in the window, and at earlier
    sessions whose risk alert nobody has acknowledged yet (it stays open). One query.

    The clinic-wide counterpart of `outcomes.selectors.frames.risk_answers_frame` (same labels).
    """
    acknowledged = AlertAcknowledgement.objects.filter(
        session=OuterRef("administration__session"), kind=AlertKind.RISK
    )
    rows = Answer.objects.filter(
        Q(administration__session__date__range=(window.date_from, window.date_to))
        | Q(administration__session__date__lt=window.date_from) & ~Exists(acknowledged),
        administration__dyad__in=dyads,
        administration__risk_flag=True,
    ).values_list(
        "administration__dyad_id",
        "administration__session__number",
        "administration__session__date",
        "administration__instrument_code",
        "item_number",
        "value",
    )
    records = []
    for dyad_id, number, date, code, item, value in rows:
        spec = specs.get(code)
        if spec is None or item not in spec.risk_items or value <= spec.risk_threshold:
            continue
        label = risk_item_label(code, item, spec.item(item).text)
        records.append((dyad_id, number, date, code, item, value, label))
    return _frame(records, RISK_COLUMNS, dates=("session_date",))


def links_frame(
    dyads: Dyads, *, since: datetime.date, until: datetime.date, now: datetime.datetime
) -> pd.DataFrame:
    """The newest client link of each session dated in [since, until], plus every live link,
    with boolean columns `completed`, `live` and `expired` (unrevoked, unused, past its
    expiry; judged at `now`). One query.
    """
    unused = Q(revoked_at__isnull=True, used_at__isnull=True)
    queryset = (
        ClientLink.objects.filter(session__dyad__in=dyads)
        .filter(Q(session__date__range=(since, until)) | (unused & Q(expires_at__gt=now)))
        .annotate(
            completed=ExpressionWrapper(Q(used_at__isnull=False), output_field=BooleanField()),
            live=ExpressionWrapper(unused & Q(expires_at__gt=now), output_field=BooleanField()),
            expired=ExpressionWrapper(unused & Q(expires_at__lte=now), output_field=BooleanField()),
        )
        .values_list(
            "pk",
            "session__dyad_id",
            "session_id",
            "session__number",
            "session__date",
            "created_at",
            "completed",
            "live",
            "expired",
        )
    )
    frame = _read_text(
        queryset,
        LINK_COLUMNS,
        {
            "link_id": "int64",
            "dyad_id": "int64",
            "session_id": "int64",
            "session_number": "int64",
            "created_at": "str",
        },
        order=(2, 5, 0),  # session, created_at, link
        booleans=("completed", "live", "expired"),
    )
    frame["session_date"] = pd.to_datetime(frame["session_date"], format="%Y-%m-%d")
    # Re-issuing revokes the older link; the session's fate is its newest link.
    return frame.drop_duplicates("session_id", keep="last").reset_index(drop=True)


def session_stats(
    dyads: Dyads, window: Scope, *, recent_since: datetime.date, today: datetime.date
) -> pd.DataFrame:
    """Per dyad: attended sessions in the window (the scope's dates), those with client /
    therapist forms, and attended sessions in [recent_since, today] without any therapist
    form. One query.

    Sessions are joined to their forms and counted distinct (a hash join), not probed one
    by one with EXISTS subqueries, which at 10⁴ sessions is several times slower.
    """
    in_window = Q(date__range=(window.date_from, window.date_to))
    recent = Q(date__range=(recent_since, today))
    client = Q(administrations__rater="client")
    therapist = Q(administrations__rater="therapist")
    rows = (
        TherapySession.objects.filter(dyad__in=dyads, attendance=TherapySession.Attendance.ATTENDED)
        .filter(in_window | recent)
        .order_by()
        .values("dyad_id")
        .annotate(
            # not `attended`: that is a property of TherapySession, and an annotation must
            # not shadow a model attribute (the frame's columns are named by STATS_COLUMNS)
            attended_count=Count("pk", filter=in_window, distinct=True),
            with_client=Count("pk", filter=in_window & client, distinct=True),
            with_therapist=Count("pk", filter=in_window & therapist, distinct=True),
            recent=Count("pk", filter=recent, distinct=True),
            recent_therapist=Count("pk", filter=recent & therapist, distinct=True),
        )
        .values_list(
            "dyad_id",
            "attended_count",
            "with_client",
            "with_therapist",
            "recent",
            "recent_therapist",
        )
    )
    frame = _frame(rows, [*STATS_COLUMNS[:-1], "recent", "recent_therapist"]).set_index("dyad_id")
    frame["therapist_missing"] = frame["recent"] - frame["recent_therapist"]
    return frame[STATS_COLUMNS[1:]].astype("int64")


def _empty(columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=object) for c in columns})


def _frame(rows: Iterable[tuple], columns: list[str], dates: tuple[str, ...] = ()) -> pd.DataFrame:
    records = list(rows)
    frame = pd.DataFrame.from_records(records, columns=columns) if records else _empty(columns)
    for column in dates:
        frame[column] = pd.to_datetime(frame[column])
    return frame


# --- Page data -----------------------------------------------------------------------


def gather(
    clinic: Clinic,
    specs: dict[str, InstrumentSpec],
    *,
    score_dyads: Dyads,
    score_ids: Collection[int],
    activity_dyads: Dyads,
    window: Scope,
    today: datetime.date,
) -> Clinical:
    """Read the frames and compute the summary.

    `score_dyads` (a queryset, used as a subquery, or ids) and their ids `score_ids`: dyads
    whose levels, trends and alerts are wanted; `activity_dyads`: dyads whose sessions and
    links count for completion and overdue figures (a superset).
    Queries: scores (see cached_totals_frame), references (see
    outcomes.reliable_change.total_references), risk answers, links, session stats.
    """
    now = timezone.now()
    recent_since = overdue_since(today)
    date_from, date_to = window_dates(window)
    scores = cached_totals_frame(score_dyads, score_ids, until=date_to)
    present = set(scores["instrument"].unique()) if not scores.empty else set()
    references = total_references(clinic, specs, present)
    risk = risk_frame(score_dyads, window, specs)
    links = links_frame(
        activity_dyads,
        since=min(date_from, recent_since),
        until=max(date_to, today),
        now=now,
    )
    stats = session_stats(activity_dyads, window, recent_since=recent_since, today=today)
    score_set = set(score_ids)
    summary = summarise(
        scores, specs, references, risk, links[links["dyad_id"].isin(score_set)], window
    )
    return Clinical(summary=summary, links=links, stats=stats)
