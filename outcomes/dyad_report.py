"""Everything the dyad page shows, computed from frames (no Django, no database).

The view gathers the frames with outcomes.selectors; this module turns them into charts,
statistics, text summaries, tables and alerts, each with an honest empty state. Every text
goes through `outcomes.analytics.i18n` (translated once Django has installed its gettext).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from outcomes import figures
from outcomes.analytics import (
    MIN_SESSIONS,
    Alert,
    Correlation,
    ScaleReference,
    Trend,
    column_key,
    discrepancy,
    discrepancy_trend,
    dyad_series,
    lagged_correlation,
    lagged_pairs,
    missed_form_alerts,
    outcome_alerts,
    pearson_with_ci,
    relationship_alerts,
    risk_alerts,
    sort_alerts,
)
from outcomes.analytics.i18n import _, ngettext
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
    if value is None or pd.isna(value):
        return "—"
    return f"{value:.{digits}f}"


def describe(c: Correlation) -> str:
    if not c.ok:
        return c.reason or _("not enough data")
    return _("r = %(r).2f, 95%% CI [%(low).2f, %(high).2f], n = %(n)d") % {
        "r": c.r,
        "low": c.ci_low,
        "high": c.ci_high,
        "n": c.n,
    }


def _first(codes: tuple[str, ...], columns: pd.Index) -> str | None:
    for code in codes:
        if column_key(code, "total") in columns:
            return code
    return None


def _table(
    series: pd.DataFrame, columns: list[tuple[str, str]]
) -> tuple[list[str], list[list[str]]]:
    present = [(c, label) for c, label in columns if c in series.columns]
    header = [_("Session")] + [label for _c, label in present]
    rows = [[str(int(n))] + [_fmt(series.at[n, c]) for c, _label in present] for n in series.index]
    return header, rows


def _trend_sentence(series: pd.DataFrame, column: str, label: str) -> str:
    values = series[column].dropna() if column in series.columns else pd.Series(dtype=float)
    if values.empty:
        return _("No %(label)s scores yet.") % {"label": label}
    first, last = values.iloc[0], values.iloc[-1]
    return ngettext(
        "%(label)s: %(n)d session rated, first %(first)s (session %(first_n)s), latest %(last)s "
        "(session %(last_n)s), mean %(mean)s.",
        "%(label)s: %(n)d sessions rated, first %(first)s (session %(first_n)s), latest %(last)s "
        "(session %(last_n)s), mean %(mean)s.",
        len(values),
    ) % {
        "label": label,
        "n": len(values),
        "first": _fmt(first),
        "first_n": values.index[0],
        "last": _fmt(last),
        "last_n": values.index[-1],
        "mean": _fmt(values.mean()),
    }


def _total(code: str) -> str:
    return _("%(instrument)s total") % {"instrument": code}


def _subscale(code: str, subscale: str) -> str:
    if subscale == "realism":
        return _("%(instrument)s realism") % {"instrument": code}
    return _("%(instrument)s genuineness") % {"instrument": code}


def _relationship_chart(series: pd.DataFrame, client: str | None, therapist: str | None) -> Chart:
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
        series, cols, title=chart.title, y_title=_("Mean item score (1–5)"), y_range=[1, 5.1]
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


def _outcome_charts(series: pd.DataFrame, specs: dict[str, InstrumentSpec]) -> list[Chart]:
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
            if column_key(code, "total") in series.columns
        ]
        chart = Chart(key, title, None)
        if not cols:
            chart.empty = none_yet
        else:
            chart.figure = figures.line_chart(series, cols, title=title, y_title=y_title)
            chart.summary = " ".join(
                _trend_sentence(series, c, label) for c, label, _colour, _visible in cols
            )
            chart.table_columns, chart.table_rows = _table(
                series, [(c, label) for c, label, _colour, _visible in cols]
            )
        charts.append(chart)
    return charts


def _pairs(series: pd.DataFrame, rr_codes: list[str], outcome_codes: list[str]) -> list[PairStat]:
    frame = series.reset_index()
    pairs = []
    for rr in rr_codes:
        for out in outcome_codes:
            x, y = column_key(rr, "total"), column_key(out, "total")
            if x not in series.columns or y not in series.columns:
                continue
            pairs.append(
                PairStat(
                    rr,
                    out,
                    pearson_with_ci(series[x], series[y]),
                    lagged_correlation(frame, x, y),
                )
            )
    return pairs


def _scatter_chart(series: pd.DataFrame, client: str | None) -> Chart:
    chart = Chart("scatter", _("Relationship and session outcome"), None)
    x, y = column_key(client or "RRI-C", "total"), column_key(MAIN_OUTCOME, "total")
    if x not in series.columns or y not in series.columns:
        chart.empty = _(
            "The client's relationship and session-check scores are needed for this view."
        )
        return chart
    both = series[[x, y]].dropna()
    same = pearson_with_ci(series[x], series[y])
    if len(both) < MIN_SESSIONS:
        # "session(s)" is the English wording the page has always had (tests pin it).
        chart.empty = _(
            "%(n)d session(s) with both scores; %(min)d are needed before a correlation means "
            "anything (%(more)d more)."
        ) % {"n": len(both), "min": MIN_SESSIONS, "more": MIN_SESSIONS - len(both)}
        return chart
    chart.figure = figures.scatter_chart(
        both[x], both[y], [int(n) for n in both.index],
        title=_("%(instrument)s total vs session check (numbers are sessions)")
        % {"instrument": client},
        x_title=_total(str(client)), y_title=_("Session check"), name=_("sessions"),
    )  # fmt: skip
    lag = lagged_correlation(series.reset_index(), x, y)
    chart.summary = _(
        "Same session: %(same)s. Relationship at one session vs outcome at the next: %(next)s. "
        "Within one dyad these estimates are imprecise; see the intervals."
    ) % {"same": describe(same), "next": describe(lag)}
    chart.table_columns = [_("Session"), _total(str(client)), _("Session check")]
    chart.table_rows = [[str(int(n)), _fmt(r[x]), _fmt(r[y])] for n, r in both.iterrows()]
    return chart


def _lagged_chart(series: pd.DataFrame, client: str | None) -> Chart:
    """The client's relationship at session t against the session check at t + 1."""
    chart = Chart("lagged", _("Relationship and the next session's outcome"), None)
    x, y = column_key(client or "RRI-C", "total"), column_key(MAIN_OUTCOME, "total")
    if x not in series.columns or y not in series.columns:
        chart.empty = _(
            "The client's relationship and session-check scores are needed for this view."
        )
        return chart
    pairs = lagged_pairs(series, x, y)
    if len(pairs) < MIN_SESSIONS:
        more = MIN_SESSIONS - len(pairs)
        chart.empty = ngettext(
            "%(n)d pair of consecutive sessions with the relationship rated at the first and "
            "the session check at the second; %(min)d are needed before a correlation means "
            "anything (%(more)d more). A missed or unrated session breaks the chain.",
            "%(n)d pairs of consecutive sessions with the relationship rated at the first and "
            "the session check at the second; %(min)d are needed before a correlation means "
            "anything (%(more)d more). A missed or unrated session breaks the chain.",
            len(pairs),
        ) % {"n": len(pairs), "min": MIN_SESSIONS, "more": more}
        return chart
    sessions = [int(n) for n in pairs["session"]]
    chart.figure = figures.scatter_chart(
        pairs["x"], pairs["y_next"], sessions,
        title=_("%(instrument)s total at a session vs session check at the next")
        % {"instrument": client},
        x_title=_("%(instrument)s total at session t") % {"instrument": client},
        y_title=_("Session check at session t + 1"), name=_("session pairs"),
        colour=figures.PALETTE[2], labels=[f"{n}→{n + 1}" for n in sessions],
    )  # fmt: skip
    lag = lagged_correlation(series, x, y)
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
        for n, a, b in zip(sessions, pairs["x"], pairs["y_next"], strict=True)
    ]
    return chart


