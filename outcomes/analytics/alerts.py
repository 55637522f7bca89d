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
    risk                     urgent  a risk item answered above 0: ranked above every other
                                     alert until acknowledged (sort_alerts)
    forms_missed             medium  a form's link expired before it was completed
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from .i18n import _, ngettext
from .numbers import fmt_r, fmt_short, fmt_signed
from .reliable_change import rci_threshold
from .scalars import to_float, to_int

AlertKind = Literal[
    "relationship_drop", "relationship_below_mean", "deterioration", "risk", "forms_missed"
]
Severity = Literal["urgent", "high", "medium"]

# Below about 30 scores a sample-based RCI carries excessive sampling error (see
# docs/analytics.md, "Reliable change from clinic data"), so no threshold is derived from fewer.
MIN_FIRST_SESSION_SCORES = 30
MIN_EARLIER_SESSIONS = 3

_SEVERITY_ORDER = {"urgent": 0, "high": 1, "medium": 2}


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


def reference_from_instrument(
    sd: float, reliability: float, *, label: str, higher_is_better: bool
) -> ScaleReference:
    """Threshold from an instrument's published reference SD and reliability."""
    return ScaleReference(
        label=label,
        higher_is_better=higher_is_better,
        threshold=rci_threshold(sd, reliability),
        source=_("instrument reference values: SD %(sd)s, reliability %(reliability)s")
        % {"sd": fmt_short(sd), "reliability": fmt_r(reliability)},
    )


def _clinic_refusal(values: np.ndarray, alpha: float | None) -> str:
    """Why the clinic's data give no threshold ("" when they do)."""
    n = int(values.size)
    if n < MIN_FIRST_SESSION_SCORES:
        return ngettext(
            "this clinic's data: %(n)d first-session score; at least %(min)d are needed, "
            "so no reliable-change threshold",
            "this clinic's data: %(n)d first-session scores; at least %(min)d are needed, "
            "so no reliable-change threshold",
            n,
        ) % {"n": n, "min": MIN_FIRST_SESSION_SCORES}
    if alpha is None or not math.isfinite(alpha):
        return _(
            "this clinic's data: no reliability (alpha) estimate yet, "
            "so no reliable-change threshold"
        )
    if not 0 < alpha < 1:
        return _(
            "this clinic's data: alpha is %(alpha).2f, outside 0 to 1, "
            "so no reliable-change threshold"
        ) % {"alpha": alpha}
    if float(np.std(values, ddof=1)) == 0:
        return _(
            "this clinic's data: first-session scores did not vary, so no reliable-change threshold"
        )
    return ""


def reference_from_clinic(
    first_session_scores: Iterable[float] | pd.Series | np.ndarray,
    alpha: float | None,
    *,
    label: str,
    higher_is_better: bool,
) -> ScaleReference:
    """Threshold from this clinic's data: SD (ddof = 1) of first-session scores and α.

    Returns threshold None, with the reason in `source`, when there are fewer than 30
    first-session scores, no α, α outside (0, 1), or the scores do not vary.
    """
    values = np.asarray(list(first_session_scores), dtype=float)
    values = values[np.isfinite(values)]
    n = int(values.size)
    refusal = _clinic_refusal(values, alpha)
    if refusal or alpha is None:
        return ScaleReference(
            label=label, higher_is_better=higher_is_better, threshold=None, source=refusal
        )
    sd = float(np.std(values, ddof=1))
    return ScaleReference(
        label=label,
        higher_is_better=higher_is_better,
        threshold=rci_threshold(sd, alpha),
        source=ngettext(
            "this clinic's data: SD of %(n)d first-session score %(sd)s, alpha %(alpha)s",
            "this clinic's data: SD of %(n)d first-session scores %(sd)s, alpha %(alpha)s",
            n,
        )
        % {"n": n, "sd": fmt_short(sd), "alpha": fmt_r(alpha)},
    )


# A score series: a pandas Series indexed by session number, or (sessions, values) arrays
# (the dyad page's, which skip pandas' per-call cost on ~20 values).
ScoreSeries = pd.Series | tuple[np.ndarray, np.ndarray]


