"""Everything the dyad page shows, computed from frames (no Django, no database).

The view gathers the frames with outcomes.selectors.frames; this module turns them into charts,
statistics, text summaries, tables and alerts, each with an honest empty state. Every text
goes through `outcomes.analytics.i18n` (translated once Django has installed its gettext).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from outcomes.analytics import (
    MIN_SESSIONS,
    Alert,
    Correlation,
    ScaleReference,
    Trend,
    column_key,
    missed_form_alerts,
    outcome_alerts,
    pearson_with_ci,
    relationship_alerts,
    risk_alerts,
    sort_alerts,
)
from outcomes.analytics.correlation import lag_arrays, lagged_arrays_correlation, scores_of
from outcomes.analytics.i18n import _, ngettext
from outcomes.analytics.series import DyadSeries, dyad_arrays, slope_per_session
from outcomes.reports import figures
from rri_forms.instrument_spec import InstrumentSpec

CLIENT_RR = ("RRI-C", "RRI-C-12", "RRI-C-SF")
THERAPIST_RR = ("RRI-T",)
MAIN_OUTCOME = "SESSION-CHECK"


@dataclass
class Chart:
    key: str
    title: str
    figure: dict | None
    empty: str = ""
    summary: str = ""
    table_columns: list[str] = field(default_factory=list)
    table_rows: list[list[str]] = field(default_factory=list)


@dataclass
class PairStat:
    relationship: str
    outcome: str
    same_session: Correlation
    lagged: Correlation


@dataclass
class DyadReport:
    session_count: int
    charts: list[Chart]
    pairs: list[PairStat]
    alerts: list[Alert]
    discrepancy: Trend | None
    references: list[ScaleReference]


def _fmt(value: float | None, digits: int = 2) -> str:
    if value is None or value != value:  # NaN
        return "—"
    return f"{value:.{digits}f}"


def describe(c: Correlation) -> str:
    if not c.ok:
        return c.reason or _("not enough data")
    if c.degenerate:
        return not_informative(c)
    return _("r = %(r).2f, 95%% CI [%(low).2f, %(high).2f], n = %(n)d") % {
        "r": c.r,
        "low": c.ci_low,
        "high": c.ci_high,
        "n": c.n,
    }


def not_informative(c: Correlation) -> str:
    """|r| = 1 (see `Correlation.degenerate`): say why the number tells little."""
    return _(
        "r = %(r).2f, n = %(n)d: not informative. The points lie exactly on a line, so no "
        "confidence interval can be computed, and with so few sessions a perfect line says "
        "little about how the two relate"
    ) % {"r": c.r, "n": c.n}


def _first(codes: tuple[str, ...], series: DyadSeries) -> str | None:
    for code in codes:
        if column_key(code, "total") in series:
            return code
    return None


def _table(series: DyadSeries, columns: list[tuple[str, str]]) -> tuple[list[str], list[list[str]]]:
    present = [(c, label) for c, label in columns if c in series]
    header = [_("Session")] + [label for _c, label in present]
    values = [series[c].tolist() for c, _label in present]
    rows = [
        [str(n)] + [_fmt(column[i]) for column in values]
        for i, n in enumerate(series.sessions.tolist())
    ]
    return header, rows


def _trend_sentence(series: DyadSeries, column: str, label: str) -> str:
    if column in series:
        values = series[column]
        keep = ~np.isnan(values)
        values, sessions = values[keep], series.sessions[keep]
    else:
        values = sessions = np.zeros(0)
    if not values.size:
        return _("No %(label)s scores yet.") % {"label": label}
    return ngettext(
        "%(label)s: %(n)d session rated, first %(first)s (session %(first_n)s), latest %(last)s "
        "(session %(last_n)s), mean %(mean)s.",
        "%(label)s: %(n)d sessions rated, first %(first)s (session %(first_n)s), latest %(last)s "
        "(session %(last_n)s), mean %(mean)s.",
        int(values.size),
    ) % {
        "label": label,
        "n": int(values.size),
        "first": _fmt(float(values[0])),
        "first_n": int(sessions[0]),
        "last": _fmt(float(values[-1])),
        "last_n": int(sessions[-1]),
        "mean": _fmt(float(values.mean())),
    }


def _total(code: str) -> str:
    return _("%(instrument)s total") % {"instrument": code}


def _subscale(code: str, subscale: str) -> str:
    if subscale == "realism":
        return _("%(instrument)s realism") % {"instrument": code}
    return _("%(instrument)s genuineness") % {"instrument": code}


def _relationship_chart(series: DyadSeries, client: str | None, therapist: str | None) -> Chart:
    cols: list[tuple[str, str, str, bool]] = []
    for code, colour in ((client, figures.CLIENT), (therapist, figures.THERAPIST)):
        if code is None:
            continue
        cols.append((column_key(code, "total"), _total(code), colour, True))
        for sub in ("realism", "genuineness"):
            cols.append((column_key(code, sub), _subscale(code, sub), colour, False))
    chart = Chart("relationship", _("Real relationship over sessions"), None)
    if not cols:
        chart.empty = _("No relationship ratings yet: they appear after the first completed RRI.")
        return chart
    chart.figure = figures.line_chart(
        series.sessions.tolist(),
        [(series[c], label, colour, visible) for c, label, colour, visible in cols if c in series],
        title=chart.title,
        y_title=_("Mean item score (1–5)"),
        y_range=[1, 5.1],
    )
    sentences = [
        _trend_sentence(series, column_key(code, "total"), _total(code))
        for code in (client, therapist)
        if code
    ]
    sentences.append(_("Subscales can be switched on in the legend."))
    chart.summary = " ".join(sentences)
    chart.table_columns, chart.table_rows = _table(
        series, [(c, label) for c, label, _colour, _visible in cols]
    )
    return chart


def _outcome_charts(series: DyadSeries, specs: dict[str, InstrumentSpec]) -> list[Chart]:
    session_level = [c for c, s in specs.items() if s.kind in ("session_outcome", "progress")]
    symptoms = [c for c, s in specs.items() if s.kind == "symptom"]
    charts = []
    for key, title, codes, y_title, none_yet in (
        (
            "outcomes",
            _("Session outcome and progress"),
            session_level,
            _("Mean item score"),
            _("No session outcome and progress scores yet."),
        ),
        (
            "symptoms",
            _("Symptoms (higher is worse)"),
            symptoms,
            _("Sum score"),
            _("No symptoms (higher is worse) scores yet."),
        ),
    ):
        cols = [
            (column_key(code, "total"), specs[code].short_title, figures.PALETTE[(i + 2) % 7], True)
            for i, code in enumerate(sorted(codes))
            if column_key(code, "total") in series
        ]
        chart = Chart(key, title, None)
        if not cols:
            chart.empty = none_yet
        else:
            chart.figure = figures.line_chart(
                series.sessions.tolist(),
                [(series[c], label, colour, visible) for c, label, colour, visible in cols],
                title=title,
                y_title=y_title,
            )
            chart.summary = " ".join(
                _trend_sentence(series, c, label) for c, label, _colour, _visible in cols
            )
            chart.table_columns, chart.table_rows = _table(
                series, [(c, label) for c, label, _colour, _visible in cols]
            )
        charts.append(chart)
    return charts


def _lagged(series: DyadSeries, x: str, y: str) -> Correlation:
    return lagged_arrays_correlation(
        series.sessions, series[x], series[y], names=(scores_of(x), scores_of(y))
    )


def _same(series: DyadSeries, x: str, y: str) -> Correlation:
    # One array per column, aligned on the dyad's sessions: paired by session.
    return pearson_with_ci(series[x], series[y], names=(scores_of(x), scores_of(y)))


def _pairs(series: DyadSeries, rr_codes: list[str], outcome_codes: list[str]) -> list[PairStat]:
    pairs = []
    for rr in rr_codes:
        for out in outcome_codes:
            x, y = column_key(rr, "total"), column_key(out, "total")
            if x not in series or y not in series:
                continue
            pairs.append(PairStat(rr, out, _same(series, x, y), _lagged(series, x, y)))
    return pairs


def _scatter_chart(series: DyadSeries, client: str | None) -> Chart:
    chart = Chart("scatter", _("Relationship and session outcome"), None)
    x, y = column_key(client or "RRI-C", "total"), column_key(MAIN_OUTCOME, "total")
    if x not in series or y not in series:
        chart.empty = _(
            "The client's relationship and session-check scores are needed for this view."
        )
        return chart
    keep = ~np.isnan(series[x]) & ~np.isnan(series[y])
    bx, by, bn = series[x][keep], series[y][keep], series.sessions[keep].tolist()
    same = _same(series, x, y)
    if len(bn) < MIN_SESSIONS:
        # "session(s)" is the English wording the page has always had (tests pin it).
        chart.empty = _(
            "%(n)d session(s) with both scores; %(min)d are needed before a correlation means "
            "anything (%(more)d more)."
        ) % {"n": len(bn), "min": MIN_SESSIONS, "more": MIN_SESSIONS - len(bn)}
        return chart
    chart.figure = figures.scatter_chart(
        bx, by, bn,
        title=_("%(instrument)s total vs session check (numbers are sessions)")
        % {"instrument": client},
        x_title=_total(str(client)), y_title=_("Session check"), name=_("sessions"),
    )  # fmt: skip
    lag = _lagged(series, x, y)
    chart.summary = _(
        "Same session: %(same)s. Relationship at one session vs outcome at the next: %(next)s. "
        "Within one dyad these estimates are imprecise; see the intervals."
    ) % {"same": describe(same), "next": describe(lag)}
    chart.table_columns = [_("Session"), _total(str(client)), _("Session check")]
    chart.table_rows = [
        [str(n), _fmt(a), _fmt(b)] for n, a, b in zip(bn, bx.tolist(), by.tolist(), strict=True)
    ]
    return chart


def _lagged_chart(series: DyadSeries, client: str | None) -> Chart:
    """The client's relationship at session t against the session check at t + 1."""
    chart = Chart("lagged", _("Relationship and the next session's outcome"), None)
    x, y = column_key(client or "RRI-C", "total"), column_key(MAIN_OUTCOME, "total")
    if x not in series or y not in series:
        chart.empty = _(
            "The client's relationship and session-check scores are needed for this view."
        )
        return chart
    t, x_t, y_next = lag_arrays(series.sessions, series[x], series[y])
    if t.size < MIN_SESSIONS:
        n = int(t.size)
        chart.empty = ngettext(
            "%(n)d pair of consecutive sessions with the relationship rated at the first and "
            "the session check at the second; %(min)d are needed before a correlation means "
            "anything (%(more)d more). A missed or unrated session breaks the chain.",
            "%(n)d pairs of consecutive sessions with the relationship rated at the first and "
            "the session check at the second; %(min)d are needed before a correlation means "
            "anything (%(more)d more). A missed or unrated session breaks the chain.",
            n,
        ) % {"n": n, "min": MIN_SESSIONS, "more": MIN_SESSIONS - n}
        return chart
    sessions = t.tolist()
    chart.figure = figures.scatter_chart(
        x_t, y_next, sessions,
        title=_("%(instrument)s total at a session vs session check at the next")
        % {"instrument": client},
        x_title=_("%(instrument)s total at session t") % {"instrument": client},
        y_title=_("Session check at session t + 1"), name=_("session pairs"),
        colour=figures.PALETTE[2], labels=[f"{n}→{n + 1}" for n in sessions],
    )  # fmt: skip
    lag = _lagged(series, x, y)
    chart.summary = _(
        "Relationship at one session vs session check at the next: %(next)s (pairs of "
        "consecutive sessions only). This describes how the two move together over time in this "
        "dyad; it does not show that one causes the other."
    ) % {"next": describe(lag)}
    chart.table_columns = [
        _("Sessions"),
        _("%(instrument)s total at the first") % {"instrument": client},
        _("Session check at the second"),
    ]
    chart.table_rows = [
        [f"{n}→{n + 1}", _fmt(a), _fmt(b)]
        for n, a, b in zip(sessions, x_t.tolist(), y_next.tolist(), strict=True)
    ]
    return chart


