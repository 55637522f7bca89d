"""The badge before an alert: one rule for the pages that loop in templates (the dyad page)
and the supervision dashboard's alert lists, joined in Python (`alert_reasons`)."""

from __future__ import annotations

from django import template
from django.template.loader import render_to_string
from django.utils.html import escape
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _

from outcomes.models import AlertAcknowledgement
from outcomes.reports.caseload import AlertsOfDyad

register = template.Library()


@register.simple_tag
def alert_badge(severity: str, open_risk: bool) -> SafeString:
    """An unacknowledged risk alert reads "act now"; an acknowledged one stays marked."""
    if open_risk:
        css, label = "badge-risk", _("Risk: act now")
    elif severity == "urgent":
        css, label = "badge-risk-seen", _("Risk (acknowledged)")
    elif severity == "high":
        css, label = "text-bg-danger", _("high")
    else:
        css, label = "text-bg-warning", _("medium")
    return SafeString(f'<span class="badge {css}">{escape(label)}</span>')


@register.simple_tag
def alert_reasons(flagged: AlertsOfDyad) -> SafeString:
    """One list item per alert, joined in Python: "all dates" on a large clinic shows
    thousands, and a template loop cost ~0.2 ms per item (docs/benchmarks.md). The badge is
    the dyad page's; the rare acknowledgement its own template."""
    return SafeString(
        "".join(
            f'<li data-kind="{escape(a.kind)}">{alert_badge(a.severity, open_risk)} '
            f'<span class="text-muted">{a.session_date.isoformat()}</span> '
            f'<span class="text-wrap">{escape(a.alert.reason)}</span>'
            f"{_ack_html(ack) if ack else ''}"
            "</li>"
            for a, ack, open_risk in flagged.items
        )
    )


def _ack_html(ack: AlertAcknowledgement) -> str:
    return render_to_string("outcomes/includes/alert_ack.html", {"ack": ack})
