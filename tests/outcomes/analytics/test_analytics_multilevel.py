from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from outcomes.analytics.multilevel import (
    Insufficient,
    OutcomeModel,
    TherapistEffects,
    outcome_on_relationship,
    therapist_icc,
)

Z95 = 1.959963984540054


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


# --- outcome on relationship --------------------------------------------------------------


def outcome_frame(seed, a=10, b=6, n=10, within=0.8, between=2.0):
    rng = np.random.default_rng(seed)
    therapist = np.repeat(np.arange(a), b * n)
    dyad = np.repeat(np.arange(a * b), n)
    rr = 4 + rng.normal(0, 0.5, a * b)[dyad] + rng.normal(0, 0.3, a * b * n)
    rr_mean = pd.Series(rr).groupby(dyad).transform("mean").to_numpy()
    outcome = (
        1
        + within * (rr - rr_mean)
        + between * (rr_mean - 4)
        + rng.normal(0, 0.3, a)[therapist]
        + rng.normal(0, 0.3, a * b)[dyad]
        + rng.normal(0, 0.4, a * b * n)
    )
    return pd.DataFrame(
        {"therapist_id": therapist, "dyad_id": dyad, "rr": rr, "session_outcome": outcome}
    )


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
    assert set(got.coefficients) == {"Intercept", "rel_within", "rel_between"}
    assert (got.n_therapists, got.n_dyads, got.n_obs) == (10, 60, 600)


def test_recovers_simulated_effects():
    frame = outcome_frame(2, a=20, b=8, n=12)
    got = outcome_on_relationship(frame, "session_outcome", "rr")
    assert isinstance(got, OutcomeModel)
    within, between = got.coefficients["rel_within"], got.coefficients["rel_between"]
    assert within.ci_low < 0.8 < within.ci_high
    assert between.ci_low < 2.0 < between.ci_high
    assert between.p < 1e-6
    assert got.therapist_variance > 0 and got.dyad_variance > 0


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
