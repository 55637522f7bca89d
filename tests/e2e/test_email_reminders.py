"""Issue 11's "Done when" for email: the session page emails the link, a real worker sends
it to an SMTP server on loopback, the page shows it sent, and a reminder follows when the
client does not answer (reminder "hours" shortened to seconds for the worker)."""

from __future__ import annotations

import re
import time

import pytest
from django.urls import reverse

from rri_forms.models import ClinicFormSettings
from tests.e2e.conftest import PHONE, axe_serious, login_cookie

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

REMINDER = "A reminder: your questions after your session"


def _reload_until(page, selector: str, seconds: float = 30) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while page.locator(selector).count() == 0:
        assert time.monotonic() < deadline, f"{selector} did not appear"
        time.sleep(0.5)
        page.reload()


def test_emailed_link_arrives_then_a_reminder_follows(
    live_server, new_page, personas, start_worker, smtp_sink
):
    client = personas.dyad_a1.client
    client.email = "robin@example.org"
    client.save()
    ClinicFormSettings.objects.update_or_create(
        clinic=personas.clinic_a,
        defaults={"reminder_count": 1, "reminder_after_hours": 1, "quiet_from_hour": 0,
                  "quiet_until_hour": 0},
    )  # fmt: skip
    # For this worker an "hour" of the reminder settings lasts 4 s, and it looks every second.
    start_worker(
        env={**smtp_sink.env, "REMINDER_HOUR_SECONDS": "4", "REMINDER_SCAN_CRON": "* * * * * *"}
    )
    staff, watch = new_page()
    login_cookie(staff.context, live_server, personas.therapist_a1.user)
    session_url = live_server.url + reverse("session_detail", args=[personas.session_a1.pk])
    staff.goto(session_url)
    staff.get_by_role("button", name="Email a link to the client").click()
    staff.wait_for_url(session_url)
    assert "on its way to the client by email" in staff.content()

    _reload_until(staff, '#link-emails [data-email-status="sent"]')
    assert "sent" in staff.locator("#link-emails li").first.inner_text()
    assert axe_serious(staff) == []
    [message] = smtp_sink.messages
    assert message["To"] == "robin@example.org"
    link_url = re.search(r"http://\S+/f/\S+", message.get_payload()).group(0)
    assert link_url.startswith(live_server.url)

    # The client does not answer: one reminder, carrying the same link, a few seconds on.
    _reload_until(staff, '#link-emails li:has-text("Reminder 1") [class="text-success"]')
    assert [m["Subject"] for m in smtp_sink.messages][1:] == [REMINDER]
    assert link_url in smtp_sink.messages[1].get_payload()
    home = live_server.url + reverse("therapist_home")
    staff.goto(home)
    assert "1 reminder sent" in staff.locator("#reminders").inner_text()

    phone, _ = new_page(**PHONE)
    phone.goto(link_url)
    assert phone.get_by_role("link", name="Start").count() == 1  # the emailed link works
    assert watch.problems() == []
