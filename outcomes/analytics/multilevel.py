"""Multilevel models: sessions within dyads within therapists (statsmodels MixedLM).

Three-level random-intercept model for a score y at session t of dyad i with therapist j:

    y_tij = γ + v_j + u_ij + e_tij,   v_j ~ N(0, τ_v), u_ij ~ N(0, τ_u), e_tij ~ N(0, σ²)

    therapist ICC = τ_v / (τ_v + τ_u + σ²)
    dyad ICC      = (τ_v + τ_u) / (τ_v + τ_u + σ²)   (share of variance between dyads)

Fitted by REML with Powell (L-BFGS if Powell fails): `groups` = therapist, `re_formula="1"`
(v_j), and a variance component `"0 + C(dyad)"` (u_ij), so each dyad must belong to one
therapist.
Per-therapist shrunken mean = γ̂ + v̂_j (the BLUP), with an approximate 95% interval
γ̂ + v̂_j ± 1.96·√(Var(v_j | y) + Var(γ̂)): Var(v_j | y) is statsmodels' conditional
covariance of the random effect; adding Var(γ̂) ignores the covariance between γ̂ and v̂_j and
treats the variance components as known, so read the interval as approximate.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Hashable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import statsmodels.formula.api as smf
from statsmodels.regression.mixed_linear_model import MixedLMResults

from .i18n import _, ngettext
from .series import person_mean_centre

MIN_THERAPISTS = 5
MIN_DYADS = 10
_Z95 = 1.959963984540054


@dataclass(frozen=True)
class Insufficient:
    """The model was not fitted; `reason` says why in plain English."""

    reason: str

    @property
    def ok(self) -> bool:
        return False


@dataclass(frozen=True)
class TherapistEffects:
    therapist_variance: float
    dyad_variance: float
    residual_variance: float
    icc_therapist: float
    icc_dyad: float
    intercept: float
    n_therapists: int
    n_dyads: int
    n_obs: int
    converged: bool
    # Indexed by therapist: shrunken_mean, ci_low, ci_high, raw_mean, n_dyads, n_obs.
    therapist_means: pd.DataFrame = field(compare=False, repr=False)
    notes: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return True


@dataclass(frozen=True)
class Coefficient:
    estimate: float
    se: float
    ci_low: float
    ci_high: float
    p: float


@dataclass(frozen=True)
class OutcomeModel:
    """Fixed effects of outcome ~ rel_within + rel_between (keys "Intercept", "rel_within",
    "rel_between") with therapist and dyad random intercepts."""

    coefficients: dict[str, Coefficient]
    therapist_variance: float
    dyad_variance: float
    residual_variance: float
    n_therapists: int
    n_dyads: int
    n_obs: int
    converged: bool
    notes: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return True


@dataclass(frozen=True)
class _Fit:
    result: MixedLMResults
    converged: bool
    notes: tuple[str, ...]


def _prepare(
    frame: pd.DataFrame,
    columns: dict[str, str],
    *,
    min_therapists: int,
    min_dyads: int,
) -> pd.DataFrame | Insufficient:
    """Complete rows renamed to formula-safe names (y, g, d, ...), or why they don't suffice."""
    data = frame[list(columns.values())].rename(columns={v: k for k, v in columns.items()})
    data = data.dropna()
    for name in set(columns) - {"g", "d"}:
        data[name] = data[name].astype(float)
    therapists_per_dyad = data.groupby("d")["g"].nunique()
    if (therapists_per_dyad > 1).any():
        dyad = therapists_per_dyad[therapists_per_dyad > 1].index[0]
        raise ValueError(f"dyad {dyad} appears under more than one therapist")
    n_therapists = int(data["g"].nunique())
    n_dyads = int(data["d"].nunique())
    if n_therapists < min_therapists:
        return Insufficient(
            ngettext(
                "%(n)d therapist with data; at least %(min)d are needed",
                "%(n)d therapists with data; at least %(min)d are needed",
                n_therapists,
            )
            % {"n": n_therapists, "min": min_therapists}
        )
    if n_dyads < min_dyads:
        return Insufficient(
            ngettext(
                "%(n)d dyad with data; at least %(min)d are needed",
                "%(n)d dyads with data; at least %(min)d are needed",
                n_dyads,
            )
            % {"n": n_dyads, "min": min_dyads}
        )
    if data.groupby("d").size().max() < 2:
        return Insufficient(
            _("every dyad has a single score, so dyad and session variation cannot be separated")
        )
    if data["y"].nunique() < 2:
        return Insufficient(_("the scores did not vary"))
    return data


def _fit(formula: str, data: pd.DataFrame) -> _Fit | Insufficient:
    # Warnings are collected rather than printed: a dashboard has nowhere to show stderr, so
    # convergence becomes the `converged` flag and the messages go into `notes`.
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            model = smf.mixedlm(
                formula, data, groups="g", re_formula="1", vc_formula={"dyad": "0 + C(d)"}
            )
            # Powell first: on data where a variance is near 0 (common: therapist effects are
            # small) L-BFGS stops far from the optimum yet reports convergence, while Powell
            # reached the higher REML likelihood in every case we compared, at similar speed.
            # statsmodels falls back to L-BFGS, from where Powell stopped, if Powell fails.
            result = model.fit(method=["powell", "lbfgs"], reml=True)
        except (np.linalg.LinAlgError, ValueError) as exc:
            return Insufficient(_("the model could not be fitted (%(error)s)") % {"error": exc})
    notes = tuple(dict.fromkeys(str(w.message) for w in caught))
    return _Fit(result=result, converged=bool(result.converged), notes=notes)


