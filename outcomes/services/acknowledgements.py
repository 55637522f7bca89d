"""Acknowledging alerts (a service) and reading who acknowledged what (selectors)."""

from __future__ import annotations

from collections.abc import Collection, Iterable

from django.contrib.auth.base_user import AbstractBaseUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.utils.translation import gettext as _

from clinic.access import can_write_dyad, dyads_visible_to, require_staff
from clinic.models import Dyad
from dyad.lib.integrity import readable_integrity_errors
from outcomes.models import AlertAcknowledgement, AlertKind

NOTE_MAX = 2000
AckKey = tuple[int, int, str]  # dyad id, session number, alert kind


def can_acknowledge(user: AbstractBaseUser, dyad: Dyad) -> bool:
    """The dyad's therapist, a clinic admin, or a supervisor of the therapist: whoever is
    responsible for acting on an alert. (Supervisors cannot change clinical data, but
    saying that they have seen an alert and what was done is their job.)"""
    if can_write_dyad(user, dyad):
        return True
    member = require_staff(user)
    return member.is_supervisor and dyads_visible_to(user).filter(pk=dyad.pk).exists()


@transaction.atomic
def alert_acknowledge(
    *, actor_user: AbstractBaseUser, dyad: Dyad, session_number: int, kind: str, note: str
) -> AlertAcknowledgement:
    """Record that every `kind` alert of the dyad's session `session_number` has been seen,
    with a note of what was done. Once per alert; history keeps who and when."""
    if not can_acknowledge(actor_user, dyad):
        raise PermissionDenied("Cannot acknowledge this dyad's alerts")
    note = (note or "").strip()
    if not note:
        raise ValidationError(_("Say what was done: the note cannot be empty."))
    if len(note) > NOTE_MAX:
        raise ValidationError(
            _("The note is too long (at most %(max)d characters).") % {"max": NOTE_MAX}
        )
    if kind not in AlertKind.values:
        raise ValidationError(_("Unknown alert."))
    session = dyad.sessions.filter(number=session_number).first()
    if session is None:
        raise ValidationError(_("This dyad has no such session."))
    existing = AlertAcknowledgement.objects.filter(session=session, kind=kind).first()
    if existing is not None:
        raise ValidationError(_("This alert has already been acknowledged."))
    with readable_integrity_errors(AlertAcknowledgement):
        return AlertAcknowledgement.objects.create(
            session=session,
            kind=kind,
            note=note,
            acknowledged_by=require_staff(actor_user),
        )


def acknowledgements_for(
    dyads: QuerySet[Dyad] | Collection[int],
) -> dict[AckKey, AlertAcknowledgement]:
    """Every acknowledgement of the dyads' alerts, by (dyad id, session number, kind), with
    who acknowledged. One query; `dyads` a queryset (used as a subquery) or ids."""
    rows = AlertAcknowledgement.objects.filter(session__dyad__in=dyads).select_related(
        "acknowledged_by", "session"
    )
    return {(a.session.dyad_id, a.session.number, a.kind): a for a in rows}


def acknowledged_keys(
    acks: dict[AckKey, AlertAcknowledgement], dyad_id: int
) -> set[tuple[int, str]]:
    """(session number, kind) of one dyad's acknowledged alerts, as sort_alerts takes them."""
    return {(number, kind) for (d, number, kind) in acks if d == dyad_id}


def unacknowledged_risk(
    alerts: Iterable[object], acks: dict[AckKey, AlertAcknowledgement], dyad_id: int
) -> int:
    """How many of the dyad's alerts are risk alerts nobody has acknowledged."""
    return sum(
        1
        for a in alerts
        if getattr(a, "severity", None) == "urgent"
        and (dyad_id, a.session_number, a.kind) not in acks  # type: ignore[attr-defined]
    )
