"""Section 1: within-dyad r per dyad, pooled by DerSimonian–Laird, beside the benchmark."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from outcomes.analytics import (
    BENCHMARK,
    BENCHMARK_NOTE,
    MIN_SESSIONS,
    PooledCorrelation,
    grouped_correlations,
    pool_correlations,
)
from outcomes.analytics.i18n import _, ngettext
from outcomes.analytics.numbers import fmt, fmt_int, fmt_p, fmt_r
from outcomes.analytics.scalars import to_float, to_float_or_none, to_int
from outcomes.measures import Measure
from outcomes.reports import figures
from outcomes.reports.team.frames import therapist_names, unique_labels
from outcomes.reports.team.text import and_list, direction_sentence

# Pooling needs ≥ 2 correlations arithmetically; with 2 the heterogeneity test has one degree
# of freedom and τ² is meaningless, so the page asks for 3.
MIN_POOL_DYADS = 3
FOREST_CAP = 60  # dyads shown in the forest plot; the table lists them all


# grouped_correlations clips r to [−1, 1]; a perfect correlation can come out a hair below 1
# through rounding, which would give a huge but finite Fisher z and swamp the pool.
_PERFECT = 1 - 1e-9


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
    usable, perfect, constant = _classify(section, corr)
    labels = unique_labels(list(corr.index), dyads)
    status = np.select(
        [usable, perfect, constant],
        [_("pooled"), _("r = ±1: left out (infinite Fisher z)"), _("a score did not vary: no r")],
        default=_("fewer than %(min)d paired sessions") % {"min": MIN_SESSIONS},
    )
    _dyad_table(section, corr.assign(status=status), labels, therapist_names(dyads))
    short = section.n_with_pairs - section.n_eligible
    if int(usable.sum()) < MIN_POOL_DYADS:
        section.empty = _pooled_refusal(section, outcome, short)
        return section
    pooled_rows = corr[usable]
    pooled = pool_correlations(pooled_rows["r"].to_numpy(), pooled_rows["n"].to_numpy())
    section.pooled = pooled
    better_r, better_low, better_high = _better_direction(pooled, outcome)
    section.better_direction_r = better_r
    section.stats_rows = _stats_rows(pooled)
    _forest(section, pooled_rows, labels, pooled, outcome)
    sentences = [
        _across(section, pooled, outcome),
        _caveat(_versus_benchmark(outcome, better_r, better_low, better_high)),
    ]
    extra = _left_out(section, short)
    if extra:
        sentences.append(_("Left out: %(list)s.") % {"list": ", ".join(extra)})
    section.summary = " ".join(sentences)
    return section


def _classify(section: PooledSection, corr: pd.DataFrame) -> tuple[pd.Series, pd.Series, pd.Series]:
    """Count the dyads with pairs, enough pairs, a constant score and r = ±1 into `section`;
    the masks of those whose r can be pooled, is ±1, is undefined (a constant score)."""
    eligible = corr["n"] >= MIN_SESSIONS
    perfect = eligible & (corr["r"].abs() >= _PERFECT)
    constant = eligible & corr["r"].isna()
    section.n_with_pairs = int(len(corr))
    section.n_eligible = int(eligible.sum())
    section.n_constant = int(constant.sum())
    section.n_perfect = int(perfect.sum())
    return eligible & ~perfect & ~constant, perfect, constant


def _dyad_table(
    section: PooledSection,
    corr: pd.DataFrame,
    labels: dict[int, str],
    therapist_of: dict[int, str],
) -> None:
    """Every dyad with pairs (`corr` with its status), highest r first."""
    ordered = corr.sort_values(["r", "n"], ascending=[False, False], na_position="last")
    section.table_columns = [
        _("Client"),
        _("Therapist"),
        _("Paired sessions"),
        "r",
        _("95% CI"),
        _("Status"),
    ]
    section.table_rows = [
        (
            int(d),
            [
                labels[d],
                therapist_of.get(d, "—"),
                str(to_int(row.n)),
                fmt_r(to_float_or_none(row.r)),
                f"[{fmt_r(to_float_or_none(row.ci_low))}, {fmt_r(to_float_or_none(row.ci_high))}]"
                if math.isfinite(to_float(row.r))
                else "—",
                str(row.status),
            ],
        )
        for d, row in zip(ordered.index, ordered.itertuples(index=False), strict=True)
    ]


def _better_direction(pooled: PooledCorrelation, outcome: Measure) -> tuple[float, float, float]:
    """The pooled r and its interval with the sign turned so that positive means better."""
    if outcome.higher_is_better:
        return pooled.r, pooled.ci_low, pooled.ci_high
    return -pooled.r, -pooled.ci_high, -pooled.ci_low


def _stats_rows(pooled: PooledCorrelation) -> list[tuple[str, str]]:
    return [
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


def _forest(
    section: PooledSection,
    pooled_rows: pd.DataFrame,
    labels: dict[int, str],
    pooled: PooledCorrelation,
    outcome: Measure,
) -> None:
    """The forest plot: the most informative dyads (most paired sessions, i.e. smallest
    variance 1/(n − 3)), shown sorted by r, under the clinic's pool and the benchmark."""
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
        % {"rr": section.rr.label, "outcome": outcome.label},
        reference=reference,
    )
    n_usable = len(pooled_rows)
    if n_usable > FOREST_CAP:
        section.forest_note = ngettext(
            "The chart shows the %(cap)d dyads with the most paired sessions (the most "
            "informative) of the %(n)s pooled; the table lists every dyad.",
            "The chart shows the %(cap)d dyads with the most paired sessions (the most "
            "informative) of the %(n)s pooled; the table lists every dyad.",
            n_usable,
        ) % {"cap": FOREST_CAP, "n": fmt_int(n_usable)}


def _across(section: PooledSection, pooled: PooledCorrelation, outcome: Measure) -> str:
    """The pooled result in one sentence, with how much the dyads differ."""
    # Translators: an independent clause, after a semicolon in the pooled summary.
    heterogeneity = (
        _("dyads differ little beyond chance")
        if pooled.i2 < 0.25
        else _("dyads differ moderately")
        if pooled.i2 < 0.75
        else _("dyads differ a lot")
    )
    # Translators: %(heterogeneity)s is one of "dyads differ little beyond chance", ...
    return ngettext(
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
        "rr": section.rr.label,
        "outcome": outcome.label,
        "r": fmt_r(pooled.r),
        "low": fmt_r(pooled.ci_low),
        "high": fmt_r(pooled.ci_high),
        "d": pooled.d,
        "heterogeneity": heterogeneity,
        "i2": pooled.i2 * 100,
    }


def _caveat(versus: str) -> str:
    # Translators: %(versus)s is a clause such as "This interval overlaps the interval of the
    # published r = .38 [.30, .44]".
    return _(
        "%(versus)s; that figure pools between-client correlations from studies, so it answers "
        "a related but different question, and the clinic's interval is optimistic because "
        "sessions of one dyad are not independent."
    ) % {"versus": versus}


def _left_out(section: PooledSection, short: int) -> list[str]:
    """The dyads with pairs that the pool leaves out, by reason."""
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
    return extra


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
            "excluded": and_list(excluded),
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
