"""Which instruments are relationship measures and which outcomes, read from each instrument's
`kind` and `rater`, and the few facts every page needs about them: the total scale, the
default outcome, keyed answers and Cronbach's alpha on a clinic's forms.

Pure (pandas and instrument specs, no Django), so `outcomes/reports/` and
`outcomes/analytics/` may import it; the database reads stay in `outcomes/selectors/`.
A new instrument file counts here by its `kind`: no list of codes to extend.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass

import pandas as pd

from outcomes.analytics.reliable_change import cronbach_alpha
from rri_forms.instrument_spec import InstrumentSpec, ScaleSpec

TOTAL = "total"
RELATIONSHIP = "relationship"
# Outcome kinds in the order pages offer them: the session outcome first (the default
# outcome), then progress, then symptoms.
OUTCOME_KINDS = ("session_outcome", "progress", "symptom")
SESSION_LEVEL_KINDS = ("session_outcome", "progress")
RATER_ORDER = ("client", "therapist")
# Most recent administrations per instrument that alpha is computed on: plenty for a stable
# estimate, and it bounds the answers read.
ALPHA_SAMPLE = 2000
ANSWER_COLUMNS = ("administration", "item", "value")


@dataclass(frozen=True)
class Measure:
    """An instrument as the analytics pages name and orient it (by its total)."""

    code: str
    label: str
    higher_is_better: bool
    kind: str


def has_total(spec: InstrumentSpec) -> bool:
    return any(scale.name == TOTAL for scale in spec.scales)


def is_relationship(spec: InstrumentSpec) -> bool:
    return spec.kind == RELATIONSHIP


def is_outcome(spec: InstrumentSpec) -> bool:
    return spec.kind in OUTCOME_KINDS


def measure(spec: InstrumentSpec) -> Measure:
    return Measure(spec.code, spec.short_title, spec.scale(TOTAL).higher_is_better, spec.kind)


def measure_of(code: str, specs: Mapping[str, InstrumentSpec]) -> Measure:
    """`code`'s measure; an uninstalled code is named by itself (a relationship measure, higher
    is better), so a page about old data still renders."""
    if code in specs:
        return measure(specs[code])
    return Measure(code, code, True, RELATIONSHIP)


def _present(specs: Mapping[str, InstrumentSpec], present: Collection[str] | None) -> list[str]:
    codes = specs if present is None else [c for c in present if c in specs]
    return [c for c in codes if has_total(specs[c])]


def relationship_codes(
    specs: Mapping[str, InstrumentSpec],
    *,
    rater: str | None = None,
    present: Collection[str] | None = None,
) -> list[str]:
    """Relationship measures with a total (of one `rater`, or all), optionally only those in
    `present`: client before therapist, and of one rater the longest form first (the full
    RRI-C before its short forms), then by code."""
    codes = [
        c
        for c in _present(specs, present)
        if is_relationship(specs[c]) and (rater is None or specs[c].rater == rater)
    ]

    def order(code: str) -> tuple[int, int, str]:
        spec = specs[code]
        rank = RATER_ORDER.index(spec.rater) if spec.rater in RATER_ORDER else len(RATER_ORDER)
        return rank, -len(spec.scale(TOTAL).items), code

    return sorted(codes, key=order)


def first_relationship(
    specs: Mapping[str, InstrumentSpec], rater: str, present: Collection[str]
) -> str | None:
    """The relationship measure of `rater` a page shows when several are present."""
    return next(iter(relationship_codes(specs, rater=rater, present=present)), None)


def outcome_codes(
    specs: Mapping[str, InstrumentSpec], present: Collection[str] | None = None
) -> list[str]:
    """Outcome measures with a total (optionally only those in `present`), in OUTCOME_KINDS
    order, then by code: the first is the default outcome."""
    codes = [c for c in _present(specs, present) if is_outcome(specs[c])]
    return sorted(codes, key=lambda c: (OUTCOME_KINDS.index(specs[c].kind), c))


def default_outcome(
    specs: Mapping[str, InstrumentSpec], present: Collection[str] | None = None
) -> str | None:
    """The outcome a page shows unless asked for another: the session outcome measure."""
    return next(iter(outcome_codes(specs, present)), None)


# --- Keyed answers and alpha -----------------------------------------------------------------


def keyed_items(answers: pd.DataFrame, spec: InstrumentSpec) -> pd.DataFrame:
    """One instrument's answers (columns administration, item, value) as one row per
    administration and one column per item, each value keyed as it enters a score
    (`ItemSpec.keyed`: reverse-keyed items flipped). Items the spec does not know stay as
    they are; alpha never reads them."""
    wide = answers.pivot(index="administration", columns="item", values="value").astype(float)
    for number in wide.columns:
        if spec.has_item(int(number)):
            # keyed() is linear in the value, so it keys a whole column at once.
            wide[number] = spec.item(int(number)).keyed(wide[number])  # type: ignore[arg-type]
    return wide


def scale_items(keyed: pd.DataFrame, scale: ScaleSpec) -> pd.DataFrame:
    """The columns of `keyed` (see `keyed_items`) that make up `scale`, in scale order."""
    return keyed.reindex(columns=list(scale.items))


def scale_alpha(keyed: pd.DataFrame, scale: ScaleSpec) -> float | None:
    """Cronbach's alpha of `scale` on keyed answers, as the scale score is computed."""
    return cronbach_alpha(scale_items(keyed, scale))


def alpha_of(answers: pd.DataFrame, spec: InstrumentSpec, scale: str = TOTAL) -> float | None:
    """Cronbach's alpha of one scale on one instrument's answers (columns administration,
    item, value; at most ALPHA_SAMPLE administrations); None when it is undefined."""
    if answers.empty:
        return None
    return scale_alpha(keyed_items(answers, spec), spec.scale(scale))
