"""Python numbers out of pandas cells.

pandas-stubs type a cell read through `.at`, `.iloc` or `itertuples()` as any scalar pandas
can hold (a date, a string, NA, ...). A report knows which columns are counts and which are
means; these helpers say so to the type checker and fail loudly if a cell is not a number,
instead of letting a date reach a format string.
"""

from __future__ import annotations

import numpy as np


def to_int(value: object) -> int:
    """A count: an int-like cell (Python or numpy integer or bool, or a whole float) as an
    int; a float is truncated, as `int()` does."""
    if isinstance(value, (int, float, np.number, np.bool_)):
        return int(value)
    raise TypeError(f"expected a number, got {type(value).__name__}")


def to_float(value: object) -> float:
    """A numeric cell (or a numeric string, as `float()` accepts) as a float; NaN stays NaN."""
    if isinstance(value, (str, int, float, np.number)):
        return float(value)
    raise TypeError(f"expected a number, got {type(value).__name__}")


def to_float_or_none(value: object) -> float | None:
    """A numeric cell that may be empty: None stays None, anything else as `to_float`."""
    return None if value is None else to_float(value)
