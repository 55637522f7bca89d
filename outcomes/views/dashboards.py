"""The therapist's home page and the supervisor dashboard (read-only, fixed query counts).

Both read the frames of `outcomes.selectors.dashboards.gather` and show the rows
`outcomes.reports.caseload` builds from them; `outcomes.reports.dashboards` defines the
window, trends, open alerts and overdue forms.
"""

from __future__ import annotations

import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

import pandas as pd
from django.contrib.auth.decorators import login_required
from django.core.exceptions import NON_FIELD_ERRORS
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_safe

from clinic import access
from clinic.models import AccessLog, Dyad, StaffMember
from clinic.scope import DATE_ORDER, Scope, ScopeForm
from clinic.selectors.care import caseload
from clinic.services.audit import log_access
from outcomes.reports import caseload as rows_of
from outcomes.reports.dashboards import TREND_SESSIONS
from outcomes.selectors import dashboards
from outcomes.selectors import frames as selectors
from outcomes.selectors.acknowledgements import acknowledgements_for
from rri_forms.selectors import reminder_states

if TYPE_CHECKING:
    from clinic.access import AnyUser

# --- Therapist home ------------------------------------------------------------------

STATUSES = (("active", gettext_lazy("Active")), ("ended", gettext_lazy("Ended")),
            ("all", gettext_lazy("All")))  # fmt: skip


def _query(params: dict[str, str], **changes: str) -> str:
    merged = {k: v for k, v in {**params, **changes}.items() if v}
    return "?" + urlencode(merged) if merged else "?"


def _headers(params: dict[str, str], sort: str) -> list[dict[str, str]]:
    """The sortable column headers: label, the link that sorts by it, aria-sort."""
    headers = []
    descending = sort.startswith("-")
    for key, (label, _getter) in rows_of.SORTS.items():
        current = sort.lstrip("-") == key
        next_sort = ("" if descending else "-") + key if current else key
        headers.append(
            {
                "key": key,
                "label": _(label),
                "url": _query(params, sort=next_sort),
                "aria_sort": ("descending" if descending else "ascending") if current else "",
            }
        )
    return headers


def _home_params(request: HttpRequest) -> tuple[str, bool, str]:
    """?status=, ?attention=1 and ?sort=, each falling back to its default."""
    status = request.GET.get("status", "active")
    if status not in dict(STATUSES):
        status = "active"
    sort = request.GET.get("sort", rows_of.DEFAULT_SORT)
    if sort.lstrip("-") not in rows_of.SORTS:
        sort = rows_of.DEFAULT_SORT
    return status, request.GET.get("attention") == "1", sort


@login_required
@require_safe
@access.therapist_required
def therapist_home(request: HttpRequest) -> HttpResponse:
    member = access.require_staff(request.user)
    status, attention, sort = _home_params(request)
    today = member.clinic.today()
    start, end = dashboards.last_days(today)
    window = Scope.of(request.user, date_from=start, date_to=end)
    dyads = Dyad.objects.filter(therapist=member, clinic=member.clinic)
    if status != "all":
        dyads = dyads.filter(status=status)
    dyads = list(caseload(dyads))
    ids = [d.pk for d in dyads]
    data = dashboards.gather(
        member.clinic, selectors.instrument_specs(), score_dyads=ids, score_ids=set(ids),
        activity_dyads=ids, window=window, today=today,
    )  # fmt: skip
    acks = acknowledgements_for(list(data.summary.alerts)) if data.summary.alerts else {}
    recent_since = dashboards.overdue_since(today)
    rows = rows_of.sort_rows(rows_of.caseload_rows(dyads, data, recent_since, acks), sort)
    log_access(
        request,
        AccessLog.Action.VIEW_DASHBOARD,
        clients=[dyad.client_id for dyad in dyads],
        detail=f"therapist home: {len(dyads)} dyads ({status})",
    )
    emailing = reminder_states(ids)
    params = {"status": status, "attention": "1" if attention else "", "sort": sort}
    return render(
        request,
        "outcomes/therapist_home.html",
        {
            "rows": [r for r in rows if r.needs_attention] if attention else rows,
            "total": len(dyads),
            "attention_count": sum(r.needs_attention for r in rows),
            "status": status,
            "statuses": STATUSES,
            "attention": attention,
            "sort": sort,
            "headers": _headers(params, sort),
            "window": window,
            "window_days": dashboards.ALERT_WINDOW_DAYS,
            "overdue_days": dashboards.OVERDUE_DAYS,
            "trend_sessions": TREND_SESSIONS,
            "reminders": [(d, emailing[d.pk]) for d in dyads if d.pk in emailing],
        },
    )


