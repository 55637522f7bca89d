"""The therapist's home page and the supervisor dashboard (read-only, fixed query counts).

Both read the frames of `outcomes.selectors.dashboards.gather` and show the rows
`outcomes.reports.caseload` builds from them; `outcomes.reports.dashboards` defines the
window, trends, open alerts and overdue forms.
"""

from __future__ import annotations

from urllib.parse import urlencode

import pandas as pd
from django import forms
from django.contrib.auth.decorators import login_required
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_safe

from clinic import access
from clinic.models import AccessLog, Dyad
from clinic.selectors.care import caseload
from clinic.services.audit import log_access
from outcomes.reports import caseload as rows_of
from outcomes.reports.dashboards import TREND_SESSIONS
from outcomes.selectors import dashboards
from outcomes.selectors import frames as selectors
from outcomes.selectors.acknowledgements import acknowledgements_for
from outcomes.selectors.dashboards import Window
from rri_forms.selectors import reminder_states

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
    window = Window.last_days(today)
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
            "rows": rows_of.therapist_rows(shown, dyads, data, window),
            "flagged": flagged,
            "flagged_total": flagged_total,
            "trend_sessions": TREND_SESSIONS,
        },
    )
