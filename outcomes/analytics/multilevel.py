"""Multilevel models: sessions within dyads within therapists (nested random intercepts, REML).

Three-level random-intercept model for a score y at session t of dyad i with therapist j:

    y_tij = x_tij'β + v_j + u_ij + e_tij,   v_j ~ N(0, τ_v), u_ij ~ N(0, τ_u), e_tij ~ N(0, σ²)

    therapist ICC = τ_v / (τ_v + τ_u + σ²)
    dyad ICC      = (τ_v + τ_u) / (τ_v + τ_u + σ²)   (share of variance between dyads)

This is statsmodels' `mixedlm(..., groups=therapist, re_formula="1",
vc_formula={"dyad": "0 + C(dyad)"})`, fitted here from per-dyad sums instead. With nested
intercepts only, each therapist's covariance V_j = σ²(I + a·Σ_i 1_i1_i' + b·11'), a = τ_u/σ²,
b = τ_v/σ², has a closed-form inverse and determinant (two Sherman–Morrison steps), so the
REML likelihood with σ² profiled out needs only n_ij, the dyad sums of [X | y] and the total
cross-product matrix: O(dyads) per evaluation where statsmodels builds dense per-therapist
matrices (0.15 s per likelihood and 0.6 s per gradient on 60,000 sessions, against well under
a millisecond here). The tests check the likelihood, estimates, standard errors and BLUPs
against statsmodels on simulated clinics.

(a, b) are found by L-BFGS-B with the bounds a, b ≥ 0, started from moment (nested-ANOVA)
estimates; Powell is tried only if L-BFGS-B reports failure. On the boundary (b = 0: no
therapist variation beyond what dyads explain) L-BFGS-B's projected gradient stops exactly at
0, which the unbounded square-root parametrisation statsmodels uses does not.

Per-therapist shrunken mean = γ̂ + v̂_j (the BLUP), with an approximate 95% interval
γ̂ + v̂_j ± 1.96·√(Var(v_j | y) + Var(γ̂)), Var(v_j | y) = τ_v − τ_v²·1'V_j⁻¹1 as in
statsmodels' `random_effects_cov`; adding Var(γ̂) ignores the covariance between γ̂ and v̂_j
and treats the variance components as known, so read the interval as approximate.

The therapist ICC's interval is a profile-likelihood interval on the REML likelihood: the ICCs
c whose profile deviance 2·[ℓ(â, b̂) − max_a ℓ(a, b = c(1 + a)/(1 − c))] stays below
χ²₁(0.95) = 3.84. See docs/analytics.md for why not a Wald or bootstrap interval.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import optimize, stats

from .i18n import _, ngettext

MIN_THERAPISTS = 5
MIN_DYADS = 10
# Degrees of freedom each variance component needs before it is told apart from the next one:
# sessions beyond each dyad's first (σ² vs τ_u) and dyads beyond each therapist's first
# (τ_u vs τ_v). One dyad with two scores gives σ² a single degree of freedom: formally
# estimable, in practice any split of the variance fits as well as any other.
MIN_LEVEL_DF = 5
_Z95 = 1.959963984540054
_CHI2_95 = float(stats.chi2.ppf(0.95, 1))
# ICCs at or above this are treated as "1" by the interval search: b would exceed 1e6·(1 + a).
_ICC_TOP = 1 - 1e-6
# A ratio τ/σ² below this is the boundary (the optimiser's bound is exactly 0).
_BOUNDARY = 1e-8
_LBFGS_MAXITER = 500


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
    # 95% profile-likelihood interval of icc_therapist; (0, 1) would mean the data say nothing.
    icc_therapist_low: float = math.nan
    icc_therapist_high: float = math.nan
    # τ_v estimated as exactly 0: the fit found no therapist variation beyond the dyads'.
    on_boundary: bool = False

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
    """Fixed effects of outcome on the relationship split three ways, with therapist and dyad
    random intercepts (`outcome_on_relationship`).

    `coefficients` ("Intercept", "rel_within", "rel_dyad", "rel_therapist") come from the plain
    model; `detrended` holds the same model with the session number (centred within the dyad)
    as a covariate, "session_trend", or is empty with `detrended_reason` saying why."""

    coefficients: dict[str, Coefficient]
    therapist_variance: float
    dyad_variance: float
    residual_variance: float
    n_therapists: int
    n_dyads: int
    n_obs: int
    converged: bool
    notes: tuple[str, ...] = ()
    detrended: dict[str, Coefficient] = field(default_factory=dict)
    detrended_reason: str = ""

    @property
    def ok(self) -> bool:
        return True


# --- Data ----------------------------------------------------------------------------------


def _refusal_counts(data: pd.DataFrame, min_therapists: int, min_dyads: int) -> str:
    n_therapists = int(data["g"].nunique())
    n_dyads = int(data["d"].nunique())
    if n_therapists < min_therapists:
        return ngettext(
            "%(n)d therapist with data; at least %(min)d are needed",
            "%(n)d therapists with data; at least %(min)d are needed",
            n_therapists,
        ) % {"n": n_therapists, "min": min_therapists}
    if n_dyads < min_dyads:
        return ngettext(
            "%(n)d dyad with data; at least %(min)d are needed",
            "%(n)d dyads with data; at least %(min)d are needed",
            n_dyads,
        ) % {"n": n_dyads, "min": min_dyads}
    return ""


def _refusal_identification(data: pd.DataFrame) -> str:
    """Why the three variance components cannot be told apart, or ""."""
    sizes = data.groupby("d").size()
    if sizes.max() < 2:
        return _("every dyad has a single score, so dyad and session variation cannot be separated")
    repeats = len(data) - len(sizes)
    if repeats < MIN_LEVEL_DF:
        repeated = int((sizes >= 2).sum())
        return ngettext(
            "only %(dyads)d dyad has more than one score (%(n)d session beyond its first; at "
            "least %(min)d are needed), so the data cannot tell session-to-session variation "
            "from differences between dyads",
            "only %(dyads)d dyads have more than one score (%(n)d sessions beyond their first; "
            "at least %(min)d are needed), so the data cannot tell session-to-session variation "
            "from differences between dyads",
            repeated,
        ) % {"dyads": repeated, "n": repeats, "min": MIN_LEVEL_DF}
    dyads_per_therapist = data.groupby("g")["d"].nunique()
    extra_dyads = int(dyads_per_therapist.sum() - len(dyads_per_therapist))
    if extra_dyads < MIN_LEVEL_DF:
        shared = int((dyads_per_therapist >= 2).sum())
        return ngettext(
            "only %(therapists)d therapist has more than one dyad (%(n)d dyads beyond each "
            "therapist's first; at least %(min)d are needed), so the data cannot tell "
            "differences between therapists from differences between dyads",
            "only %(therapists)d therapists have more than one dyad (%(n)d dyads beyond each "
            "therapist's first; at least %(min)d are needed), so the data cannot tell "
            "differences between therapists from differences between dyads",
            shared,
        ) % {"therapists": shared, "n": extra_dyads, "min": MIN_LEVEL_DF}
    if data["y"].nunique() < 2:
        return _("the scores did not vary")
    by_dyad = data.groupby("d")["y"]
    if not (by_dyad.max() > by_dyad.min()).any():
        return _(
            "the scores did not vary within any dyad, so session-to-session variation cannot "
            "be estimated"
        )
    return ""


def _prepare(
    frame: pd.DataFrame,
    columns: dict[str, str],
    *,
    min_therapists: int,
    min_dyads: int,
) -> pd.DataFrame | Insufficient:
    """Complete rows under short names (y, g, d, ...), or why they don't suffice.

    Built from the columns' values, so the frame's index (repeated, unsorted, anything) plays
    no part."""
    data = pd.DataFrame({short: frame[name].to_numpy() for short, name in columns.items()})
    data = data.dropna().reset_index(drop=True)
    for name in set(columns) - {"g", "d"}:
        data[name] = data[name].astype(float)
    therapists_per_dyad = data.groupby("d")["g"].nunique()
    if (therapists_per_dyad > 1).any():
        dyad = therapists_per_dyad[therapists_per_dyad > 1].index[0]
        raise ValueError(f"dyad {dyad} appears under more than one therapist")
    reason = _refusal_counts(data, min_therapists, min_dyads) or _refusal_identification(data)
    return Insufficient(reason) if reason else data


# --- The likelihood ------------------------------------------------------------------------


@dataclass(frozen=True)
class _Design:
    """Sufficient statistics of [X | y] for the nested model, dyads ordered by therapist."""

    names: tuple[str, ...]  # fixed-effect names, "Intercept" first
    n_obs: int
    cross: np.ndarray  # Z'Z over all rows, Z = [X | y]
    sums: np.ndarray  # per dyad: Σ Z
    sizes: np.ndarray  # per dyad: n_ij (float)
    starts: np.ndarray  # index of each therapist's first dyad in `sums`
    therapists: np.ndarray  # therapist label per therapist block

    @property
    def n_fixed(self) -> int:
        return len(self.names)


def _design(data: pd.DataFrame, covariates: tuple[str, ...]) -> _Design:
    y = data["y"].to_numpy(dtype=float)
    z = np.column_stack(
        [np.ones(len(data)), *(data[c].to_numpy(dtype=float) for c in covariates), y]
    )
    dyad_codes, dyad_labels = pd.factorize(data["d"])
    n_dyads = len(dyad_labels)
    sums = np.column_stack(
        [np.bincount(dyad_codes, weights=z[:, k], minlength=n_dyads) for k in range(z.shape[1])]
    )
    sizes = np.bincount(dyad_codes, minlength=n_dyads).astype(float)
    dyad_therapist = pd.Series(data["g"].to_numpy()).groupby(dyad_codes).first()
    therapist_codes, therapist_labels = pd.factorize(dyad_therapist.to_numpy(), sort=True)
    order = np.argsort(therapist_codes, kind="stable")
    ordered = therapist_codes[order]
    starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
    return _Design(
        names=("Intercept", *covariates),
        n_obs=len(data),
        cross=z.T @ z,
        sums=sums[order],
        sizes=sizes[order],
        starts=starts,
        therapists=np.asarray(therapist_labels)[ordered[starts]],
    )


@dataclass(frozen=True)
class _Reml:
    loglike: float
    gradient: np.ndarray | None  # ∂ℓ/∂(a, b), when asked for
    beta: np.ndarray
    cov_unscaled: np.ndarray  # (X'W⁻¹X)⁻¹; Cov(β̂) = σ²·this
    sigma2: float
    # Per therapist: s_j = 1'D⁻¹1 and t_j = 1'D⁻¹(y − Xβ̂), D the dyad part of W.
    s: np.ndarray
    t: np.ndarray


def _reml(design: _Design, a: float, b: float, *, gradient: bool = False) -> _Reml:
    """REML fit at τ_u = a·σ², τ_v = b·σ², σ² profiled out (module docstring).

    With D_i = I + a·11' per dyad, W_j = D + b·11', s_j = Σ_i n_i/(1 + a n_i),
    c_j = b/(1 + b s_j), S_i the dyad sums of Z = [X | y] and T_j = Σ_i S_i/(1 + a n_i):
        M = Z'W⁻¹Z = Z'Z − Σ_i a/(1 + a n_i)·S_i S_i' − Σ_j c_j·T_j T_j'
        log|W| = Σ_i log(1 + a n_i) + Σ_j log(1 + b s_j)
        β̂ = Mxx⁻¹Mxy, r = Myy − Mxy'β̂, σ̂² = r/(N − p)
        ℓ = −½[(N − p)(log σ̂² + 1 + log 2π) + log|W| + log|Mxx|]
    and, for the optimiser (numerical differences stall near the optimum), with v = [−β̂; 1]:
        ∂M/∂a = −Σ_i q_i q_i',  q_i = (S_i − c_j n_i T_j)/(1 + a n_i)
        ∂M/∂b = −Σ_j T_j T_j'/(1 + b s_j)²
        ∂ℓ/∂θ = −½[(N − p)·v'(∂M/∂θ)v/r + ∂log|W|/∂θ + tr(Mxx⁻¹ ∂Mxx/∂θ)]
    """
    p = design.n_fixed
    n = design.sizes
    da = 1.0 + a * n
    sums = design.sums
    m = design.cross - (sums * (a / da)[:, None]).T @ sums
    t_all = np.add.reduceat(sums / da[:, None], design.starts, axis=0)
    s = np.add.reduceat(n / da, design.starts)
    db = 1.0 + b * s
    c = b / db
    m = m - (t_all * c[:, None]).T @ t_all
    # numpy rather than scipy.linalg: at p ≤ 5 the wrappers' checks cost more than the algebra.
    chol = np.linalg.cholesky(m[:p, :p])
    inv_xx = np.linalg.inv(m[:p, :p])
    beta = inv_xx @ m[:p, p]
    df = design.n_obs - p
    resid = float(m[p, p] - m[:p, p] @ beta)
    if not resid > 0:
        raise np.linalg.LinAlgError("residual sum of squares is not positive")
    logdet = np.log(da).sum() + np.log(db).sum() + 2 * np.log(np.diag(chol)).sum()
    loglike = -0.5 * (df * (math.log(resid / df) + 1 + math.log(2 * math.pi)) + logdet)
    return _Reml(
        loglike=float(loglike),
        gradient=_gradient(design, beta, inv_xx, resid, t_all, s, da, db, c) if gradient else None,
        beta=beta,
        cov_unscaled=inv_xx,
        sigma2=resid / df,
        s=s,
        t=t_all[:, p] - t_all[:, :p] @ beta,
    )


def _gradient(
    design: _Design,
    beta: np.ndarray,
    inv_xx: np.ndarray,
    resid: float,
    t_all: np.ndarray,
    s: np.ndarray,
    da: np.ndarray,
    db: np.ndarray,
    c: np.ndarray,
) -> np.ndarray:
    """∂ℓ/∂(a, b) from the pieces `_reml` computed (formulas in its docstring)."""
    p = design.n_fixed
    n = design.sizes
    df = design.n_obs - p
    v = np.r_[-beta, 1.0]
    counts = np.diff(np.r_[design.starts, len(n)])
    q = (design.sums - (np.repeat(c, counts) * n)[:, None] * np.repeat(t_all, counts, axis=0)) / (
        da[:, None]
    )
    tb = t_all / db[:, None]
    d_logdet = (
        float(np.sum(n / da)) - float(np.sum(c * np.add.reduceat((n / da) ** 2, design.starts))),
        float(np.sum(s / db)),
    )
    return np.array(
        [
            -0.5
            * (
                -df * float(np.sum((part @ v) ** 2)) / resid
                + d_log
                - float(np.einsum("ij,jk,ik->", part[:, :p], inv_xx, part[:, :p]))
            )
            for part, d_log in zip((q, tb), d_logdet, strict=True)
        ]
    )


def _loglike(design: _Design, a: float, b: float) -> float:
    try:
        return _reml(design, a, b).loglike
    except np.linalg.LinAlgError:
        return -math.inf


def _moment_start(design: _Design) -> np.ndarray:
    """Nested-ANOVA estimates of (τ_u/σ², τ_v/σ²) on OLS residuals: the optimiser's start."""
    p = design.n_fixed
    beta = np.linalg.lstsq(design.cross[:p, :p], design.cross[:p, p], rcond=None)[0]
    v = np.r_[-beta, 1.0]
    total = float(v @ design.cross @ v)
    dyad_sums = design.sums @ v
    n = design.sizes
    within = total - float(np.sum(dyad_sums**2 / n))
    sigma2 = within / max(design.n_obs - len(n), 1)
    if not sigma2 > 0:
        return np.array([1.0, 0.1])
    dyad_mean = dyad_sums / n
    counts = np.diff(np.r_[design.starts, len(n)])
    therapist_mean = np.add.reduceat(dyad_mean, design.starts) / counts
    spread = dyad_mean - np.repeat(therapist_mean, counts)
    inv_n = float(np.mean(1 / n))
    tau_u = max(float(np.sum(spread**2)) / max(len(n) - len(counts), 1) - sigma2 * inv_n, 0.0)
    tau_v = max(
        float(np.var(therapist_mean, ddof=1)) - (tau_u + sigma2 * inv_n) / float(np.mean(counts)),
        0.0,
    )
    return np.array([tau_u / sigma2, tau_v / sigma2])


@dataclass(frozen=True)
class _Fit:
    design: _Design
    a: float
    b: float
    reml: _Reml
    converged: bool
    notes: tuple[str, ...]

    @property
    def tau_u(self) -> float:
        return self.a * self.reml.sigma2

    @property
    def tau_v(self) -> float:
        return self.b * self.reml.sigma2


def _fit(design: _Design) -> _Fit | Insufficient:
    scale = float(design.n_obs)

    def objective(x: np.ndarray) -> float:
        value = _loglike(design, float(x[0]), float(x[1]))
        return -value / scale if math.isfinite(value) else math.inf

    def objective_and_gradient(x: np.ndarray) -> tuple[float, np.ndarray]:
        try:
            reml = _reml(design, float(x[0]), float(x[1]), gradient=True)
        except np.linalg.LinAlgError:
            return math.inf, np.zeros(2)
        if reml.gradient is None:  # _reml computes it when asked (gradient=True)
            raise RuntimeError("REML gradient missing")
        return -reml.loglike / scale, -reml.gradient / scale

    # Exact collinearity can survive rounding as a tiny positive pivot, which Cholesky accepts
    # and turns into standard errors of millions: judge the scaled cross-products instead.
    p = design.n_fixed
    xx = design.cross[:p, :p]
    scaled = xx / np.sqrt(np.outer(np.diag(xx), np.diag(xx)))
    collinear = _("the model could not be fitted: the predictors are collinear")
    if not np.all(np.diag(xx) > 0) or np.linalg.eigvalsh(scaled)[0] < 1e-10:
        return Insufficient(collinear)
    bounds = [(0.0, None), (0.0, None)]
    start = _moment_start(design)
    if not math.isfinite(objective(start)):
        return Insufficient(collinear)
    notes: list[str] = []
    result = optimize.minimize(
        objective_and_gradient,
        start,
        method="L-BFGS-B",
        jac=True,
        bounds=bounds,
        options={"ftol": 1e-14, "gtol": 1e-10, "maxiter": _LBFGS_MAXITER},
    )
    converged = bool(result.success) and math.isfinite(result.fun)
    if not converged:
        notes.append(
            _("L-BFGS-B stopped (%(message)s); refitted with Powell.") % {"message": result.message}
        )
        origin = result.x if math.isfinite(result.fun) else start
        result = optimize.minimize(
            objective,
            origin,
            method="Powell",
            bounds=bounds,
            options={"xtol": 1e-10, "ftol": 1e-14, "maxiter": 20_000},
        )
        converged = bool(result.success) and math.isfinite(result.fun)
        if not converged:
            notes.append(
                _("Powell did not converge either (%(message)s).") % {"message": result.message}
            )
    a, b = (max(float(v), 0.0) for v in result.x)
    try:
        reml = _reml(design, a, b)
    except np.linalg.LinAlgError:
        return Insufficient(collinear)
    return _Fit(design, a, b, reml, converged, tuple(notes))


def _icc_interval(fit: _Fit) -> tuple[float, float]:
    """95% profile-likelihood interval of the therapist ICC c = b/(1 + a + b)."""
    design, best = fit.design, fit.reml.loglike
    icc = fit.b / (1 + fit.a + fit.b)

    def profile_deviance(c: float) -> float:
        # b = c(1 + a)/(1 − c) keeps the ICC at c; maximise over a = u/(1 − u), u ∈ [0, 1).
        def negative(u: float) -> float:
            a = u / (1 - u)
            return -_loglike(design, a, c * (1 + a) / (1 - c))

        inner = optimize.minimize_scalar(
            negative, bounds=(0.0, 1 - 1e-9), method="bounded", options={"xatol": 1e-7}
        )
        return max(2 * (best + min(float(inner.fun), negative(0.0))), 0.0)

    def excess(c: float) -> float:
        return profile_deviance(c) - _CHI2_95

    low = 0.0
    if icc > 0 and excess(0.0) > 0:
        low = float(optimize.brentq(excess, 0.0, icc, xtol=1e-6))
    high = 1.0
    if excess(_ICC_TOP) > 0:
        high = float(optimize.brentq(excess, icc, _ICC_TOP, xtol=1e-6))
    return low, high


def _coefficients(fit: _Fit) -> dict[str, Coefficient]:
    se = np.sqrt(np.diag(fit.reml.cov_unscaled) * fit.reml.sigma2)
    out = {}
    for name, estimate, error in zip(fit.design.names, fit.reml.beta, se, strict=True):
        z = estimate / error
        out[name] = Coefficient(
            estimate=float(estimate),
            se=float(error),
            ci_low=float(estimate - _Z95 * error),
            ci_high=float(estimate + _Z95 * error),
            p=float(2 * stats.norm.sf(abs(z))),
        )
    return out


# --- Public models -------------------------------------------------------------------------


def therapist_icc(
    frame: pd.DataFrame,
    value: str = "score",
    therapist: str = "therapist_id",
    dyad: str = "dyad_id",
    *,
    min_therapists: int = MIN_THERAPISTS,
    min_dyads: int = MIN_DYADS,
) -> TherapistEffects | Insufficient:
    """Variance components, ICCs (therapist ICC with its profile-likelihood interval) and
    shrunken therapist means of `value` (module docstring).

    `frame` has one row per session (e.g. one scale of `wide_by_session` output with the index
    reset); its index is ignored. Rows with a missing value, therapist or dyad are dropped.
    Returns Insufficient below `min_therapists` therapists or `min_dyads` dyads with data, when
    the components are not identified (fewer than `MIN_LEVEL_DF` sessions beyond each dyad's
    first, or dyads beyond each therapist's first), or when the scores are constant (overall or
    within every dyad). Raises ValueError if a dyad appears under two therapists.
    """
    data = _prepare(
        frame,
        {"y": value, "g": therapist, "d": dyad},
        min_therapists=min_therapists,
        min_dyads=min_dyads,
    )
    if isinstance(data, Insufficient):
        return data
    design = _design(data, ())
    fit = _fit(design)
    if isinstance(fit, Insufficient):
        return fit
    sigma2, tau_u, tau_v = fit.reml.sigma2, fit.tau_u, fit.tau_v
    total = tau_v + tau_u + sigma2
    intercept = float(fit.reml.beta[0])
    means = _therapist_means(fit, design, therapist)
    low, high = _icc_interval(fit)
    return TherapistEffects(
        therapist_variance=tau_v,
        dyad_variance=tau_u,
        residual_variance=sigma2,
        icc_therapist=tau_v / total,
        icc_dyad=(tau_v + tau_u) / total,
        intercept=intercept,
        n_therapists=len(means),
        n_dyads=len(design.sizes),
        n_obs=design.n_obs,
        converged=fit.converged,
        therapist_means=means,
        notes=fit.notes,
        icc_therapist_low=low,
        icc_therapist_high=high,
        on_boundary=fit.b < _BOUNDARY,
    )


def _therapist_means(fit: _Fit, design: _Design, therapist: str) -> pd.DataFrame:
    """Each therapist's raw and shrunken mean (BLUP) with its 95% interval, dyads, sessions."""
    reml = fit.reml
    sigma2 = reml.sigma2
    intercept = float(reml.beta[0])
    var_intercept = float(reml.cov_unscaled[0, 0]) * sigma2
    # BLUP v̂_j = τ_v·1'V_j⁻¹(y − Xβ̂) = b·t_j/(1 + b s_j); Var(v_j | y) = σ²·b/(1 + b s_j).
    shrink = 1 + fit.b * reml.s
    blup = fit.b * reml.t / shrink
    cond_var = sigma2 * fit.b / shrink
    half = _Z95 * np.sqrt(cond_var + var_intercept)
    counts = np.diff(np.r_[design.starts, len(design.sizes)])
    n_obs = np.add.reduceat(design.sizes, design.starts)
    y_sums = np.add.reduceat(design.sums[:, -1], design.starts)
    return pd.DataFrame(
        {
            "shrunken_mean": intercept + blup,
            "ci_low": intercept + blup - half,
            "ci_high": intercept + blup + half,
            "raw_mean": y_sums / n_obs,
            "n_dyads": counts.astype(int),
            "n_obs": n_obs.astype(int),
        },
        index=pd.Index(design.therapists, name=therapist),
    )


def _split_three_ways(data: pd.DataFrame) -> pd.DataFrame | Insufficient:
    """rel_within = x − x̄_ij, rel_dyad = x̄_ij − x̄_j, rel_therapist = x̄_j − x̄.. (§4.2).

    x̄_j is the mean of the therapist's dyad means and x̄.. the mean of therapist means, so a
    dyad with many sessions (or a therapist with many dyads) does not dominate a centre."""
    # Judged on the raw scores, not the centred ones: centring a constant dyad can leave
    # rounding residue that would look like variation.
    by_dyad = data.groupby("d")["x"]
    if not (by_dyad.max() > by_dyad.min()).any():
        return Insufficient(_("relationship scores did not vary within any dyad"))
    dyad_mean = by_dyad.transform("mean")
    dyad_means = data.groupby("d").agg(g=("g", "first"), x=("x", "mean"))
    therapist_means = dyad_means.groupby("g")["x"].mean()
    therapist_mean = data["g"].map(therapist_means)
    out = data.assign(
        rel_within=data["x"] - dyad_mean,
        rel_dyad=dyad_mean - therapist_mean,
        rel_therapist=therapist_mean - therapist_means.mean(),
    )
    tiny = 1e-12 * max(1.0, float(np.abs(dyad_means["x"]).max()))
    if np.ptp(dyad_means["x"]) <= tiny:
        return Insufficient(_("dyads' mean relationship scores did not differ"))
    if np.ptp(out["rel_dyad"]) <= tiny:
        return Insufficient(
            _("dyads' mean relationship scores did not differ within any therapist's caseload")
        )
    if np.ptp(therapist_means) <= tiny:
        return Insufficient(_("therapists' mean relationship scores did not differ"))
    return out


def _detrended_fit(data: pd.DataFrame, levels: tuple[str, ...]) -> _Fit | Insufficient:
    """The model again with the session number centred within the dyad as a covariate."""
    trend = data["t"] - data.groupby("d")["t"].transform("mean")
    return _fit(_design(data.assign(session_trend=trend), (*levels, "session_trend")))


def outcome_on_relationship(
    frame: pd.DataFrame,
    outcome: str,
    relationship: str,
    dyad: str = "dyad_id",
    therapist: str = "therapist_id",
    *,
    session: str | None = "session_number",
    min_therapists: int = MIN_THERAPISTS,
    min_dyads: int = MIN_DYADS,
) -> OutcomeModel | Insufficient:
    """Session-, dyad- and therapist-level effects of the relationship on a session outcome.

        y_tij = γ0 + γ1·(RR_tij − RR̄_ij) + γ2·(RR̄_ij − RR̄_j) + γ3·(RR̄_j − RR̄..)
                + v_j + u_ij + e_tij

    γ1 ("rel_within") is the state-like effect: sessions where this dyad's relationship is
    above its own mean. γ2 ("rel_dyad") compares dyads of the same therapist; γ3
    ("rel_therapist") compares therapists' average relationships. Means are taken over the
    complete rows used in the fit. A dyad random intercept sits beside the therapist one
    because sessions are nested in dyads; leaving it out would understate the standard error
    of γ2. CIs are Wald intervals (normal).

    When `session` names a column, the model is fitted a second time with
    session_trend = t − t̄_ij (the session number centred within the dyad) as a covariate:
    γ1 there is the within-dyad effect beyond each dyad's linear drift over sessions
    (`OutcomeModel.detrended`).
    """
    columns = {"y": outcome, "x": relationship, "g": therapist, "d": dyad}
    if session is not None:
        columns["t"] = session
    data = _prepare(frame, columns, min_therapists=min_therapists, min_dyads=min_dyads)
    if isinstance(data, Insufficient):
        return data
    data = _split_three_ways(data)
    if isinstance(data, Insufficient):
        return data
    levels = ("rel_within", "rel_dyad", "rel_therapist")
    fit = _fit(_design(data, levels))
    if isinstance(fit, Insufficient):
        return fit
    detrended: dict[str, Coefficient] = {}
    converged, notes = fit.converged, fit.notes
    trended = _detrended_fit(data, levels) if session is not None else None
    if session is None:
        detrended_reason = _("no session numbers were given")
    elif isinstance(trended, Insufficient) or trended is None:
        detrended_reason = _(
            "the relationship scores moved in step with the session number, so their "
            "effect beyond the trend cannot be estimated"
        )
    else:
        detrended_reason = ""
        detrended = _coefficients(trended)
        converged = converged and trended.converged
        notes = tuple(dict.fromkeys((*notes, *trended.notes)))
    return OutcomeModel(
        coefficients=_coefficients(fit),
        therapist_variance=fit.tau_v,
        dyad_variance=fit.tau_u,
        residual_variance=fit.reml.sigma2,
        n_therapists=len(fit.design.starts),
        n_dyads=len(fit.design.sizes),
        n_obs=fit.design.n_obs,
        converged=converged,
        notes=notes,
        detrended=detrended,
        detrended_reason=detrended_reason,
    )
