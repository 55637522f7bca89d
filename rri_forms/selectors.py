"""Reads for the form pages."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import Prefetch

from clinic.models import Clinic, TherapySession
from rri_forms.models import (
    Administration,
    AdministrationCorrection,
    ClientLink,
    ClinicFormSettings,
    Instrument,
    Score,
)


def form_settings_for(clinic: Clinic) -> ClinicFormSettings:
    """The clinic's settings, or the defaults (unsaved) when it has none yet."""
    try:
        return clinic.form_settings
    except ClinicFormSettings.DoesNotExist:
        return ClinicFormSettings(clinic=clinic)


def current_instruments(codes: list[str]) -> list[Instrument]:
    """Current versions of the given codes, in the given order."""
    by_code = {i.code: i for i in Instrument.objects.filter(code__in=codes, is_current=True)}
    return [by_code[c] for c in codes if c in by_code]


def instruments_by_ids(ids: list[int]) -> list[Instrument]:
    by_id = Instrument.objects.in_bulk(ids)
    return [by_id[i] for i in ids if i in by_id]


@dataclass
class SessionForms:
    administrations: dict[str, list[Administration]] = field(default_factory=dict)
    pending: dict[str, list[Instrument]] = field(default_factory=dict)
    link: ClientLink | None = None


def session_forms(session: TherapySession) -> SessionForms:
    """What was completed for the session, what is still pending, and the client link."""
    done = list(
        Administration.objects.filter(session=session)
        .select_related("instrument", "submitted_by")
        .prefetch_related(
            Prefetch("scores", queryset=Score.objects.order_by("pk")),
            Prefetch(
                "corrections",
                queryset=AdministrationCorrection.objects.select_related("corrected_by"),
            ),
        )
        .order_by("rater", "pk")
    )
    settings = form_settings_for(session.dyad.clinic)
    result = SessionForms(link=session.links.filter(revoked_at__isnull=True).first())
    for rater in (Instrument.Rater.CLIENT, Instrument.Rater.THERAPIST):
        completed = [a for a in done if a.rater == rater]
        codes = {a.instrument_code for a in completed}
        result.administrations[rater] = completed
        # Nothing is due after a no-show; forms stored before it was marked one still show.
        wanted = settings.codes_for(rater, session.number) if session.attended else []
        result.pending[rater] = [i for i in current_instruments(wanted) if i.code not in codes]
    return result
