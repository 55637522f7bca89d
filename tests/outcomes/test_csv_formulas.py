"""One formula-escaping rule for every CSV Dyad writes (issue 15, item 8): the staff
exports did none, the privacy export had its own."""

from __future__ import annotations

import csv
import io

import pytest
from django.urls import reverse

from clinic import privacy
from dyad.lib.spreadsheet import spreadsheet_safe
from outcomes.exports import csv_exports
from tests.outcomes.conftest import rate

pytestmark = pytest.mark.django_db

FORMULAS = ['=HYPERLINK("https://evil.example")', "+1+1", "-1-1", "@SUM(A1)", "\tx", "\rx"]


@pytest.mark.parametrize("text", FORMULAS)
def test_a_formula_gets_an_apostrophe(text):
    assert spreadsheet_safe(text) == "'" + text


@pytest.mark.parametrize("value", ["C-0142", "a=b", "", -3, -2.5, None, "2026-01-02"])
def test_everything_else_is_written_as_it_is(value):
    assert spreadsheet_safe(value) == value


def test_both_writers_use_the_rule():
    for writer in ("staff", "privacy"):
        cell = csv_exports._cell if writer == "staff" else privacy._csv_cell
        assert [cell(text) for text in FORMULAS] == ["'" + text for text in FORMULAS], writer
    rows = "".join(csv_exports._chunks(["=scale"], [["-1-1"], [-1]]))
    assert list(csv.reader(io.StringIO(rows))) == [["'=scale"], ["'-1-1"], ["-1"]]


@pytest.mark.parametrize("name", ["export_csv_long", "export_csv_items"])
def test_a_clinic_short_name_that_reads_as_a_formula_is_exported_as_text(personas, login, name):
    clinic = personas.clinic_a
    clinic.slug = "-1-1"  # a valid slug, and a sum to a spreadsheet
    clinic.save(update_fields=["slug"])
    rate(personas.session_a1, "PHQ-9", 1)
    response = login("admin_a").get(reverse(name))
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows and {row["clinic"] for row in rows} == {"'-1-1"}
