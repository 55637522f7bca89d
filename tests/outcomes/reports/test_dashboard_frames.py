"""The dashboards' frame computations (outcomes.reports.dashboards) against the per-dyad
functions of outcomes.analytics."""

from __future__ import annotations

import datetime
import types

import numpy as np
import pandas as pd
import pytest

from outcomes.analytics import ScaleReference, outcome_alerts, relationship_alerts
from outcomes.reports.dashboards import latest_and_trend, score_alerts

# --- Frame computations against the per-dyad functions -------------------------------


def _random_scores(seed: int, dyads: int = 60) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    today = datetime.date(2025, 6, 30)
    rows = []
    for dyad in range(1, dyads + 1):
        n = int(rng.integers(1, 12))
        numbers = np.sort(rng.choice(np.arange(1, 20), size=n, replace=False))
        level = rng.uniform(2, 4.5)
        for number in numbers:
            date = today - datetime.timedelta(days=7 * (20 - int(number)))
            for code in ("RRI-C", "SESSION-CHECK"):
                # Coarse values so that exact-threshold ties occur.
                score = round(float(np.clip(level + rng.normal(0, 0.7), 1, 5)) * 4) / 4
                rows.append((dyad, int(number), pd.Timestamp(date), code, score))
    columns = ["dyad_id", "session_number", "session_date", "instrument", "score"]
    return pd.DataFrame(rows, columns=columns)


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("higher_is_better", [True, False])
def test_vectorised_alerts_equal_the_per_dyad_functions(seed, higher_is_better):
    scores = _random_scores(seed)
    # Any object with the dates of a scope (clinic.scope.Scope) will do.
    window = types.SimpleNamespace(
        date_from=datetime.date(2025, 5, 1), date_to=datetime.date(2025, 6, 30)
    )
    refs = {
        code: ScaleReference(code, higher_is_better, 0.75, "test")
        for code in ("RRI-C", "SESSION-CHECK")
    }
    kinds = {"RRI-C": "relationship", "SESSION-CHECK": "session_outcome"}
    got = sorted(
        (d, a.alert.kind, a.alert.session_number, a.alert.reason)
        for d, a in score_alerts(scores, kinds, refs, window)
    )
    expected = []
    for (dyad, code), rows in scores.groupby(["dyad_id", "instrument"]):
        series = rows.set_index("session_number")["score"]
        dates = rows.set_index("session_number")["session_date"]
        check = relationship_alerts if code == "RRI-C" else outcome_alerts
        for alert in check(series, refs[code]):
            if pd.Timestamp(window.date_from) <= dates[alert.session_number]:
                expected.append((dyad, alert.kind, alert.session_number, alert.reason))
    assert got == sorted(expected)
    assert len(expected) > 5  # the example does exercise the rules


def test_trend_is_the_least_squares_slope_of_the_last_five():
    scores = _random_scores(7, dyads=40)
    rows = scores[scores["instrument"] == "RRI-C"]
    result = latest_and_trend(rows)
    for dyad, group in rows.groupby("dyad_id"):
        group = group.sort_values("session_number")
        tail = group.tail(5)
        assert result.at[dyad, "latest"] == group["score"].iloc[-1]
        assert result.at[dyad, "n"] == len(tail)
        if len(tail) >= 3:
            expected = np.polyfit(tail["session_number"], tail["score"], 1)[0]
            assert result.at[dyad, "slope"] == pytest.approx(expected, abs=1e-12)
        else:
            assert np.isnan(result.at[dyad, "slope"])
