"""Which reliable-change reference each scale uses: the instrument's, or the clinic's data."""

from __future__ import annotations

from collections.abc import Iterable

from django.utils.translation import gettext as _

from clinic.models import Clinic
from outcomes.analytics import ScaleReference, reference_from_clinic, reference_from_instrument
from outcomes.selectors.frames import (
    ClinicReference,
    needs_clinic_reference,
    stored_clinic_references,
)
from rri_forms.instrument_spec import InstrumentSpec


def _reference(spec: InstrumentSpec, data: ClinicReference | None) -> ScaleReference:
    scale = spec.scale("total")
    label = _("%(instrument)s total") % {"instrument": spec.short_title}
    if scale.reliable_change is not None:
        return ScaleReference(
            label=label,
            higher_is_better=scale.higher_is_better,
            threshold=scale.reliable_change,
            source=_("instrument reference: a change of %(points)s points")
            % {"points": f"{scale.reliable_change:g}"},
        )
    if scale.reference_sd is not None and scale.reference_reliability is not None:
        return reference_from_instrument(
            scale.reference_sd,
            scale.reference_reliability,
            label=label,
            higher_is_better=scale.higher_is_better,
        )
    data = data or ClinicReference((), None)
    alpha = data.alpha if data.alpha is not None else scale.reference_reliability
    return reference_from_clinic(
        data.first_session_scores, alpha, label=label, higher_is_better=scale.higher_is_better
    )


def total_references(
    clinic: Clinic, specs: dict[str, InstrumentSpec], codes: Iterable[str]
) -> dict[str, ScaleReference]:
    """The reference of each total of `codes` (those with a total scale), sorted by code.
    At most one query: the clinic's stored reference data (outcomes.models.ClinicReference)
    for the instruments without published reference values."""
    wanted = sorted(
        code
        for code in set(codes)
        if code in specs and any(s.name == "total" for s in specs[code].scales)
    )
    needed = [code for code in wanted if needs_clinic_reference(specs[code])]
    stored = stored_clinic_references(clinic, needed) if needed else {}
    return {code: _reference(specs[code], stored.get(code)) for code in wanted}


def total_reference(clinic: Clinic, spec: InstrumentSpec) -> ScaleReference:
    return total_references(clinic, {spec.code: spec}, [spec.code])[spec.code]
