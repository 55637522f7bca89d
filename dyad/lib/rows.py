"""One model instance from one plain SQL row, for the few hot paths that skip the ORM.

The client's phone form reads its link row on every request. Through the ORM (or even
`Model.objects.raw`) building the query and the instance cost 0.3–0.8 ms of CPU, more
than the database spent answering; the form page's whole budget is a few milliseconds.
`fetch_instance` runs SQL that selects `columns(model, alias)` (every concrete column,
in the model's order) followed by any extra columns, and builds the instance the way
the ORM does: the same database converters per field (JSON decoding, …), then
`Model.from_db`. The extra columns become attributes. Nothing here builds SQL from
values: callers pass parameters.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from django.db import connections
from django.db.models import Model

M = TypeVar("M", bound=Model)
_Converter = tuple[int, list[Callable[..., Any]], Any]


def columns(model: type[Model], alias: str) -> str:
    """`alias."col", …` for every concrete field of `model`, in _meta order."""
    return ", ".join(f'{alias}."{f.column}"' for f in model._meta.concrete_fields)


@functools.cache
def _plan(model: type[Model], using: str) -> tuple[list[str], list[_Converter]]:
    connection = connections[using]
    fields = model._meta.concrete_fields
    converters: list[_Converter] = []
    for index, field in enumerate(fields):
        column = field.get_col(model._meta.db_table)
        found = connection.ops.get_db_converters(column) + column.get_db_converters(connection)
        if found:
            converters.append((index, found, column))
    return [f.attname for f in fields], converters


def fetch_instance(
    model: type[M],
    sql: str,
    params: Sequence[Any],  # whatever psycopg adapts
    *,
    extra: Sequence[str] = (),
    using: str = "default",
) -> M | None:
    """The first row of `sql` as a `model` instance (None when there is no row)."""
    connection = connections[using]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    if row is None:
        return None
    names, converters = _plan(model, using)
    values = list(row[: len(names)])
    for index, functions, column in converters:
        for convert in functions:
            values[index] = convert(values[index], column, connection)
    instance = model.from_db(using, names, values)
    for name, value in zip(extra, row[len(names) :], strict=True):
        setattr(instance, name, value)
    return instance
