"""The rows of the therapist home (one per dyad) and of the supervisor dashboard (one per
therapist, and the flagged dyads), built from `outcomes.reports.dashboards.Clinical`.

Pure: dyads and acknowledgements arrive as the objects the views read (only the attributes
named here are used), and column labels are marked for translation, translated by the view.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from outcomes.analytics.alerts import needs_action
from outcomes.analytics.i18n import gettext_noop, ngettext
from outcomes.analytics.numbers import fmt, fmt_percent, fmt_signed
from outcomes.analytics.scalars import to_float_or_none, to_int
from outcomes.reports.dashboards import Clinical, DatedAlert, Period, trend_arrow, window_dates

Acknowledged = dict[tuple[int, str], Any]  # (session number, kind) -> acknowledgement
AckKey = tuple[int, int, str]  # dyad id, session number, kind


def ranked(alerts: list[DatedAlert], acknowledged: Acknowledged) -> list[DatedAlert]:
    """Unacknowledged risk alerts first, however old; the rest as the summary ordered them
    (most severe, then newest)."""
    return sorted(
        alerts,
        key=lambda a: not needs_action(a.severity, (a.session_number, a.kind) in acknowledged),
    )


def by_dyad(acks: Mapping[AckKey, Any]) -> dict[int, Acknowledged]:
    """The acknowledgements of `acknowledgements_for`, grouped by dyad."""
    grouped: dict[int, Acknowledged] = {}
    for (dyad_id, number, kind), ack in acks.items():
        grouped.setdefault(dyad_id, {})[(number, kind)] = ack
    return grouped


@dataclass
class AlertsOfDyad:
    """A dyad's open alerts, ranked, with their acknowledgements."""

    alerts: list[DatedAlert]
    acknowledged: Acknowledged = field(default_factory=dict)

    @property
    def open_risk(self) -> int:
        return sum(
            needs_action(a.severity, (a.session_number, a.kind) in self.acknowledged)
            for a in self.alerts
        )

    @property
    def items(self) -> list[tuple[DatedAlert, Any, bool]]:
        """(alert, its acknowledgement, whether it still needs action)."""
        return [
            (
                a,
                self.acknowledged.get((a.session_number, a.kind)),
                needs_action(a.severity, (a.session_number, a.kind) in self.acknowledged),
            )
            for a in self.alerts
        ]


@dataclass
class Trend:
    slope: float | None
    n: int
    per: str = "sessions"  # what n counts: "sessions" (one dyad) or "dyads" (a mean)

    @property
    def title(self) -> str:
        if self.per == "dyads":
            return ngettext("mean over %(n)d dyad", "mean over %(n)d dyads", self.n) % {"n": self.n}
        return ngettext(
            "slope over the last %(n)d rated session",
            "slope over the last %(n)d rated sessions",
            self.n,
        ) % {"n": self.n}

    @property
    def arrow(self) -> str:
        return trend_arrow(self.slope)

    @property
    def text(self) -> str:
        """The slope with its sign and two decimals ("+0.25", "−0.10")."""
        return "" if self.slope is None else fmt_signed(self.slope, 2)


# --- Therapist home ------------------------------------------------------------------


@dataclass
class CaseloadRow:
    dyad: Any  # clinic.models.Dyad, annotated by clinic.selectors.caseload
    sessions: int
    last_session: datetime.date | None
    client_code: str
    client_latest: float | None
    client_trend: Trend
    therapist_code: str
    therapist_latest: float | None
    therapist_trend: Trend
    alerts: list[DatedAlert]
    pending_links: int
    overdue_links: int
    overdue_therapist: int
    acknowledged: Acknowledged = field(default_factory=dict)

    @property
    def overdue(self) -> int:
        return self.overdue_links + self.overdue_therapist

    @property
    def top_alert(self) -> DatedAlert | None:
        return self.alerts[0] if self.alerts else None

    @property
    def open_risk(self) -> int:
        return AlertsOfDyad(self.alerts, self.acknowledged).open_risk

    @property
    def needs_attention(self) -> bool:
        return bool(self.alerts) or self.overdue > 0


Getter = Callable[[CaseloadRow], Any]

