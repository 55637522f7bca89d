"""Completed forms for the demo clinic: plausible, deterministic, and scored by the real code.

`add_demo_forms` fills in, for every attended session that `clinic.demo.build_demo` made, the
therapist's forms and (for most sessions) the client's, drawn from a small generative model:

* Relationship latent of a session (1-5 scale): ``3.6 + therapist effect + dyad effect +
  slow growth + session noise``. Therapist effects are N(0, 0.35), with one therapist made
  clearly higher and one clearly lower, so therapists differ more than chance. Session noise
  is small (SD 0.06), as real relationship ratings change little from week to week. Client and
  therapist ratings share the latent, each with its own small noise; therapists rate a little
  lower.
* Item answers: ``round(latent + item offset + item noise)`` clipped to the response scale;
  reverse-keyed items are answered reversed, so their keyed values follow the latent. Item
  noise gives the 24-item RRI forms an alpha of about .94 (the published omega of the 24-item
  RRI-C is .97, the 8-item form's alpha .91), so reliable-change thresholds computed from the
  clinic's data are about 0.3 points and only a few ordinary sessions cross them.
* Session check (client outcome): driven by the client's within-dyad relationship deviation
  with a coefficient giving a within-dyad r of about .35 between RRI-C and session check (the
  published real relationship-outcome association is r = .38), plus the dyad's level.
* Progress rating follows the therapist's view and improves over sessions. PHQ-9 and GAD-7
  (on their cadence) start moderate and decline, faster when the dyad's relationship is
  higher. PHQ-9 item 9 is answered above 0 in a couple of dyads (risk flags).
* A few "rupture" dyads: a sharp drop (about -1.2) in both raters' relationship at one
  session in the second half, partly recovering afterwards.
* About 8% of attended sessions lack the client's forms; each has a client link that went
  unused (expired, or still live when the session is only days old).

Every stored score comes from `administration_rows`, i.e. from the scoring code.
"""

from __future__ import annotations

import datetime
import math
import zlib
import zoneinfo
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import numpy as np
from django.db import connection
from django.db.models import F
from django.utils import timezone

from clinic.demo import DemoClinic
from clinic.models import Client, Dyad, StaffMember, Supervision, TherapySession
from rri_forms.instrument_spec import InstrumentSpec
from rri_forms.models import Administration, Answer, ClientLink, Instrument, Score
from rri_forms.models.links import hash_token, new_token
from rri_forms.selectors import current_instruments, form_settings_for
from rri_forms.services.recording import AdministrationRows, administration_rows

BASE_LEVEL = 3.6
THERAPIST_SD = 0.35
DYAD_SD = 0.30
# Session-to-session and rater noise stay small next to the item noise: real relationship
# ratings move little from week to week, and measurement error alone already makes the
# reliable-change rule fire on a few percent of consecutive sessions. Larger values flooded
# every dyad with relationship-drop alerts.
SESSION_SD = 0.06
RATER_SD = 0.04
THERAPIST_BIAS = -0.15  # therapists rate the relationship a little lower than clients
GROWTH = 0.30  # relationship gained over a long course, approached exponentially
RUPTURE_DROP = 1.2
# Session check per unit of the client's within-dyad RR deviation. That deviation is small
# (see SESSION_SD), so the slope is large and the outcome's own noise small, to keep the
# within-dyad RRI-C-session check r near the published .38.
OUTCOME_SLOPE = 2.4
OUTCOME_SD = 0.2
MISSING_CLIENT_RATE = 0.08
MIN_EFFECT_SPREAD = 0.45  # the highest and lowest therapist effects reach at least ±this

ITEM_SD = {"RRI-C": 0.6, "RRI-T": 0.6, "SESSION-CHECK": 0.5, "PROGRESS-T": 0.45}
SYMPTOM_ITEM_SD = 0.55


@dataclass
class _DyadPlan:
    therapist_effect: float
    dyad_effect: float
    phq_start: float
    gad_start: float
    rupture_at: int | None = None
    risk: bool = False


