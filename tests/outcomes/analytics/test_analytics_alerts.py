from __future__ import annotations

import math
import statistics

import numpy as np
import pandas as pd
import pytest

from outcomes.analytics.alerts import (
    Alert,
    ScaleReference,
    missed_form_alerts,
    outcome_alerts,
    reference_from_clinic,
    reference_from_instrument,
    relationship_alerts,
    risk_alerts,
    sort_alerts,
)

RRI = ScaleReference(
    label="Client-rated RRI-C total",
    higher_is_better=True,
    threshold=0.62,
    source="this clinic's data: SD of first-session scores 0.61, alpha .88",
)
PHQ9 = ScaleReference(
    label="PHQ-9 total", higher_is_better=False, threshold=5.2, source="instrument reference values"
)


def series(values, sessions=None):
    sessions = sessions or list(range(1, len(values) + 1))
    return pd.Series(values, index=pd.Index(sessions, name="session_number"), dtype=float)


# --- references ---------------------------------------------------------------------------


def test_reference_from_clinic_threshold_from_sd_and_alpha():
    scores = [3.1, 4.0, 3.6, 4.4, 2.9, 3.8, 4.1, 3.3, 3.7, 4.6, 3.0, np.nan] * 3
    ref = reference_from_clinic(scores, 0.88, label="RRI-C total", higher_is_better=True)
    sd = statistics.stdev([s for s in scores if not math.isnan(s)])
    assert ref.threshold == pytest.approx(1.96 * sd * math.sqrt(2) * math.sqrt(1 - 0.88))
    assert ref.label == "RRI-C total" and ref.higher_is_better
    assert ref.source.startswith("this clinic's data")
    assert f"{sd:.2f}".rstrip("0") in ref.source
    assert "33 first-session scores" in ref.source
    assert "alpha .88" in ref.source


@pytest.mark.parametrize(
    ("scores", "alpha", "why"),
    [
        ([3.0, 4.0] * 14 + [np.nan] * 5, 0.9, "28 first-session scores; at least 30 are needed"),
        ([3.0, 4.0] * 16, None, "no reliability (alpha) estimate"),
        ([3.0, 4.0] * 16, math.nan, "no reliability (alpha) estimate"),
        ([3.0, 4.0] * 16, 1.0, "outside 0 to 1"),
        ([3.0, 4.0] * 16, -0.2, "outside 0 to 1"),
        ([3.5] * 32, 0.9, "first-session scores did not vary"),
        ([], 0.9, "0 first-session scores"),
    ],
)
def test_reference_from_clinic_refuses_with_reason(scores, alpha, why):
    ref = reference_from_clinic(scores, alpha, label="RRI-C total", higher_is_better=True)
    assert ref.threshold is None
    assert why in ref.source
    assert "no reliable-change threshold" in ref.source


def test_reference_from_instrument():
    ref = reference_from_instrument(5, 0.84, label="PHQ-9 total", higher_is_better=False)
    assert ref.threshold == pytest.approx(1.96 * 2 * math.sqrt(2))  # SE_m = 5·√.16 = 2
    assert ref.source == "instrument reference values: SD 5, reliability .84"


# --- relationship -------------------------------------------------------------------------


def test_relationship_drop_beyond_threshold():
    alerts = relationship_alerts(series([4.2, 4.3, 3.1]), RRI)
    assert len(alerts) == 1
    alert = alerts[0]
    assert alert.kind == "relationship_drop"
    assert alert.session_number == 3
    assert alert.severity == "high"
    assert alert.scale_label == "Client-rated RRI-C total"
    assert alert.reason == (
        "Client-rated RRI-C total fell from 4.3 at session 2 to 3.1 at session 3 (−1.2), "
        "beyond the reliable-change threshold of 0.62 (this clinic's data: SD of "
        "first-session scores 0.61, alpha .88)."
    )


def test_relationship_drop_exactly_at_threshold_counts_and_just_under_does_not():
    ref = ScaleReference("RRI-C total", True, 0.5, "test")
    assert [a.kind for a in relationship_alerts(series([4.0, 3.5]), ref)] == ["relationship_drop"]
    assert relationship_alerts(series([4.0, 3.55]), ref) == []
    assert relationship_alerts(series([3.0, 4.0]), ref) == []  # a rise is not a drop