def _discrepancy_chart(
    series: pd.DataFrame, client: str | None, therapist: str | None
) -> tuple[Chart, Trend | None]:
    chart = Chart("discrepancy", _("Client minus therapist rating"), None)
    if client is None or therapist is None:
        chart.empty = _("Both the client's and the therapist's RRI are needed for this view.")
        return chart, None
    frame = discrepancy(series, column_key(client, "total"), column_key(therapist, "total"))
    if frame.empty:
        chart.empty = _("No session has both ratings yet.")
        return chart, None
    trend = discrepancy_trend(frame)
    diff = frame.set_index("session_number")
    chart.figure = figures.line_chart(
        diff, [("difference", _("client − therapist"), figures.PALETTE[2], True)],
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
    ) % {"mean": _fmt(diff["difference"].mean()), "trend": slope}
    chart.table_columns = [_("Session"), _("Client"), _("Therapist"), _("Difference")]
    chart.table_rows = [
        [str(int(n)), _fmt(r["client"]), _fmt(r["therapist"]), _fmt(r["difference"])]
        for n, r in diff.iterrows()
    ]
    return chart, trend


def build_dyad_report(
    scores: pd.DataFrame,
    specs: dict[str, InstrumentSpec],
    references: dict[str, ScaleReference],
    risk: pd.DataFrame,
    missed: pd.DataFrame,
) -> DyadReport:
    """`references` maps instrument code → the reference for its total score."""
    series = dyad_series(scores) if not scores.empty else pd.DataFrame()
    client = _first(CLIENT_RR, series.columns)
    therapist = _first(THERAPIST_RR, series.columns)
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
        if column not in series.columns:
            continue
        if specs[code].kind == "relationship":
            alerts += relationship_alerts(series[column], ref)
        else:
            alerts += outcome_alerts(series[column], ref)
    alerts += risk_alerts(risk) + missed_form_alerts(missed)
    return DyadReport(
        session_count=len(series.index),
        charts=charts,
        pairs=pairs,
        alerts=sort_alerts(alerts),
        discrepancy=trend,
        references=list(references.values()),
    )
