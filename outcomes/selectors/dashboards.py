"""Clinic-scale reads and frame computations for the therapist home and supervisor dashboard.

Two halves:

* **Selectors** (Django): each issues exactly one query whatever the number of dyads, so a
  page built from them has a fixed query count (pinned in tests/outcomes/test_dashboards.py).
* **Frame computations** (pure pandas/numpy): latest values, trends and alerts for every dyad
  at once. Per-dyad statistics are group sums (`np.bincount` over factorised dyad ids), not
  per-group pandas calls. The relationship and outcome alert rules of
  `outcomes.analytics.alerts` are applied to all dyads with array operations and worded with
  that module's own formatting helpers, only for the alerts whose sentence is shown; a test
  checks on random data that the result equals calling `relationship_alerts` /
  `outcome_alerts` dyad by dyad. (Calling them series by series costs about 0.35 ms each:
  0.8 s for the 2,282 flagged series of the benchmark clinic.) Risk and missed-form alerts
  come from one call each of `risk_alerts` / `missed_form_alerts`.

Scale: at 2,000 dyads / 60,000 sessions the scores frame has ~10⁵ rows, so PostgreSQL hands
each column over as one value (binary numbers, see totals_frame; the other frames as one text
value that pandas parses as CSV), and large frames are cached while the data is unchanged
(see cached_totals_frame, bench/dashboard.py and docs/benchmarks.md).

Definitions used by both pages (shown on the pages too):

* **Window**: the dates the page looks at. Alerts are *open* when raised at a session dated in
  the window; completion rates count the window's attended sessions. Levels and trends are as
  of the window's end, and alerts are judged on the whole history up to it (a drop is measured
  from the previous rated session even when that one is older than the window).
* **Trend**: least-squares slope of a total over the dyad's last (up to) 5 rated sessions, in
  points per session; none below 3 rated sessions. |slope| < 0.05 counts as flat.
* **Overdue**: in the last 14 days, attended sessions without any therapist form, plus sessions
  whose client link expired unused (the session's newest link decides, as on the dyad page).
"""

from __future__ import annotations

import csv
import datetime
import hashlib
import io
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property, partial

import numpy as np
import pandas as pd
from django.core.cache import cache
from django.core.exceptions import EmptyResultSet
from django.db import connection
from django.db.models import BooleanField, Count, Exists, ExpressionWrapper, OuterRef, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from clinic.history import TherapySessionEvent
from clinic.models import Clinic, Dyad, TherapySession
from outcomes.analytics import Alert, ScaleReference, missed_form_alerts, risk_alerts
from outcomes.analytics.alerts import (
    MIN_EARLIER_SESSIONS,
    below_mean_reason,
    deterioration_reason,
    drop_reason,
)
from outcomes.analytics.series import MIN_TREND_POINTS
from outcomes.models import AlertAcknowledgement, AlertKind
from outcomes.references import total_references
from outcomes.reports.dyad import CLIENT_RR, THERAPIST_RR
from outcomes.selectors.frames import risk_item_label
from rri_forms.history import AdministrationEvent, ScoreEvent
from rri_forms.instrument_spec import InstrumentSpec
from rri_forms.models import Administration, Answer, ClientLink, Score

ALERT_WINDOW_DAYS = 28
OVERDUE_DAYS = 14
TREND_SESSIONS = 5
FLAT_SLOPE = 0.05
# The below-mean rule is screened with a cumulative-sum mean, looser than the rule by this
# much, so rounding differences from the alert function's own mean can only add candidates
# (which the exact mean then rejects), never lose an alert.
_SCREEN_TOLERANCE = 1e-9

TOTALS_COLUMNS = ["dyad_id", "session_number", "session_date", "instrument", "score"]
RISK_COLUMNS = [
    "dyad_id", "session_number", "session_date", "instrument", "item_number", "value", "label",
]  # fmt: skip
LINK_COLUMNS = [
    "link_id", "dyad_id", "session_id", "session_number", "session_date",
    "created_at", "completed", "live", "expired",
]  # fmt: skip
STATS_COLUMNS = ["dyad_id", "attended", "with_client", "with_therapist", "therapist_missing"]

