"""The team / clinic analytics page (/analytics/): supervisors and admins only."""

from __future__ import annotations

import dataclasses
import html
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET

from clinic import access
from clinic.audit import log_access
from clinic.models import AccessLog
from clinic.scope import Scope, ScopeForm
from outcomes import measures
from outcomes.reports import team
from outcomes.selectors import frames as selectors
from outcomes.selectors import team as team_selectors
from outcomes.selectors.team import cache_key
from rri_forms.instrument_spec import InstrumentSpec

if TYPE_CHECKING:
    from clinic.access import AnyUser

T = TypeVar("T")


class TeamFilterForm(ScopeForm):
    """?therapist=ID&from=YYYY-MM-DD&to=YYYY-MM-DD&rr=RRI-C&outcome=CODE&icc=RRI-T.

    `rr` and `icc` take any relationship measure (`outcome.measures`). `outcome` is checked
    against the outcome instruments with data in scope by the view, because which ones exist
    depends on the other filters.
    """

    date_labels = (gettext_lazy("Sessions from"), gettext_lazy("to"))

    rr = forms.ChoiceField(required=False)
    outcome = forms.CharField(required=False, max_length=32)
    icc = forms.ChoiceField(required=False)

    def __init__(self, data: Any, *, user: AnyUser, relationship: list[str]) -> None:
        super().__init__(data, user=user)
        listed = ", ".join(relationship)
        for name, invalid in (
            ("rr", _("The relationship measure must be one of: %(codes)s.")),
            ("icc", _("Therapist contributions are shown for one of: %(codes)s.")),
        ):
            field = self.fields[name]
            assert isinstance(field, forms.ChoiceField)  # noqa: S101 - declared above
            field.choices = [(c, c) for c in relationship]
            field.error_messages["invalid_choice"] = invalid % {"codes": listed}


def _linked_rows(rows: list[tuple[int, list[str]]]) -> SafeString:
    """Table rows whose first cell links to the dyad page, as HTML.

    Built here rather than in the template: two tables of 2,000 dyads took about 0.6 s of
    template rendering; joined strings take a few milliseconds.
    """
    marker = 987654321
    url = reverse("dyad_detail", args=[marker])
    before, after = url.split(str(marker))
    parts = []
    for dyad_id, cells in rows:
        first, *rest = (html.escape(c) for c in cells)
        parts.append(
            f'<tr><td><a href="{before}{int(dyad_id)}{after}">{first}</a></td>'
            + "".join(f"<td>{c}</td>" for c in rest)
            + "</tr>"
        )
    return mark_safe("".join(parts))  # noqa: S308 - every cell is escaped above


def _when(refreshed: team_selectors.Refreshed) -> str:
    if refreshed.computed_at is None:
        return ""
    when = timezone.localtime(refreshed.computed_at)
    return _("on %(date)s at %(time)s") % {"date": f"{when:%Y-%m-%d}", "time": f"{when:%H:%M}"}


def _settle(refreshed: team_selectors.Refreshed[T], pending: Callable[[], T]) -> tuple[T, bool]:
    """The part to show (the result, the last result marked stale, or a "running" notice)
    and whether it is fresh."""
    if refreshed.value is None:
        return pending(), False
    if refreshed.fresh:
        return refreshed.value, True
    note = team.stale_note(_when(refreshed), refreshed.forms_behind)
    return dataclasses.replace(refreshed.value, freshness=note), False