def _clean(series: ScoreSeries) -> tuple[list[int], np.ndarray]:
    """Session numbers (ascending) and their scores, missing scores left out."""
    if isinstance(series, pd.Series):
        sessions, values = series.index.to_numpy(), series.to_numpy(dtype=float)
    else:
        sessions, values = np.asarray(series[0]), np.asarray(series[1], dtype=float)
    keep = ~np.isnan(values)
    sessions, values = sessions[keep], values[keep]
    order = np.argsort(sessions, kind="stable")
    return sessions[order].tolist(), values[order]


# The sentences of the change alerts, also used by outcomes.selectors.dashboards for whole clinics.
# One sentence per direction ("fell"/"rose", "below"/"above") so each is a whole msgid.


def _threshold_args(ref: ScaleReference) -> dict[str, str]:
    return {"threshold": fmt_short(ref.threshold or 0), "source": ref.source}


def drop_reason(
    ref: ScaleReference, before: float, before_n: int, value: float, n: int, change: float
) -> str:
    """`relationship_drop`: the score moved by `change` from `before` to `value`."""
    if change < 0:
        text = _(
            "%(label)s fell from %(before)s at session %(before_n)s to %(value)s at session "
            "%(n)s (%(change)s), beyond the reliable-change threshold of %(threshold)s "
            "(%(source)s)."
        )
    else:
        text = _(
            "%(label)s rose from %(before)s at session %(before_n)s to %(value)s at session "
            "%(n)s (%(change)s), beyond the reliable-change threshold of %(threshold)s "
            "(%(source)s)."
        )
    return text % {
        "label": ref.label,
        "before": fmt_short(before),
        "before_n": before_n,
        "value": fmt_short(value),
        "n": n,
        "change": fmt_signed(change),
        **_threshold_args(ref),
    }


def below_mean_reason(
    ref: ScaleReference, n: int, latest: float, earlier_mean: float, earlier: int
) -> str:
    """`relationship_below_mean`: `latest` against the mean of `earlier` earlier sessions."""
    if latest < earlier_mean:
        text = ngettext(
            "%(label)s at session %(n)s was %(latest)s, %(gap)s below this dyad's own mean of "
            "%(mean)s over %(earlier)d earlier session, beyond the reliable-change threshold "
            "of %(threshold)s (%(source)s).",
            "%(label)s at session %(n)s was %(latest)s, %(gap)s below this dyad's own mean of "
            "%(mean)s over %(earlier)d earlier sessions, beyond the reliable-change threshold "
            "of %(threshold)s (%(source)s).",
            earlier,
        )
    else:
        text = ngettext(
            "%(label)s at session %(n)s was %(latest)s, %(gap)s above this dyad's own mean of "
            "%(mean)s over %(earlier)d earlier session, beyond the reliable-change threshold "
            "of %(threshold)s (%(source)s).",
            "%(label)s at session %(n)s was %(latest)s, %(gap)s above this dyad's own mean of "
            "%(mean)s over %(earlier)d earlier sessions, beyond the reliable-change threshold "
            "of %(threshold)s (%(source)s).",
            earlier,
        )
    return text % {
        "label": ref.label,
        "n": n,
        "latest": fmt_short(latest),
        "gap": fmt_short(abs(latest - earlier_mean)),
        "mean": fmt_short(earlier_mean),
        "earlier": earlier,
        **_threshold_args(ref),
    }


def deterioration_reason(
    ref: ScaleReference, first: float, first_n: int, value: float, n: int
) -> str:
    """`deterioration`: from `first` at the first rated session to `value` at session `n`."""
    if value < first:
        text = _(
            "%(label)s fell from %(first)s at the first session (%(first_n)s) to %(value)s at "
            "session %(n)s (%(change)s), a reliable deterioration beyond the reliable-change "
            "threshold of %(threshold)s (%(source)s)."
        )
    else:
        text = _(
            "%(label)s rose from %(first)s at the first session (%(first_n)s) to %(value)s at "
            "session %(n)s (%(change)s), a reliable deterioration beyond the reliable-change "
            "threshold of %(threshold)s (%(source)s)."
        )
    return text % {
        "label": ref.label,
        "first": fmt_short(first),
        "first_n": first_n,
        "value": fmt_short(value),
        "n": n,
        "change": fmt_signed(value - first),
        **_threshold_args(ref),
    }


