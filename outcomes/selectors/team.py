"""Reads for the team analytics page: a fixed number of queries whatever the number of dyads.

A `TeamScope` is the set of administrations the page looks at: the dyads the user may see
(`clinic.access.dyads_visible_to`), optionally one therapist's, optionally sessions in a date
range. Everything the page reads goes through it, so scope and filters apply everywhere.
"""

from __future__ import annotations

import datetime
import functools
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

import pandas as pd
from django.conf import settings
from django.core.cache import cache
from django.db.models import Count, Max, QuerySet, Subquery, Sum
from django.utils import timezone, translation

from clinic import access
from clinic.models import Dyad, StaffMember
from outcomes.reports import team
from outcomes.reports.team import (
    ALPHA_SAMPLE,
    ANSWER_FRAME_COLUMNS,
    SCORE_FRAME_COLUMNS,
)
from rri_forms.history import ScoreEvent
from rri_forms.instrument_spec import InstrumentSpec
from rri_forms.models import Administration, Answer, Score

CACHE_SECONDS = 3600
CACHE_VERSION = "team-v1"

T = TypeVar("T")


@dataclass(frozen=True)
class InstrumentState:
    code: str
    administrations: int
    latest_pk: int
    therapist_sum: int
    score_event: int  # newest score history event, of any clinic


@dataclass(frozen=True)
class TeamScope:
    member: StaffMember
    dyads: QuerySet[Dyad]
    therapist_id: int | None
    date_from: datetime.date | None
    date_to: datetime.date | None

    @property
    def tag(self) -> str:
        """Who sees what: the whole clinic (admins) or one supervisor's supervisees."""
        who = "clinic" if self.member.is_admin else f"member{self.member.pk}"
        return (
            f"{self.member.clinic_id}:{who}:t{self.therapist_id or '-'}:"
            f"{self.date_from or '-'}:{self.date_to or '-'}"
        )

    def lookups(self, prefix: str = "") -> dict[str, object]:
        """Administration lookups of this scope, for a model reached through `prefix`."""
        out: dict[str, object] = {f"{prefix}dyad__in": self.dyads}
        if self.therapist_id is not None:
            out[f"{prefix}dyad__therapist_id"] = self.therapist_id
        if self.date_from is not None:
            out[f"{prefix}session__date__gte"] = self.date_from
        if self.date_to is not None:
            out[f"{prefix}session__date__lte"] = self.date_to
        return out

    def administrations(self) -> QuerySet[Administration]:
        return Administration.objects.filter(**self.lookups())


def team_scope(
    user: object,
    member: StaffMember,
    *,
    therapist_id: int | None = None,
    date_from: datetime.date | None = None,
    date_to: datetime.date | None = None,
) -> TeamScope:
    return TeamScope(
        member=member,
        dyads=access.dyads_visible_to(user).values("pk"),
        therapist_id=therapist_id,
        date_from=date_from,
        date_to=date_to,
    )


def instrument_states(scope: TeamScope) -> list[InstrumentState]:
    """Per instrument in scope: how many administrations and the latest pk. One query.

    This is what the cache keys hang on: a new form raises the latest pk, a deleted one or a
    change of supervision changes the count, and a dyad moved to another therapist changes
    the therapist sum folded into the key. A correction or `manage.py rescore` keeps the
    administration but replaces or updates its scores, which only the score history shows:
    its newest event id is folded in too. That id is clinic-wide (one index look-up, no join
    over the history), so a form anywhere also renews the key; small scopes refit in the
    request and large ones in a job, so this costs a refit, never a wait.
    """
    newest_event = ScoreEvent.objects.order_by("-pgh_id").values("pgh_id")[:1]
    rows = (
        scope.administrations()
        .values("instrument_code")
        .annotate(
            n=Count("pk"),
            last=Max("pk"),
            therapists=Sum("dyad__therapist_id"),
            event=Max(Subquery(newest_event)),
        )
        .order_by("instrument_code")
    )
    return [
        InstrumentState(
            r["instrument_code"], r["n"], r["last"], r["therapists"] or 0, r["event"] or 0
        )
        for r in rows
    ]


