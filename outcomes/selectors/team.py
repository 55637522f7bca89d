"""Reads for the team analytics page: a fixed number of queries whatever the number of dyads.

A `clinic.scope.Scope` is the set of administrations the page looks at: the dyads the user may
see (`clinic.access.dyads_visible_to`), optionally one therapist's, optionally sessions in a
date range. Everything the page reads goes through it, so scope and filters apply everywhere.
"""

from __future__ import annotations

import dataclasses
import datetime
import functools
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Generic, TypeVar

import pandas as pd
from django.conf import settings
from django.core.cache import cache
from django.db.models import Count, Max, QuerySet, Subquery, Sum
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from clinic.scope import Scope
from outcomes import measures
from outcomes.measures import ALPHA_SAMPLE
from outcomes.reports import team
from outcomes.reports.team import ANSWER_FRAME_COLUMNS, SCORE_FRAME_COLUMNS
from rri_forms.history import ScoreEvent
from rri_forms.instrument_spec import InstrumentSpec
from rri_forms.models import Administration, Answer, Score

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

CACHE_SECONDS = 3600
CACHE_VERSION = "team-v1"

T = TypeVar("T")
S = TypeVar("S", bound="DataclassInstance")  # a report section: a dataclass with `freshness`


@dataclass(frozen=True)
class InstrumentState:
    code: str
    administrations: int
    latest_pk: int
    therapist_sum: int
    score_event: int  # newest score history event, of any clinic


def administrations(scope: Scope) -> QuerySet[Administration]:
    return Administration.objects.filter(**scope.lookups())


