"""Reads that build analysis frames from stored scores (never re-scoring).

Each selector issues a fixed number of queries whatever the number of sessions: the dyad
page's query count is pinned in tests.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
from django.core.cache import cache
from django.db.models import Count, Max, Subquery
from django.utils import timezone
from django.utils.translation import gettext as _

from clinic.models import Clinic, Dyad
from outcomes.analytics import SCORE_COLUMNS, cronbach_alpha
from rri_forms.history import ScoreEvent
from rri_forms.instrument_spec import InstrumentSpec
from rri_forms.models import Administration, Answer, ClientLink, Instrument, Score

_SCORE_FIELDS = (
    "administration__dyad_id",
    "administration__dyad__therapist_id",
    "administration__session__number",
    "administration__session__date",
    "administration__instrument_code",
    "administration__rater",
    "scale",
    "value",
)


def scores_frame(**filters: object) -> pd.DataFrame:
    """The long scores frame (see outcomes.analytics.series) for administrations matching
    `filters` (Administration lookups such as dyad=…, dyad__clinic=…). One query."""
    rows = (
        Score.objects.filter(**{f"administration__{k}": v for k, v in filters.items()})
        .exclude(value__isnull=True)
        .values_list(*_SCORE_FIELDS)
    )
    frame = pd.DataFrame.from_records(list(rows), columns=list(SCORE_COLUMNS))
    if not frame.empty:
        frame["score"] = frame["score"].astype(float)
    return frame


def instrument_specs() -> dict[str, InstrumentSpec]:
    """Current spec per code (one query; specs are parsed once per process)."""
    return {i.code: i.spec for i in Instrument.objects.filter(is_current=True)}


def risk_item_label(code: str, item: int, text: str) -> str:
    """How an alert names a risk item: "PHQ-9 item 9 (Thoughts that you would be …)"."""
    short = text if len(text) <= 60 else text[:57] + "…"
    return _("%(instrument)s item %(item)s (%(text)s)") % {
        "instrument": code,
        "item": item,
        "text": short,
    }


def risk_answers_frame(dyad: Dyad, specs: dict[str, InstrumentSpec]) -> pd.DataFrame:
    """Answers to risk items in the dyad's flagged administrations. One query."""
    rows = Answer.objects.filter(
        administration__dyad=dyad, administration__risk_flag=True
    ).values_list(
        "administration__session__number",
        "administration__instrument_code",
        "item_number",
        "value",
    )
    records = []
    for number, code, item, value in rows:
        spec = specs.get(code)
        if spec is None or item not in spec.risk_items or value <= spec.risk_threshold:
            continue
        records.append(
            (number, code, item, value, risk_item_label(code, item, spec.item(item).text))
        )
    return pd.DataFrame.from_records(
        records, columns=["session_number", "instrument", "item_number", "value", "label"]
    )


def missed_forms_frame(dyad: Dyad) -> pd.DataFrame:
    """Per session with a client link: did the client complete it before it expired? One query."""
    now = timezone.now()
    latest: dict[int, ClientLink] = {}
    for link in ClientLink.objects.filter(session__dyad=dyad).select_related("session"):
        # Re-issuing revokes the older link; the session's fate is its newest link.
        if link.session_id not in latest or link.created_at > latest[link.session_id].created_at:
            latest[link.session_id] = link
    records = [
        (
            link.session.number,
            link.used_at is None and link.revoked_at is None and link.expires_at <= now,
            link.used_at is not None,
            _("Client forms"),
        )
        for link in latest.values()
    ]
    return pd.DataFrame.from_records(
        records, columns=["session_number", "expired", "completed", "form_label"]
    )


@dataclass(frozen=True)
class ClinicReference:
    """This clinic's SD of first-session scores and Cronbach's alpha for one scale."""

    first_session_scores: tuple[float, ...]
    alpha: float | None


_ALPHA_SAMPLE = 2000  # most recent administrations used for alpha: plenty for a stable estimate


def clinic_reference(
    clinic: Clinic, code: str, scale: str, spec: InstrumentSpec
) -> ClinicReference:
    """Cached per clinic, scale and the state of the data, one query to check it: the latest
    administration and their count (new and deleted forms) and the newest score history event
    (corrections and `manage.py rescore` change scores but keep the administration). The
    event id is clinic-wide, so any clinic's new form also renews the key: one index look-up
    instead of a join over the score history."""
    newest_event = ScoreEvent.objects.order_by("-pgh_id").values("pgh_id")[:1]
    state = Administration.objects.filter(dyad__clinic=clinic, instrument_code=code).aggregate(
        last=Max("pk"), n=Count("pk"), event=Max(Subquery(newest_event))
    )
    key = f"clinic-ref:{clinic.pk}:{code}:{scale}:{state['last']}:{state['n']}:{state['event']}"
    cached = cache.get(key)
    if cached is not None:
        return cached
    firsts = tuple(
        float(v)
        for v in Score.objects.filter(
            administration__dyad__clinic=clinic,
            administration__instrument_code=code,
            administration__session__number=1,
            scale=scale,
            value__isnull=False,
        ).values_list("value", flat=True)
    )
    scale_items = spec.scale(scale).items
    recent = list(
        Administration.objects.filter(dyad__clinic=clinic, instrument_code=code)
        .order_by("-pk")
        .values_list("pk", flat=True)[:_ALPHA_SAMPLE]
    )
    answers = pd.DataFrame.from_records(
        list(
            Answer.objects.filter(
                administration_id__in=recent, item_number__in=scale_items
            ).values_list("administration_id", "item_number", "value")
        ),
        columns=["administration", "item", "value"],
    )
    alpha = None
    if not answers.empty:
        wide = answers.pivot(index="administration", columns="item", values="value")
        # Alpha is computed on keyed values, as the scale score is.
        for item in wide.columns:
            if spec.item(int(item)).reverse:
                rng = spec.item(int(item)).response_scale
                wide[item] = rng.min + rng.max - wide[item]
        alpha = cronbach_alpha(wide)
    result = ClinicReference(firsts, alpha)
    cache.set(key, result, 3600)
    return result
