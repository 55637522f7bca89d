"""What a filtered page or export looks at, and the one form that reads it from a query string.

A `Scope` is the dyads a user may see (`clinic.access.dyads_visible_to`), optionally narrowed to
one therapist (and, for exports, one dyad) and to sessions dated from/to. The team analytics,
the exports, the supervision dashboard and the audit trail all read their filter with
`ScopeForm` or its date part `DateRangeForm` (?therapist=ID&from=YYYY-MM-DD&to=YYYY-MM-DD), so
the fields, the date format and the error wording are the same everywhere.

Imports Django and `clinic` only; the models a scope filters live in other apps, so it hands
out filter keyword arguments (`Scope.lookups`) rather than querysets of them.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypedDict

from django import forms
from django.core.exceptions import NON_FIELD_ERRORS, ImproperlyConfigured, ValidationError
from django.db.models import QuerySet
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from clinic import access
from clinic.models import Dyad, StaffMember

if TYPE_CHECKING:
    from clinic.access import AnyUser

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_ID = re.compile(r"[0-9]{1,18}")
DATE_ORDER = "date_order"  # the error code of "from" after "to"


class PkRow(TypedDict):
    """A `.values("pk")` row: what `Scope.visible_dyads` selects, for use as a subquery."""

    pk: int


@dataclass(frozen=True)
class Scope:
    """The dyads `user` may see, narrowed by the optional filters."""

    user: AnyUser
    member: StaffMember
    therapist: StaffMember | None = None
    date_from: datetime.date | None = None
    date_to: datetime.date | None = None
    dyad: Dyad | None = None

    @classmethod
    def of(cls, user: AnyUser, **filters: Any) -> Scope:
        """The user's scope (a 403 without a clinic membership) with `filters`."""
        return cls(user, access.require_staff(user), **filters)

    @property
    def therapist_id(self) -> int | None:
        return self.therapist.pk if self.therapist is not None else None

    def visible_dyads(self) -> QuerySet[Dyad, PkRow]:
        """Every dyad the user may see, before the filters (a subquery for `dyad__in`)."""
        return access.dyads_visible_to(self.user).values("pk")

    def dyads(self) -> QuerySet[Dyad]:
        """The dyads in scope: visible, of the therapist, the one dyad."""
        dyads = Dyad.objects.filter(pk__in=self.visible_dyads())
        if self.therapist is not None:
            dyads = dyads.filter(therapist_id=self.therapist.pk)
        if self.dyad is not None:
            dyads = dyads.filter(pk=self.dyad.pk)
        return dyads

    def lookups(self, prefix: str = "") -> dict[str, object]:
        """Filter keyword arguments for a model with `dyad` and `session` relations (a form,
        an administration) reached through `prefix` ("administration__" for a score)."""
        out: dict[str, object] = {f"{prefix}dyad__in": self.visible_dyads()}
        if self.therapist is not None:
            out[f"{prefix}dyad__therapist_id"] = self.therapist.pk
        if self.dyad is not None:
            out[f"{prefix}dyad_id"] = self.dyad.pk
        out.update(self.date_lookups(f"{prefix}session__date"))
        return out

    def date_lookups(self, field: str) -> dict[str, datetime.date]:
        """`field` between the dates, both inclusive (nothing for an open end)."""
        out = {}
        if self.date_from is not None:
            out[f"{field}__gte"] = self.date_from
        if self.date_to is not None:
            out[f"{field}__lte"] = self.date_to
        return out

    def cache_key(self) -> str:
        """Who sees what with which filters: the whole clinic (admins) or one member's view.
        Equal for two users who see the same dyads through the same role."""
        who = "clinic" if self.member.is_admin else f"member{self.member.pk}"
        key = (
            f"{self.member.clinic_id}:{who}:t{self.therapist_id or '-'}:"
            f"{self.date_from or '-'}:{self.date_to or '-'}"
        )
        return key if self.dyad is None else f"{key}:d{self.dyad.pk}"

    def params(self) -> dict[str, str]:
        """The filters as the query parameters `ScopeForm` reads (set ones only)."""
        params = {}
        if self.dyad is not None:
            params["dyad"] = str(self.dyad.pk)
        if self.therapist is not None:
            params["therapist"] = str(self.therapist.pk)
        if self.date_from is not None:
            params["from"] = self.date_from.isoformat()
        if self.date_to is not None:
            params["to"] = self.date_to.isoformat()
        return params

    def describe(self) -> str:
        """The scope in words, for the audit log (ids and dates only, no clinical content)."""
        if self.member.is_admin:
            base = "clinic"
        elif self.member.is_supervisor:
            base = "supervisees"
        else:
            base = "own caseload"
        return ", ".join([base, *(f"{name}={value}" for name, value in self.params().items())])


# --- Fields ------------------------------------------------------------------------------------