def instrument_states(scope: Scope) -> list[InstrumentState]:
    """Per instrument in scope: how many administrations and the latest pk. One query.

    This is what the cache keys hang on: a new form raises the latest pk, a deleted one or a
    change of supervision changes the count, and a dyad moved to another therapist changes
    the therapist sum folded into the key. A correction or `manage.py rescore` keeps the
    administration but replaces or updates its scores, which only the score history shows:
    its newest event id is folded in too. That id is clinic-wide (one index look-up, no join
    over the history), so a form anywhere also renews the key; small scopes refit in the
    request and large ones in a job, so this costs a refit, never a wait.
    """
    # `_default_manager`, not `objects`: `track` builds the event model at runtime, typed
    # as a plain Model class, which declares no `objects`
    newest_event = ScoreEvent._default_manager.order_by("-pgh_id").values("pgh_id")[:1]
    rows = (
        administrations(scope)
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


def cache_key(scope: Scope, states: list[InstrumentState] | None, *parts: object) -> str:
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
    raw = (
        f"{CACHE_VERSION}|{language}|{scope.cache_key()}|{state}|{'|'.join(str(p) for p in parts)}"
    )
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

Part = tuple[str | None, ...]  # ("icc", code), ("model", rr, outcome or None) or ("alpha",)


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


class Inputs:
    """What the report's parts are computed from, each read once when first needed: by the
    request for the quick parts and the small models, by a job for the large ones."""

    def __init__(
        self,
        scope: Scope,
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


def _code(part: Part, index: int) -> str:
    """An instrument a part cannot do without (only the model's outcome may be missing)."""
    code = part[index]
    if not code:
        raise ValueError(f"part {part!r} lacks its instrument")
    return code


def compute_part(inputs: Inputs, part: Part) -> object:
    """One expensive part of the report, computed on `inputs`."""
    kind = part[0]
    if kind == "icc":
        code = _code(part, 1)
        label = measures.measure_of(code, inputs.specs).label
        return team.therapist_section(inputs.scores, code, label, inputs.names)
    if kind == "model":
        rr, outcome = _code(part, 1), part[2]
        out_measure = measures.measure(inputs.specs[outcome]) if outcome else None
        return team.model_section(
            inputs.pair(rr, outcome), measures.measure_of(rr, inputs.specs), out_measure
        )
    if kind == "alpha":
        answers = recent_answers(inputs.scope, inputs.present)
        return team.alpha_section(answers, inputs.specs)
    raise ValueError(f"no part {part!r}")


def part_keys(scope: Scope, states: list[InstrumentState], part: Part) -> tuple[str, str]:
    """The cache keys of a part: for the current data, and its last result whatever the
    data (shown, marked, while a job refits)."""
    return cache_key(scope, states, *part), cache_key(scope, None, "last", *part)


def store(scope: Scope, states: list[InstrumentState], part: Part, value: object) -> Entry:
    fresh_key, last_key = part_keys(scope, states, part)
    entry = Entry(value, timezone.now(), sum(s.administrations for s in states))
    cache.set(fresh_key, entry, CACHE_SECONDS)
    cache.set(last_key, entry, LAST_SECONDS)
    return entry


def refreshed(
    scope: Scope,
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


def _when(refreshed: Refreshed) -> str:
    if refreshed.computed_at is None:
        return ""
    when = timezone.localtime(refreshed.computed_at)
    return _("on %(date)s at %(time)s") % {"date": f"{when:%Y-%m-%d}", "time": f"{when:%H:%M}"}


def _settle(refreshed: Refreshed[S], pending: Callable[[], S]) -> tuple[S, bool]:
    """The part to show (the result, the last result marked stale, or a "running" notice)
    and whether it is fresh."""
    if refreshed.value is None:
        return pending(), False
    if refreshed.fresh:
        return refreshed.value, True
    note = team.stale_note(_when(refreshed), refreshed.forms_behind)
    return dataclasses.replace(refreshed.value, freshness=note), False


def _pending_model(
    pair: pd.DataFrame, rr: measures.Measure, outcome: measures.Measure | None
) -> team.ModelSection:
    # without an outcome the part is never sent to the background (see build_report), so
    # it is never pending
    if outcome is None:
        raise ValueError("a model without an outcome is never pending")
    return team.pending_model_section(pair, rr, outcome)


def build_report(
    scope: Scope,
    states: list[InstrumentState],
    specs: dict[str, InstrumentSpec],
    *,
    rr: str,
    outcome: str | None,
    icc: str,
) -> tuple[team.TeamReport, bool]:
    """The report and whether every part of it is computed on the current data; the large
    parts that are not are deferred as jobs (outcomes/tasks.py)."""
    inputs = Inputs(scope, states, specs, [rr, icc, outcome or ""])
    scores, dyads = inputs.scores, inputs.dyads
    rr_measure = measures.measure_of(rr, specs)
    icc_label = measures.measure_of(icc, specs).label
    out_measure = measures.measure(specs[outcome]) if outcome else None
    pair = inputs.pair(rr, outcome)

    def part(key: Part, background: bool) -> Refreshed:
        return refreshed(
            scope,
            states,
            key,
            lambda: compute_part(inputs, key),
            background=background,
        )

    n_t, n_d, n_obs = team.therapist_counts(scores, icc)
    therapists, icc_fresh = _settle(
        part(
            ("icc", icc),
            team.enough_for_model(n_t, n_d) and n_obs > SYNC_MAX_OBS,
        ),
        lambda: team.pending_therapist_section(scores, icc, icc_label),
    )
    n_t, n_d, n_obs = team.pair_counts(pair)
    model, model_fresh = _settle(
        part(
            ("model", rr, outcome),
            out_measure is not None and team.enough_for_model(n_t, n_d) and n_obs > SYNC_MAX_OBS,
        ),
        lambda: _pending_model(pair, rr_measure, out_measure),
    )
    n_forms = sum(s.administrations for s in states if s.code in specs)
    alpha, alpha_fresh = _settle(
        part(("alpha",), n_forms > SYNC_MAX_FORMS),
        lambda: team.pending_alpha_section(n_forms),
    )
    sessions = scores[["dyad_id", "session_number"]].drop_duplicates()
    report = team.TeamReport(
        rr=rr_measure,
        outcome=out_measure,
        pooled=team.pooled_section(pair, dyads, rr_measure, out_measure),
        between=team.between_section(pair, dyads, rr_measure, out_measure),
        therapists=therapists,
        model=model,
        alpha=alpha,
        n_dyads=int(sessions["dyad_id"].nunique()),
        n_sessions=len(sessions),
    )
    return report, icc_fresh and model_fresh and alpha_fresh


def team_report(
    scope: Scope,
    states: list[InstrumentState],
    specs: dict[str, InstrumentSpec],
    *,
    rr: str,
    outcome: str | None,
    icc: str,
) -> team.TeamReport:
    """The page's report, cached whole once every part of it is computed on the current data;
    until then each request rebuilds the quick parts and picks up what the jobs have
    finished."""
    key = cache_key(scope, states, "report", rr, outcome, icc)
    report = cache.get(key)
    if report is None:
        report, complete = build_report(scope, states, specs, rr=rr, outcome=outcome, icc=icc)
        if complete:
            cache.set(key, report, CACHE_SECONDS)
    return report


def total_scores(scope: Scope, codes: list[str]) -> pd.DataFrame:
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


def dyad_labels(scope: Scope) -> pd.DataFrame:
    """Client code, therapist id and name per dyad in scope (index dyad_id). One query."""
    rows = (
        scope.dyads()
        .values_list("pk", "client__code", "therapist_id", "therapist__display_name")
        .order_by()
    )
    frame = pd.DataFrame.from_records(
        list(rows), columns=["dyad_id", "client_code", "therapist_id", "therapist_name"]
    )
    return frame.set_index("dyad_id")


def recent_answers(scope: Scope, codes: list[str]) -> pd.DataFrame:
    """Answers of the most recent ≤ ALPHA_SAMPLE administrations per instrument. Two queries.

    The ids come from one UNION ALL of per-instrument "newest first, LIMIT n" selects (a
    backward scan of the primary key each), so the answers are then read through their
    administration index rather than by scanning every answer in the clinic.
    """
    if not codes:
        return pd.DataFrame(columns=list(ANSWER_FRAME_COLUMNS))
    newest = [
        administrations(scope)
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