def relationship_alerts(series: ScoreSeries, ref: ScaleReference) -> list[Alert]:
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
    sessions, values = _clean(series)
    sign = 1.0 if ref.higher_is_better else -1.0
    threshold = ref.threshold
    alerts: list[Alert] = []
    for i in range(1, len(values)):
        change = values[i] - values[i - 1]
        if sign * change <= -threshold:
            alerts.append(
                Alert(
                    kind="relationship_drop",
                    session_number=int(sessions[i]),
                    scale_label=ref.label,
                    reason=drop_reason(
                        ref, values[i - 1], sessions[i - 1], values[i], sessions[i], change
                    ),
                    severity="high",
                )
            )
    if len(values) > MIN_EARLIER_SESSIONS:
        earlier_mean = float(values[:-1].mean())
        latest = float(values[-1])
        if sign * (latest - earlier_mean) < -threshold:
            alerts.append(
                Alert(
                    kind="relationship_below_mean",
                    session_number=int(sessions[-1]),
                    scale_label=ref.label,
                    reason=below_mean_reason(
                        ref, sessions[-1], latest, earlier_mean, len(values) - 1
                    ),
                    severity="medium",
                )
            )
    return alerts


def outcome_alerts(series: ScoreSeries, ref: ScaleReference) -> list[Alert]:
    """Reliable deterioration since the first rated session.

    Worse means change ≤ −threshold when higher is better, ≥ +threshold when higher is worse
    (e.g. PHQ-9). At most one alert, at the latest session where deterioration is observed, so
    a run of bad sessions does not flood the list. No alerts when `ref.threshold` is None.
    """
    if ref.threshold is None:
        return []
    sessions, values = _clean(series)
    if len(values) < 2:
        return []
    sign = 1.0 if ref.higher_is_better else -1.0
    first_session, first = sessions[0], float(values[0])
    change = values[1:] - first
    worse = np.flatnonzero(sign * change <= -ref.threshold)
    if not worse.size:
        return []
    session = sessions[int(worse[-1]) + 1]
    value = float(values[int(worse[-1]) + 1])
    return [
        Alert(
            kind="deterioration",
            session_number=int(session),
            scale_label=ref.label,
            reason=deterioration_reason(ref, first, first_session, value, session),
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
            session_number=to_int(row.session_number),
            scale_label=_("%(instrument)s item %(item)s")
            % {"instrument": row.instrument, "item": row.item_number},
            reason=_(
                "%(item)s was answered %(value)s (above 0) at session %(n)s; review risk with "
                "the client."
            )
            % {"item": row.label, "value": fmt_short(to_float(row.value)), "n": row.session_number},
            severity="urgent",
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
            session_number=to_int(row.session_number),
            scale_label=str(row.form_label),
            reason=_("%(form)s for session %(n)s: not completed before the link expired.")
            % {"form": row.form_label, "n": row.session_number},
            severity="medium",
        )
        for row in missed.itertuples(index=False)
    ]


def sort_alerts(
    alerts: Sequence[Alert], acknowledged: Collection[tuple[int, str]] = ()
) -> list[Alert]:
    """Unacknowledged risk alerts first, however old; then newest session first and,
    within a session, the most severe first; otherwise input order.

    `acknowledged`: (session_number, kind) of the alerts someone has acknowledged."""
    return sorted(
        alerts,
        key=lambda a: (
            not needs_action(a.severity, (a.session_number, a.kind) in acknowledged),
            -a.session_number,
            _SEVERITY_ORDER[a.severity],
        ),
    )


def needs_action(severity: str, acknowledged: bool) -> bool:
    """A risk alert nobody has acknowledged yet: it stays at the top of every list."""
    return severity == "urgent" and not acknowledged
