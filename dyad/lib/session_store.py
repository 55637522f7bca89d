"""Django's database session engine, with the session read and re-saved as one plain
SQL statement each.

SESSION_ENGINE points here. Every request that carries a session cookie loads its session;
through the ORM that read cost ~0.35 ms of CPU (query building and a model instance),
against ~0.05 ms for the same SELECT sent directly: a tenth of the client form page's
whole budget. Same rule as Django's: only an unexpired row counts; otherwise the session
starts empty under a new key. Re-saving an existing session (the client's submit, the
idle refresh) is one UPDATE in autocommit instead of BEGIN, an ORM UPDATE and COMMIT; as
in Django, a row that is gone (signed out elsewhere, deactivated) raises UpdateError.
Creating, deleting and clearsessions are Django's.

A view may save the session itself inside its transaction, or send `update_statement()`
as part of a statement of its own and call `written()` (the client's submit does, so its
"saved" mark commits with the forms, in their statement): SessionMiddleware's save at the
end of that request then finds the same data already committed and sends nothing.
"""

from __future__ import annotations

from typing import Any

from django.contrib.sessions.backends import db
from django.contrib.sessions.backends.base import UpdateError
from django.db import DatabaseError, connections, router
from django.utils import timezone


class SessionStore(db.SessionStore):
    _committed: str | None = None  # session_data this request's UPDATE committed
    _sent: str | None = None  # session_data of the last update_statement

    def load(self) -> dict[str, Any]:
        model = self.model
        table = model._meta.db_table
        with connections[router.db_for_read(model)].cursor() as cursor:
            cursor.execute(
                f'SELECT "session_data" FROM "{table}" '  # noqa: S608 - the model's table
                'WHERE "session_key" = %s AND "expire_date" > %s',
                [self.session_key, timezone.now()],
            )
            row = cursor.fetchone()
        if row is None:
            self._session_key = None  # as Django does: a fresh key is made when saved
            return {}
        return self.decode(row[0])

    def save(self, must_create: bool = False) -> None:
        if must_create or self.session_key is None:
            super().save(must_create=must_create)  # a new row: Django's create path
            return
        sql, params, encoded = self.update_statement()
        if encoded == self._committed:
            return  # saved earlier in this request, expiry pushed then: nothing new
        connection = connections[router.db_for_write(self.model)]
        try:
            with connection.cursor() as cursor:
                cursor.execute(sql, params)
                updated = cursor.rowcount
        except DatabaseError as error:
            raise UpdateError from error  # as Django's save()
        if updated != 1:
            raise UpdateError
        self.written()

    def update_statement(self) -> tuple[str, list[Any], str]:
        """The UPDATE that re-saves this existing session, its parameters and the data it
        writes. A caller may send it within a statement of its own (the client's submit
        writes it with the forms) and then call `written` if it updated the row."""
        # SessionBase._get_session is Django's (save() calls it); django-stubs leave it out.
        encoded = self._sent = self.encode(self._get_session(no_load=False))  # type: ignore[attr-defined]
        sql = (
            f'UPDATE "{self.model._meta.db_table}" '  # noqa: S608 - the model's table
            'SET "session_data" = %s, "expire_date" = %s WHERE "session_key" = %s'
        )
        return sql, [encoded, self.get_expiry_date(), self.session_key], encoded

    def written(self) -> None:
        """The last update_statement updated the row: SessionMiddleware's save need not
        send the same data again."""
        encoded = self._sent
        # Only once committed (at once in autocommit): a rolled-back save is no save.
        connection = connections[router.db_for_write(self.model)]
        connection.on_commit(lambda: setattr(self, "_committed", encoded))
