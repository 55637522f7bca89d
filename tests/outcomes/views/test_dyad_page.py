"""The dyad page: charts, statistics and alerts from stored scores."""

from __future__ import annotations

import html
import json
import re

import pytest
from django.urls import reverse
from scipy import stats

from clinic.models import TherapySession
from outcomes.analytics.numbers import fmt_r
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
    expected = f"r = {fmt_r(ref.statistic)} [{fmt_r(ci.low)}, {fmt_r(ci.high)}], n = {len(x)}"
    row = re.search(r"<td>RRI-C</td><td>SESSION-CHECK</td>\s*<td>(.*?)</td>", body, re.S)
    assert row.group(1).strip() == expected
    lag = stats.pearsonr(x[:-1], y[1:])
    assert f"r = {fmt_r(lag.statistic)}" in body


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
    expected = (
        f"r = {fmt_r(ref.statistic)}, 95% CI [{fmt_r(ci.low)}, {fmt_r(ci.high)}], n = {len(x)}"
    )
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


# A warm view (the report and sessions table cached for the dyad's data): session, user, TOTP
# device, staff member, dyad, the access-log row, the dyad's data version, the alerts'
# acknowledgements and the emails of open links (reminders, failures: both read per view,
# neither changes a score), and two reads of the shared cache (the report, the end-dyad form:
# the database cache by default).
DYAD_PAGE_QUERIES = 11
# The first view after new data adds: instrument specs, the clinic's stored references (one
# read for all instruments), the version again, sessions, scores, risk answers, client links,
# and the version once more (the report is kept only if it still holds); and two cache writes
# (the report and the end-dyad form) of five statements each in the database cache (count,
# savepoint, look-up, insert, release).
DYAD_PAGE_QUERIES_COLD = DYAD_PAGE_QUERIES + 8 + 2 * 5


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


def _page(http, dyad) -> str:
    return html.unescape(http.get(reverse("dyad_detail", args=[dyad.pk])).content.decode())


def test_query_count_does_not_grow_with_the_clinic(
    clinic_history, login, django_assert_num_queries
):
    """The same literal counts, warm and cold, before and after the clinic triples."""
    from django.core.cache import cache

    p = clinic_history
    dyad = DyadFactory(therapist=p.therapist_a1, client=ClientFactory(clinic=p.clinic_a))
    add_sessions(dyad, LEVELS)
    http = login("therapist_a1")
    for round_ in range(2):
        if round_:
            for i in range(60):  # the clinic grows by 60 dyads and 120 sessions of forms
                other = DyadFactory(
                    therapist=p.therapist_a2,
                    client=ClientFactory(clinic=p.clinic_a, code=f"GROW-{i}"),
                )
                add_sessions(other, [(3, 3, 3), (4, 4, 4)])
        http.get(reverse("dyad_detail", args=[dyad.pk]))  # references refreshed, cached
        cache.clear()
        with django_assert_num_queries(DYAD_PAGE_QUERIES_COLD):
            http.get(reverse("dyad_detail", args=[dyad.pk]))
        with django_assert_num_queries(DYAD_PAGE_QUERIES):
            response = http.get(reverse("dyad_detail", args=[dyad.pk]))
        assert response.status_code == 200


def test_cached_report_follows_new_forms_corrections_and_expired_links(rated_dyad, login):
    import datetime

    from django.utils import timezone

    from rri_forms.models import ClientLink

    http = login("therapist_a1")

    def analytics(body: str) -> str:  # the cached charts (alerts carry a CSRF token)
        return body[body.index('<div class="row g-4 mb-4">') : body.index('id="pairs-h"')]

    before = _page(http, rated_dyad)
    assert analytics(_page(http, rated_dyad)) == analytics(before)
    # A new session's forms: the charts gain a point.
    session = TherapySession.objects.create(
        dyad=rated_dyad, number=8, date=rated_dyad.started_on + datetime.timedelta(days=56)
    )
    rate(session, "RRI-C", 2)
    rate(session, "SESSION-CHECK", 5)
    figure = _figures(_page(http, rated_dyad))["relationship"]
    client_total = next(t for t in figure["data"] if t["name"] == "RRI-C total")
    assert client_total["y"][-1] == 2.0 and client_total["x"][-1] == 8
    # A correction keeps the administration and replaces its scores.
    from rri_forms.models import Instrument
    from rri_forms.services.therapist_forms import therapist_forms_save

    (rri_t,) = Instrument.objects.filter(code="RRI-T", is_current=True)
    answers = {
        item.number: item.response_scale.min + item.response_scale.max - 1 if item.reverse else 1
        for item in rri_t.spec.items
    }
    therapist_forms_save(
        actor_user=rated_dyad.therapist.user,
        session=TherapySession.objects.get(dyad=rated_dyad, number=7),
        instruments=[rri_t],
        answers={rri_t.pk: answers},
    )
    figure = _figures(_page(http, rated_dyad))["relationship"]
    therapist_total = next(t for t in figure["data"] if t["name"] == "RRI-T total")
    assert therapist_total["y"][6] == 1.0  # was 3
    # An unused link that expires while the page is cached raises a missed-forms alert.
    later = TherapySession.objects.create(
        dyad=rated_dyad, number=9, date=rated_dyad.started_on + datetime.timedelta(days=63)
    )
    link = ClientLink.objects.create(
        session=later,
        token_hash="0" * 64,
        instrument_ids=[],
        created_by=rated_dyad.therapist,
        expires_at=timezone.now() + datetime.timedelta(hours=1),
    )
    assert "not completed before the link expired" not in _page(http, rated_dyad)
    ClientLink.objects.filter(pk=link.pk).update(
        expires_at=timezone.now() - datetime.timedelta(minutes=1)
    )
    assert "Client forms for session 9: not completed before the link expired" in _page(
        http, rated_dyad
    )


# Four sessions on one line: RRI-C and the session check both 1, 2, 3, 4.
LINE = [(1, 3, 1), (2, 3, 2), (3, 3, 3), (4, 3, 4)]


def test_a_perfect_correlation_of_four_sessions_is_shown_as_not_informative(clinic_history, login):
    p = clinic_history
    dyad = DyadFactory(therapist=p.therapist_a1, client=ClientFactory(clinic=p.clinic_a))
    add_sessions(dyad, LINE)
    body = _page(login("therapist_a1"), dyad)
    assert "[1.00, 1.00]" not in body
    row = re.search(r"<td>RRI-C</td><td>SESSION-CHECK</td>\s*<td>(.*?)</td>", body, re.S)
    assert row.group(1).startswith("r = 1.00, n = 4 ")
    assert "not informative" in row.group(1)
    scatter = _section(body, "scatter")
    assert "Same session: r = 1.00, n = 4: not informative." in scatter
