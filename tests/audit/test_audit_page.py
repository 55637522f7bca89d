"""The audit trail page: admins only, their clinic only; reads and changes; filters; pages."""

from __future__ import annotations

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from clinic.models import AccessLog
from clinic.selectors import audit as audit_selectors
from tests.factories import StaffFactory

pytestmark = pytest.mark.django_db


def test_nav_links_the_audit_trail_for_admins_only(personas, login):
    assert reverse("audit_log") in login("admin_a").get(reverse("team")).content.decode()
    assert reverse("audit_log") not in login("supervisor_a").get(reverse("team")).content.decode()


def _write_activity(personas, login):
    """Therapist A1 logs a session, the supervisor reads it, B1 logs one in clinic B."""
    a1 = login("therapist_a1")
    data = {"number": 50, "date": personas.dyad_a1.started_on.isoformat(), "attendance": "no_show"}
    assert a1.post_form(reverse("session_new", args=[personas.dyad_a1.pk]), data).status_code == 302
    supervisor = login("supervisor_a")
    assert (
        supervisor.get(reverse("session_detail", args=[personas.session_a1.pk])).status_code == 200
    )
    b1 = login("therapist_b1")
    data = {"number": 60, "date": personas.dyad_b1.started_on.isoformat(), "attendance": "no_show"}
    assert b1.post_form(reverse("session_new", args=[personas.dyad_b1.pk]), data).status_code == 302


def test_lists_reads_and_changes_of_the_own_clinic_only(personas, login):
    _write_activity(personas, login)
    page = login("admin_a").get(reverse("audit_log"))
    body = page.content.decode()
    rows = page.context["page"].object_list
    kinds = {row["kind"] for row in rows}
    assert kinds == {"read", "write"}
    assert any(
        row["kind"] == "write"
        and row["actor"] == personas.therapist_a1.display_name
        and row["what"] == "Session created"
        for row in rows
    )
    assert any(
        row["kind"] == "read" and row["actor"] == personas.supervisor_a.display_name for row in rows
    )
    assert personas.therapist_b1.display_name not in body
    assert "B1-0001" not in body
    assert all(row["client_code"] != "B1-0001" for row in rows)


def test_filter_by_client_staff_and_kind(personas, login):
    _write_activity(personas, login)
    http = login("admin_a")
    rows = http.get(reverse("audit_log"), {"client": "a1-0001"}).context["page"].object_list
    assert rows and {row["client_code"] for row in rows} == {"A1-0001"}
    body = http.get(reverse("audit_log"), {"client": "A1-0001"}).content.decode()
    assert reverse("client_privacy", args=[personas.dyad_a1.client.pk]) in body
    staff = personas.supervisor_a.pk
    rows = http.get(reverse("audit_log"), {"staff": staff}).context["page"].object_list
    assert rows and {row["actor"] for row in rows} == {personas.supervisor_a.display_name}
    rows = http.get(reverse("audit_log"), {"kind": "write"}).context["page"].object_list
    assert rows and {row["kind"] for row in rows} == {"write"}


def test_filter_by_date_range(personas, login):
    _write_activity(personas, login)
    http = login("admin_a")
    today = timezone.localdate()
    around = {"date_from": today - datetime.timedelta(days=1), "date_to": today}
    assert http.get(reverse("audit_log"), around).context["page"].object_list
    before = {"date_from": "2001-01-01", "date_to": "2001-01-31"}
    response = http.get(reverse("audit_log"), before)
    assert list(response.context["page"].object_list) == []
    assert "Nothing recorded matches" in response.content.decode()
    far = {"date_from": "0001-01-01", "date_to": "9999-12-31"}
    assert http.get(reverse("audit_log"), far).context["page"].object_list


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"client": "NOPE-1"}, "No client of this clinic has the code NOPE-1."),
        ({"client": "B1-0001"}, "No client of this clinic has the code B1-0001."),
        ({"date_from": "yesterday"}, "Enter the date as YYYY-MM-DD"),
        (
            {"date_from": "2026-02-02", "date_to": "2026-02-01"},
            "The start date (2026-02-02) is after the end date",
        ),
        ({"staff": "999999"}, "Select a valid choice."),
        ({"kind": "everything"}, "Select a valid choice."),
    ],
)
def test_bad_filters_show_a_message_and_no_rows(personas, login, params, message):
    response = login("admin_a").get(reverse("audit_log"), params)
    assert response.status_code == 200
    assert response.context["page"] is None
    assert message in response.content.decode()