def test_relationship_drop_compares_with_previous_available_session():
    # Session 3 missing (NaN) and session 4 absent: 5 is compared with 2.
    values = series([4.0, 4.4, np.nan, 3.6], sessions=[1, 2, 3, 5])
    alerts = relationship_alerts(values, RRI)
    assert [(a.kind, a.session_number) for a in alerts] == [("relationship_drop", 5)]
    assert "from 4.4 at session 2 to 3.6 at session 5 (−0.8)" in alerts[0].reason


def test_relationship_drop_reports_every_drop_and_handles_unsorted_input():
    values = pd.Series([4.5, 3.0, 4.6, 3.8], index=[3, 2, 1, 4], dtype=float)
    # Sorted: 4.6 (1), 3.0 (2), 4.5 (3), 3.8 (4) → drops at 2 (−1.6) and 4 (−0.7).
    assert [a.session_number for a in relationship_alerts(values, RRI)] == [2, 4]


def test_relationship_when_higher_is_worse():
    ref = ScaleReference("Distance", False, 1.0, "test")
    alerts = relationship_alerts(series([2.0, 3.5]), ref)
    assert [a.kind for a in alerts] == ["relationship_drop"]
    assert "rose from 2 at session 1 to 3.5 at session 2 (+1.5)" in alerts[0].reason
    assert relationship_alerts(series([3.5, 2.0]), ref) == []


def test_relationship_below_own_mean():
    # Earlier mean (4.0 + 4.1 + 3.9)/3 = 4.0; latest 3.3 is 0.7 below (> 0.62), while the
    # step from 3.9 to 3.3 (−0.6) is not beyond the threshold.
    alerts = relationship_alerts(series([4.0, 4.1, 3.9, 3.3]), RRI)
    assert [a.kind for a in alerts] == ["relationship_below_mean"]
    alert = alerts[0]
    assert alert.session_number == 4
    assert alert.severity == "medium"
    assert "was 3.3, 0.7 below this dyad's own mean of 4 over 3 earlier sessions" in alert.reason
    assert "0.62" in alert.reason


def test_below_mean_needs_three_earlier_sessions():
    # Step 4.1 → 3.6 is −0.5 (no drop); 3.6 is 0.7 below the mean 4.3 of only two sessions.
    assert relationship_alerts(series([4.5, 4.1, 3.6]), RRI) == []
    kinds = [a.kind for a in relationship_alerts(series([4.6, 4.2, 4.1, 3.6]), RRI)]
    assert kinds == ["relationship_below_mean"]


def test_below_mean_strictly_more_than_threshold():
    ref = ScaleReference("RRI", True, 0.5, "test")
    # Earlier mean 4.0; latest 3.5 is exactly 0.5 below: not *more than* the threshold, but the
    # 0.5 step from the previous session is a drop (change ≤ −threshold).
    kinds = [a.kind for a in relationship_alerts(series([4.0, 4.0, 4.0, 3.5]), ref)]
    assert kinds == ["relationship_drop"]
    kinds = [a.kind for a in relationship_alerts(series([4.0, 4.0, 4.0, 3.49]), ref)]
    assert kinds == ["relationship_drop", "relationship_below_mean"]


def test_relationship_without_threshold_gives_no_alerts():
    ref = ScaleReference("RRI", True, None, "this clinic's data: 3 first-session scores")
    assert relationship_alerts(series([5.0, 1.0, 1.0, 1.0, 0.0]), ref) == []


def test_relationship_empty_and_single_session():
    assert relationship_alerts(series([]), RRI) == []
    assert relationship_alerts(series([3.0]), RRI) == []


# --- outcome ------------------------------------------------------------------------------


def test_phq9_deterioration_reported_once_at_latest_session():
    # Change from session 1 (10): +2, +7, +6, +1 → beyond 5.2 at sessions 3 and 4; report 4.
    alerts = outcome_alerts(series([10, 12, 17, 16, 11]), PHQ9)
    assert len(alerts) == 1
    alert = alerts[0]
    assert (alert.kind, alert.session_number, alert.severity) == ("deterioration", 4, "high")
    assert alert.reason == (
        "PHQ-9 total rose from 10 at the first session (1) to 16 at session 4 (+6), a reliable "
        "deterioration beyond the reliable-change threshold of 5.2 (instrument reference values)."
    )


