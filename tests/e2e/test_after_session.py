"""Issue 3's "Done when", in one browser run: the therapist logs a session, the client
answers on a phone and sends again, the therapist completes their forms, both sets of
scores are on the session page."""

from __future__ import annotations

import pytest
from django.urls import reverse

from rri_forms.models import Administration, Answer, ClientLink, Score
from rri_forms.selectors import link_instruments
from tests.e2e.conftest import PHONE, axe_serious, resubmit, snapshot_form
from tests.factories import PASSWORD, SessionFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _stored(session, rater: str) -> tuple[int, int, int]:
    forms = Administration.objects.filter(session=session, rater=rater)
    return (
        forms.count(),
        Answer.objects.filter(administration__in=forms).count(),
        Score.objects.filter(administration__in=forms).count(),
    )


def test_session_logged_client_answers_on_phone_therapist_completes(
    live_server, new_page, personas
):
    dyad = personas.dyad_a1
    SessionFactory(dyad=dyad, number=4)  # session 5 is next: no symptom measures are due
    staff, staff_watch = new_page()
    staff.goto(live_server.url + reverse("login"))
    assert axe_serious(staff) == []
    staff.get_by_label("Username").fill(personas.therapist_a1.user.username)
    staff.get_by_label("Password").fill(PASSWORD)
    staff.get_by_role("button", name="Sign in").click()
    staff.wait_for_url(lambda url: reverse("login") not in url)

    staff.goto(live_server.url + reverse("dyad_detail", args=[dyad.pk]))
    staff.get_by_role("link", name="Log session").click()
    staff.wait_for_url("**" + reverse("session_new", args=[dyad.pk]))
    assert staff.get_by_label("Session number").input_value() == "5"  # prefilled
    staff.get_by_role("button", name="Log session").click()
    session = dyad.sessions.get(number=5)
    session_url = live_server.url + reverse("session_detail", args=[session.pk])
    staff.wait_for_url(session_url)
    assert staff.locator(".qr svg").count() == 1
    link_url = staff.locator("#client-link").input_value()
    token = link_url.rsplit("/", 1)[1]
    assert link_url.startswith(live_server.url + "/f/") and token not in staff.url
    link = ClientLink.objects.get(session=session, revoked_at__isnull=True)
    assert sorted(i.code for i in link_instruments(link)) == ["RRI-C", "SESSION-CHECK"]
    staff.reload()  # shown once only
    assert staff.locator("#client-link").count() == 0 and token not in staff.content()

    phone, phone_watch = new_page(**PHONE)
    phone.goto(link_url)
    phone.get_by_role("link", name="Start").tap()
    phone.wait_for_url("**" + reverse("client_form"))
    questions = phone.locator("fieldset.q")
    assert questions.count() == 24 + 4
    for index in range(questions.count()):
        options = questions.nth(index).locator("label.opt")
        options.nth(index % options.count()).tap()
    sent = snapshot_form(phone, "form#client-form")
    phone.get_by_role("button", name="Send my answers").tap()
    phone.wait_for_url("**" + reverse("client_saved"))
    saved = _stored(session, "client")
    assert saved[:2] == (2, 28) and saved[2] > 0
    # Back, and the same answers sent again: the same "saved" page, nothing stored twice.
    phone.go_back()
    assert resubmit(phone, sent) == 302
    assert phone.url.endswith(reverse("client_saved"))
    assert "your answers are saved" in phone.locator("h1").inner_text()
    assert _stored(session, "client") == saved

    staff.reload()
    staff.get_by_role("link", name="Complete my forms").click()
    staff.wait_for_url("**" + reverse("therapist_forms", args=[session.pk]))
    questions = staff.locator("fieldset.q")
    for index in range(questions.count()):
        options = questions.nth(index).locator("label.opt")
        options.nth((index + 2) % options.count()).click()
    staff.get_by_role("button", name="Save my forms").click()
    staff.wait_for_url(session_url)

    def total(code: str) -> str:
        score = Score.objects.get(
            administration__session=session, administration__instrument_code=code, scale="total"
        )
        return f"{score.value:.2f}"

    client_section = staff.locator("section[aria-labelledby=client-forms]").inner_text()
    therapist_section = staff.locator("section[aria-labelledby=therapist-forms]").inner_text()
    assert "RRI-C" in client_section and total("RRI-C") in client_section
    assert total("SESSION-CHECK") in client_section
    assert "RRI-T" in therapist_section and total("RRI-T") in therapist_section
    assert _stored(session, "therapist")[0] == 2
    assert staff_watch.problems() == [] and phone_watch.problems() == []
