from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from scipy import stats

from outcomes.analytics.correlation import (
    MIN_SESSIONS,
    grouped_correlations,
    lagged_correlation,
    pearson_with_ci,
)


def scipy_reference(x, y, confidence=0.95):
    res = stats.pearsonr(x, y)
    ci = res.confidence_interval(confidence)
    return res.statistic, ci.low, ci.high, res.pvalue


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("n", [4, 5, 12, 40])
def test_pearson_matches_scipy(seed, n):
    rng = np.random.default_rng(seed)
    x = rng.normal(4, 0.6, n)
    y = 0.5 * x + rng.normal(0, 0.5, n)
    got = pearson_with_ci(x, y)
    r, low, high, p = scipy_reference(x, y)
    assert got.ok
    assert got.n == n
    assert got.reason is None
    assert got.r == pytest.approx(r, abs=1e-12)
    assert got.ci_low == pytest.approx(low, abs=1e-12)
    assert got.ci_high == pytest.approx(high, abs=1e-12)
    assert got.p == pytest.approx(p, rel=1e-9, abs=1e-15)


def test_other_confidence_level_matches_scipy():
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=15), rng.normal(size=15)
    got = pearson_with_ci(x, y, confidence=0.8)
    _, low, high, _ = scipy_reference(x, y, confidence=0.8)
    assert (got.ci_low, got.ci_high) == pytest.approx((low, high), abs=1e-12)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.floats(-100, 100, allow_nan=False, allow_subnormal=False),
            st.floats(-100, 100, allow_nan=False, allow_subnormal=False),
        ),
        min_size=4,
        max_size=30,
    )
)
def test_pearson_property_matches_scipy(pairs):
    x = np.array([p[0] for p in pairs])
    y = np.array([p[1] for p in pairs])
    # Near-constant inputs are ill-conditioned for every implementation; scipy warns on them.
    assume(np.std(x) > 1e-3 * max(1.0, np.abs(x).max()))
    assume(np.std(y) > 1e-3 * max(1.0, np.abs(y).max()))
    got = pearson_with_ci(x, y)
    r, low, high, _ = scipy_reference(x, y)
    assert got.r == pytest.approx(r, abs=1e-10)
    assert got.ci_low == pytest.approx(low, abs=1e-10)
    assert got.ci_high == pytest.approx(high, abs=1e-10)


def test_nan_pairs_are_dropped_before_computing():
    x = np.array([1.0, 2.0, np.nan, 4.0, 5.0, 6.0, 3.0])
    y = np.array([2.0, 1.0, 3.0, np.nan, 5.0, 7.0, 4.0])
    got = pearson_with_ci(x, y)
    complete_x = [1.0, 2.0, 5.0, 6.0, 3.0]
    complete_y = [2.0, 1.0, 5.0, 7.0, 4.0]
    assert got.n == 5
    assert got.r == pytest.approx(stats.pearsonr(complete_x, complete_y).statistic, abs=1e-12)


def test_accepts_pandas_series_with_missing_values():
    x = pd.Series([1.0, 2.0, None, 4.0, 5.0])
    y = pd.Series([1.5, 2.5, 3.0, 3.5, 6.0])
    got = pearson_with_ci(x, y)
    assert got.n == 4
    assert got.r == pytest.approx(stats.pearsonr([1, 2, 4, 5], [1.5, 2.5, 3.5, 6.0]).statistic)


def test_below_minimum_refuses_with_reason():
    got = pearson_with_ci([1.0, 2.0, 3.0], [2.0, 1.0, 4.0])
    assert not got.ok
    assert got.n == 3
    assert (got.r, got.ci_low, got.ci_high, got.p) == (None, None, None, None)
    assert got.reason == "3 paired sessions; at least 4 are needed"


def test_below_minimum_counts_only_complete_pairs_and_uses_singular():
    got = pearson_with_ci([1.0, np.nan, np.nan, 4.0], [np.nan, 2.0, 3.0, 1.0])
    assert got.reason == "1 paired session; at least 4 are needed"


def test_empty_input_refuses():
    got = pearson_with_ci([], [])
    assert got.n == 0
    assert got.reason == "0 paired sessions; at least 4 are needed"


