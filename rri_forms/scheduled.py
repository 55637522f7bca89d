"""Periodic jobs of the client forms (Procrastinate; listed in PROCRASTINATE_IMPORT_PATHS).

Kept out of rri_forms/tasks.py, which holds the jobs that requests defer."""

from __future__ import annotations

from django.contrib.auth import SESSION_KEY as USER_KEY
from django.contrib.sessions.models import Session
from django.db.models import Q
from django.utils import timezone
from procrastinate.contrib.django import app

from rri_forms.models import ClientLink
from rri_forms.views.client import SAVED_KEY, SESSION_KEY


@app.periodic(cron="*/15 * * * *", periodic_id="rri_forms.end_sessions_of_dead_links")
@app.task(
    name="rri_forms.end_sessions_of_dead_links",
    queue="maintenance",
    queueing_lock="rri_forms.end_sessions_of_dead_links",
)
def end_sessions_of_dead_links(timestamp: int) -> int:
    """Links expire on their own (their state is read from `expires_at`); what outlives them
    is a client's browser session opened through one. This ends the sessions whose link has
    expired or been revoked, so an unattended phone holds nothing once its link is dead. A
    session that shows a "saved" page, or a staff member's, is left alone. Idempotent."""
    now = timezone.now()
    candidates: dict[str, int] = {}
    for key, data in Session.objects.filter(expire_date__gt=now).values_list(
        "session_key", "session_data"
    ):
        decoded = Session.objects.model(session_key=key, session_data=data).get_decoded()
        link_id = decoded.get(SESSION_KEY)
        if isinstance(link_id, int) and SAVED_KEY not in decoded and USER_KEY not in decoded:
            candidates[key] = link_id
    dead = set(
        ClientLink.objects.filter(pk__in=set(candidates.values()))
        .filter(Q(revoked_at__isnull=False) | Q(used_at__isnull=True, expires_at__lte=now))
        .values_list("pk", flat=True)
    )
    ended, _ = Session.objects.filter(
        session_key__in=[key for key, link_id in candidates.items() if link_id in dead]
    ).delete()
    return ended