_SEVERITY_ORDER = {"urgent": 0, "high": 1, "medium": 2}  # urgent: a risk item answered


@dataclass(frozen=True)
class Window:
    """Inclusive date range."""

    start: datetime.date
    end: datetime.date

    @classmethod
    def last_days(cls, today: datetime.date, days: int = ALERT_WINDOW_DAYS) -> Window:
        """The `days` days up to and including today."""
        return cls(today - datetime.timedelta(days=days - 1), today)


def overdue_since(today: datetime.date) -> datetime.date:
    """First day of the overdue period (the last OVERDUE_DAYS days, today included)."""
    return Window.last_days(today, OVERDUE_DAYS).start


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


def scores_version() -> tuple[int | None, ...]:
    """The version of everything `totals_frame` reads. One query of index look-ups."""
    models = (Score, Administration, TherapySession, ScoreEvent, AdministrationEvent,
              TherapySessionEvent)  # fmt: skip
    qn = connection.ops.quote_name
    parts = ", ".join(
        f"(SELECT max({qn(m._meta.pk.column)}) FROM {qn(m._meta.db_table)})"  # noqa: S608
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


def risk_frame(dyads: Dyads, window: Window, specs: dict[str, InstrumentSpec]) -> pd.DataFrame:
    """Risk items answered above their threshold at sessions in the window, and at earlier
    sessions whose risk alert nobody has acknowledged yet (it stays open). One query.

    The clinic-wide counterpart of `outcomes.selectors.frames.risk_answers_frame` (same labels).
    """
    acknowledged = AlertAcknowledgement.objects.filter(
        session=OuterRef("administration__session"), kind=AlertKind.RISK
    )
    rows = Answer.objects.filter(
        Q(administration__session__date__range=(window.start, window.end))
        | Q(administration__session__date__lt=window.start) & ~Exists(acknowledged),
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
    dyads: Dyads, window: Window, *, recent_since: datetime.date, today: datetime.date
) -> pd.DataFrame:
    """Per dyad: attended sessions in the window, those with client / therapist forms, and
    attended sessions in [recent_since, today] without any therapist form. One query.

    Sessions are joined to their forms and counted distinct (a hash join), not probed one
    by one with EXISTS subqueries, which at 10⁴ sessions is several times slower.
    """
    in_window = Q(date__range=(window.start, window.end))
    recent = Q(date__range=(recent_since, today))
    client = Q(administrations__rater="client")
    therapist = Q(administrations__rater="therapist")
    rows = (
        TherapySession.objects.filter(dyad__in=dyads, attendance=TherapySession.Attendance.ATTENDED)
        .filter(in_window | recent)
        .order_by()
        .values("dyad_id")
        .annotate(
            attended=Count("pk", filter=in_window, distinct=True),
            with_client=Count("pk", filter=in_window & client, distinct=True),
            with_therapist=Count("pk", filter=in_window & therapist, distinct=True),
            recent=Count("pk", filter=recent, distinct=True),
            recent_therapist=Count("pk", filter=recent & therapist, distinct=True),
        )
        .values_list(
            "dyad_id", "attended", "with_client", "with_therapist", "recent", "recent_therapist"
        )
    )
    frame = _frame(rows, [*STATS_COLUMNS[:-1], "recent", "recent_therapist"]).set_index("dyad_id")
    frame["therapist_missing"] = frame["recent"] - frame["recent_therapist"]
    return frame[STATS_COLUMNS[1:]].astype("int64")


def clinic_references(
    clinic: Clinic, specs: dict[str, InstrumentSpec], codes: Iterable[str]
) -> dict[str, ScaleReference]:
    """Reliable-change reference of each instrument's total: one query, reading the clinic's
    stored reference data (`outcomes.references.total_references`)."""
    return total_references(clinic, specs, codes)


def _empty(columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=object) for c in columns})