class IsoDateField(forms.DateField):
    """A date written YYYY-MM-DD, as a date input sends it, and nothing looser."""

    default_error_messages = {
        "invalid": gettext_lazy("Enter the date as YYYY-MM-DD, for example 2025-03-31."),
    }

    def to_python(self, value: Any) -> datetime.date | None:
        if value in self.empty_values:
            return None
        if isinstance(value, datetime.date):
            return value
        text = str(value).strip()
        try:
            if not _DATE.fullmatch(text):
                raise ValueError(text)
            return datetime.date.fromisoformat(text)
        except ValueError:
            raise ValidationError(self.error_messages["invalid"], code="invalid") from None


class VisibleChoiceField(forms.ModelChoiceField):
    """An id among the objects of a queryset the user may see. Its message names the field,
    so an error list shows it without a label. Code "invalid" for a value that is not an id,
    "invalid_choice" for an id that is not visible (which an export turns into a 404)."""

    names_itself = True
    # Objects of the queryset the caller has already read, by pk: found without a query.
    known: dict[int, Any] = {}

    def to_python(self, value: Any) -> Any:
        if value in self.empty_values:
            return None
        text = str(value).strip()
        if not _ID.fullmatch(text):
            raise ValidationError(
                self.error_messages["invalid"], code="invalid", params={"value": text[:40]}
            )
        if int(text) in self.known:
            return self.known[int(text)]
        if self.queryset is None:
            raise ImproperlyConfigured(f"{type(self).__name__} needs a queryset")
        found = self.queryset.filter(pk=int(text)).first()
        if found is None:
            raise ValidationError(
                self.error_messages["invalid_choice"], code="invalid_choice", params={"value": text}
            )
        return found


_NO_THERAPIST = gettext_lazy(
    "No therapist with id “%(value)s” is among the therapists you can see; choose one from "
    "the list."
)


# --- Forms -------------------------------------------------------------------------------------


class DateRangeForm(forms.Form):
    """?from=YYYY-MM-DD&to=YYYY-MM-DD, both optional, "from" not after "to". Subclasses may
    rename the parameters (`date_names`) or relabel them (`date_labels`)."""

    date_names: tuple[str, str] = ("from", "to")
    date_labels: tuple[Any, Any] = (gettext_lazy("From"), gettext_lazy("To"))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name, label in zip(self.date_names, self.date_labels, strict=True):
            self.fields[name] = IsoDateField(label=label, required=False)

    def clean(self) -> dict[str, Any] | None:
        data = super().clean()
        start, end = self.dates()
        if start and end and start > end:
            raise ValidationError(
                _("The start date (%(start)s) is after the end date (%(end)s).")
                % {"start": start.isoformat(), "end": end.isoformat()},
                code=DATE_ORDER,
            )
        return data

    def dates(self) -> tuple[datetime.date | None, datetime.date | None]:
        """The cleaned dates (None where missing or invalid)."""
        data = getattr(self, "cleaned_data", {})
        return data.get(self.date_names[0]), data.get(self.date_names[1])

    def messages(self) -> list[str]:
        """Every error as one sentence: a field's prefixed by its label unless its message
        names the field itself."""
        found = []
        for name, errors in self.errors.items():
            field = self.fields.get(name) if name != NON_FIELD_ERRORS else None
            label = None
            if field is not None and not getattr(field, "names_itself", False):
                label = field.label
            for error in errors:
                found.append(
                    _("“%(field)s”: %(error)s") % {"field": label, "error": error}
                    if label
                    else str(error)
                )
        return found


class ScopeForm(DateRangeForm):
    """?therapist=ID&from=YYYY-MM-DD&to=YYYY-MM-DD: the therapist among those the user may
    see (`access.therapists_visible_to`), every field optional. `scope()` once valid.
    A page that has already read those therapists (a menu) passes them as `therapists`, and
    a therapist among them costs no query."""

    therapist = VisibleChoiceField(
        label=gettext_lazy("Therapist"),
        queryset=StaffMember.objects.none(),
        required=False,
        error_messages={"invalid": _NO_THERAPIST, "invalid_choice": _NO_THERAPIST},
    )

    def __init__(
        self,
        data: Any = None,
        *,
        user: AnyUser,
        therapists: Iterable[StaffMember] = (),
        **kwargs: Any,
    ) -> None:
        super().__init__(data, **kwargs)
        self.user = user
        field = self.fields["therapist"]
        assert isinstance(field, VisibleChoiceField)  # noqa: S101 - declared above
        field.queryset = access.therapists_visible_to(user)
        field.known = {t.pk: t for t in therapists}

    def scope(self, **extra: Any) -> Scope:
        """The scope this (valid) form describes; `extra` adds what a subclass reads."""
        if not self.is_valid():
            raise ValueError("ScopeForm.scope() needs a valid form")
        start, end = self.dates()
        return Scope.of(
            self.user,
            therapist=self.cleaned_data.get("therapist"),
            date_from=start,
            date_to=end,
            **extra,
        )
