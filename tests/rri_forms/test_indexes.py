"""The forms' tables carry no index that another already covers, and keep one for every
foreign key: PostgreSQL checks referencing rows through it when a parent row is deleted
(PROTECT and CASCADE alike), and selectors filter by these columns."""

from __future__ import annotations

import pytest
from django.apps import apps
from django.db import connection

pytestmark = pytest.mark.django_db

# One row per index: its table, name, whether unique or partial, and its (column, operator
# class) pairs in order. Expression indexes have no column for a key and are left out.
INDEXES_SQL = """
    SELECT t.relname, i.relname, x.indisunique, x.indpred IS NOT NULL,
        ARRAY(
            SELECT a.attname || ' ' || o.opcname
            FROM unnest(x.indkey, x.indclass) WITH ORDINALITY AS k(attnum, opclass, n)
            JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = k.attnum
            JOIN pg_opclass o ON o.oid = k.opclass
            ORDER BY k.n
        )
    FROM pg_index x
    JOIN pg_class t ON t.oid = x.indrelid
    JOIN pg_class i ON i.oid = x.indexrelid
    WHERE t.relname = ANY(%s) AND x.indexprs IS NULL
"""


def _tables() -> list[str]:
    return [model._meta.db_table for model in apps.get_app_config("rri_forms").get_models()]


def _indexes() -> list[tuple[str, str, bool, bool, list[str]]]:
    with connection.cursor() as cursor:
        cursor.execute(INDEXES_SQL, [_tables()])
        return cursor.fetchall()


def test_no_plain_index_is_a_prefix_of_another():
    indexes = _indexes()
    covered = [
        (table, name, other)
        for table, name, unique, partial, columns in indexes
        if not unique and not partial
        for other_table, other, _unique, other_partial, other_columns in indexes
        if other_table == table
        and other != name
        and not other_partial
        and other_columns[: len(columns)] == columns
    ]
    assert covered == []


def test_every_foreign_key_leads_an_index():
    leading = {
        (table, columns[0].split()[0])
        for table, _name, _unique, partial, columns in _indexes()
        if not partial  # a partial index serves only the rows of its condition
    }
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT c.conrelid::regclass::text, a.attname
            FROM pg_constraint c
            JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
            WHERE c.contype = 'f' AND c.conrelid::regclass::text = ANY(%s)
            """,
            [_tables()],
        )
        foreign_keys = cursor.fetchall()
    assert ("rri_forms_answer", "administration_id") in foreign_keys
    assert ("rri_forms_administration", "session_id") in foreign_keys
    assert [key for key in foreign_keys if key not in leading] == []
