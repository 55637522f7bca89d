"""The team / clinic analytics page (/analytics/): supervisors and admins only."""

from __future__ import annotations

import dataclasses
import html
from collections.abc import Callable
from typing import TypeVar

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
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
from outcomes.reports import team
from outcomes.selectors import frames as selectors
from outcomes.selectors import team as team_selectors
from outcomes.selectors.team import TeamScope, cache_key
from rri_forms.instrument_spec import InstrumentSpec

T = TypeVar("T")


class TeamFilterForm(forms.Form):
    """?therapist=ID&from=YYYY-MM-DD&to=YYYY-MM-DD&rr=RRI-C&outcome=CODE&icc=RRI-T.

    `outcome` is checked against the outcome instruments with data in scope by the view,
    because which ones exist depends on the other filters.
    """

    therapist = forms.TypedChoiceField(
        required=False,
        coerce=int,
        empty_value=None,
        error_messages={
            "invalid_choice": gettext_lazy(
                "No therapist with id “%(value)s” is among the therapists you can see; choose "
                "one from the list."
            )
        },
    )
    rr = forms.ChoiceField(
        required=False,
        choices=[(c, c) for c in team.RELATIONSHIP_CODES],
        error_messages={
            "invalid_choice": gettext_lazy("The relationship measure must be RRI-C or RRI-T.")
        },
    )
    outcome = forms.CharField(required=False, max_length=32)
    icc = forms.ChoiceField(
        required=False,
        choices=[(c, c) for c in team.RELATIONSHIP_CODES],
        error_messages={
            "invalid_choice": gettext_lazy("Therapist contributions are shown for RRI-C or RRI-T.")
        },
    )

    def __init__(self, data, *, therapists: list[tuple[int, str]]) -> None:  # type: ignore[no-untyped-def]
        super().__init__(data)
        self.fields["therapist"].choices = [("", _("All therapists")), *therapists]
        for name, label, invalid in (
            (
                "from",
                _("Sessions from"),
                _("“Sessions from”: Enter the date as YYYY-MM-DD, for example 2025-03-31."),
            ),
            ("to", _("to"), _("“to”: Enter the date as YYYY-MM-DD, for example 2025-03-31.")),
        ):
            self.fields[name] = forms.DateField(
                required=False,
                label=label,
                input_formats=["%Y-%m-%d"],
                error_messages={"invalid": invalid},
            )

    def clean(self):  # type: ignore[no-untyped-def]
        data = super().clean()
        start, end = data.get("from"), data.get("to")
        if start and end and start > end:
            raise forms.ValidationError(
                _("The start date (%(start)s) is after the end date (%(end)s).")
                % {"start": f"{start:%Y-%m-%d}", "end": f"{end:%Y-%m-%d}"}
            )
        return data


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
    scope: TeamScope,
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
    rr_measure = team_selectors.measure_of(rr, specs)
    icc_label = team_selectors.measure_of(icc, specs).label
    out_measure = team.measure(specs[outcome]) if outcome else None
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
def team_analytics(request: HttpRequest) -> HttpResponse:
    member = access.require_staff(request.user)
    if member.is_therapist:
        raise PermissionDenied("Team analytics are for supervisors and admins")
    therapists = list(access.therapists_visible_to(request.user).values_list("pk", "display_name"))
    form = TeamFilterForm(request.GET, therapists=therapists)
    context: dict = {
        "form": form,
        "therapists": therapists,
        "relationship_codes": team.RELATIONSHIP_CODES,
        "report": None,
        "scope_label": _("the whole clinic")
        if member.is_admin
        else _("the dyads of the therapists you supervise"),
    }
    if not form.is_valid():
        return render(request, "outcomes/team_analytics.html", context)

    data = form.cleaned_data
    scope = team_selectors.team_scope(
        request.user,
        member,
        therapist_id=data["therapist"],
        date_from=data["from"],
        date_to=data["to"],
    )
    specs = selectors.instrument_specs()
    states = team_selectors.instrument_states(scope)
    outcomes = team.outcome_choices(specs, {s.code for s in states})
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
        return render(request, "outcomes/team_analytics.html", context)
    rr = data["rr"] or team.RELATIONSHIP_CODES[0]
    icc = data["icc"] or team.RELATIONSHIP_CODES[0]
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
