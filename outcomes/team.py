"""The team / clinic analytics page, computed from frames (no Django, no database).

`outcomes.team_selectors` reads the frames; this module turns them into the page's sections,
each with its numbers, a chart (a plotly figure dict), a plain-language summary, a table
alternative and an empty state that says what is missing:

1. pooled within-dyad association (per-dyad r, DerSimonian–Laird pooling, forest plot beside
   the published benchmark);
2. between-dyad association (dyad mean relationship vs outcome change);
3. therapist contributions (therapist ICC with a caterpillar plot; outcome on within- and
   between-dyad relationship);
4. item analysis (Cronbach's alpha per instrument and scale, on keyed values).

Input frames:

* `scores`: one row per stored **total** score: dyad_id, therapist_id, session_number,
  instrument, score.
* `dyads`: indexed by dyad_id: client_code, therapist_name.
* `answers`: one row per answer: administration, instrument, item, value.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from outcomes import figures
from outcomes.analytics import (
    BENCHMARK,
    BENCHMARK_NOTE,
    MIN_SESSIONS,
    Correlation,
    Insufficient,
    OutcomeModel,
    PooledCorrelation,
    TherapistEffects,
    between_dyad_association,
    cronbach_alpha,
    grouped_correlations,
    outcome_on_relationship,
    pool_correlations,
    therapist_icc,
)
from outcomes.analytics.multilevel import MIN_DYADS as MODEL_MIN_DYADS
from outcomes.analytics.multilevel import MIN_THERAPISTS as MODEL_MIN_THERAPISTS
from rri_forms.instrument_spec import InstrumentSpec

RELATIONSHIP_CODES = ("RRI-C", "RRI-T")
DEFAULT_OUTCOME = "SESSION-CHECK"
SESSION_LEVEL_KINDS = ("session_outcome", "progress")
OUTCOME_KINDS = (*SESSION_LEVEL_KINDS, "symptom")
# Pooling needs ≥ 2 correlations arithmetically; with 2 the heterogeneity test has one degree
# of freedom and τ² is meaningless, so the page asks for 3.
MIN_POOL_DYADS = 3
FOREST_CAP = 60
ALPHA_SAMPLE = 2000
# grouped_correlations clips r to [−1, 1]; a perfect correlation can come out a hair below 1
# through rounding, which would give a huge but finite Fisher z and swamp the pool.
_PERFECT = 1 - 1e-9

SCORE_FRAME_COLUMNS = ("dyad_id", "therapist_id", "session_number", "instrument", "score")
ANSWER_FRAME_COLUMNS = ("administration", "instrument", "item", "value")


# --- Formatting ----------------------------------------------------------------------------


def fmt_r(value: float | None, digits: int = 2) -> str:
    """A correlation without its leading zero (APA style): .38, -.12; '—' when missing."""
    if value is None or not math.isfinite(value):
        return "—"
    text = f"{value:.{digits}f}"
    return text.replace("0.", ".", 1) if abs(value) < 1 else text


def fmt(value: float | None, digits: int = 2) -> str:
    if value is None or not math.isfinite(value):
        return "—"
    return f"{value:.{digits}f}"


def fmt_p(value: float | None) -> str:
    if value is None or not math.isfinite(value):
        return "—"
    return "< .001" if value < 0.001 else fmt_r(value, 3)


def fmt_int(value: int) -> str:
    return f"{value:,}"


def plural(n: int, singular: str, plural_form: str | None = None) -> str:
    return f"{fmt_int(n)} {singular if n == 1 else (plural_form or singular + 's')}"


def _clean(values: Sequence[float] | np.ndarray | pd.Series) -> list[float | None]:
    out: list[float | None] = []
    for v in values:
        f = float(v) if v is not None else math.nan
        out.append(f if math.isfinite(f) else None)
    return out


# --- Selection -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Measure:
    code: str
    label: str
    higher_is_better: bool
    kind: str


def measure(spec: InstrumentSpec) -> Measure:
    total = spec.scale("total")
    return Measure(spec.code, spec.short_title, total.higher_is_better, spec.kind)


def outcome_choices(specs: Mapping[str, InstrumentSpec], present: set[str]) -> list[str]:
    """Outcome codes with data: session-level measures first, then symptom measures."""

    def has_total(spec: InstrumentSpec) -> bool:
        return any(s.name == "total" for s in spec.scales)

    usable = [c for c in sorted(present) if c in specs and has_total(specs[c])]
    session = [c for c in usable if specs[c].kind in SESSION_LEVEL_KINDS]
    symptom = [c for c in usable if specs[c].kind == "symptom"]
    if DEFAULT_OUTCOME in session:
        session.remove(DEFAULT_OUTCOME)
        session.insert(0, DEFAULT_OUTCOME)
    return session + symptom


def direction_sentence(outcome: Measure, *, change: bool = False) -> str:
    """Which sign of r means 'a better relationship goes with a better outcome'."""
    if outcome.higher_is_better:
        what = (
            f"more improvement in {outcome.label}" if change else f"better {outcome.label} scores"
        )
        return (
            f"Higher {outcome.label} scores are better, so a positive r means a better "
            f"relationship goes with a better outcome ({what})."
        )
    return (
        f"Higher {outcome.label} scores mean more symptoms, so here a negative r means a better "
        f"relationship goes with a better outcome "
        f"({'a larger drop in symptoms' if change else 'fewer symptoms'}); the published r = .38 "
        f"is expressed in the better-outcome direction."
    )


# --- Frames --------------------------------------------------------------------------------


def pair_frame(scores: pd.DataFrame, x_code: str, y_code: str | None) -> pd.DataFrame:
    """One row per (dyad, session) with `x` (relationship) and `y` (outcome) totals.

    Columns dyad_id, therapist_id, session_number, x, y; NaN where a score is missing.
    """
    columns = ["dyad_id", "therapist_id", "session_number", "x", "y"]
    codes = [x_code] + ([y_code] if y_code else [])
    sub = scores[scores["instrument"].isin(codes)]
    if sub.empty:
        return pd.DataFrame({c: pd.Series(dtype=float) for c in columns})
    wide = sub.set_index(["dyad_id", "session_number", "instrument"])["score"].unstack("instrument")
    wide = wide.reindex(columns=codes).rename(columns={x_code: "x", y_code: "y"})
    if "y" not in wide.columns:
        wide["y"] = np.nan
    wide = wide.reset_index()
    therapist = sub.drop_duplicates("dyad_id").set_index("dyad_id")["therapist_id"]
    wide["therapist_id"] = wide["dyad_id"].map(therapist)
    return wide[columns].astype({"x": float, "y": float})


def single_frame(scores: pd.DataFrame, code: str) -> pd.DataFrame:
    """One instrument's totals: dyad_id, therapist_id, session_number, score."""
    sub = scores[scores["instrument"] == code]
    return sub[["dyad_id", "therapist_id", "session_number", "score"]].reset_index(drop=True)


