"""Reminders and the outbox's rules, run in this process (the worker tests are elsewhere)."""

from __future__ import annotations

import datetime

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from rri_forms.models import ClientLink, ClinicFormSettings, LinkEmail
from rri_forms.services.links import link_email
from rri_forms.services.outbox import (
    deliver,
    in_quiet_hours,
    queue_due_reminders,
    quiet_hours_end,
)

pytestmark = pytest.mark.django_db

NOON_UTC = datetime.datetime(2026, 6, 1, 12, 0, tzinfo=datetime.UTC)


def reminders(clinic, count: int = 2, hours: int = 24, quiet=(0, 0)) -> ClinicFormSettings:
    settings, _ = ClinicFormSettings.objects.update_or_create(
        clinic=clinic,
        defaults={
            "reminder_count": count,
            "reminder_after_hours": hours,
            "quiet_from_hour": quiet[0],
            "quiet_until_hour": quiet[1],
        },
    )
    return settings


def emailed_link(personas, *, hours_ago: float = 0) -> ClientLink:
    """A link emailed (and sent) `hours_ago`, as the worker would have left it."""
    client = personas.dyad_a1.client
    client.email = "robin@example.org"
    client.save()
    email, _ = link_email(
        actor_user=personas.therapist_a1.user,
        session=personas.session_a1,
        origin="https://dyad.example.org",
    )
    assert deliver(email.pk, last_try=False, retry_at=None).status == "sent"
    back = timezone.now() - datetime.timedelta(hours=hours_ago)
    ClientLink.objects.filter(pk=email.link_id).update(created_at=back)
    LinkEmail.objects.filter(pk=email.pk).update(created_at=back)
    mail.outbox.clear()
    return ClientLink.objects.get(pk=email.link_id)


def send_queued() -> list[str]:
    for email in LinkEmail.objects.filter(status="queued"):
        deliver(email.pk, last_try=False, retry_at=None)
    return [m.subject for m in mail.outbox]


def test_a_reminder_follows_an_unanswered_link_once(personas):
    reminders(personas.clinic_a, count=2, hours=24)
    link = emailed_link(personas, hours_ago=25)
    assert queue_due_reminders() == 1
    assert queue_due_reminders() == 0  # the same reminder is never queued twice
    assert send_queued() == ["A reminder: your questions after your session"]
    message = mail.outbox[0]
    assert message.to == ["robin@example.org"]
    assert "https://dyad.example.org/f/" in message.body
    # No clinical content: no code, no instrument, no scores.
    client = personas.dyad_a1.client
    assert client.code not in message.body and "RRI" not in message.body
    assert list(link.emails.values_list("number", "status")) == [(0, "sent"), (1, "sent")]


def test_the_second_reminder_waits_its_turn(personas):
    reminders(personas.clinic_a, count=2, hours=24)
    emailed_link(personas, hours_ago=30)
    assert queue_due_reminders() == 1
    # Reminder 2 is due 48 h after the link and 24 h after reminder 1: not yet.
    assert queue_due_reminders(timezone.now() + datetime.timedelta(hours=10)) == 0
    assert queue_due_reminders(timezone.now() + datetime.timedelta(hours=25)) == 1
    assert queue_due_reminders(timezone.now() + datetime.timedelta(hours=100)) == 0  # only 2


def test_no_reminder_before_its_time_or_when_turned_off(personas):
    settings = reminders(personas.clinic_a, count=1, hours=24)
    emailed_link(personas, hours_ago=23)
    assert queue_due_reminders() == 0
    settings.reminder_count = 0
    settings.save()
    assert queue_due_reminders(timezone.now() + datetime.timedelta(hours=2)) == 0


def test_no_reminder_after_submit_expiry_revoke_or_opt_out(personas):
    reminders(personas.clinic_a, count=1, hours=1)
    link = emailed_link(personas, hours_ago=2)
    for change, undo in [
        ({"used_at": timezone.now(), "submission_id": "00000000-0000-0000-0000-000000000001"},
         {"used_at": None, "submission_id": None}),
        ({"expires_at": timezone.now()}, {"expires_at": link.expires_at}),
        ({"revoked_at": timezone.now()}, {"revoked_at": None}),
    ]:  # fmt: skip
        ClientLink.objects.filter(pk=link.pk).update(**change)
        assert queue_due_reminders() == 0, change
        ClientLink.objects.filter(pk=link.pk).update(**undo)
    client = personas.dyad_a1.client
    client.reminders_off = True
    client.save()
    assert queue_due_reminders() == 0
    client.reminders_off = False
    client.save()
    assert queue_due_reminders() == 1


def test_a_queued_reminder_is_not_sent_once_the_client_answered(personas):
    reminders(personas.clinic_a, count=1, hours=1)
    link = emailed_link(personas, hours_ago=2)
    assert queue_due_reminders() == 1
    ClientLink.objects.filter(pk=link.pk).update(
        used_at=timezone.now(), submission_id="00000000-0000-0000-0000-000000000002"
    )
    assert send_queued() == []
    reminder = link.emails.get(number=1)
    assert reminder.status == "skipped" and reminder.last_error == "the client has answered"


