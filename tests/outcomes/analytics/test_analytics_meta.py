from __future__ import annotations

import numpy as np
import pytest
from scipy import stats
from statsmodels.stats.meta_analysis import combine_effects

from outcomes.analytics.meta import (
    BENCHMARK,
    BENCHMARK_NOTE,
    d_to_r,
    pool_correlations,
    r_to_d,
)


def statsmodels_dl(r, n):
    z = np.arctanh(np.asarray(r, dtype=float))
    v = 1.0 / (np.asarray(n, dtype=float) - 3.0)
    return combine_effects(z, v, method_re="dl", use_t=False)


def heterogeneous(seed, k):
    rng = np.random.default_rng(seed)
    n = rng.integers(20, 400, k)
    r = np.tanh(rng.normal(0.35, 0.25, k))
    return r, n


HAND_MADE = [
    ([0.10, 0.50, 0.30, 0.60], [50, 80, 120, 40]),
    ([-0.20, 0.45, 0.05], [30, 200, 60]),
    ([0.38, 0.12, 0.71, 0.25, 0.33, 0.55], [25, 300, 45, 90, 150, 18]),
]


@pytest.mark.parametrize(
    ("r", "n"),
    [heterogeneous(seed, k) for seed, k in [(0, 5), (1, 16), (2, 40), (3, 3)]] + HAND_MADE,
)
def test_matches_statsmodels_dersimonian_laird(r, n):
    sm = statsmodels_dl(r, n)
    assert sm.tau2 > 0  # heterogeneous inputs: statsmodels' untruncated τ² equals ours
    got = pool_correlations(r, n)
    _, ci_re, _, _ = sm.conf_int(alpha=0.05)
    assert got.k == len(r)
    assert got.n_total == sum(n)
    assert got.df == len(r) - 1
    assert got.z == pytest.approx(sm.mean_effect_re, abs=1e-9)
    assert got.se == pytest.approx(sm.sd_eff_w_re, abs=1e-9)
    assert got.r == pytest.approx(np.tanh(sm.mean_effect_re), abs=1e-9)
    assert got.ci_low == pytest.approx(np.tanh(ci_re[0]), abs=1e-9)
    assert got.ci_high == pytest.approx(np.tanh(ci_re[1]), abs=1e-9)
    assert got.tau2 == pytest.approx(sm.tau2, abs=1e-9)
    assert got.q == pytest.approx(sm.q, abs=1e-9)
    assert got.i2 == pytest.approx(sm.i2, abs=1e-9)
    assert got.p_q == pytest.approx(sm.test_homogeneity().pvalue, abs=1e-9)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # statsmodels on Q ≤ df, not ours
def test_homogeneous_identical_correlations():
    got = pool_correlations([0.3, 0.3, 0.3], [40, 60, 100])
    sm = statsmodels_dl([0.3, 0.3, 0.3], [40, 60, 100])
    ci_fe, _, _, _ = sm.conf_int(alpha=0.05)
    assert got.q == pytest.approx(0.0, abs=1e-12)
    assert got.tau2 == 0.0
    assert got.i2 == 0.0  # statsmodels gives −inf here (1 − 1/H² with H² = 0)
    assert got.p_q == pytest.approx(1.0)
    assert got.r == pytest.approx(0.3, abs=1e-12)
    # With τ² = 0 the random-effects result is the fixed-effect one: SE = 1/√Σ(n − 3).
    assert got.se == pytest.approx(1 / np.sqrt(37 + 57 + 97), abs=1e-12)
    assert (got.ci_low, got.ci_high) == pytest.approx(tuple(np.tanh(ci_fe)), abs=1e-9)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # statsmodels on Q ≤ df, not ours
