from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf
from scipy import optimize, stats

from outcomes.analytics import multilevel
from outcomes.analytics.multilevel import (
    Insufficient,
    OutcomeModel,
    TherapistEffects,
    outcome_on_relationship,
    therapist_icc,
)

Z95 = 1.959963984540054
CHI2_95 = stats.chi2.ppf(0.95, 1)


def unbalanced(seed, a=10, tv=0.15, tu=0.25, s2=0.5, dyads=(2, 6), sessions=(2, 10)):
    """a therapists with 2-6 dyads of 2-10 sessions each: a small simulated clinic."""
    rng = np.random.default_rng(seed)
    rows = []
    dyad = 0
    for t in range(a):
        v = rng.normal(0, np.sqrt(tv))
        for _ in range(rng.integers(dyads[0], dyads[1] + 1)):
            u = rng.normal(0, np.sqrt(tu))
            x_level = rng.normal(0, 0.5)
            for number in range(1, rng.integers(sessions[0], sessions[1] + 1) + 1):
                e = rng.normal(0, np.sqrt(s2))
                rows.append((t, dyad, number, 3.0 + v + u + e, 4 + x_level + rng.normal(0, 0.4)))
            dyad += 1
    return pd.DataFrame(rows, columns=["therapist_id", "dyad_id", "session_number", "score", "rr"])


