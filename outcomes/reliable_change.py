"""Reliable change: where every scale's threshold comes from. The one home of the concept.

A change counts only if it is at least the scale's reliable-change threshold (Jacobson &
Truax 1991; docs/analytics.md). Each total's threshold comes from the first of:

1. the instrument's published threshold (`reliable_change` in its TOML file, e.g. PHQ-9: 6);
2. its published reference SD and reliability (`reference_sd`, `reference_reliability`),
   through the formula;
3. this clinic's own data: the SD of first-session scores and Cronbach's alpha of the
   newest forms (`outcomes.measures.alpha_of`), through the same formula (the RRI publishes
   no norms).

The pieces and where they live:

* the formula, pure: `outcomes.analytics.reliable_change` (`rci_threshold`);
* what a page is given, pure: `outcomes.analytics.ScaleReference` and its two builders
  (`reference_from_instrument`, `reference_from_clinic`, with the minimum sample);
* the published values: each instrument's TOML, read by `rri_forms.instrument_spec`;
* the choice of source and the clinic's data: here. The clinic's data is stored in
  `outcomes.models.ClinicReference`, the one cache: marked stale by every save (database
  triggers), refreshed by the next read and hourly by `outcomes.tasks`.

Pages ask `total_references` (one query while the stored data is fresh).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

import pandas as pd
from django.utils import timezone
from django.utils.translation import gettext as _

from clinic.models import Clinic
from outcomes.analytics import ScaleReference, reference_from_clinic, reference_from_instrument
from outcomes.measures import ALPHA_SAMPLE, ANSWER_COLUMNS, TOTAL, alpha_of, has_total
from outcomes.models import ClinicReference as StoredReference
from outcomes.selectors.frames import instrument_specs
from rri_forms.instrument_spec import InstrumentSpec, ScaleSpec
from rri_forms.models import Administration, Answer, Score

Source = Literal["threshold", "published", "clinic"]


@dataclass(frozen=True)
class ClinicReference:
    """This clinic's first-session scores and Cronbach's alpha for one scale."""

    first_session_scores: tuple[float, ...]
    alpha: float | None


def source(scale: ScaleSpec) -> Source:
    """Where the scale's threshold comes from (see the module docstring)."""
    if scale.reliable_change is not None:
        return "threshold"
    if scale.reference_sd is not None and scale.reference_reliability is not None:
        return "published"
    return "clinic"


def needs_clinic_reference(spec: InstrumentSpec) -> bool:
    """Whether the total's threshold comes from the clinic's data (the instrument publishes
    neither a threshold nor reference SD and reliability)."""
    return has_total(spec) and source(spec.scale(TOTAL)) == "clinic"


def scale_reference(spec: InstrumentSpec, data: ClinicReference | None) -> ScaleReference:
    """The reference of the instrument's total; `data` is the clinic's (used only when the
    instrument publishes nothing)."""
    scale = spec.scale(TOTAL)
    label = _("%(instrument)s total") % {"instrument": spec.short_title}
    chosen = source(scale)
    if chosen == "threshold":
        return ScaleReference(
            label=label,
            higher_is_better=scale.higher_is_better,
            threshold=scale.reliable_change,
            source=_("instrument reference: a change of %(points)s points")
            % {"points": f"{scale.reliable_change:g}"},
        )
    if chosen == "published":
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
    At most one query while the clinic's stored data is fresh (see stored_clinic_references),
    none when every instrument publishes its values."""
    wanted = sorted(code for code in set(codes) if code in specs and has_total(specs[code]))
    needed = [code for code in wanted if needs_clinic_reference(specs[code])]
    stored = stored_clinic_references(clinic, needed) if needed else {}
    return {code: scale_reference(specs[code], stored.get(code)) for code in wanted}


# --- The clinic's data ---------------------------------------------------------------


def _first_session_scores(clinic_id: int, code: str) -> tuple[float, ...]:
    return tuple(
        float(v)
        for v in Score.objects.filter(
            administration__dyad__clinic_id=clinic_id,
            administration__instrument_code=code,
            administration__session__number=1,
            scale=TOTAL,
            value__isnull=False,
        ).values_list("value", flat=True)
    )


def _clinic_alpha(clinic_id: int, code: str, spec: InstrumentSpec) -> float | None:
    recent = list(
        Administration.objects.filter(dyad__clinic_id=clinic_id, instrument_code=code)
        .order_by("-pk")
        .values_list("pk", flat=True)[:ALPHA_SAMPLE]
    )
    answers = pd.DataFrame.from_records(
        list(
            Answer.objects.filter(
                administration_id__in=recent, item_number__in=spec.scale(TOTAL).items
            ).values_list("administration_id", "item_number", "value")
        ),
        columns=list(ANSWER_COLUMNS),
    )
    return alpha_of(answers, spec, TOTAL)


def _store(clinic_id: int, rows: dict[tuple[str, str], ClinicReference]) -> None:
    now = timezone.now()
    StoredReference.objects.bulk_create(
        [
            StoredReference(
                clinic_id=clinic_id,
                instrument_code=code,
                scale=scale,
                first_session_scores=list(ref.first_session_scores),
                alpha=ref.alpha,
                refreshed_at=now,
            )
            for (code, scale), ref in rows.items()
        ],
        update_conflicts=True,
        unique_fields=["clinic", "instrument_code", "scale"],
        # Not `stale`: it is cleared before the data is read (see refresh_clinic_references).
        update_fields=["first_session_scores", "alpha", "refreshed_at"],
    )


def refresh_clinic_references(
    clinic_id: int, codes: Iterable[str] | None = None
) -> dict[str, ClinicReference]:
    """Recompute and store the clinic's data of each total that needs it (`codes` None:
    every current instrument that does). Returns it by code.

    The periodic job calls this for every clinic (so deleted data also leaves the
    reference); pages call it for data missing or marked stale by a save. The stale mark is
    cleared *before* the data is read, so a form saved meanwhile marks it again and the next
    read refreshes once more: no save is left out."""
    specs = instrument_specs()
    wanted = sorted(
        code
        for code in (specs if codes is None else set(codes))
        if code in specs and needs_clinic_reference(specs[code])
    )
    if not wanted:
        return {}
    StoredReference.objects.filter(
        clinic_id=clinic_id, instrument_code__in=wanted, stale=True
    ).update(stale=False)
    rows = {
        (code, TOTAL): ClinicReference(
            _first_session_scores(clinic_id, code), _clinic_alpha(clinic_id, code, specs[code])
        )
        for code in wanted
    }
    _store(clinic_id, rows)
    return {code: ref for (code, _scale), ref in rows.items()}


def stored_clinic_references(clinic: Clinic, codes: Iterable[str]) -> dict[str, ClinicReference]:
    """The stored data of the totals of `codes`: one query while it is fresh; a total never
    stored for this clinic, or marked stale by a save since, is recomputed and stored first."""
    wanted = sorted(set(codes))
    found = {}
    renew = []
    for row in StoredReference.objects.filter(
        clinic=clinic, instrument_code__in=wanted, scale=TOTAL
    ):
        if row.stale:
            renew.append(row.instrument_code)
        else:
            found[row.instrument_code] = ClinicReference(tuple(row.first_session_scores), row.alpha)
    renew += [code for code in wanted if code not in found and code not in renew]
    if renew:
        found.update(refresh_clinic_references(clinic.pk, renew))
    return found