def _discrepancy_chart(
    series: DyadSeries, client: str | None, therapist: str | None
) -> tuple[Chart, Trend | None]:
    chart = Chart("discrepancy", _("Client minus therapist rating"), None)
    if client is None or therapist is None:
        chart.empty = _("Both the client's and the therapist's RRI are needed for this view.")
        return chart, None
    c, t = series[column_key(client, "total")], series[column_key(therapist, "total")]
    keep = ~np.isnan(c) & ~np.isnan(t)
    if not keep.any():
        chart.empty = _("No session has both ratings yet.")
        return chart, None
    sessions, c, t = series.sessions[keep], c[keep], t[keep]
    difference = c - t  # client − therapist, as `discrepancy` defines it
    trend = slope_per_session(sessions.astype(float), difference)
    chart.figure = figures.line_chart(
        sessions.tolist(),
        [(difference, _("client − therapist"), figures.PALETTE[2], True)],
        title=chart.title, y_title=_("Difference in mean item score"),
    )  # fmt: skip
    if trend.slope is not None:
        slope = ngettext(
            "changing by %(slope)+.2f per session over %(n)d session",
            "changing by %(slope)+.2f per session over %(n)d sessions",
            trend.n,
        ) % {"slope": trend.slope, "n": trend.n}
    else:
        slope = trend.reason or ""
    chart.summary = _(
        "Mean difference %(mean)s (positive: the client rates the relationship higher); %(trend)s."
    ) % {"mean": _fmt(float(difference.mean())), "trend": slope}
    chart.table_columns = [_("Session"), _("Client"), _("Therapist"), _("Difference")]
    chart.table_rows = [
        [str(n), _fmt(a), _fmt(b), _fmt(d)]
        for n, a, b, d in zip(
            sessions.tolist(), c.tolist(), t.tolist(), difference.tolist(), strict=True
        )
    ]
    return chart, trend


