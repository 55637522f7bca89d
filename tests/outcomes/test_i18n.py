"""Every text the outcomes pages show goes through a translator, and the pure modules stay pure.

A marking translator wraps each translated message in ⟦ ⟧ (installed through the pure modules'
hook, `outcomes.analytics.i18n`, and restored afterwards): the texts must come out marked as
whole sentences, with their numbers intact.
"""

from __future__ import annotations

import json
import re
import types
from collections.abc import Iterator

import numpy as np
import pandas as pd
import pytest
from django.core.cache import cache
from django.urls import reverse
from django.utils import translation

from outcomes.analytics import (
    ScaleReference,
    i18n,
    outcome_alerts,
    pearson_with_ci,
    reference_from_clinic,
    relationship_alerts,
    therapist_icc,
)
from outcomes.reports import team
from outcomes.selectors.team import cache_key
from tests.factories import ClientFactory, DyadFactory
from tests.outcomes.conftest import add_sessions


def _mark(message: str) -> str:
    return f"⟦{message}⟧"


def _nmark(singular: str, plural: str, n: int) -> str:
    return f"⟦{singular if n == 1 else plural}⟧"


@pytest.fixture
def marked() -> Iterator[None]:
    previous = i18n.install(_mark, _nmark)
    try:
        yield
    finally:
        i18n.install(*previous)


def _whole(text: str) -> bool:
    """One marked message from start to end (a sentence, not glued fragments)."""
    return text.startswith("⟦") and text.endswith("⟧") and text.count("⟦") >= 1


# --- The pure modules ----------------------------------------------------------------------


def test_hook_defaults_to_english_and_the_app_installs_django() -> None:
    from django.utils.translation import gettext, ngettext

    assert i18n.installed() == (gettext, ngettext)
    previous = i18n.install(_mark, _nmark)
    try:
        i18n.uninstall()
        assert i18n._("a sentence") == "a sentence"
        assert i18n.ngettext("%(n)d dyad", "%(n)d dyads", 1) == "%(n)d dyad"
        assert i18n.ngettext("%(n)d dyad", "%(n)d dyads", 2) == "%(n)d dyads"
    finally:
        i18n.install(*previous)
    assert i18n.installed() == (gettext, ngettext)


# --- Analytics sentences -------------------------------------------------------------------


def test_alerts_and_refusals_are_translated_whole(marked: None) -> None:
    ref = ScaleReference("RRI-C total", True, 0.62, "source")
    series = pd.Series([4.2, 4.3, 3.1], index=[1, 2, 3])
    (drop,) = relationship_alerts(series, ref)
    assert drop.reason == (
        "⟦RRI-C total fell from 4.3 at session 2 to 3.1 at session 3 (−1.2), beyond the "
        "reliable-change threshold of 0.62 (source).⟧"
    )
    (worse,) = outcome_alerts(pd.Series([10.0, 17.0]), ScaleReference("PHQ-9", False, 5, "s"))
    assert _whole(worse.reason) and "rose from 10 at the first session (0)" in worse.reason

    assert pearson_with_ci([1, 2, 3], [3, 2, 1]).reason == (
        "⟦3 paired sessions; at least 4 are needed⟧"
    )
    flat = pearson_with_ci([1, 2, 3, 4], [2, 2, 2, 2], names=("x", "y"))
    assert flat.reason == "⟦y did not vary, so r is undefined⟧"

    few = pd.DataFrame({"therapist_id": [1, 2], "dyad_id": [1, 2], "score": [3.0, 4.0]})
    assert therapist_icc(few).reason == "⟦2 therapists with data; at least 5 are needed⟧"

    refused = reference_from_clinic([3.0, 4.0], 0.9, label="RRI-C total", higher_is_better=True)
    assert refused.source == (
        "⟦this clinic's data: 2 first-session scores; at least 30 are needed, so no "
        "reliable-change threshold⟧"
    )


# --- The dyad page -------------------------------------------------------------------------


@pytest.mark.django_db
def test_dyad_page_texts_come_through_the_translator(clinic_history, login, marked) -> None:
    cache.clear()
    p = clinic_history
    dyad = DyadFactory(therapist=p.therapist_a1, client=ClientFactory(clinic=p.clinic_a))
    levels = [(3, 3, 3), (4, 3, 4), (4, 4, 3), (5, 4, 5), (4, 4, 4), (1, 2, 2), (3, 3, 3)]
    add_sessions(dyad, levels)
    body = login("therapist_a1").get(reverse("dyad_detail", args=[dyad.pk])).content.decode()
    # Chart titles, axis titles and legends, summaries and table headings.
    assert ">⟦Real relationship over sessions⟧</h2>" in body
    assert ">⟦Session outcome and progress⟧</h2>" in body
    figures = {
        key: json.loads(text)
        for key, text in re.findall(
            r'<script id="figure-([a-z]+)" type="application/json">(.*?)</script>', body
        )
    }
    relationship = figures["relationship"]
    assert relationship["layout"]["xaxis"]["title"]["text"] == "⟦Session⟧"
    assert relationship["layout"]["yaxis"]["title"]["text"] == "⟦Mean item score (1–5)⟧"
    assert "⟦RRI-C total⟧" in [trace["name"] for trace in relationship["data"]]
    assert "⟦Subscales can be switched on in the legend.⟧" in body
    assert (
        "⟦⟦RRI-C total⟧: 7 sessions rated, first 3.00 (session 1), latest 3.00 (session 7)" in body
    )
    assert '<th scope="col">⟦Session⟧</th>' in body
    assert "⟦Same session: ⟦r = " in body  # the statistic is its own message, placed whole
    assert "⟦Mean difference " in body
    # The alert: one marked sentence with its numbers.
    assert "⟦RRI-C total fell from 4 at session 5 to 1 at session 6 (−3), beyond the " in body
    assert "No relationship ratings yet" not in body


