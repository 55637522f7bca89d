"""Shared sentences of the team page: counted nouns, lists, directions, refusals (numbers
are written by `outcomes.analytics.numbers`)."""

from __future__ import annotations

from collections.abc import Sequence

from outcomes.analytics.i18n import _, ngettext
from outcomes.analytics.multilevel import MIN_DYADS as MODEL_MIN_DYADS
from outcomes.analytics.multilevel import MIN_THERAPISTS as MODEL_MIN_THERAPISTS
from outcomes.analytics.numbers import fmt_int
from outcomes.measures import Measure


def n_therapists(n: int) -> str:
    return ngettext("%(n)s therapist", "%(n)s therapists", n) % {"n": fmt_int(n)}


def n_dyads(n: int) -> str:
    return ngettext("%(n)s dyad", "%(n)s dyads", n) % {"n": fmt_int(n)}


def n_sessions(n: int) -> str:
    return ngettext("%(n)s session", "%(n)s sessions", n) % {"n": fmt_int(n)}


def and_list(parts: Sequence[str]) -> str:
    """ "a" or "a and b" (the lists here have at most two parts)."""
    if len(parts) <= 1:
        return "".join(parts)
    return _("%(first)s and %(second)s") % {"first": ", ".join(parts[:-1]), "second": parts[-1]}


def direction_sentence(outcome: Measure, *, change: bool = False) -> str:
    """Which sign of r means 'a better relationship goes with a better outcome'."""
    if outcome.higher_is_better and change:
        text = _(
            "Higher %(label)s scores are better, so a positive r means a better relationship "
            "goes with a better outcome (more improvement in %(label)s)."
        )
    elif outcome.higher_is_better:
        text = _(
            "Higher %(label)s scores are better, so a positive r means a better relationship "
            "goes with a better outcome (better %(label)s scores)."
        )
    elif change:
        text = _(
            "Higher %(label)s scores mean more symptoms, so here a negative r means a better "
            "relationship goes with a better outcome (a larger drop in symptoms); the published "
            "r = .38 is expressed in the better-outcome direction."
        )
    else:
        text = _(
            "Higher %(label)s scores mean more symptoms, so here a negative r means a better "
            "relationship goes with a better outcome (fewer symptoms); the published r = .38 is "
            "expressed in the better-outcome direction."
        )
    return text % {"label": outcome.label}


def missing_for_model(n_therapists: int, n_dyads: int) -> str:
    # English has always said "1 more therapists"; the plural forms let other languages agree.
    needs = []
    if n_therapists < MODEL_MIN_THERAPISTS:
        more = MODEL_MIN_THERAPISTS - n_therapists
        needs.append(ngettext("%(n)d more therapists", "%(n)d more therapists", more) % {"n": more})
    if n_dyads < MODEL_MIN_DYADS:
        more = MODEL_MIN_DYADS - n_dyads
        needs.append(ngettext("%(n)d more dyads", "%(n)d more dyads", more) % {"n": more})
    return and_list(needs)


def not_converged() -> str:
    return _("The model did not converge: treat it as provisional.")