def build_dyad_report(
    scores: pd.DataFrame | DyadSeries,
    specs: dict[str, InstrumentSpec],
    references: dict[str, ScaleReference],
    risk: pd.DataFrame,
    missed: pd.DataFrame,
) -> DyadReport:
    """`scores`: the dyad's long scores frame, or its `DyadSeries`. `references` maps
    instrument code → the reference for its total score."""
    series = scores if isinstance(scores, DyadSeries) else dyad_arrays(scores)
    client = _first(CLIENT_RR, series)
    therapist = _first(THERAPIST_RR, series)
    charts = [_relationship_chart(series, client, therapist)]
    charts += _outcome_charts(series, specs)
    charts.append(_scatter_chart(series, client))
    charts.append(_lagged_chart(series, client))
    disc_chart, trend = _discrepancy_chart(series, client, therapist)
    charts.append(disc_chart)

    outcome_codes = [c for c, s in specs.items() if s.kind != "relationship"]
    pairs = _pairs(series, [c for c in (client, therapist) if c], sorted(outcome_codes))

    alerts: list[Alert] = []
    for code, ref in references.items():
        column = column_key(code, "total")
        if column not in series:
            continue
        values = (series.sessions, series[column])
        if specs[code].kind == "relationship":
            alerts += relationship_alerts(values, ref)
        else:
            alerts += outcome_alerts(values, ref)
    alerts += risk_alerts(risk) + missed_form_alerts(missed)
    return DyadReport(
        session_count=len(series),
        charts=charts,
        pairs=pairs,
        alerts=sort_alerts(alerts),
        discrepancy=trend,
        references=list(references.values()),
    )