def _build(
    scope: Scope,
    states: list[team_selectors.InstrumentState],
    specs: dict[str, InstrumentSpec],
    *,
    rr: str,
    outcome: str | None,
    icc: str,
) -> tuple[team.TeamReport, bool]:
    """The report and whether every part of it is computed on the current data; the large
    parts that are not are deferred as jobs (outcomes/tasks.py)."""
    inputs = team_selectors.Inputs(scope, states, specs, [rr, icc, outcome or ""])
    scores, dyads = inputs.scores, inputs.dyads
    rr_measure = measures.measure_of(rr, specs)
    icc_label = measures.measure_of(icc, specs).label
    out_measure = measures.measure(specs[outcome]) if outcome else None
    pair = inputs.pair(rr, outcome)

    def part(key: team_selectors.Part, background: bool) -> team_selectors.Refreshed:
        return team_selectors.refreshed(
            scope,
            states,
            key,
            lambda: team_selectors.compute_part(inputs, key),
            background=background,
        )

    n_t, n_d, n_obs = team.therapist_counts(scores, icc)
    therapists, icc_fresh = _settle(
        part(
            ("icc", icc),
            team.enough_for_model(n_t, n_d) and n_obs > team_selectors.SYNC_MAX_OBS,
        ),
        lambda: team.pending_therapist_section(scores, icc, icc_label),
    )
    n_t, n_d, n_obs = team.pair_counts(pair)
    model, model_fresh = _settle(
        part(
            ("model", rr, outcome),
            out_measure is not None
            and team.enough_for_model(n_t, n_d)
            and n_obs > team_selectors.SYNC_MAX_OBS,
        ),
        lambda: team.pending_model_section(pair, rr_measure, out_measure),
    )
    n_forms = sum(s.administrations for s in states if s.code in specs)
    alpha, alpha_fresh = _settle(
        part(("alpha",), n_forms > team_selectors.SYNC_MAX_FORMS),
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


@login_required
@require_GET
@access.supervision_required
def team_analytics(request: HttpRequest) -> HttpResponse:
    member = access.require_staff(request.user)
    therapists = list(access.therapists_visible_to(request.user).values_list("pk", "display_name"))
    specs = selectors.instrument_specs()
    relationship = measures.relationship_codes(specs)
    form = TeamFilterForm(request.GET, user=request.user, relationship=relationship)
    context: dict = {
        "form": form,
        "problems": [],
        "therapists": therapists,
        "relationship_codes": relationship,
        "report": None,
        "scope_label": _("the whole clinic")
        if member.is_admin
        else _("the dyads of the therapists you supervise"),
    }
    if not form.is_valid():
        context["problems"] = form.messages()
        return render(request, "outcomes/team_analytics.html", context)

    data = form.cleaned_data
    scope = form.scope()
    states = team_selectors.instrument_states(scope)
    outcomes = measures.outcome_codes(specs, {s.code for s in states})
    context["outcomes"] = [(code, specs[code].short_title) for code in outcomes]
    outcome = data["outcome"] or (outcomes[0] if outcomes else None)
    if outcome not in outcomes and outcome is not None:
        available = ", ".join(specs[c].short_title for c in outcomes) or _("none yet")
        form.add_error(
            "outcome",
            _(
                "“%(outcome)s” is not an outcome measure with scores in this selection; "
                "available: %(available)s."
            )
            % {"outcome": outcome, "available": available},
        )
        context["problems"] = form.messages()
        return render(request, "outcomes/team_analytics.html", context)
    default_rr = relationship[0] if relationship else ""
    rr = data["rr"] or default_rr
    icc = data["icc"] or default_rr
    # The whole report is cached only once every part of it is computed on the current data;
    # until then each request rebuilds the quick parts and picks up what the jobs have
    # finished.
    key = cache_key(scope, states, "report", rr, outcome, icc)
    report = cache.get(key)
    if report is None:
        report, complete = _build(scope, states, specs, rr=rr, outcome=outcome, icc=icc)
        if complete:
            cache.set(key, report, team_selectors.CACHE_SECONDS)
    context.update(
        rr=rr,
        outcome=outcome,
        icc=icc,
        report=report,
        pooled_rows=_linked_rows(report.pooled.table_rows),
        between_rows=_linked_rows(report.between.table_rows),
    )
    log_access(
        request,
        AccessLog.Action.VIEW_DASHBOARD,
        detail=f"team analytics: {report.n_dyads} dyads, therapist {scope.therapist_id or 'all'}, "
        f"sessions {scope.date_from or 'any'} to {scope.date_to or 'any'}",
    )
    return render(request, "outcomes/team_analytics.html", context)