def cache_key(scope: TeamScope, states: list[InstrumentState] | None, *parts: object) -> str:
    """Key of one cached part: scope + filters + (unless None) the state of the data, in the
    active language (the parts hold sentences)."""
    state = (
        "any"
        if states is None
        else ";".join(
            f"{s.code}:{s.administrations}:{s.latest_pk}:{s.therapist_sum}:{s.score_event}"
            for s in states
        )
    )
    language = translation.get_language() or ""
    raw = f"{CACHE_VERSION}|{language}|{scope.tag}|{state}|{'|'.join(str(p) for p in parts)}"
    return "team:" + hashlib.sha256(raw.encode()).hexdigest()


# --- Expensive parts: refresh-ahead ------------------------------------------------------
#
# A mixed model on 60,000 sessions takes several seconds, and at that size forms arrive all
# day, each one changing the cache key. So above SYNC_MAX_* the page never waits for a fit:
# it shows the last result for the same scope and filters (saying how many forms it predates)
# or, the first time, says the fit is running, and a job (outcomes/tasks.py, run by any
# worker) computes the result for the current data into the shared cache, where every app
# process finds it. Small clinics fit in the request, as do most tests.

# sessions: a model this size fits in well under a second
SYNC_MAX_OBS = getattr(settings, "TEAM_FIT_IN_REQUEST_MAX_SESSIONS", 5000)
# administrations in scope: alpha's answers read quickly below this
SYNC_MAX_FORMS = getattr(settings, "TEAM_FIT_IN_REQUEST_MAX_FORMS", 3000)
LAST_SECONDS = 7 * 24 * 3600  # how long a superseded result may stand in while refitting

Part = tuple[str, ...]  # ("icc", code), ("model", rr, outcome) or ("alpha",)


@dataclass(frozen=True)
class Entry(Generic[T]):
    value: T
    computed_at: datetime.datetime
    forms: int  # administrations in scope when computed


@dataclass(frozen=True)
class Refreshed(Generic[T]):
    """A cached result: `fresh` when computed on the current data; `value` None while the
    first computation runs in the background."""

    value: T | None
    fresh: bool
    computed_at: datetime.datetime | None = None
    forms_behind: int = 0


def measure_of(code: str, specs: dict[str, InstrumentSpec]) -> team.Measure:
    if code in specs:
        return team.measure(specs[code])
    return team.Measure(code, code, True, "relationship")


class Inputs:
    """What the report's parts are computed from, each read once when first needed: by the
    request for the quick parts and the small models, by a job for the large ones."""

    def __init__(
        self,
        scope: TeamScope,
        states: list[InstrumentState],
        specs: dict[str, InstrumentSpec],
        codes: list[str],
    ) -> None:
        self.scope, self.states, self.specs = scope, states, specs
        self.codes = list(dict.fromkeys(c for c in codes if c))

    @functools.cached_property
    def scores(self) -> pd.DataFrame:
        return total_scores(self.scope, self.codes)

    @functools.cached_property
    def dyads(self) -> pd.DataFrame:
        return dyad_labels(self.scope)

    @functools.cached_property
    def names(self) -> dict[int, str]:
        dyads = self.dyads
        return dict(
            zip(dyads["therapist_id"].to_list(), dyads["therapist_name"].to_list(), strict=True)
        )

    def pair(self, rr: str, outcome: str | None) -> pd.DataFrame:
        return team.pair_frame(self.scores, rr, outcome)

    @property
    def present(self) -> list[str]:
        return [s.code for s in self.states if s.code in self.specs]


def part_codes(part: Part) -> list[str]:
    """The instruments whose scores a part reads."""
    return [c for c in part[1:] if c]


def compute_part(inputs: Inputs, part: Part) -> object:
    """One expensive part of the report, computed on `inputs`."""
    kind = part[0]
    if kind == "icc":
        code = part[1]
        label = measure_of(code, inputs.specs).label
        return team.therapist_section(inputs.scores, code, label, inputs.names)
    if kind == "model":
        rr, outcome = part[1], part[2]
        out_measure = team.measure(inputs.specs[outcome]) if outcome else None
        return team.model_section(
            inputs.pair(rr, outcome), measure_of(rr, inputs.specs), out_measure
        )
    if kind == "alpha":
        answers = recent_answers(inputs.scope, inputs.present)
        return team.alpha_section(answers, inputs.specs)
    raise ValueError(f"no part {part!r}")


