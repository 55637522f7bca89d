"""The team / clinic analytics page, computed from frames (no Django, no database).

`outcomes.selectors.team` reads the frames; this module turns them into the page's sections,
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

Every text goes through `outcomes.analytics.i18n` (Django's gettext once the app is ready).
The results are cached per language (`team_selectors.cache_key`).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from outcomes.analytics import (
    BENCHMARK,
    BENCHMARK_NOTE,
    MIN_SESSIONS,
    Coefficient,
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
from outcomes.analytics.i18n import _, gettext_noop, ngettext
from outcomes.analytics.multilevel import MIN_DYADS as MODEL_MIN_DYADS
from outcomes.analytics.multilevel import MIN_THERAPISTS as MODEL_MIN_THERAPISTS
from outcomes.reports import figures
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


# Counted nouns, each one translatable unit for sentences that hold several counts.


def n_therapists(n: int) -> str:
    return ngettext("%(n)s therapist", "%(n)s therapists", n) % {"n": fmt_int(n)}


def n_dyads(n: int) -> str:
    return ngettext("%(n)s dyad", "%(n)s dyads", n) % {"n": fmt_int(n)}


def n_sessions(n: int) -> str:
    return ngettext("%(n)s session", "%(n)s sessions", n) % {"n": fmt_int(n)}


def _and(parts: Sequence[str]) -> str:
    """ "a" or "a and b" (the lists here have at most two parts)."""
    if len(parts) <= 1:
        return "".join(parts)
    return _("%(first)s and %(second)s") % {"first": ", ".join(parts[:-1]), "second": parts[-1]}


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
    if outcome.higher_is_better and change:
        text = _(
            "Higher %(label)s scores are better, so a positive r means a better relationship "
            "goes with a better outcome (more improvement in %(label)s)."
        )
    elif outcome.higher_is_better:
        text = _(
            "Higher %(label)s scores are better, so a positive r means a better relationship "
            "goes with a better outcome (better %(label)s scores)."
        )
    elif change:
        text = _(
            "Higher %(label)s scores mean more symptoms, so here a negative r means a better "
            "relationship goes with a better outcome (a larger drop in symptoms); the published "
            "r = .38 is expressed in the better-outcome direction."
        )
    else:
        text = _(
            "Higher %(label)s scores mean more symptoms, so here a negative r means a better "
            "relationship goes with a better outcome (fewer symptoms); the published r = .38 is "
            "expressed in the better-outcome direction."
        )
    return text % {"label": outcome.label}


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
    codes = {d: str(known.get(d, _("dyad %(id)s") % {"id": d})) for d in dyad_ids}
    counts = Counter(codes.values())
    return {
        d: (c if counts[c] == 1 else _("%(client)s (dyad %(id)s)") % {"client": c, "id": d})
        for d, c in codes.items()
    }


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
                "name": _("dyads"),
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
                # xgettext:no-python-format
                "name": _("shrunken mean with 95% interval"),
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
                "name": _("clinic mean"),
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
                "title": {"text": _("Therapists, ordered by shrunken mean")},
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
    benchmark_note: str = ""  # BENCHMARK_NOTE, translated
    better_direction_r: float | None = None


def benchmark_text() -> str:
    """The published benchmark with its CI, d, k, N and source, in the active language."""
    return _(
        "r = %(r)s, 95%% CI [%(low)s, %(high)s] (d = %(d).2f; k = %(k)d studies, N = %(n)s; "
        "%(source)s)"
    ) % {
        "r": fmt_r(BENCHMARK.r),
        "low": fmt_r(BENCHMARK.ci_low),
        "high": fmt_r(BENCHMARK.ci_high),
        "d": BENCHMARK.d,
        "k": BENCHMARK.k,
        "n": fmt_int(BENCHMARK.n),
        "source": BENCHMARK.source,
    }


def _versus_benchmark(outcome: Measure, r: float, low: float, high: float) -> str:
    """The clinic's interval (in the better-outcome direction) against the published one.

    One whole clause per comparison and direction; the caller ends the sentence."""
    below, above = high < BENCHMARK.ci_low, low > BENCHMARK.ci_high
    if outcome.higher_is_better:
        if below:
            text = _(
                "This interval lies entirely below the interval of the published r = %(pr)s "
                "[%(plow)s, %(phigh)s]"
            )
        elif above:
            text = _(
                "This interval lies entirely above the interval of the published r = %(pr)s "
                "[%(plow)s, %(phigh)s]"
            )
        else:
            text = _(
                "This interval overlaps the interval of the published r = %(pr)s "
                "[%(plow)s, %(phigh)s]"
            )
    elif below:
        text = _(
            "In the better-outcome direction that is r = %(r)s [%(low)s, %(high)s], which lies "
            "entirely below the interval of the published r = %(pr)s [%(plow)s, %(phigh)s]"
        )
    elif above:
        text = _(
            "In the better-outcome direction that is r = %(r)s [%(low)s, %(high)s], which lies "
            "entirely above the interval of the published r = %(pr)s [%(plow)s, %(phigh)s]"
        )
    else:
        text = _(
            "In the better-outcome direction that is r = %(r)s [%(low)s, %(high)s], which "
            "overlaps the interval of the published r = %(pr)s [%(plow)s, %(phigh)s]"
        )
    return text % {
        "r": fmt_r(r),
        "low": fmt_r(low),
        "high": fmt_r(high),
        "pr": fmt_r(BENCHMARK.r),
        "plow": fmt_r(BENCHMARK.ci_low),
        "phigh": fmt_r(BENCHMARK.ci_high),
    }


def pooled_section(
    pair: pd.DataFrame, dyads: pd.DataFrame, rr: Measure, outcome: Measure | None
) -> PooledSection:
    """Per-dyad r (vectorised), pooled by DerSimonian–Laird, with the forest plot."""
    section = PooledSection(
        rr,
        outcome,
        None,
        0,
        0,
        0,
        0,
        benchmark_text=benchmark_text(),
        benchmark_note=_(BENCHMARK_NOTE),
    )
    if outcome is None:
        section.empty = _(
            "No session outcome or symptom scores in this selection yet, so there is nothing to "
            "correlate the relationship with."
        )
        return section
    section.direction = direction_sentence(outcome)
    corr = grouped_correlations(pair, "dyad_id", "x", "y") if len(pair) else None
    if corr is None or not (corr["n"] > 0).any():
        section.empty = _(
            "No session has both a %(rr)s and a %(outcome)s score yet; each dyad needs at least "
            "%(min)d such sessions, and at least %(pool)d dyads are needed to pool."
        ) % {"rr": rr.label, "outcome": outcome.label, "min": MIN_SESSIONS, "pool": MIN_POOL_DYADS}
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
        [_("pooled"), _("r = ±1: left out (infinite Fisher z)"), _("a score did not vary: no r")],
        default=_("fewer than %(min)d paired sessions") % {"min": MIN_SESSIONS},
    )
    ordered = corr.assign(status=status).sort_values(
        ["r", "n"], ascending=[False, False], na_position="last"
    )
    section.table_columns = [
        _("Client"),
        _("Therapist"),
        _("Paired sessions"),
        "r",
        _("95% CI"),
        _("Status"),
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
        section.empty = _pooled_refusal(section, outcome, short)
        return section

    pooled_rows = corr[usable]
    pooled = pool_correlations(pooled_rows["r"].to_numpy(), pooled_rows["n"].to_numpy())
    section.pooled = pooled
    better_r = pooled.r if outcome.higher_is_better else -pooled.r
    better_low = pooled.ci_low if outcome.higher_is_better else -pooled.ci_high
    better_high = pooled.ci_high if outcome.higher_is_better else -pooled.ci_low
    section.better_direction_r = better_r
    section.stats_rows = [
        (_("Dyads pooled (k)"), fmt_int(pooled.k)),
        (_("Paired sessions (n)"), fmt_int(pooled.n_total)),
        (_("Pooled r"), fmt_r(pooled.r, 3)),
        (_("95% CI"), f"[{fmt_r(pooled.ci_low, 3)}, {fmt_r(pooled.ci_high, 3)}]"),
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
        (
            _("This clinic, pooled (k = %(k)d)") % {"k": pooled.k},
            pooled.r,
            pooled.ci_low,
            pooled.ci_high,
        ),
        (_("Published: Gelso et al. 2018"), BENCHMARK.r, BENCHMARK.ci_low, BENCHMARK.ci_high),
    ]
    section.figure = figures.forest_chart(
        [labels[d] for d in shown.index],
        shown["r"].to_list(),
        shown["ci_low"].to_list(),
        shown["ci_high"].to_list(),
        title=_("%(rr)s and %(outcome)s: within-dyad r per dyad")
        % {"rr": rr.label, "outcome": outcome.label},
        reference=reference,
    )
    if n_usable > FOREST_CAP:
        section.forest_note = ngettext(
            "The chart shows the %(cap)d dyads with the most paired sessions (the most "
            "informative) of the %(n)s pooled; the table lists every dyad.",
            "The chart shows the %(cap)d dyads with the most paired sessions (the most "
            "informative) of the %(n)s pooled; the table lists every dyad.",
            n_usable,
        ) % {"cap": FOREST_CAP, "n": fmt_int(n_usable)}

    # Translators: an independent clause, after a semicolon in the pooled summary.
    heterogeneity = (
        _("dyads differ little beyond chance")
        if pooled.i2 < 0.25
        else _("dyads differ moderately")
        if pooled.i2 < 0.75
        else _("dyads differ a lot")
    )
    extra = []
    if short:
        extra.append(
            ngettext(
                "%(n)s dyad with fewer than %(min)d paired sessions",
                "%(n)s dyads with fewer than %(min)d paired sessions",
                short,
            )
            % {"n": fmt_int(short), "min": MIN_SESSIONS}
        )
    if section.n_constant:
        extra.append(
            ngettext(
                "%(n)s dyad whose scores did not vary",
                "%(n)s dyads whose scores did not vary",
                section.n_constant,
            )
            % {"n": fmt_int(section.n_constant)}
        )
    if section.n_perfect:
        extra.append(
            ngettext("%(n)s dyad with r = ±1", "%(n)s dyads with r = ±1", section.n_perfect)
            % {"n": fmt_int(section.n_perfect)}
        )
    # Translators: %(heterogeneity)s is one of "dyads differ little beyond chance", ...
    across = ngettext(
        "Across %(k)s dyad with at least %(min)d paired sessions (%(n)s sessions in all), "
        "sessions with a higher %(rr)s total than the dyad's usual went with %(outcome)s scores "
        "at a pooled r = %(r)s, 95%% CI [%(low)s, %(high)s] (d = %(d).2f); %(heterogeneity)s "
        "(I² = %(i2).0f%%).",
        "Across %(k)s dyads with at least %(min)d paired sessions (%(n)s sessions in all), "
        "sessions with a higher %(rr)s total than the dyad's usual went with %(outcome)s scores "
        "at a pooled r = %(r)s, 95%% CI [%(low)s, %(high)s] (d = %(d).2f); %(heterogeneity)s "
        "(I² = %(i2).0f%%).",
        pooled.k,
    ) % {
        "k": fmt_int(pooled.k),
        "min": MIN_SESSIONS,
        "n": fmt_int(pooled.n_total),
        "rr": rr.label,
        "outcome": outcome.label,
        "r": fmt_r(pooled.r),
        "low": fmt_r(pooled.ci_low),
        "high": fmt_r(pooled.ci_high),
        "d": pooled.d,
        "heterogeneity": heterogeneity,
        "i2": pooled.i2 * 100,
    }
    # Translators: %(versus)s is a clause such as "This interval overlaps the interval of the
    # published r = .38 [.30, .44]".
    caveat = _(
        "%(versus)s; that figure pools between-client correlations from studies, so it answers "
        "a related but different question, and the clinic's interval is optimistic because "
        "sessions of one dyad are not independent."
    ) % {"versus": _versus_benchmark(outcome, better_r, better_low, better_high)}
    sentences = [across, caveat]
    if extra:
        sentences.append(_("Left out: %(list)s.") % {"list": ", ".join(extra)})
    section.summary = " ".join(sentences)
    return section


def _pooled_refusal(section: PooledSection, outcome: Measure, short: int) -> str:
    """Why too few dyads can be pooled: what is there, what is left out, what is coming."""
    names = {"rr": section.rr.label, "outcome": outcome.label, "min": MIN_SESSIONS}
    eligible = ngettext(
        "%(n)s dyad has ≥ %(min)d paired sessions of %(rr)s and %(outcome)s",
        "%(n)s dyads have ≥ %(min)d paired sessions of %(rr)s and %(outcome)s",
        section.n_eligible,
    ) % {"n": fmt_int(section.n_eligible), **names}
    excluded = []
    if section.n_constant:
        excluded.append(
            ngettext(
                "%(n)d had a score that did not vary",
                "%(n)d had a score that did not vary",
                section.n_constant,
            )
            % {"n": section.n_constant}
        )
    if section.n_perfect:
        excluded.append(
            ngettext(
                "%(n)d had r = ±1, which cannot be pooled",
                "%(n)d had r = ±1, which cannot be pooled",
                section.n_perfect,
            )
            % {"n": section.n_perfect}
        )
    if excluded:
        eligible = _("%(dyads)s (of these, %(excluded)s)") % {
            "dyads": eligible,
            "excluded": _and(excluded),
        }
    text = _("%(dyads)s; at least %(pool)d dyads with a usable correlation are needed to pool.") % {
        "dyads": eligible,
        "pool": MIN_POOL_DYADS,
    }
    if short:
        text += " " + ngettext(
            "%(n)s more dyad has 1–%(max)d paired sessions and will count once they reach %(min)d.",
            "%(n)s more dyads have 1–%(max)d paired sessions and will count once they reach "
            "%(min)d.",
            short,
        ) % {"n": fmt_int(short), "max": MIN_SESSIONS - 1, "min": MIN_SESSIONS}
    return text


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


# English: translate it where it is shown (`TeamReport.between_note`).
BETWEEN_NOTE = gettext_noop(
    "The published r = .38 mostly reflects between-person associations (clients with better "
    "relationships did better), which this section estimates, rather than session-to-session "
    "co-variation within a dyad."
)


def between_section(
    pair: pd.DataFrame, dyads: pd.DataFrame, rr: Measure, outcome: Measure | None
) -> BetweenSection:
    section = BetweenSection(rr, outcome, None)
    if outcome is None:
        section.empty = _("No session outcome or symptom scores in this selection yet.")
        return section
    section.direction = direction_sentence(outcome, change=True)
    if pair.empty:
        section.empty = _("No %(rr)s or %(outcome)s scores in this selection yet.") % {
            "rr": rr.label,
            "outcome": outcome.label,
        }
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
        section.empty = _("%(reason)s.") % {"reason": result.correlation.reason}
        if missing_change:
            section.empty += " " + ngettext(
                "%(n)s more dyad has a relationship mean but fewer than two %(outcome)s scores, "
                "so no change yet.",
                "%(n)s more dyads have a relationship mean but fewer than two %(outcome)s scores, "
                "so no change yet.",
                missing_change,
            ) % {"n": fmt_int(missing_change), "outcome": outcome.label}
        return section
    c = result.correlation
    section.figure = dyad_scatter_chart(
        both["relationship_mean"],
        both["outcome_change"],
        [labels[d] for d in both.index],
        title=_("Mean %(rr)s vs %(outcome)s change, one point per dyad")
        % {"rr": rr.label, "outcome": outcome.label},
        x_title=_("Dyad's mean %(rr)s total") % {"rr": rr.label},
        y_title=_("%(outcome)s: last minus first session") % {"outcome": outcome.label},
    )
    section.summary = ngettext(
        "Across %(n)s dyad with a relationship mean and an outcome change, dyads with a higher "
        "average %(rr)s total changed on %(outcome)s (last minus first rated session) at "
        "r = %(r)s, 95%% CI [%(low)s, %(high)s], p %(p)s. Dyad means from few sessions are "
        "noisy, which pulls this r towards zero.",
        "Across %(n)s dyads with a relationship mean and an outcome change, dyads with a higher "
        "average %(rr)s total changed on %(outcome)s (last minus first rated session) at "
        "r = %(r)s, 95%% CI [%(low)s, %(high)s], p %(p)s. Dyad means from few sessions are "
        "noisy, which pulls this r towards zero.",
        c.n,
    ) % {
        "n": fmt_int(c.n),
        "rr": rr.label,
        "outcome": outcome.label,
        "r": fmt_r(c.r),
        "low": fmt_r(c.ci_low),
        "high": fmt_r(c.ci_high),
        "p": "< .001" if c.p is not None and c.p < 0.001 else "= " + fmt_p(c.p),
    }
    section.table_columns = [
        _("Client"),
        _("Therapist"),
        _("Mean %(rr)s") % {"rr": rr.label},
        _("Sessions rated"),
        _("First %(outcome)s") % {"outcome": outcome.label},
        _("Last %(outcome)s") % {"outcome": outcome.label},
        _("Change"),
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

    @property
    def icc_interval(self) -> str:
        return icc_interval_text(self.result) if self.result is not None else ""


def _counts(frame: pd.DataFrame, value: str) -> tuple[int, int, int]:
    data = frame.dropna(subset=[value])
    return int(data["therapist_id"].nunique()), int(data["dyad_id"].nunique()), len(data)


def _missing(n_therapists: int, n_dyads: int) -> str:
    # English has always said "1 more therapists"; the plural forms let other languages agree.
    needs = []
    if n_therapists < MODEL_MIN_THERAPISTS:
        more = MODEL_MIN_THERAPISTS - n_therapists
        needs.append(ngettext("%(n)d more therapists", "%(n)d more therapists", more) % {"n": more})
    if n_dyads < MODEL_MIN_DYADS:
        more = MODEL_MIN_DYADS - n_dyads
        needs.append(ngettext("%(n)d more dyads", "%(n)d more dyads", more) % {"n": more})
    return _and(needs)


def therapist_section(
    scores: pd.DataFrame, code: str, label: str, therapist_names: Mapping[int, str]
) -> TherapistSection:
    frame = single_frame(scores, code)
    n_t, n_d, n_obs = _counts(frame, "score")
    section = TherapistSection(code, label, None, n_t, n_d, n_obs)
    if n_t < MODEL_MIN_THERAPISTS or n_d < MODEL_MIN_DYADS:
        # Refuse before fitting: say what is there and what is missing.
        section.empty = _(
            "%(label)s totals come from %(therapists)s and %(dyads)s (%(sessions)s); the model "
            "needs at least %(min_therapists)d therapists and %(min_dyads)d dyads, so "
            "%(missing)s with %(label)s ratings are needed."
        ) % {
            "label": label,
            "therapists": n_therapists(n_t),
            "dyads": n_dyads(n_d),
            "sessions": n_sessions(n_obs),
            "min_therapists": MODEL_MIN_THERAPISTS,
            "min_dyads": MODEL_MIN_DYADS,
            "missing": _missing(n_t, n_d),
        }
        return section
    result = therapist_icc(frame, value="score")
    if isinstance(result, Insufficient):
        section.empty = _("%(label)s: %(reason)s.") % {"label": label, "reason": result.reason}
        return section
    section.result = result
    section.notes = result.notes
    means = result.therapist_means
    names = [therapist_names.get(t, _("therapist %(id)s") % {"id": t}) for t in means.index]
    section.figure = caterpillar_chart(
        names,
        means["shrunken_mean"].to_list(),
        means["ci_low"].to_list(),
        means["ci_high"].to_list(),
        overall=result.intercept,
        title=_("%(label)s: therapists' shrunken means with 95%% intervals") % {"label": label},
        y_title=_("%(label)s total") % {"label": label},
    )
    section.summary = " ".join(
        [
            icc_sentence(result, label),
            _(
                "Therapists and dyads together account for %(dyad_pct).0f%% (dyad-level ICC "
                "%(dyad_icc).2f), the rest being session-to-session variation. Based on "
                "%(therapists)s, %(dyads)s and %(sessions)s. Shrunken means pull therapists "
                "with little data towards the clinic mean (%(mean).2f), so a therapist stands "
                "out only when their interval clears the dashed line."
            )
            % {
                "dyad_pct": result.icc_dyad * 100,
                "dyad_icc": result.icc_dyad,
                "therapists": n_therapists(result.n_therapists),
                "dyads": n_dyads(result.n_dyads),
                "sessions": n_sessions(result.n_obs),
                "mean": result.intercept,
            },
        ]
    )
    if not result.converged:
        section.summary += " " + _not_converged()
    ordered = means.assign(name=names).sort_values("shrunken_mean", ascending=False)
    section.table_columns = [
        _("Therapist"),
        _("Dyads"),
        _("Sessions"),
        _("Raw mean"),
        _("Shrunken mean"),
        # xgettext:no-python-format
        _("95% interval"),
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


def icc_interval_text(result: TherapistEffects) -> str:
    return f"{fmt(result.icc_therapist_low)}–{fmt(result.icc_therapist_high)}"


def icc_sentence(result: TherapistEffects, label: str) -> str:
    """The therapist share with its 95% profile-likelihood interval, worded by what the data
    can tell: a share ("therapists account for …") only when the interval excludes 0."""
    values = {
        "label": label,
        "icc_pct": result.icc_therapist * 100,
        "icc": result.icc_therapist,
        "high_pct": result.icc_therapist_high * 100,
        "interval": icc_interval_text(result),
    }
    if result.icc_therapist_low > 0:
        return (
            _(
                "Therapists account for an estimated %(icc_pct).0f%% of the variance in %(label)s "
                "totals (therapist ICC %(icc).2f, 95%% interval %(interval)s)."
            )
            % values
        )
    if result.on_boundary:
        return (
            _(
                "These data cannot tell how much therapists differ in %(label)s totals: the best "
                "fit finds no variation between therapists beyond what the differences between "
                "their dyads explain, yet any therapist share up to %(high_pct).0f%% fits them "
                "(therapist ICC 95%% interval %(interval)s). More therapists, or more dyads per "
                "therapist, would narrow it."
            )
            % values
        )
    return (
        _(
            "These data cannot tell whether therapists differ in %(label)s totals: the estimated "
            "therapist share is %(icc_pct).0f%% (therapist ICC %(icc).2f), but anything from 0%% "
            "to %(high_pct).0f%% fits them (95%% interval %(interval)s)."
        )
        % values
    )


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


# English; translated where shown. In table order.
_COEF_LABELS = {
    "rel_within": gettext_noop("Within dyad (session above the dyad's own mean)"),
    "rel_dyad": gettext_noop("Between a therapist's dyads (dyad mean above the therapist's)"),
    "rel_therapist": gettext_noop("Between therapists (therapist mean above the clinic's)"),
    "Intercept": gettext_noop("Intercept"),
}
_DETRENDED_LABELS = {
    "rel_within": gettext_noop(
        "Within dyad, detrended (session number centred in the dyad as a covariate)"
    ),
    "session_trend": gettext_noop("Trend per session within a dyad (detrended model)"),
}


def _not_converged() -> str:
    return _("The model did not converge: treat it as provisional.")


def model_section(pair: pd.DataFrame, rr: Measure, outcome: Measure | None) -> ModelSection:
    section = ModelSection(rr, outcome, None)
    if outcome is None:
        section.empty = _("No session outcome or symptom scores in this selection yet.")
        return section
    complete = pair.dropna(subset=["x", "y"])
    n_t, n_d = int(complete["therapist_id"].nunique()), int(complete["dyad_id"].nunique())
    if n_t < MODEL_MIN_THERAPISTS or n_d < MODEL_MIN_DYADS:
        section.empty = _(
            "Sessions with both %(rr)s and %(outcome)s come from %(therapists)s and %(dyads)s; "
            "the model needs at least %(min_therapists)d therapists and %(min_dyads)d dyads, so "
            "%(missing)s are needed."
        ) % {
            "rr": rr.label,
            "outcome": outcome.label,
            "therapists": n_therapists(n_t),
            "dyads": n_dyads(n_d),
            "min_therapists": MODEL_MIN_THERAPISTS,
            "min_dyads": MODEL_MIN_DYADS,
            "missing": _missing(n_t, n_d),
        }
        return section
    result = outcome_on_relationship(pair, outcome="y", relationship="x")
    if isinstance(result, Insufficient):
        section.empty = _("%(outcome)s on %(rr)s: %(reason)s.") % {
            "outcome": outcome.label,
            "rr": rr.label,
            "reason": result.reason,
        }
        return section
    section.result = result
    section.notes = result.notes

    def row(label: str, c: Coefficient) -> list[str]:
        return [label, fmt(c.estimate, 3), f"[{fmt(c.ci_low, 3)}, {fmt(c.ci_high, 3)}]", fmt_p(c.p)]

    section.rows = [
        row(_(label), result.coefficients[name])
        for name, label in _COEF_LABELS.items()
        if name in result.coefficients
    ] + [
        row(_(label), result.detrended[name])
        for name, label in _DETRENDED_LABELS.items()
        if name in result.detrended
    ]
    plain = result.coefficients["rel_within"]
    detrended = result.detrended.get("rel_within")
    values = {"rr": rr.label, "outcome": outcome.label}
    # Translators: each part is a clause; the parts are joined with "; " after the colon.
    if detrended is not None:
        within = _(
            "beyond each dyad's trend over sessions, a session where %(rr)s is one point above "
            "the dyad's own average goes with %(outcome)s %(estimate)+.2f points (95%% CI "
            "[%(low).2f, %(high).2f]; without removing the trend %(plain)+.2f "
            "[%(plain_low).2f, %(plain_high).2f])"
        ) % {
            **values,
            "estimate": detrended.estimate,
            "low": detrended.ci_low,
            "high": detrended.ci_high,
            "plain": plain.estimate,
            "plain_low": plain.ci_low,
            "plain_high": plain.ci_high,
        }
    else:
        within = _(
            "a session where %(rr)s is one point above the dyad's own average goes with "
            "%(outcome)s %(estimate)+.2f points (95%% CI [%(low).2f, %(high).2f]; not "
            "detrended: %(reason)s)"
        ) % {
            **values,
            "estimate": plain.estimate,
            "low": plain.ci_low,
            "high": plain.ci_high,
            "reason": result.detrended_reason,
        }
    dyad_level = result.coefficients["rel_dyad"]
    therapist_level = result.coefficients["rel_therapist"]
    parts = [
        within,
        _(
            "a dyad whose average is one point above its therapist's average goes with "
            "%(estimate)+.2f points ([%(low).2f, %(high).2f])"
        )
        % {"estimate": dyad_level.estimate, "low": dyad_level.ci_low, "high": dyad_level.ci_high},
        _(
            "a therapist whose dyads average one point above the clinic's goes with "
            "%(estimate)+.2f points ([%(low).2f, %(high).2f])"
        )
        % {
            "estimate": therapist_level.estimate,
            "low": therapist_level.ci_low,
            "high": therapist_level.ci_high,
        },
    ]
    counts = {
        "therapists": n_therapists(result.n_therapists),
        "dyads": n_dyads(result.n_dyads),
        "sessions": n_sessions(result.n_obs),
        "effects": "; ".join(parts),
    }
    sentences = [
        _(
            "With therapist and dyad random intercepts (%(therapists)s, %(dyads)s, "
            "%(sessions)s): %(effects)s."
        )
        % counts,
        (
            _("For %(outcome)s, higher is better.")
            if outcome.higher_is_better
            else _("For %(outcome)s, lower is better.")
        )
        % {"outcome": outcome.label},
    ]
    if detrended is not None:
        sentences.append(
            _(
                "The within-dyad figure quoted first is the detrended one: relationship and "
                "outcome often improve together over therapy, and that shared drift alone "
                "would make the plain slope look like an effect."
            )
        )
    if not result.converged:
        sentences.append(_not_converged())
    section.summary = " ".join(sentences)
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
        return AlphaSection(rows, empty=_("No completed forms in this selection yet."))
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
                    reason = _("a single item: alpha needs at least 2")
                elif complete < 3:
                    reason = ngettext(
                        "%(n)s complete form; at least 3 are needed",
                        "%(n)s complete forms; at least 3 are needed",
                        complete,
                    ) % {"n": fmt_int(complete)}
                else:
                    reason = _("the scale's total did not vary")
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
    sentences = [
        _(
            "Cronbach's alpha says how consistently a scale's items move together in this "
            "clinic's forms (reverse-keyed items flipped first, as in scoring); .70 or more is "
            "usually acceptable for tracking, .80 or more for decisions about individuals. Each "
            "instrument uses its most recent %(sample)s completed forms at most in this "
            "selection, and only forms with every item of the scale answered."
        )
        % {"sample": fmt_int(ALPHA_SAMPLE)}
    ]
    if low:
        scales = ", ".join(
            _("%(instrument)s %(scale)s") % {"instrument": r.instrument, "scale": r.scale}
            for r in low
        )
        sentences.append(_("Below .70 here: %(scales)s.") % {"scales": scales})
    negative = [r for r in rows if r.alpha is not None and r.alpha < 0]
    if negative:
        sentences.append(_("A negative alpha usually means an item is keyed the wrong way."))
    return AlphaSection(rows, summary=" ".join(sentences))


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


def _pending_text(what: str, count: str) -> str:
    # Translators: %(what)s names the computation ("Item analysis"), %(count)s what it runs
    # on ("12,000 sessions").
    return _(
        "%(what)s on %(count)s takes a while at this size, so it is being computed in the "
        "background; reload the page in a minute or two."
    ) % {"what": what, "count": count}


def pending_therapist_section(scores: pd.DataFrame, code: str, label: str) -> TherapistSection:
    n_t, n_d, n_obs = therapist_counts(scores, code)
    return TherapistSection(
        code,
        label,
        None,
        n_t,
        n_d,
        n_obs,
        empty=_pending_text(
            _("Fitting the three-level model of %(label)s totals") % {"label": label},
            n_sessions(n_obs),
        ),
        pending=True,
    )


def pending_model_section(pair: pd.DataFrame, rr: Measure, outcome: Measure) -> ModelSection:
    n_obs = pair_counts(pair)[2]
    return ModelSection(
        rr,
        outcome,
        None,
        empty=_pending_text(
            _("Fitting %(outcome)s on %(rr)s with therapist and dyad intercepts")
            % {"outcome": outcome.label, "rr": rr.label},
            n_sessions(n_obs),
        ),
        pending=True,
    )


def pending_alpha_section(n_forms: int) -> AlphaSection:
    forms = ngettext("%(n)s completed form", "%(n)s completed forms", n_forms) % {
        "n": fmt_int(n_forms)
    }
    return AlphaSection([], empty=_pending_text(_("Item analysis"), forms), pending=True)


def stale_note(computed: str, forms_behind: int) -> str:
    """`computed` says when ("on 2025-03-31 at 14:05")."""
    if forms_behind > 0:
        return ngettext(
            "Computed %(when)s, before the newest %(n)s form; an update that includes them is "
            "being computed in the background.",
            "Computed %(when)s, before the newest %(n)s forms; an update that includes them is "
            "being computed in the background.",
            forms_behind,
        ) % {"when": computed, "n": fmt_int(forms_behind)}
    return _(
        "Computed %(when)s, before the latest changes; an update that includes them is being "
        "computed in the background."
    ) % {"when": computed}


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
    between_note: str = ""  # BETWEEN_NOTE, translated; set by `__post_init__`

    def __post_init__(self) -> None:
        if not self.between_note:
            self.between_note = _(BETWEEN_NOTE)

    @property
    def has_charts(self) -> bool:
        return any(s.figure is not None for s in (self.pooled, self.between, self.therapists))


def empty_scores() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=float) for c in SCORE_FRAME_COLUMNS})


def empty_answers() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=float) for c in ANSWER_FRAME_COLUMNS})