def statsmodels_fit(frame, formula="score ~ 1", *, polish=True):
    """The method Dyad used before: statsmodels MixedLM, REML, Powell then L-BFGS.

    Powell stops about 1e-5 of REML log-likelihood short of the optimum, which moves τ_v by
    up to ~6e-4 on these clinics; `polish` continues from there with L-BFGS at gtol 1e-12,
    statsmodels' own optimum, which is what the estimates are compared with."""
    model = smf.mixedlm(
        formula,
        frame,
        groups="therapist_id",
        re_formula="1",
        vc_formula={"dyad": "0 + C(dyad_id)"},
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = model.fit(method=["powell", "lbfgs"], reml=True)
        if polish:
            result = model.fit(
                start_params=result.params_object, method=["lbfgs"], reml=True, gtol=1e-12
            )
    return model, result


def balanced(seed, a=12, b=5, n=8, tv=0.25, tu=0.16, s2=0.36):
    """a therapists × b dyads each × n sessions each, with known variance components."""
    rng = np.random.default_rng(seed)
    therapist = np.repeat(np.arange(a), b * n)
    dyad = np.repeat(np.arange(a * b), n)
    score = (
        3.0
        + rng.normal(0, np.sqrt(tv), a)[therapist]
        + rng.normal(0, np.sqrt(tu), a * b)[dyad]
        + rng.normal(0, np.sqrt(s2), a * b * n)
    )
    return pd.DataFrame(
        {"therapist_id": therapist, "dyad_id": dyad, "session_number": 0, "score": score}
    )


def anova_components(frame, a, b, n):
    """Balanced nested ANOVA (expected mean squares); equals REML when all are positive.

    MS_T = bn·Σ(ȳ_j − ȳ)²/(a − 1), MS_D = n·ΣΣ(ȳ_ij − ȳ_j)²/(a(b − 1)),
    MS_E = ΣΣΣ(y − ȳ_ij)²/(ab(n − 1));
    σ² = MS_E, τ_u = (MS_D − MS_E)/n, τ_v = (MS_T − MS_D)/(bn).
    """
    y = frame["score"].to_numpy()
    t_mean = frame.groupby("therapist_id")["score"].mean().to_numpy()
    d_mean = frame.groupby("dyad_id")["score"].mean().to_numpy()
    grand = y.mean()
    ms_t = b * n * np.sum((t_mean - grand) ** 2) / (a - 1)
    ms_d = n * np.sum((d_mean - np.repeat(t_mean, b)) ** 2) / (a * (b - 1))
    ms_e = np.sum((y - np.repeat(d_mean, n)) ** 2) / (a * b * (n - 1))
    return (ms_t - ms_d) / (b * n), (ms_d - ms_e) / n, ms_e, t_mean, grand


@pytest.mark.parametrize("seed", [1, 2])
def test_variance_components_equal_balanced_anova(seed):
    a, b, n = 12, 5, 8
    frame = balanced(seed, a, b, n)
    tv, tu, s2, _, _ = anova_components(frame, a, b, n)
    assert min(tv, tu, s2) > 0  # precondition for REML = ANOVA
    got = therapist_icc(frame)
    assert isinstance(got, TherapistEffects)
    assert got.ok and got.converged
    assert got.therapist_variance == pytest.approx(tv, rel=2e-3)
    assert got.dyad_variance == pytest.approx(tu, rel=2e-3)
    assert got.residual_variance == pytest.approx(s2, rel=2e-3)
    assert got.icc_therapist == pytest.approx(tv / (tv + tu + s2), rel=2e-3)
    assert got.icc_dyad == pytest.approx((tv + tu) / (tv + tu + s2), rel=2e-3)
    assert (got.n_therapists, got.n_dyads, got.n_obs) == (a, a * b, a * b * n)


def test_zero_therapist_variance_reaches_the_boundary_optimum():
    # Balanced data with no therapist effect, chosen so MS_T < MS_D (ANOVA τ_v < 0). REML then
    # puts τ_v at 0 and pools therapist and dyad sums of squares (Thompson's rule):
    # τ_u = [(SS_T + SS_D)/(ab − 1) − MS_E]/n, σ² = MS_E.
    a, b, n = 8, 4, 6
    frame = balanced(0, a, b, n, tv=0.0, tu=0.1, s2=0.5)
    tv, _, s2, t_mean, grand = anova_components(frame, a, b, n)
    assert tv < 0  # precondition: the unconstrained estimate is negative
    d_mean = frame.groupby("dyad_id")["score"].mean().to_numpy()
    ss_between_dyads = n * np.sum((d_mean - grand) ** 2)  # = SS_T + SS_D
    tu_pooled = (ss_between_dyads / (a * b - 1) - s2) / n
    got = therapist_icc(frame)
    assert isinstance(got, TherapistEffects)
    assert got.therapist_variance == pytest.approx(0.0, abs=1e-5)
    assert got.dyad_variance == pytest.approx(tu_pooled, rel=2e-3)
    assert got.residual_variance == pytest.approx(s2, rel=2e-3)
    np.testing.assert_allclose(got.therapist_means["shrunken_mean"], grand, atol=1e-3)


def test_shrunken_means_and_intervals_match_closed_form():
    a, b, n = 12, 5, 8
    frame = balanced(1, a, b, n)
    tv, tu, s2, t_mean, grand = anova_components(frame, a, b, n)
    got = therapist_icc(frame)
    # Balanced case: Var(ȳ_j) = V = τ_v + τ_u/b + σ²/(bn); shrinkage λ = τ_v/V;
    # BLUP mean = ȳ + λ(ȳ_j − ȳ); Var(v_j | y) = τ_v(1 − λ); Var(γ̂) = V/a.
    v = tv + tu / b + s2 / (b * n)
    lam = tv / v
    means = got.therapist_means
    assert got.intercept == pytest.approx(grand, abs=1e-9)
    np.testing.assert_allclose(means["shrunken_mean"], grand + lam * (t_mean - grand), atol=2e-4)
    half = Z95 * np.sqrt(tv * (1 - lam) + v / a)
    np.testing.assert_allclose(means["ci_high"] - means["shrunken_mean"], half, rtol=2e-3)
    np.testing.assert_allclose(means["shrunken_mean"] - means["ci_low"], half, rtol=2e-3)
    np.testing.assert_allclose(means["raw_mean"], t_mean)
    assert means["n_dyads"].tolist() == [b] * a
    assert means["n_obs"].tolist() == [b * n] * a
    assert means.index.name == "therapist_id"
    # Shrinkage pulls every therapist towards the grand mean.
    assert np.all(np.abs(means["shrunken_mean"] - grand) < np.abs(t_mean - grand))


def test_no_warnings_escape_and_boundary_fit_is_flagged_not_printed():
    rng = np.random.default_rng(3)
    therapist = np.repeat(np.arange(6), 12)
    dyad = np.repeat(np.arange(18), 4)
    frame = pd.DataFrame(
        {"therapist_id": therapist, "dyad_id": dyad, "score": 3 + rng.normal(0, 0.6, 72)}
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # any warning reaching the caller fails the test
        got = therapist_icc(frame)
    assert isinstance(got, TherapistEffects)
    assert isinstance(got.converged, bool)
    assert got.therapist_variance >= 0 and got.dyad_variance >= 0
    assert all(isinstance(note, str) for note in got.notes)


def test_custom_column_names_and_missing_values_are_dropped():
    frame = balanced(4).rename(columns={"therapist_id": "t", "dyad_id": "d", "score": "rri"})
    frame.loc[::7, "rri"] = np.nan
    got = therapist_icc(frame, value="rri", therapist="t", dyad="d")
    assert isinstance(got, TherapistEffects)
    assert got.n_obs == frame["rri"].notna().sum()
    assert got.therapist_means.index.name == "t"


def test_too_few_therapists():
    frame = balanced(5, a=3, b=5)
    got = therapist_icc(frame)
    assert isinstance(got, Insufficient)
    assert not got.ok
    assert got.reason == "3 therapists with data; at least 5 are needed"


def test_therapists_without_data_do_not_count():
    frame = balanced(5, a=6, b=2)
    frame.loc[frame["therapist_id"] == 0, "score"] = np.nan
    got = therapist_icc(frame, min_dyads=2)
    assert isinstance(got, TherapistEffects)
    assert got.n_therapists == 5
    frame.loc[frame["therapist_id"] == 1, "score"] = np.nan
    assert therapist_icc(frame, min_dyads=2).reason == (
        "4 therapists with data; at least 5 are needed"
    )


def test_too_few_dyads():
    got = therapist_icc(balanced(6, a=6, b=1))
    assert isinstance(got, Insufficient)
    assert got.reason == "6 dyads with data; at least 10 are needed"


def test_one_score_per_dyad_and_constant_scores_refuse():
    single = balanced(7, a=6, b=3, n=1)
    assert "single score" in therapist_icc(single).reason
    flat = balanced(7, a=6, b=3).assign(score=4.0)
    assert therapist_icc(flat).reason == "the scores did not vary"


def test_empty_frame_refuses():
    empty = balanced(1).iloc[0:0]
    assert therapist_icc(empty).reason == "0 therapists with data; at least 5 are needed"


def test_dyad_under_two_therapists_raises():
    frame = balanced(8, a=6, b=3)
    frame.loc[frame.index[0], "therapist_id"] = 5
    with pytest.raises(ValueError, match="more than one therapist"):
        therapist_icc(frame)


def dense_gls(frame, columns, tau_v, tau_u, sigma2, value="score"):
    """(X'V⁻¹X)⁻¹, β̂ and V⁻¹ from the full N × N covariance matrix: the textbook GLS that the
    per-dyad sums avoid building."""
    t = frame["therapist_id"].to_numpy()
    d = frame["dyad_id"].to_numpy()
    v = (
        sigma2 * np.eye(len(frame))
        + tau_u * (d[:, None] == d[None, :])
        + tau_v * (t[:, None] == t[None, :])
    )
    x = np.column_stack([np.ones(len(frame)), *(frame[c].to_numpy() for c in columns)])
    v_inv = np.linalg.inv(v)
    cov = np.linalg.inv(x.T @ v_inv @ x)
    beta = cov @ x.T @ v_inv @ frame[value].to_numpy()
    return cov, beta, v_inv


# --- against statsmodels -------------------------------------------------------------------


@pytest.mark.parametrize("seed", [11, 12, 13])
def test_matches_statsmodels_on_simulated_clinics(seed):
    frame = unbalanced(seed)
    _, ref = statsmodels_fit(frame)
    got = therapist_icc(frame)
    assert isinstance(got, TherapistEffects) and got.converged and got.notes == ()
    assert got.therapist_variance == pytest.approx(float(ref.cov_re.iloc[0, 0]), abs=1e-4)
    assert got.dyad_variance == pytest.approx(float(ref.vcomp[0]), abs=1e-4)
    assert got.residual_variance == pytest.approx(float(ref.scale), abs=1e-4)
    assert got.intercept == pytest.approx(float(ref.fe_params.iloc[0]), abs=1e-4)
    _, old = statsmodels_fit(frame, polish=False)
    assert got.therapist_variance == pytest.approx(float(old.cov_re.iloc[0, 0]), abs=1e-3)
    blups = np.array([float(ref.random_effects[t].iloc[0]) for t in got.therapist_means.index])
    np.testing.assert_allclose(
        got.therapist_means["shrunken_mean"], ref.fe_params.iloc[0] + blups, atol=1e-4
    )
    cond = np.array(
        [float(np.asarray(ref.random_effects_cov[t])[0, 0]) for t in got.therapist_means.index]
    )
    # Var(γ̂) is the GLS (X'V⁻¹X)⁻¹ at the estimates, as in lme4 and nlme; statsmodels'
    # cov_params() inverts the observed Hessian of all parameters and differs by a few %.
    cov, _, _ = dense_gls(
        frame, (), got.therapist_variance, got.dyad_variance, got.residual_variance
    )
    assert float(cov[0, 0]) == pytest.approx(float(ref.cov_params().iloc[0, 0]), rel=5e-2)
    np.testing.assert_allclose(
        got.therapist_means["ci_high"] - got.therapist_means["shrunken_mean"],
        Z95 * np.sqrt(cond + cov[0, 0]),
        rtol=1e-4,
    )


def test_likelihood_equals_statsmodels_and_the_optimum_is_no_worse():
    frame = unbalanced(21)
    model, ref = statsmodels_fit(frame, polish=False)
    data = multilevel._prepare(
        frame, {"y": "score", "g": "therapist_id", "d": "dyad_id"}, min_therapists=5, min_dyads=10
    )
    design = multilevel._design(data, ())
    for a, b in [(0.3, 0.2), (1.0, 0.01), (0.05, 2.0), (2.0, 0.5)]:
        # statsmodels packs √b (the Cholesky factor of τ_v/σ²) and √a, σ² profiled out.
        theirs = model.loglike(np.array([np.sqrt(b), np.sqrt(a)]), profile_fe=True)
        assert multilevel._loglike(design, a, b) == pytest.approx(theirs, abs=1e-8)
    # Gradient: central differences of the same likelihood.
    h = 1e-6
    for a, b in [(0.3, 0.2), (1.2, 0.05)]:
        gradient = multilevel._reml(design, a, b, gradient=True).gradient
        numeric = [
            (multilevel._loglike(design, a + h, b) - multilevel._loglike(design, a - h, b))
            / (2 * h),
            (multilevel._loglike(design, a, b + h) - multilevel._loglike(design, a, b - h))
            / (2 * h),
        ]
        np.testing.assert_allclose(gradient, numeric, rtol=1e-5)
    # The fit reaches at least the REML likelihood the previous method (Powell) reached.
    fit = multilevel._fit(design)
    assert fit.reml.loglike >= ref.llf - 1e-9


def test_powell_is_the_fallback_when_lbfgs_stops(monkeypatch):
    frame = unbalanced(14)
    first = therapist_icc(frame)
    monkeypatch.setattr(multilevel, "_LBFGS_MAXITER", 1)
    fallback = therapist_icc(frame)
    assert isinstance(fallback, TherapistEffects)
    assert any("refitted with Powell" in note for note in fallback.notes)
    assert fallback.converged
    assert fallback.therapist_variance == pytest.approx(first.therapist_variance, abs=1e-4)
    assert fallback.dyad_variance == pytest.approx(first.dyad_variance, abs=1e-4)


def test_the_frames_index_plays_no_part():
    frame = unbalanced(15)
    repeated = frame.set_axis(np.zeros(len(frame), dtype=int))
    shuffled = frame.sample(frac=1.0, random_state=1).set_axis(np.arange(len(frame))[::-1])
    base = therapist_icc(frame)
    same = therapist_icc(repeated)
    assert same.therapist_variance == base.therapist_variance
    pd.testing.assert_frame_equal(same.therapist_means, base.therapist_means)
    # Row order changes only the floating-point sums.
    other = therapist_icc(shuffled)
    assert other.therapist_variance == pytest.approx(base.therapist_variance, abs=1e-6)
    assert other.dyad_variance == pytest.approx(base.dyad_variance, abs=1e-6)
    pd.testing.assert_frame_equal(other.therapist_means, base.therapist_means, atol=1e-6)
    frame["session_outcome"] = frame["score"] + 0.5 * frame["rr"]
    plain = outcome_on_relationship(frame, "session_outcome", "rr")
    again = outcome_on_relationship(
        frame.set_axis(np.zeros(len(frame), dtype=int)), "session_outcome", "rr"
    )
    assert again.coefficients["rel_within"].estimate == pytest.approx(
        plain.coefficients["rel_within"].estimate, abs=1e-12
    )


# --- the therapist ICC's interval ------------------------------------------------------------


def test_icc_interval_ends_where_the_profile_deviance_reaches_the_chi2_cutoff():
    # Independent of Dyad's likelihood: statsmodels' profile likelihood at each end, the
    # dyad-variance ratio a maximised by scipy, b = c(1 + a)/(1 − c) holding the ICC at c.
    frame = unbalanced(32, a=10, tv=0.4)
    model, ref = statsmodels_fit(frame)
    got = therapist_icc(frame)
    assert 0 < got.icc_therapist_low < got.icc_therapist < got.icc_therapist_high < 1

    def deviance(c):
        def negative(log_a):
            a = np.exp(log_a)
            b = c * (1 + a) / (1 - c)
            return -model.loglike(np.array([np.sqrt(b), np.sqrt(a)]), profile_fe=True)

        inner = optimize.minimize_scalar(negative, bounds=(-12, 4), method="bounded")
        return 2 * (ref.llf + inner.fun)

    assert deviance(got.icc_therapist_low) == pytest.approx(CHI2_95, abs=2e-3)
    assert deviance(got.icc_therapist_high) == pytest.approx(CHI2_95, abs=2e-3)


def test_icc_interval_covers_the_truth():
    # 30 small clinics with a known therapist ICC of 0.15/(0.15 + 0.25 + 0.5) = 1/6. The
    # endpoints themselves are pinned by the test above; this checks the interval is about
    # the right quantity: Binomial(30, .95) < 26 has probability 0.016.
    truth = 0.15 / 0.9
    results = [therapist_icc(unbalanced(2000 + i, a=8)) for i in range(30)]
    covered = [r.icc_therapist_low <= truth <= r.icc_therapist_high for r in results]
    assert sum(covered) >= 26
    # and it is not [0, 1] every time.
    assert np.median([r.icc_therapist_high - r.icc_therapist_low for r in results]) < 0.6


def test_boundary_fit_reports_an_interval_from_zero():
    a, b, n = 8, 4, 6
    got = therapist_icc(balanced(0, a, b, n, tv=0.0, tu=0.1, s2=0.5))
    assert got.on_boundary and got.therapist_variance == 0.0
    assert got.icc_therapist_low == 0.0
    assert 0 < got.icc_therapist_high < 1
    interior = therapist_icc(balanced(1))
    assert not interior.on_boundary


# --- identification --------------------------------------------------------------------------


def test_one_dyad_with_two_scores_refuses_rather_than_reporting_zeros():
    frame = balanced(9, a=6, b=3, n=1)
    extra = frame.iloc[[0]].assign(score=frame["score"].iloc[0] + 0.7)
    got = therapist_icc(pd.concat([frame, extra]))
    assert isinstance(got, Insufficient)
    assert got.reason == (
        "only 1 dyad has more than one score (1 session beyond its first; at least 5 are "
        "needed), so the data cannot tell session-to-session variation from differences "
        "between dyads"
    )


def test_one_dyad_per_therapist_refuses():
    frame = balanced(10, a=10, b=1, n=6)
    got = therapist_icc(frame)
    assert isinstance(got, Insufficient)
    assert got.reason == (
        "only 0 therapists have more than one dyad (0 dyads beyond each therapist's first; at "
        "least 5 are needed), so the data cannot tell differences between therapists from "
        "differences between dyads"
    )


def test_scores_constant_within_every_dyad_refuse():
    frame = balanced(11, a=6, b=3)
    frame["score"] = frame.groupby("dyad_id")["score"].transform("mean")
    assert therapist_icc(frame).reason == (
        "the scores did not vary within any dyad, so session-to-session variation cannot be "
        "estimated"
    )


# --- outcome on relationship --------------------------------------------------------------


def outcome_frame(
    seed, a=10, b=6, n=10, within=0.8, dyad_effect=2.0, therapist_effect=-1.0, drift=0.0
):
    """Known effects at each level; `drift` moves relationship and outcome together over
    sessions (per session, in both), which a plain within-dyad slope mistakes for an effect."""
    rng = np.random.default_rng(seed)
    therapist = np.repeat(np.arange(a), b * n)
    dyad = np.repeat(np.arange(a * b), n)
    number = np.tile(np.arange(1, n + 1), a * b)
    t_level = rng.normal(0, 0.4, a)
    d_level = rng.normal(0, 0.5, a * b)
    state = rng.normal(0, 0.3, a * b * n)
    rr = 4 + t_level[therapist] + d_level[dyad] + state + drift * number
    outcome = (
        1
        + within * state
        + dyad_effect * d_level[dyad]
        + therapist_effect * t_level[therapist]
        + drift * number
        + rng.normal(0, 0.3, a)[therapist]
        + rng.normal(0, 0.3, a * b)[dyad]
        + rng.normal(0, 0.4, a * b * n)
    )
    return pd.DataFrame(
        {
            "therapist_id": therapist,
            "dyad_id": dyad,
            "session_number": number,
            "rr": rr,
            "session_outcome": outcome,
        }
    )


def _split(frame):
    dyad_mean = frame.groupby("dyad_id")["rr"].transform("mean")
    dyad_means = frame.groupby("dyad_id").agg(t=("therapist_id", "first"), rr=("rr", "mean"))
    therapist_means = dyad_means.groupby("t")["rr"].mean()
    therapist_mean = frame["therapist_id"].map(therapist_means)
    return frame.assign(
        rel_within=frame["rr"] - dyad_mean,
        rel_dyad=dyad_mean - therapist_mean,
        rel_therapist=therapist_mean - therapist_means.mean(),
        session_trend=frame["session_number"]
        - frame.groupby("dyad_id")["session_number"].transform("mean"),
    )


@pytest.mark.parametrize("seed", [1, 2])
def test_outcome_model_matches_statsmodels(seed):
    frame = outcome_frame(seed, a=8, b=4, n=6)
    frame = frame.sample(frac=0.85, random_state=seed)  # unbalanced
    got = outcome_on_relationship(frame, "session_outcome", "rr")
    assert isinstance(got, OutcomeModel) and got.converged
    split = _split(frame).rename(columns={"session_outcome": "score"})
    for coefficients, formula in (
        (got.coefficients, "score ~ rel_within + rel_dyad + rel_therapist"),
        (got.detrended, "score ~ rel_within + rel_dyad + rel_therapist + session_trend"),
    ):
        _, ref = statsmodels_fit(split, formula)
        assert set(coefficients) == set(ref.fe_params.index)
        for name, c in coefficients.items():
            assert c.estimate == pytest.approx(float(ref.fe_params[name]), abs=1e-4)
            # statsmodels' standard errors come from the observed Hessian of all parameters.
            assert c.se == pytest.approx(float(ref.bse_fe[name]), rel=2e-2)
    _, plain = statsmodels_fit(split, "score ~ rel_within + rel_dyad + rel_therapist")
    # Variances to 1e-4 relative: at 8 therapists the likelihood is flat enough in τ_v that
    # 1e-4 of τ_v moves it by ~1e-8, below statsmodels' own optimiser tolerance.
    assert got.therapist_variance == pytest.approx(float(plain.cov_re.iloc[0, 0]), rel=1e-4)
    assert got.dyad_variance == pytest.approx(float(plain.vcomp[0]), rel=1e-4)
    assert got.residual_variance == pytest.approx(float(plain.scale), rel=1e-4)
    # Standard errors and p: the GLS covariance (X'V⁻¹X)⁻¹ at the estimates, dense.
    cov, beta, _ = dense_gls(
        split,
        ("rel_within", "rel_dyad", "rel_therapist"),
        got.therapist_variance,
        got.dyad_variance,
        got.residual_variance,
    )
    for k, name in enumerate(("Intercept", "rel_within", "rel_dyad", "rel_therapist")):
        c = got.coefficients[name]
        assert c.estimate == pytest.approx(beta[k], abs=1e-9)
        assert c.se == pytest.approx(np.sqrt(cov[k, k]), rel=1e-9)
        assert c.p == pytest.approx(2 * stats.norm.sf(abs(beta[k]) / np.sqrt(cov[k, k])), rel=1e-6)


def test_within_effect_equals_fixed_effects_estimator():
    frame = outcome_frame(1)
    got = outcome_on_relationship(frame, "session_outcome", "rr")
    assert isinstance(got, OutcomeModel)
    assert got.ok and got.converged
    # With person-mean-centred predictors the within-dyad slope equals the dyad fixed-effects
    # (demeaned OLS) slope: Σ x̃ỹ / Σ x̃², x̃ and ỹ centred on their dyad means (Mundlak 1978).
    x_t = frame["rr"] - frame.groupby("dyad_id")["rr"].transform("mean")
    y_t = frame["session_outcome"] - frame.groupby("dyad_id")["session_outcome"].transform("mean")
    fe_slope = float((x_t * y_t).sum() / (x_t**2).sum())
    within = got.coefficients["rel_within"]
    assert within.estimate == pytest.approx(fe_slope, abs=1e-6)
    assert within.ci_low == pytest.approx(within.estimate - Z95 * within.se, abs=1e-9)
    assert within.ci_high == pytest.approx(within.estimate + Z95 * within.se, abs=1e-9)
    assert set(got.coefficients) == {"Intercept", "rel_within", "rel_dyad", "rel_therapist"}
    assert (got.n_therapists, got.n_dyads, got.n_obs) == (10, 60, 600)
    # Detrended: the same demeaned OLS with the demeaned session number beside it (Frisch-
    # Waugh: the within block of the mixed model is the within regression).
    t_t = frame["session_number"] - frame.groupby("dyad_id")["session_number"].transform("mean")
    ols = np.linalg.lstsq(np.column_stack([x_t, t_t]), y_t, rcond=None)[0]
    assert got.detrended["rel_within"].estimate == pytest.approx(ols[0], abs=1e-6)
    assert got.detrended["session_trend"].estimate == pytest.approx(ols[1], abs=1e-6)


def test_recovers_the_three_levels_separately():
    frame = outcome_frame(2, a=30, b=8, n=12)
    got = outcome_on_relationship(frame, "session_outcome", "rr")
    assert isinstance(got, OutcomeModel)
    for name, truth in (("rel_within", 0.8), ("rel_dyad", 2.0), ("rel_therapist", -1.0)):
        c = got.coefficients[name]
        assert c.ci_low < truth < c.ci_high, name
    # The levels are told apart: the dyad-level interval excludes the therapist-level
    # estimate, so blending them (the old rel_between) would have described neither.
    dyad_level = got.coefficients["rel_dyad"]
    assert not dyad_level.ci_low < got.coefficients["rel_therapist"].estimate < dyad_level.ci_high
    assert got.therapist_variance > 0 and got.dyad_variance > 0


def test_detrended_slope_removes_a_shared_drift():
    # No within-dyad effect at all (within=0) but both scores rise 0.1 per session.
    frame = outcome_frame(3, a=10, b=6, n=12, within=0.0, drift=0.1)
    got = outcome_on_relationship(frame, "session_outcome", "rr")
    plain, detrended = got.coefficients["rel_within"], got.detrended["rel_within"]
    assert plain.ci_low > 0.3  # the drift alone makes a large "effect"
    assert detrended.ci_low < 0 < detrended.ci_high
    assert got.detrended["session_trend"].ci_low < 0.1 < got.detrended["session_trend"].ci_high


def test_relationship_in_lockstep_with_the_session_number_has_no_detrended_estimate():
    frame = outcome_frame(5)
    # Exactly linear in the session number within every dyad, at dyad-specific levels.
    frame["rr"] = 4 + 0.1 * frame["session_number"] + 0.01 * frame["dyad_id"]
    frame["rr"] += 0.2 * (frame["therapist_id"] % 3)
    got = outcome_on_relationship(frame, "session_outcome", "rr")
    assert isinstance(got, OutcomeModel) and "rel_within" in got.coefficients
    assert got.detrended == {}
    assert got.detrended_reason == (
        "the relationship scores moved in step with the session number, so their effect "
        "beyond the trend cannot be estimated"
    )


def test_without_session_numbers_there_is_no_detrended_estimate():
    frame = outcome_frame(4).drop(columns="session_number")
    got = outcome_on_relationship(frame, "session_outcome", "rr", session=None)
    assert got.detrended == {} and got.detrended_reason == "no session numbers were given"


def test_outcome_model_refusals():
    frame = outcome_frame(3)
    few = frame[frame["therapist_id"] < 4]
    assert outcome_on_relationship(few, "session_outcome", "rr").reason == (
        "4 therapists with data; at least 5 are needed"
    )
    flat_within = frame.assign(rr=frame.groupby("dyad_id")["rr"].transform("mean"))
    assert outcome_on_relationship(flat_within, "session_outcome", "rr").reason == (
        "relationship scores did not vary within any dyad"
    )
    # Every dyad alternates 3.5 / 4.5 over 10 sessions: identical means of exactly 4.0.
    same_means = frame.assign(rr=np.tile([3.5, 4.5], len(frame) // 2))
    assert outcome_on_relationship(same_means, "session_outcome", "rr").reason == (
        "dyads' mean relationship scores did not differ"
    )
    # Each therapist's dyads share one mean, but therapists differ: no dyad level to estimate.
    shifted = same_means.assign(rr=same_means["rr"] + same_means["therapist_id"] * 0.1)
    assert outcome_on_relationship(shifted, "session_outcome", "rr").reason == (
        "dyads' mean relationship scores did not differ within any therapist's caseload"
    )
    assert outcome_on_relationship(frame, "session_outcome", "rr", min_dyads=61).reason == (
        "60 dyads with data; at least 61 are needed"
    )


def test_outcome_model_rows_missing_either_value_are_dropped():
    frame = outcome_frame(4)
    frame.loc[::5, "rr"] = np.nan
    frame.loc[1::9, "session_outcome"] = np.nan
    got = outcome_on_relationship(frame, "session_outcome", "rr")
    assert isinstance(got, OutcomeModel)
    assert got.n_obs == len(frame.dropna(subset=["rr", "session_outcome"]))