def part_keys(scope: TeamScope, states: list[InstrumentState], part: Part) -> tuple[str, str]:
    """The cache keys of a part: for the current data, and its last result whatever the
    data (shown, marked, while a job refits)."""
    return cache_key(scope, states, *part), cache_key(scope, None, "last", *part)


def store(scope: TeamScope, states: list[InstrumentState], part: Part, value: object) -> Entry:
    fresh_key, last_key = part_keys(scope, states, part)
    entry = Entry(value, timezone.now(), sum(s.administrations for s in states))
    cache.set(fresh_key, entry, CACHE_SECONDS)
    cache.set(last_key, entry, LAST_SECONDS)
    return entry


def refreshed(
    scope: TeamScope,
    states: list[InstrumentState],
    part: Part,
    compute: Callable[[], T],
    *,
    background: bool,
) -> Refreshed[T]:
    """The part's result for the current data, computed now (`background` False) or, when
    missing, the last result for this scope and filters while a job computes it."""
    fresh_key, last_key = part_keys(scope, states, part)
    hit = cache.get(fresh_key)
    if hit is not None:
        return Refreshed(hit.value, True, hit.computed_at)
    if not background:
        entry = store(scope, states, part, compute())
        return Refreshed(entry.value, True, entry.computed_at)
    from outcomes.tasks import defer_refit  # tasks import this module

    defer_refit(scope, part)
    last = cache.get(last_key)
    if last is None:
        return Refreshed(None, False)
    forms = sum(s.administrations for s in states)
    return Refreshed(last.value, False, last.computed_at, forms - last.forms)


def total_scores(scope: TeamScope, codes: list[str]) -> pd.DataFrame:
    """Stored total scores of `codes` in scope, one row per score. One query."""
    rows = (
        Score.objects.filter(
            scale="total",
            value__isnull=False,
            administration__instrument_code__in=codes,
            **scope.lookups("administration__"),
        )
        .values_list(
            "administration__dyad_id",
            "administration__dyad__therapist_id",
            "administration__session__number",
            "administration__instrument_code",
            "value",
        )
        .order_by()
    )
    frame = pd.DataFrame.from_records(list(rows), columns=list(SCORE_FRAME_COLUMNS))
    if not frame.empty:
        frame["score"] = frame["score"].astype(float)
    return frame


def dyad_labels(scope: TeamScope) -> pd.DataFrame:
    """Client code, therapist id and name per dyad in scope (index dyad_id). One query."""
    dyads = Dyad.objects.filter(pk__in=scope.dyads)
    if scope.therapist_id is not None:
        dyads = dyads.filter(therapist_id=scope.therapist_id)
    rows = dyads.values_list(
        "pk", "client__code", "therapist_id", "therapist__display_name"
    ).order_by()
    frame = pd.DataFrame.from_records(
        list(rows), columns=["dyad_id", "client_code", "therapist_id", "therapist_name"]
    )
    return frame.set_index("dyad_id")


def recent_answers(scope: TeamScope, codes: list[str]) -> pd.DataFrame:
    """Answers of the most recent ≤ ALPHA_SAMPLE administrations per instrument. Two queries.

    The ids come from one UNION ALL of per-instrument "newest first, LIMIT n" selects (a
    backward scan of the primary key each), so the answers are then read through their
    administration index rather than by scanning every answer in the clinic.
    """
    if not codes:
        return pd.DataFrame(columns=list(ANSWER_FRAME_COLUMNS))
    newest = [
        scope.administrations()
        .filter(instrument_code=code)
        .order_by("-pk")
        .values_list("pk", "instrument_code")[:ALPHA_SAMPLE]
        for code in codes
    ]
    chosen = dict(newest[0].union(*newest[1:], all=True) if len(newest) > 1 else newest[0])
    rows = (
        Answer.objects.filter(administration_id__in=list(chosen))
        .values_list("administration_id", "item_number", "value")
        .order_by()
    )
    frame = pd.DataFrame.from_records(list(rows), columns=["administration", "item", "value"])
    frame.insert(1, "instrument", frame["administration"].map(chosen))
    return frame[list(ANSWER_FRAME_COLUMNS)]
