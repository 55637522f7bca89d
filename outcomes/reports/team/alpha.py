"""Section 4: item analysis, Cronbach's alpha per instrument and scale on keyed values."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pandas as pd

from outcomes import measures
from outcomes.analytics.i18n import _, ngettext
from outcomes.analytics.numbers import fmt_int
from outcomes.measures import ALPHA_SAMPLE
from rri_forms.instrument_spec import InstrumentSpec


@dataclass
class AlphaRow:
    instrument: str
    scale: str
    items: int
    n: int
    alpha: float | None
    reason: str = ""
    capped: bool = False


@dataclass
class AlphaSection:
    rows: list[AlphaRow]
    empty: str = ""
    summary: str = ""
    pending: bool = False
    freshness: str = ""


def alpha_section(answers: pd.DataFrame, specs: Mapping[str, InstrumentSpec]) -> AlphaSection:
    """Cronbach's alpha on keyed values (reverse-keyed items flipped) per instrument and scale.

    `answers` holds, per instrument, the most recent ≤ ALPHA_SAMPLE administrations in scope.
    """
    rows: list[AlphaRow] = []
    if answers.empty:
        return AlphaSection(rows, empty=_("No completed forms in this selection yet."))
    for code, sub in answers.groupby("instrument", sort=True):
        spec = specs.get(str(code))
        if spec is not None:
            rows += _instrument_rows(spec, measures.keyed_items(sub, spec))
    return AlphaSection(rows, summary=_summary(rows))


def _instrument_rows(spec: InstrumentSpec, keyed: pd.DataFrame) -> list[AlphaRow]:
    rows = []
    for scale in spec.scales:
        complete = int(measures.scale_items(keyed, scale).notna().all(axis=1).sum())
        alpha = measures.scale_alpha(keyed, scale)
        rows.append(
            AlphaRow(
                instrument=spec.short_title,
                scale=scale.label,
                items=len(scale.items),
                n=complete,
                alpha=alpha,
                reason=_why_no_alpha(len(scale.items), complete) if alpha is None else "",
                capped=len(keyed) >= ALPHA_SAMPLE,
            )
        )
    return rows


def _why_no_alpha(n_items: int, complete: int) -> str:
    if n_items < 2:
        return _("a single item: alpha needs at least 2")
    if complete < 3:
        return ngettext(
            "%(n)s complete form; at least 3 are needed",
            "%(n)s complete forms; at least 3 are needed",
            complete,
        ) % {"n": fmt_int(complete)}
    return _("the scale's total did not vary")


def _summary(rows: list[AlphaRow]) -> str:
    low = [r for r in rows if r.alpha is not None and r.alpha < 0.7]
    sentences = [
        _(
            "Cronbach's alpha says how consistently a scale's items move together in this "
            "clinic's forms (reverse-keyed items flipped first, as in scoring); .70 or more is "
            "usually acceptable for tracking, .80 or more for decisions about individuals. Each "
            "instrument uses its most recent %(sample)s completed forms at most in this "
            "selection, and only forms with every item of the scale answered."
        )
        % {"sample": fmt_int(ALPHA_SAMPLE)}
    ]
    if low:
        scales = ", ".join(
            _("%(instrument)s %(scale)s") % {"instrument": r.instrument, "scale": r.scale}
            for r in low
        )
        sentences.append(_("Below .70 here: %(scales)s.") % {"scales": scales})
    if any(r.alpha is not None and r.alpha < 0 for r in rows):
        sentences.append(_("A negative alpha usually means an item is keyed the wrong way."))
    return " ".join(sentences)