# key -> (column label, value getter); the whitelist for ?sort=
SORTS: dict[str, tuple[str, Getter]] = {
    "client": (gettext_noop("Client"), lambda r: r.dyad.client.code),
    "sessions": (gettext_noop("Sessions"), lambda r: r.sessions),
    "last_session": (gettext_noop("Last session"), lambda r: r.last_session),
    "rri_c": (gettext_noop("RRI-C"), lambda r: r.client_latest),
    "trend_c": (gettext_noop("RRI-C trend"), lambda r: r.client_trend.slope),
    "rri_t": (gettext_noop("RRI-T"), lambda r: r.therapist_latest),
    "trend_t": (gettext_noop("RRI-T trend"), lambda r: r.therapist_trend.slope),
    "alerts": (gettext_noop("Open alerts"), lambda r: len(r.alerts)),
    "pending": (gettext_noop("Links pending"), lambda r: r.pending_links),
    "overdue": (gettext_noop("Overdue"), lambda r: r.overdue),
}
DEFAULT_SORT = "client"


def _missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and pd.isna(value))


def sort_rows(rows: list[CaseloadRow], sort: str) -> list[CaseloadRow]:
    """Sort by a whitelisted key ("-key" descending); missing values always last. Dyads
    with a risk alert nobody has acknowledged come first, whatever the sort."""
    key = sort.lstrip("-")
    getter = SORTS[key][1]
    by_client = sorted(rows, key=lambda r: r.dyad.client.code)
    present = [r for r in by_client if not _missing(getter(r))]
    absent = [r for r in by_client if _missing(getter(r))]
    present.sort(key=getter, reverse=sort.startswith("-"))
    return sorted(present + absent, key=lambda r: r.open_risk == 0)


def _value(frame: pd.DataFrame, index: int, column: str) -> Any:
    if index not in frame.index or column not in frame.columns:
        return None
    value = frame.at[index, column]
    return None if _missing(value) else value


def _counts(frame: pd.DataFrame, column: str) -> dict[int, int]:
    if frame.empty:
        return {}
    sizes = frame[frame[column]].groupby("dyad_id").size()
    return {int(pk): int(n) for pk, n in zip(sizes.index, sizes.to_numpy(), strict=True)}


def _trend(levels: pd.DataFrame, pk: int, role: str) -> Trend:
    return Trend(_value(levels, pk, f"{role}_slope"), int(_value(levels, pk, f"{role}_n") or 0))


def caseload_rows(
    dyads: list[Any],
    data: Clinical,
    recent_since: datetime.date,
    acks: Mapping[AckKey, Any] | None = None,
) -> list[CaseloadRow]:
    """One row per dyad; links expired unused since `recent_since` count as overdue."""
    grouped = by_dyad(acks or {})
    levels, links = data.summary.levels, data.links
    live = _counts(links, "live")
    recent = links["expired"] & (links["session_date"] >= pd.Timestamp(recent_since))
    expired = _counts(links.assign(recent_expired=recent), "recent_expired")
    missing = data.stats["therapist_missing"] if not data.stats.empty else pd.Series(dtype="int64")
    return [
        CaseloadRow(
            dyad=dyad,
            sessions=dyad.session_count,
            last_session=dyad.last_session_on,
            client_code=_value(levels, dyad.pk, "client_code") or "",
            client_latest=_value(levels, dyad.pk, "client_latest"),
            client_trend=_trend(levels, dyad.pk, "client"),
            therapist_code=_value(levels, dyad.pk, "therapist_code") or "",
            therapist_latest=_value(levels, dyad.pk, "therapist_latest"),
            therapist_trend=_trend(levels, dyad.pk, "therapist"),
            alerts=ranked(data.summary.alerts.get(dyad.pk, []), grouped.get(dyad.pk, {})),
            pending_links=int(live.get(dyad.pk, 0)),
            overdue_links=int(expired.get(dyad.pk, 0)),
            overdue_therapist=int(missing.get(dyad.pk, 0)),
            acknowledged=grouped.get(dyad.pk, {}),
        )
        for dyad in dyads
    ]


# --- Supervisor dashboard ------------------------------------------------------------

Rate = tuple[int, int, float | None]  # done, total, share (None when total is 0)


def rate(done: int, total: int) -> Rate:
    return (int(done), int(total), (done / total) if total else None)


@dataclass
class TherapistRow:
    pk: int
    name: str
    dyads: int
    active: int
    links: Rate
    client_sessions: Rate
    therapist_sessions: Rate
    client_mean: float | None
    client_trend: Trend
    therapist_mean: float | None
    therapist_trend: Trend
    flagged: int

    @property
    def rates(self) -> list[tuple[str, bool]]:
        """Display text of each completion rate ("2/3 (67%)"), and whether it is empty."""
        return [
            (f"{done}/{total} ({fmt_percent(share)})" if share is not None else "0/0",
             share is None)
            for done, total, share in (self.links, self.client_sessions, self.therapist_sessions)
        ]  # fmt: skip

    @property
    def levels(self) -> list[tuple[str, Trend]]:
        return [
            (fmt(self.client_mean), self.client_trend),
            (fmt(self.therapist_mean), self.therapist_trend),
        ]