def test_quiet_hours_in_the_clinic_time_zone(personas):
    clinic = personas.clinic_a
    clinic.time_zone = "Europe/Berlin"  # UTC+2 in June
    clinic.save()
    settings = reminders(clinic, quiet=(21, 8))
    assert not in_quiet_hours(settings, NOON_UTC)  # 14:00 in Berlin
    late = NOON_UTC.replace(hour=20)  # 22:00 in Berlin
    assert in_quiet_hours(settings, late)
    assert quiet_hours_end(settings, late) == NOON_UTC.replace(day=2, hour=6)  # 08:00 Berlin
    settings.quiet_from_hour = settings.quiet_until_hour = 5
    assert not in_quiet_hours(settings, late)


def test_no_reminder_is_queued_in_quiet_hours(personas):
    clinic = personas.clinic_a
    link = emailed_link(personas, hours_ago=2)
    now = timezone.now()
    hour = now.hour  # UTC clinic: quiet from this hour to the next
    reminders(clinic, count=1, hours=1, quiet=(hour, (hour + 1) % 24))
    assert queue_due_reminders(now) == 0
    assert queue_due_reminders(now + datetime.timedelta(hours=1)) == 1
    assert link.emails.filter(number=1).exists()


def test_a_5xx_is_final_and_keeps_the_servers_reason(personas, settings):
    import smtplib

    link = emailed_link(personas)
    settings.EMAIL_BACKEND = "tests.rri_forms.test_reminders.RefusingBackend"
    reminders(personas.clinic_a, count=1, hours=1)
    email = LinkEmail.objects.create(link=link, number=1, origin="https://x.example")
    outcome = deliver(email.pk, last_try=False, retry_at=None)
    assert outcome.permanent and outcome.status == "failed"
    email.refresh_from_db()
    assert email.last_error == "550 5.1.1 Mailbox unavailable"
    assert issubclass(RefusingBackend.error, smtplib.SMTPException)


class RefusingBackend:
    """An email backend whose server refuses the recipient: for the status mapping only."""

    import smtplib

    error = smtplib.SMTPRecipientsRefused

    def __init__(self, **kwargs):  # type: ignore[no-untyped-def]
        pass

    def open(self) -> None:
        pass

    def send_messages(self, messages):  # type: ignore[no-untyped-def]
        raise self.error({"robin@example.org": (550, b"5.1.1 Mailbox unavailable")})

    def close(self) -> None:
        pass


def test_form_settings_page_saves_reminders(personas, login):
    http = login("admin_a")
    page = http.get(reverse("form_settings")).content.decode()
    assert "Email reminders" in page and "quiet_from_hour" in page
    data = {
        "client_codes": ["RRI-C", "SESSION-CHECK"],
        "symptom_codes": [],
        "symptom_every": "4",
        "therapist_codes": ["RRI-T"],
        "link_lifetime_hours": "72",
        "correction_days": "7",
        "reminder_count": "2",
        "reminder_after_hours": "20",
        "quiet_from_hour": "22",
        "quiet_until_hour": "7",
    }
    assert http.post_form(reverse("form_settings"), data).status_code == 302
    saved = ClinicFormSettings.objects.get(clinic=personas.clinic_a)
    assert (saved.reminder_count, saved.reminder_after_hours) == (2, 20)
    assert (saved.quiet_from_hour, saved.quiet_until_hour) == (22, 7)
    data["reminder_count"] = "3"
    response = http.post_form(reverse("form_settings"), data)
    assert response.status_code == 200
    assert ClinicFormSettings.objects.get(clinic=personas.clinic_a).reminder_count == 2


def test_client_opts_out_on_the_client_page(personas, login):
    client = personas.dyad_a1.client
    http = login("therapist_a1")
    url = reverse("client_edit", args=[client.pk])
    assert "No email reminders" in http.get(url).content.decode()
    http.post_form(url, {"code": client.code, "email": "robin@example.org", "reminders_off": "on"})
    client.refresh_from_db()
    assert client.reminders_off and client.email == "robin@example.org"


def test_session_page_home_and_dyad_page_show_delivery(personas, login):
    reminders(personas.clinic_a, count=1, hours=1)
    link = emailed_link(personas, hours_ago=2)
    LinkEmail.objects.create(
        link=link, number=1, origin="https://x.example", status="failed",
        last_error="550 5.1.1 Mailbox unavailable",
    )  # fmt: skip
    http = login("therapist_a1")
    session = http.get(reverse("session_detail", args=[personas.session_a1.pk])).content.decode()
    assert 'data-email-status="sent"' in session and 'data-email-status="failed"' in session
    assert "550 5.1.1 Mailbox unavailable" in session
    for page in (reverse("therapist_home"), reverse("dyad_detail", args=[personas.dyad_a1.pk])):
        body = http.get(page).content.decode()
        assert "reminder 1 failed: 550 5.1.1 Mailbox unavailable" in body, page


def test_postgres_refuses_a_second_email_with_the_same_number(personas):
    from django.db import IntegrityError, transaction

    link = emailed_link(personas)
    LinkEmail.objects.create(link=link, number=1, origin="https://x.example")
    with pytest.raises(IntegrityError, match="link_email_once_per_number"), transaction.atomic():
        LinkEmail.objects.create(link=link, number=1, origin="https://x.example")
    with pytest.raises(IntegrityError, match="link_email_number_range"), transaction.atomic():
        LinkEmail.objects.create(link=link, number=3, origin="https://x.example")
