"""Alerts a therapist or supervisor should look at, each with a sentence explaining it.

Relationship and outcome alerts use a reliable-change threshold (Jacobson–Truax, see
`reliable_change`): a change counts only if it is at least 1.96·SD·√2·√(1 − r_xx) raw points.
The SD and reliability come either from the instrument's published reference values or, when
those are unknown (the RRI has no published norms), from the clinic's own data: the SD of
first-session scores and Cronbach's α.

Kinds and severities:
    relationship_drop        high    fell by ≥ threshold since the previous rated session
    relationship_below_mean  medium  latest score > threshold below the dyad's own earlier mean
    deterioration            high    worse than the first session by ≥ threshold
    risk                     high    a risk item answered above 0
    forms_missed             medium  a form's link expired before it was completed
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from .reliable_change import rci_threshold

AlertKind = Literal[
    "relationship_drop", "relationship_below_mean", "deterioration", "risk", "forms_missed"
]
Severity = Literal["high", "medium"]

MIN_FIRST_SESSION_SCORES = 10
MIN_EARLIER_SESSIONS = 3

_SEVERITY_ORDER = {"high": 0, "medium": 1}


@dataclass(frozen=True)
class Alert:
    kind: AlertKind
    session_number: int
    scale_label: str
    reason: str
    severity: Severity


@dataclass(frozen=True)
class ScaleReference:
    """How to judge change on one scale.

    `threshold` is the reliable-change threshold in raw points, or None when it cannot be
    computed (then `source` says why and no change alerts are raised for the scale).
    """

    label: str
    higher_is_better: bool
    threshold: float | None
    source: str


def _num(value: float) -> str:
    """Two decimals at most, trailing zeros dropped: 4.20 → "4.2", 12.0 → "12"."""
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def _signed(value: float) -> str:
    # A true minus sign reads better in a sentence than a hyphen.
    text = _num(abs(value))
    return f"−{text}" if value < 0 and text != "0" else f"+{text}"


def _alpha(value: float) -> str:
    # Psychometric convention: reliabilities have no leading zero (.88).
    return f"{value:.2f}".lstrip("0")


def reference_from_instrument(
    sd: float, reliability: float, *, label: str, higher_is_better: bool
) -> ScaleReference:
    """Threshold from an instrument's published reference SD and reliability."""
    return ScaleReference(
        label=label,
        higher_is_better=higher_is_better,
        threshold=rci_threshold(sd, reliability),
        source=f"instrument reference values: SD {_num(sd)}, reliability {_alpha(reliability)}",
    )


def reference_from_clinic(
    first_session_scores: Iterable[float] | pd.Series | np.ndarray,
    alpha: float | None,
    *,
    label: str,
    higher_is_better: bool,
) -> ScaleReference:
    """Threshold from this clinic's data: SD (ddof = 1) of first-session scores and α.

    Returns threshold None, with the reason in `source`, when there are fewer than 10
    first-session scores, no α, α outside (0, 1), or the scores do not vary.
    """
    values = np.asarray(list(first_session_scores), dtype=float)
    values = values[np.isfinite(values)]
    n = int(values.size)

    def refused(why: str) -> ScaleReference:
        return ScaleReference(
            label=label,
            higher_is_better=higher_is_better,
            threshold=None,
            source=f"this clinic's data: {why}, so no reliable-change threshold",
        )

    if n < MIN_FIRST_SESSION_SCORES:
        return refused(f"{n} first-session scores; at least {MIN_FIRST_SESSION_SCORES} are needed")
    if alpha is None or not math.isfinite(alpha):
        return refused("no reliability (alpha) estimate yet")
    if not 0 < alpha < 1:
        return refused(f"alpha is {alpha:.2f}, outside 0 to 1")
    sd = float(np.std(values, ddof=1))
    if sd == 0:
        return refused("first-session scores did not vary")
    return ScaleReference(
        label=label,
        higher_is_better=higher_is_better,
        threshold=rci_threshold(sd, alpha),
        source=(
            f"this clinic's data: SD of {n} first-session scores {_num(sd)}, alpha {_alpha(alpha)}"
        ),
    )


def _clean(series: pd.Series) -> pd.Series:
    return series.astype(float).dropna().sort_index()


def _beyond(ref: ScaleReference) -> str:
    return f"beyond the reliable-change threshold of {_num(ref.threshold or 0)} ({ref.source})"