def _therapist_effects(rng: np.random.Generator, count: int) -> np.ndarray:
    effects = rng.normal(0.0, THERAPIST_SD, count)
    if count >= 3:
        high, low = int(np.argmax(effects)), int(np.argmin(effects))
        effects[high] = max(effects[high], MIN_EFFECT_SPREAD)
        effects[low] = min(effects[low], -MIN_EFFECT_SPREAD)
    return effects


def _growth(number: int) -> float:
    return GROWTH * (1.0 - math.exp(-(number - 1) / 8.0))


def _rupture_deficit(number: int, rupture_at: int | None) -> float:
    if rupture_at is None or number < rupture_at:
        return 0.0
    since = number - rupture_at
    if since == 0:
        return -RUPTURE_DROP
    # Partial recovery: most of the drop is regained, a quarter of it lingers.
    return -RUPTURE_DROP * (0.25 + 0.35 * 0.5 ** (since - 1))


def _on_scale(level_1_to_5: float, low: int, high: int) -> float:
    """Map a level on the 1-5 latent onto an item's own response scale."""
    return low + (level_1_to_5 - 1.0) / 4.0 * (high - low)


def _answers(
    spec: InstrumentSpec,
    level: float,
    offsets: np.ndarray,
    noise: np.ndarray,
    *,
    latent_scale: bool,
) -> dict[int, int]:
    """Answers following ``level``: on the 1-5 latent (mapped) or on the item scale itself."""
    answers: dict[int, int] = {}
    for item, offset, error in zip(spec.items, offsets, noise, strict=True):
        scale = item.response_scale
        target = _on_scale(level, scale.min, scale.max) if latent_scale else level
        keyed = int(np.clip(np.rint(target + offset + error), scale.min, scale.max))
        answers[item.number] = item.keyed(keyed) if item.scored else keyed
    return answers


def _attended_by_dyad(demo: DemoClinic) -> dict[int, list[TherapySession]]:
    by_dyad: dict[int, list[TherapySession]] = defaultdict(list)
    for session in demo.sessions:
        by_dyad[session.dyad_id].append(session)
    for sessions in by_dyad.values():
        sessions.sort(key=lambda s: s.number)
    return by_dyad


