"""The therapist's home page and the supervisor dashboard (read-only, fixed query counts).

Both pages read stored scores through `outcomes.selectors.dashboards`, whose selectors issue
one query each and whose frame computations are vectorised; see that module for the
definitions of the window, trends, open alerts and overdue forms.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from urllib.parse import urlencode

import pandas as pd
from django import forms
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils.html import escape
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_safe

from clinic import access
from clinic.audit import log_access
from clinic.models import AccessLog, Dyad
from clinic.selectors import caseload
from outcomes.analytics.alerts import needs_action
from outcomes.models import AlertAcknowledgement
from outcomes.selectors import dashboards
from outcomes.selectors import frames as selectors
from outcomes.selectors.dashboards import DatedAlert, Window, trend_arrow
from outcomes.services.acknowledgements import acknowledgements_for
from outcomes.templatetags.alert_badges import alert_badge
from rri_forms.selectors import reminder_states

Acknowledged = dict[tuple[int, str], AlertAcknowledgement]  # (session number, kind) -> ack


def ranked(alerts: list[DatedAlert], acknowledged: Acknowledged) -> list[DatedAlert]:
    """Unacknowledged risk alerts first, however old; the rest as the summary ordered them
    (most severe, then newest)."""
    return sorted(
        alerts,
        key=lambda a: not needs_action(a.severity, (a.session_number, a.kind) in acknowledged),
    )


def _dyad_acks(acks: dict[tuple[int, int, str], AlertAcknowledgement]) -> dict[int, Acknowledged]:
    by_dyad: dict[int, Acknowledged] = {}
    for (dyad_id, number, kind), ack in acks.items():
        by_dyad.setdefault(dyad_id, {})[(number, kind)] = ack
    return by_dyad


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
    def items(self) -> list[tuple[DatedAlert, AlertAcknowledgement | None, bool]]:
        """(alert, its acknowledgement, whether it still needs action)."""
        return [
            (
                a,
                self.acknowledged.get((a.session_number, a.kind)),
                needs_action(a.severity, (a.session_number, a.kind) in self.acknowledged),
            )
            for a in self.alerts
        ]


# --- Therapist home ------------------------------------------------------------------

STATUSES = (("active", gettext_lazy("Active")), ("ended", gettext_lazy("Ended")),
            ("all", gettext_lazy("All")))  # fmt: skip
DEFAULT_SORT = "client"


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
        if self.slope is None:
            return ""
        value = round(self.slope, 2) or 0.0  # no "−0.00"
        return f"{value:+.2f}".replace("-", "−")


@dataclass
class CaseloadRow:
    dyad: Dyad
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


# key -> (column label, value getter); the whitelist for ?sort=
SORTS = {
    "client": (gettext_lazy("Client"), lambda r: r.dyad.client.code),
    "sessions": (gettext_lazy("Sessions"), lambda r: r.sessions),
    "last_session": (gettext_lazy("Last session"), lambda r: r.last_session),
    "rri_c": (gettext_lazy("RRI-C"), lambda r: r.client_latest),
    "trend_c": (gettext_lazy("RRI-C trend"), lambda r: r.client_trend.slope),
    "rri_t": (gettext_lazy("RRI-T"), lambda r: r.therapist_latest),
    "trend_t": (gettext_lazy("RRI-T trend"), lambda r: r.therapist_trend.slope),
    "alerts": (gettext_lazy("Open alerts"), lambda r: len(r.alerts)),
    "pending": (gettext_lazy("Links pending"), lambda r: r.pending_links),
    "overdue": (gettext_lazy("Overdue"), lambda r: r.overdue),
}


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


def _value(frame: pd.DataFrame, index: int, column: str) -> object:
    if index not in frame.index or column not in frame.columns:
        return None
    value = frame.at[index, column]
    return None if _missing(value) else value


def _counts(frame: pd.DataFrame, column: str) -> dict[int, int]:
    if frame.empty:
        return {}
    return frame[frame[column]].groupby("dyad_id").size().to_dict()


def caseload_rows(  # type: ignore[no-untyped-def]
    dyads: list[Dyad],
    data: dashboards.Clinical,
    today: datetime.date,
    acks: dict[tuple[int, int, str], AlertAcknowledgement] | None = None,
):
    by_dyad = _dyad_acks(acks or {})
    levels = data.summary.levels
    links = data.links
    recent = pd.Timestamp(dashboards.overdue_since(today))
    live = _counts(links, "live")
    expired = _counts(
        links.assign(recent_expired=links["expired"] & (links["session_date"] >= recent)),
        "recent_expired",
    )
    rows = []
    for dyad in dyads:
        missing = data.stats["therapist_missing"].get(dyad.pk, 0) if not data.stats.empty else 0
        rows.append(
            CaseloadRow(
                dyad=dyad,
                sessions=dyad.session_count,
                last_session=dyad.last_session_on,
                client_code=_value(levels, dyad.pk, "client_code") or "",
                client_latest=_value(levels, dyad.pk, "client_latest"),
                client_trend=Trend(
                    _value(levels, dyad.pk, "client_slope"),
                    int(_value(levels, dyad.pk, "client_n") or 0),
                ),
                therapist_code=_value(levels, dyad.pk, "therapist_code") or "",
                therapist_latest=_value(levels, dyad.pk, "therapist_latest"),
                therapist_trend=Trend(
                    _value(levels, dyad.pk, "therapist_slope"),
                    int(_value(levels, dyad.pk, "therapist_n") or 0),
                ),
                alerts=ranked(data.summary.alerts.get(dyad.pk, []), by_dyad.get(dyad.pk, {})),
                pending_links=int(live.get(dyad.pk, 0)),
                overdue_links=int(expired.get(dyad.pk, 0)),
                overdue_therapist=int(missing),
                acknowledged=by_dyad.get(dyad.pk, {}),
            )
        )
    return rows


def _query(params: dict[str, str], **changes: str) -> str:
    merged = {k: v for k, v in {**params, **changes}.items() if v}
    return "?" + urlencode(merged) if merged else "?"


@login_required
@require_safe
def therapist_home(request: HttpRequest) -> HttpResponse:
    member = access.require_staff(request.user)
    if not member.is_therapist:
        raise PermissionDenied("The home page lists a therapist's own caseload")
    status = request.GET.get("status", "active")
    if status not in dict(STATUSES):
        status = "active"
    attention = request.GET.get("attention") == "1"
    sort = request.GET.get("sort", DEFAULT_SORT)
    if sort.lstrip("-") not in SORTS:
        sort = DEFAULT_SORT
    today = member.clinic.today()
    window = Window.last_days(today)

    dyads = Dyad.objects.filter(therapist=member, clinic=member.clinic)
    if status != "all":
        dyads = dyads.filter(status=status)
    dyads = list(caseload(dyads))
    ids = [d.pk for d in dyads]
    data = dashboards.gather(
        member.clinic,
        selectors.instrument_specs(),
        score_dyads=ids,
        score_ids=set(ids),
        activity_dyads=ids,
        window=window,
        today=today,
    )
    acks = acknowledgements_for(list(data.summary.alerts)) if data.summary.alerts else {}
    rows = sort_rows(caseload_rows(dyads, data, today, acks), sort)
    log_access(
        request,
        AccessLog.Action.VIEW_DASHBOARD,
        clients=[dyad.client_id for dyad in dyads],
        detail=f"therapist home: {len(dyads)} dyads ({status})",
    )
    attention_count = sum(r.needs_attention for r in rows)
    emailing = reminder_states(ids)
    reminders = [(d, emailing[d.pk]) for d in dyads if d.pk in emailing]
    if attention:
        rows = [r for r in rows if r.needs_attention]

    params = {"status": status, "attention": "1" if attention else "", "sort": sort}
    headers = []
    for key, (label, _getter) in SORTS.items():
        current = sort.lstrip("-") == key
        descending = sort.startswith("-")
        next_sort = ("" if descending else "-") + key if current else key
        headers.append(
            {
                "key": key,
                "label": label,
                "url": _query(params, sort=next_sort),
                "aria_sort": ("descending" if descending else "ascending") if current else "",
            }
        )
    return render(
        request,
        "outcomes/therapist_home.html",
        {
            "rows": rows,
            "total": len(dyads),
            "attention_count": attention_count,
            "status": status,
            "statuses": STATUSES,
            "attention": attention,
            "sort": sort,
            "headers": headers,
            "window": window,
            "window_days": dashboards.ALERT_WINDOW_DAYS,
            "overdue_days": dashboards.OVERDUE_DAYS,
            "trend_sessions": dashboards.TREND_SESSIONS,
            "reminders": reminders,
        },
    )


# --- Supervisor dashboard ------------------------------------------------------------

FLAGGED_LIMIT = 50


class DashboardFilter(forms.Form):
    """?therapist=ID&from=YYYY-MM-DD&to=YYYY-MM-DD; every field optional."""

    therapist = forms.TypedChoiceField(
        label=gettext_lazy("Therapist"), coerce=int, required=False, empty_value=None
    )

    def __init__(self, data, *, therapists: list[tuple[int, str]], default: Window):  # type: ignore[no-untyped-def]
        super().__init__(data)
        self.default = default
        self.fields["therapist"].choices = [("", _("All therapists")), *therapists]
        self.fields["therapist"].error_messages["invalid_choice"] = _(
            "There is no therapist %(value)s among those you can see; showing all of them."
        )
        date_error = _("Enter a date as YYYY-MM-DD.")
        self.fields["from"] = forms.DateField(
            label=_("From"), required=False, input_formats=["%Y-%m-%d"],
            error_messages={"invalid": date_error},
        )  # fmt: skip
        self.fields["to"] = forms.DateField(
            label=_("To"), required=False, input_formats=["%Y-%m-%d"],
            error_messages={"invalid": date_error},
        )  # fmt: skip

    def clean(self):  # type: ignore[no-untyped-def]
        data = super().clean()
        start, end = data.get("from"), data.get("to")
        if start and end and start > end:
            self.add_error("to", _("The end date is before the start date."))
            data.pop("to", None)
            data.pop("from", None)
        return data

    def values(self) -> tuple[int | None, Window]:
        """The valid parts of the filter; invalid or missing parts take their defaults."""
        self.is_valid()
        data = self.cleaned_data
        end = data.get("to") or self.default.end
        start = data.get("from") or min(self.default.start, end)
        if start > end:  # only "from" given, after the default end
            end = start
        return data.get("therapist"), Window(start, end)

    def messages(self) -> list[str]:
        found = []
        for name, errors in self.errors.items():
            label = self.fields[name].label if name in self.fields else ""
            for error in errors:
                found.append(
                    _("%(field)s: %(error)s") % {"field": label, "error": error}
                    if label
                    else str(error)
                )
        return found


@dataclass
class TherapistRow:
    pk: int
    name: str
    dyads: int
    active: int
    links: tuple[int, int, float | None]
    client_sessions: tuple[int, int, float | None]
    therapist_sessions: tuple[int, int, float | None]
    client_mean: float | None
    client_trend: Trend
    therapist_mean: float | None
    therapist_trend: Trend
    flagged: int

    @property
    def rates(self) -> list[tuple[str, bool]]:
        """Display text of each completion rate ("2/3 (67%)"), and whether it is empty."""
        return [
            (
                f"{done}/{total} ({round(share * 100)}%)" if share is not None else "0/0",
                share is None,
            )
            for done, total, share in (self.links, self.client_sessions, self.therapist_sessions)
        ]

    @property
    def levels(self) -> list[tuple[str, Trend]]:
        return [
            ("—" if self.client_mean is None else f"{self.client_mean:.2f}", self.client_trend),
            (
                "—" if self.therapist_mean is None else f"{self.therapist_mean:.2f}",
                self.therapist_trend,
            ),
        ]


@dataclass
class FlaggedDyad(AlertsOfDyad):
    dyad_id: int = 0
    client_code: str = ""
    therapist: str = ""

    @property
    def high(self) -> int:
        return sum(a.severity in ("urgent", "high") for a in self.alerts)

    @property
    def reasons_html(self) -> SafeString:
        """One list item per alert, joined in Python: "all dates" on a large clinic shows
        thousands, and a template loop cost ~0.2 ms per item (docs/benchmarks.md). The badge
        is the dyad page's (`alert_badge`); the rare acknowledgement its own template."""
        return SafeString(
            "".join(
                f'<li data-kind="{escape(a.kind)}">{alert_badge(a.severity, open_risk)} '
                f'<span class="text-muted">{a.session_date.isoformat()}</span> '
                f'<span class="text-wrap">{escape(a.alert.reason)}</span>'
                f"{_ack_html(ack) if ack else ''}"
                "</li>"
                for a, ack, open_risk in self.items
            )
        )


