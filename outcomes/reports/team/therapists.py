"""Section 3a: therapist contributions (therapist ICC with a caterpillar plot)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import pandas as pd

from outcomes.analytics import (
    Insufficient,
    TherapistEffects,
    therapist_icc,
)
from outcomes.analytics.i18n import _
from outcomes.analytics.multilevel import MIN_DYADS as MODEL_MIN_DYADS
from outcomes.analytics.multilevel import MIN_THERAPISTS as MODEL_MIN_THERAPISTS
from outcomes.analytics.numbers import fmt, fmt_r
from outcomes.analytics.scalars import to_float_or_none, to_int
from outcomes.reports.team.charts import caterpillar_chart
from outcomes.reports.team.frames import model_counts, single_frame
from outcomes.reports.team.text import (
    missing_for_model,
    n_dyads,
    n_sessions,
    n_therapists,
    not_converged,
)


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


def therapist_section(
    scores: pd.DataFrame, code: str, label: str, therapist_names: Mapping[int, str]
) -> TherapistSection:
    frame = single_frame(scores, code)
    n_t, n_d, n_obs = model_counts(frame, "score")
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
            "missing": missing_for_model(n_t, n_d),
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
    section.summary = _summary(result, label)
    _therapist_table(section, means.assign(name=names))
    return section


def _summary(result: TherapistEffects, label: str) -> str:
    summary = " ".join(
        [
            icc_sentence(result, label),
            _(
                "Therapists and dyads together account for %(dyad_pct).0f%% (dyad-level ICC "
                "%(dyad_icc)s), the rest being session-to-session variation. Based on "
                "%(therapists)s, %(dyads)s and %(sessions)s. Shrunken means pull therapists "
                "with little data towards the clinic mean (%(mean).2f), so a therapist stands "
                "out only when their interval clears the dashed line."
            )
            % {
                "dyad_pct": result.icc_dyad * 100,
                "dyad_icc": fmt_r(result.icc_dyad),
                "therapists": n_therapists(result.n_therapists),
                "dyads": n_dyads(result.n_dyads),
                "sessions": n_sessions(result.n_obs),
                "mean": result.intercept,
            },
        ]
    )
    if not result.converged:
        summary += " " + not_converged()
    return summary


def _therapist_table(section: TherapistSection, means: pd.DataFrame) -> None:
    """Every therapist (`means` with their names), highest shrunken mean first."""
    ordered = means.sort_values("shrunken_mean", ascending=False)
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
            str(to_int(row.n_dyads)),
            str(to_int(row.n_obs)),
            fmt(to_float_or_none(row.raw_mean)),
            fmt(to_float_or_none(row.shrunken_mean)),
            f"[{fmt(to_float_or_none(row.ci_low))}, {fmt(to_float_or_none(row.ci_high))}]",
        ]
        for row in ordered.itertuples(index=False)
    ]


def icc_interval_text(result: TherapistEffects) -> str:
    return f"{fmt_r(result.icc_therapist_low)}–{fmt_r(result.icc_therapist_high)}"


def icc_sentence(result: TherapistEffects, label: str) -> str:
    """The therapist share with its 95% profile-likelihood interval, worded by what the data
    can tell: a share ("therapists account for …") only when the interval excludes 0."""
    values = {
        "label": label,
        "icc_pct": result.icc_therapist * 100,
        "icc": fmt_r(result.icc_therapist),
        "high_pct": result.icc_therapist_high * 100,
        "interval": icc_interval_text(result),
    }
    if result.icc_therapist_low > 0:
        return (
            _(
                "Therapists account for an estimated %(icc_pct).0f%% of the variance in %(label)s "
                "totals (therapist ICC %(icc)s, 95%% interval %(interval)s)."
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
            "therapist share is %(icc_pct).0f%% (therapist ICC %(icc)s), but anything from 0%% "
            "to %(high_pct).0f%% fits them (95%% interval %(interval)s)."
        )
        % values
    )
