"""The dyad page's array computations against pandas and scipy reference computations.

The dyad page computes on numpy arrays (`DyadSeries`, `lag_arrays`, `slope_per_session`, the
alert functions on (sessions, values)); these tests rebuild each result the pandas way the
page used before, or with scipy, on random dyads with gaps, missing scores and shuffled rows.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from outcomes.analytics import ScaleReference, outcome_alerts, relationship_alerts
from outcomes.analytics.correlation import (
    lag_arrays,
    lagged_arrays_correlation,
    lagged_pairs,
    pearson_with_ci,
)
from outcomes.analytics.series import (
    discrepancy,
    discrepancy_trend,
    dyad_arrays,
    series_from_arrays,
    slope_per_session,
)

KEYS = ("RRI-C:total", "RRI-C:realism", "RRI-T:total", "SESSION-CHECK:total", "PHQ-9:total")


def random_scores(rng: np.random.Generator) -> pd.DataFrame:
    """One dyad's long scores frame: up to 25 sessions with gaps, each scale recorded at a
    random subset of them, rows shuffled."""
    sessions = np.sort(rng.choice(np.arange(1, 40), size=rng.integers(1, 25), replace=False))
    rows = []
    for key in KEYS:
        instrument, scale = key.split(":")
        for s in sessions[rng.random(sessions.size) < 0.85]:
            rows.append((7, int(s), instrument, scale, float(np.round(rng.uniform(1, 5), 2))))
    frame = pd.DataFrame(
        rows, columns=["dyad_id", "session_number", "instrument", "scale", "score"]
    )
    return frame.sample(frac=1.0, random_state=int(rng.integers(1 << 30))).reset_index(drop=True)


def pandas_pivot(scores: pd.DataFrame) -> pd.DataFrame:
    """How `dyad_series` pivoted before (pandas)."""
    keyed = scores.assign(_key=scores["instrument"] + ":" + scores["scale"])
    wide = keyed.pivot(index="session_number", columns="_key", values="score")
    wide = wide.reindex(columns=sorted(wide.columns)).astype(float).sort_index()
    wide.columns.name = None
    return wide


def pandas_lagged_pairs(sessions, x, y) -> pd.DataFrame:
    """How `lagged_pairs` paired before (pandas reindex at t + 1)."""
    at_t = pd.Series(np.asarray(x, dtype=float), index=sessions)
    at_next = pd.Series(np.asarray(y, dtype=float), index=sessions)
    pairs = pd.DataFrame(
        {
            "session": sessions,
            "x": at_t.to_numpy(),
            "y_next": at_next.reindex(at_t.index + 1).to_numpy(),
        }
    )
    return pairs.dropna().sort_values("session").reset_index(drop=True)


@pytest.mark.parametrize("seed", range(25))
def test_series_equals_the_pandas_pivot(seed):
    scores = random_scores(np.random.default_rng(seed))
    got = dyad_arrays(scores)
    expected = pandas_pivot(scores)
    pd.testing.assert_frame_equal(got.to_frame(), expected, check_names=False)
    assert got.sessions.tolist() == expected.index.tolist()


def test_series_refuses_duplicates_and_bad_shapes():
    with pytest.raises(ValueError, match="more than one score for session_number 2, A:total"):
        series_from_arrays([1, 2, 2], ["A:total", "A:total", "A:total"], [1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="equal length"):
        series_from_arrays([1, 2], ["A:total"], [1.0, 2.0])
    empty = series_from_arrays([], [], [])
    assert len(empty) == 0 and empty.columns == {}


@pytest.mark.parametrize("seed", range(25))
def test_lag_pairs_equal_the_pandas_pairs_and_scipy(seed):
    rng = np.random.default_rng(seed)
    series = dyad_arrays(random_scores(rng))
    if "RRI-C:total" not in series or "SESSION-CHECK:total" not in series:
        pytest.skip("this draw lacks a column")
    x, y = series["RRI-C:total"], series["SESSION-CHECK:total"]
    order = rng.permutation(len(series))  # any row order
    t, xt, y_next = lag_arrays(series.sessions[order], x[order], y[order])
    expected = pandas_lagged_pairs(series.sessions, x, y)
    assert t.tolist() == expected["session"].tolist()
    np.testing.assert_array_equal(xt, expected["x"].to_numpy())
    np.testing.assert_array_equal(y_next, expected["y_next"].to_numpy())
    got = lagged_arrays_correlation(series.sessions, x, y, names=("x", "y"))
    if got.ok and not got.degenerate:
        ref = stats.pearsonr(expected["x"], expected["y_next"])
        ci = ref.confidence_interval(0.95)
        assert got.r == pytest.approx(ref.statistic, abs=1e-12)
        assert (got.ci_low, got.ci_high) == pytest.approx((ci.low, ci.high), abs=1e-12)
        assert got.p == pytest.approx(ref.pvalue, rel=1e-9)
    else:
        assert got.n == len(expected)


def test_lagged_pairs_refuses_a_frame_of_several_dyads():
    frame = pd.DataFrame(
        {
            "dyad_id": [1, 1, 2, 2],
            "session_number": [1, 2, 3, 4],  # no repeated session: only the dyad id tells
            "rr": [3.0, 4.0, 2.0, 5.0],
            "outcome": [1.0, 2.0, 3.0, 4.0],
        }
    )
    with pytest.raises(ValueError, match="several dyads"):
        lagged_pairs(frame, "rr", "outcome")
    with pytest.raises(ValueError, match="several dyads"):
        lagged_pairs(frame.set_index(["dyad_id", "session_number"]), "rr", "outcome")
    one = lagged_pairs(frame[frame["dyad_id"] == 1], "rr", "outcome")
    assert one.to_dict("list") == {"session": [1], "x": [3.0], "y_next": [2.0]}


def test_pearson_pairs_two_series_by_index_not_position():
    x = pd.Series([1.0, 2.0, 3.0, 4.0, 5.0, 6.0], index=[1, 2, 3, 4, 5, 6])
    # y has the same sessions in another order, one session fewer and one x lacks.
    y = pd.Series([4.0, 1.0, 3.0, 9.0, 2.0, 7.0], index=[4, 1, 3, 9, 2, 6])
    got = pearson_with_ci(x, y)
    both = pd.concat([x, y], axis=1, join="inner").dropna()
    ref = stats.pearsonr(both[0], both[1])
    assert got.n == len(both) == 5
    assert got.r == pytest.approx(ref.statistic, abs=1e-12)
    positional = stats.pearsonr(x.to_numpy(), y.to_numpy()).statistic
    assert abs(got.r - positional) > 1e-3
    with pytest.raises(ValueError, match="index repeats"):
        pearson_with_ci(x, pd.Series([1.0, 2.0, 3.0, 4.0], index=[1, 1, 2, 3]))


@pytest.mark.parametrize("seed", range(15))
def test_slope_equals_scipy_and_the_pandas_discrepancy(seed):
    series = dyad_arrays(random_scores(np.random.default_rng(seed)))
    if "RRI-C:total" not in series or "RRI-T:total" not in series:
        pytest.skip("this draw lacks a column")
    c, t = series["RRI-C:total"], series["RRI-T:total"]
    keep = ~np.isnan(c) & ~np.isnan(t)
    got = slope_per_session(series.sessions[keep].astype(float), c[keep] - t[keep])
    frame = discrepancy(series.to_frame(), "RRI-C:total", "RRI-T:total")
    expected = discrepancy_trend(frame)
    assert (got.n, got.reason) == (expected.n, expected.reason)
    if got.ok:
        assert got.slope == pytest.approx(expected.slope, abs=1e-12)
        fit = stats.linregress(frame["session_number"], frame["difference"])
        assert got.slope == pytest.approx(fit.slope, abs=1e-9)


@pytest.mark.parametrize("seed", range(25))
@pytest.mark.parametrize("higher_is_better", [True, False])
def test_alerts_on_arrays_equal_alerts_on_a_series(seed, higher_is_better):
    rng = np.random.default_rng(seed)
    sessions = np.sort(rng.choice(np.arange(1, 30), size=12, replace=False))
    values = np.round(rng.uniform(1, 5, sessions.size), 1)
    values[rng.random(sessions.size) < 0.2] = np.nan
    ref = ScaleReference("RRI-C total", higher_is_better, 0.8, "test threshold")
    order = rng.permutation(sessions.size)
    series = pd.Series(values, index=sessions)
    for rule in (relationship_alerts, outcome_alerts):
        assert rule((sessions[order], values[order]), ref) == rule(series, ref)
