"""The therapist's home page and the supervisor dashboard."""

from __future__ import annotations

import datetime
import re
import uuid

import numpy as np
import pandas as pd
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from clinic.models import Dyad, TherapySession
from outcomes.analytics import ScaleReference, outcome_alerts, relationship_alerts
from outcomes.selectors import dashboards
from outcomes.selectors import frames as selectors
from outcomes.selectors.dashboards import Window, latest_and_trend, score_alerts, totals_frame
from rri_forms.models import ClientLink, Score
from rri_forms.models.links import hash_token, new_token
from tests.factories import ClientFactory, DyadFactory, StaffFactory
from tests.outcomes.conftest import add_sessions, rate

pytestmark = pytest.mark.django_db

# (RRI-C, RRI-T, session check) per session; session 6 is a rupture.
LEVELS = [(3, 3, 3), (4, 3, 4), (4, 4, 3), (5, 4, 5), (4, 4, 4), (1, 2, 2), (3, 3, 3)]
RUPTURE = "RRI-C total fell from 4 at session 5 to 1 at session 6 (−3)"


def _today(personas) -> datetime.date:
    return personas.clinic_a.today()


def recent_dyad(therapist, code: str, levels=LEVELS, *, last_days_ago: int = 0):
    """A dyad with weekly rated sessions, the last one `last_days_ago` days before today."""
    today = therapist.clinic.today()
    started = today - datetime.timedelta(days=7 * len(levels) + last_days_ago)
    dyad = DyadFactory(
        therapist=therapist,
        client=ClientFactory(clinic=therapist.clinic, code=code),
        started_on=started,
    )
    for number, (client, own, outcome) in enumerate(levels, start=1):
        session = TherapySession.objects.create(
            dyad=dyad, number=number, date=started + datetime.timedelta(days=7 * number)
        )
        if client:
            rate(session, "RRI-C", client)
            rate(session, "SESSION-CHECK", outcome)
        if own:
            rate(session, "RRI-T", own)
    return dyad


def add_link(session, *, used: bool = False, expired: bool = False, revoked: bool = False):
    now = timezone.now()
    return ClientLink.objects.create(
        session=session,
        token_hash=hash_token(new_token()),
        instrument_ids=[],
        created_by=session.dyad.therapist,
        expires_at=now + datetime.timedelta(hours=-1 if expired else 72),
        used_at=now if used else None,
        submission_id=uuid.uuid4() if used else None,
        revoked_at=now if revoked else None,
    )


def _rows(body: str, table: str, attr: str) -> list[int]:
    section = body[body.index(f'id="{table}"') :]
    section = section[: section.index("</table>")]
    return [int(x) for x in re.findall(rf'<tr {attr}="(\d+)"', section)]


def _row(body: str, attr: str, pk: int) -> str:
    start = body.index(f'<tr {attr}="{pk}"')
    return body[start : body.index("</tr>", start)]


# --- Access and content per role -----------------------------------------------------


def test_home_redirects_therapists_to_their_home_and_others_to_team(login):
    assert login("therapist_a1").get(reverse("home")).url == reverse("therapist_home")
    assert reverse("therapist_home") == "/my/"
    assert login("supervisor_a").get(reverse("home")).url == reverse("team")


def test_therapist_home_lists_only_own_dyads(personas, login):
    body = login("therapist_a1").get(reverse("therapist_home")).content.decode()
    assert _rows(body, "caseload", "data-dyad") == [personas.dyad_a1.pk]
    assert "A1-0001" in body and "A2-0001" not in body and "B1-0001" not in body


@pytest.mark.parametrize("name", ["supervisor_a", "admin_a", "anonymous"])
def test_therapist_home_is_for_therapists(login, name):
    response = login(name).get(reverse("therapist_home"))
    assert response.status_code == (302 if name == "anonymous" else 403)


@pytest.mark.parametrize("name", ["therapist_a1", "therapist_a2", "therapist_b1"])
def test_supervisor_dashboard_refuses_therapists(login, name):
    assert login(name).get(reverse("supervisor_dashboard")).status_code == 403


