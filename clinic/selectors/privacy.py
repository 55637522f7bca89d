"""Everything held on one client: which rows are theirs, and the export of them all.

What "everything held on a client" means is worked out from the models, not listed by
hand: every row reachable from the Client through foreign keys pointing at it (dyads →
sessions → forms → answers, scores, corrections; sessions → client links; and whatever a
later app adds), so a new table of client data is covered without anyone remembering to
register it, and clinic needs no import of the apps that depend on it. Left out of that
walk: the access log (exported separately; kept on erasure: it is the record of who read
what) and the append-only history tables (kept; see docs/security.md "Privacy requests").
Columns ending in `_hash`, `_digest` or `_seed` (link token hashes and seeds, answer
digests) are never exported.
"""

from __future__ import annotations

import csv
import functools
import io
import json
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models import Q
from django.utils import timezone
from pghistory.models import Event

from clinic.models import AccessLog, Client, StaffMember
from dyad.lib.spreadsheet import spreadsheet_safe

EXCLUDED_SUFFIXES = ("_hash", "_digest", "_seed")


# --- Which rows belong to a client ----------------------------------------------------


def _skipped(model: type[models.Model]) -> bool:
    return issubclass(model, Event | AccessLog) or model._meta.proxy


@functools.cache
def client_models() -> tuple[tuple[type[models.Model], tuple[tuple[type, str], ...]], ...]:
    """Every model holding client data, parents before children, each with the foreign
    keys `(parent model, field name)` that tie its rows to the client."""
    parents: dict[type[models.Model], list[tuple[type, str]]] = {Client: []}
    queue: list[type[models.Model]] = [Client]
    while queue:
        parent = queue.pop(0)
        for relation in parent._meta.related_objects:
            child = relation.related_model
            if relation.many_to_many or _skipped(child):
                continue
            if child not in parents:
                parents[child] = []
                queue.append(child)
            parents[child].append((parent, relation.field.name))
    ordered: list[type[models.Model]] = []
    waiting = dict(parents)
    while waiting:
        ready = [m for m, ps in waiting.items() if all(p in ordered for p, _f in ps)]
        if not ready:  # pragma: no cover - a foreign-key cycle among client tables
            raise RuntimeError(f"Cannot order client tables: {sorted(map(str, waiting))}")
        for model in sorted(ready, key=lambda m: m._meta.label):
            ordered.append(model)
            del waiting[model]
    return tuple((model, tuple(parents[model])) for model in ordered)


@dataclass
class ClientRows:
    """The primary keys of a client's rows, per model, parents first."""

    pks: dict[type[models.Model], list[int]]

    def counts(self) -> list[tuple[type[models.Model], int]]:
        return [(model, len(pks)) for model, pks in self.pks.items()]


def client_rows(client: Client) -> ClientRows:
    pks: dict[type[models.Model], list[int]] = {}
    for model, links in client_models():
        if model is Client:
            pks[model] = [client.pk]
            continue
        condition = Q()
        for parent, field in links:
            condition |= Q(**{f"{field}__in": pks[parent]})
        pks[model] = list(
            model._base_manager.filter(condition).order_by("pk").values_list("pk", flat=True)
        )
    return ClientRows(pks)


def exported_fields(model: type[models.Model]) -> list[str]:
    return [
        field.attname
        for field in model._meta.concrete_fields
        if not field.name.endswith(EXCLUDED_SUFFIXES)
    ]


ACCESS_LOG_COLUMNS = [
    "at",
    "action",
    "staff_id",
    "staff__display_name",
    "object_type",
    "object_id",
    "detail",
    "path",
]


def access_log_about(client: Client) -> models.QuerySet[AccessLog]:
    """Reads of this client: pages about them and lists that showed them."""
    return AccessLog.objects.filter(Q(client_id=client.pk) | Q(client_ids__contains=[client.pk]))


def access_log_rows(client: Client) -> list[dict[str, object]]:
    return list(access_log_about(client).order_by("at", "pk").values(*ACCESS_LOG_COLUMNS))


# --- Export ---------------------------------------------------------------------------


def export_tables(client: Client) -> dict[str, tuple[list[str], list[dict[str, object]]]]:
    """Table name -> (columns, rows) of everything held on the client."""
    rows = client_rows(client)
    tables: dict[str, tuple[list[str], list[dict[str, object]]]] = {}
    for model, pks in rows.pks.items():
        columns = exported_fields(model)
        values = model._base_manager.filter(pk__in=pks).order_by("pk").values(*columns)
        tables[model._meta.db_table] = (columns, list(values))
    tables["access_log_about_client"] = (ACCESS_LOG_COLUMNS, access_log_rows(client))
    return tables


_README = """Everything Dyad holds on one client, exported {when} by {by}.

client.json  all tables below in one JSON document
csv/*.csv    one CSV file per table (UTF-8, comma-separated, first line = column names)

Tables: {tables}.
Identifiers (*_id) refer to rows of the other tables. Client link token hashes and seeds
and answer digests are left out: they are security values, not information about the client.
"access_log_about_client" lists when staff opened this client's records.
The change history (append-only audit tables) also holds earlier versions of these rows;
it is kept for the audit trail and is not part of this export.
"""


def _csv_cell(value: object) -> object:
    if isinstance(value, dict | list):
        value = json.dumps(value, cls=DjangoJSONEncoder, ensure_ascii=False)
    return spreadsheet_safe(value)


def _csv(columns: list[str], rows: Iterable[dict[str, object]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([spreadsheet_safe(column) for column in columns])
    for row in rows:
        writer.writerow([_csv_cell(row.get(column)) for column in columns])
    return out.getvalue()


def export_zip(client: Client, *, exported_by: StaffMember) -> bytes:
    tables = export_tables(client)
    now = timezone.now()
    document = {
        "exported_at": now,
        "clinic": client.clinic.name,
        "client_id": client.pk,
        "tables": {name: rows for name, (_columns, rows) in tables.items()},
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(
            "README.txt",
            _README.format(
                when=now.isoformat(timespec="seconds"),
                by=exported_by.display_name,
                tables=", ".join(tables),
            ),
        )
        archive.writestr(
            "client.json",
            json.dumps(document, cls=DjangoJSONEncoder, ensure_ascii=False, indent=2),
        )
        for name, (columns, rows) in tables.items():
            archive.writestr(f"csv/{name}.csv", _csv(columns, rows))
    return buffer.getvalue()
