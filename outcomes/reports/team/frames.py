"""The frames the sections read: relationship/outcome pairs per session, labels, counts."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import numpy as np
import pandas as pd

from outcomes.analytics.i18n import _
from outcomes.analytics.multilevel import MIN_DYADS as MODEL_MIN_DYADS
from outcomes.analytics.multilevel import MIN_THERAPISTS as MODEL_MIN_THERAPISTS
from outcomes.measures import ANSWER_COLUMNS

SCORE_FRAME_COLUMNS = ("dyad_id", "therapist_id", "session_number", "instrument", "score")


ANSWER_FRAME_COLUMNS = ("administration", "instrument", *ANSWER_COLUMNS[1:])


def pair_frame(scores: pd.DataFrame, x_code: str, y_code: str | None) -> pd.DataFrame:
    """One row per (dyad, session) with `x` (relationship) and `y` (outcome) totals.

    Columns dyad_id, therapist_id, session_number, x, y; NaN where a score is missing.
    """
    columns = ["dyad_id", "therapist_id", "session_number", "x", "y"]
    codes = [x_code] + ([y_code] if y_code else [])
    sub = scores[scores["instrument"].isin(codes)]
    if sub.empty:
        return pd.DataFrame({c: pd.Series(dtype=float) for c in columns})
    wide = sub.set_index(["dyad_id", "session_number", "instrument"])["score"].unstack("instrument")
    wide = wide.reindex(columns=codes).rename(columns={x_code: "x", y_code: "y"})
    if "y" not in wide.columns:
        wide["y"] = np.nan
    wide = wide.reset_index()
    therapist = sub.drop_duplicates("dyad_id").set_index("dyad_id")["therapist_id"]
    wide["therapist_id"] = wide["dyad_id"].map(therapist)
    return wide[columns].astype({"x": float, "y": float})


def single_frame(scores: pd.DataFrame, code: str) -> pd.DataFrame:
    """One instrument's totals: dyad_id, therapist_id, session_number, score."""
    sub = scores[scores["instrument"] == code]
    return sub[["dyad_id", "therapist_id", "session_number", "score"]].reset_index(drop=True)


def unique_labels(dyad_ids: Sequence[int], dyads: pd.DataFrame) -> dict[int, str]:
    """Client code per dyad; a client with several dyads gets the dyad id added."""
    known = dict(zip(dyads.index.to_list(), dyads["client_code"].to_list(), strict=True))
    codes = {d: str(known.get(d, _("dyad %(id)s") % {"id": d})) for d in dyad_ids}
    counts = Counter(codes.values())
    return {
        d: (c if counts[c] == 1 else _("%(client)s (dyad %(id)s)") % {"client": c, "id": d})
        for d, c in codes.items()
    }


def therapist_names(dyads: pd.DataFrame) -> dict[int, str]:
    """Therapist name per dyad."""
    return dict(zip(dyads.index.to_list(), dyads["therapist_name"].astype(str), strict=True))


def model_counts(frame: pd.DataFrame, value: str) -> tuple[int, int, int]:
    data = frame.dropna(subset=[value])
    return int(data["therapist_id"].nunique()), int(data["dyad_id"].nunique()), len(data)


def therapist_counts(scores: pd.DataFrame, code: str) -> tuple[int, int, int]:
    """Therapists, dyads and sessions with a `code` total: what the ICC model would use."""
    return model_counts(single_frame(scores, code), "score")


def pair_counts(pair: pd.DataFrame) -> tuple[int, int, int]:
    """Therapists, dyads and sessions with both scores: what the outcome model would use."""
    complete = pair.dropna(subset=["x", "y"])
    return (
        int(complete["therapist_id"].nunique()),
        int(complete["dyad_id"].nunique()),
        len(complete),
    )


def enough_for_model(n_therapists: int, n_dyads: int) -> bool:
    return n_therapists >= MODEL_MIN_THERAPISTS and n_dyads >= MODEL_MIN_DYADS
