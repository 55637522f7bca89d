"""The questionnaire engine's data: instruments, completed forms, client links."""

from rri_forms.models.administrations import (
    Administration,
    AdministrationCorrection,
    Answer,
    Score,
)
from rri_forms.models.instruments import ClinicFormSettings, Instrument
from rri_forms.models.links import ClientLink
from rri_forms.models.outbox import LinkEmail

__all__ = [
    "Administration",
    "AdministrationCorrection",
    "Answer",
    "ClientLink",
    "ClinicFormSettings",
    "Instrument",
    "LinkEmail",
    "Score",
]

# Event models of the append-only history: they must be defined while models load.
from rri_forms import history as _history  # noqa: E402, F401
