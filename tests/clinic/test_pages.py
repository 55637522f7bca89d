"""The staff pages as a user meets them: forms, messages and errors."""

from __future__ import annotations

import datetime

import pytest
from django.urls import reverse

from clinic.models import Client, TherapySession

pytestmark = pytest.mark.django_db


def test_caseload_lists_only_own_dyads(personas, login):
    body = login("therapist_a1").get(reverse("caseload")).content.decode()
    assert personas.dyad_a1.client.code in body
    assert personas.dyad_a2.client.code not in body
    assert personas.dyad_b1.client.code not in body


def test_caseload_query_count_is_constant(personas, login, django_assert_max_num_queries):
    http = login("admin_a")
    # session, user, second-factor device, staff membership, the page's count and the
    # annotated dyad list (the session is no longer re-saved on every request), and the
    # access-log row naming the clients shown
    with django_assert_max_num_queries(8):
        response = http.get(reverse("caseload"))
    assert response.status_code == 200


def test_supervisor_team_shows_supervisees_only(personas, login):
    body = login("supervisor_a").get(reverse("team")).content.decode()
    assert personas.therapist_a1.display_name in body
    assert personas.therapist_a2.display_name not in body


def test_add_client_opens_dyad(personas, login):
    http = login("therapist_a1")
    response = http.post_form(
        reverse("client_new"),
        {"code": "C-9001", "display_name": "Noor", "email": "", "started_on": "2026-01-05"},
    )
    client = Client.objects.get(clinic=personas.clinic_a, code="C-9001")
    dyad = client.dyads.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("dyad_detail", args=[dyad.pk])
    assert dyad.therapist == personas.therapist_a1


def test_duplicate_client_code_is_a_form_error(personas, login):
    http = login("therapist_a1")
    response = http.post_form(
        reverse("client_new"),
        {"code": personas.dyad_a1.client.code, "started_on": "2026-01-05"},
    )
    assert response.status_code == 200
    assert "already has a client with this code" in response.content.decode()


@pytest.mark.parametrize("code", ["", "has space", "x" * 40, "<script>"])
def test_bad_client_codes_are_refused(personas, login, code):
    http = login("therapist_a1")
    response = http.post_form(reverse("client_new"), {"code": code, "started_on": "2026-01-05"})
    assert response.status_code == 200
    assert not Client.objects.filter(code=code).exists()


def test_log_session_form_is_prefilled(personas, login):
    http = login("therapist_a1")
    body = http.get(reverse("session_new", args=[personas.dyad_a1.pk])).content.decode()
    assert 'value="4"' in body  # three sessions exist
    assert f'value="{personas.clinic_a.today().isoformat()}"' in body


@pytest.mark.parametrize(
    ("number", "date", "message"),
    [
        ("1", "today", "already has a session with this number"),
        ("5", "tomorrow", "cannot be in the future"),
        ("5", "not-a-date", "Enter a valid date"),
        ("0", "today", "greater than or equal to 1"),
        ("abc", "today", "Enter a whole number"),
    ],
)
def test_log_session_bad_input(personas, login, number, date, message):
    today = personas.clinic_a.today()
    date = {"today": today, "tomorrow": today + datetime.timedelta(days=1)}.get(date, date)
    http = login("therapist_a1")
    before = TherapySession.objects.count()
    response = http.post_form(
        reverse("session_new", args=[personas.dyad_a1.pk]),
        {"number": number, "date": str(date), "attendance": "attended"},
    )
    assert response.status_code == 200
    assert message in response.content.decode()
    assert TherapySession.objects.count() == before


def test_log_session_redirects_to_session_page(personas, login):
    http = login("therapist_a1")
    response = http.post_form(
        reverse("session_new", args=[personas.dyad_a1.pk]),
        {"number": "4", "date": str(personas.clinic_a.today()), "attendance": "no_show"},
    )
    session = TherapySession.objects.get(dyad=personas.dyad_a1, number=4)
    assert response["Location"] == reverse("session_detail", args=[session.pk])
    assert session.attendance == "no_show"


def test_post_without_csrf_token_is_refused(personas, login):
    http = login("therapist_a1")
    response = http.post(
        reverse("dyad_end", args=[personas.dyad_a1.pk]), {"ended_on": "2026-01-01"}
    )
    assert response.status_code == 403
    personas.dyad_a1.refresh_from_db()
    assert personas.dyad_a1.is_active


def test_unknown_ids_are_404(personas, login):
    http = login("admin_a")
    assert http.get(reverse("dyad_detail", args=[999999])).status_code == 404
    assert http.get(reverse("session_detail", args=[999999])).status_code == 404
    assert http.get("/dyads/not-a-number/").status_code == 404


def test_caseload_search_and_pages(personas, login):
    from clinic.views.care import CASELOAD_PAGE_SIZE
    from tests.factories import ClientFactory, DyadFactory

    for i in range(CASELOAD_PAGE_SIZE + 2):
        DyadFactory(
            therapist=personas.therapist_a2,
            client=ClientFactory(clinic=personas.clinic_a, code=f"BULK-{i:03d}"),
        )
    http = login("admin_a")
    first = http.get(reverse("caseload"), {"status": "all"})
    assert len(first.context["dyads"]) == CASELOAD_PAGE_SIZE
    assert "Page 1 of 2" in first.content.decode()
    second = http.get(reverse("caseload"), {"status": "all", "page": "2"})
    assert len(second.context["dyads"]) == second.context["page"].paginator.count - 50
    found = http.get(reverse("caseload"), {"status": "all", "q": "bulk-01"})
    codes = {d.client.code for d in found.context["dyads"]}
    assert codes == {f"BULK-{i:03d}" for i in range(10, 20)}
    nothing = http.get(reverse("caseload"), {"q": "<zz>"}).content.decode()
    assert "No dyads match “&lt;zz&gt;”" in nothing
    # A therapist's search stays within their own dyads.
    mine = login("therapist_a1").get(reverse("caseload"), {"status": "all", "q": "BULK"})
    assert list(mine.context["dyads"]) == []
