"""Session series, person-mean centring and client–therapist discrepancy.

Input convention used throughout `outcomes.analytics` — the long **scores frame**, one row per
stored scale score:

    dyad_id  therapist_id  session_number  session_date  instrument  rater      scale   score
    17       4             3               2025-03-04    RRI-C       client     total   4.2
    17       4             3               2025-03-04    RRI-T       therapist  realism 3.9
    17       4             3               2025-03-04    PHQ-9       client     total   11

`instrument` is the instrument code ("RRI-C", "PHQ-9"), `rater` "client" or "therapist",
`scale` "total" or a subscale name ("realism", "genuineness"). Each instrument has one rater, so
`f"{instrument}:{scale}"` ("RRI-C:total") names a column unambiguously in the wide frames built
here. Wide frames are indexed by `session_number` (one dyad) or by (`dyad_id`,
`session_number`) (many dyads).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .i18n import _, ngettext

SCORE_COLUMNS = (
    "dyad_id",
    "therapist_id",
    "session_number",
    "session_date",
    "instrument",
    "rater",
    "scale",
    "score",
)

MIN_TREND_POINTS = 3


def column_key(instrument: str, scale: str) -> str:
    """Wide-frame column name for one scale of one instrument, e.g. "RRI-C:total"."""
    return f"{instrument}:{scale}"


def _require(frame: pd.DataFrame, columns: tuple[str, ...]) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise KeyError(f"scores frame is missing columns: {', '.join(missing)}")


def _pivot(scores: pd.DataFrame, index: list[str]) -> pd.DataFrame:
    """Pivot a scores frame to one column per "instrument:scale", refusing duplicated scores.

    Duplicates raise instead of being averaged: two stored scores for one cell is a data error
    that an average would hide.
    """
    keyed = scores.assign(
        _key=scores["instrument"].astype(str) + ":" + scores["scale"].astype(str),
        score=pd.to_numeric(scores["score"], errors="raise").astype(float),
    )
    duplicated = keyed.duplicated([*index, "_key"], keep=False)
    if duplicated.any():
        first = keyed.loc[duplicated].iloc[0]
        where = ", ".join(f"{col} {first[col]}" for col in index)
        raise ValueError(f"more than one score for {where}, {first['_key']}")
    wide = keyed.pivot(index=index, columns="_key", values="score")
    wide = wide.reindex(columns=sorted(wide.columns)).astype(float).sort_index()
    wide.columns.name = None
    return wide


def wide_by_session(scores: pd.DataFrame) -> pd.DataFrame:
    """Many dyads: one row per (dyad_id, session_number), one column per "instrument:scale".

    `therapist_id` is kept as the first column (it is constant within a dyad). Score columns are
    sorted; a scale not recorded at a session is NaN. Raises ValueError on a duplicated score.
    """
    _require(scores, ("dyad_id", "therapist_id", "session_number", "instrument", "scale", "score"))
    index = ["dyad_id", "session_number"]
    wide = _pivot(scores, index)
    therapists = scores.groupby(index, sort=True)["therapist_id"].first()
    wide.insert(0, "therapist_id", therapists.reindex(wide.index))
    return wide


@dataclass(frozen=True)
class DyadSeries:
    """One dyad's scores as arrays: `sessions` (sorted, unique session numbers) and one float
    array per "instrument:scale" column, aligned with `sessions` (NaN where not recorded).

    What the dyad page computes on: a DataFrame of ~20 rows costs more in pandas' per-call
    overhead than the arithmetic (docs/benchmarks.md); `to_frame()` gives `dyad_series`.
    """

    sessions: np.ndarray
    columns: dict[str, np.ndarray]

    def __contains__(self, key: object) -> bool:
        return key in self.columns

    def __len__(self) -> int:
        return int(self.sessions.size)

    def __getitem__(self, key: str) -> np.ndarray:
        return self.columns[key]

    def to_frame(self) -> pd.DataFrame:
        index = pd.Index(self.sessions, name="session_number", dtype="int64")
        return pd.DataFrame({k: self.columns[k] for k in sorted(self.columns)}, index=index)


def series_from_arrays(sessions: object, keys: object, values: object) -> DyadSeries:
    """Build a `DyadSeries` from one dyad's long rows: session numbers, "instrument:scale"
    keys and scores. Raises ValueError on a duplicated score (two scores for one cell is a
    data error that an average would hide) or a score that is not a number."""
    number = np.asarray(sessions, dtype=np.int64)
    key = np.asarray(keys, dtype=object)
    value = np.asarray(values, dtype=float)
    if not (number.shape == key.shape == value.shape) or number.ndim != 1:
        raise ValueError("sessions, keys and values must be one-dimensional and of equal length")
    if number.size == 0:
        return DyadSeries(np.zeros(0, dtype=np.int64), {})
    uniq_sessions, s_idx = np.unique(number, return_inverse=True)
    uniq_keys, k_idx = np.unique(key.astype(str), return_inverse=True)
    cell = k_idx * uniq_sessions.size + s_idx
    order = np.argsort(cell, kind="stable")
    repeated = np.flatnonzero(cell[order][1:] == cell[order][:-1])
    if repeated.size:
        first = order[repeated[0]]
        raise ValueError(
            f"more than one score for session_number {number[first]}, {uniq_keys[k_idx[first]]}"
        )
    grid = np.full((uniq_keys.size, uniq_sessions.size), np.nan)
    grid[k_idx, s_idx] = value
    return DyadSeries(uniq_sessions, {str(k): grid[i] for i, k in enumerate(uniq_keys)})


def dyad_arrays(scores: pd.DataFrame) -> DyadSeries:
    """`series_from_arrays` of a scores frame holding one dyad (see `dyad_series`)."""
    _require(scores, ("session_number", "instrument", "scale", "score"))
    if "dyad_id" in scores.columns and scores["dyad_id"].nunique() > 1:
        raise ValueError("dyad_series takes one dyad's scores; use wide_by_session for many")
    keys = (
        scores["instrument"].astype(str).to_numpy() + ":" + scores["scale"].astype(str).to_numpy()
    )
    values = pd.to_numeric(scores["score"], errors="raise").to_numpy(dtype=float)
    return series_from_arrays(scores["session_number"].to_numpy(), keys, values)


def dyad_series(scores: pd.DataFrame) -> pd.DataFrame:
    """One dyad: one row per session_number (sorted index), one column per "instrument:scale".

    NaN where a scale was not recorded at a session. Sessions with no stored score at all do not
    appear, so a gap in the index is a gap in the data. Raises ValueError if the frame holds more
    than one dyad or a duplicated score.
    """
    return dyad_arrays(scores).to_frame()


def person_mean_centre(frame: pd.DataFrame, group: str, value: str) -> pd.DataFrame:
    """Split `value` into between-group and within-group parts (Curran & Bauer 2011).

    With x̄_g the mean of group g (over its non-missing values) and x̄.. the unweighted mean of
    the group means:
        {value}_between = x̄_g − x̄..        (constant within a group)
        {value}_within  = x − x̄_g          (NaN where x is NaN)
    Returns a copy of `frame` with the two columns added. Using the mean of group means (not
    the row mean) keeps dyads with many sessions from dominating the centre.
    """
    group_mean = frame.groupby(group, sort=False)[value].transform("mean")
    grand = frame.groupby(group, sort=False)[value].mean().mean()
    out = frame.copy()
    out[f"{value}_between"] = group_mean - grand
    out[f"{value}_within"] = frame[value] - group_mean
    return out


def discrepancy(series: pd.DataFrame, client_col: str, therapist_col: str) -> pd.DataFrame:
    """Client-minus-therapist difference per session where both rated.

    difference = client − therapist; positive means the client rated the relationship higher.
    Only meaningful when both forms share the response scale and the scoring rule (mean vs
    sum). `series` is `dyad_series` output (session_number as index or column). Returns
    columns session_number, client, therapist, difference; sessions missing either rating are
    left out.
    """
    if "session_number" in series.columns:
        sessions = series["session_number"].to_numpy()
    else:
        sessions = series.index.to_numpy()
    out = pd.DataFrame(
        {
            "session_number": sessions,
            "client": series[client_col].to_numpy(dtype=float),
            "therapist": series[therapist_col].to_numpy(dtype=float),
        }
    )
    out = out.dropna(subset=["client", "therapist"]).sort_values("session_number")
    out["difference"] = out["client"] - out["therapist"]
    return out.reset_index(drop=True)


@dataclass(frozen=True)
class Trend:
    """Least-squares slope of a quantity per session, or the reason there is none."""

    n: int
    slope: float | None = None
    reason: str | None = None

    @property
    def ok(self) -> bool:
        return self.slope is not None


def discrepancy_trend(discrepancies: pd.DataFrame, *, min_points: int = MIN_TREND_POINTS) -> Trend:
    """Ordinary least-squares slope of `difference` on `session_number`.

    slope = Σ(t − t̄)(d − d̄) / Σ(t − t̄)², in difference units per session. A positive slope
    means the client's rating is pulling ahead of the therapist's over time. None below
    `min_points` sessions with both ratings.
    """
    return slope_per_session(
        discrepancies["session_number"].to_numpy(dtype=float),
        discrepancies["difference"].to_numpy(dtype=float),
        min_points=min_points,
    )


def slope_per_session(
    sessions: np.ndarray, values: np.ndarray, *, min_points: int = MIN_TREND_POINTS
) -> Trend:
    """`discrepancy_trend` on arrays: the OLS slope of `values` on `sessions` over the pairs
    where both are finite."""
    keep = np.isfinite(sessions) & np.isfinite(values)
    t, d = sessions[keep], values[keep]
    n = int(t.size)
    if n < min_points:
        reason = ngettext(
            "%(n)d session rated by both; at least %(min)d are needed",
            "%(n)d sessions rated by both; at least %(min)d are needed",
            n,
        ) % {"n": n, "min": min_points}
        return Trend(n=n, reason=reason)
    tc = t - t.mean()
    sxx = float(np.dot(tc, tc))
    if sxx == 0:
        return Trend(n=n, reason=_("all ratings come from the same session number"))
    return Trend(n=n, slope=float(np.dot(tc, d - d.mean()) / sxx))