# --- Supervisor dashboard ------------------------------------------------------------

FLAGGED_LIMIT = 50


class DashboardFilter(ScopeForm):
    """?therapist=ID&from=YYYY-MM-DD&to=YYYY-MM-DD (clinic.scope.ScopeForm), every field
    optional: an invalid part is reported and takes its default."""

    def __init__(self, data: Any, *, user: AnyUser, menu: list[StaffMember]) -> None:
        super().__init__(data, user=user, therapists=menu)

    def window(self, default: tuple[datetime.date, datetime.date]) -> Scope:
        """The scope of the valid parts; the dates default to `default` (the last
        ALERT_WINDOW_DAYS days), both when they are in the wrong order."""
        self.is_valid()
        start, end = self.dates()
        if self.has_error(NON_FIELD_ERRORS, DATE_ORDER):
            start = end = None
        end = end or default[1]
        start = start or min(default[0], end)
        if start > end:  # only "from" given, after the default end
            end = start
        therapist = self.cleaned_data.get("therapist")
        return Scope.of(self.user, therapist=therapist, date_from=start, date_to=end)


def _dyads_frame(visible: QuerySet[Dyad]) -> pd.DataFrame:
    frame = pd.DataFrame.from_records(
        list(visible.values_list("pk", "therapist_id", "status", "client__code", "client_id")),
        columns=["id", "therapist_id", "status", "client_code", "client_id"],
    )
    return frame.assign(active=frame["status"] == Dyad.Status.ACTIVE)


@login_required
@require_safe
@access.supervision_required
def supervisor_dashboard(request: HttpRequest) -> HttpResponse:
    member = access.require_staff(request.user)
    today = member.clinic.today()
    menu = list(access.therapists_visible_to(request.user).order_by("display_name", "pk"))
    therapists = [(t.pk, t.display_name) for t in menu]
    form = DashboardFilter(request.GET, user=request.user, menu=menu)
    window = form.window(dashboards.last_days(today))
    chosen = window.therapist_id
    shown = [t for t in therapists if chosen is None or t[0] == chosen]
    visible = access.dyads_visible_to(request.user).filter(
        therapist_id__in=[pk for pk, _name in shown]
    )
    dyads = _dyads_frame(visible)
    # The dyad sets go to the database as subqueries: thousands of ids as parameters cost
    # more to prepare and parse than the subquery costs to run.
    data = dashboards.gather(
        member.clinic,
        selectors.instrument_specs(),
        score_dyads=visible.filter(status=Dyad.Status.ACTIVE),
        score_ids=set(dyads.loc[dyads["active"], "id"].tolist()),
        activity_dyads=visible,
        window=window,
        today=today,
    )
    flagged_ids = list(data.summary.alerts)
    acks = acknowledgements_for(flagged_ids) if flagged_ids else {}
    flagged = rows_of.flagged_dyads(data, dyads, dict(therapists), acks)
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
        f"{window.date_from.isoformat()} to {window.date_to.isoformat()}",
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
            "rows": rows_of.therapist_rows(shown, dyads, data, window),
            "flagged": flagged,
            "flagged_total": flagged_total,
            "trend_sessions": TREND_SESSIONS,
        },
    )