def _frame(rows: Iterable[tuple], columns: list[str], dates: tuple[str, ...] = ()) -> pd.DataFrame:
    records = list(rows)
    frame = pd.DataFrame.from_records(records, columns=columns) if records else _empty(columns)
    for column in dates:
        frame[column] = pd.to_datetime(frame[column])
    return frame


# --- Frame computations (no database) ------------------------------------------------


@dataclass
class ScoreSummary:
    """`levels`: index dyad_id; per role (client, therapist): `{role}_code` (the instrument
    used: the dyad page's choice, e.g. RRI-C before RRI-C-SF), `{role}_latest`,
    `{role}_slope` (NaN below MIN_TREND_POINTS) and `{role}_n` (sessions in the trend).
    `alerts`: dyad_id -> open alerts, most severe first, each with its session's date."""

    levels: pd.DataFrame
    alerts: dict[int, list[DatedAlert]] = field(default_factory=dict)


@dataclass(frozen=True)
class DatedAlert:
    """An alert with its session's date. The sentence is written when first asked for
    (`.alert`): a clinic-wide page counts thousands of alerts but shows few sentences."""

    kind: str
    session_number: int
    severity: str
    session_date: datetime.date
    make: Callable[[], Alert] = field(repr=False, compare=False)

    @cached_property
    def alert(self) -> Alert:
        return self.make()

    @classmethod
    def of(cls, alert: Alert, date: datetime.date) -> DatedAlert:
        return cls(alert.kind, alert.session_number, alert.severity, date, lambda: alert)


def _role_rows(scores: pd.DataFrame, codes: Sequence[str]) -> pd.DataFrame:
    """Rows of the first instrument in `codes` that each dyad has (the dyad page's choice)."""
    rows = scores[scores["instrument"].isin(codes)]
    if rows.empty or rows["instrument"].nunique() == 1:
        return rows
    priority = rows["instrument"].map({code: i for i, code in enumerate(codes)}).astype(int)
    best = priority.groupby(rows["dyad_id"].to_numpy()).transform("min")
    return rows[priority.to_numpy() == best.to_numpy()]


def latest_and_trend(rows: pd.DataFrame, last: int = TREND_SESSIONS) -> pd.DataFrame:
    """Per dyad (index, sorted): the instrument, its latest score, and the OLS slope over the
    last `last` rated sessions, slope = Σ(t − t̄)(y − ȳ)/Σ(t − t̄)², from group sums.

    `rows`: one instrument per dyad, columns dyad_id, session_number, score, instrument.
    """
    if rows.empty:
        return pd.DataFrame(
            {"code": [], "latest": [], "slope": [], "n": []}, index=pd.Index([], name="dyad_id")
        )
    g = _Groups.of(rows)
    ends = np.r_[g.starts[1:], len(g.dyad)] - 1
    tail = (ends[g.group] - np.arange(len(g.dyad))) < last
    k, t, y = g.group[tail], g.number[tail].astype(float), g.score[tail]
    groups = len(g.starts)
    n = np.bincount(k, minlength=groups)
    t_mean = np.bincount(k, t, minlength=groups) / n
    y_mean = np.bincount(k, y, minlength=groups) / n
    dt = t - t_mean[k]
    stt = np.bincount(k, dt * dt, minlength=groups)
    sty = np.bincount(k, dt * (y - y_mean[k]), minlength=groups)
    with np.errstate(divide="ignore", invalid="ignore"):
        slope = np.where((n >= MIN_TREND_POINTS) & (stt > 0), sty / stt, np.nan)
    return pd.DataFrame(
        {"code": g.codes[ends], "latest": g.score[ends], "slope": slope, "n": n},
        index=pd.Index(g.dyad[ends], name="dyad_id"),
    )