def test_supervisor_sees_supervisees_admin_sees_clinic(personas, login):
    p = personas
    body = login("supervisor_a").get(reverse("supervisor_dashboard")).content.decode()
    assert _rows(body, "therapists", "data-therapist") == [p.therapist_a1.pk]
    body = login("admin_a").get(reverse("supervisor_dashboard")).content.decode()
    assert sorted(_rows(body, "therapists", "data-therapist")) == sorted(
        [p.therapist_a1.pk, p.therapist_a2.pk]
    )
    assert str(p.therapist_b1.display_name) not in body


def test_nav_links_the_dashboard_for_supervisors_only(login):
    url = f'href="{reverse("supervisor_dashboard")}"'
    assert url in login("supervisor_a").get(reverse("team")).content.decode()
    assert url in login("admin_a").get(reverse("team")).content.decode()
    assert url not in login("therapist_a1").get(reverse("therapist_home")).content.decode()


# --- Alerts --------------------------------------------------------------------------


@pytest.fixture
def ruptured(clinic_history):
    """A1's dyad with a rupture at session 6 (a week ago) and a risk answer at session 7."""
    p = clinic_history
    dyad = recent_dyad(p.therapist_a1, "A1-RUPT")
    rate(dyad.sessions.get(number=7), "PHQ-9", 1, item_values={9: 2})
    return dyad


def test_home_shows_open_alerts_with_the_most_severe_reason(ruptured, login):
    body = login("therapist_a1").get(reverse("therapist_home")).content.decode()
    row = _row(body, "data-dyad", ruptured.pk)
    cell = re.search(r'<td class="text-end alerts">(.*?)</td>', row, re.S).group(1)
    assert f'href="{reverse("dyad_detail", args=[ruptured.pk])}#alerts-h"' in cell
    count = int(re.search(r">(\d+)<span", cell).group(1))
    assert count >= 2  # the rupture and the risk item
    title = re.search(r'title="([^"]*)"', cell).group(1)
    # The risk item comes first, in the risk alert's own colour and wording.
    assert "PHQ-9 item 9" in title and "review risk" in title
    assert 'class="badge badge-risk' in cell and "Risk:" in cell


def test_supervisor_dashboard_lists_flagged_dyads_with_reasons(ruptured, personas, login):
    body = login("supervisor_a").get(reverse("supervisor_dashboard")).content.decode()
    row = _row(body, "data-dyad", ruptured.pk)
    assert RUPTURE in row and "PHQ-9 item 9" in row
    assert "this clinic" in row  # the threshold's source
    therapist = _row(body, "data-therapist", personas.therapist_a1.pk)
    assert re.search(r'class="text-end flagged"><span class="badge text-bg-danger">1<', therapist)


def test_alerts_outside_the_window_are_not_open(clinic_history, login):
    old = recent_dyad(clinic_history.therapist_a1, "A1-OLD", last_days_ago=60)
    body = login("therapist_a1").get(reverse("therapist_home")).content.decode()
    assert '<td class="text-end alerts"><span class="text-muted">0</span>' in _row(
        body, "data-dyad", old.pk
    )
    # Widening the supervisor's window brings the rupture back.
    url = reverse("supervisor_dashboard")
    body = login("supervisor_a").get(url).content.decode()
    assert f'data-dyad="{old.pk}"' not in body
    body = login("supervisor_a").get(url, {"from": "2000-01-01"}).content.decode()
    assert RUPTURE in _row(body, "data-dyad", old.pk)


def test_missed_form_is_an_alert_and_overdue(clinic_history, login):
    dyad = recent_dyad(clinic_history.therapist_a1, "A1-MISS", [(3, 3, 3)] * 3)
    add_link(dyad.sessions.get(number=3), expired=True)
    body = login("therapist_a1").get(reverse("therapist_home")).content.decode()
    row = _row(body, "data-dyad", dyad.pk)
    assert "Client forms for session 3: not completed before the link expired" in row
    assert re.search(r'class="text-end overdue"><span class="badge text-bg-warning"[^>]*>1<', row)


# --- Completion rates on a hand-built example ----------------------------------------


