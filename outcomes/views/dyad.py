"""The dyad page: sessions plus how relationship and outcomes move together."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.safestring import SafeString
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST, require_safe

from clinic import access
from clinic.forms import EndDyadForm
from clinic.models import AccessLog, Dyad
from clinic.services.audit import log_access
from outcomes.analytics import ScaleReference, sort_alerts
from outcomes.analytics.alerts import Alert, needs_action
from outcomes.reliable_change import total_references
from outcomes.reports.dyad import build_dyad_report
from outcomes.selectors import frames as selectors
from outcomes.selectors.acknowledgements import acknowledged_keys, acknowledgements_for
from outcomes.services.acknowledgements import alert_acknowledge
from rri_forms.instrument_spec import InstrumentSpec
from rri_forms.selectors import reminder_states

# Entries are keyed by the data they were built from, so they are never stale; the lifetime
# only bounds how long an entry nobody asks for again is kept.
REPORT_SECONDS = 24 * 3600


@dataclass(frozen=True)
class DyadAnalytics:
    """What the dyad page shows of the dyad's data: the built report rendered to HTML, and
    the sessions table (the same for every viewer: no user, form or CSRF token in them).
    Only the HTML is cached: unpickling the report's objects on every view would cost more
    than the page's own rendering."""

    html: SafeString
    has_charts: bool
    sessions_html: SafeString
    # The alerts with their session's pk: acknowledgements and who may give them are
    # per request, so the alerts list is rendered by the page, not cached as HTML.
    alerts: tuple[tuple[Alert, int | None], ...]


def _build(
    dyad: Dyad, specs: dict[str, InstrumentSpec], references: dict[str, ScaleReference]
) -> DyadAnalytics:
    sessions = {s.number: s for s in dyad.sessions.order_by("-number")}
    series = selectors.dyad_scores(dyad)
    present = {key.split(":", 1)[0] for key in series.columns}
    report = build_dyad_report(
        series,
        specs,
        {code: ref for code, ref in references.items() if code in present},
        selectors.risk_answers_frame(dyad, specs),
        selectors.missed_forms_frame(dyad),
    )
    html = render_to_string("outcomes/includes/dyad_analytics.html", {"report": report})
    sessions_html = render_to_string(
        "clinic/includes/dyad_sessions.html", {"sessions": list(sessions.values())}
    )
    alerts = tuple(
        (a, sessions[a.session_number].pk if a.session_number in sessions else None)
        for a in report.alerts
    )
    return DyadAnalytics(html, any(chart.figure for chart in report.charts), sessions_html, alerts)


def _end_form_html(dyad: Dyad) -> SafeString:
    """The end-dyad form's fields (the CSRF token is outside them), rendered once per day
    and language: crispy-forms costs about a millisecond per rendering."""
    today = dyad.clinic.today()
    key = f"dyad-end-form:{today.isoformat()}:{get_language()}"
    found = cache.get(key)
    if found is None:
        form = EndDyadForm(initial={"ended_on": today})
        found = render_to_string("clinic/includes/end_dyad_form.html", {"end_form": form})
        cache.set(key, found, REPORT_SECONDS)
    return found


def dyad_analytics(dyad: Dyad) -> DyadAnalytics:
    """The built report, cached per dyad data version (`selectors.dyad_version`) and
    language: one query when the dyad's data and the clinic's references are unchanged.

    Otherwise the clinic's stored references are read first (and refreshed if a save marked
    them stale), then the version again: the report is built from the data of that version
    and kept under it only if the version still holds once it is built (no save meanwhile).
    """
    key = f"dyad-report:{dyad.pk}:{{}}:{get_language()}"
    analytics = cache.get(key.format(selectors.dyad_version(dyad)))
    if analytics is not None:
        return analytics
    specs = selectors.instrument_specs()
    references = total_references(dyad.clinic, specs, specs)
    version = selectors.dyad_version(dyad)
    analytics = _build(dyad, specs, references)
    if selectors.dyad_version(dyad) == version:
        cache.set(key.format(version), analytics, REPORT_SECONDS)
    return analytics


@login_required
@require_safe
def dyad_detail(request: HttpRequest, pk: int) -> HttpResponse:
    dyad = access.get_dyad_for_user(request.user, pk)
    log_access(request, AccessLog.Action.VIEW_DYAD, client=dyad.client, obj=dyad)
    analytics = dyad_analytics(dyad)
    can_write = access.can_write_dyad(request.user, dyad)
    session_pks = {a.session_number: pk for a, pk in analytics.alerts}
    acks = acknowledgements_for([dyad.pk])
    keys = acknowledged_keys(acks, dyad.pk)
    alerts = [
        (
            a,
            session_pks[a.session_number],
            acks.get((dyad.pk, a.session_number, a.kind)),
            needs_action(a.severity, (a.session_number, a.kind) in keys),
        )
        for a in sort_alerts([a for a, _pk in analytics.alerts], acknowledged=keys)
    ]
    return render(
        request,
        "outcomes/dyad_detail.html",
        {
            "dyad": dyad,
            "analytics": analytics.html,
            "alerts": alerts,
            "can_acknowledge": bool(alerts) and access.can_act_on_alerts(request.user, dyad),
            "has_charts": analytics.has_charts,
            "sessions_html": analytics.sessions_html,
            "can_write": can_write,
            "end_form_html": _end_form_html(dyad) if can_write and dyad.is_active else "",
            "reminders": [(dyad, s) for s in reminder_states([dyad.pk]).values()],
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
