"""CSV exports, written as a stream of text chunks with a fixed number of queries.

- long: one row per administration, the identifying columns, then one column per scale
  name seen in the export (empty where the instrument has no such scale or the score could
  not be computed);
- items: one row per stored answer with its value and its keyed value (reverse-keyed items
  flipped with the administration's own instrument version).

Rows come from `values_list(...).iterator(chunk_size=…)`, so 100,000 administrations are
never held in memory at once.
"""

from __future__ import annotations

import csv
import datetime
import io
from collections.abc import Iterable, Iterator
from itertools import groupby
from operator import itemgetter

from dyad.lib.spreadsheet import spreadsheet_safe
from outcomes.exports import ADMINISTRATION_FIELDS, ORDERING, ExportScope, instrument_specs_by_id
from rri_forms.models import Answer, Score

CHUNK_SIZE = 2000  # rows fetched per round trip of the server-side cursor
_FLUSH_AT = 64 * 1024  # characters buffered before a chunk is sent

ID_COLUMNS: tuple[str, ...] = tuple(column for column, _ in ADMINISTRATION_FIELDS)
ITEM_COLUMNS: tuple[str, ...] = (*ID_COLUMNS, "item_number", "value", "keyed_value")


def _cell(value: object) -> object:
    if value is None:
        return ""
    if isinstance(value, datetime.datetime | datetime.date):
        return value.isoformat()
    return spreadsheet_safe(value)


def _chunks(header: Iterable[str], rows: Iterable[Iterable[object]]) -> Iterator[str]:
    """CSV text in chunks of about 64 KB."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([spreadsheet_safe(name) for name in header])  # scale names come from files
    for row in rows:
        writer.writerow([_cell(v) for v in row])
        if buffer.tell() >= _FLUSH_AT:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def scale_columns(scope: ExportScope) -> list[str]:
    """Scale names present in the export: 'total' first, then alphabetical. One query."""
    names = set(
        Score.objects.filter(administration__in=scope.administrations())
        .order_by()
        .values_list("scale", flat=True)
        .distinct()
    )
    return sorted(names, key=lambda name: (name != "total", name))


def long_rows(scope: ExportScope, scales: list[str]) -> Iterator[list[object]]:
    """One row per administration: identifying columns, then one score per scale. One query.

    A left join of administrations with their scores, ordered by administration, grouped
    here: an administration without scores still gets its row.
    """
    id_lookups = [lookup for _, lookup in ADMINISTRATION_FIELDS]
    rows = (
        scope.administrations()
        .order_by(*ORDERING, "scores__scale")
        .values_list("pk", *id_lookups, "scores__scale", "scores__value")
        .iterator(chunk_size=CHUNK_SIZE)
    )
    position = {name: i for i, name in enumerate(scales)}
    width = len(id_lookups)
    for _, group in groupby(rows, key=itemgetter(0)):
        first = next(group)
        scores: list[object] = [None] * len(scales)
        for row in (first, *group):
            scale, value = row[-2], row[-1]
            if scale is not None and scale in position:
                scores[position[scale]] = value
        yield [*first[1 : 1 + width], *scores]


def csv_long(scope: ExportScope) -> Iterator[str]:
    scales = scale_columns(scope)
    return _chunks([*ID_COLUMNS, *scales], long_rows(scope, scales))


def item_rows(scope: ExportScope) -> Iterator[list[object]]:
    """One row per answer, with the keyed value from the answer's instrument version.

    Two queries: the installed instrument versions, then the answers.
    """
    specs = instrument_specs_by_id()
    id_lookups = [f"administration__{lookup}" for _, lookup in ADMINISTRATION_FIELDS]
    ordering = [f"administration__{field}" for field in ORDERING]
    rows = (
        Answer.objects.filter(administration__in=scope.administrations())
        .order_by(*ordering, "item_number")
        .values_list(*id_lookups, "administration__instrument_id", "item_number", "value")
        .iterator(chunk_size=CHUNK_SIZE)
    )
    for *ids, instrument_id, item_number, value in rows:
        spec = specs.get(instrument_id)
        keyed = (
            spec.item(item_number).keyed(value)
            if spec is not None and spec.has_item(item_number)
            else None
        )
        yield [*ids, item_number, value, keyed]


def csv_items(scope: ExportScope) -> Iterator[str]:
    return _chunks(ITEM_COLUMNS, item_rows(scope))
