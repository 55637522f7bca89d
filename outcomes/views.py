"""The dyad page: sessions plus how relationship and outcomes move together."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from clinic import access
from clinic.audit import log_access
from clinic.forms import EndDyadForm
from clinic.models import AccessLog
from outcomes import selectors
from outcomes.dyad_report import build_dyad_report
from outcomes.references import total_reference
from rri_forms.selectors import reminder_states


@login_required
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
    return render(
        request,
        "outcomes/dyad_detail.html",
        {
            "dyad": dyad,
            "sessions": list(sessions.values()),
            "report": report,
            "alerts": [(a, sessions.get(a.session_number)) for a in report.alerts],
            "has_charts": any(chart.figure for chart in report.charts),
            "can_write": access.can_write_dyad(request.user, dyad),
            "end_form": EndDyadForm(initial={"ended_on": dyad.clinic.today()}),
            "reminders": [(dyad, s) for s in reminder_states([dyad.pk]).values()],
        },
    )