def _variances(result: MixedLMResults) -> tuple[float, float, float]:
    therapist = float(np.asarray(result.cov_re)[0, 0])
    dyad = float(np.asarray(result.vcomp)[0])
    residual = float(result.scale)
    return therapist, dyad, residual


def therapist_icc(
    frame: pd.DataFrame,
    value: str = "score",
    therapist: str = "therapist_id",
    dyad: str = "dyad_id",
    *,
    min_therapists: int = MIN_THERAPISTS,
    min_dyads: int = MIN_DYADS,
) -> TherapistEffects | Insufficient:
    """Variance components, ICCs and shrunken therapist means of `value` (module docstring).

    `frame` has one row per session (e.g. one scale of `wide_by_session` output with the index
    reset). Rows with a missing value, therapist or dyad are dropped. Returns Insufficient
    below `min_therapists` therapists or `min_dyads` dyads with data, when every dyad has a
    single score, or when the scores are constant. Raises ValueError if a dyad appears under
    two therapists.
    """
    data = _prepare(
        frame,
        {"y": value, "g": therapist, "d": dyad},
        min_therapists=min_therapists,
        min_dyads=min_dyads,
    )
    if isinstance(data, Insufficient):
        return data
    fit = _fit("y ~ 1", data)
    if isinstance(fit, Insufficient):
        return fit
    result = fit.result
    tau_v, tau_u, sigma2 = _variances(result)
    total = tau_v + tau_u + sigma2
    intercept = float(result.fe_params.iloc[0])
    var_intercept = float(np.asarray(result.cov_params())[0, 0])

    blups = result.random_effects
    cond_cov = result.random_effects_cov
    groups = data.groupby("g")
    rows: dict[Hashable, dict[str, float]] = {}
    for label, sub in groups:
        mean = intercept + float(blups[label].iloc[0])
        half = _Z95 * math.sqrt(max(float(np.asarray(cond_cov[label])[0, 0]), 0.0) + var_intercept)
        rows[label] = {
            "shrunken_mean": mean,
            "ci_low": mean - half,
            "ci_high": mean + half,
            "raw_mean": float(sub["y"].mean()),
            "n_dyads": int(sub["d"].nunique()),
            "n_obs": len(sub),
        }
    means = pd.DataFrame.from_dict(rows, orient="index")
    means.index.name = therapist
    means = means.astype({"n_dyads": int, "n_obs": int})
    return TherapistEffects(
        therapist_variance=tau_v,
        dyad_variance=tau_u,
        residual_variance=sigma2,
        icc_therapist=tau_v / total,
        icc_dyad=(tau_v + tau_u) / total,
        intercept=intercept,
        n_therapists=int(data["g"].nunique()),
        n_dyads=int(data["d"].nunique()),
        n_obs=len(data),
        converged=fit.converged,
        therapist_means=means,
        notes=fit.notes,
    )


def outcome_on_relationship(
    frame: pd.DataFrame,
    outcome: str,
    relationship: str,
    dyad: str = "dyad_id",
    therapist: str = "therapist_id",
    *,
    min_therapists: int = MIN_THERAPISTS,
    min_dyads: int = MIN_DYADS,
) -> OutcomeModel | Insufficient:
    """Within- and between-dyad effects of the relationship on a session outcome.

        y_tij = γ0 + γ1·(RR_tij − RR̄_ij) + γ2·(RR̄_ij − RR̄..) + v_j + u_ij + e_tij

    γ1 ("rel_within") is the state-like effect: sessions where this dyad's relationship is
    above its own mean. γ2 ("rel_between") is the trait-like effect of a dyad's average. Person
    means are taken over the complete rows used in the fit. A dyad random intercept is kept
    beside the therapist one because sessions are nested in dyads; leaving it out would
    understate the standard error of γ2. CIs are Wald intervals (normal).
    """
    data = _prepare(
        frame,
        {"y": outcome, "x": relationship, "g": therapist, "d": dyad},
        min_therapists=min_therapists,
        min_dyads=min_dyads,
    )
    if isinstance(data, Insufficient):
        return data
    # Judged on the raw scores, not the centred ones: centring a constant dyad can leave
    # rounding residue that would look like variation.
    by_dyad = data.groupby("d")["x"]
    if not (by_dyad.max() > by_dyad.min()).any():
        return Insufficient(_("relationship scores did not vary within any dyad"))
    dyad_means = by_dyad.mean()
    if np.ptp(dyad_means) <= 1e-12 * max(1.0, float(np.abs(dyad_means).max())):
        return Insufficient(_("dyads' mean relationship scores did not differ"))
    data = person_mean_centre(data, "d", "x").rename(
        columns={"x_within": "rel_within", "x_between": "rel_between"}
    )
    fit = _fit("y ~ rel_within + rel_between", data)
    if isinstance(fit, Insufficient):
        return fit
    result = fit.result
    tau_v, tau_u, sigma2 = _variances(result)
    params = result.fe_params
    bse = result.bse_fe
    ci = result.conf_int().loc[params.index]
    pvalues = result.pvalues.loc[params.index]
    coefficients = {
        name: Coefficient(
            estimate=float(params[name]),
            se=float(bse[name]),
            ci_low=float(ci.loc[name].iloc[0]),
            ci_high=float(ci.loc[name].iloc[1]),
            p=float(pvalues[name]),
        )
        for name in params.index
    }
    return OutcomeModel(
        coefficients=coefficients,
        therapist_variance=tau_v,
        dyad_variance=tau_u,
        residual_variance=sigma2,
        n_therapists=int(data["g"].nunique()),
        n_dyads=int(data["d"].nunique()),
        n_obs=len(data),
        converged=fit.converged,
        notes=fit.notes,
    )
