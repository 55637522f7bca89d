"""Between-dyad association: a dyad's average relationship against its change in outcome.

Per dyad i:
    relationship_mean_i = mean of the relationship score over its rated sessions
    outcome_change_i    = outcome at the last rated session − outcome at the first rated session
and then r = Pearson(relationship_mean, outcome_change) across dyads with a Fisher-z CI
(`pearson_with_ci`, at least 4 dyads). For a symptom measure where lower is better (PHQ-9) a
helpful relationship shows up as a negative r.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from .correlation import Correlation, pearson_with_ci
from .i18n import _, ngettext

MIN_DYADS = 4


def _too_few_dyads(n: int, min_n: int) -> str:
    return ngettext(
        "%(n)d dyad with both a relationship mean and an outcome change; at least %(min)d are "
        "needed",
        "%(n)d dyads with both a relationship mean and an outcome change; at least %(min)d are "
        "needed",
        n,
    ) % {"n": n, "min": min_n}


@dataclass(frozen=True)
class BetweenDyad:
    correlation: Correlation
    # Indexed by dyad: relationship_mean, n_relationship, first_session, last_session,
    # outcome_first, outcome_last, outcome_change.
    table: pd.DataFrame = field(compare=False, repr=False)


def between_dyad_association(
    frame: pd.DataFrame,
    relationship: str,
    outcome: str,
    *,
    dyad: str = "dyad_id",
    session_col: str = "session_number",
    min_dyads: int = MIN_DYADS,
    confidence: float = 0.95,
) -> BetweenDyad:
    """Correlate each dyad's mean relationship score with its outcome change (module docstring).

    `frame` has one row per session with columns `dyad`, `session_col`, `relationship` and
    `outcome` (e.g. `wide_by_session(...).reset_index()`). A dyad with fewer than two rated
    outcome sessions has no change (NaN) and is left out of r but kept in the table.
    """
    data = frame[[dyad, session_col, relationship, outcome]].sort_values([dyad, session_col])
    rel = data.dropna(subset=[relationship]).groupby(dyad)[relationship].agg(["mean", "size"])
    out = (
        data.dropna(subset=[outcome])
        .groupby(dyad)
        .agg(
            first_session=(session_col, "first"),
            last_session=(session_col, "last"),
            outcome_first=(outcome, "first"),
            outcome_last=(outcome, "last"),
            n_outcome=(outcome, "size"),
        )
    )
    table = pd.DataFrame(index=pd.Index(data[dyad].dropna().unique(), name=dyad)).sort_index()
    table["relationship_mean"] = rel["mean"]
    table["n_relationship"] = rel["size"].reindex(table.index).fillna(0).astype(int)
    table = table.join(out)
    table["n_outcome"] = table["n_outcome"].fillna(0).astype(int)
    # One outcome score gives first == last, which is no change measured, not a change of 0.
    change = table["outcome_last"] - table["outcome_first"]
    table["outcome_change"] = change.where(table["n_outcome"] >= 2)
    correlation = pearson_with_ci(
        table["relationship_mean"],
        table["outcome_change"],
        min_n=min_dyads,
        confidence=confidence,
        too_few=_too_few_dyads,
        names=(_("dyads' mean relationship scores"), _("outcome changes")),
    )
    return BetweenDyad(correlation=correlation, table=table)
