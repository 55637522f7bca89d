"""The audit trail's reads: one timeline over the access log, every registered history table
and the staff security events, scoped to one clinic through each event's dyad or client.

A row whose client was erased is still found through the history of its dyad, session or
form (clinic/history.py `live_or_recorded`), and is shown as "erased #id".
"""

from __future__ import annotations

import datetime
import zoneinfo
from collections.abc import Mapping
from typing import TYPE_CHECKING, TypedDict, TypeVar, cast

from django.db import connection
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from clinic.history import HISTORY_SOURCES, DyadEvent
from clinic.models import AccessLog, Client, Clinic, Dyad, StaffMember, StaffSecurityEvent

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

PAGE_SIZE = 50
T = TypeVar("T")
# What the timeline query binds: clinic and object ids, a staff id as text, dates, a kind.
Param = int | str | datetime.datetime


class _TimelineColumns(TypedDict):
    kind: str  # "read", "write" or "security"
    source: int  # the index in HISTORY_SOURCES of a write; -1 a read, -2 a security event
    at: datetime.datetime
    action: str
    object_type: str
    object_id: int | None
    staff_ref: str | None
    link_ref: str | None
    path: str | None
    client_id: int | None
    client_ids: list[int] | None
    seq: int


class TimelineRow(_TimelineColumns, total=False):
    """A timeline query row; `describe` adds the keys below."""

    what: StrOrPromise
    object: str
    actor: StrOrPromise
    client_code: str
    client_erased: bool


def day_bounds(
    clinic: Clinic, start: datetime.date | None, end: datetime.date | None
) -> tuple[datetime.datetime | None, datetime.datetime | None]:
    """The clinic's local days [start, end] as aware datetimes (None: open)."""
    zone = zoneinfo.ZoneInfo(clinic.time_zone)
    low = datetime.datetime.combine(start, datetime.time.min, tzinfo=zone) if start else None
    high = None
    if end and end < datetime.date.max:
        next_day = end + datetime.timedelta(days=1)
        high = datetime.datetime.combine(next_day, datetime.time.min, tzinfo=zone)
    return low, high


def _timeline_sql(clinic_id: int) -> tuple[str, list[Param]]:
    """One UNION ALL over the access log, every registered history table and the staff
    security events, with the columns: kind, source, at, action, object_type, object_id,
    staff_ref, link_ref, path, client_id, client_ids, seq (a security event puts its detail in
    object_type and the colleague acted on in object_id). Only names from models and
    constants are interpolated."""
    dyad_table = Dyad._meta.db_table
    dyad_events = DyadEvent._meta.db_table
    sql_parts = [
        # The clinic's dyads, live or (once erased) as last recorded.
        f"""WITH dyads AS (
            SELECT DISTINCT ON ("id") "id", "client_id" FROM (
                SELECT "id", "client_id", "clinic_id", 0 AS pref FROM "{dyad_table}"
                UNION ALL
                SELECT "pgh_obj_id", "client_id", "clinic_id", 1 FROM "{dyad_events}"
            ) AS known WHERE "clinic_id" = %s ORDER BY "id", pref
        ), timeline AS ("""  # noqa: S608
    ]
    params: list[Param] = [clinic_id]
    selects = []
    for index, source in enumerate(HISTORY_SOURCES):
        table = source.event_model._meta.db_table
        columns = f"""'write' AS kind, {index} AS source, e."pgh_created_at" AS at,
            e."pgh_label" AS action, '' AS object_type, e."pgh_obj_id" AS object_id,
            e."pgh_context" ->> 'staff' AS staff_ref,
            e."pgh_context" ->> 'client_link' AS link_ref,
            e."pgh_context" ->> 'url' AS path"""
        if source.dyad_sql is not None:
            selects.append(
                f"""SELECT {columns}, d."client_id" AS client_id,
                NULL::bigint[] AS client_ids, e."pgh_id" AS seq
                FROM "{table}" e JOIN dyads d ON d."id" = {source.dyad_sql}"""  # noqa: S608
            )
        else:
            selects.append(
                f"""SELECT {columns}, {source.client_sql} AS client_id,
                NULL::bigint[] AS client_ids, e."pgh_id" AS seq
                FROM "{table}" e WHERE {source.clinic_sql} = %s"""  # noqa: S608
            )
            params.append(clinic_id)
    log_table = AccessLog._meta.db_table
    selects.append(
        f"""SELECT 'read' AS kind, -1 AS source, a."at", a."action", a."object_type",
            a."object_id", a."staff_id"::text, NULL, a."path", a."client_id", a."client_ids",
            a."id"
        FROM "{log_table}" a WHERE a."clinic_id" = %s"""  # noqa: S608
    )
    params.append(clinic_id)
    security_table = StaffSecurityEvent._meta.db_table
    selects.append(
        f"""SELECT 'security' AS kind, -2 AS source, s."at", s."action", s."detail",
            s."target_id", s."actor_id"::text, NULL, '', NULL::bigint, NULL::bigint[], s."id"
        FROM "{security_table}" s WHERE s."clinic_id" = %s"""  # noqa: S608
    )
    params.append(clinic_id)
    sql_parts.append("\nUNION ALL\n".join(selects))
    sql_parts.append(") SELECT * FROM timeline")
    return "\n".join(sql_parts), params


