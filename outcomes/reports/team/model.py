"""Section 3b: outcome on within-dyad, between-dyad and between-therapist relationship."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from outcomes.analytics import (
    Coefficient,
    Insufficient,
    OutcomeModel,
    outcome_on_relationship,
)
from outcomes.analytics.i18n import _, gettext_noop
from outcomes.analytics.multilevel import MIN_DYADS as MODEL_MIN_DYADS
from outcomes.analytics.multilevel import MIN_THERAPISTS as MODEL_MIN_THERAPISTS
from outcomes.analytics.numbers import fmt, fmt_p
from outcomes.measures import Measure
from outcomes.reports.team.text import (
    missing_for_model,
    n_dyads,
    n_sessions,
    n_therapists,
    not_converged,
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
            "missing": missing_for_model(n_t, n_d),
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
    section.rows = _rows(result)
    section.summary = _summary(result, rr, outcome)
    return section


def _rows(result: OutcomeModel) -> list[list[str]]:
    """The coefficients' table: label, estimate, interval, p; the detrended ones after."""

    def row(label: str, c: Coefficient) -> list[str]:
        return [label, fmt(c.estimate, 3), f"[{fmt(c.ci_low, 3)}, {fmt(c.ci_high, 3)}]", fmt_p(c.p)]

    return [
        row(_(label), result.coefficients[name])
        for name, label in _COEF_LABELS.items()
        if name in result.coefficients
    ] + [
        row(_(label), result.detrended[name])
        for name, label in _DETRENDED_LABELS.items()
        if name in result.detrended
    ]


def _summary(result: OutcomeModel, rr: Measure, outcome: Measure) -> str:
    detrended = result.detrended.get("rel_within")
    counts = {
        "therapists": n_therapists(result.n_therapists),
        "dyads": n_dyads(result.n_dyads),
        "sessions": n_sessions(result.n_obs),
        "effects": "; ".join(_effects(result, rr, outcome)),
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
        sentences.append(not_converged())
    return " ".join(sentences)


def _effects(result: OutcomeModel, rr: Measure, outcome: Measure) -> list[str]:
    """One clause per level: within the dyad, between a therapist's dyads, between therapists."""
    dyad_level = result.coefficients["rel_dyad"]
    therapist_level = result.coefficients["rel_therapist"]
    return [
        _within(result, rr, outcome),
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


def _within(result: OutcomeModel, rr: Measure, outcome: Measure) -> str:
    """The within-dyad clause: detrended when the trend model fitted, else plain and why."""
    plain = result.coefficients["rel_within"]
    detrended = result.detrended.get("rel_within")
    values = {"rr": rr.label, "outcome": outcome.label}
    # Translators: each part is a clause; the parts are joined with "; " after the colon.
    if detrended is not None:
        return _(
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
    return _(
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
