"""Append-only change history of completed forms and client links (django-pghistory).

Same set-up as clinic/history.py (inserts, updates and deletes, context in the row,
UPDATE/DELETE on the event tables refused by a trigger). ClientLink's token hash and seed are
not copied: the history needs no secret, even a hashed one.

Inserts of Administration, Answer and Score are recorded by one statement-level trigger
per INSERT statement (a transition table copied into the event table in one INSERT …
SELECT) instead of a PL/pgSQL call per row: a client's submit writes ~37 such rows in one
statement, and the per-row calls were the largest part of its PostgreSQL time. The event
rows are the same, context included (docs/benchmarks.md). Their updates and deletes are
rare and stay per row.

Imported at the end of rri_forms/models/__init__.py: event models must exist when the
app's models load.
"""

from __future__ import annotations

import pghistory
import pghistory.trigger
import pgtrigger
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


class _StatementInsertTrigger(pghistory.trigger.Event):
    """pghistory's statement-level event trigger without its context CTE.

    pghistory's statement variant calls `_pgh_attach_context()` for every statement, which
    upserts a row into pghistory_context: that table is for foreign-key contexts, unused
    here (the context is copied into each event row as JSON, as the per-row triggers do).
    """

    _CONTEXT_CTE = "WITH _pgh_attached_context AS ( SELECT _pgh_attach_context() AS value ) "
    _CONTEXT_JOIN = ", _pgh_attached_context;"

    def get_func(self, model):  # type: ignore[no-untyped-def]
        sql = super().get_func(model).func
        if self._CONTEXT_CTE not in sql or self._CONTEXT_JOIN not in sql:
            raise AssertionError("pghistory's statement trigger changed: check this class")
        sql = sql.replace(self._CONTEXT_CTE, "").replace(self._CONTEXT_JOIN, ";")
        return pgtrigger.Func(sql)


class _StatementInsertEvent(pghistory.InsertEvent):
    def add_event_trigger(self, event_model):  # type: ignore[no-untyped-def]
        pgtrigger.register(
            _StatementInsertTrigger(
                event_model=event_model,
                label=self.label,
                name=self.trigger_name,
                row=self.row,
                operation=self.operation,
                condition=self.condition,
                level=pgtrigger.Statement,
            )
        )(event_model.pgh_tracked_model)


AdministrationEvent = track(Administration, insert=_StatementInsertEvent())
AnswerEvent = track(Answer, insert=_StatementInsertEvent())
ScoreEvent = track(Score, insert=_StatementInsertEvent())
AdministrationCorrectionEvent = track(AdministrationCorrection)
ClientLinkEvent = track(ClientLink, exclude=["token_hash", "token_seed"])

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
