"""What the page shows while a large part is computed in the background, or stale."""

from __future__ import annotations

import pandas as pd

from outcomes.analytics.i18n import _, ngettext
from outcomes.analytics.numbers import fmt_int
from outcomes.measures import Measure
from outcomes.reports.team.alpha import AlphaSection
from outcomes.reports.team.frames import pair_counts, therapist_counts
from outcomes.reports.team.model import ModelSection
from outcomes.reports.team.text import n_sessions
from outcomes.reports.team.therapists import TherapistSection


def _pending_text(what: str, count: str) -> str:
    # Translators: %(what)s names the computation ("Item analysis"), %(count)s what it runs
    # on ("12,000 sessions").
    return _(
        "%(what)s on %(count)s takes a while at this size, so it is being computed in the "
        "background; reload the page in a minute or two."
    ) % {"what": what, "count": count}


def pending_therapist_section(scores: pd.DataFrame, code: str, label: str) -> TherapistSection:
    n_t, n_d, n_obs = therapist_counts(scores, code)
    return TherapistSection(
        code,
        label,
        None,
        n_t,
        n_d,
        n_obs,
        empty=_pending_text(
            _("Fitting the three-level model of %(label)s totals") % {"label": label},
            n_sessions(n_obs),
        ),
        pending=True,
    )


def pending_model_section(pair: pd.DataFrame, rr: Measure, outcome: Measure) -> ModelSection:
    n_obs = pair_counts(pair)[2]
    return ModelSection(
        rr,
        outcome,
        None,
        empty=_pending_text(
            _("Fitting %(outcome)s on %(rr)s with therapist and dyad intercepts")
            % {"outcome": outcome.label, "rr": rr.label},
            n_sessions(n_obs),
        ),
        pending=True,
    )


def pending_alpha_section(n_forms: int) -> AlphaSection:
    forms = ngettext("%(n)s completed form", "%(n)s completed forms", n_forms) % {
        "n": fmt_int(n_forms)
    }
    return AlphaSection([], empty=_pending_text(_("Item analysis"), forms), pending=True)


def stale_note(computed: str, forms_behind: int) -> str:
    """`computed` says when ("on 2025-03-31 at 14:05")."""
    if forms_behind > 0:
        return ngettext(
            "Computed %(when)s, before the newest %(n)s form; an update that includes them is "
            "being computed in the background.",
            "Computed %(when)s, before the newest %(n)s forms; an update that includes them is "
            "being computed in the background.",
            forms_behind,
        ) % {"when": computed, "n": fmt_int(forms_behind)}
    return _(
        "Computed %(when)s, before the latest changes; an update that includes them is being "
        "computed in the background."
    ) % {"when": computed}
