"""The dyad page: sessions plus how relationship and outcomes move together."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST, require_safe

from clinic import access
from clinic.audit import log_access
from clinic.forms import EndDyadForm
from clinic.models import AccessLog
from outcomes import selectors
from outcomes.acknowledgements import (
    acknowledged_keys,
    acknowledgements_for,
    alert_acknowledge,
    can_acknowledge,
)
from outcomes.analytics import sort_alerts
from outcomes.analytics.alerts import needs_action
from outcomes.dyad_report import build_dyad_report
from outcomes.references import total_reference


@login_required
@require_safe
def dyad_detail(request: HttpRequest, pk: int) -> HttpResponse:
    dyad = access.get_dyad_for_user(request.user, pk)
    log_access(request, AccessLog.Action.VIEW_DYAD, client=dyad.client, obj=dyad)
    specs = selectors.instrument_specs()
    scores = selectors.scores_frame(dyad=dyad)
    present = set(scores["instrument"]) if not scores.empty else set()
    references = {
        code: total_reference(dyad.clinic, specs[code])
        for code in sorted(present)
        if code in specs and any(s.name == "total" for s in specs[code].scales)
    }
    report = build_dyad_report(
        scores,
        {code: spec for code, spec in specs.items() if code in present},
        references,
        selectors.risk_answers_frame(dyad, specs),
        selectors.missed_forms_frame(dyad),
    )
    sessions = {s.number: s for s in dyad.sessions.order_by("-number")}
    acks = acknowledgements_for([dyad.pk])
    keys = acknowledged_keys(acks, dyad.pk)
    alerts = [
        (
            a,
            sessions.get(a.session_number),
            acks.get((dyad.pk, a.session_number, a.kind)),
            needs_action(a.severity, (a.session_number, a.kind) in keys),
        )
        for a in sort_alerts(report.alerts, acknowledged=keys)
    ]
    return render(
        request,
        "outcomes/dyad_detail.html",
        {
            "dyad": dyad,
            "sessions": list(sessions.values()),
            "report": report,
            "alerts": alerts,
            "can_acknowledge": bool(alerts) and can_acknowledge(request.user, dyad),
            "has_charts": any(chart.figure for chart in report.charts),
            "can_write": access.can_write_dyad(request.user, dyad),
            "end_form": EndDyadForm(initial={"ended_on": dyad.clinic.today()}),
        },
    )


@login_required
@require_POST
def alert_acknowledge_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Acknowledge the dyad's alerts of one kind at one session, with a note."""
    dyad = access.get_dyad_for_user(request.user, pk)
    try:
        number = int(request.POST.get("session_number", ""))
    except ValueError:
        number = 0
    try:
        alert_acknowledge(
            actor_user=request.user,
            dyad=dyad,
            session_number=number,
            kind=request.POST.get("kind", ""),
            note=request.POST.get("note", ""),
        )
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, _("Alert acknowledged."))
    return redirect(reverse("dyad_detail", args=[dyad.pk]) + "#alerts-h")
