"""Reliable change (Jacobson & Truax 1991) and Cronbach's alpha.

SE_m    = SD·√(1 − r_xx)             SD: pre-treatment (first-session) SD, r_xx: reliability
S_diff  = √(2·SE_m²) = SD·√2·√(1 − r_xx)
RC      = (x₂ − x₁)/S_diff            |RC| > 1.96 is reliable change at p < .05
threshold in raw points = 1.96·S_diff
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

Z_RELIABLE = 1.96


def _check(sd: float, reliability: float) -> None:
    if not math.isfinite(sd) or sd <= 0:
        raise ValueError(f"SD must be a positive number, got {sd!r}")
    if not math.isfinite(reliability) or not 0 < reliability < 1:
        raise ValueError(f"reliability must lie strictly between 0 and 1, got {reliability!r}")


def standard_error_of_difference(sd: float, reliability: float) -> float:
    """S_diff = SD·√2·√(1 − r_xx)."""
    _check(sd, reliability)
    return sd * math.sqrt(2.0) * math.sqrt(1.0 - reliability)


def rci_threshold(sd: float, reliability: float, *, z: float = Z_RELIABLE) -> float:
    """Smallest raw-score change counted as reliable: z·SD·√2·√(1 − r_xx)."""
    if not math.isfinite(z) or z <= 0:
        raise ValueError(f"z must be positive, got {z!r}")
    return z * standard_error_of_difference(sd, reliability)


def reliable_change_index(before: float, after: float, sd: float, reliability: float) -> float:
    """RC = (after − before)/S_diff; the sign follows the raw change, not "better" or "worse"."""
    return (after - before) / standard_error_of_difference(sd, reliability)


def cronbach_alpha(items: pd.DataFrame) -> float | None:
    """Cronbach's α = k/(k − 1)·(1 − Σ s²_item / s²_total), sample variances (ddof = 1).

    Rows are administrations, columns items; only complete rows are used. None with fewer than
    2 items, fewer than 3 complete rows, or zero variance of the total score (α undefined).
    α can be negative when items covary negatively; that is returned as is, because it signals
    a keying problem the caller should see.
    """
    k = items.shape[1]
    complete = items.apply(pd.to_numeric, errors="coerce").dropna(how="any")
    if k < 2 or len(complete) < 3:
        return None
    values = complete.to_numpy(dtype=float)
    total_var = float(np.var(values.sum(axis=1), ddof=1))
    if total_var == 0:
        return None
    item_var = float(np.var(values, axis=0, ddof=1).sum())
    return k / (k - 1) * (1.0 - item_var / total_var)
