from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from outcomes.analytics.series import (
    column_key,
    discrepancy,
    discrepancy_trend,
    dyad_series,
    person_mean_centre,
    wide_by_session,
)


def score_rows(dyad, therapist, rows):
    """rows: (session_number, instrument, rater, scale, score)."""
    return pd.DataFrame(
        [
            {
                "dyad_id": dyad,
                "therapist_id": therapist,
                "session_number": s,
                "session_date": dt.date(2025, 1, 1) + dt.timedelta(weeks=s),
                "instrument": inst,
                "rater": rater,
                "scale": scale,
                "score": score,
            }
            for s, inst, rater, scale, score in rows
        ]
    )


def one_dyad():
    # Deliberately out of order, with session 3 absent and PHQ-9 missing at session 2.
    return score_rows(
        7,
        2,
        [
            (4, "RRI-C", "client", "total", 4.5),
            (1, "RRI-C", "client", "total", 3.8),
            (1, "RRI-C", "client", "realism", 3.6),
            (1, "PHQ-9", "client", "total", 14),
            (2, "RRI-C", "client", "total", 4.0),
            (2, "RRI-T", "therapist", "total", 3.5),
            (4, "PHQ-9", "client", "total", 9),
            (1, "RRI-T", "therapist", "total", 3.9),
        ],
    )


def test_dyad_series_pivots_one_column_per_instrument_scale():
    wide = dyad_series(one_dyad())
    assert wide.index.name == "session_number"
    assert list(wide.index) == [1, 2, 4]
    assert list(wide.columns) == ["PHQ-9:total", "RRI-C:realism", "RRI-C:total", "RRI-T:total"]
    assert wide.loc[1, "RRI-C:total"] == 3.8
    assert wide.loc[4, "PHQ-9:total"] == 9.0
    assert wide.loc[2, "RRI-T:total"] == 3.5
    assert np.isnan(wide.loc[2, "PHQ-9:total"])
    assert np.isnan(wide.loc[4, "RRI-C:realism"])
    assert all(dtype == np.float64 for dtype in wide.dtypes)


def test_column_key_matches_dyad_series_columns():
    assert column_key("RRI-C", "total") == "RRI-C:total"
    assert column_key("RRI-C", "total") in dyad_series(one_dyad()).columns


def test_dyad_series_empty_frame():
    empty = one_dyad().iloc[0:0]
    wide = dyad_series(empty)
    assert wide.empty
    assert wide.index.name == "session_number"


def test_dyad_series_rejects_two_dyads():
    both = pd.concat([one_dyad(), one_dyad().assign(dyad_id=8)])
    with pytest.raises(ValueError, match="one dyad"):
        dyad_series(both)


def test_dyad_series_rejects_duplicate_scores():
    dup = pd.concat([one_dyad(), one_dyad().iloc[[0]].assign(score=1.0)])
    with pytest.raises(ValueError, match="more than one score"):
        dyad_series(dup)


def test_dyad_series_missing_column():
    with pytest.raises(KeyError, match="score"):
        dyad_series(one_dyad().drop(columns="score"))


def test_wide_by_session_many_dyads_keeps_therapist():
    frame = pd.concat(
        [
            one_dyad(),
            score_rows(
                9, 3, [(1, "RRI-C", "client", "total", 2.0), (2, "GAD-7", "client", "total", 5)]
            ),
        ]
    )
    wide = wide_by_session(frame)
    assert wide.index.names == ["dyad_id", "session_number"]
    assert list(wide.index) == [(7, 1), (7, 2), (7, 4), (9, 1), (9, 2)]
    assert wide.columns[0] == "therapist_id"
    assert list(wide.columns[1:]) == sorted(wide.columns[1:])
    assert wide.loc[(9, 1), "therapist_id"] == 3
    assert wide.loc[(7, 4), "therapist_id"] == 2
    assert wide.loc[(9, 2), "GAD-7:total"] == 5.0
    assert np.isnan(wide.loc[(7, 1), "GAD-7:total"])
    # The per-dyad slice equals the single-dyad series.
    pd.testing.assert_series_equal(
        wide.loc[7, "RRI-C:total"], dyad_series(one_dyad())["RRI-C:total"], check_names=False
    )


def test_wide_by_session_duplicates_raise():
    frame = pd.concat([one_dyad(), one_dyad().iloc[[2]]])
    with pytest.raises(ValueError, match="dyad_id 7"):
        wide_by_session(frame)


# --- person-mean centring -----------------------------------------------------------------


def test_person_mean_centre_hand_example():
    frame = pd.DataFrame({"dyad": ["a", "a", "a", "b", "b"], "rr": [1.0, 2.0, 3.0, 10.0, 20.0]})
    out = person_mean_centre(frame, "dyad", "rr")
    # Means: a = 2, b = 15; mean of the two means = 8.5 (not the row mean 7.2).
    assert out["rr_between"].tolist() == [-6.5, -6.5, -6.5, 6.5, 6.5]
    assert out["rr_within"].tolist() == [-1.0, 0.0, 1.0, -5.0, 5.0]
    assert "rr_between" not in frame.columns  # the input is not modified


