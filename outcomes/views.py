"""The dyad page: sessions plus how relationship and outcomes move together."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils.safestring import SafeString
from django.utils.translation import get_language

from clinic import access
from clinic.audit import log_access
from clinic.forms import EndDyadForm
from clinic.models import AccessLog, Dyad
from outcomes import selectors
from outcomes.analytics import ScaleReference
from outcomes.dyad_report import build_dyad_report
from outcomes.references import total_references
from rri_forms.instrument_spec import InstrumentSpec

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


def _build(
    dyad: Dyad, specs: dict[str, InstrumentSpec], references: dict[str, ScaleReference]
) -> DyadAnalytics:
    sessions = {s.number: s for s in dyad.sessions.order_by("-number")}
    series = selectors.dyad_scores(dyad)
    present = {key.split(":", 1)[0] for key in series.columns}
    report = build_dyad_report(
        series,
        {code: spec for code, spec in specs.items() if code in present},
        {code: ref for code, ref in references.items() if code in present},
        selectors.risk_answers_frame(dyad, specs),
        selectors.missed_forms_frame(dyad),
    )
    html = render_to_string(
        "outcomes/includes/dyad_analytics.html",
        {
            "report": report,
            "alerts": [(a, sessions.get(a.session_number)) for a in report.alerts],
        },
    )
    sessions_html = render_to_string(
        "clinic/includes/dyad_sessions.html", {"sessions": list(sessions.values())}
    )
    return DyadAnalytics(html, any(chart.figure for chart in report.charts), sessions_html)


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
def dyad_detail(request: HttpRequest, pk: int) -> HttpResponse:
    dyad = access.get_dyad_for_user(request.user, pk)
    log_access(request, AccessLog.Action.VIEW_DYAD, client=dyad.client, obj=dyad)
    analytics = dyad_analytics(dyad)
    can_write = access.can_write_dyad(request.user, dyad)
    return render(
        request,
        "outcomes/dyad_detail.html",
        {
            "dyad": dyad,
            "analytics": analytics.html,
            "has_charts": analytics.has_charts,
            "sessions_html": analytics.sessions_html,
            "can_write": can_write,
            "end_form_html": _end_form_html(dyad) if can_write and dyad.is_active else "",
        },
    )
