"""Scoring one administration of an instrument. Pure Python; no Django imports.

Rules (all driven by the :class:`~rri_forms.instrument_spec.InstrumentSpec`):

* A reverse-keyed item enters a score as ``min + max - answer`` of its response scale.
* ``method = "mean"``: the mean of the answered items of the scale.
* ``method = "sum"``: the sum of the answered items; with ``prorate = true`` and some items
  missing, ``sum * k / answered`` where ``k`` is the number of items in the scale.
* More than ``max_missing`` unanswered items (or no answers at all) gives ``None``.
* Bands are inclusive ``[min, max]``. A score that falls between two bands less than one point
  apart (only a mean or a prorated sum can) belongs to the lower band: it has not reached the
  next cut-off. A score in a wider gap, or outside every band, gets no band.
* Nothing is rounded: scores are floats, rounding for display is the caller's job.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from rri_forms.instrument_spec import InstrumentSpec, ScaleSpec


@dataclass(frozen=True)
class ScoreResult:
    """Scores of one administration.

    ``scales`` has every scale of the instrument (``None`` when too many answers are missing);
    ``bands`` only the scales whose score falls in a band; ``answered`` counts the answered
    items per scale; ``risk_items`` are the risk items answered above the risk threshold;
    ``missing`` the required items left unanswered.
    """

    scales: dict[str, float | None]
    bands: dict[str, str]
    risk_items: list[int]
    missing: list[int]
    answered: dict[str, int]

    @property
    def has_risk(self) -> bool:
        return bool(self.risk_items)


def score_answers(spec: InstrumentSpec, answers: Mapping[int, int | None]) -> ScoreResult:
    """Score ``answers`` (item number → raw answer, or ``None`` for unanswered).

    Raises ``ValueError`` for an item number the instrument does not have, or an answer that
    is not a whole number within the item's response scale.
    """
    values = validate_answers(spec, answers)
    scores: dict[str, float | None] = {}
    bands: dict[str, str] = {}
    answered: dict[str, int] = {}
    for scale in spec.scales:
        keyed = [
            spec.item(number).keyed(values[number]) for number in scale.items if number in values
        ]
        answered[scale.name] = len(keyed)
        score = _scale_score(scale, keyed)
        scores[scale.name] = score
        if score is not None:
            band = band_for(scale, score)
            if band is not None:
                bands[scale.name] = band
    return ScoreResult(
        scales=scores,
        bands=bands,
        risk_items=[
            number
            for number in sorted(spec.risk_items)
            if number in values and values[number] > spec.risk_threshold
        ],
        missing=[item.number for item in spec.items if item.required and item.number not in values],
        answered=answered,
    )


def validate_answers(spec: InstrumentSpec, answers: Mapping[int, int | None]) -> dict[int, int]:
    """Check every answer; return the answered ones as ``{item number: raw answer}``."""
    values: dict[int, int] = {}
    for number, value in answers.items():
        if isinstance(number, bool) or not spec.has_item(number):
            raise ValueError(f"{spec.label} has no item {number!r}")
        if value is None:
            continue
        item = spec.item(number)
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"{spec.label} item {number}: answer {value!r} is not a whole number")
        if not item.response_scale.contains(value):
            raise ValueError(
                f"{spec.label} item {number}: answer {value} is outside "
                f"{item.response_scale.min}-{item.response_scale.max}"
            )
        values[number] = value
    return values


def _scale_score(scale: ScaleSpec, keyed: list[int]) -> float | None:
    answered = len(keyed)
    if answered == 0 or len(scale.items) - answered > scale.max_missing:
        return None
    total = float(sum(keyed))
    if scale.method == "mean":
        return total / answered
    if scale.prorate and answered < len(scale.items):
        return total * len(scale.items) / answered
    return total


def band_for(scale: ScaleSpec, score: float) -> str | None:
    """The label of the band ``score`` falls in (see the module docstring), or ``None``."""
    for index, band in enumerate(scale.bands):
        if band.min <= score <= band.max:
            return band.label
        following = scale.bands[index + 1] if index + 1 < len(scale.bands) else None
        if (
            following is not None
            and band.max < score < following.min
            and following.min - band.max <= 1
        ):
            return band.label
    return None