# The sentences of outcomes.analytics.alerts, written (and translated) by that module.


def _drop(
    ref: ScaleReference, before: float, before_n: int, value: float, n: int, change: float
) -> Alert:
    reason = drop_reason(ref, before, before_n, value, n, change)
    return Alert("relationship_drop", int(n), ref.label, reason, "high")


def _below(ref: ScaleReference, n: int, latest: float, earlier_mean: float, earlier: int) -> Alert:
    reason = below_mean_reason(ref, n, latest, earlier_mean, earlier)
    return Alert("relationship_below_mean", int(n), ref.label, reason, "medium")


def _deterioration(ref: ScaleReference, start: float, start_n: int, value: float, n: int) -> Alert:
    reason = deterioration_reason(ref, start, start_n, value, n)
    return Alert("deterioration", int(n), ref.label, reason, "high")


Found = list[tuple[int, str, str, Callable[[], Alert]]]  # row, kind, severity, sentence


def _relationship_alerts(
    g: _Groups, ref: ScaleReference, threshold: float, in_window: np.ndarray
) -> Found:
    """`relationship_alerts` for every group at once: the same rules, arithmetic and text."""
    sign = 1.0 if ref.higher_is_better else -1.0
    found: Found = []
    score, number = g.score, g.number
    change = score - np.r_[np.nan, score[:-1]]  # values[i] - values[i - 1], elementwise
    for i in np.flatnonzero(~g.first & (sign * change <= -threshold) & in_window).tolist():
        make = partial(_drop, ref, score[i - 1], number[i - 1], score[i], number[i], change[i])
        found.append((i, "relationship_drop", "high", make))
    # Below the dyad's own earlier mean, judged at the latest session with >= 3 earlier ones.
    # The cumulative-sum mean only screens (loosely); the alert function's own mean of the
    # earlier values decides, so ties are judged exactly as on the dyad page.
    cumulative = np.cumsum(score)
    before = np.r_[0.0, cumulative][g.starts][g.group]
    with np.errstate(divide="ignore", invalid="ignore"):
        approx = (cumulative - score - before) / g.position
    screen = (
        g.last
        & (g.position >= MIN_EARLIER_SESSIONS)
        & in_window
        & (sign * (score - approx) < -threshold + _SCREEN_TOLERANCE)
    )
    for i in np.flatnonzero(screen).tolist():
        earlier = score[g.starts[g.group[i]] : i]
        earlier_mean, latest = float(earlier.mean()), float(score[i])
        if sign * (latest - earlier_mean) < -threshold:
            make = partial(_below, ref, number[i], latest, earlier_mean, len(earlier))
            found.append((i, "relationship_below_mean", "medium", make))
    return found


def _outcome_alerts(
    g: _Groups, ref: ScaleReference, threshold: float, in_window: np.ndarray
) -> Found:
    """`outcome_alerts` for every group at once: the latest session worse than the first
    rated one by the threshold (one alert per dyad), with the function's text."""
    sign = 1.0 if ref.higher_is_better else -1.0
    score, number = g.score, g.number
    first = score[g.starts][g.group]
    worse = np.flatnonzero(~g.first & (sign * (score - first) <= -threshold))
    if not worse.size:
        return []
    # The latest worse session of each dyad (one alert, as outcome_alerts gives).
    latest = worse[np.r_[g.group[worse][1:] != g.group[worse][:-1], True]]
    found: Found = []
    for i in latest[in_window[latest]].tolist():
        s = g.starts[g.group[i]]
        make = partial(_deterioration, ref, float(score[s]), number[s], float(score[i]), number[i])
        found.append((i, "deterioration", "high", make))
    return found


