"""Append-only change history of completed forms and client links (django-pghistory).

Same set-up as clinic/history.py (inserts, updates and deletes, context in the row,
UPDATE/DELETE on the event tables refused by a trigger). ClientLink's token hash is not
copied: the history needs no secret, even a hashed one.

Imported at the end of rri_forms/models/__init__.py: event models must exist when the
app's models load.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from clinic.history import (
    TherapySessionEvent,
    live_or_recorded,
    register_history_source,
    track,
)
from clinic.models import TherapySession
from rri_forms.models.administrations import (
    Administration,
    AdministrationCorrection,
    Answer,
    Score,
)
from rri_forms.models.links import ClientLink

AdministrationEvent = track(Administration)
AnswerEvent = track(Answer)
ScoreEvent = track(Score)
AdministrationCorrectionEvent = track(AdministrationCorrection)
ClientLinkEvent = track(ClientLink, exclude=["token_hash"])

_administration_dyad = live_or_recorded(
    Administration, AdministrationEvent, "dyad_id", 'e."administration_id"'
)
register_history_source(AdministrationEvent, _("form"), dyad_sql='e."dyad_id"')
register_history_source(AnswerEvent, _("answer"), dyad_sql=_administration_dyad)
register_history_source(ScoreEvent, _("score"), dyad_sql=_administration_dyad)
register_history_source(
    AdministrationCorrectionEvent, _("correction"), dyad_sql=_administration_dyad
)
register_history_source(
    ClientLinkEvent,
    _("client link"),
    dyad_sql=live_or_recorded(TherapySession, TherapySessionEvent, "dyad_id", 'e."session_id"'),
)