def _filter(filters: Mapping[str, object], name: str, kind: type[T]) -> T | None:
    """`filters[name]` if set, which must be a `kind` (the filter form cleans it to one)."""
    value = filters.get(name)
    if value is None or isinstance(value, kind):
        return value
    raise TypeError(f"audit filter {name!r} is a {type(value).__name__}, not a {kind.__name__}")


class Timeline:
    """A lazily counted and sliced query, for Django's Paginator."""

    def __init__(self, clinic_id: int, filters: Mapping[str, object]):
        base, self.params = _timeline_sql(clinic_id)
        conditions = []
        client = _filter(filters, "client", Client)
        if client is not None:
            # A list page that showed the client counts as a read of them too.
            conditions.append("(client_id = %s OR client_ids @> ARRAY[%s]::bigint[])")
            self.params.extend([client.pk, client.pk])
        staff = _filter(filters, "staff", StaffMember)
        if staff is not None:
            # What they did, and what was done to their sign-in.
            conditions.append("(staff_ref = %s OR (kind = 'security' AND object_id = %s))")
            self.params.extend([str(staff.pk), staff.pk])
        low = _filter(filters, "low", datetime.datetime)
        high = _filter(filters, "high", datetime.datetime)
        if low is not None:
            conditions.append("at >= %s")
            self.params.append(low)
        if high is not None:
            conditions.append("at < %s")
            self.params.append(high)
        kind = _filter(filters, "kind", str)
        if kind:
            conditions.append("kind = %s")
            self.params.append(kind)
        self.sql = base + (" WHERE " + " AND ".join(conditions) if conditions else "")

    def count(self) -> int:
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT COUNT(*) FROM ({self.sql}) AS counted", self.params)  # noqa: S608
            return cursor.fetchone()[0]

    def __len__(self) -> int:
        return self.count()

    def __getitem__(self, window: slice) -> list[TimelineRow]:
        offset = window.start or 0
        limit = (window.stop or offset + PAGE_SIZE) - offset
        with connection.cursor() as cursor:
            cursor.execute(
                f"{self.sql} ORDER BY at DESC, kind, seq DESC LIMIT %s OFFSET %s",
                [*self.params, limit, offset],
            )
            names = [column.name for column in cursor.description]
            # The columns are _TimelineColumns's, as _timeline_sql selects them.
            return [
                cast(TimelineRow, dict(zip(names, row, strict=True))) for row in cursor.fetchall()
            ]


_WRITE_ACTIONS = {
    "insert": gettext_lazy("created"),
    "update": gettext_lazy("changed"),
    "delete": gettext_lazy("deleted"),
}


def describe(rows: list[TimelineRow], clinic: Clinic) -> list[TimelineRow]:
    """Add what a reader needs: actor, object and client, with no clinical content."""
    staff = {
        str(pk): name
        for pk, name in StaffMember.objects.filter(clinic=clinic).values_list("pk", "display_name")
    }
    client_ids = {row["client_id"] for row in rows if row["client_id"] is not None}
    codes = dict(Client.objects.filter(clinic=clinic, pk__in=client_ids).values_list("pk", "code"))
    read_actions = dict(AccessLog.Action.choices)
    security_actions = dict(StaffSecurityEvent.Action.choices)
    for row in rows:
        if row["kind"] == "security":
            detail = row["object_type"]
            row["what"] = security_actions.get(row["action"], row["action"])
            if detail:
                row["what"] = f"{row['what']} ({detail})"
            row["object"] = _("staff member %(name)s") % {
                "name": staff.get(str(row["object_id"]), f"#{row['object_id']}")
            }
        elif row["kind"] == "read":
            row["what"] = read_actions.get(row["action"], row["action"])
            row["object"] = f"{row['object_type']} #{row['object_id']}" if row["object_id"] else ""
            shown = len(row["client_ids"] or ())
            if row["client_id"] is None and shown:
                row["object"] = ngettext("%(n)s client", "%(n)s clients", shown) % {"n": shown}
        else:
            source = HISTORY_SOURCES[row["source"]]
            row["what"] = f"{str(source.label).capitalize()} {_WRITE_ACTIONS[row['action']]}"
            row["object"] = f"{source.label} #{row['object_id']}"
        if row["staff_ref"]:
            row["actor"] = staff.get(
                row["staff_ref"], _("staff #%(id)s") % {"id": row["staff_ref"]}
            )
        elif row["link_ref"]:
            row["actor"] = _("Client (link #%(id)s)") % {"id": row["link_ref"]}
        else:
            row["actor"] = _("System")
        client_id = row["client_id"]
        row["client_code"] = codes.get(client_id, "") if client_id is not None else ""
        row["client_erased"] = client_id is not None and client_id not in codes
    return rows