@pytest.fixture
def hand_built(personas):
    """Therapist A1's dyad, sessions relative to today:
    s1 −14 attended, client + therapist forms, link used
    s2  −7 attended, therapist forms, link expired unused
    s3  −3 attended, no forms, link live
    s4  −2 no-show
    s5 −40 attended, forms and used link (outside the window below)
    """
    p = personas
    today = _today(p)
    dyad = DyadFactory(
        therapist=p.therapist_a1,
        client=ClientFactory(clinic=p.clinic_a, code="A1-HAND"),
        started_on=today - datetime.timedelta(days=60),
    )

    def session(number, days_ago, attendance="attended"):
        return TherapySession.objects.create(
            dyad=dyad,
            number=number,
            date=today - datetime.timedelta(days=days_ago),
            attendance=attendance,
        )

    s5 = session(5, 40)
    s1, s2, s3 = session(1, 14), session(2, 7), session(3, 3)
    session(4, 2, "no_show")
    for s in (s1, s5):
        rate(s, "RRI-C", 4)
        rate(s, "RRI-T", 4)
        add_link(s, used=True)
    rate(s2, "RRI-T", 4)
    add_link(s2, revoked=True)  # re-issued: the newer link below decides
    add_link(s2, expired=True)
    add_link(s3)
    return dyad


def test_completion_rates(hand_built, personas, login):
    today = _today(personas)
    query = {
        "therapist": personas.therapist_a1.pk,
        "from": (today - datetime.timedelta(days=20)).isoformat(),
        "to": today.isoformat(),
    }
    body = login("supervisor_a").get(reverse("supervisor_dashboard"), query).content.decode()
    row = _row(body, "data-therapist", personas.therapist_a1.pk)
    rates = re.findall(r'<td class="text-end rate">(.*?)</td>', row)
    assert rates == ["1/3 (33%)", "1/3 (33%)", "2/3 (67%)"]
    assert re.search(r'class="text-end dyads">2 \(2\)<', row)  # A1-0001 and the example


def test_home_pending_and_overdue(hand_built, login):
    body = login("therapist_a1").get(reverse("therapist_home")).content.decode()
    row = _row(body, "data-dyad", hand_built.pk)
    assert '<td class="text-end pending">1</td>' in row
    # s2's expired link and s3 without therapist forms; s1 has them, s4 was a no-show.
    assert re.search(r'class="text-end overdue"><span class="badge text-bg-warning"[^>]*>2<', row)
    assert "1 expired client link(s), 1 session(s) without your forms" in row


def test_mean_latest_levels_and_trend(clinic_history, personas, login):
    a = recent_dyad(personas.therapist_a1, "A1-UP", [(2, 3, 3), (3, 3, 3), (4, 4, 3)])
    b = recent_dyad(personas.therapist_a1, "A1-FLAT", [(3, 2, 3), (3, 2, 3), (3, 3, 3)])
    body = login("supervisor_a").get(reverse("supervisor_dashboard")).content.decode()
    row = _row(body, "data-therapist", personas.therapist_a1.pk)
    cells = re.findall(r'<td class="text-end">(.*?)</td>', row, re.S)
    # Means over dyads with scores (A1-0001 has none): RRI-C (4 + 3)/2, RRI-T (4 + 3)/2.
    assert cells[0] == "3.50" and cells[2] == "3.50"
    assert "↑ +0.50" in cells[1]  # slopes +1 and 0
    assert "↑ +0.50" in cells[3]  # slopes +0.5 and +0.5
    home = login("therapist_a1").get(reverse("therapist_home")).content.decode()
    assert "↑ +1.00" in _row(home, "data-dyad", a.pk)
    assert "→ +0.00" in _row(home, "data-dyad", b.pk)


# --- Sorting and filters -------------------------------------------------------------


@pytest.fixture
def three_dyads(personas):
    t = personas.therapist_a1
    return {
        "B": recent_dyad(t, "A1-B", [(3, 3, 3)] * 4),
        "C": recent_dyad(t, "A1-C", [(3, 3, 3)] * 2),
        "D": recent_dyad(t, "A1-D", [(3, 3, 3)] * 6),
    }