def _ack_html(ack: AlertAcknowledgement) -> str:
    return render_to_string("outcomes/includes/alert_ack.html", {"ack": ack})


def _mean(series: pd.Series) -> float | None:
    series = series.dropna()
    return float(series.mean()) if len(series) else None


def therapist_rows(
    therapists: list[tuple[int, str]],
    dyads: pd.DataFrame,
    data: dashboards.Clinical,
    window: Window,
) -> list[TherapistRow]:
    """Per therapist, all vectorised: group sums over the dyad-level frames, gathered into
    one table indexed by therapist and read row by row at the end."""
    owner = dyads.set_index("id")["therapist_id"]
    active = dyads["status"] == Dyad.Status.ACTIVE
    table = pd.DataFrame(index=pd.Index([pk for pk, _name in therapists], name="therapist_id"))
    table["dyads"] = dyads.groupby("therapist_id").size()
    table["active"] = dyads[active].groupby("therapist_id").size()

    stats = data.stats.join(owner.rename("therapist_id"), how="inner")
    table = table.join(
        stats.groupby("therapist_id")[["attended", "with_client", "with_therapist"]].sum()
    )
    links = data.links
    in_window = links[
        (links["session_date"] >= pd.Timestamp(window.start))
        & (links["session_date"] <= pd.Timestamp(window.end))
    ]
    by_owner = in_window.groupby(in_window["dyad_id"].map(owner))
    table["issued"] = by_owner.size()
    table["completed"] = by_owner["completed"].sum()

    levels = data.summary.levels.join(owner.rename("therapist_id"), how="inner")
    levels = levels[levels.index.isin(dyads.loc[active, "id"])]
    by_therapist = levels.groupby("therapist_id")
    columns = ["client_latest", "client_slope", "therapist_latest", "therapist_slope"]
    table = table.join(by_therapist[columns].mean())
    table = table.join(by_therapist[["client_slope", "therapist_slope"]].count().add_suffix("_n"))
    flagged = owner.reindex(list(data.summary.alerts)).value_counts()
    table["flagged"] = flagged
    counts = [c for c in table.columns if c not in columns]
    table[counts] = table[counts].fillna(0).astype(int)
    table = table.astype(object).where(table.notna(), None)

    names = dict(therapists)
    return [
        TherapistRow(
            pk=pk,
            name=names[pk],
            dyads=r.dyads,
            active=r.active,
            links=dashboards.rate(r.completed, r.issued),
            client_sessions=dashboards.rate(r.with_client, r.attended),
            therapist_sessions=dashboards.rate(r.with_therapist, r.attended),
            client_mean=r.client_latest,
            client_trend=Trend(r.client_slope, r.client_slope_n, "dyads"),
            therapist_mean=r.therapist_latest,
            therapist_trend=Trend(r.therapist_slope, r.therapist_slope_n, "dyads"),
            flagged=r.flagged,
        )
        for pk, r in zip(table.index, table.itertuples(index=False), strict=True)
    ]


