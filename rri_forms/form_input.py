"""Reading questionnaire answers out of a POST, item by item."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from rri_forms.models import Instrument
from rri_forms.rendering import field_name


@dataclass
class ParsedAnswers:
    """Answers per instrument pk; required items left blank (or tampered) per instrument."""

    answers: dict[int, dict[int, int]] = field(default_factory=dict)
    missing: dict[int, list[int]] = field(default_factory=dict)

    @property
    def complete(self) -> bool:
        return not any(self.missing.values())

    @property
    def missing_count(self) -> int:
        return sum(len(items) for items in self.missing.values())


def parse_answers(instruments: Sequence[Instrument], data: Mapping[str, str]) -> ParsedAnswers:
    parsed = ParsedAnswers()
    for instrument in instruments:
        answers: dict[int, int] = {}
        missing: list[int] = []
        for item in instrument.spec.items:
            raw = data.get(field_name(instrument, item.number), "")
            try:
                value = int(raw)
            except (TypeError, ValueError):
                value = None
            if value is not None and item.response_scale.contains(value):
                answers[item.number] = value
            elif item.required:
                # A value outside the scale can only come from a tampered request: treat it
                # as unanswered rather than guess.
                missing.append(item.number)
        parsed.answers[instrument.pk] = answers
        parsed.missing[instrument.pk] = missing
    return parsed
