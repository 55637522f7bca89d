"""How every page writes a number: one convention, pure (the reports, the alert sentences and
the templates' filters in `outcomes.templatetags.numbers` all call these).

APA style: a quantity that cannot exceed 1 in absolute value (a correlation, a reliability,
a p value) is written without its leading zero, r = .38, α = .88, p = .012; every other
number keeps it, d = 0.80, a threshold of 0.62 points. A missing value (None or NaN) is "—".
"""

from __future__ import annotations

import math

MISSING = "—"
MINUS = "−"  # U+2212: a true minus sign reads better in a sentence than a hyphen


def _missing(value: float | None) -> bool:
    return value is None or not math.isfinite(value)


def fmt(value: float | None, digits: int = 2) -> str:
    """Fixed decimals: 4.5 → "4.50"; "—" when missing."""
    if _missing(value):
        return MISSING
    return f"{value:.{digits}f}"


def fmt_r(value: float | None, digits: int = 2) -> str:
    """A correlation, reliability or proportion without its leading zero: .38, -.12, 1.00."""
    if value is None or not math.isfinite(value):  # _missing, spelt out so mypy narrows
        return MISSING
    text = f"{value:.{digits}f}"
    return text.replace("0.", ".", 1) if abs(value) < 1 else text


def fmt_p(value: float | None) -> str:
    """A p value: three decimals without the leading zero, "< .001" below that."""
    if value is None or not math.isfinite(value):  # _missing, spelt out so mypy narrows
        return MISSING
    return "< .001" if value < 0.001 else fmt_r(value, 3)


def fmt_int(value: int) -> str:
    """A count with thousands separators: 1,502."""
    return f"{value:,}"


def fmt_short(value: float) -> str:
    """Two decimals at most, trailing zeros dropped: 4.20 → "4.2", 12.0 → "12"."""
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def fmt_signed(value: float, digits: int | None = None) -> str:
    """A change with its sign: "+6", "−1.5" (`fmt_short`), or with `digits` fixed decimals,
    "+0.25", "−0.10". A value that rounds to zero is "+0" / "+0.00", never "−0"."""
    text = fmt_short(abs(value)) if digits is None else fmt(abs(value), digits)
    return f"{MINUS}{text}" if value < 0 and float(text) != 0 else f"+{text}"


def fmt_percent(share: float, digits: int = 0) -> str:
    """A share as a percentage: 0.667 → "67%"."""
    return f"{share * 100:.{digits}f}%"