def test_custom_minimum_is_respected():
    rng = np.random.default_rng(3)
    x, y = rng.normal(size=6), rng.normal(size=6)
    assert pearson_with_ci(x, y, min_n=6).ok
    assert pearson_with_ci(x, y, min_n=7).reason == "6 paired sessions; at least 7 are needed"


@pytest.mark.parametrize("which", [0, 1])
def test_constant_series_refuses_with_named_reason(which):
    varying = [1.0, 2.0, 3.0, 5.0]
    constant = [4.0, 4.0, 4.0, 4.0]
    args = (constant, varying) if which == 0 else (varying, constant)
    got = pearson_with_ci(*args, names=("relationship scores", "outcome scores"))
    assert not got.ok
    name = "relationship scores" if which == 0 else "outcome scores"
    assert got.reason == f"{name} did not vary, so r is undefined"


def test_constant_series_reason_defaults():
    varying = [1.0, 2.0, 3.0, 5.0]
    flat = [4.0, 4.0, 4.0, 4.0]
    assert pearson_with_ci(varying, flat).reason == (
        "the second series did not vary, so r is undefined"
    )
    named = pd.Series(flat, name="RRI-C:total")
    assert pearson_with_ci(named, varying).reason == (
        "RRI-C:total scores did not vary, so r is undefined"
    )


def test_constant_after_dropping_nan_refuses():
    got = pearson_with_ci([4.0, 4.0, 9.0, 4.0, 4.0], [1.0, 2.0, np.nan, 3.0, 5.0])
    assert got.reason is not None
    assert "did not vary" in got.reason


def test_ties_are_fine():
    x = [1.0, 1.0, 2.0, 2.0, 3.0, 3.0]
    y = [2.0, 3.0, 3.0, 3.0, 5.0, 4.0]
    assert pearson_with_ci(x, y).r == pytest.approx(stats.pearsonr(x, y).statistic, abs=1e-12)


@pytest.mark.parametrize("sign", [1.0, -1.0])
def test_perfect_correlation_has_degenerate_interval(sign):
    x = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
    got = pearson_with_ci(x, sign * 2 * x + 1)
    assert got.r == pytest.approx(sign)
    assert got.ci_low == pytest.approx(sign)
    assert got.ci_high == pytest.approx(sign)
    assert got.p == 0.0


def test_invalid_arguments_raise():
    with pytest.raises(ValueError):
        pearson_with_ci([1, 2, 3, 4], [1, 2, 3])
    with pytest.raises(ValueError):
        pearson_with_ci([1, 2, 3, 4], [1, 2, 3, 5], min_n=3)
    with pytest.raises(ValueError):
        pearson_with_ci([1, 2, 3, 4], [1, 2, 3, 5], confidence=1.0)


def test_min_sessions_constant():
    assert MIN_SESSIONS == 4


# --- lagged -------------------------------------------------------------------------------


def lag_frame():
    # Session 4 is missing: 3→5 is a two-session gap and must not count as a lag-1 pair.
    return pd.DataFrame(
        {
            "session_number": [1, 2, 3, 5, 6, 7, 8],
            "rr": [3.0, 3.4, 3.1, 4.0, 3.6, 4.4, 4.1],
            "outcome": [10.0, 12.0, 11.0, 9.0, 14.0, 13.0, 16.0],
        }
    )


def test_lagged_pairs_only_consecutive_sessions():
    got = lagged_correlation(lag_frame(), "rr", "outcome")
    # Written out by hand: (rr at t, outcome at t+1) for t = 1, 2, 5, 6, 7.
    rr_t = [3.0, 3.4, 4.0, 3.6, 4.4]
    outcome_next = [12.0, 11.0, 14.0, 13.0, 16.0]
    assert got.n == 5
    assert got.r == pytest.approx(stats.pearsonr(rr_t, outcome_next).statistic, abs=1e-12)
    # Wrongly pairing across the gap (3.1 at session 3 with 9.0 at session 5) gives another r.
    wrong = stats.pearsonr([*rr_t, 3.1], [*outcome_next, 9.0]).statistic
    assert abs(got.r - wrong) > 1e-3


