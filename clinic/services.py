"""Writes to the clinic domain. Each service is one transaction and validates first."""

from __future__ import annotations

import datetime

from django.contrib.auth.base_user import AbstractBaseUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Max
from django.utils.translation import gettext as _

from clinic.access import can_write_dyad, require_staff
from clinic.models import Client, Dyad, StaffMember, TherapySession
from clinic.privacy import PSEUDONYM_PREFIX
from dyad.lib.integrity import readable_integrity_errors


def _check_therapist(actor: StaffMember, therapist: StaffMember) -> None:
    if therapist.clinic_id != actor.clinic_id or not therapist.is_therapist:
        raise ValidationError({"therapist": _("Choose a therapist of your clinic.")})
    if actor.is_therapist and therapist.pk != actor.pk:
        raise PermissionDenied("Therapists open dyads for themselves only")
    if actor.is_supervisor:
        raise PermissionDenied("Supervisors have read-only access")


@transaction.atomic
def client_create_with_dyad(
    *,
    actor_user: AbstractBaseUser,
    code: str,
    display_name: str,
    email: str,
    therapist: StaffMember,
    started_on: datetime.date,
) -> Dyad:
    """Register a new client and open their first dyad with the given therapist."""
    actor = require_staff(actor_user)
    _check_therapist(actor, therapist)
    client = Client(
        clinic=actor.clinic, code=code.strip(), display_name=display_name.strip(), email=email
    )
    client.full_clean()
    with readable_integrity_errors(Client):
        client.save()
    return dyad_open(
        actor_user=actor_user, client=client, therapist=therapist, started_on=started_on
    )


@transaction.atomic
def client_update(
    *,
    actor_user: AbstractBaseUser,
    client: Client,
    code: str,
    display_name: str,
    email: str,
    reminders_off: bool = False,
) -> Client:
    """Correct a client's code, first name or email. A pseudonymised client stays so."""
    actor = require_staff(actor_user)
    if actor.is_supervisor or client.clinic_id != actor.clinic_id:
        raise PermissionDenied("Read-only access to this client")
    client = Client.objects.select_for_update().get(pk=client.pk)
    if client.code.startswith(PSEUDONYM_PREFIX):
        raise ValidationError(
            _("This client was pseudonymised: their identity cannot be entered again.")
        )
    client.code = code.strip()
    client.display_name = display_name.strip()
    client.email = email.strip()
    client.reminders_off = reminders_off
    client.full_clean()
    with readable_integrity_errors(Client):
        client.save(update_fields=["code", "display_name", "email", "reminders_off"])
    return client


@transaction.atomic
def dyad_open(
    *,
    actor_user: AbstractBaseUser,
    client: Client,
    therapist: StaffMember,
    started_on: datetime.date,
) -> Dyad:
    actor = require_staff(actor_user)
    _check_therapist(actor, therapist)
    if client.clinic_id != actor.clinic_id:
        raise PermissionDenied("Client of another clinic")
    if started_on > actor.clinic.today():
        raise ValidationError({"started_on": _("The start date cannot be in the future.")})
    dyad = Dyad(clinic=actor.clinic, therapist=therapist, client=client, started_on=started_on)
    dyad.full_clean()
    with readable_integrity_errors(Dyad):
        dyad.save()
    return dyad


@transaction.atomic
def dyad_end(*, actor_user: AbstractBaseUser, dyad: Dyad, ended_on: datetime.date) -> Dyad:
    if not can_write_dyad(actor_user, dyad):
        raise PermissionDenied("Read-only access to this dyad")
    if not dyad.is_active:
        raise ValidationError(_("This dyad has already ended."))
    if ended_on > dyad.clinic.today():
        raise ValidationError({"ended_on": _("The end date cannot be in the future.")})
    dyad.status = Dyad.Status.ENDED
    dyad.ended_on = ended_on
    dyad.full_clean()
    with readable_integrity_errors(Dyad):
        dyad.save(update_fields=["status", "ended_on"])
    return dyad


@transaction.atomic
def dyad_transfer(
    *, actor_user: AbstractBaseUser, dyad: Dyad, therapist: StaffMember, on: datetime.date
) -> Dyad:
    """Move a client to another therapist (clinic admins): the dyad ends on `on` and a new
    one starts that day. Sessions and forms stay with the relationship they belong to."""
    actor = require_staff(actor_user)
    if not actor.is_admin or dyad.clinic_id != actor.clinic_id:
        raise PermissionDenied("Clinic admins move clients between therapists")
    dyad = Dyad.objects.select_for_update().get(pk=dyad.pk)
    if not dyad.is_active:
        raise ValidationError(_("This dyad has already ended."))
    if therapist.pk == dyad.therapist_id:
        raise ValidationError({"therapist": _("The client is already with this therapist.")})
    last = dyad.sessions.aggregate(last=Max("date"))["last"]
    if on < max(filter(None, [dyad.started_on, last])):
        raise ValidationError(
            {
                "on": _("The move cannot be dated before the dyad's last session or start (%(d)s).")
                % {"d": max(filter(None, [dyad.started_on, last])).isoformat()}
            }
        )
    if on > actor.clinic.today():
        raise ValidationError({"on": _("The date cannot be in the future.")})
    dyad_end(actor_user=actor_user, dyad=dyad, ended_on=on)
    return dyad_open(actor_user=actor_user, client=dyad.client, therapist=therapist, started_on=on)


@transaction.atomic
def session_log(
    *,
    actor_user: AbstractBaseUser,
    dyad: Dyad,
    number: int,
    date: datetime.date,
    attendance: str = TherapySession.Attendance.ATTENDED,
) -> TherapySession:
    """Record a session of the dyad; refuses future dates and duplicate numbers."""
    if not can_write_dyad(actor_user, dyad):
        raise PermissionDenied("Read-only access to this dyad")
    errors: dict[str, str] = {}
    if not dyad.is_active:
        raise ValidationError(_("This dyad has ended; sessions can no longer be added."))
    if date > dyad.clinic.today():
        errors["date"] = _("The session date cannot be in the future.")
    elif date < dyad.started_on:
        errors["date"] = _("The session date cannot be before the dyad started (%(d)s).") % {
            "d": dyad.started_on.isoformat()
        }
    if errors:
        raise ValidationError(errors)
    session = TherapySession(
        dyad=dyad,
        number=number,
        date=date,
        attendance=attendance,
        created_by=require_staff(actor_user),
    )
    session.full_clean()
    with readable_integrity_errors(TherapySession):
        session.save()
    return session