def _unique_labels(dyad_ids: Sequence[int], dyads: pd.DataFrame) -> dict[int, str]:
    """Client code per dyad; a client with several dyads gets the dyad id added."""
    known = dict(zip(dyads.index.to_list(), dyads["client_code"].to_list(), strict=True))
    codes = {d: str(known.get(d, f"dyad {d}")) for d in dyad_ids}
    counts = Counter(codes.values())
    return {d: (c if counts[c] == 1 else f"{c} (dyad {d})") for d, c in codes.items()}


def _therapist_names(dyads: pd.DataFrame) -> dict[int, str]:
    """Therapist name per dyad."""
    return dict(zip(dyads.index.to_list(), dyads["therapist_name"].astype(str), strict=True))


# --- Charts --------------------------------------------------------------------------------


def dyad_scatter_chart(
    x: Sequence[float],
    y: Sequence[float],
    labels: Sequence[str],
    *,
    title: str,
    x_title: str,
    y_title: str,
) -> dict:
    """One marker per dyad; the client code shows on hover."""
    return {
        "data": [
            {
                "type": "scatter",
                "mode": "markers",
                "name": "dyads",
                "x": _clean(x),
                "y": _clean(y),
                "text": list(labels),
                "marker": {"color": figures.CLIENT, "size": 7, "opacity": 0.7},
                "hovertemplate": "%{text}: %{x:.2f}, %{y:.2f}<extra></extra>",
            }
        ],
        "layout": {
            "title": {"text": title, "font": {"size": 15}},
            "height": 360,
            "margin": {"l": 60, "r": 10, "t": 40, "b": 50},
            "xaxis": {"title": {"text": x_title}},
            "yaxis": {"title": {"text": y_title}, "zeroline": True},
            "hovermode": "closest",
            "showlegend": False,
        },
    }