def test_lagged_ignores_row_order_and_accepts_session_index():
    frame = lag_frame()
    shuffled = frame.sample(frac=1.0, random_state=4)
    indexed = frame.set_index("session_number")
    expected = lagged_correlation(frame, "rr", "outcome").r
    assert lagged_correlation(shuffled, "rr", "outcome").r == pytest.approx(expected, abs=1e-12)
    assert lagged_correlation(indexed, "rr", "outcome").r == pytest.approx(expected, abs=1e-12)


def test_lagged_drops_pairs_with_missing_values():
    frame = lag_frame()
    frame.loc[frame["session_number"] == 7, "outcome"] = np.nan
    got = lagged_correlation(frame, "rr", "outcome")
    rr_t = [3.0, 3.4, 4.0, 4.4]  # t = 6 loses its partner (outcome at 7 is missing)
    outcome_next = [12.0, 11.0, 14.0, 16.0]
    assert got.n == 4
    assert got.r == pytest.approx(stats.pearsonr(rr_t, outcome_next).statistic, abs=1e-12)


def test_lagged_too_few_pairs_refuses():
    frame = pd.DataFrame(
        {"session_number": [1, 2, 4, 6, 7], "rr": [1.0, 2, 3, 4, 5], "outcome": [5.0, 4, 3, 2, 1]}
    )
    got = lagged_correlation(frame, "rr", "outcome")
    assert got.n == 2
    assert got.reason == "2 consecutive-session pairs; at least 4 are needed"


def test_lagged_empty_frame_refuses():
    frame = pd.DataFrame({"session_number": [], "rr": [], "outcome": []})
    assert lagged_correlation(frame, "rr", "outcome").reason is not None


def test_lagged_duplicate_sessions_raise():
    frame = pd.DataFrame(
        {"session_number": [1, 1, 2, 3, 4], "rr": [1.0, 2, 3, 4, 5], "outcome": [5.0, 4, 3, 2, 1]}
    )
    with pytest.raises(ValueError):
        lagged_correlation(frame, "rr", "outcome")


def test_lagged_unknown_session_column_raises():
    with pytest.raises(KeyError):
        lagged_correlation(lag_frame(), "rr", "outcome", session_col="visit")


# --- grouped ------------------------------------------------------------------------------


def random_groups(seed, n_groups=30, max_size=12):
    rng = np.random.default_rng(seed)
    sizes = rng.integers(1, max_size, n_groups)
    group = np.repeat([f"d{i:03d}" for i in range(n_groups)], sizes)
    x = rng.normal(4, 0.5, sizes.sum()).round(1)  # rounding creates ties
    y = (x + rng.normal(0, 0.6, sizes.sum())).round(1)
    return pd.DataFrame({"dyad": group, "x": x, "y": y})


def per_group_reference(frame, min_n=4):
    rows = {}
    for label, sub in frame.groupby("dyad"):
        sub = sub.dropna(subset=["x", "y"])
        n = len(sub)
        if n < min_n or sub["x"].nunique() < 2 or sub["y"].nunique() < 2:
            rows[label] = (n, np.nan, np.nan, np.nan)
            continue
        res = stats.pearsonr(sub["x"], sub["y"])
        ci = res.confidence_interval(0.95)
        rows[label] = (n, res.statistic, ci.low, ci.high)
    return pd.DataFrame.from_dict(rows, orient="index", columns=["n", "r", "ci_low", "ci_high"])


@pytest.mark.parametrize("seed", range(5))
def test_grouped_matches_per_group_pearsonr(seed):
    frame = random_groups(seed)
    frame.loc[frame.sample(frac=0.1, random_state=seed).index, "y"] = np.nan
    got = grouped_correlations(frame, "dyad", "x", "y")
    expected = per_group_reference(frame)
    assert list(got.index) == sorted(expected.index)
    assert got.index.name == "dyad"
    np.testing.assert_array_equal(got["n"].to_numpy(), expected["n"].to_numpy())
    for col in ["r", "ci_low", "ci_high"]:
        np.testing.assert_allclose(got[col], expected[col], atol=1e-12, equal_nan=True)
    assert got["r"].notna().sum() > 5  # the comparison covered real numbers, not only NaNs


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["a", "b", "c", "d"]),
            st.integers(0, 6).map(float),
            st.integers(-3, 3).map(float),
        ),
        max_size=60,
    )
)
def test_grouped_property_matches_per_group_pearsonr(rows):
    frame = pd.DataFrame(rows, columns=["dyad", "x", "y"]).astype({"x": float, "y": float})
    got = grouped_correlations(frame, "dyad", "x", "y")
    if frame.empty:
        assert got.empty
        return
    expected = per_group_reference(frame).reindex(got.index)
    np.testing.assert_array_equal(got["n"].to_numpy(), expected["n"].to_numpy())
    np.testing.assert_allclose(got["r"], expected["r"], atol=1e-9, equal_nan=True)
    np.testing.assert_allclose(got["ci_low"], expected["ci_low"], atol=1e-9, equal_nan=True)


