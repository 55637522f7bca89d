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


def dyad_series(scores: pd.DataFrame) -> pd.DataFrame:
    """One dyad: one row per session_number (sorted index), one column per "instrument:scale".

    NaN where a scale was not recorded at a session. Sessions with no stored score at all do not
    appear, so a gap in the index is a gap in the data. Raises ValueError if the frame holds more
    than one dyad or a duplicated score.
    """
    _require(scores, ("session_number", "instrument", "scale", "score"))
    if "dyad_id" in scores.columns and scores["dyad_id"].nunique() > 1:
        raise ValueError("dyad_series takes one dyad's scores; use wide_by_session for many")
    if scores.empty:
        return pd.DataFrame(index=pd.Index([], name="session_number", dtype="int64"))
    return _pivot(scores, ["session_number"])


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
    data = discrepancies.dropna(subset=["session_number", "difference"])
    t = data["session_number"].to_numpy(dtype=float)
    d = data["difference"].to_numpy(dtype=float)
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