def caterpillar_chart(
    labels: Sequence[str],
    mean: Sequence[float],
    low: Sequence[float],
    high: Sequence[float],
    *,
    overall: float,
    title: str,
    y_title: str,
) -> dict:
    """Therapists ordered by shrunken mean (rank on x), each with its interval, plus the
    clinic mean as a horizontal line. Names show on hover; the table lists them all."""
    order = np.argsort(np.asarray(mean, dtype=float), kind="stable")
    rank = list(range(1, len(order) + 1))
    m = [float(mean[i]) for i in order]
    up = [float(high[i]) - v for i, v in zip(order, m, strict=True)]
    down = [v - float(low[i]) for i, v in zip(order, m, strict=True)]
    return {
        "data": [
            {
                "type": "scatter",
                "mode": "markers",
                "name": "shrunken mean with 95% interval",
                "x": rank,
                "y": _clean(m),
                "text": [str(labels[i]) for i in order],
                "marker": {"color": figures.THERAPIST, "size": 7},
                "error_y": {
                    "type": "data",
                    "symmetric": False,
                    "array": _clean(up),
                    "arrayminus": _clean(down),
                    "thickness": 1.2,
                },
                "hovertemplate": "%{text}: %{y:.2f}<extra></extra>",
            },
            {
                "type": "scatter",
                "mode": "lines",
                "name": "clinic mean",
                "x": [0.5, len(order) + 0.5],
                "y": [float(overall), float(overall)],
                "line": {"color": "#555555", "dash": "dash", "width": 1},
                "hoverinfo": "skip",
            },
        ],
        "layout": {
            "title": {"text": title, "font": {"size": 15}},
            "height": 340,
            "margin": {"l": 60, "r": 10, "t": 40, "b": 50},
            "xaxis": {
                "title": {"text": "Therapists, ordered by shrunken mean"},
                "range": [0.5, len(order) + 0.5],
                "showticklabels": len(order) <= 30,
                "dtick": 1,
            },
            "yaxis": {"title": {"text": y_title}},
            "hovermode": "closest",
            "showlegend": False,
        },
    }


# --- 1. Pooled within-dyad association -----------------------------------------------------


@dataclass
class PooledSection:
    rr: Measure
    outcome: Measure | None
    pooled: PooledCorrelation | None
    n_with_pairs: int
    n_eligible: int
    n_constant: int
    n_perfect: int
    empty: str = ""
    summary: str = ""
    direction: str = ""
    figure: dict | None = None
    forest_note: str = ""
    table_columns: list[str] = field(default_factory=list)
    # (dyad_id, [cells]) so the template can link each dyad.
    table_rows: list[tuple[int, list[str]]] = field(default_factory=list)
    stats_rows: list[tuple[str, str]] = field(default_factory=list)
    benchmark_text: str = ""
    benchmark_note: str = BENCHMARK_NOTE
    better_direction_r: float | None = None


BENCHMARK_TEXT = (
    f"r = {fmt_r(BENCHMARK.r)}, 95% CI [{fmt_r(BENCHMARK.ci_low)}, {fmt_r(BENCHMARK.ci_high)}] "
    f"(d = {BENCHMARK.d:.2f}; k = {BENCHMARK.k} studies, N = {fmt_int(BENCHMARK.n)}; "
    f"{BENCHMARK.source})"
)


def _compare_with_benchmark(low: float, high: float) -> str:
    if high < BENCHMARK.ci_low:
        return "lies entirely below the interval"
    if low > BENCHMARK.ci_high:
        return "lies entirely above the interval"
    return "overlaps the interval"


