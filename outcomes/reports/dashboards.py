"""Latest values, trends and open alerts of every dyad at once, for the therapist home and the
supervisor dashboard (pure: frames in, `ScoreSummary` out; the reads are in
`outcomes.selectors.dashboards`).

Per-dyad statistics are group sums (`np.bincount` over factorised dyad ids), not per-group
pandas calls. The relationship and outcome alert rules of `outcomes.analytics.alerts` are
applied to all dyads with array operations and worded with that module's own sentences, only
for the alerts whose sentence is shown; a test checks on random data that the result equals
calling `relationship_alerts` / `outcome_alerts` dyad by dyad. (Calling them series by series
costs about 0.35 ms each: 0.8 s for the 2,282 flagged series of the benchmark clinic.) Risk
and missed-form alerts come from one call each of `risk_alerts` / `missed_form_alerts`.

Definitions used by both pages (shown on the pages too):

* **Window**: the dates the page looks at (a `Period`: the page's `clinic.scope.Scope`).
  Alerts are *open* when raised at a session dated in the window; completion rates count the
  window's attended sessions. Levels and trends are as of the window's end, and alerts are
  judged on the whole history up to it (a drop is measured from the previous rated session
  even when that one is older than the window).
* **Trend**: least-squares slope of a total over the dyad's last (up to) 5 rated sessions, in
  points per session; none below 3 rated sessions. |slope| < 0.05 counts as flat.
* **Overdue**: in the last 14 days, attended sessions without any therapist form, plus sessions
  whose client link expired unused (the session's newest link decides, as on the dyad page).
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property, partial
from typing import Protocol

import numpy as np
import pandas as pd

from outcomes.analytics import Alert, ScaleReference, missed_form_alerts, risk_alerts
from outcomes.analytics.alerts import (
    MIN_EARLIER_SESSIONS,
    below_mean_reason,
    deterioration_reason,
    drop_reason,
)
from outcomes.analytics.i18n import _
from outcomes.analytics.series import MIN_TREND_POINTS
from outcomes.measures import RATER_ORDER, RELATIONSHIP, relationship_codes
from rri_forms.instrument_spec import InstrumentSpec

TREND_SESSIONS = 5
FLAT_SLOPE = 0.05
# The below-mean rule is screened with a cumulative-sum mean, looser than the rule by this
# much, so rounding differences from the alert function's own mean can only add candidates
# (which the exact mean then rejects), never lose an alert.
_SCREEN_TOLERANCE = 1e-9

_SEVERITY_ORDER = {"urgent": 0, "high": 1, "medium": 2}  # urgent: a risk item answered


class Period(Protocol):
    """The inclusive dates a page looks at, both set (a `clinic.scope.Scope` with dates)."""

    @property
    def date_from(self) -> datetime.date | None: ...

    @property
    def date_to(self) -> datetime.date | None: ...


def window_dates(window: Period) -> tuple[datetime.date, datetime.date]:
    """Both dates of a dashboard's window. The dashboard views always set both (a default
    window when the form leaves them out), so a missing one is a programming error."""
    if window.date_from is None or window.date_to is None:
        raise ValueError("a dashboard window needs both dates")
    return window.date_from, window.date_to


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
    window: Period,
) -> list[tuple[int, DatedAlert]]:
    """Relationship and outcome alerts raised at sessions in the window, per dyad.

    Exactly what `relationship_alerts` ("relationship" kinds) and `outcome_alerts` (other
    kinds) return for each dyad's series up to the window's end, as on the dyad page, keeping
    those at sessions dated in the window — computed for all dyads at once with array
    operations (tests/outcomes/reports/test_dashboard_frames.py checks the equality on random data).
    """
    out: list[tuple[int, DatedAlert]] = []
    if scores.empty:
        return out
    start, end = np.datetime64(window.date_from), np.datetime64(window.date_to)
    for code, ref in references.items():
        if ref.threshold is None or code not in kinds:
            continue
        rows = scores[scores["instrument"] == code]
        if rows.empty:
            continue
        g = _Groups.of(rows)
        in_window = (g.dates >= start) & (g.dates <= end)
        rules = _relationship_alerts if kinds[code] == RELATIONSHIP else _outcome_alerts
        for i, kind, severity, make in rules(g, ref, float(ref.threshold), in_window):
            dated = DatedAlert(kind, int(g.number[i]), severity, g.dates[i].item(), make)
            out.append((int(g.dyad[i]), dated))
    return out


def risk_and_missed_alerts(
    risk: pd.DataFrame, links: pd.DataFrame, window: Period
) -> list[tuple[int, DatedAlert]]:
    """Risk-item alerts (every row of `risk`: risk_frame read those still open) and
    missed-form alerts at sessions in the window, per dyad.

    Each alert function returns one alert per qualifying row, in order, so rows are filtered
    here first and the alerts zipped back onto their dyads.
    """
    out: list[tuple[int, DatedAlert]] = []
    date_from, date_to = window_dates(window)
    start, end = pd.Timestamp(date_from), pd.Timestamp(date_to)
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
    specs: Mapping[str, InstrumentSpec],
    references: dict[str, ScaleReference],
    risk: pd.DataFrame,
    links: pd.DataFrame,
    window: Period,
) -> ScoreSummary:
    """Levels, trends and open alerts of every dyad in the frames (pure; no database)."""
    levels = []
    for role in RATER_ORDER:
        codes = relationship_codes(specs, rater=role)
        part = latest_and_trend(_role_rows(scores, codes)) if not scores.empty else None
        if part is None or part.empty:
            part = pd.DataFrame(
                columns=["code", "latest", "slope", "n"], index=pd.Index([], name="dyad_id")
            )
        levels.append(part.add_prefix(f"{role}_"))
    merged = levels[0].join(levels[1], how="outer")
    kinds = {code: spec.kind for code, spec in specs.items()}
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


@dataclass
class Clinical:
    """Everything both pages need about a set of dyads (`outcomes.selectors.dashboards.gather`
    reads it in a fixed number of queries): the summary, the client links and the session
    counts."""

    summary: ScoreSummary
    links: pd.DataFrame
    stats: pd.DataFrame
