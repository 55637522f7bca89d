"""A risk answer (PHQ-9 item 9 above 0): the client is shown where to get help now, and the
alert heads the therapist's lists in its own colour until someone acknowledges it."""

from __future__ import annotations

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from outcomes.models import AlertAcknowledgement
from rri_forms.models import ClientLink, Instrument
from rri_forms.models.links import hash_token, new_token
from rri_forms.services.links import link_issue
from rri_forms.services.settings import form_settings_update
from tests.e2e.conftest import PHONE, login_cookie

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

CRISIS = "Clinic A's duty clinician: 0100 555 0100 (24 hours). Emergency: 112."


def _answer_all(page, instruments, risk_value: int) -> None:
    """The lowest option everywhere except PHQ-9 item 9."""
    for instrument in instruments:
        for item in instrument.spec.items:
            name = f"f{instrument.pk}_{item.number}"
            value = item.response_scale.min
            if instrument.code == "PHQ-9" and item.number == 9:
                value = risk_value
            page.locator(f'label[for="{name}-{value}"]').tap()


def test_a_risk_answer_shows_help_and_heads_the_alerts_until_acknowledged(
    live_server, new_page, personas
):
    form_settings_update(actor_user=personas.admin_a.user, crisis_message=CRISIS)
    first = personas.dyad_a1.sessions.get(number=1)  # symptom measures are due at session 1
    link, token = link_issue(actor_user=personas.therapist_a1.user, session=first)
    by_id = Instrument.objects.in_bulk(link.instrument_ids)
    instruments = [by_id[i] for i in link.instrument_ids]
    assert "PHQ-9" in {i.code for i in instruments}
    # A newer alert on the same dyad: session 3's link expired unanswered.
    ClientLink.objects.create(
        session=personas.session_a1,
        token_hash=hash_token(new_token()),
        instrument_ids=[],
        created_by=personas.therapist_a1,
        expires_at=timezone.now() - datetime.timedelta(hours=1),
    )

    phone, watch = new_page(**PHONE)
    phone.goto(live_server.url + reverse("client_link", args=[token]))
    phone.get_by_role("link", name="Start").tap()
    phone.wait_for_url("**" + reverse("client_form"))
    # Part titles name the questionnaire, not its code.
    titles = phone.locator("section.instrument h2").all_inner_texts()
    assert not any(t.endswith(("PHQ-9", "RRI-C", "GAD-7")) for t in titles), titles
    inline = phone.locator("#client-form .crisis")
    assert inline.count() == 1 and not inline.is_visible()
    _answer_all(phone, instruments, risk_value=1)
    assert inline.is_visible()  # at once, below the PHQ-9: where to get help now
    assert "emergency" in inline.inner_text()
    phone.get_by_role("button", name="Send my answers").tap()
    phone.wait_for_url("**" + reverse("client_saved"))
    crisis = phone.locator("#crisis")
    assert crisis.is_visible()
    assert CRISIS in crisis.inner_text()
    assert "If you need help now" in crisis.inner_text()
    assert watch.problems() == []

    staff, staff_watch = new_page()
    login_cookie(staff.context, live_server, personas.therapist_a1.user)
    staff.goto(live_server.url + reverse("dyad_detail", args=[personas.dyad_a1.pk]))
    alerts = staff.locator("#alerts-h + ul > li")
    assert alerts.first.get_attribute("data-kind") == "risk"
    assert alerts.first.locator(".badge-risk").inner_text() == "Risk: act now"
    kinds = [alerts.nth(i).get_attribute("data-kind") for i in range(alerts.count())]
    assert "forms_missed" in kinds  # newer (session 3), yet below the risk alert

    staff.goto(live_server.url + reverse("therapist_home"))
    assert staff.locator("td.alerts .badge-risk").count() == 1

    staff.goto(live_server.url + reverse("dyad_detail", args=[personas.dyad_a1.pk]))
    risk = staff.locator('#alerts-h + ul > li[data-kind="risk"]')
    risk.get_by_label("What was done").fill("Phoned the client: safe, plan agreed for tonight.")
    risk.get_by_role("button", name="Acknowledge alert").click()
    staff.wait_for_url("**" + reverse("dyad_detail", args=[personas.dyad_a1.pk]) + "#alerts-h")
    alerts = staff.locator("#alerts-h + ul > li")
    assert alerts.first.get_attribute("data-kind") == "forms_missed"  # session order again
    risk = staff.locator('#alerts-h + ul > li[data-kind="risk"]')
    assert "Acknowledged by" in risk.inner_text()
    assert "Phoned the client: safe, plan agreed for tonight." in risk.inner_text()
    ack = AlertAcknowledgement.objects.get()
    assert (ack.session_id, ack.kind, ack.acknowledged_by_id) == (
        first.pk,
        "risk",
        personas.therapist_a1.pk,
    )
    staff.goto(live_server.url + reverse("therapist_home"))
    assert staff.locator("td.alerts .badge-risk").count() == 0
    assert staff_watch.problems() == []
