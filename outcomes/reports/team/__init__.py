"""The team / clinic analytics page, computed from frames: one module per section of the page.

Pure like the rest of `outcomes/reports/`: pandas, `outcomes.analytics`, `outcomes.measures` and
instrument specs, no Django and no database (`outcomes.selectors.team` reads the frames).

1. `pooled`: within-dyad r per dyad, DerSimonian–Laird pooling, forest plot beside the
   published benchmark;
2. `between`: between-dyad association (dyad mean relationship vs outcome change);
3. `therapists` (therapist ICC with a caterpillar plot) and `model` (outcome on within- and
   between-dyad relationship);
4. `alpha`: item analysis (Cronbach's alpha per instrument and scale, on keyed values);

with `frames` (the input frames), `charts`, `text` (numbers and shared sentences), `pending`
(what stands in while a large part is computed in the background) and `report` (the page).

Input frames:

* `scores`: one row per stored **total** score: dyad_id, therapist_id, session_number,
  instrument, score.
* `dyads`: indexed by dyad_id: client_code, therapist_name.
* `answers`: one row per answer: administration, instrument, item, value.

Every text goes through `outcomes.analytics.i18n` (Django's gettext once the app is ready).
The results are cached per language (`team_selectors.cache_key`).
"""

from outcomes.analytics.numbers import fmt, fmt_int, fmt_p, fmt_r
from outcomes.reports.team.alpha import AlphaRow, AlphaSection, alpha_section
from outcomes.reports.team.between import BETWEEN_NOTE, BetweenSection, between_section
from outcomes.reports.team.charts import caterpillar_chart, dyad_scatter_chart
from outcomes.reports.team.frames import (
    ANSWER_FRAME_COLUMNS,
    SCORE_FRAME_COLUMNS,
    enough_for_model,
    pair_counts,
    pair_frame,
    single_frame,
    therapist_counts,
)
from outcomes.reports.team.model import ModelSection, model_section
from outcomes.reports.team.pending import (
    pending_alpha_section,
    pending_model_section,
    pending_therapist_section,
    stale_note,
)
from outcomes.reports.team.pooled import (
    FOREST_CAP,
    MIN_POOL_DYADS,
    PooledSection,
    benchmark_text,
    pooled_section,
)
from outcomes.reports.team.report import TeamReport
from outcomes.reports.team.text import direction_sentence
from outcomes.reports.team.therapists import (
    TherapistSection,
    icc_interval_text,
    icc_sentence,
    therapist_section,
)

__all__ = [
    "ANSWER_FRAME_COLUMNS",
    "BETWEEN_NOTE",
    "FOREST_CAP",
    "MIN_POOL_DYADS",
    "SCORE_FRAME_COLUMNS",
    "AlphaRow",
    "AlphaSection",
    "BetweenSection",
    "ModelSection",
    "PooledSection",
    "TeamReport",
    "TherapistSection",
    "alpha_section",
    "benchmark_text",
    "between_section",
    "caterpillar_chart",
    "direction_sentence",
    "dyad_scatter_chart",
    "enough_for_model",
    "fmt",
    "fmt_int",
    "fmt_p",
    "fmt_r",
    "icc_interval_text",
    "icc_sentence",
    "model_section",
    "pair_counts",
    "pair_frame",
    "pending_alpha_section",
    "pending_model_section",
    "pending_therapist_section",
    "pooled_section",
    "single_frame",
    "stale_note",
    "therapist_counts",
    "therapist_section",
]
