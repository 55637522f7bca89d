"""Section 2: between-dyad association (dyad mean relationship vs outcome change)."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from outcomes.analytics import (
    Correlation,
    between_dyad_association,
)
from outcomes.analytics.i18n import _, gettext_noop, ngettext
from outcomes.analytics.numbers import fmt, fmt_int, fmt_p, fmt_r
from outcomes.analytics.scalars import to_float_or_none, to_int
from outcomes.measures import Measure
from outcomes.reports.team.charts import dyad_scatter_chart
from outcomes.reports.team.frames import therapist_names, unique_labels
from outcomes.reports.team.text import direction_sentence


@dataclass
class BetweenSection:
    rr: Measure
    outcome: Measure | None
    correlation: Correlation | None
    empty: str = ""
    summary: str = ""
    direction: str = ""
    figure: dict | None = None
    table_columns: list[str] = field(default_factory=list)
    table_rows: list[tuple[int, list[str]]] = field(default_factory=list)


# English: translate it where it is shown (`TeamReport.between_note`).
BETWEEN_NOTE = gettext_noop(
    "The published r = .38 mostly reflects between-person associations (clients with better "
    "relationships did better), which this section estimates, rather than session-to-session "
    "co-variation within a dyad."
)


def between_section(
    pair: pd.DataFrame, dyads: pd.DataFrame, rr: Measure, outcome: Measure | None
) -> BetweenSection:
    section = BetweenSection(rr, outcome, None)
    if outcome is None:
        section.empty = _("No session outcome or symptom scores in this selection yet.")
        return section
    section.direction = direction_sentence(outcome, change=True)
    if pair.empty:
        section.empty = _("No %(rr)s or %(outcome)s scores in this selection yet.") % {
            "rr": rr.label,
            "outcome": outcome.label,
        }
        return section
    result = between_dyad_association(pair, "x", "y")
    section.correlation = result.correlation
    table = result.table
    both = table.dropna(subset=["relationship_mean", "outcome_change"])
    labels = unique_labels(list(table.index), dyads)
    if not result.correlation.ok:
        missing_change = int(
            (table["relationship_mean"].notna() & table["outcome_change"].isna()).sum()
        )
        section.empty = _("%(reason)s.") % {"reason": result.correlation.reason}
        if missing_change:
            section.empty += " " + ngettext(
                "%(n)s more dyad has a relationship mean but fewer than two %(outcome)s scores, "
                "so no change yet.",
                "%(n)s more dyads have a relationship mean but fewer than two %(outcome)s scores, "
                "so no change yet.",
                missing_change,
            ) % {"n": fmt_int(missing_change), "outcome": outcome.label}
        return section
    section.figure = dyad_scatter_chart(
        both["relationship_mean"],
        both["outcome_change"],
        [labels[d] for d in both.index],
        title=_("Mean %(rr)s vs %(outcome)s change, one point per dyad")
        % {"rr": rr.label, "outcome": outcome.label},
        x_title=_("Dyad's mean %(rr)s total") % {"rr": rr.label},
        y_title=_("%(outcome)s: last minus first session") % {"outcome": outcome.label},
    )
    section.summary = _summary(result.correlation, rr, outcome)
    _dyad_table(section, table, labels, therapist_names(dyads), rr, outcome)
    return section


def _summary(c: Correlation, rr: Measure, outcome: Measure) -> str:
    return ngettext(
        "Across %(n)s dyad with a relationship mean and an outcome change, dyads with a higher "
        "average %(rr)s total changed on %(outcome)s (last minus first rated session) at "
        "r = %(r)s, 95%% CI [%(low)s, %(high)s], p %(p)s. Dyad means from few sessions are "
        "noisy, which pulls this r towards zero.",
        "Across %(n)s dyads with a relationship mean and an outcome change, dyads with a higher "
        "average %(rr)s total changed on %(outcome)s (last minus first rated session) at "
        "r = %(r)s, 95%% CI [%(low)s, %(high)s], p %(p)s. Dyad means from few sessions are "
        "noisy, which pulls this r towards zero.",
        c.n,
    ) % {
        "n": fmt_int(c.n),
        "rr": rr.label,
        "outcome": outcome.label,
        "r": fmt_r(c.r),
        "low": fmt_r(c.ci_low),
        "high": fmt_r(c.ci_high),
        "p": "< .001" if c.p is not None and c.p < 0.001 else "= " + fmt_p(c.p),
    }


def _dyad_table(
    section: BetweenSection,
    table: pd.DataFrame,
    labels: dict[int, str],
    therapist_of: dict[int, str],
    rr: Measure,
    outcome: Measure,
) -> None:
    """Every dyad in scope, highest relationship mean first."""
    section.table_columns = [
        _("Client"),
        _("Therapist"),
        _("Mean %(rr)s") % {"rr": rr.label},
        _("Sessions rated"),
        _("First %(outcome)s") % {"outcome": outcome.label},
        _("Last %(outcome)s") % {"outcome": outcome.label},
        _("Change"),
    ]
    ordered = table.sort_values("relationship_mean", ascending=False, na_position="last")
    section.table_rows = [
        (
            int(d),
            [
                labels[d],
                therapist_of.get(d, "—"),
                fmt(to_float_or_none(row.relationship_mean)),
                str(to_int(row.n_relationship)),
                fmt(to_float_or_none(row.outcome_first)),
                fmt(to_float_or_none(row.outcome_last)),
                fmt(to_float_or_none(row.outcome_change)),
            ],
        )
        for d, row in zip(ordered.index, ordered.itertuples(index=False), strict=True)
    ]
