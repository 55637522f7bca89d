"""The badge before an alert: one rule for the pages that loop in templates (the dyad page)
and those that join their alert lists in Python (the supervision dashboard)."""

from __future__ import annotations

from django import template
from django.utils.html import escape
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _

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