@dataclass
class _Groups:
    """One instrument's rows sorted by dyad and session, with group bookkeeping arrays."""

    dyad: np.ndarray
    number: np.ndarray
    score: np.ndarray
    dates: np.ndarray  # datetime64[D]
    codes: np.ndarray  # instrument code of each row
    first: np.ndarray  # first row of its dyad
    last: np.ndarray  # last row of its dyad
    starts: np.ndarray  # index of each group's first row
    group: np.ndarray  # group of each row
    position: np.ndarray  # position within the group, from 0

    @classmethod
    def of(cls, rows: pd.DataFrame) -> _Groups:
        dyad = rows["dyad_id"].to_numpy()
        order = np.lexsort((rows["session_number"].to_numpy(), dyad))
        dyad = dyad[order]
        change = dyad[1:] != dyad[:-1]
        first = np.r_[True, change]
        starts = np.flatnonzero(first)
        group = np.cumsum(first) - 1
        return cls(
            dyad=dyad,
            number=rows["session_number"].to_numpy()[order],
            score=rows["score"].to_numpy(dtype=float)[order],
            dates=rows["session_date"].to_numpy().astype("datetime64[D]")[order],
            codes=rows["instrument"].to_numpy()[order],
            first=first,
            last=np.r_[change, True],
            starts=starts,
            group=group,
            position=np.arange(len(dyad)) - starts[group],
        )


def score_alerts(
    scores: pd.DataFrame,
    kinds: dict[str, str],
    references: dict[str, ScaleReference],
    window: Window,
) -> list[tuple[int, DatedAlert]]:
    """Relationship and outcome alerts raised at sessions in the window, per dyad.

    Exactly what `relationship_alerts` ("relationship" kinds) and `outcome_alerts` (other
    kinds) return for each dyad's series up to the window's end, as on the dyad page, keeping
    those at sessions dated in the window — computed for all dyads at once with array
    operations (tests/outcomes/test_dashboards.py checks the equality on random data).
    """
    out: list[tuple[int, DatedAlert]] = []
    if scores.empty:
        return out
    start, end = np.datetime64(window.start), np.datetime64(window.end)
    for code, ref in references.items():
        if ref.threshold is None or code not in kinds:
            continue
        rows = scores[scores["instrument"] == code]
        if rows.empty:
            continue
        g = _Groups.of(rows)
        in_window = (g.dates >= start) & (g.dates <= end)
        rules = _relationship_alerts if kinds[code] == "relationship" else _outcome_alerts
        for i, kind, severity, make in rules(g, ref, float(ref.threshold), in_window):
            dated = DatedAlert(kind, int(g.number[i]), severity, g.dates[i].item(), make)
            out.append((int(g.dyad[i]), dated))
    return out


def risk_and_missed_alerts(
    risk: pd.DataFrame, links: pd.DataFrame, window: Window
) -> list[tuple[int, DatedAlert]]:
    """Risk-item alerts (every row of `risk`: risk_frame read those still open) and
    missed-form alerts at sessions in the window, per dyad.

    Each alert function returns one alert per qualifying row, in order, so rows are filtered
    here first and the alerts zipped back onto their dyads.
    """
    out: list[tuple[int, DatedAlert]] = []
    start, end = pd.Timestamp(window.start), pd.Timestamp(window.end)
    if not risk.empty:
        rows = risk[(pd.to_numeric(risk["value"]) > 0) & (risk["session_date"] <= end)]
        alerts = risk_alerts(rows)
        out += _zip_rows(rows, alerts)
    if not links.empty:
        rows = links[
            links["expired"]
            & ~links["completed"]
            & (links["session_date"] >= start)
            & (links["session_date"] <= end)
        ].assign(form_label=_("Client forms"))
        alerts = missed_form_alerts(rows)
        out += _zip_rows(rows, alerts)
    return out