def test_grouped_refusals_and_empty_groups():
    frame = pd.DataFrame(
        {
            "dyad": ["small"] * 3 + ["flat"] * 5 + ["gone"] * 2 + ["fine"] * 4,
            "x": [1.0, 2, 3] + [1.0, 2, 3, 4, 5] + [np.nan, 1.0] + [1.0, 2, 3, 4],
            "y": [3.0, 1, 2] + [2.0] * 5 + [1.0, np.nan] + [1.0, 3, 2, 4],
        }
    )
    got = grouped_correlations(frame, "dyad", "x", "y")
    assert got.loc["small", "n"] == 3 and np.isnan(got.loc["small", "r"])
    assert got.loc["flat", "n"] == 5 and np.isnan(got.loc["flat", "r"])
    assert got.loc["gone", "n"] == 0 and np.isnan(got.loc["gone", "r"])
    assert got.loc["fine", "r"] == pytest.approx(stats.pearsonr([1, 2, 3, 4], [1, 3, 2, 4])[0])


def test_grouped_constant_non_representable_value_is_refused():
    # Six scores of 4.1 sum to 24.6 in floating point, and 24.6/6 = 4.1000000000000005, so the
    # centred squares of this constant group are tiny but not zero; it must still be refused.
    frame = pd.DataFrame({"g": ["a"] * 6, "x": [4.1] * 6, "y": [0.1, 0.7, 0.2, 0.9, 0.4, 0.5]})
    assert np.bincount(np.zeros(6, dtype=int), frame["x"].to_numpy())[0] / 6 != 4.1
    got = grouped_correlations(frame, "g", "x", "y")
    assert np.isnan(got.loc["a", "r"])
    flipped = grouped_correlations(frame.rename(columns={"x": "y", "y": "x"}), "g", "x", "y")
    assert np.isnan(flipped.loc["a", "r"])


def test_grouped_is_stable_for_large_offsets():
    rng = np.random.default_rng(7)
    x = 1e6 + rng.normal(0, 1e-2, 50)
    y = x - 1e6 + rng.normal(0, 1e-2, 50)
    frame = pd.DataFrame({"g": ["a"] * 50, "x": x, "y": y})
    got = grouped_correlations(frame, "g", "x", "y").loc["a", "r"]
    assert got == pytest.approx(stats.pearsonr(x, y).statistic, abs=1e-8)


def test_grouped_empty_frame():
    frame = pd.DataFrame({"g": pd.Series([], dtype=object), "x": [], "y": []})
    got = grouped_correlations(frame, "g", "x", "y")
    assert got.empty
    assert list(got.columns) == ["n", "r", "ci_low", "ci_high"]


def test_grouped_rows_without_group_label_are_ignored():
    frame = random_groups(11, n_groups=3, max_size=10)
    with_missing = pd.concat(
        [frame, pd.DataFrame({"dyad": [None, None], "x": [9.0, 1.0], "y": [1.0, 9.0]})]
    )
    pd.testing.assert_frame_equal(
        grouped_correlations(with_missing, "dyad", "x", "y"),
        grouped_correlations(frame, "dyad", "x", "y"),
        check_index_type=False,  # the None rows turn the label column from str to object
    )


def test_grouped_handles_many_groups():
    frame = random_groups(5, n_groups=2000, max_size=40)
    got = grouped_correlations(frame, "dyad", "x", "y")
    assert len(got) == 2000
    sample = got.index[[0, 999, 1999]]
    expected = per_group_reference(frame[frame["dyad"].isin(sample)])
    np.testing.assert_allclose(got.loc[sample, "r"], expected["r"], atol=1e-12, equal_nan=True)