_LEVELS = ["client_latest", "client_slope", "therapist_latest", "therapist_slope"]


def _therapist_table(
    ids: list[int], dyads: pd.DataFrame, data: Clinical, window: Period
) -> pd.DataFrame:
    """Per therapist, all vectorised: group sums over the dyad-level frames, gathered into
    one table indexed by therapist. `dyads`: columns id, therapist_id and active (bool)."""
    owner = dyads.set_index("id")["therapist_id"]
    table = pd.DataFrame(index=pd.Index(ids, name="therapist_id"))
    table["dyads"] = dyads.groupby("therapist_id").size()
    table["active"] = dyads[dyads["active"]].groupby("therapist_id").size()

    stats = data.stats.join(owner.rename("therapist_id"), how="inner")
    table = table.join(
        stats.groupby("therapist_id")[["attended", "with_client", "with_therapist"]].sum()
    )
    links = data.links
    date_from, date_to = window_dates(window)
    in_window = links[
        (links["session_date"] >= pd.Timestamp(date_from))
        & (links["session_date"] <= pd.Timestamp(date_to))
    ]
    by_owner = in_window.groupby(in_window["dyad_id"].map(owner))
    table["issued"] = by_owner.size()
    table["completed"] = by_owner["completed"].sum()

    levels = data.summary.levels.join(owner.rename("therapist_id"), how="inner")
    levels = levels[levels.index.isin(dyads.loc[dyads["active"], "id"])]
    grouped = levels.groupby("therapist_id")
    table = table.join(grouped[_LEVELS].mean())
    table = table.join(grouped[["client_slope", "therapist_slope"]].count().add_suffix("_n"))
    table["flagged"] = owner.reindex(list(data.summary.alerts)).value_counts()
    counts = [c for c in table.columns if c not in _LEVELS]
    table[counts] = table[counts].fillna(0).astype(int)
    return table.astype(object).where(table.notna(), None)


def therapist_rows(
    therapists: list[tuple[int, str]], dyads: pd.DataFrame, data: Clinical, window: Period
) -> list[TherapistRow]:
    """One row per therapist in `therapists` ((pk, name), in order)."""
    table = _therapist_table([pk for pk, _name in therapists], dyads, data, window)
    names = dict(therapists)
    return [
        TherapistRow(
            pk=pk,
            name=names[pk],
            dyads=to_int(r.dyads),
            active=to_int(r.active),
            links=rate(to_int(r.completed), to_int(r.issued)),
            client_sessions=rate(to_int(r.with_client), to_int(r.attended)),
            therapist_sessions=rate(to_int(r.with_therapist), to_int(r.attended)),
            client_mean=to_float_or_none(r.client_latest),
            client_trend=Trend(to_float_or_none(r.client_slope), to_int(r.client_slope_n), "dyads"),
            therapist_mean=to_float_or_none(r.therapist_latest),
            therapist_trend=Trend(
                to_float_or_none(r.therapist_slope), to_int(r.therapist_slope_n), "dyads"
            ),
            flagged=to_int(r.flagged),
        )
        for pk, r in zip(table.index, table.itertuples(index=False), strict=True)
    ]


@dataclass
class FlaggedDyad(AlertsOfDyad):
    dyad_id: int = 0
    client_code: str = ""
    therapist: str = ""

    @property
    def high(self) -> int:
        return sum(a.severity in ("urgent", "high") for a in self.alerts)


def flagged_dyads(
    data: Clinical, dyads: pd.DataFrame, names: Mapping[int, str], acks: Mapping[AckKey, Any]
) -> list[FlaggedDyad]:
    """The dyads with open alerts: unacknowledged risk first, then the most high-severity
    alerts, then the most recent. `dyads`: columns id, client_code and therapist_id."""
    ids = list(data.summary.alerts)
    info = dyads.set_index("id").reindex(ids)
    grouped = by_dyad(acks)
    flagged = [
        FlaggedDyad(
            dyad_id=dyad_id,
            client_code=code,
            therapist=names.get(int(therapist), ""),
            alerts=ranked(data.summary.alerts[dyad_id], grouped.get(dyad_id, {})),
            acknowledged=grouped.get(dyad_id, {}),
        )
        for dyad_id, code, therapist in zip(
            ids, info["client_code"].tolist(), info["therapist_id"].tolist(), strict=True
        )
    ]
    flagged.sort(
        key=lambda f: (
            -f.open_risk,
            -f.high,
            -max(a.session_date.toordinal() for a in f.alerts),
            f.client_code,
        )
    )
    return flagged
