"""Every named URL × every persona: who gets in, who gets a 404, who a 403.

Objects in the matrix belong to therapist A1 (clinic A), supervised by supervisor A.
A new URL must be added to MATRIX or to EXEMPT with a reason, or
test_every_url_is_covered fails.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from django.conf import settings
from django.db.models import Max
from django.middleware.csrf import CSRF_ALLOWED_CHARS
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils.crypto import get_random_string

from clinic.models import AccessLog, Client
from tests.factories import ClientFactory

PERSONAS = ["anonymous", "therapist_a1", "therapist_a2", "supervisor_a", "admin_a", "therapist_b1"]
LOGIN = "login-redirect"


@dataclass(frozen=True)
class Case:
    url_name: str
    args: Callable  # personas -> list of URL args
    method: str
    expect: dict[str, int | str]
    data: Callable | None = None


def _everyone(status: int, **overrides: int | str) -> dict[str, int | str]:
    expect: dict[str, int | str] = dict.fromkeys(PERSONAS, status)
    expect["anonymous"] = LOGIN
    expect.update(overrides)
    return expect


def _read_a1(**overrides: int | str) -> dict[str, int | str]:
    """A1's own object: A1, A1's supervisor and the clinic admin read; others 404."""
    return _everyone(200, therapist_a2=404, therapist_b1=404, **overrides)


def _write_a1(**overrides: int | str) -> dict[str, int | str]:
    return _read_a1(supervisor_a=403, **overrides)


def _dyad_a1(p):
    return [p.dyad_a1.pk]


def _staff_a1(p):
    return [p.therapist_a1.pk]


def _staff_b1(p):
    return [p.therapist_b1.pk]


def _supervisor_a(p):
    return [p.supervisor_a.pk]


def _client_a1(p):
    return [p.dyad_a1.client_id]


def _session_a1(p):
    return [p.session_a1.pk]


MATRIX: list[Case] = [
    Case("home", lambda p: [], "get", _everyone(302)),
    Case("caseload", lambda p: [], "get", _everyone(200)),
    Case("team", lambda p: [], "get",
         _everyone(200, therapist_a1=403, therapist_a2=403, therapist_b1=403)),
    Case("therapist_detail", lambda p: [p.therapist_a1.pk], "get", _read_a1()),
    # The supervisor does not supervise A2: A2's pages are invisible to them.
    Case("therapist_detail", lambda p: [p.therapist_a2.pk], "get",
         _everyone(404, therapist_a2=200, admin_a=200)),
    Case("client_new", lambda p: [], "get", _everyone(200, supervisor_a=403)),
    Case("client_new", lambda p: [], "post", _everyone(200, supervisor_a=403)),  # empty: errors
    Case("client_new", lambda p: [], "post", _everyone(302, supervisor_a=403),
         data=lambda p: {"code": "NEW-1", "therapist": p.therapist_a1.pk,
                         "started_on": p.dyad_a1.started_on.isoformat()}),
    Case("dyad_detail", _dyad_a1, "get", _read_a1()),
    Case("dyad_detail", lambda p: [p.dyad_a2.pk], "get",
         _everyone(404, therapist_a2=200, admin_a=200)),
    Case("dyad_detail", lambda p: [p.dyad_b1.pk], "get", _everyone(404, therapist_b1=200)),
    # Acknowledging alerts: the dyad's therapist, their supervisor and the admin (a bare
    # POST is turned back with a message); others never see the dyad.
    Case("alert_acknowledge", _dyad_a1, "post",
         _read_a1(therapist_a1=302, supervisor_a=302, admin_a=302)),
    Case("alert_acknowledge", lambda p: [p.dyad_b1.pk], "post",
         _everyone(404, therapist_b1=302)),
    Case("session_new", _dyad_a1, "get", _write_a1()),
    Case("session_new", _dyad_a1, "post", _write_a1(therapist_a1=302, admin_a=302),
         data=lambda p: {"number": 90, "date": p.dyad_a1.started_on.isoformat(),
                         "attendance": "attended"}),
    Case("dyad_end", _dyad_a1, "post", _write_a1(therapist_a1=302, admin_a=302),
         data=lambda p: {"ended_on": p.dyad_a1.started_on.isoformat()}),
    Case("dyad_transfer", _dyad_a1, "get", _write_a1(therapist_a1=403)),
    Case("dyad_transfer", _dyad_a1, "post", _write_a1(therapist_a1=403)),  # empty: errors
    Case("client_edit", _client_a1, "get", _write_a1()),
    Case("client_edit", _client_a1, "post", _write_a1()),  # empty: errors
    Case("client_dyad_new", _client_a1, "get", _write_a1()),
    Case("client_dyad_new", _client_a1, "post", _write_a1()),  # empty: errors
    Case("session_detail", lambda p: [p.session_a1.pk], "get", _read_a1()),
    Case("session_detail", lambda p: [p.session_b1.pk], "get", _everyone(404, therapist_b1=200)),
    # Only the dyad's own therapist rates the relationship from the therapist's side.
    Case("therapist_forms", _session_a1, "get", _write_a1(admin_a=403)),
    Case("therapist_forms", _session_a1, "post", _write_a1(admin_a=403)),
    Case("link_new", _session_a1, "post", _write_a1(therapist_a1=302, admin_a=302)),
    Case("link_revoke", _session_a1, "post", _write_a1(therapist_a1=302, admin_a=302)),
    Case("link_email", _session_a1, "post", _write_a1(therapist_a1=302, admin_a=302)),
    Case("password_change", lambda p: [], "get", _everyone(200)),
    Case("form_settings", lambda p: [], "get", _everyone(403, admin_a=200)),
    Case("form_settings", lambda p: [], "post", _everyone(403, admin_a=200)),
    Case("therapist_home", lambda p: [], "get",
         _everyone(403, therapist_a1=200, therapist_a2=200, therapist_b1=200)),
    Case("supervisor_dashboard", lambda p: [], "get",
         _everyone(200, therapist_a1=403, therapist_a2=403, therapist_b1=403)),
    Case("team_analytics", lambda p: [], "get",
         _everyone(200, therapist_a1=403, therapist_a2=403, therapist_b1=403)),
    Case("exports", lambda p: [], "get", _everyone(200)),
    Case("export_csv_long", lambda p: [], "get", _everyone(200)),
    Case("export_csv_items", lambda p: [], "get", _everyone(200)),
    Case("export_fhir_responses", lambda p: [], "get", _everyone(200)),
    Case("export_fhir_questionnaire", lambda p: ["RRI-C", "1"], "get", _everyone(200)),
    Case("audit_log", lambda p: [], "get", _everyone(403, admin_a=200)),
    Case("job_health", lambda p: [], "get", _everyone(403, admin_a=200)),
    Case("staff_list", lambda p: [], "get", _everyone(403, admin_a=200)),
    Case("staff_list", lambda p: [], "post", _everyone(403, admin_a=302)),
    Case("staff_new", lambda p: [], "get", _everyone(403, admin_a=200)),
    Case("staff_new", lambda p: [], "post", _everyone(403, admin_a=200)),  # empty: errors
    Case("staff_edit", _staff_a1, "get", _everyone(403, admin_a=200)),
    Case("staff_edit", _staff_a1, "post", _everyone(403, admin_a=200)),  # empty: errors
    Case("staff_edit", _staff_b1, "get", _everyone(403, admin_a=404)),
    Case("staff_supervision", _supervisor_a, "post", _everyone(403, admin_a=302)),
    Case("staff_supervision", _staff_b1, "post", _everyone(403, admin_a=404)),
    Case("staff_active", _staff_a1, "post", _everyone(403, admin_a=302),
         data=lambda p: {"active": "1"}),
    Case("staff_active", _staff_b1, "post", _everyone(403, admin_a=404)),
    Case("staff_reset_2fa", _staff_a1, "post", _everyone(403, admin_a=302)),
    Case("staff_reset_2fa", _staff_b1, "post", _everyone(403, admin_a=404)),
    Case("staff_invite", _staff_a1, "post", _everyone(403, admin_a=200)),
    Case("staff_invite", _staff_b1, "post", _everyone(403, admin_a=404)),
    Case("client_privacy", _client_a1, "get", _write_a1(therapist_a1=403)),
    Case("client_privacy_export", _client_a1, "get", _write_a1(therapist_a1=403)),
    Case("client_retention", _client_a1, "post", _write_a1(therapist_a1=403, admin_a=302),
         data=lambda p: {"retention_note": ""}),
    Case("client_pseudonymise", _client_a1, "post", _write_a1(therapist_a1=403, admin_a=302),
         data=lambda p: {"confirm": "wrong"}),
    Case("client_erase", _client_a1, "post", _write_a1(therapist_a1=403, admin_a=302),
         data=lambda p: {"confirm": "wrong"}),
]  # fmt: skip

EXEMPT = {
    "login": "public by design; covered by tests/clinic/test_auth_pages.py",
    "logout": "POST-only sign-out; covered by tests/clinic/test_auth_pages.py",
    "password_change_done": "static confirmation page after a password change",
    "client_link": "client flow, opened by token not login: tests/rri_forms/test_client_flow.py",
    "client_start": "client flow (session-bound): tests/rri_forms/test_client_flow.py",
    "client_form": "client flow (session-bound): tests/rri_forms/test_client_flow.py",
    "client_saved": "client flow (session-bound): tests/rri_forms/test_client_flow.py",
    "password_set": "one-time link from an admin, no login: tests/clinic/test_staff_admin.py",
    "password_set_done": "static confirmation page after setting a password",
    "two_factor_verify": "own user's second factor only: tests/security/test_two_factor.py",
    "two_factor_setup": "own user's enrolment only: tests/security/test_two_factor.py",
}


def _named_urls(resolver: URLResolver | None = None, namespace: str = "") -> set[str]:
    resolver = resolver or get_resolver()
    names: set[str] = set()
    for pattern in resolver.url_patterns:
        if isinstance(pattern, URLResolver):
            if pattern.namespace == "admin":
                continue  # Django's admin: superusers only, its own access control
            prefix = f"{pattern.namespace}:" if pattern.namespace else namespace
            names |= _named_urls(pattern, prefix)
        elif isinstance(pattern, URLPattern) and pattern.name:
            names.add(namespace + pattern.name)
    return names


def test_every_url_is_covered():
    covered = {case.url_name for case in MATRIX} | set(EXEMPT)
    missing = _named_urls() - covered
    assert not missing, f"URLs without access tests: {sorted(missing)}"


@pytest.mark.parametrize(
    ("case", "persona"),
    [(case, persona) for case in MATRIX for persona in PERSONAS],
    ids=[f"{c.url_name}-{c.method}-{i}-{p}" for i, c in enumerate(MATRIX) for p in PERSONAS],
)
def test_access(case: Case, persona: str, personas, login):
    http = login(persona)
    url = reverse(case.url_name, args=case.args(personas))
    logged_before = AccessLog.objects.aggregate(last=Max("pk"))["last"] or 0
    if case.method == "get":
        response = http.get(url)
    else:
        response = http.post_form(url, case.data(personas) if case.data else {})
    expected = case.expect[persona]
    if expected == LOGIN:
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))
        return
    assert response.status_code == expected, (persona, url, response.status_code)
    # A shared clinic computer's browser must keep no signed-in page, whatever its status.
    assert "no-store" in response.get("Cache-Control", ""), (persona, url)
    shown = _clients_shown(response)
    logged: set[int] = set()
    for entry in AccessLog.objects.filter(pk__gt=logged_before):
        assert entry.staff_id == personas.by_name(persona).pk
        logged |= {*entry.client_ids, *([entry.client_id] if entry.client_id else [])}
    # Every client whose code the page (or download) shows is in the access log.
    assert shown <= logged, (persona, url, sorted(shown - logged))


def _clients_shown(response) -> set[int]:  # type: ignore[no-untyped-def]
    if response.status_code != 200:
        return set()
    body = b"".join(response.streaming_content) if response.streaming else response.content
    text = body.decode(errors="replace")
    return {
        pk
        for pk, code in Client.objects.values_list("pk", "code")
        if re.search(rf"(?<![\w-]){re.escape(code)}(?![\w-])", text)
    }


@pytest.mark.django_db
def test_a_page_showing_clients_counts_as_shown():
    """The matrix's detector finds a code as a whole word, not inside a longer code."""

    class Page:
        status_code, streaming = 200, False
        content = b"<td>A1-0001</td> <td>XA2-00019</td>"

    first = ClientFactory(code="A1-0001")
    ClientFactory(code="A2-0001", clinic=first.clinic)
    assert _clients_shown(Page()) == {first.pk}


PUBLIC = ["login", "password_set_done", "client_start", "client_form", "client_saved"]


@pytest.mark.parametrize("method", ["put", "delete", "trace"])
def test_no_page_accepts_put_delete_or_trace(method, personas, login):
    """Dyad's pages answer GET and POST (and HEAD): anything else is a 405, before the view."""
    http = login("admin_a")
    urls = {reverse(case.url_name, args=case.args(personas)) for case in MATRIX}
    urls.add(reverse("password_change_done"))
    anonymous = login("anonymous")
    public = {reverse(name) for name in PUBLIC}
    public.add(reverse("client_link", args=["not-a-token"]))
    public.add(reverse("password_set", args=["MQ", "set-password"]))
    token = get_random_string(32, CSRF_ALLOWED_CHARS)  # as a script with a valid token
    answers: dict[str, int] = {}
    for client, group in ((http, urls), (anonymous, public)):
        client.cookies[settings.CSRF_COOKIE_NAME] = token
        for url in sorted(group):
            answers[url] = getattr(client, method)(url, HTTP_X_CSRFTOKEN=token).status_code
    assert {url: status for url, status in answers.items() if status != 405} == {}
