"""Pure analytics on pandas frames: no Django imports anywhere in this package.

See docs/analytics.md for every statistic, its formula and its minimum n, and `series` for the
long scores-frame convention the functions take.
"""

from __future__ import annotations

from .alerts import (
    Alert,
    ScaleReference,
    missed_form_alerts,
    outcome_alerts,
    reference_from_clinic,
    reference_from_instrument,
    relationship_alerts,
    risk_alerts,
    sort_alerts,
)
from .between import BetweenDyad, between_dyad_association
from .correlation import (
    MIN_SESSIONS,
    Correlation,
    fisher_ci,
    grouped_correlations,
    lagged_correlation,
    lagged_pairs,
    pearson_with_ci,
)
from .meta import (
    BENCHMARK,
    BENCHMARK_NOTE,
    PooledCorrelation,
    PublishedBenchmark,
    d_to_r,
    pool_correlations,
    r_to_d,
)
from .multilevel import (
    Coefficient,
    Insufficient,
    OutcomeModel,
    TherapistEffects,
    outcome_on_relationship,
    therapist_icc,
)
from .reliable_change import (
    cronbach_alpha,
    rci_threshold,
    reliable_change_index,
    standard_error_of_difference,
)
from .series import (
    SCORE_COLUMNS,
    Trend,
    column_key,
    discrepancy,
    discrepancy_trend,
    dyad_series,
    person_mean_centre,
    wide_by_session,
)

__all__ = [
    "BENCHMARK",
    "BENCHMARK_NOTE",
    "MIN_SESSIONS",
    "SCORE_COLUMNS",
    "Alert",
    "BetweenDyad",
    "Coefficient",
    "Correlation",
    "Insufficient",
    "OutcomeModel",
    "PooledCorrelation",
    "PublishedBenchmark",
    "ScaleReference",
    "TherapistEffects",
    "Trend",
    "between_dyad_association",
    "column_key",
    "cronbach_alpha",
    "d_to_r",
    "discrepancy",
    "discrepancy_trend",
    "dyad_series",
    "fisher_ci",
    "grouped_correlations",
    "lagged_correlation",
    "lagged_pairs",
    "missed_form_alerts",
    "outcome_alerts",
    "outcome_on_relationship",
    "pearson_with_ci",
    "person_mean_centre",
    "pool_correlations",
    "r_to_d",
    "rci_threshold",
    "reference_from_clinic",
    "reference_from_instrument",
    "relationship_alerts",
    "reliable_change_index",
    "risk_alerts",
    "sort_alerts",
    "standard_error_of_difference",
    "therapist_icc",
    "wide_by_session",
]