def relationship_alerts(series: pd.Series, ref: ScaleReference) -> list[Alert]:
    """Drops in a relationship score, judged against reliable change.

    relationship_drop: at every session whose score changed by ≤ −threshold from the previous
    rated session (≥ +threshold if higher is worse). Missing sessions are skipped, so the
    comparison is with the last session that has a score.
    relationship_below_mean: the latest score is more than `threshold` worse than the mean of
    all earlier rated sessions; needs at least 3 earlier sessions so the mean means something.
    No alerts when `ref.threshold` is None.
    """
    if ref.threshold is None:
        return []
    scores = _clean(series)
    sign = 1.0 if ref.higher_is_better else -1.0
    threshold = ref.threshold
    alerts: list[Alert] = []
    sessions = scores.index.to_list()
    values = scores.to_numpy()
    for i in range(1, len(values)):
        change = values[i] - values[i - 1]
        if sign * change <= -threshold:
            verb = "fell" if change < 0 else "rose"
            alerts.append(
                Alert(
                    kind="relationship_drop",
                    session_number=int(sessions[i]),
                    scale_label=ref.label,
                    reason=(
                        f"{ref.label} {verb} from {_num(values[i - 1])} at session "
                        f"{sessions[i - 1]} to {_num(values[i])} at session {sessions[i]} "
                        f"({_signed(change)}), {_beyond(ref)}."
                    ),
                    severity="high",
                )
            )
    if len(values) > MIN_EARLIER_SESSIONS:
        earlier_mean = float(values[:-1].mean())
        latest = float(values[-1])
        if sign * (latest - earlier_mean) < -threshold:
            direction = "below" if latest < earlier_mean else "above"
            alerts.append(
                Alert(
                    kind="relationship_below_mean",
                    session_number=int(sessions[-1]),
                    scale_label=ref.label,
                    reason=(
                        f"{ref.label} at session {sessions[-1]} was {_num(latest)}, "
                        f"{_num(abs(latest - earlier_mean))} {direction} this dyad's own mean of "
                        f"{_num(earlier_mean)} over {len(values) - 1} earlier sessions, "
                        f"{_beyond(ref)}."
                    ),
                    severity="medium",
                )
            )
    return alerts


def outcome_alerts(series: pd.Series, ref: ScaleReference) -> list[Alert]:
    """Reliable deterioration since the first rated session.

    Worse means change ≤ −threshold when higher is better, ≥ +threshold when higher is worse
    (e.g. PHQ-9). At most one alert, at the latest session where deterioration is observed, so
    a run of bad sessions does not flood the list. No alerts when `ref.threshold` is None.
    """
    if ref.threshold is None:
        return []
    scores = _clean(series)
    if len(scores) < 2:
        return []
    sign = 1.0 if ref.higher_is_better else -1.0
    first_session, first = scores.index[0], float(scores.iloc[0])
    change = scores.iloc[1:] - first
    worse = change[sign * change <= -ref.threshold]
    if worse.empty:
        return []
    session = worse.index[-1]
    value = float(scores.loc[session])
    verb = "fell" if value < first else "rose"
    return [
        Alert(
            kind="deterioration",
            session_number=int(session),
            scale_label=ref.label,
            reason=(
                f"{ref.label} {verb} from {_num(first)} at the first session ({first_session}) "
                f"to {_num(value)} at session {session} ({_signed(value - first)}), a reliable "
                f"deterioration {_beyond(ref)}."
            ),
            severity="high",
        )
    ]


def risk_alerts(frame: pd.DataFrame) -> list[Alert]:
    """One alert per risk item answered above 0.

    `frame` columns: session_number, instrument, item_number, value, label (the label names the
    item for a reader, e.g. "PHQ-9 item 9 (thoughts of being better off dead or of self-harm)").
    """
    if frame.empty:
        return []
    answered = frame[pd.to_numeric(frame["value"], errors="coerce") > 0]
    return [
        Alert(
            kind="risk",
            session_number=int(row.session_number),
            scale_label=f"{row.instrument} item {row.item_number}",
            reason=(
                f"{row.label} was answered {_num(float(row.value))} (above 0) at session "
                f"{row.session_number}; review risk with the client."
            ),
            severity="high",
        )
        for row in answered.itertuples(index=False)
    ]


def missed_form_alerts(frame: pd.DataFrame) -> list[Alert]:
    """One alert per form whose link expired before it was completed.

    `frame` columns: session_number, expired (bool), completed (bool), form_label.
    """
    if frame.empty:
        return []
    missed = frame[frame["expired"].astype(bool) & ~frame["completed"].astype(bool)]
    return [
        Alert(
            kind="forms_missed",
            session_number=int(row.session_number),
            scale_label=str(row.form_label),
            reason=(
                f"{row.form_label} for session {row.session_number} was not completed "
                "before its link expired."
            ),
            severity="medium",
        )
        for row in missed.itertuples(index=False)
    ]


def sort_alerts(alerts: Sequence[Alert]) -> list[Alert]:
    """Newest session first; within a session, high severity first; otherwise input order."""
    return sorted(alerts, key=lambda a: (-a.session_number, _SEVERITY_ORDER[a.severity]))