def pooled_section(pair: pd.DataFrame, dyads: pd.DataFrame, rr: Measure, outcome: Measure | None):  # type: ignore[no-untyped-def]
    """Per-dyad r (vectorised), pooled by DerSimonian–Laird, with the forest plot."""
    section = PooledSection(rr, outcome, None, 0, 0, 0, 0, benchmark_text=BENCHMARK_TEXT)
    if outcome is None:
        section.empty = (
            "No session outcome or symptom scores in this selection yet, so there is nothing to "
            "correlate the relationship with."
        )
        return section
    section.direction = direction_sentence(outcome)
    corr = grouped_correlations(pair, "dyad_id", "x", "y") if len(pair) else None
    if corr is None or not (corr["n"] > 0).any():
        section.empty = (
            f"No session has both a {rr.label} and a {outcome.label} score yet; each dyad needs "
            f"at least {MIN_SESSIONS} such sessions, and at least {MIN_POOL_DYADS} dyads are "
            f"needed to pool."
        )
        return section
    corr = corr[corr["n"] > 0]
    eligible = corr["n"] >= MIN_SESSIONS
    perfect = eligible & (corr["r"].abs() >= _PERFECT)
    constant = eligible & corr["r"].isna()
    usable = eligible & ~perfect & ~constant
    section.n_with_pairs = int(len(corr))
    section.n_eligible = int(eligible.sum())
    section.n_constant = int(constant.sum())
    section.n_perfect = int(perfect.sum())
    n_usable = int(usable.sum())

    labels = _unique_labels(list(corr.index), dyads)
    status = np.select(
        [usable, perfect, constant],
        ["pooled", "r = ±1: left out (infinite Fisher z)", "a score did not vary: no r"],
        default=f"fewer than {MIN_SESSIONS} paired sessions",
    )
    ordered = corr.assign(status=status).sort_values(
        ["r", "n"], ascending=[False, False], na_position="last"
    )
    section.table_columns = [
        "Client",
        "Therapist",
        "Paired sessions",
        "r",
        "95% CI",
        "Status",
    ]
    therapist_of = _therapist_names(dyads)
    section.table_rows = [
        (
            int(d),
            [
                labels[d],
                therapist_of.get(d, "—"),
                str(int(row.n)),
                fmt_r(row.r),
                f"[{fmt_r(row.ci_low)}, {fmt_r(row.ci_high)}]" if math.isfinite(row.r) else "—",
                str(row.status),
            ],
        )
        for d, row in zip(ordered.index, ordered.itertuples(index=False), strict=True)
    ]

    short = section.n_with_pairs - section.n_eligible
    if n_usable < MIN_POOL_DYADS:
        excluded = []
        if section.n_constant:
            excluded.append(f"{section.n_constant} had a score that did not vary")
        if section.n_perfect:
            excluded.append(f"{section.n_perfect} had r = ±1, which cannot be pooled")
        section.empty = (
            f"{plural(section.n_eligible, 'dyad has', 'dyads have')} ≥ {MIN_SESSIONS} paired "
            f"sessions of {rr.label} and {outcome.label}"
            + (f" (of these, {' and '.join(excluded)})" if excluded else "")
            + f"; at least {MIN_POOL_DYADS} dyads with a usable correlation are needed to pool"
            + (
                f". {plural(short, 'more dyad has', 'more dyads have')} 1–{MIN_SESSIONS - 1} "
                f"paired sessions and will count once they reach {MIN_SESSIONS}."
                if short
                else "."
            )
        )
        return section

    pooled_rows = corr[usable]
    pooled = pool_correlations(pooled_rows["r"].to_numpy(), pooled_rows["n"].to_numpy())
    section.pooled = pooled
    better_r = pooled.r if outcome.higher_is_better else -pooled.r
    better_low = pooled.ci_low if outcome.higher_is_better else -pooled.ci_high
    better_high = pooled.ci_high if outcome.higher_is_better else -pooled.ci_low
    section.better_direction_r = better_r
    section.stats_rows = [
        ("Dyads pooled (k)", fmt_int(pooled.k)),
        ("Paired sessions (n)", fmt_int(pooled.n_total)),
        ("Pooled r", fmt_r(pooled.r, 3)),
        ("95% CI", f"[{fmt_r(pooled.ci_low, 3)}, {fmt_r(pooled.ci_high, 3)}]"),
        ("τ²", fmt(pooled.tau2, 4)),
        ("Q", fmt(pooled.q, 2)),
        ("df", str(pooled.df)),
        ("p (Q)", fmt_p(pooled.p_q)),
        ("I²", f"{pooled.i2 * 100:.1f}%"),
        ("d", fmt(pooled.d, 2)),
    ]

    # Forest plot: the most informative dyads (most paired sessions, i.e. smallest variance
    # 1/(n − 3)), shown sorted by r.
    informative = pooled_rows.assign(_id=pooled_rows.index).sort_values(
        ["n", "_id"], ascending=[False, True]
    )
    shown = informative.head(FOREST_CAP).sort_values(["r", "_id"], ascending=[False, True])
    reference = [
        (f"This clinic, pooled (k = {pooled.k})", pooled.r, pooled.ci_low, pooled.ci_high),
        ("Published: Gelso et al. 2018", BENCHMARK.r, BENCHMARK.ci_low, BENCHMARK.ci_high),
    ]
    section.figure = figures.forest_chart(
        [labels[d] for d in shown.index],
        shown["r"].to_list(),
        shown["ci_low"].to_list(),
        shown["ci_high"].to_list(),
        title=f"{rr.label} and {outcome.label}: within-dyad r per dyad",
        reference=reference,
    )
    if n_usable > FOREST_CAP:
        section.forest_note = (
            f"The chart shows the {FOREST_CAP} dyads with the most paired sessions (the most "
            f"informative) of the {fmt_int(n_usable)} pooled; the table lists every dyad."
        )

    heterogeneity = (
        "dyads differ little beyond chance"
        if pooled.i2 < 0.25
        else "dyads differ moderately"
        if pooled.i2 < 0.75
        else "dyads differ a lot"
    )
    extra = []
    if short:
        extra.append(f"{plural(short, 'dyad')} with fewer than {MIN_SESSIONS} paired sessions")
    if section.n_constant:
        extra.append(f"{plural(section.n_constant, 'dyad')} whose scores did not vary")
    if section.n_perfect:
        extra.append(f"{plural(section.n_perfect, 'dyad')} with r = ±1")
    left_out = f" Left out: {', '.join(extra)}." if extra else ""
    comparison = _compare_with_benchmark(better_low, better_high)
    published = (
        f"the published r = {fmt_r(BENCHMARK.r)} "
        f"[{fmt_r(BENCHMARK.ci_low)}, {fmt_r(BENCHMARK.ci_high)}]"
    )
    if outcome.higher_is_better:
        versus = f"This interval {comparison} of {published}"
    else:
        versus = (
            f"In the better-outcome direction that is r = {fmt_r(better_r)} "
            f"[{fmt_r(better_low)}, {fmt_r(better_high)}], which {comparison} of {published}"
        )
    section.summary = (
        f"Across {plural(pooled.k, 'dyad')} with at least {MIN_SESSIONS} paired sessions "
        f"({fmt_int(pooled.n_total)} sessions in all), sessions with a higher {rr.label} total "
        f"than the dyad's usual went with {outcome.label} scores at a pooled r = "
        f"{fmt_r(pooled.r)}, 95% CI [{fmt_r(pooled.ci_low)}, {fmt_r(pooled.ci_high)}] "
        f"(d = {pooled.d:.2f}); {heterogeneity} (I² = {pooled.i2 * 100:.0f}%). {versus}; "
        f"that figure pools between-client correlations from studies, so it answers a related "
        f"but different question, and the clinic's interval is optimistic because sessions of "
        f"one dyad are not independent.{left_out}"
    )
    return section


