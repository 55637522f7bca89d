from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from outcomes.analytics.reliable_change import (
    cronbach_alpha,
    rci_threshold,
    reliable_change_index,
    standard_error_of_difference,
)


def test_rci_threshold_hand_worked():
    # SD = 5, r_xx = .84: SE_m = 5·√.16 = 2; S_diff = √(2·2²) = 2√2 = 2.828427;
    # threshold = 1.96 · 2.828427 = 5.543717.
    assert standard_error_of_difference(5, 0.84) == pytest.approx(2 * math.sqrt(2), abs=1e-12)
    assert rci_threshold(5, 0.84) == pytest.approx(5.5437171, abs=1e-6)


def test_rci_threshold_second_example_and_custom_z():
    # SD = 0.61, r_xx = .88: SE_m = 0.61·√.12 = 0.2113102; S_diff = √2·SE_m = 0.2988377;
    # 1.96 · S_diff = 0.5857220; with z = 1.645: 0.4915881.
    assert rci_threshold(0.61, 0.88) == pytest.approx(0.5857220, abs=1e-6)
    assert rci_threshold(0.61, 0.88, z=1.645) == pytest.approx(0.4915881, abs=1e-6)


def test_reliable_change_index_hand_worked():
    # 20 → 14 with SD 5, r .84: RC = −6 / 2.828427 = −2.121320 (reliable: |RC| > 1.96).
    assert reliable_change_index(20, 14, 5, 0.84) == pytest.approx(-2.1213203, abs=1e-6)
    # 20 → 16: RC = −4 / 2.828427 = −1.414214 (not reliable).
    assert reliable_change_index(20, 16, 5, 0.84) == pytest.approx(-1.4142136, abs=1e-6)


def test_threshold_and_index_agree():
    threshold = rci_threshold(3.2, 0.79)
    assert reliable_change_index(10, 10 + threshold, 3.2, 0.79) == pytest.approx(1.96)


@pytest.mark.parametrize(
    ("sd", "reliability"),
    [(0, 0.8), (-1, 0.8), (math.nan, 0.8), (1, 0), (1, 1), (1, -0.2), (1, 1.3), (1, math.nan)],
)
def test_invalid_inputs_raise(sd, reliability):
    with pytest.raises(ValueError):
        rci_threshold(sd, reliability)
    with pytest.raises(ValueError):
        reliable_change_index(1, 2, sd, reliability)


def test_invalid_z_raises():
    with pytest.raises(ValueError):
        rci_threshold(1, 0.8, z=0)


def hand_items():
    return pd.DataFrame(
        {
            "i1": [2, 4, 3, 5, 1],
            "i2": [3, 4, 3, 4, 2],
            "i3": [3, 5, 4, 5, 2],
        }
    )


def test_cronbach_alpha_hand_worked():
    # Item variances (ddof 1): i1 mean 3, SS 10 → 2.5; i2 mean 3.2, SS 2.8 → 0.7;
    # i3 mean 3.8, SS 6.8 → 1.7; sum 4.9.
    # Totals 8, 13, 10, 14, 5: mean 10, SS 54 → 13.5.
    # α = 3/2 · (1 − 4.9/13.5) = 1.5 · 8.6/13.5 = 12.9/13.5 = 0.955556.
    assert cronbach_alpha(hand_items()) == pytest.approx(12.9 / 13.5, abs=1e-12)


def test_cronbach_alpha_uses_complete_rows_only():
    items = pd.concat(
        [hand_items(), pd.DataFrame({"i1": [5, np.nan], "i2": [np.nan, 1], "i3": [1, 1]})],
        ignore_index=True,
    )
    assert cronbach_alpha(items) == pytest.approx(12.9 / 13.5, abs=1e-12)


def test_cronbach_alpha_matches_covariance_form():
    # Independent form: α = k·c̄ / (v̄ + (k − 1)·c̄), c̄ = mean inter-item covariance,
    # v̄ = mean item variance.
    rng = np.random.default_rng(0)
    trait = rng.normal(size=200)
    items = pd.DataFrame({f"i{j}": trait + rng.normal(0, 0.8, 200) for j in range(6)})
    cov = items.cov().to_numpy()
    k = cov.shape[0]
    v_bar = np.trace(cov) / k
    c_bar = (cov.sum() - np.trace(cov)) / (k * (k - 1))
    assert cronbach_alpha(items) == pytest.approx(k * c_bar / (v_bar + (k - 1) * c_bar))


def test_cronbach_alpha_can_be_negative():
    items = pd.DataFrame({"a": [1, 2, 3, 4], "b": [4, 3, 2, 1.5]})
    alpha = cronbach_alpha(items)
    assert alpha is not None and alpha < 0


@pytest.mark.parametrize(
    "items",
    [
        pd.DataFrame({"only": [1, 2, 3, 4]}),
        pd.DataFrame({"a": [1, 2], "b": [2, 3]}),
        pd.DataFrame({"a": [1, 2, np.nan, 4], "b": [2, np.nan, 3, 3]}),
        pd.DataFrame({"a": [1, 2, 3], "b": [3, 2, 1]}),  # totals all 4: zero variance
        pd.DataFrame({"a": [], "b": []}),
    ],
)
def test_cronbach_alpha_refuses(items):
    assert cronbach_alpha(items) is None
