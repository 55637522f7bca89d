"""Numbers out of frame cells (outcomes.analytics.scalars): the value, and a loud failure for
anything that is not a number."""

from __future__ import annotations

import datetime
import math

import numpy as np
import pandas as pd
import pytest

from outcomes.analytics.scalars import to_float, to_float_or_none, to_int


def test_counts_from_python_and_numpy_cells():
    assert to_int(3) == 3
    assert to_int(np.int64(7)) == 7
    assert to_int(np.bool_(True)) == 1
    assert to_int(4.0) == 4
    assert type(to_int(np.int64(7))) is int


def test_numbers_from_cells():
    frame = pd.DataFrame({"mean": [4.25, math.nan]})
    assert to_float(frame.at[0, "mean"]) == 4.25
    assert math.isnan(to_float(frame.at[1, "mean"]))
    assert to_float("3") == 3.0
    assert type(to_float(np.float64(1.5))) is float


def test_an_empty_cell_stays_empty():
    assert to_float_or_none(None) is None
    assert to_float_or_none(np.float64(0.5)) == 0.5


@pytest.mark.parametrize("cell", [datetime.date(2026, 1, 1), pd.NA, object()])
def test_anything_else_is_refused(cell):
    with pytest.raises(TypeError):
        to_int(cell)
    with pytest.raises(TypeError):
        to_float_or_none(cell)
