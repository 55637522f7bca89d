"""Exports of stored forms: what a user may export, and the filters they asked for.

Every export starts from `administrations(scope)`, a `clinic.scope.Scope` read by
`ExportForm`, which is built on `clinic.access.dyads_visible_to(user)` and never widens it: an
admin exports their clinic, a supervisor the dyads of the therapists they supervise, a
therapist their own caseload.
The writers (csv_exports, fhir) stream their rows with a fixed number of queries.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from django.db.models import QuerySet
from django.http import Http404
from django.utils.translation import gettext_lazy

from clinic import access
from clinic.models import Dyad
from clinic.scope import Scope, ScopeForm, VisibleChoiceField
from rri_forms.models import Administration, Instrument

if TYPE_CHECKING:
    from clinic.access import AnyUser
    from rri_forms.instrument_spec import InstrumentSpec

__all__ = [
    "ADMINISTRATION_FIELDS",
    "ExportFilterError",
    "ExportForm",
    "administrations",
    "instrument_specs_by_id",
    "parse_scope",
]


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


def administrations(scope: Scope) -> QuerySet[Administration]:
    """The forms an export of `scope` holds."""
    return Administration.objects.filter(**scope.lookups())


class ExportForm(ScopeForm):
    """The scope filters plus ?dyad=ID (one dyad's forms)."""

    # `dyad` is the query parameter as typed in the URL, so it stays as it is.
    dyad = VisibleChoiceField(
        queryset=Dyad.objects.none(),
        required=False,
        error_messages={
            "invalid": gettext_lazy("'dyad' must be a whole number (an id), not '%(value)s'."),
            "invalid_choice": gettext_lazy("No dyad with id %(value)s among those you can see."),
        },
    )

    def __init__(self, data: Any = None, *, user: AnyUser, **kwargs: Any) -> None:
        super().__init__(data, user=user, **kwargs)
        field = self.fields["dyad"]
        assert isinstance(field, VisibleChoiceField)  # noqa: S101 - declared above
        field.queryset = access.dyads_visible_to(user).select_related("client", "therapist")


# The objects an id may name; one the user cannot see is a 404, as everywhere.
_OBJECT_FIELDS = ("dyad", "therapist")


def parse_scope(user: AnyUser, params: Mapping[str, str]) -> Scope:
    """The user's export scope with the filters in `params` (a request's GET).

    Raises PermissionDenied without a clinic membership, ExportFilterError for a value that
    is not an id or a date (a 400), and Http404 for a dyad or therapist the user cannot see.
    """
    access.require_staff(user)
    form = ExportForm(params, user=user)
    if form.is_valid():
        return form.scope(dyad=form.cleaned_data["dyad"])
    errors = form.errors.as_data()
    unreadable = [
        name
        for name, found in errors.items()
        if not (name in _OBJECT_FIELDS and all(e.code == "invalid_choice" for e in found))
    ]
    if not unreadable:
        raise Http404("No such dyad or therapist")
    raise ExportFilterError(" ".join(form.messages()))


def instrument_specs_by_id() -> dict[int, InstrumentSpec]:
    """Every installed instrument version's spec by id (one query; a small table)."""
    return {instrument.pk: instrument.spec for instrument in Instrument.objects.all()}
