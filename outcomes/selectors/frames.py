"""Reads that build analysis frames from stored scores (never re-scoring).

Each selector issues a fixed number of queries whatever the number of sessions: the dyad
page's query count is pinned in tests.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import pandas as pd
from django.db import connection
from django.utils import timezone
from django.utils.translation import gettext as _

from clinic.models import Clinic, Dyad, TherapySession
from outcomes.analytics import SCORE_COLUMNS, cronbach_alpha
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


@dataclass(frozen=True)
class ClinicReference:
    """This clinic's SD of first-session scores and Cronbach's alpha for one scale."""

    first_session_scores: tuple[float, ...]
    alpha: float | None


_ALPHA_SAMPLE = 2000  # most recent administrations used for alpha: plenty for a stable estimate


def needs_clinic_reference(spec: InstrumentSpec) -> bool:
    """Whether the total's reliable-change threshold comes from the clinic's data (the
    instrument publishes neither a threshold nor reference SD and reliability)."""
    total = next((s for s in spec.scales if s.name == "total"), None)
    return (
        total is not None
        and total.reliable_change is None
        and (total.reference_sd is None or total.reference_reliability is None)
    )


def _first_session_scores(clinic_id: int, code: str, scale: str) -> tuple[float, ...]:
    return tuple(
        float(v)
        for v in Score.objects.filter(
            administration__dyad__clinic_id=clinic_id,
            administration__instrument_code=code,
            administration__session__number=1,
            scale=scale,
            value__isnull=False,
        ).values_list("value", flat=True)
    )


def _clinic_alpha(clinic_id: int, code: str, scale: str, spec: InstrumentSpec) -> float | None:
    scale_items = spec.scale(scale).items
    recent = list(
        Administration.objects.filter(dyad__clinic_id=clinic_id, instrument_code=code)
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
    if answers.empty:
        return None
    wide = answers.pivot(index="administration", columns="item", values="value")
    # Alpha is computed on keyed values, as the scale score is.
    for item in wide.columns:
        if spec.item(int(item)).reverse:
            rng = spec.item(int(item)).response_scale
            wide[item] = rng.min + rng.max - wide[item]
    return cronbach_alpha(wide)


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
    """Recompute and store the clinic's reliable-change reference data: the first-session
    scores and alpha of each total that needs them (`codes` None: every current instrument
    that does). Returns them by code.

    The periodic job calls this for every clinic (so deleted data also leaves the
    reference); pages call it for a reference missing or marked stale by a save. The stale
    mark is cleared *before* the data is read, so a form saved meanwhile marks it again and
    the next read refreshes once more: no save is left out."""
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
        (code, "total"): ClinicReference(
            _first_session_scores(clinic_id, code, "total"),
            _clinic_alpha(clinic_id, code, "total", specs[code]),
        )
        for code in wanted
    }
    _store(clinic_id, rows)
    return {code: ref for (code, _scale), ref in rows.items()}


def stored_clinic_references(clinic: Clinic, codes: Iterable[str]) -> dict[str, ClinicReference]:
    """The stored reference data of the totals of `codes`: one query while it is fresh; a
    total never stored for this clinic, or marked stale by a save since, is recomputed and
    stored first."""
    wanted = sorted(set(codes))
    found = {}
    renew = []
    for row in StoredReference.objects.filter(
        clinic=clinic, instrument_code__in=wanted, scale="total"
    ):
        if row.stale:
            renew.append(row.instrument_code)
        else:
            found[row.instrument_code] = ClinicReference(tuple(row.first_session_scores), row.alpha)
    renew += [code for code in wanted if code not in found and code not in renew]
    if renew:
        found.update(refresh_clinic_references(clinic.pk, renew))
    return found


def clinic_reference(
    clinic: Clinic, code: str, scale: str, spec: InstrumentSpec
) -> ClinicReference:
    """The reference data of one scale: the stored one for a total (see
    `stored_clinic_references`), computed for a subscale."""
    if scale != "total":
        return ClinicReference(_first_session_scores(clinic.pk, code, scale),
                               _clinic_alpha(clinic.pk, code, scale, spec))  # fmt: skip
    return stored_clinic_references(clinic, [code]).get(code, ClinicReference((), None))


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