def test_another_clinics_staff_member_is_not_a_valid_filter(personas, login):
    response = login("admin_a").get(reverse("audit_log"), {"staff": personas.therapist_b1.pk})
    assert response.context["page"] is None
    assert "Select a valid choice." in response.content.decode()


def test_pages(personas, login, monkeypatch):
    monkeypatch.setattr(audit_selectors, "PAGE_SIZE", 5)
    for _ in range(12):
        AccessLog.objects.create(
            clinic=personas.clinic_a,
            staff=personas.supervisor_a,
            action=AccessLog.Action.VIEW_DYAD,
            client_id=personas.dyad_a1.client_id,
            object_type="dyad",
            object_id=personas.dyad_a1.pk,
            path="/dyads/1/",
        )
    http = login("admin_a")
    params = {"kind": "read"}
    first = http.get(reverse("audit_log"), params)
    page = first.context["page"]
    assert page.paginator.count == 12 and len(page.object_list) == 5
    assert "page=2" in first.content.decode() and "kind=read" in first.content.decode()
    last = http.get(reverse("audit_log"), {**params, "page": 3}).context["page"]
    assert len(last.object_list) == 3  # the 12, and the first view's own read of them
    assert http.get(reverse("audit_log"), {**params, "page": "x"}).context["page"].number == 1


def test_erased_clients_stay_in_the_trail(personas, login):
    _write_activity(personas, login)
    client = personas.dyad_a1.client
    http = login("admin_a")
    assert (
        http.post_form(
            reverse("client_erase", args=[client.pk]), {"confirm": client.code}
        ).status_code
        == 302
    )
    rows = http.get(reverse("audit_log"), {"kind": "write"}).context["page"].object_list
    erased = [row for row in rows if row["client_id"] == client.pk]
    assert erased and all(row["client_erased"] for row in erased)
    assert any(row["what"] == "Client deleted" for row in erased)
    assert any(row["what"] == "Session deleted" for row in erased)
    body = http.get(reverse("audit_log")).content.decode()
    assert f"erased #{client.pk}" in body
    # The other clinic's admin sees none of it.
    personas.admin_b = StaffFactory(clinic=personas.clinic_b, role="admin")
    rows_b = login("admin_b").get(reverse("audit_log")).context["page"].object_list
    assert all(row["client_id"] != client.pk for row in rows_b)
    assert any(row["client_code"] == "B1-0001" for row in rows_b)


@pytest.mark.parametrize(
    ("persona", "url_name", "what"),
    [
        ("therapist_a1", "therapist_home", "therapist home: 1 dyads (active)"),
        ("supervisor_a", "supervisor_dashboard", "supervision dashboard: 1 dyads of 1 therapists"),
        ("admin_a", "team_analytics", "team analytics: "),
    ],
)
def test_dashboard_views_are_logged_without_client_codes(personas, login, persona, url_name, what):
    """Dashboards show many clients at once: one access-log row per view, naming the scope
    (counts and filters), never a client code."""
    response = login(persona).get(reverse(url_name))
    assert response.status_code == 200
    entry = AccessLog.objects.get()
    assert entry.action == AccessLog.Action.VIEW_DASHBOARD
    assert entry.staff == getattr(personas, persona) and entry.client is None
    assert entry.detail.startswith(what)
    assert "A1-" not in entry.detail and "A2-" not in entry.detail
    # A refused view leaves no entry.
    login("therapist_a1" if persona != "therapist_a1" else "supervisor_a").get(reverse(url_name))
    assert AccessLog.objects.count() == 1