def test_sorting_is_whitelisted(three_dyads, personas, login):
    http = login("therapist_a1")
    url = reverse("therapist_home")
    d = three_dyads
    by_code = [personas.dyad_a1.pk, d["B"].pk, d["C"].pk, d["D"].pk]

    def order(sort):
        return _rows(http.get(url, {"sort": sort}).content.decode(), "caseload", "data-dyad")

    assert order("client") == by_code
    assert order("-client") == by_code[::-1]
    assert order("sessions") == [d["C"].pk, personas.dyad_a1.pk, d["B"].pk, d["D"].pk]
    assert order("-sessions") == [d["D"].pk, d["B"].pk, personas.dyad_a1.pk, d["C"].pk]
    # RRI-C: A1-0001 has none and sorts last in both directions.
    assert order("-rri_c")[-1] == personas.dyad_a1.pk
    assert order("rri_c")[-1] == personas.dyad_a1.pk
    for bad in ("bogus", "client; DROP TABLE", "-", "__class__", "dyad__client__code"):
        response = http.get(url, {"sort": bad})
        assert response.status_code == 200
        assert _rows(response.content.decode(), "caseload", "data-dyad") == by_code


def test_status_and_attention_filters(three_dyads, personas, login):

    d = three_dyads
    Dyad.objects.filter(pk=d["C"].pk).update(status="ended", ended_on=_today(personas))
    add_link(d["B"].sessions.get(number=4), expired=True)
    http = login("therapist_a1")
    url = reverse("therapist_home")

    def rows(**query):
        return set(_rows(http.get(url, query).content.decode(), "caseload", "data-dyad"))

    active = {personas.dyad_a1.pk, d["B"].pk, d["D"].pk}
    assert rows() == active
    assert rows(status="bogus") == active
    assert rows(status="ended") == {d["C"].pk}
    assert rows(status="all") == active | {d["C"].pk}
    assert rows(attention="1") == {d["B"].pk}


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"from": "2025-13-45"}, "From: Enter a date as YYYY-MM-DD."),
        ({"to": "yesterday"}, "To: Enter a date as YYYY-MM-DD."),
        ({"from": "2025-05-10", "to": "2025-05-01"}, "The end date is before the start date."),
        ({"therapist": "abc"}, "There is no therapist abc among those you can see"),
        ({"therapist": "0"}, "There is no therapist 0 among those you can see"),
    ],
)
def test_bad_filters_give_a_message_not_an_error(personas, login, query, message):
    response = login("supervisor_a").get(reverse("supervisor_dashboard"), query)
    assert response.status_code == 200
    body = response.content.decode()
    assert message in body.replace("&#x27;", "'")
    assert _rows(body, "therapists", "data-therapist") == [personas.therapist_a1.pk]


def test_a_therapist_not_supervised_cannot_be_chosen(personas, login):
    query = {"therapist": personas.therapist_a2.pk}
    body = login("supervisor_a").get(reverse("supervisor_dashboard"), query).content.decode()
    assert f"There is no therapist {personas.therapist_a2.pk} among those" in body
    assert _rows(body, "therapists", "data-therapist") == [personas.therapist_a1.pk]
    body = login("admin_a").get(reverse("supervisor_dashboard"), query).content.decode()
    assert _rows(body, "therapists", "data-therapist") == [personas.therapist_a2.pk]
    assert "filter-problems" not in body


# --- Constant query counts -----------------------------------------------------------


def _caseload(therapist, n: int) -> None:
    for i in range(n):
        dyad = recent_dyad(therapist, f"Q{therapist.pk}-{i}", LEVELS[: 3 + i % 5])
        add_link(dyad.sessions.order_by("-number").first(), expired=bool(i % 2))


# A warm view. Therapist home: session, user, staff member, dyads, instrument specs, the scores
# version, totals, newest administrations, risk answers, client links, session counts, the
# alerts' acknowledgements and the access-log row, then the emails of open links (reminders,
# failures). The supervisor dashboard has all but the emails, adds the TOTP device and the
# visible therapists, and reads the placeholder-instrument notice after its dyads. Both read the
# shared cache once (the cached totals frame: the database cache by default).
PAGE_QUERIES = {"therapist_home": 15, "supervisor_dashboard": 17}


