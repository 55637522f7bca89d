"""The one number formatter (outcomes.analytics.numbers): APA style on every page."""

from __future__ import annotations

import math

import pytest

from outcomes.analytics.numbers import (
    fmt,
    fmt_int,
    fmt_p,
    fmt_percent,
    fmt_r,
    fmt_short,
    fmt_signed,
)


@pytest.mark.parametrize(
    ("value", "text"),
    [(0.383, ".38"), (-0.12, "-.12"), (1.0, "1.00"), (-1.0, "-1.00"), (0.0, ".00"), (None, "—")],
)
def test_a_correlation_has_no_leading_zero(value, text):
    assert fmt_r(value) == text


def test_other_numbers_keep_it():
    assert fmt(0.8) == "0.80"
    assert fmt(4.5, 1) == "4.5"
    assert fmt(math.nan) == "—"
    assert fmt(None) == "—"


def test_p_values():
    assert fmt_p(0.0123) == ".012"
    assert fmt_p(0.0004) == "< .001"
    assert fmt_p(None) == "—"


def test_counts_short_numbers_and_signs():
    assert fmt_int(1502) == "1,502"
    assert fmt_short(4.2) == "4.2" and fmt_short(12.0) == "12" and fmt_short(-0.001) == "0"
    assert fmt_signed(6) == "+6" and fmt_signed(-1.5) == "−1.5"
    assert fmt_signed(-0.001) == "+0"
    assert fmt_signed(0.25, 2) == "+0.25" and fmt_signed(-0.1, 2) == "−0.10"
    assert fmt_signed(-0.004, 2) == "+0.00"  # never "−0.00"
    assert fmt_percent(2 / 3) == "67%"