# --- 2. Between-dyad association -----------------------------------------------------------


@dataclass
class BetweenSection:
    rr: Measure
    outcome: Measure | None
    correlation: Correlation | None
    empty: str = ""
    summary: str = ""
    direction: str = ""
    figure: dict | None = None
    table_columns: list[str] = field(default_factory=list)
    table_rows: list[tuple[int, list[str]]] = field(default_factory=list)


BETWEEN_NOTE = (
    "The published r = .38 mostly reflects between-person associations (clients with better "
    "relationships did better), which this section estimates, rather than session-to-session "
    "co-variation within a dyad."
)


def between_section(  # type: ignore[no-untyped-def]
    pair: pd.DataFrame, dyads: pd.DataFrame, rr: Measure, outcome: Measure | None
):
    section = BetweenSection(rr, outcome, None)
    if outcome is None:
        section.empty = "No session outcome or symptom scores in this selection yet."
        return section
    section.direction = direction_sentence(outcome, change=True)
    if pair.empty:
        section.empty = f"No {rr.label} or {outcome.label} scores in this selection yet."
        return section
    result = between_dyad_association(pair, "x", "y")
    section.correlation = result.correlation
    table = result.table
    both = table.dropna(subset=["relationship_mean", "outcome_change"])
    labels = _unique_labels(list(table.index), dyads)
    if not result.correlation.ok:
        missing_change = int(
            (table["relationship_mean"].notna() & table["outcome_change"].isna()).sum()
        )
        section.empty = f"{result.correlation.reason}." + (
            f" {plural(missing_change, 'more dyad has', 'more dyads have')} a relationship "
            f"mean but fewer than two {outcome.label} scores, so no change yet."
            if missing_change
            else ""
        )
        return section
    c = result.correlation
    section.figure = dyad_scatter_chart(
        both["relationship_mean"],
        both["outcome_change"],
        [labels[d] for d in both.index],
        title=f"Mean {rr.label} vs {outcome.label} change, one point per dyad",
        x_title=f"Dyad's mean {rr.label} total",
        y_title=f"{outcome.label}: last minus first session",
    )
    section.summary = (
        f"Across {plural(c.n, 'dyad')} with a relationship mean and an outcome change, dyads "
        f"with a higher average {rr.label} total changed on {outcome.label} (last minus first "
        f"rated session) at r = {fmt_r(c.r)}, 95% CI [{fmt_r(c.ci_low)}, {fmt_r(c.ci_high)}], "
        f"p {'< .001' if c.p is not None and c.p < 0.001 else '= ' + fmt_p(c.p)}. Dyad means "
        f"from few sessions are noisy, which pulls this r towards zero."
    )
    section.table_columns = [
        "Client",
        "Therapist",
        f"Mean {rr.label}",
        "Sessions rated",
        f"First {outcome.label}",
        f"Last {outcome.label}",
        "Change",
    ]
    ordered = table.sort_values("relationship_mean", ascending=False, na_position="last")
    therapist_of = _therapist_names(dyads)
    section.table_rows = [
        (
            int(d),
            [
                labels[d],
                therapist_of.get(d, "—"),
                fmt(row.relationship_mean),
                str(int(row.n_relationship)),
                fmt(row.outcome_first),
                fmt(row.outcome_last),
                fmt(row.outcome_change),
            ],
        )
        for d, row in zip(ordered.index, ordered.itertuples(index=False), strict=True)
    ]
    return section