@pytest.mark.parametrize("page", ["therapist_home", "supervisor_dashboard"])
def test_query_count_does_not_grow_with_the_caseload(
    clinic_history, login, django_assert_num_queries, page
):
    """2 dyads and 12 dyads (with scores, alerts and links) cost the same, literal count."""
    p = clinic_history
    small = StaffFactory(clinic=p.clinic_a, user__username="small")
    large = StaffFactory(clinic=p.clinic_a, user__username="large")
    _caseload(small, 2)
    _caseload(large, 12)
    url = reverse(page)
    for therapist in (small, large):
        if page == "therapist_home":
            http = login("anonymous")
            http.force_login(therapist.user)
            target = url
        else:
            http = login("admin_a")
            target = f"{url}?therapist={therapist.pk}"
        http.get(target)  # warm the clinic-reference cache
        with django_assert_num_queries(PAGE_QUERIES[page]):
            response = http.get(target)
        assert response.status_code == 200


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


# --- Frame computations against the per-dyad functions -------------------------------


def _random_scores(seed: int, dyads: int = 60) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    today = datetime.date(2025, 6, 30)
    rows = []
    for dyad in range(1, dyads + 1):
        n = int(rng.integers(1, 12))
        numbers = np.sort(rng.choice(np.arange(1, 20), size=n, replace=False))
        level = rng.uniform(2, 4.5)
        for number in numbers:
            date = today - datetime.timedelta(days=7 * (20 - int(number)))
            for code in ("RRI-C", "SESSION-CHECK"):
                # Coarse values so that exact-threshold ties occur.
                score = round(float(np.clip(level + rng.normal(0, 0.7), 1, 5)) * 4) / 4
                rows.append((dyad, int(number), pd.Timestamp(date), code, score))
    columns = ["dyad_id", "session_number", "session_date", "instrument", "score"]
    return pd.DataFrame(rows, columns=columns)


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("higher_is_better", [True, False])
def test_vectorised_alerts_equal_the_per_dyad_functions(seed, higher_is_better):
    scores = _random_scores(seed)
    window = Window(datetime.date(2025, 5, 1), datetime.date(2025, 6, 30))
    refs = {
        code: ScaleReference(code, higher_is_better, 0.75, "test")
        for code in ("RRI-C", "SESSION-CHECK")
    }
    kinds = {"RRI-C": "relationship", "SESSION-CHECK": "session_outcome"}
    got = sorted(
        (d, a.alert.kind, a.alert.session_number, a.alert.reason)
        for d, a in score_alerts(scores, kinds, refs, window)
    )
    expected = []
    for (dyad, code), rows in scores.groupby(["dyad_id", "instrument"]):
        series = rows.set_index("session_number")["score"]
        dates = rows.set_index("session_number")["session_date"]
        check = relationship_alerts if code == "RRI-C" else outcome_alerts
        for alert in check(series, refs[code]):
            if pd.Timestamp(window.start) <= dates[alert.session_number]:
                expected.append((dyad, alert.kind, alert.session_number, alert.reason))
    assert got == sorted(expected)
    assert len(expected) > 5  # the example does exercise the rules


def test_trend_is_the_least_squares_slope_of_the_last_five():
    scores = _random_scores(7, dyads=40)
    rows = scores[scores["instrument"] == "RRI-C"]
    result = latest_and_trend(rows)
    for dyad, group in rows.groupby("dyad_id"):
        group = group.sort_values("session_number")
        tail = group.tail(5)
        assert result.at[dyad, "latest"] == group["score"].iloc[-1]
        assert result.at[dyad, "n"] == len(tail)
        if len(tail) >= 3:
            expected = np.polyfit(tail["session_number"], tail["score"], 1)[0]
            assert result.at[dyad, "slope"] == pytest.approx(expected, abs=1e-12)
        else:
            assert np.isnan(result.at[dyad, "slope"])
