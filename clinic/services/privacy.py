"""Privacy requests about one client that change it: retention hold, pseudonymise, erase.

Which rows are the client's, and the export of them all: clinic/selectors/privacy.py.
Views log each request in the access log (action PRIVACY or EXPORT) in the same
transaction as the change.
"""

from __future__ import annotations

import secrets

from django.contrib.auth.base_user import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.utils.translation import gettext as _

from clinic.access import require_admin
from clinic.models import Client, StaffMember
from clinic.selectors.privacy import client_rows
from dyad.lib.integrity import readable_integrity_errors

PSEUDONYM_PREFIX = "ERASED-"


# --- Changes --------------------------------------------------------------------------


def _admin_of(actor_user: AbstractBaseUser, client: Client) -> StaffMember:
    return require_admin(actor_user, client.clinic_id)


def _confirmed(client: Client, typed: str) -> None:
    if (typed or "").strip() != client.code:
        raise ValidationError(
            _("The code you typed does not match the client's code. Nothing was changed.")
        )


def _locked(client: Client) -> Client:
    return Client.objects.select_for_update().get(pk=client.pk)


@transaction.atomic
def retention_hold_set(
    *, actor_user: AbstractBaseUser, client: Client, hold: bool, note: str
) -> Client:
    _admin_of(actor_user, client)
    client = _locked(client)
    note = (note or "").strip()
    if hold and not note:
        raise ValidationError({"retention_note": _("Say why the record must be kept.")})
    client.retention_hold = hold
    client.retention_note = note if hold else ""
    client.full_clean()
    client.save(update_fields=["retention_hold", "retention_note"])
    return client


def _refuse_under_hold(client: Client) -> None:
    """A retention hold freezes the record as it is: neither erasure nor pseudonymisation."""
    if client.retention_hold:
        raise ValidationError(
            _(
                "This client's record is under a retention hold (%(note)s). Clear the hold "
                "first; nothing was changed."
            )
            % {"note": client.retention_note or _("no reason given")}
        )


@transaction.atomic
def client_pseudonymise(*, actor_user: AbstractBaseUser, client: Client, confirm: str) -> Client:
    """Replace the code with ERASED-xxxxxxxx and blank the name and email; clinical rows
    stay for the clinic's statistics, no longer tied to the person."""
    _admin_of(actor_user, client)
    client = _locked(client)
    _confirmed(client, confirm)
    _refuse_under_hold(client)
    code = PSEUDONYM_PREFIX + secrets.token_hex(4).upper()
    while Client.objects.filter(clinic=client.clinic_id, code=code).exists():  # pragma: no cover
        code = PSEUDONYM_PREFIX + secrets.token_hex(4).upper()
    client.code = code
    client.display_name = ""
    client.email = ""
    client.full_clean()
    with readable_integrity_errors(Client):
        client.save(update_fields=["code", "display_name", "email"])
    return client


@transaction.atomic
def client_erase(*, actor_user: AbstractBaseUser, client: Client, confirm: str) -> dict[str, int]:
    """Delete the client and every clinical row of theirs, all or nothing.

    Refused while a retention hold is set. The access log's rows stay unchanged (they hold
    the client's id, no foreign key; the log is append-only); the history tables keep their
    events (a DBA procedure
    removes those, see docs/security.md). Returns the number of rows deleted per table.
    """
    _admin_of(actor_user, client)
    client = _locked(client)
    _confirmed(client, confirm)
    _refuse_under_hold(client)
    rows = client_rows(client)
    deleted: dict[str, int] = {}
    try:
        with transaction.atomic():
            for model, pks in reversed(rows.pks.items()):
                _total, per_model = model._base_manager.filter(pk__in=pks).delete()
                for label, count in per_model.items():
                    deleted[label] = deleted.get(label, 0) + count
            # Foreign keys are checked at commit (deferred): check them here, inside the try.
            connection.check_constraints()
    except IntegrityError as exc:
        # A form or session was added between reading the rows and deleting them.
        raise ValidationError(
            _(
                "The client's record changed while it was being erased. "
                "Nothing was erased; please try again."
            )
        ) from exc
    return deleted