def _pick_ruptures(
    rng: np.random.Generator, demo: DemoClinic, sessions: dict[int, list[TherapySession]]
) -> dict[int, int]:
    """3-4 dyads of different therapists with >= 8 sessions: dyad id -> rupture session."""
    candidates: dict[int, list[int]] = {}
    for dyad in demo.dyads:
        numbers = {s.number for s in sessions[dyad.pk] if s.attended}
        count = len(sessions[dyad.pk])
        if count < 8:
            continue
        # Second half; the session before attended; at least two sessions after it.
        possible = [
            n
            for n in range(count // 2 + 1, count - 1)
            if n in numbers and n - 1 in numbers and n + 1 in numbers
        ]
        if possible:
            candidates[dyad.pk] = possible
    wanted = 4 if len(candidates) >= 20 else 3 if len(candidates) >= 10 else 0
    order = [demo.dyads[i] for i in rng.permutation(len(demo.dyads))]
    ruptures: dict[int, int] = {}
    used_therapists: set[int] = set()
    for dyad in order:
        if len(ruptures) == wanted:
            break
        if dyad.pk in candidates and dyad.therapist_id not in used_therapists:
            ruptures[dyad.pk] = int(rng.choice(candidates[dyad.pk]))
            used_therapists.add(dyad.therapist_id)
    return ruptures


def refresh_statistics() -> None:
    """ANALYZE the tables the demo fills.

    Freshly filled tables have no planner statistics until autovacuum reaches them (and never
    inside the transaction that filled them), and PostgreSQL's guesses can then pick a plan
    that scans every score once per form: minutes instead of milliseconds for a page's query.
    """
    models = (Client, Dyad, Supervision, StaffMember, TherapySession)
    models += (Administration, Answer, Score, ClientLink)
    tables = ", ".join(connection.ops.quote_name(model._meta.db_table) for model in models)
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {tables}")


@dataclass
class _Forms:
    """What every dyad's forms are drawn from: the clinic's settings, instruments and plan."""

    rng: np.random.Generator
    tz: zoneinfo.ZoneInfo
    settings: Any
    instruments: dict[str, Instrument]
    offsets: dict[str, np.ndarray]
    sessions: dict[int, list[TherapySession]]
    therapists: list[StaffMember]
    effects: dict[int, float]
    ruptures: dict[int, int]
    risk_ids: set[int]
    rows: list[AdministrationRows]
    links: list[ClientLink]


@dataclass
class _SessionDraw:
    """One session's drawn relationship ratings and the level of every instrument."""

    levels: dict[str, float]
    client_rr: float
    therapist_rr: float
    missing: bool


def add_demo_forms(demo: DemoClinic, *, seed: int = 2018) -> dict[str, Any]:
    """Write the demo clinic's completed forms and client links; return what was written.

    Counts are ints; ``rupture_dyad_ids`` / ``risk_dyad_ids`` list dyad ids,
    ``rupture_sessions`` maps dyad id -> session number of the rupture, and
    ``therapist_effects`` maps username -> the therapist's drawn relationship effect.
    """
    now = timezone.now()
    plan = _plan_forms(demo, seed)
    for dyad in demo.dyads:
        _dyad_forms(plan, dyad)
    counts = _write(plan.rows, plan.links, plan.settings.link_lifetime_hours)
    counts["live_links"] = sum(1 for link in plan.links if link.expires_at > now)
    counts["expired_links"] = len(plan.links) - counts["live_links"]
    counts["rupture_dyad_ids"] = sorted(plan.ruptures)
    counts["rupture_sessions"] = dict(sorted(plan.ruptures.items()))
    counts["risk_dyad_ids"] = sorted(plan.risk_ids)
    counts["therapist_effects"] = {
        t.user.username: round(float(plan.effects[t.pk]), 3) for t in plan.therapists
    }
    return counts


def _plan_forms(demo: DemoClinic, seed: int) -> _Forms:
    """The clinic-wide draws, in the order the seed fixes: item offsets, therapist effects,
    ruptures, the dyads whose client reports risk."""
    clinic = demo.clinic
    rng = np.random.default_rng([seed, zlib.crc32(clinic.slug.encode())])
    settings = form_settings_for(clinic)
    wanted_codes = list(
        dict.fromkeys(settings.therapist_codes + settings.client_codes + settings.symptom_codes)
    )
    instruments = {i.code: i for i in current_instruments(wanted_codes)}
    # Fixed item offsets (some items are endorsed more readily), centred per instrument.
    offsets = {}
    for code, instrument in instruments.items():
        drawn = rng.normal(0.0, 0.2 if code in ITEM_SD else 0.1, len(instrument.spec.items))
        offsets[code] = drawn - drawn.mean()
    sessions = _attended_by_dyad(demo)

    therapists: list[StaffMember] = []
    for dyad in demo.dyads:
        if dyad.therapist not in therapists:
            therapists.append(dyad.therapist)
    therapists.sort(key=lambda t: t.pk)
    drawn = _therapist_effects(rng, len(therapists))
    effects = {t.pk: float(e) for t, e in zip(therapists, drawn, strict=True)}

    ruptures = _pick_ruptures(rng, demo, sessions)
    active = [d for d in demo.dyads if d.is_active and d.pk not in ruptures]
    risk_count = min(2, len(active)) if len(demo.dyads) >= 12 else 0
    risk_ids = {active[int(i)].pk for i in rng.choice(len(active), risk_count, replace=False)}
    return _Forms(
        rng=rng,
        tz=zoneinfo.ZoneInfo(clinic.time_zone),
        settings=settings,
        instruments=instruments,
        offsets=offsets,
        sessions=sessions,
        therapists=therapists,
        effects=effects,
        ruptures=ruptures,
        risk_ids=risk_ids,
        rows=[],
        links=[],
    )


def _dyad_forms(plan: _Forms, dyad: Dyad) -> None:
    """Draw the dyad's own effects, then each session's forms (or a client link, when the
    client did not answer)."""
    rng = plan.rng
    dyad_plan = _DyadPlan(
        therapist_effect=float(plan.effects[dyad.therapist_id]),
        dyad_effect=float(rng.normal(0.0, DYAD_SD)),
        phq_start=float(np.clip(rng.normal(14.0, 1.3), 11.5, 16.5)),
        gad_start=float(np.clip(rng.normal(11.5, 1.5), 9.0, 14.5)),
        rupture_at=plan.ruptures.get(dyad.pk),
        risk=dyad.pk in plan.risk_ids,
    )
    risk_left = 2 if dyad_plan.risk else 0
    for session in plan.sessions[dyad.pk]:
        # Drawn for every session, attended or not, so one missed session does not shift
        # every later draw.
        draw = _session_draw(rng, dyad_plan, session.number)
        if session.attended:
            risk_left = _session_forms(plan, dyad, session, dyad_plan, draw, risk_left)


def _session_draw(rng: np.random.Generator, plan: _DyadPlan, n: int) -> _SessionDraw:
    dyad_level = plan.therapist_effect + plan.dyad_effect
    decline = float(np.clip(0.045 + 0.06 * dyad_level, 0.008, 0.11))
    session_noise = float(rng.normal(0.0, SESSION_SD))
    if plan.rupture_at is not None and n == plan.rupture_at - 1:
        session_noise = abs(session_noise)  # keep the rupture visible, not noise
    if plan.rupture_at is not None and n == plan.rupture_at:
        session_noise = -abs(session_noise)
    latent = (
        BASE_LEVEL + dyad_level + _growth(n) + session_noise + _rupture_deficit(n, plan.rupture_at)
    )
    client_rr = latent + float(rng.normal(0.0, RATER_SD))
    therapist_rr = latent + THERAPIST_BIAS + float(rng.normal(0.0, RATER_SD))
    within = client_rr - (BASE_LEVEL + dyad_level)
    outcome = 3.4 + 0.5 * dyad_level + OUTCOME_SLOPE * within + rng.normal(0.0, OUTCOME_SD)
    progress = (
        2.3
        + 0.5 * (therapist_rr - (BASE_LEVEL + THERAPIST_BIAS))
        + 1.3 * (1.0 - math.exp(-(n - 1) / 8.0))
        + rng.normal(0.0, 0.25)
    )
    phq = plan.phq_start * math.exp(-decline * (n - 1)) + rng.normal(0.0, 1.0)
    gad = plan.gad_start * math.exp(-decline * (n - 1)) + rng.normal(0.0, 1.0)
    missing = rng.random() < MISSING_CLIENT_RATE
    levels = {
        "RRI-C": client_rr,
        "RRI-T": therapist_rr,
        "SESSION-CHECK": outcome,
        "PROGRESS-T": progress,
        "PHQ-9": phq / 9.0,
        "GAD-7": gad / 7.0,
    }
    return _SessionDraw(levels, client_rr, therapist_rr, missing)


def _session_forms(
    plan: _Forms,
    dyad: Dyad,
    session: TherapySession,
    dyad_plan: _DyadPlan,
    draw: _SessionDraw,
    risk_left: int,
) -> int:
    """One attended session's administrations (and link); returns the risk answers left."""
    rng, tz, settings, instruments = plan.rng, plan.tz, plan.settings, plan.instruments
    n = session.number
    rupture_at = dyad_plan.rupture_at
    protected = rupture_at is not None and n in (rupture_at - 1, rupture_at)
    # The sessions a reader is pointed to (the rupture, a risk answer) are never missing.
    missing = draw.missing and not (protected or (dyad_plan.risk and n == 1))
    therapist_time = datetime.datetime.combine(
        session.date, datetime.time(17, int(rng.integers(0, 60))), tzinfo=tz
    )
    client_time = datetime.datetime.combine(
        session.date, datetime.time(int(rng.integers(18, 22)), int(rng.integers(0, 60))),
        tzinfo=tz,
    )  # fmt: skip
    client_codes = [c for c in settings.codes_for("client", n) if c in instruments]
    therapist_codes = [c for c in settings.codes_for("therapist", n) if c in instruments]
    for code in therapist_codes + ([] if missing else client_codes):
        instrument = instruments[code]
        answers = _generated_answers(
            instrument, draw.levels, plan.offsets[code], rng, draw.client_rr, draw.therapist_rr
        )
        risk_left = _risk_answer(instrument, answers, risk_left)
        is_therapist = instrument.rater == Instrument.Rater.THERAPIST
        plan.rows.append(
            administration_rows(
                session=session,
                instrument=instrument,
                answers=answers,
                submitted_at=therapist_time if is_therapist else client_time,
                submitted_by=dyad.therapist if is_therapist else None,
            )
        )
    if missing and client_codes:
        plan.links.append(_unanswered_link(plan, dyad, session, client_codes))
    return risk_left


def _risk_answer(instrument: Instrument, answers: dict[int, int], risk_left: int) -> int:
    """PHQ-9 item 9 (thoughts of self-harm) is 0, but 1 on a risk dyad's first forms."""
    if instrument.code == "PHQ-9" and instrument.spec.has_item(9):
        answers[9] = 0
        if risk_left and instrument.spec.item(9).response_scale.contains(1):
            answers[9] = 1
            risk_left -= 1
    return risk_left


def _unanswered_link(
    plan: _Forms, dyad: Dyad, session: TherapySession, client_codes: list[str]
) -> ClientLink:
    """The link the client was sent and did not answer (live or expired by now)."""
    lifetime = datetime.timedelta(hours=plan.settings.link_lifetime_hours)
    issued = datetime.datetime.combine(session.date, datetime.time(16, 50), tzinfo=plan.tz)
    return ClientLink(
        session=session,
        token_hash=hash_token(new_token()),
        instrument_ids=[plan.instruments[c].pk for c in client_codes],
        created_by=dyad.therapist,
        expires_at=issued + lifetime,
    )


def _generated_answers(
    instrument: Instrument,
    levels: dict[str, float],
    offsets: np.ndarray,
    rng: np.random.Generator,
    client_rr: float,
    therapist_rr: float,
) -> dict[int, int]:
    spec = instrument.spec
    code = instrument.code
    if code in ("PHQ-9", "GAD-7"):
        noise = rng.normal(0.0, SYMPTOM_ITEM_SD, len(spec.items))
        return _answers(spec, levels[code], offsets, noise, latent_scale=False)
    noise = rng.normal(0.0, ITEM_SD.get(code, 0.6), len(spec.items))
    if code in levels:
        level = levels[code]
    else:  # another instrument a clinic chose: follow its rater's relationship view
        level = therapist_rr if instrument.rater == Instrument.Rater.THERAPIST else client_rr
        if not any(s.higher_is_better for s in spec.scales):
            level = 6.0 - level
    return _answers(spec, level, offsets, noise, latent_scale=True)


def _write(rows: list[AdministrationRows], links: list[ClientLink], lifetime_hours: int) -> dict:
    administrations = Administration.objects.bulk_create(
        [r.administration for r in rows], batch_size=1000
    )
    answers: list[Answer] = []
    scores: list[Score] = []
    for row, administration in zip(rows, administrations, strict=True):
        for answer in row.answers:
            answer.administration = administration
        for score in row.scores:
            score.administration = administration
        answers.extend(row.answers)
        scores.extend(row.scores)
    Answer.objects.bulk_create(answers, batch_size=5000)
    Score.objects.bulk_create(scores, batch_size=5000)
    created = ClientLink.objects.bulk_create(links, batch_size=1000)
    if created:
        # created_at is auto_now_add: move it back to when the link was issued.
        ClientLink.objects.filter(pk__in=[link.pk for link in created]).update(
            created_at=F("expires_at") - datetime.timedelta(hours=lifetime_hours)
        )
    return {
        "administrations": len(administrations),
        "answers": len(answers),
        "scores": len(scores),
        "risk_flags": sum(1 for r in rows if r.administration.risk_flag),
        "links": len(created),
    }
