"""Reads that build analysis frames from stored scores (never re-scoring).

Each selector issues a fixed number of queries whatever the number of sessions: the dyad
page's query count is pinned in tests.
"""

from __future__ import annotations

import pandas as pd
from django.db import connection
from django.utils import timezone
from django.utils.translation import gettext as _

from clinic.models import Dyad, TherapySession
from outcomes.analytics import SCORE_COLUMNS
from outcomes.analytics.series import DyadSeries, series_from_arrays
from outcomes.models import ClinicReference as StoredReference
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


def dyad_scores(dyad: Dyad) -> DyadSeries:
    """The dyad's stored scores as arrays (`outcomes.analytics.series.DyadSeries`). One
    query; no DataFrame (the dyad page's arithmetic is on ~20 values per column)."""
    rows = list(
        Score.objects.filter(administration__dyad=dyad, value__isnull=False).values_list(
            "administration__session__number",
            "administration__instrument_code",
            "scale",
            "value",
        )
    )
    return series_from_arrays(
        [r[0] for r in rows], [f"{r[1]}:{r[2]}" for r in rows], [r[3] for r in rows]
    )


def dyad_version(dyad: Dyad) -> str:
    """A digest of everything the dyad page's report is built from, in one statement: the
    dyad's sessions, forms, scores and risk answers, its client links (with whether each has
    expired, as of now), the current instruments and the clinic's stored references. Equal
    digests mean an equal report, so the built report is cached under it. Reads only this
    dyad's rows (and the few instrument and reference rows), whatever the clinic's size."""
    qn = connection.ops.quote_name
    session, administration = qn(TherapySession._meta.db_table), qn(Administration._meta.db_table)
    score, answer = qn(Score._meta.db_table), qn(Answer._meta.db_table)
    link, instrument = qn(ClientLink._meta.db_table), qn(Instrument._meta.db_table)
    reference = qn(StoredReference._meta.db_table)
    # Table names from the models only; the ids are parameters.
    sql = f"""
        SELECT md5(concat_ws('|',
          (SELECT string_agg(concat_ws(':', s.id, s.number, s.date, s.attendance), ','
                             ORDER BY s.id)
             FROM {session} s WHERE s.dyad_id = %(dyad)s),
          (SELECT string_agg(concat_ws(':', a.id, a.session_id, a.instrument_code, a.risk_flag,
                                       sc.id, sc.scale, sc.value), ',' ORDER BY sc.id)
             FROM {administration} a JOIN {score} sc ON sc.administration_id = a.id
            WHERE a.dyad_id = %(dyad)s),
          (SELECT string_agg(concat_ws(':', an.id, an.item_number, an.value), ',' ORDER BY an.id)
             FROM {administration} a JOIN {answer} an ON an.administration_id = a.id
            WHERE a.dyad_id = %(dyad)s AND a.risk_flag),
          (SELECT string_agg(concat_ws(':', l.id, l.session_id, l.created_at,
                                       l.used_at IS NULL, l.revoked_at IS NULL,
                                       l.expires_at <= now()), ',' ORDER BY l.id)
             FROM {link} l JOIN {session} s ON s.id = l.session_id WHERE s.dyad_id = %(dyad)s),
          (SELECT string_agg(concat_ws(':', i.id, i.xmin), ',' ORDER BY i.id)
             FROM {instrument} i WHERE i.is_current),
          (SELECT string_agg(concat_ws(':', r.id, r.xmin, r.stale), ',' ORDER BY r.id)
             FROM {reference} r WHERE r.clinic_id = %(clinic)s)
        ))
    """  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(sql, {"dyad": dyad.pk, "clinic": dyad.clinic_id})
        (digest,) = cursor.fetchone()
    return digest