def test_phq9_improvement_is_not_deterioration():
    assert outcome_alerts(series([20, 14, 8, 3]), PHQ9) == []


def test_higher_is_better_outcome_falls():
    ref = ScaleReference("Session check", True, 1.0, "test")
    alerts = outcome_alerts(series([6.0, 5.5, 4.9], [2, 3, 5]), ref)
    assert [(a.kind, a.session_number) for a in alerts] == [("deterioration", 5)]
    assert "fell from 6 at the first session (2) to 4.9 at session 5 (−1.1)" in alerts[0].reason
    assert outcome_alerts(series([4.0, 6.0]), ref) == []


def test_deterioration_boundary_and_missing_first_values():
    ref = ScaleReference("PHQ-9", False, 5.0, "test")
    # NaN at session 1 means the first rated session is 2 (score 8).
    assert outcome_alerts(series([np.nan, 8, 13]), ref)[0].session_number == 3
    assert outcome_alerts(series([np.nan, 8, 12.5]), ref) == []


def test_outcome_without_threshold_or_data():
    assert outcome_alerts(series([1, 27]), ScaleReference("PHQ-9", False, None, "none")) == []
    assert outcome_alerts(series([]), PHQ9) == []
    assert outcome_alerts(series([12]), PHQ9) == []


# --- risk and missed forms ----------------------------------------------------------------


def test_risk_items_above_zero():
    frame = pd.DataFrame(
        {
            "session_number": [1, 2, 3, 4],
            "instrument": ["PHQ-9"] * 4,
            "item_number": [9, 9, 9, 9],
            "value": [0, 1, np.nan, 3],
            "label": ["PHQ-9 item 9 (thoughts of self-harm)"] * 4,
        }
    )
    alerts = risk_alerts(frame)
    assert [(a.kind, a.session_number, a.severity) for a in alerts] == [
        ("risk", 2, "urgent"),
        ("risk", 4, "urgent"),
    ]
    assert alerts[0].scale_label == "PHQ-9 item 9"
    assert alerts[1].reason == (
        "PHQ-9 item 9 (thoughts of self-harm) was answered 3 (above 0) at session 4; "
        "review risk with the client."
    )


def test_risk_empty_frame():
    empty = pd.DataFrame(columns=["session_number", "instrument", "item_number", "value", "label"])
    assert risk_alerts(empty) == []


def test_missed_forms_only_expired_and_incomplete():
    frame = pd.DataFrame(
        {
            "session_number": [1, 2, 3, 4],
            "expired": [True, True, False, False],
            "completed": [False, True, False, True],
            "form_label": ["RRI-C", "RRI-C", "RRI-C", "Session check"],
        }
    )
    alerts = missed_form_alerts(frame)
    assert len(alerts) == 1
    assert alerts[0] == Alert(
        kind="forms_missed",
        session_number=1,
        scale_label="RRI-C",
        reason="RRI-C for session 1: not completed before the link expired.",
        severity="medium",
    )


def test_missed_forms_empty_frame():
    assert missed_form_alerts(pd.DataFrame(columns=["session_number", "expired"])) == []


# --- ordering -----------------------------------------------------------------------------


def test_sort_alerts_newest_first_then_severity():
    a = Alert("forms_missed", 5, "RRI-C", "x", "medium")
    b = Alert("risk", 5, "PHQ-9 item 9", "x", "urgent")
    c = Alert("deterioration", 7, "PHQ-9", "x", "high")
    d = Alert("relationship_drop", 2, "RRI-C", "x", "high")
    e = Alert("relationship_below_mean", 5, "RRI-C", "y", "medium")
    f = Alert("relationship_drop", 5, "RRI-C", "z", "high")
    # The risk alert outranks the newer deterioration until it is acknowledged; then it
    # takes its place by session, still first within its own session.
    assert sort_alerts([d, a, b, c, e, f]) == [b, c, f, a, e, d]
    assert sort_alerts([d, a, b, c, e, f], acknowledged={(5, "risk")}) == [c, b, f, a, e, d]
    # An acknowledgement of another session or kind changes nothing.
    assert sort_alerts([c, b], acknowledged={(4, "risk"), (5, "forms_missed")}) == [b, c]
    assert sort_alerts([]) == []