def _zip_rows(rows: pd.DataFrame, alerts: list[Alert]) -> list[tuple[int, DatedAlert]]:
    if len(alerts) != len(rows):  # pragma: no cover - guards the one-alert-per-row contract
        raise RuntimeError("alert functions must return one alert per pre-filtered row")
    return [
        (int(dyad_id), DatedAlert.of(alert, pd.Timestamp(date).date()))
        for dyad_id, date, alert in zip(rows["dyad_id"], rows["session_date"], alerts, strict=True)
    ]


def most_severe_first(alerts: Sequence[DatedAlert]) -> list[DatedAlert]:
    """High before medium, then the newest session first."""
    return sorted(
        alerts,
        key=lambda a: (_SEVERITY_ORDER[a.severity], -a.session_number, a.kind),
    )


def summarise(
    scores: pd.DataFrame,
    kinds: dict[str, str],
    references: dict[str, ScaleReference],
    risk: pd.DataFrame,
    links: pd.DataFrame,
    window: Window,
) -> ScoreSummary:
    """Levels, trends and open alerts of every dyad in the frames (pure; no database)."""
    levels = []
    for role, codes in (("client", CLIENT_RR), ("therapist", THERAPIST_RR)):
        part = latest_and_trend(_role_rows(scores, codes)) if not scores.empty else None
        if part is None or part.empty:
            part = pd.DataFrame(
                columns=["code", "latest", "slope", "n"], index=pd.Index([], name="dyad_id")
            )
        levels.append(part.add_prefix(f"{role}_"))
    merged = levels[0].join(levels[1], how="outer")
    alerts: dict[int, list[DatedAlert]] = {}
    for dyad_id, alert in score_alerts(scores, kinds, references, window) + (
        risk_and_missed_alerts(risk, links, window)
    ):
        alerts.setdefault(int(dyad_id), []).append(alert)
    return ScoreSummary(levels=merged, alerts={k: most_severe_first(v) for k, v in alerts.items()})


def trend_arrow(slope: float | None) -> str:
    """↑, ↓ or → for a slope in points per session (→ when |slope| < FLAT_SLOPE)."""
    if slope is None or pd.isna(slope):
        return ""
    if slope >= FLAT_SLOPE:
        return "↑"
    if slope <= -FLAT_SLOPE:
        return "↓"
    return "→"


def rate(done: int, total: int) -> tuple[int, int, float | None]:
    return (int(done), int(total), (done / total) if total else None)


# --- Page data -----------------------------------------------------------------------


@dataclass
class Clinical:
    """Everything both pages need about a set of dyads, from a fixed number of queries."""

    summary: ScoreSummary
    links: pd.DataFrame
    stats: pd.DataFrame


def gather(
    clinic: Clinic,
    specs: dict[str, InstrumentSpec],
    *,
    score_dyads: Dyads,
    score_ids: Collection[int],
    activity_dyads: Dyads,
    window: Window,
    today: datetime.date,
) -> Clinical:
    """Read the frames and compute the summary.

    `score_dyads` (a queryset, used as a subquery, or ids) and their ids `score_ids`: dyads
    whose levels, trends and alerts are wanted; `activity_dyads`: dyads whose sessions and
    links count for completion and overdue figures (a superset).
    Queries: scores (see cached_totals_frame), references (see clinic_references), risk
    answers, links, session stats.
    """
    now = timezone.now()
    recent_since = overdue_since(today)
    scores = cached_totals_frame(score_dyads, score_ids, until=window.end)
    present = set(scores["instrument"].unique()) if not scores.empty else set()
    references = clinic_references(clinic, specs, present)
    kinds = {code: spec.kind for code, spec in specs.items()}
    risk = risk_frame(score_dyads, window, specs)
    links = links_frame(
        activity_dyads, since=min(window.start, recent_since), until=max(window.end, today), now=now
    )
    stats = session_stats(activity_dyads, window, recent_since=recent_since, today=today)
    score_set = set(score_ids)
    summary = summarise(
        scores, kinds, references, risk, links[links["dyad_id"].isin(score_set)], window
    )
    return Clinical(summary=summary, links=links, stats=stats)