# --- 3. Therapist contributions ------------------------------------------------------------


@dataclass
class TherapistSection:
    code: str
    label: str
    result: TherapistEffects | None
    n_therapists: int
    n_dyads: int
    n_obs: int
    empty: str = ""
    summary: str = ""
    figure: dict | None = None
    table_columns: list[str] = field(default_factory=list)
    table_rows: list[list[str]] = field(default_factory=list)
    notes: tuple[str, ...] = ()
    pending: bool = False  # being computed in the background; `empty` says so
    freshness: str = ""  # set when the result predates the newest forms


def _counts(frame: pd.DataFrame, value: str) -> tuple[int, int, int]:
    data = frame.dropna(subset=[value])
    return int(data["therapist_id"].nunique()), int(data["dyad_id"].nunique()), len(data)


def _missing(n_therapists: int, n_dyads: int) -> str:
    needs = []
    if n_therapists < MODEL_MIN_THERAPISTS:
        needs.append(f"{MODEL_MIN_THERAPISTS - n_therapists} more therapists")
    if n_dyads < MODEL_MIN_DYADS:
        needs.append(f"{MODEL_MIN_DYADS - n_dyads} more dyads")
    return " and ".join(needs)


def therapist_section(  # type: ignore[no-untyped-def]
    scores: pd.DataFrame, code: str, label: str, therapist_names: Mapping[int, str]
):
    frame = single_frame(scores, code)
    n_t, n_d, n_obs = _counts(frame, "score")
    section = TherapistSection(code, label, None, n_t, n_d, n_obs)
    if n_t < MODEL_MIN_THERAPISTS or n_d < MODEL_MIN_DYADS:
        # Refuse before fitting: say what is there and what is missing.
        section.empty = (
            f"{label} totals come from {plural(n_t, 'therapist')} and {plural(n_d, 'dyad')} "
            f"({plural(n_obs, 'session')}); the model needs at least {MODEL_MIN_THERAPISTS} "
            f"therapists and {MODEL_MIN_DYADS} dyads, so {_missing(n_t, n_d)} with {label} "
            f"ratings are needed."
        )
        return section
    result = therapist_icc(frame, value="score")
    if isinstance(result, Insufficient):
        section.empty = f"{label}: {result.reason}."
        return section
    section.result = result
    section.notes = result.notes
    means = result.therapist_means
    names = [therapist_names.get(t, f"therapist {t}") for t in means.index]
    section.figure = caterpillar_chart(
        names,
        means["shrunken_mean"].to_list(),
        means["ci_low"].to_list(),
        means["ci_high"].to_list(),
        overall=result.intercept,
        title=f"{label}: therapists' shrunken means with 95% intervals",
        y_title=f"{label} total",
    )
    section.summary = (
        f"Therapists account for {result.icc_therapist * 100:.0f}% of the variance in {label} "
        f"totals (therapist ICC {result.icc_therapist:.2f}); therapists and dyads together for "
        f"{result.icc_dyad * 100:.0f}%, the rest being session-to-session variation. Based on "
        f"{plural(result.n_therapists, 'therapist')}, {plural(result.n_dyads, 'dyad')} and "
        f"{plural(result.n_obs, 'session')}. Shrunken means pull therapists with little data "
        f"towards the clinic mean ({result.intercept:.2f}), so a therapist stands out only when "
        f"their interval clears the dashed line."
        + ("" if result.converged else " The model did not converge: treat it as provisional.")
    )
    ordered = means.assign(name=names).sort_values("shrunken_mean", ascending=False)
    section.table_columns = [
        "Therapist",
        "Dyads",
        "Sessions",
        "Raw mean",
        "Shrunken mean",
        "95% interval",
    ]
    section.table_rows = [
        [
            str(row.name),
            str(int(row.n_dyads)),
            str(int(row.n_obs)),
            fmt(row.raw_mean),
            fmt(row.shrunken_mean),
            f"[{fmt(row.ci_low)}, {fmt(row.ci_high)}]",
        ]
        for row in ordered.itertuples(index=False)
    ]
    return section


