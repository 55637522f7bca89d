"""Client links: issue, revoke, email, and resolve a token to its link."""

from __future__ import annotations

import datetime

from django.contrib.auth.base_user import AbstractBaseUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from clinic.access import can_write_dyad, require_staff
from clinic.models import TherapySession
from dyad.lib.integrity import readable_integrity_errors
from rri_forms.models import Administration, ClientLink, LinkEmail
from rri_forms.models.links import hash_token, new_token_seed, token_from_seed
from rri_forms.selectors import current_instruments, form_settings_for
from rri_forms.services.outbox import queue_link_email


def _pending_client_instruments(session: TherapySession) -> list[int]:
    settings = form_settings_for(session.dyad.clinic)
    done = set(
        Administration.objects.filter(session=session, rater="client").values_list(
            "instrument_code", flat=True
        )
    )
    wanted = settings.codes_for("client", session.number)
    return [i.pk for i in current_instruments(wanted) if i.code not in done]


@transaction.atomic
def link_issue(*, actor_user: AbstractBaseUser, session: TherapySession) -> tuple[ClientLink, str]:
    """A new link for the session's pending client forms; an earlier link's token stops
    opening, but a browser already answering it carries on and saves through this link
    (`superseded_by`), so a re-issued or emailed link never costs the client their answers.

    Returns the link and the raw token, which exists only now: the database keeps a hash.
    """
    if not can_write_dyad(actor_user, session.dyad):
        raise PermissionDenied("Read-only access to this session")
    if not session.attended:
        raise ValidationError(_("The client did not attend this session; no forms are due."))
    instrument_ids = _pending_client_instruments(session)
    if not instrument_ids:
        raise ValidationError(_("The client has completed all their forms for this session."))
    now = timezone.now()
    # Lock the session's links so two clicks cannot both issue one.
    live = ClientLink.objects.select_for_update().filter(session=session, revoked_at__isnull=True)
    for link in live:
        if link.used_at is not None:
            raise ValidationError(_("The client has already submitted their forms."))
    replaced = [link.pk for link in live]
    live.update(revoked_at=now)
    lifetime = form_settings_for(session.dyad.clinic).link_lifetime_hours
    seed = new_token_seed()
    token = token_from_seed(seed)
    with readable_integrity_errors(ClientLink):  # e.g. the issuer moved clinic meanwhile
        link = ClientLink.objects.create(
            session=session,
            token_hash=hash_token(token),
            token_seed=seed,
            instrument_ids=instrument_ids,
            created_by=require_staff(actor_user),
            expires_at=now + datetime.timedelta(hours=lifetime),
        )
    # A client already answering an earlier link keeps their form: it saves through this one.
    ClientLink.objects.filter(
        Q(pk__in=replaced) | Q(superseded_by__in=replaced), used_at__isnull=True
    ).update(superseded_by=link)
    return link, token


@transaction.atomic
def link_revoke(*, actor_user: AbstractBaseUser, session: TherapySession) -> int:
    if not can_write_dyad(actor_user, session.dyad):
        raise PermissionDenied("Read-only access to this session")
    return ClientLink.objects.filter(
        session=session, revoked_at__isnull=True, used_at__isnull=True
    ).update(revoked_at=timezone.now())


@transaction.atomic
def link_email(
    *, actor_user: AbstractBaseUser, session: TherapySession, origin: str
) -> tuple[LinkEmail, str]:
    """Issue a fresh link and queue its email; a worker sends it (rri_forms/tasks.py).

    `origin` ("https://host") is what the emailed URL is built on. Returns the outbox row
    and the raw token, so the page can also show the new link. Sends no clinical data.
    """
    if not session.dyad.client.email:
        raise ValidationError(_("This client has no email address on file."))
    link, token = link_issue(actor_user=actor_user, session=session)
    return queue_link_email(link, origin=origin), token


def link_for_token(token: str) -> ClientLink | None:
    if not token or len(token) > 64:
        return None
    return (
        ClientLink.objects.select_related(
            "session",
            "session__dyad",
            "session__dyad__clinic",
            "session__dyad__therapist",
            "session__dyad__client",
        )  # fmt: skip
        .filter(token_hash=hash_token(token))
        .first()
    )
