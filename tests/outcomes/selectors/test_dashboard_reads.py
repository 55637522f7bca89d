"""The dashboards' reads (outcomes.selectors.dashboards): exact scores, and the cached frame."""

from __future__ import annotations

import datetime

import pandas as pd
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from clinic.models import TherapySession
from outcomes.selectors import dashboards
from outcomes.selectors import frames as selectors
from outcomes.selectors.dashboards import totals_frame
from rri_forms.models import Score
from tests.factories import ClientFactory, DyadFactory
from tests.outcomes.conftest import add_sessions, rate
from tests.outcomes.views.test_dashboard_pages import LEVELS, _today, recent_dyad

pytestmark = pytest.mark.django_db


# --- Reading the scores frame --------------------------------------------------------


def test_totals_frame_carries_the_exact_stored_scores(clinic_history):
    """The dashboards read scores in PostgreSQL's binary form, column by column; each row must
    be a stored total with the floats, dates and numbers the ORM reads."""

    dyads = [
        DyadFactory(
            therapist=clinic_history.therapist_a1,
            client=ClientFactory(clinic=clinic_history.clinic_a, code=f"A1-EXACT-{i}"),
        )
        for i in range(2)
    ]
    add_sessions(dyads[0], LEVELS, noisy=True)  # means such as 3.5416666666666665
    add_sessions(dyads[1], LEVELS[:4], noisy=True)
    key = ["dyad_id", "instrument", "session_number"]
    columns = ["dyad_id", "session_number", "session_date", "instrument", "score"]
    orm = pd.concat(selectors.scores_frame(dyad=d) for d in dyads)
    orm = orm[orm["scale"] == "total"].sort_values(key)[columns].reset_index(drop=True)
    later = _today(clinic_history) + datetime.timedelta(days=400)
    read = totals_frame([d.pk for d in dyads], until=later).sort_values(key)
    read = read.reset_index(drop=True)
    assert len(read) == 3 * (len(LEVELS) + 4)
    assert read["score"].tolist() == orm["score"].tolist()  # exact, not approximate
    assert any(v != round(v, 3) for v in read["score"])  # the example has long decimals
    assert read["dyad_id"].tolist() == orm["dyad_id"].tolist()
    assert read["session_number"].tolist() == orm["session_number"].tolist()
    assert read["instrument"].astype(str).tolist() == orm["instrument"].tolist()
    assert [d.date() for d in read["session_date"]] == orm["session_date"].tolist()

    # Sessions dated after `until` are left out; no dyads, no rows (with the same columns).
    third = sorted(orm["session_date"].unique())[2]
    cut = totals_frame([d.pk for d in dyads], until=third)
    assert 0 < len(cut) == (orm["session_date"] <= third).sum() < len(orm)
    assert cut["session_date"].max().date() == third
    empty = totals_frame([], until=later)
    assert empty.empty and empty.columns.tolist() == columns


def _cache_statement(sql: str) -> bool:
    return '"dyad_cache"' in sql or "SAVEPOINT" in sql  # the database cache writes in one


def test_cached_frame_is_reused_until_the_data_changes(clinic_history, monkeypatch):

    monkeypatch.setattr(dashboards, "CACHE_MIN_ROWS", 0)
    dyad = recent_dyad(clinic_history.therapist_a1, "A1-CACHE", [(3, 3, 3), (4, 4, 4)])
    until = _today(clinic_history)

    def read(queries: int) -> pd.DataFrame:
        with CaptureQueriesContext(connection) as ctx:
            frame = dashboards.cached_totals_frame([dyad.pk], [dyad.pk], until=until)
        # The shared cache is a table by default: its statements are left out.
        data = [q for q in ctx.captured_queries if not _cache_statement(q["sql"])]
        assert len(data) == queries, [q["sql"][:60] for q in data]
        return frame.set_index(["instrument", "session_number"])["score"]

    assert read(2)[("RRI-C", 2)] == 4.0  # version + frame
    assert read(1)[("RRI-C", 2)] == 4.0  # version only: reused
    # A correction updates a stored score in place: no new row, but a new history event.
    Score.objects.filter(
        administration__dyad=dyad, administration__instrument_code="RRI-C",
        administration__session__number=2, scale="total",
    ).update(value=2.5)  # fmt: skip
    assert read(2)[("RRI-C", 2)] == 2.5
    rate(TherapySession.objects.create(dyad=dyad, number=3, date=until), "RRI-C", 1)
    assert read(2)[("RRI-C", 3)] == 1.0
    assert read(1)[("RRI-C", 3)] == 1.0