def test_q_below_df_truncates_tau2_to_fixed_effect():
    r, n = [0.30, 0.32, 0.29, 0.31], [50, 60, 70, 80]
    sm = statsmodels_dl(r, n)
    assert sm.q < 3 and sm.tau2 < 0  # statsmodels does not truncate
    got = pool_correlations(r, n)
    ci_fe, _, _, _ = sm.conf_int(alpha=0.05)
    assert got.tau2 == 0.0
    assert got.i2 == 0.0
    assert got.q == pytest.approx(sm.q, abs=1e-9)
    assert got.z == pytest.approx(sm.mean_effect_fe, abs=1e-9)
    assert (got.ci_low, got.ci_high) == pytest.approx(tuple(np.tanh(ci_fe)), abs=1e-9)
    # Also equal to statsmodels' random-effects fit once its τ² is fixed at 0.
    z = np.arctanh(np.array(r))
    v = 1 / (np.array(n) - 3.0)
    assert got.z == pytest.approx(np.dot(1 / v, z) / np.sum(1 / v), abs=1e-12)


def test_hand_worked_two_studies():
    # r = .2 (n = 28), r = .6 (n = 53): z = 0.202733, 0.693147; w = 25, 50.
    # z_FE = (25·0.202733 + 50·0.693147)/75 = 0.529676; Q = 25·0.326943² + 50·0.163471²
    #      = 2.672289 + 1.336145 = 4.008434; df = 1; C = 75 − (625 + 2500)/75 = 33.333333;
    # τ² = (4.008434 − 1)/33.333333 = 0.090253.
    got = pool_correlations([0.2, 0.6], [28, 53])
    assert got.q == pytest.approx(4.008434, abs=1e-5)
    assert got.tau2 == pytest.approx(0.090253, abs=1e-5)
    assert got.i2 == pytest.approx((4.008434 - 1) / 4.008434, abs=1e-5)
    w_re = 1 / (np.array([1 / 25, 1 / 50]) + 0.0902530)
    z_re = np.dot(w_re, [0.202733, 0.693147]) / w_re.sum()
    assert got.r == pytest.approx(np.tanh(z_re), abs=1e-5)
    assert got.p_q == pytest.approx(stats.chi2.sf(4.008434, 1), abs=1e-6)


def test_d_is_computed_from_pooled_r():
    got = pool_correlations(*heterogeneous(5, 10))
    assert got.d == pytest.approx(2 * got.r / np.sqrt(1 - got.r**2))
    assert d_to_r(got.d) == pytest.approx(got.r)


def test_r_d_conversions_and_benchmark_note():
    # d = 0.80 ↔ r = 0.8/√4.64 = 0.371391; r = .38 ↔ d = 0.76/√0.8556 = 0.821634.
    assert d_to_r(0.80) == pytest.approx(0.371391, abs=1e-6)
    assert r_to_d(0.38) == pytest.approx(0.821634, abs=1e-6)
    assert round(d_to_r(BENCHMARK.d), 2) == 0.37
    assert ".37" in BENCHMARK_NOTE and "0.80" in BENCHMARK_NOTE


def test_benchmark_values():
    assert (BENCHMARK.r, BENCHMARK.ci_low, BENCHMARK.ci_high) == (0.38, 0.30, 0.44)
    assert (BENCHMARK.d, BENCHMARK.k, BENCHMARK.n) == (0.80, 16, 1502)
    assert "Gelso, Kivlighan & Markin (2018)" in BENCHMARK.source


@pytest.mark.parametrize(
    ("r", "n"),
    [
        ([0.3], [50]),  # k < 2
        ([], []),
        ([0.3, 0.4], [50]),  # mismatched lengths
        ([0.3, 0.4], [50, 3]),  # n ≤ 3
        ([0.3, 1.0], [50, 60]),  # |r| ≥ 1
        ([0.3, -1.2], [50, 60]),
        ([0.3, np.nan], [50, 60]),
    ],
)
def test_invalid_inputs_raise(r, n):
    with pytest.raises(ValueError):
        pool_correlations(r, n)
