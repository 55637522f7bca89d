"""The whole team page: its sections and counts."""

from __future__ import annotations

from dataclasses import dataclass

from outcomes.analytics.i18n import _
from outcomes.measures import Measure
from outcomes.reports.team.alpha import AlphaSection
from outcomes.reports.team.between import BETWEEN_NOTE, BetweenSection
from outcomes.reports.team.model import ModelSection
from outcomes.reports.team.pooled import PooledSection
from outcomes.reports.team.therapists import TherapistSection


@dataclass
class TeamReport:
    rr: Measure
    outcome: Measure | None
    pooled: PooledSection
    between: BetweenSection
    therapists: TherapistSection
    model: ModelSection
    alpha: AlphaSection
    n_dyads: int
    n_sessions: int
    between_note: str = ""  # BETWEEN_NOTE, translated; set by `__post_init__`

    def __post_init__(self) -> None:
        if not self.between_note:
            self.between_note = _(BETWEEN_NOTE)

    @property
    def has_charts(self) -> bool:
        return any(s.figure is not None for s in (self.pooled, self.between, self.therapists))
