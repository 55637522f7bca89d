"""Jobs of the outcomes app (Procrastinate, run by `manage.py procrastinate worker`).

The team analytics page defers a refit of each expensive part (therapist ICC, the
three-level model, alpha) once the scope is too large to fit in the request
(outcomes/selectors/team.py). The job reads the data itself, so it always fits what is
current when it runs, and stores the result in the shared cache, where every app process
finds it.
"""

from __future__ import annotations

import datetime
import hashlib

from django.core.cache import cache
from django.db import connection, transaction
from django.utils import translation
from procrastinate.contrib.django import app
from procrastinate.exceptions import AlreadyEnqueued

from clinic.models import Clinic, StaffMember
from clinic.tasks import MAINTENANCE_QUEUE
from outcomes.selectors import frames as selectors
from outcomes.selectors import team as team_selectors
from outcomes.selectors.team import Inputs, Part, TeamScope

ANALYTICS_QUEUE = "analytics"


def refit_lock(scope: TeamScope, part: Part, language: str) -> str:
    """One name per scope, filters and part: at most one such job waits (queueing lock) and
    one runs (lock) at a time, however many app processes ask."""
    raw = f"{scope.tag}|{language}|{'|'.join(str(p) for p in part)}"
    return "team-refit:" + hashlib.sha256(raw.encode()).hexdigest()[:32]


def defer_refit(scope: TeamScope, part: Part) -> int | None:
    """Queue a refit of `part` for `scope`; the job id, or None when one is already waiting
    (it will read the data as it is when it runs, so it covers this request too)."""
    language = translation.get_language() or ""
    lock = refit_lock(scope, part, language)
    try:
        # A savepoint: the refused insert must not break a surrounding transaction.
        with transaction.atomic():
            return refit_team_part.configure(lock=lock, queueing_lock=lock).defer(
                member_id=scope.member.pk,
                therapist_id=scope.therapist_id,
                date_from=scope.date_from.isoformat() if scope.date_from else None,
                date_to=scope.date_to.isoformat() if scope.date_to else None,
                part=list(part),
                language=language,
            )
    except AlreadyEnqueued:
        return None


def _date(text: str | None) -> datetime.date | None:
    return datetime.date.fromisoformat(text) if text else None


@app.task(queue=ANALYTICS_QUEUE, name="outcomes.refit_team_part")
def refit_team_part(
    *,
    member_id: int,
    therapist_id: int | None,
    date_from: str | None,
    date_to: str | None,
    part: list[str | None],
    language: str,
) -> str:
    """Fit one part of the team report on the current data and cache it.

    Skips the fit when the cache already holds it for this data (a job queued while another
    was fitting the same data), so each change of the data costs one fit."""
    member = StaffMember.objects.select_related("user", "clinic").filter(pk=member_id).first()
    if member is None or not member.user.is_active:
        return "skipped: the member is gone"
    key = tuple(part)
    with translation.override(language or None):
        scope = team_selectors.team_scope(
            member.user,
            member,
            therapist_id=therapist_id,
            date_from=_date(date_from),
            date_to=_date(date_to),
        )
        specs = selectors.instrument_specs()
        # One snapshot: the state the result is filed under is the data it was fitted on.
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
            states = team_selectors.instrument_states(scope)
            fresh_key, _ = team_selectors.part_keys(scope, states, key)
            if cache.get(fresh_key) is not None:
                return "skipped: already fitted on this data"
            inputs = Inputs(scope, states, specs, team_selectors.part_codes(key))
            value = team_selectors.compute_part(inputs, key)
        team_selectors.store(scope, states, key, value)
    return "fitted"


# --- Periodic jobs of the outcomes app --------------------------------------------------


@app.periodic(cron="23 * * * *", periodic_id="outcomes.refresh_clinic_references")
@app.task(
    name="outcomes.refresh_clinic_references",
    queue=MAINTENANCE_QUEUE,
    queueing_lock="outcomes.refresh_clinic_references",
)
def refresh_every_clinic_reference(timestamp: int) -> int:
    """Every clinic's stored reliable-change reference data, hourly. Saves mark a clinic's
    rows stale and the next page refreshes them; this job also catches what no save marks
    (an instrument switched on, data removed by erasure) and keeps the pages' reads warm.
    Idempotent: it recomputes from the data as it is. Returns how many clinics it did."""
    clinics = list(Clinic.objects.values_list("pk", flat=True))
    for clinic_id in clinics:
        selectors.refresh_clinic_references(clinic_id)
    return len(clinics)