@dataclass
class ModelSection:
    rr: Measure
    outcome: Measure | None
    result: OutcomeModel | None
    empty: str = ""
    summary: str = ""
    rows: list[list[str]] = field(default_factory=list)
    notes: tuple[str, ...] = ()
    pending: bool = False
    freshness: str = ""


_COEF_LABELS = {
    "rel_within": "Within dyad (session above the dyad's own mean)",
    "rel_between": "Between dyads (dyad mean above the clinic's)",
    "Intercept": "Intercept",
}


def model_section(pair: pd.DataFrame, rr: Measure, outcome: Measure | None):  # type: ignore[no-untyped-def]
    section = ModelSection(rr, outcome, None)
    if outcome is None:
        section.empty = "No session outcome or symptom scores in this selection yet."
        return section
    complete = pair.dropna(subset=["x", "y"])
    n_t, n_d = int(complete["therapist_id"].nunique()), int(complete["dyad_id"].nunique())
    if n_t < MODEL_MIN_THERAPISTS or n_d < MODEL_MIN_DYADS:
        section.empty = (
            f"Sessions with both {rr.label} and {outcome.label} come from "
            f"{plural(n_t, 'therapist')} and {plural(n_d, 'dyad')}; the model needs at least "
            f"{MODEL_MIN_THERAPISTS} therapists and {MODEL_MIN_DYADS} dyads, so "
            f"{_missing(n_t, n_d)} are needed."
        )
        return section
    result = outcome_on_relationship(pair, outcome="y", relationship="x")
    if isinstance(result, Insufficient):
        section.empty = f"{outcome.label} on {rr.label}: {result.reason}."
        return section
    section.result = result
    section.notes = result.notes
    section.rows = [
        [
            _COEF_LABELS.get(name, name),
            fmt(c.estimate, 3),
            f"[{fmt(c.ci_low, 3)}, {fmt(c.ci_high, 3)}]",
            fmt_p(c.p),
        ]
        for name, c in sorted(
            result.coefficients.items(),
            key=lambda kv: list(_COEF_LABELS).index(kv[0]) if kv[0] in _COEF_LABELS else 9,
        )
    ]
    w = result.coefficients.get("rel_within")
    b = result.coefficients.get("rel_between")
    better = "higher" if outcome.higher_is_better else "lower"
    parts = []
    if w is not None:
        parts.append(
            f"a session where {rr.label} is one point above the dyad's own average goes with "
            f"{outcome.label} {w.estimate:+.2f} points (95% CI [{w.ci_low:.2f}, {w.ci_high:.2f}])"
        )
    if b is not None:
        parts.append(
            f"a dyad whose average is one point above the clinic's goes with "
            f"{b.estimate:+.2f} points ([{b.ci_low:.2f}, {b.ci_high:.2f}])"
        )
    section.summary = (
        f"With therapist and dyad random intercepts ({plural(result.n_therapists, 'therapist')}, "
        f"{plural(result.n_dyads, 'dyad')}, {plural(result.n_obs, 'session')}): "
        + "; ".join(parts)
        + f". For {outcome.label}, {better} is better."
        + ("" if result.converged else " The model did not converge: treat it as provisional.")
    )
    return section


# --- 4. Item analysis ----------------------------------------------------------------------


@dataclass
class AlphaRow:
    instrument: str
    scale: str
    items: int
    n: int
    alpha: float | None
    reason: str = ""
    capped: bool = False


@dataclass
class AlphaSection:
    rows: list[AlphaRow]
    empty: str = ""
    summary: str = ""
    pending: bool = False
    freshness: str = ""


