from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from outcomes.analytics.between import between_dyad_association


def session_rows(dyad, rows):
    """rows: (session_number, rr, phq9)."""
    return pd.DataFrame(
        [{"dyad_id": dyad, "session_number": s, "rr": rr, "phq9": out} for s, rr, out in rows]
    )


def five_dyads():
    return pd.concat(
        [
            # Rows out of order on purpose: first/last go by session number, not row order.
            session_rows(1, [(3, 4.0, 8), (1, 3.0, 15), (2, 3.5, 12)]),
            session_rows(2, [(1, 2.0, 14), (2, 2.5, 14), (3, 2.0, 16)]),
            # Outcome missing at sessions 1 and 4: first rated is 2 (18), last rated is 3 (10).
            session_rows(3, [(1, 4.5, np.nan), (2, 4.0, 18), (3, 4.5, 10), (4, 5.0, np.nan)]),
            session_rows(4, [(1, 3.0, 20), (5, 3.0, 17)]),
            # Relationship missing at session 2; mean over the two rated sessions is 2.75.
            session_rows(5, [(1, 2.5, 9), (2, np.nan, 10), (4, 3.0, 11)]),
        ],
        ignore_index=True,
    )


def test_per_dyad_table_hand_worked():
    table = between_dyad_association(five_dyads(), "rr", "phq9").table
    assert list(table.index) == [1, 2, 3, 4, 5]
    assert table.index.name == "dyad_id"
    np.testing.assert_allclose(table["relationship_mean"], [3.5, 13 / 6, 4.5, 3.0, 2.75])
    assert table["n_relationship"].tolist() == [3, 3, 4, 2, 2]
    assert table["first_session"].tolist() == [1, 1, 2, 1, 1]
    assert table["last_session"].tolist() == [3, 3, 3, 5, 4]
    assert table["outcome_change"].tolist() == [-7.0, 2.0, -8.0, -3.0, 2.0]


def test_correlation_matches_scipy_on_hand_worked_values():
    result = between_dyad_association(five_dyads(), "rr", "phq9")
    means = [3.5, 13 / 6, 4.5, 3.0, 2.75]
    changes = [-7.0, 2.0, -8.0, -3.0, 2.0]
    reference = stats.pearsonr(means, changes)
    ci = reference.confidence_interval(0.95)
    corr = result.correlation
    assert corr.ok and corr.n == 5
    assert corr.r == pytest.approx(reference.statistic, abs=1e-12)
    assert (corr.ci_low, corr.ci_high) == pytest.approx((ci.low, ci.high), abs=1e-12)
    assert corr.r < 0  # higher relationship, larger drop in PHQ-9 in this example


def test_dyad_with_one_outcome_score_has_no_change():
    frame = pd.concat([five_dyads(), session_rows(6, [(1, 4.0, 12), (2, 4.2, np.nan)])])
    result = between_dyad_association(frame, "rr", "phq9")
    assert np.isnan(result.table.loc[6, "outcome_change"])
    assert result.table.loc[6, "n_outcome"] == 1
    assert result.correlation.n == 5  # dyad 6 is in the table but not in r


def test_dyad_without_relationship_scores():
    frame = pd.concat([five_dyads(), session_rows(7, [(1, np.nan, 12), (2, np.nan, 9)])])
    result = between_dyad_association(frame, "rr", "phq9")
    assert np.isnan(result.table.loc[7, "relationship_mean"])
    assert result.table.loc[7, "n_relationship"] == 0
    assert result.correlation.n == 5


def test_too_few_dyads_refuses_with_reason():
    frame = five_dyads()
    result = between_dyad_association(frame[frame["dyad_id"] <= 3], "rr", "phq9")
    assert not result.correlation.ok
    assert result.correlation.reason == (
        "3 dyads with both a relationship mean and an outcome change; at least 4 are needed"
    )
    assert len(result.table) == 3


def test_constant_outcome_change_refuses():
    frame = pd.concat(
        [session_rows(d, [(1, 2.0 + d, 10), (2, 2.5 + d, 8)]) for d in range(1, 6)],
        ignore_index=True,
    )
    result = between_dyad_association(frame, "rr", "phq9")
    assert result.correlation.reason == "outcome changes did not vary, so r is undefined"


def test_empty_frame():
    empty = five_dyads().iloc[0:0]
    result = between_dyad_association(empty, "rr", "phq9")
    assert result.table.empty
    assert result.correlation.n == 0
    assert result.correlation.reason is not None


def test_custom_column_names_and_minimum():
    frame = five_dyads().rename(columns={"dyad_id": "pair", "session_number": "visit"})
    result = between_dyad_association(
        frame, "rr", "phq9", dyad="pair", session_col="visit", min_dyads=6
    )
    assert result.table.index.name == "pair"
    assert result.correlation.reason.endswith("at least 6 are needed")
