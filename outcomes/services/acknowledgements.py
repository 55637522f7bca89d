"""Acknowledging an alert: who may, and recording it with a note (reads are in
`outcomes.selectors.acknowledgements`)."""

from __future__ import annotations

from django.contrib.auth.base_user import AbstractBaseUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from clinic.access import can_write_dyad, dyads_visible_to, require_staff
from clinic.models import Dyad
from dyad.lib.integrity import readable_integrity_errors
from outcomes.models import AlertAcknowledgement, AlertKind

NOTE_MAX = 2000


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
