"""Exports of stored forms: what a user may export, and the filters they asked for.

Every export starts from `ExportScope.administrations()`, which is built on
`clinic.access.dyads_visible_to(user)` and never widens it: an admin exports their clinic,
a supervisor the dyads of the therapists they supervise, a therapist their own caseload.
The writers (csv_exports, fhir) stream their rows with a fixed number of queries.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from clinic import access
from clinic.models import Dyad, StaffMember
from rri_forms.models import Administration, Instrument

if TYPE_CHECKING:
    from clinic.access import AnyUser
    from rri_forms.instrument_spec import InstrumentSpec

__all__ = [
    "ADMINISTRATION_FIELDS",
    "ExportFilterError",
    "ExportScope",
    "instrument_specs_by_id",
    "parse_scope",
]

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_ID = re.compile(r"[0-9]{1,18}")


class ExportFilterError(ValueError):
    """A filter value the user typed cannot be understood (shown on a 400 page)."""


# The identifying columns of every export, as Administration lookups, in output order.
ADMINISTRATION_FIELDS: tuple[tuple[str, str], ...] = (
    ("clinic", "dyad__clinic__slug"),
    ("therapist_id", "dyad__therapist_id"),
    ("client_code", "dyad__client__code"),
    ("dyad_id", "dyad_id"),
    ("session_number", "session__number"),
    ("session_date", "session__date"),
    ("instrument", "instrument_code"),
    ("version", "instrument__version"),
    ("rater", "rater"),
    ("submitted_at", "submitted_at"),
)

# A total order, identical for every stream that is merged by administration. Integers only:
# the merge compares keys in Python, which must agree with how PostgreSQL sorted them (text
# columns sort by the database's collation, not by code point).
ORDERING: tuple[str, ...] = ("dyad_id", "session__number", "pk")


@dataclass(frozen=True)
class ExportScope:
    """The user's visible dyads narrowed by the optional filters."""

    user: AnyUser
    member: StaffMember
    dyad: Dyad | None = None
    therapist: StaffMember | None = None
    date_from: datetime.date | None = None
    date_to: datetime.date | None = None

    def administrations(self) -> QuerySet[Administration]:
        qs = Administration.objects.filter(dyad__in=access.dyads_visible_to(self.user))
        if self.dyad is not None:
            qs = qs.filter(dyad=self.dyad)
        if self.therapist is not None:
            qs = qs.filter(dyad__therapist=self.therapist)
        if self.date_from is not None:
            qs = qs.filter(session__date__gte=self.date_from)
        if self.date_to is not None:
            qs = qs.filter(session__date__lte=self.date_to)
        return qs

    def describe(self) -> str:
        """The scope in words, for the audit log (ids and dates only, no clinical content)."""
        if self.member.is_admin:
            base = "clinic"
        elif self.member.is_supervisor:
            base = "supervisees"
        else:
            base = "own caseload"
        parts = [base]
        if self.dyad is not None:
            parts.append(f"dyad={self.dyad.pk}")
        if self.therapist is not None:
            parts.append(f"therapist={self.therapist.pk}")
        if self.date_from is not None:
            parts.append(f"from={self.date_from.isoformat()}")
        if self.date_to is not None:
            parts.append(f"to={self.date_to.isoformat()}")
        return ", ".join(parts)

    def query_string(self) -> str:
        params = []
        if self.dyad is not None:
            params.append(f"dyad={self.dyad.pk}")
        if self.therapist is not None:
            params.append(f"therapist={self.therapist.pk}")
        if self.date_from is not None:
            params.append(f"from={self.date_from.isoformat()}")
        if self.date_to is not None:
            params.append(f"to={self.date_to.isoformat()}")
        return "&".join(params)


def _int_param(params: Mapping[str, str], name: str) -> int | None:
    raw = (params.get(name) or "").strip()
    if not raw:
        return None
    if not _ID.fullmatch(raw):
        # `name` is the query parameter as typed in the URL ("dyad"), so it stays as it is.
        raise ExportFilterError(
            _("'%(name)s' must be a whole number (an id), not %(value)s.")
            % {"name": name, "value": repr(raw[:40])}
        )
    return int(raw)


def _date_param(params: Mapping[str, str], name: str) -> datetime.date | None:
    raw = (params.get(name) or "").strip()
    if not raw:
        return None
    try:
        if not _DATE.fullmatch(raw):
            raise ValueError(raw)
        return datetime.date.fromisoformat(raw)
    except ValueError:
        raise ExportFilterError(
            _("'%(name)s' must be a date written YYYY-MM-DD, not %(value)s.")
            % {"name": name, "value": repr(raw[:40])}
        ) from None


def parse_scope(user: AnyUser, params: Mapping[str, str]) -> ExportScope:
    """The user's export scope with the filters in `params` (a request's GET).

    Raises PermissionDenied without a clinic membership, ExportFilterError for a value that
    is not an id or a date (a 400), and Http404 for a dyad or therapist the user cannot see.
    """
    member = access.require_staff(user)
    dyad_id = _int_param(params, "dyad")
    therapist_id = _int_param(params, "therapist")
    date_from = _date_param(params, "from")
    date_to = _date_param(params, "to")
    if date_from and date_to and date_from > date_to:
        raise ExportFilterError(
            _("'from' (%(start)s) is after 'to' (%(end)s).")
            % {"start": date_from.isoformat(), "end": date_to.isoformat()}
        )
    dyad = access.get_dyad_for_user(user, dyad_id) if dyad_id is not None else None
    therapist = (
        access.get_therapist_for_user(user, therapist_id) if therapist_id is not None else None
    )
    return ExportScope(
        user=user,
        member=member,
        dyad=dyad,
        therapist=therapist,
        date_from=date_from,
        date_to=date_to,
    )


def instrument_specs_by_id() -> dict[int, InstrumentSpec]:
    """Every installed instrument version's spec by id (one query; a small table)."""
    return {instrument.pk: instrument.spec for instrument in Instrument.objects.all()}