@login_required
@require_safe
def supervisor_dashboard(request: HttpRequest) -> HttpResponse:
    member = access.require_staff(request.user)
    if member.is_therapist:
        raise PermissionDenied("The supervision dashboard is for supervisors and admins")
    today = member.clinic.today()
    therapists = list(
        access.therapists_visible_to(request.user)
        .order_by("display_name", "pk")
        .values_list("pk", "display_name")
    )
    form = DashboardFilter(request.GET, therapists=therapists, default=Window.last_days(today))
    chosen, window = form.values()
    shown = [t for t in therapists if chosen is None or t[0] == chosen]

    visible = access.dyads_visible_to(request.user).filter(
        therapist_id__in=[pk for pk, _name in shown]
    )
    dyads = pd.DataFrame.from_records(
        list(visible.values_list("pk", "therapist_id", "status", "client__code", "client_id")),
        columns=["id", "therapist_id", "status", "client_code", "client_id"],
    )
    active = dyads["status"] == Dyad.Status.ACTIVE
    # The dyad sets go to the database as subqueries: thousands of ids as parameters cost
    # more to prepare and parse than the subquery costs to run.
    data = dashboards.gather(
        member.clinic,
        selectors.instrument_specs(),
        score_dyads=visible.filter(status=Dyad.Status.ACTIVE),
        score_ids=set(dyads.loc[active, "id"].tolist()),
        activity_dyads=visible,
        window=window,
        today=today,
    )
    rows = therapist_rows(shown, dyads, data, window)

    names = dict(therapists)
    flagged_ids = list(data.summary.alerts)
    info = dyads.set_index("id").reindex(flagged_ids)
    by_dyad = _dyad_acks(acknowledgements_for(flagged_ids) if flagged_ids else {})
    flagged = [
        FlaggedDyad(
            dyad_id=dyad_id,
            client_code=code,
            therapist=names.get(int(therapist), ""),
            alerts=ranked(data.summary.alerts[dyad_id], by_dyad.get(dyad_id, {})),
            acknowledged=by_dyad.get(dyad_id, {}),
        )
        for dyad_id, code, therapist in zip(
            flagged_ids,
            info["client_code"].tolist(),
            info["therapist_id"].tolist(),
            strict=True,
        )
    ]
    # Unacknowledged risk first, then the most high-severity alerts, then the most recent.
    flagged.sort(
        key=lambda f: (
            -f.open_risk,
            -f.high,
            -max(a.session_date.toordinal() for a in f.alerts),
            f.client_code,
        )
    )
    flagged_total = len(flagged)
    if chosen is None:
        # A clinic can have hundreds: show the most urgent; one therapist's are all shown.
        flagged = flagged[:FLAGGED_LIMIT]
    client_of = dict(zip(dyads["id"].tolist(), dyads["client_id"].tolist(), strict=True))
    log_access(
        request,
        AccessLog.Action.VIEW_DASHBOARD,
        clients=[client_of[f.dyad_id] for f in flagged],
        detail=f"supervision dashboard: {len(dyads)} dyads of {len(shown)} therapists, "
        f"{window.start.isoformat()} to {window.end.isoformat()}",
    )
    return render(
        request,
        "outcomes/supervisor_dashboard.html",
        {
            "form": form,
            "problems": form.messages(),
            "chosen": chosen,
            "therapists": therapists,
            "window": window,
            "rows": rows,
            "flagged": flagged,
            "flagged_total": flagged_total,
            "trend_sessions": dashboards.TREND_SESSIONS,
        },
    )
