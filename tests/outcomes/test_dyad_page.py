"""The dyad page: charts, statistics and alerts from stored scores."""

from __future__ import annotations

import html
import json
import re

import pytest
from django.urls import reverse
from scipy import stats

from clinic.models import TherapySession
from tests.factories import ClientFactory, DyadFactory
from tests.outcomes.conftest import add_sessions, rate

pytestmark = pytest.mark.django_db

# (RRI-C, RRI-T, session check) levels per session; session 6 is a rupture.
LEVELS = [(3, 3, 3), (4, 3, 4), (4, 4, 3), (5, 4, 5), (4, 4, 4), (1, 2, 2), (3, 3, 3)]


@pytest.fixture
def rated_dyad(clinic_history):
    p = clinic_history
    dyad = DyadFactory(therapist=p.therapist_a1, client=ClientFactory(clinic=p.clinic_a))
    add_sessions(dyad, LEVELS)
    return dyad


def _figures(body: str) -> dict[str, dict]:
    found = re.findall(r'<script id="figure-([a-z]+)" type="application/json">(.*?)</script>', body)
    return {key: json.loads(text) for key, text in found}


def test_empty_dyad_has_honest_empty_states(personas, login):
    body = login("therapist_a1").get(reverse("dyad_detail", args=[personas.dyad_a1.pk])).content
    body = body.decode()
    assert "No relationship ratings yet" in body
    assert "plotly" not in body  # no chart, no 1.4 MB script
    assert "No alerts." in body


def test_charts_carry_the_stored_scores(rated_dyad, login):
    body = login("therapist_a1").get(reverse("dyad_detail", args=[rated_dyad.pk])).content.decode()
    figures = _figures(body)
    assert {"relationship", "outcomes", "scatter", "discrepancy"} <= set(figures)
    client_total = next(t for t in figures["relationship"]["data"] if t["name"] == "RRI-C total")
    assert client_total["y"] == [float(c) for c, _, _ in LEVELS]
    assert client_total["x"] == list(range(1, len(LEVELS) + 1))
    assert "vendor/plotly/plotly.min.js" in body and "<script>" not in body


def test_within_dyad_r_equals_scipy(rated_dyad, login):
    body = login("therapist_a1").get(reverse("dyad_detail", args=[rated_dyad.pk])).content.decode()
    x = [c for c, _, _ in LEVELS]
    y = [o for _, _, o in LEVELS]
    ref = stats.pearsonr(x, y)
    ci = ref.confidence_interval(0.95)
    expected = f"r = {ref.statistic:.2f} [{ci.low:.2f}, {ci.high:.2f}], n = {len(x)}"
    row = re.search(r"<td>RRI-C</td><td>SESSION-CHECK</td>\s*<td>(.*?)</td>", body, re.S)
    assert row.group(1).strip() == expected
    lag = stats.pearsonr(x[:-1], y[1:])
    assert f"r = {lag.statistic:.2f}" in body


def _section(body: str, key: str) -> str:
    start = body.index(f'id="h-{key}"')
    return body[start : body.index("</section>", start)]


def test_lagged_scatter_pairs_each_session_with_the_next_outcome(rated_dyad, login):
    body = login("therapist_a1").get(reverse("dyad_detail", args=[rated_dyad.pk])).content.decode()
    x = [float(c) for c, _, _ in LEVELS][:-1]
    y_next = [float(o) for _, _, o in LEVELS][1:]
    figure = _figures(body)["lagged"]
    (points,) = figure["data"]
    assert points["x"] == x and points["y"] == y_next
    assert points["text"][:2] == ["1→2", "2→3"]

    ref = stats.pearsonr(x, y_next)
    ci = ref.confidence_interval(0.95)
    section = html.unescape(_section(body, "lagged"))
    expected = f"r = {ref.statistic:.2f}, 95% CI [{ci.low:.2f}, {ci.high:.2f}], n = {len(x)}"
    assert f"Relationship at one session vs session check at the next: {expected}" in section
    assert 'data-figure="figure-lagged"' in section and 'role="figure"' in section
    # The table alternative lists every pair.
    rows = re.findall(r"<tr><td>(\d+→\d+)</td><td>([^<]+)</td><td>([^<]+)</td></tr>", section)
    assert [(float(a), float(b)) for _, a, b in rows] == list(zip(x, y_next, strict=True))
    assert rows[-1][0] == "6→7"


def test_lagged_view_says_how_many_more_pairs_are_needed(clinic_history, login):
    p = clinic_history
    dyad = DyadFactory(therapist=p.therapist_a1, client=ClientFactory(clinic=p.clinic_a))
    add_sessions(dyad, LEVELS[:3])
    body = login("therapist_a1").get(reverse("dyad_detail", args=[dyad.pk])).content.decode()
    section = html.unescape(_section(body, "lagged"))
    assert "2 pairs of consecutive sessions" in section and "(2 more)" in section
    assert "lagged" not in _figures(body)


