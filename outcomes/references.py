"""Which reliable-change reference each scale uses: the instrument's, or the clinic's data."""

from __future__ import annotations

from django.utils.translation import gettext as _

from clinic.models import Clinic
from outcomes.analytics import ScaleReference, reference_from_clinic, reference_from_instrument
from outcomes.selectors import clinic_reference
from rri_forms.instrument_spec import InstrumentSpec


def total_reference(clinic: Clinic, spec: InstrumentSpec) -> ScaleReference:
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
    data = clinic_reference(clinic, spec.code, "total", spec)
    alpha = data.alpha if data.alpha is not None else scale.reference_reliability
    return reference_from_clinic(
        data.first_session_scores, alpha, label=label, higher_is_better=scale.higher_is_better
    )
