"""Append-only change history of the clinic's clinical rows (django-pghistory).

PostgreSQL triggers copy every inserted, updated and deleted row of Client, Dyad and
TherapySession into an event table (ClientEvent, DyadEvent, TherapySessionEvent), so bulk
operations and raw SQL are recorded too. The event tables carry a second trigger that
refuses UPDATE and DELETE: history cannot be rewritten through the application's
database role (only a DBA who drops the trigger can; see docs/security.md).

Each event row carries its context as JSON, copied into the row itself (so it is
append-only too): the signed-in user and staff member and the request path
(HistoryMiddleware below), or the client link for a client's own submit
(rri_forms/views/client.py). Rows written outside a request (migrations, management
commands) have no context.

This module is imported at the end of clinic/models/__init__.py: event models must exist
when the app's models load. rri_forms/history.py tracks that app's models the same way
and registers how its events map to a dyad (for the audit page); clinic imports nothing
from rri_forms.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass

import pghistory
import pghistory.middleware
import pgtrigger
import psycopg
from django.db import connection, models
from django.utils.translation import gettext_lazy as _
from pghistory import config as pghistory_config
from pghistory import runtime as pghistory_runtime

from clinic.models.care import Client, Dyad, TherapySession
from clinic.models.tenancy import Clinic, StaffMember, Supervision


def track(
    model: type[models.Model],
    *,
    exclude: list[str] | None = None,
    record_excluded_changes: bool = False,
    insert: pghistory.InsertEvent | None = None,
) -> type[models.Model]:
    """Create `<Model>Event` in the model's app: inserts, updates and deletes, append-only.

    Columns in `exclude` are not copied. With `record_excluded_changes`, a change of one of
    them alone still leaves an "update" event (who changed the row and when, not to what).
    `insert` replaces the per-row insert event (rri_forms records its bulk inserts per
    statement)."""
    update = pghistory.UpdateEvent()
    if exclude and record_excluded_changes:
        every_column = [field.name for field in model._meta.concrete_fields]
        update = pghistory.UpdateEvent(condition=pgtrigger.AnyChange(*every_column))
    return pghistory.create_event_model(
        model,
        insert or pghistory.InsertEvent(),
        update,
        pghistory.DeleteEvent(),
        exclude=exclude,
        model_name=f"{model.__name__}Event",
        # Denormalised context: the actor is stored in the event row, under its protection.
        context_field=pghistory.ContextJSONField(),
        append_only=True,
        abstract=False,
        meta={"ordering": ["-pgh_created_at", "-pgh_id"]},
    )


# The client's first name and email stay out of the history: it cannot be rewritten, so an
# erasure or pseudonymisation could never remove them from it. The code (pseudonymous by
# rule) and the rest are kept.
ClientEvent = track(Client, exclude=["display_name", "email"], record_excluded_changes=True)
DyadEvent = track(Dyad)
TherapySessionEvent = track(TherapySession)
# Who may see what is decided by these rows: their changes are kept like clinical ones.
StaffMemberEvent = track(StaffMember)
SupervisionEvent = track(Supervision)
ClinicEvent = track(Clinic)


# --- How each event table maps to a client, for the audit page -------------------------


@dataclass(frozen=True)
class HistorySource:
    """One event table and how its rows map to a client, as SQL over the event row `e`:
    either `client_sql` and `clinic_sql` directly, or `dyad_sql` giving the row's dyad.
    These expressions hold table and column names only, never request input."""

    event_model: type[models.Model]
    label: object  # shown on the audit page (lazily translated)
    dyad_sql: str | None = None
    client_sql: str | None = None
    clinic_sql: str | None = None


HISTORY_SOURCES: list[HistorySource] = []


def register_history_source(
    event_model: type[models.Model],
    label: object,
    *,
    dyad_sql: str | None = None,
    client_sql: str | None = None,
    clinic_sql: str | None = None,
) -> None:
    if dyad_sql is None and (client_sql is None or clinic_sql is None):
        raise ValueError("Give dyad_sql, or client_sql and clinic_sql")
    HISTORY_SOURCES.append(HistorySource(event_model, label, dyad_sql, client_sql, clinic_sql))


def live_or_recorded(
    model: type[models.Model], event_model: type[models.Model], column: str, key_sql: str
) -> str:
    """SQL: `column` of the row `key_sql` of `model`, from the live table or, once the row
    has been deleted (an erased client), from the row's recorded history."""
    table = model._meta.db_table
    events = event_model._meta.db_table
    # Only table and column names from models and constants: no request input reaches this.
    live = f'SELECT "{column}" FROM "{table}" WHERE "id" = {key_sql}'  # noqa: S608
    recorded = f'SELECT "{column}" FROM "{events}" WHERE "pgh_obj_id" = {key_sql}'  # noqa: S608
    return f"({live} UNION ALL {recorded} LIMIT 1)"