def test_lagged_view_pairs_only_consecutive_sessions(clinic_history, login):
    """Sessions 1, 2, 3, 5, 6: the 3→5 gap is no pair, so 3 pairs and one more needed."""
    p = clinic_history
    dyad = DyadFactory(therapist=p.therapist_a1, client=ClientFactory(clinic=p.clinic_a))
    for number in (1, 2, 3, 5, 6):
        session = TherapySession.objects.create(dyad=dyad, number=number, date=dyad.started_on)
        rate(session, "RRI-C", 2 + number % 3)
        rate(session, "SESSION-CHECK", 1 + number % 4)
    body = login("therapist_a1").get(reverse("dyad_detail", args=[dyad.pk])).content.decode()
    section = html.unescape(_section(body, "lagged"))
    assert "3 pairs of consecutive sessions" in section and "(1 more)" in section
    session = TherapySession.objects.create(dyad=dyad, number=4, date=dyad.started_on)
    rate(session, "RRI-C", 4)
    rate(session, "SESSION-CHECK", 2)
    body = login("therapist_a1").get(reverse("dyad_detail", args=[dyad.pk])).content.decode()
    assert _figures(body)["lagged"]["data"][0]["text"] == ["1→2", "2→3", "3→4", "4→5", "5→6"]


def test_rupture_shows_an_alert_with_its_reason(rated_dyad, login):
    body = login("therapist_a1").get(reverse("dyad_detail", args=[rated_dyad.pk])).content.decode()
    session6 = TherapySession.objects.get(dyad=rated_dyad, number=6)
    alerts = body[body.index('id="alerts-h"') : body.index('id="h-relationship"')]
    assert f'href="{reverse("session_detail", args=[session6.pk])}"' in alerts
    assert "RRI-C total fell from 4 at session 5 to 1 at session 6 (−3)" in alerts
    assert "this clinic" in alerts


def test_risk_item_alert(rated_dyad, login):
    session = TherapySession.objects.get(dyad=rated_dyad, number=7)
    rate(session, "PHQ-9", 1, item_values={9: 2})
    body = login("therapist_a1").get(reverse("dyad_detail", args=[rated_dyad.pk])).content.decode()
    assert "PHQ-9 item 9" in body and "review risk" in body


def test_too_few_sessions_says_how_many_more(clinic_history, login):
    p = clinic_history
    dyad = DyadFactory(therapist=p.therapist_a1, client=ClientFactory(clinic=p.clinic_a))
    add_sessions(dyad, LEVELS[:2])
    body = login("therapist_a1").get(reverse("dyad_detail", args=[dyad.pk])).content.decode()
    assert "2 session(s) with both scores; 4 are needed" in body
    assert "2 more" in body


def test_gaps_and_missing_rater_render(clinic_history, login):
    p = clinic_history
    dyad = DyadFactory(therapist=p.therapist_a1, client=ClientFactory(clinic=p.clinic_a))
    for number in (1, 2, 5, 9):  # gaps in numbering, therapist never rated
        session = TherapySession.objects.create(dyad=dyad, number=number, date=dyad.started_on)
        rate(session, "RRI-C", 3 + number % 2)
    response = login("therapist_a1").get(reverse("dyad_detail", args=[dyad.pk]))
    assert response.status_code == 200
    assert (
        "Both the client&#x27;s and the therapist&#x27;s RRI are needed"
        in response.content.decode()
    )


# A warm view (the clinic reference cached): session, user, TOTP device, staff member, dyad,
# the access-log row, instrument specs, scores, three clinic-reference freshness checks (one per
# instrument without reference values: RRI-C, RRI-T, SESSION-CHECK), risk answers, client links
# the sessions list and the emails of open links (reminders, failures).
DYAD_PAGE_QUERIES = 15


def test_query_count_does_not_grow_with_sessions(clinic_history, login, django_assert_num_queries):
    """The same literal count for 3 sessions as for 12."""
    p = clinic_history
    small = DyadFactory(therapist=p.therapist_a1, client=ClientFactory(clinic=p.clinic_a))
    add_sessions(small, LEVELS[:3])
    large = DyadFactory(therapist=p.therapist_a1, client=ClientFactory(clinic=p.clinic_a))
    add_sessions(large, (LEVELS * 2)[:12])
    http = login("therapist_a1")
    for dyad in (small, large):
        http.get(reverse("dyad_detail", args=[dyad.pk]))  # warm the clinic reference cache
        with django_assert_num_queries(DYAD_PAGE_QUERIES):
            response = http.get(reverse("dyad_detail", args=[dyad.pk]))
        assert response.status_code == 200


def test_viewing_a_dyad_is_logged(rated_dyad, login, personas):
    from clinic.models import AccessLog

    login("supervisor_a").get(reverse("dyad_detail", args=[rated_dyad.pk]))
    entry = AccessLog.objects.get()
    assert entry.staff == personas.supervisor_a
    assert entry.client == rated_dyad.client and entry.action == "view_dyad"
    # A refused view (another therapist) leaves no entry: nothing was shown.
    login("therapist_a2").get(reverse("dyad_detail", args=[rated_dyad.pk]))
    assert AccessLog.objects.count() == 1