def test_person_mean_centre_with_missing_values():
    frame = pd.DataFrame({"dyad": [1, 1, 1, 2, 2, 3], "rr": [2.0, np.nan, 4.0, 5.0, 7.0, np.nan]})
    out = person_mean_centre(frame, "dyad", "rr")
    # Means: dyad 1 = 3, dyad 2 = 6, dyad 3 has none; grand = 4.5.
    assert out["rr_between"].iloc[:5].tolist() == [-1.5, -1.5, -1.5, 1.5, 1.5]
    assert np.isnan(out["rr_between"].iloc[5])
    assert np.isnan(out["rr_within"].iloc[1])
    assert out["rr_within"].iloc[[0, 2, 3, 4]].tolist() == [-1.0, 1.0, -1.0, 1.0]


def test_person_mean_centre_recomposes_the_value():
    rng = np.random.default_rng(2)
    frame = pd.DataFrame({"g": rng.integers(0, 6, 80), "v": rng.normal(3, 1, 80)})
    out = person_mean_centre(frame, "g", "v")
    grand = frame.groupby("g")["v"].mean().mean()
    np.testing.assert_allclose(out["v_between"] + out["v_within"] + grand, frame["v"])
    np.testing.assert_allclose(out.groupby("g")["v_within"].mean(), 0, atol=1e-12)


# --- discrepancy --------------------------------------------------------------------------


def test_discrepancy_client_minus_therapist_where_both_rated():
    wide = dyad_series(one_dyad())
    out = discrepancy(wide, "RRI-C:total", "RRI-T:total")
    # Session 1: 3.8 − 3.9; session 2: 4.0 − 3.5; session 4 has no therapist rating.
    assert out["session_number"].tolist() == [1, 2]
    assert out["client"].tolist() == [3.8, 4.0]
    assert out["therapist"].tolist() == [3.9, 3.5]
    np.testing.assert_allclose(out["difference"], [-0.1, 0.5])


def test_discrepancy_accepts_session_column():
    frame = pd.DataFrame({"session_number": [3, 1, 2], "c": [4.0, 3.0, 5.0], "t": [4.0, 4.0, 4.0]})
    out = discrepancy(frame, "c", "t")
    assert out["session_number"].tolist() == [1, 2, 3]
    assert out["difference"].tolist() == [-1.0, 1.0, 0.0]


def test_discrepancy_trend_hand_example_with_gap():
    disc = pd.DataFrame({"session_number": [1, 2, 4, 5], "difference": [0.0, 0.5, 1.0, 2.5]})
    trend = discrepancy_trend(disc)
    # t̄ = 3, d̄ = 1; Σ(t−t̄)(d−d̄) = (−2)(−1) + (−1)(−0.5) + (1)(0) + (2)(1.5) = 5.5;
    # Σ(t−t̄)² = 4 + 1 + 1 + 4 = 10; slope = 0.55 per session.
    assert trend.ok
    assert trend.n == 4
    assert trend.slope == pytest.approx(0.55, abs=1e-12)
    assert trend.slope == pytest.approx(np.polyfit([1, 2, 4, 5], [0, 0.5, 1, 2.5], 1)[0])


def test_discrepancy_trend_refuses_below_three_points():
    disc = pd.DataFrame({"session_number": [1, 2], "difference": [0.0, 1.0]})
    trend = discrepancy_trend(disc)
    assert not trend.ok
    assert trend.slope is None
    assert trend.reason == "2 sessions rated by both; at least 3 are needed"


def test_discrepancy_trend_ignores_missing_and_handles_empty():
    disc = pd.DataFrame({"session_number": [1, 2, 3, 4], "difference": [0.0, np.nan, 1.0, np.nan]})
    assert discrepancy_trend(disc).n == 2
    empty = pd.DataFrame({"session_number": [], "difference": []})
    assert discrepancy_trend(empty).reason == "0 sessions rated by both; at least 3 are needed"


def test_discrepancy_trend_from_dyad_series_end_to_end():
    rows = []
    for s, (c, t) in enumerate([(3.0, 3.5), (3.4, 3.5), (3.9, 3.6), (4.1, 3.5)], start=1):
        rows += [(s, "RRI-C", "client", "total", c), (s, "RRI-T", "therapist", "total", t)]
    wide = dyad_series(score_rows(1, 1, rows))
    trend = discrepancy_trend(discrepancy(wide, "RRI-C:total", "RRI-T:total"))
    expected = np.polyfit([1, 2, 3, 4], [-0.5, -0.1, 0.3, 0.6], 1)[0]
    assert trend.slope == pytest.approx(expected, abs=1e-12)


def test_wide_by_session_empty_frame():
    wide = wide_by_session(one_dyad().iloc[0:0])
    assert wide.empty
    assert list(wide.columns) == ["therapist_id"]
    assert wide.index.names == ["dyad_id", "session_number"]