def test_dyad_report_empty_states_are_translated(marked: None) -> None:
    from outcomes.reports.dyad import build_dyad_report

    empty = pd.DataFrame(columns=["session_number", "instrument", "scale", "score"])
    none = pd.DataFrame(columns=["session_number", "expired", "completed", "form_label"])
    report = build_dyad_report(empty, {}, {}, pd.DataFrame(), none)
    texts = [chart.title for chart in report.charts] + [chart.empty for chart in report.charts]
    assert texts and all(_whole(text) for text in texts)


# --- The team report -----------------------------------------------------------------------


def _team_frames() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Eight dyads of two therapists, six sessions each, with varying scores."""
    rng = np.random.default_rng(7)
    rows = []
    for dyad in range(1, 9):
        therapist = 1 + dyad % 2
        for session in range(1, 7):
            rr = float(rng.integers(2, 6))
            rows.append((dyad, therapist, session, "RRI-C", rr))
            rows.append((dyad, therapist, session, "SESSION-CHECK", rr + float(rng.normal())))
    scores = pd.DataFrame.from_records(rows, columns=list(team.SCORE_FRAME_COLUMNS))
    dyads = pd.DataFrame(
        {
            "client_code": [f"C-{d:04d}" for d in range(1, 9)],
            "therapist_name": [f"T{1 + d % 2}" for d in range(1, 9)],
        },
        index=pd.Index(range(1, 9), name="dyad_id"),
    )
    return scores, dyads


def test_team_report_texts_come_through_the_translator(marked: None) -> None:
    scores, dyads = _team_frames()
    rr = team.Measure("RRI-C", "RRI-C", True, "relationship")
    out = team.Measure("SESSION-CHECK", "Session check", True, "session_outcome")
    pair = team.pair_frame(scores, "RRI-C", "SESSION-CHECK")

    pooled = team.pooled_section(pair, dyads, rr, out)
    assert pooled.pooled is not None
    assert pooled.summary.startswith("⟦Across 8 dyads with at least 4 paired sessions (48 ")
    assert f"pooled r = {team.fmt_r(pooled.pooled.r)}, 95% CI" in pooled.summary
    assert "⟦⟦This interval" in pooled.summary  # the comparison clause, inside its sentence
    assert _whole(pooled.direction) and _whole(pooled.benchmark_note)
    assert pooled.benchmark_text.startswith("⟦r = .38, 95% CI [.30, .44] (d = 0.80; k = 16 ")
    assert pooled.table_columns[:3] == ["⟦Client⟧", "⟦Therapist⟧", "⟦Paired sessions⟧"]
    assert pooled.stats_rows[0] == ("⟦Dyads pooled (k)⟧", "8")
    assert pooled.figure is not None
    assert pooled.figure["layout"]["title"]["text"] == (
        "⟦RRI-C and Session check: within-dyad r per dyad⟧"
    )
    assert {row[1][-1] for row in pooled.table_rows} == {"⟦pooled⟧"}

    between = team.between_section(pair, dyads, rr, out)
    assert _whole(between.summary) and "⟦Across 8 dyads with a relationship mean" in (
        between.summary
    )
    assert between.table_columns[2] == "⟦Mean RRI-C⟧"

    icc = team.therapist_section(scores, "RRI-C", "RRI-C", {1: "T1", 2: "T2"})
    assert icc.empty.startswith("⟦RRI-C totals come from ⟦2 therapists⟧ and ⟦8 dyads⟧ (⟦48 ")
    assert "so ⟦⟦3 more therapists⟧ and ⟦2 more dyads⟧⟧ with RRI-C ratings" in icc.empty

    model = team.model_section(pair, rr, out)
    assert model.empty.startswith("⟦Sessions with both RRI-C and Session check come from ")

    alpha = team.alpha_section(team.empty_answers(), {})
    assert alpha.empty == "⟦No completed forms in this selection yet.⟧"
    assert team.stale_note("on 2025-03-31 at 14:05", 2) == (
        "⟦Computed on 2025-03-31 at 14:05, before the newest 2 forms; an update that includes "
        "them is being computed in the background.⟧"
    )
    pending = team.pending_alpha_section(12_000)
    assert pending.empty.startswith("⟦⟦Item analysis⟧ on ⟦12,000 completed forms⟧ takes")

    report = team.TeamReport(rr, out, pooled, between, icc, model, alpha, 8, 48)
    assert _whole(report.between_note)


def test_team_results_are_cached_per_language() -> None:
    scope = types.SimpleNamespace(tag="1:clinic:t-:-:-")
    with translation.override("en"):
        english = cache_key(scope, None, "report")  # type: ignore[arg-type]
    with translation.override("de"):
        german = cache_key(scope, None, "report")  # type: ignore[arg-type]
    assert english != german
