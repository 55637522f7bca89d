"""Acknowledging an alert: recording it with a note. Who may is
`clinic.access.can_act_on_alerts`; the reads are in `outcomes.selectors.acknowledgements`."""

from __future__ import annotations

from django.contrib.auth.base_user import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from clinic.access import require_alert_actor, require_staff
from clinic.models import Dyad
from dyad.lib.integrity import readable_integrity_errors
from outcomes.models import AlertAcknowledgement, AlertKind

NOTE_MAX = 2000


@transaction.atomic
def alert_acknowledge(
    *, actor_user: AbstractBaseUser, dyad: Dyad, session_number: int, kind: str, note: str
) -> AlertAcknowledgement:
    """Record that every `kind` alert of the dyad's session `session_number` has been seen,
    with a note of what was done. Once per alert; history keeps who and when."""
    require_alert_actor(actor_user, dyad)
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