def alpha_section(answers: pd.DataFrame, specs: Mapping[str, InstrumentSpec]) -> AlphaSection:
    """Cronbach's alpha on keyed values (reverse-keyed items flipped) per instrument and scale.

    `answers` holds, per instrument, the most recent ≤ ALPHA_SAMPLE administrations in scope.
    """
    rows: list[AlphaRow] = []
    if answers.empty:
        return AlphaSection(rows, empty="No completed forms in this selection yet.")
    for code, sub in answers.groupby("instrument", sort=True):
        spec = specs.get(str(code))
        if spec is None:
            continue
        wide = sub.pivot(index="administration", columns="item", values="value").astype(float)
        for number in wide.columns:
            if not spec.has_item(int(number)):
                continue
            item = spec.item(int(number))
            if item.reverse:
                wide[number] = item.response_scale.min + item.response_scale.max - wide[number]
        n_admin = len(wide)
        for scale in spec.scales:
            items = wide.reindex(columns=list(scale.items))
            complete = int(items.notna().all(axis=1).sum())
            alpha = cronbach_alpha(items)
            reason = ""
            if alpha is None:
                if len(scale.items) < 2:
                    reason = "a single item: alpha needs at least 2"
                elif complete < 3:
                    reason = f"{plural(complete, 'complete form')}; at least 3 are needed"
                else:
                    reason = "the scale's total did not vary"
            rows.append(
                AlphaRow(
                    instrument=spec.short_title,
                    scale=scale.label,
                    items=len(scale.items),
                    n=complete,
                    alpha=alpha,
                    reason=reason,
                    capped=n_admin >= ALPHA_SAMPLE,
                )
            )
    low = [r for r in rows if r.alpha is not None and r.alpha < 0.7]
    summary = (
        "Cronbach's alpha says how consistently a scale's items move together in this clinic's "
        "forms (reverse-keyed items flipped first, as in scoring); .70 or more is usually "
        "acceptable for tracking, .80 or more for decisions about individuals. Each instrument "
        f"uses its most recent {fmt_int(ALPHA_SAMPLE)} completed forms at most in this "
        "selection, and only forms with every item of the scale answered."
    )
    if low:
        summary += " Below .70 here: " + ", ".join(f"{r.instrument} {r.scale}" for r in low) + "."
    negative = [r for r in rows if r.alpha is not None and r.alpha < 0]
    if negative:
        summary += " A negative alpha usually means an item is keyed the wrong way."
    return AlphaSection(rows, summary=summary)


# --- Results computed in the background ----------------------------------------------------


def therapist_counts(scores: pd.DataFrame, code: str) -> tuple[int, int, int]:
    """Therapists, dyads and sessions with a `code` total: what the ICC model would use."""
    return _counts(single_frame(scores, code), "score")


def pair_counts(pair: pd.DataFrame) -> tuple[int, int, int]:
    """Therapists, dyads and sessions with both scores: what the outcome model would use."""
    complete = pair.dropna(subset=["x", "y"])
    return (
        int(complete["therapist_id"].nunique()),
        int(complete["dyad_id"].nunique()),
        len(complete),
    )


def enough_for_model(n_therapists: int, n_dyads: int) -> bool:
    return n_therapists >= MODEL_MIN_THERAPISTS and n_dyads >= MODEL_MIN_DYADS


def _pending_text(what: str, n: int, unit: str) -> str:
    return (
        f"{what} on {plural(n, unit)} takes a while at this size, so it is being computed in "
        f"the background; reload the page in a minute or two."
    )


def pending_therapist_section(scores: pd.DataFrame, code: str, label: str) -> TherapistSection:
    n_t, n_d, n_obs = therapist_counts(scores, code)
    return TherapistSection(
        code,
        label,
        None,
        n_t,
        n_d,
        n_obs,
        empty=_pending_text(f"Fitting the three-level model of {label} totals", n_obs, "session"),
        pending=True,
    )


def pending_model_section(pair: pd.DataFrame, rr: Measure, outcome: Measure) -> ModelSection:
    n_obs = pair_counts(pair)[2]
    return ModelSection(
        rr,
        outcome,
        None,
        empty=_pending_text(
            f"Fitting {outcome.label} on {rr.label} with therapist and dyad intercepts",
            n_obs,
            "session",
        ),
        pending=True,
    )


def pending_alpha_section(n_forms: int) -> AlphaSection:
    return AlphaSection(
        [], empty=_pending_text("Item analysis", n_forms, "completed form"), pending=True
    )


def stale_note(computed: str, forms_behind: int) -> str:
    newest = (
        f"the newest {plural(forms_behind, 'form')}" if forms_behind > 0 else "the latest changes"
    )
    return (
        f"Computed {computed}, before {newest}; an update that includes them is being computed "
        f"in the background."
    )


# --- The whole page ------------------------------------------------------------------------


@dataclass
class TeamReport:
    rr: Measure
    outcome: Measure | None
    pooled: PooledSection
    between: BetweenSection
    therapists: TherapistSection
    model: ModelSection
    alpha: AlphaSection
    n_dyads: int
    n_sessions: int
    between_note: str = BETWEEN_NOTE

    @property
    def has_charts(self) -> bool:
        return any(s.figure is not None for s in (self.pooled, self.between, self.therapists))


def empty_scores() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=float) for c in SCORE_FRAME_COLUMNS})


def empty_answers() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=float) for c in ANSWER_FRAME_COLUMNS})