register_history_source(
    ClientEvent, _("client"), client_sql='e."pgh_obj_id"', clinic_sql='e."clinic_id"'
)
register_history_source(
    DyadEvent, _("dyad"), client_sql='e."client_id"', clinic_sql='e."clinic_id"'
)
register_history_source(TherapySessionEvent, _("session"), dyad_sql='e."dyad_id"')


# --- Request context -------------------------------------------------------------------


class _ContextOncePerTransaction:
    """An execute wrapper that sets the request's history context (pghistory's two
    transaction-local settings) once per transaction instead of before every statement.

    pghistory's own wrapper prefixes every writing statement with
    `SELECT set_config(…), set_config(…);` — four times in a client's submit, each a
    JSON dump and a second statement for PostgreSQL to run. The settings are local to the
    transaction, so here they are sent with the first writing statement of a transaction
    (or of every statement in autocommit), again when the context's metadata changed, and
    again after a ROLLBACK TO SAVEPOINT (which undoes settings made after the savepoint).
    The same statements pghistory skips (SELECTs and the like) are skipped here.
    """

    def __init__(self) -> None:
        self.sent: str | None = None  # metadata set in the open transaction

    def __call__(self, execute, sql, params, many, context):  # type: ignore[no-untyped-def]
        cursor = context["cursor"]
        text = sql.decode() if isinstance(sql, bytes) else sql
        head = text.lstrip()[:20].lower()
        if head.startswith("rollback"):
            self.sent = None
            return execute(sql, params, many, context)
        if head.startswith(("savepoint", "release")) or not pghistory_runtime._can_inject_variable(
            cursor, text
        ):
            return execute(sql, params, many, context)
        tracked = pghistory_runtime._tracker.value
        metadata = json.dumps(tracked.metadata, cls=pghistory_config.json_encoder())
        idle = cursor.connection.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
        if not idle and metadata == self.sent:
            return execute(sql, params, many, context)
        self.sent = metadata
        prefix = (
            "SELECT set_config('pghistory.context_id', %s, true), "
            "set_config('pghistory.context_metadata', %s, true); "
        )
        if isinstance(params, dict):
            prefix = prefix.replace("%s", "%(pghistory__context_id)s", 1).replace(
                "%s", "%(pghistory__context_metadata)s", 1
            )
            params = {
                **params,
                "pghistory__context_id": str(tracked.id),
                "pghistory__context_metadata": metadata,
            }
        else:
            params = (str(tracked.id), metadata, *(params or ()))
        result = execute(prefix + text, params, many, context)
        while result is not None and result.nextset():  # on to the caller's statement
            pass
        return result


class HistoryMiddleware(pghistory.middleware.HistoryMiddleware):
    """pghistory's middleware (user id and path) plus the acting staff member's id, with
    the context set once per transaction (_ContextOncePerTransaction) rather than before
    every writing statement. Nested `pghistory.context(…)` calls (the client's submit adds
    its link) add to this context as with pghistory's own middleware."""

    def get_context(self, request):  # type: ignore[no-untyped-def]
        from clinic.access import staff_for  # models are loading when this module is

        context = super().get_context(request)
        member = staff_for(request.user) if hasattr(request, "user") else None
        context["staff"] = member.pk if member is not None else None
        return context

    def __call__(self, request):  # type: ignore[no-untyped-def]
        tracker = pghistory_runtime._tracker
        if request.method not in pghistory_config.middleware_methods() or hasattr(tracker, "value"):
            return super().__call__(request)
        tracker.value = pghistory_runtime.Context(id=uuid.uuid4(), metadata={})
        try:
            with connection.execute_wrapper(_ContextOncePerTransaction()):
                tracker.value.metadata.update(self.get_context(request))
                # As pghistory's middleware: a user set later (request.user =) joins it.
                request.__class__ = pghistory.middleware.WSGIRequest
                return self.get_response(request)
        finally:
            del tracker.value
