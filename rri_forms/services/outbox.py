"""Sending client-link emails from the outbox, and finding the reminders that are due.

Delivery is at least once with a window of milliseconds, never "maybe lost": the job locks
the outbox row, talks SMTP and marks the row sent in one database transaction. A worker
that dies before the server accepted the message (its final 250) leaves the row unsent
and the server discards the message; the retried job sends it. A worker that dies after
the server's 250 but before the commit, which is one UPDATE and a COMMIT later, leaves the
row unsent too, and the retry sends a second copy: SMTP has no way to ask the server
whether it took a message, so exactly once cannot be had; this window is as small as the
protocol allows. A retried job that finds its row sent (the worker died after the commit,
before Procrastinate marked the job done) sends nothing. docs/deployment.md "Email and
reminders".
"""

from __future__ import annotations

import contextlib
import datetime
import smtplib
import zoneinfo
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypedDict

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.db import IntegrityError, transaction
from django.db.models import Exists, Max, OuterRef, Subquery
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from rri_forms.models import ClientLink, ClinicFormSettings, LinkEmail

if TYPE_CHECKING:
    from django_stubs_ext import WithAnnotations

ERROR_CHARS = LinkEmail._meta.get_field("last_error").max_length


@dataclass(frozen=True)
class Outcome:
    status: str
    error: str = ""
    permanent: bool = False
    retry_at: datetime.datetime | None = None  # not sent now, try again then (quiet hours)


def queue_link_email(link: ClientLink, *, origin: str, number: int = 0) -> LinkEmail:
    """The outbox row and its job, in the caller's transaction: both or neither."""
    from rri_forms.tasks import send_link_email  # tasks import this module

    email = LinkEmail.objects.create(link=link, number=number, origin=origin)
    send_link_email.defer(email_id=email.pk)
    return email


def reminder_hour() -> datetime.timedelta:
    return datetime.timedelta(seconds=settings.REMINDER_HOUR_SECONDS)


def in_quiet_hours(form_settings: ClinicFormSettings, at: datetime.datetime) -> bool:
    start, end = form_settings.quiet_from_hour, form_settings.quiet_until_hour
    hour = at.astimezone(zoneinfo.ZoneInfo(form_settings.clinic.time_zone)).hour
    if start == end:
        return False
    if start < end:
        return start <= hour < end
    return hour >= start or hour < end  # across midnight, e.g. 21 → 8


def quiet_hours_end(form_settings: ClinicFormSettings, at: datetime.datetime) -> datetime.datetime:
    """The first whole hour at or after `at` outside the clinic's quiet hours."""
    zone = zoneinfo.ZoneInfo(form_settings.clinic.time_zone)
    local = at.astimezone(zone).replace(minute=0, second=0, microsecond=0)
    for hours in range(1, 25):
        candidate = (local + datetime.timedelta(hours=hours)).astimezone(datetime.UTC)
        if not in_quiet_hours(form_settings, candidate):
            return candidate
    return at


def _skip_reason(email: LinkEmail, now: datetime.datetime) -> str:
    link = email.link
    client = link.session.dyad.client
    if link.revoked_at is not None:
        return _("the link was replaced or revoked")
    if link.used_at is not None:
        return _("the client has answered")
    if link.expires_at <= now:
        return _("the link has expired")
    if not client.email:
        return _("the client has no email address on file")
    if email.is_reminder:
        if client.reminders_off:
            return _("the client asked for no reminders")
        clinic = link.session.dyad.clinic
        if getattr(clinic, "form_settings", None) is None or (
            clinic.form_settings.reminder_count < email.number
        ):
            return _("reminders were turned off")
    if link.token() is None:
        return _("the link cannot be rebuilt (issued before emails were queued)")
    return ""


def render(email: LinkEmail) -> EmailMessage:
    """The message, from the link as it is now. No clinical content: who and when only."""
    link = email.link
    client = link.session.dyad.client
    clinic = link.session.dyad.clinic
    values = {
        "name": f" {client.display_name}" if client.display_name else "",
        "clinic": clinic.name,
        "url": email.origin + reverse("client_link", args=[link.token()]),
        "expires": link.expires_at.astimezone(zoneinfo.ZoneInfo(clinic.time_zone)).strftime(
            "%Y-%m-%d %H:%M"
        ),
    }
    if email.is_reminder:
        subject = _("A reminder: your questions after your session")
        body = _(
            "Hello%(name)s,\n\nA short reminder from %(clinic)s: your few questions about "
            "your latest session are still open. They take about 3 minutes:\n\n%(url)s\n\n"
            "The link works until %(expires)s. If you have already answered or prefer not "
            "to, you can ignore this email.\n"
        )
    else:
        subject = _("Your questions after today's session")
        body = _(
            "Hello%(name)s,\n\n%(clinic)s asks you to answer a few short questions about your "
            "latest session. It takes about 3 minutes:\n\n%(url)s\n\nThe link works until "
            "%(expires)s. If it has expired, ask your therapist for a new one.\n"
        )
    return EmailMessage(subject, body % values, None, [client.email])


def _smtp_failure(exc: Exception) -> tuple[str, bool]:
    """The server's reason, and whether it is final (5xx) rather than worth another try."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        code, reply = next(iter(exc.recipients.values()))
        return f"{code} {reply.decode(errors='replace')}", 500 <= code < 600
    if isinstance(exc, smtplib.SMTPResponseException):
        answer = exc.smtp_error
        text = answer.decode(errors="replace") if isinstance(answer, bytes) else str(answer)
        return f"{exc.smtp_code} {text}", 500 <= exc.smtp_code < 600
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__, False


def deliver(email_id: int, *, last_try: bool, retry_at: datetime.datetime | None) -> Outcome:
    """One try at sending an outbox row; `retry_at` is when the next try would be."""
    connection = get_connection(fail_silently=False)
    try:
        with transaction.atomic():
            # The lock makes a second run of the same job (a worker taken for dead that was
            # only slow) wait, then see the row sent.
            email = (
                LinkEmail.objects.select_for_update(of=("self",))
                .select_related("link__session__dyad__client", "link__session__dyad__clinic")
                .filter(pk=email_id)
                .first()
            )
            if email is None:
                return Outcome("missing")
            if email.status in (LinkEmail.Status.SENT, LinkEmail.Status.FAILED):
                return Outcome(email.status)  # an earlier run finished it
            if email.status == LinkEmail.Status.SKIPPED:
                return Outcome(email.status)
            now = timezone.now()
            reason = _skip_reason(email, now)
            if reason:
                email.status, email.last_error, email.retry_at = (
                    LinkEmail.Status.SKIPPED,
                    reason,
                    None,
                )
                email.save(update_fields=["status", "last_error", "retry_at"])
                return Outcome(email.status, reason)
            form_settings = (
                email.link.session.dyad.clinic.form_settings if email.is_reminder else None
            )
            if form_settings is not None and in_quiet_hours(form_settings, now):
                later = quiet_hours_end(form_settings, now)
                email.retry_at = later
                email.save(update_fields=["retry_at"])
                return Outcome(email.status, retry_at=later)
            message = render(email)
            email.attempts += 1
            try:
                connection.open()  # opened here, so send_messages leaves QUIT to `finally`
                connection.send_messages([message])
            except (smtplib.SMTPException, OSError) as exc:
                error, permanent = _smtp_failure(exc)
                final = permanent or last_try
                email.status = LinkEmail.Status.FAILED if final else LinkEmail.Status.RETRYING
                email.last_error = error[:ERROR_CHARS]
                email.retry_at = None if final else retry_at
                email.save(update_fields=["status", "attempts", "last_error", "retry_at"])
                return Outcome(email.status, error, permanent=permanent)
            email.status, email.sent_at, email.retry_at = LinkEmail.Status.SENT, now, None
            email.last_error = ""
            email.save(update_fields=["status", "attempts", "sent_at", "retry_at", "last_error"])
            if email.number == 0:
                ClientLink.objects.filter(pk=email.link_id).update(emailed_at=now)
            return Outcome(email.status)
    finally:
        # QUIT after the commit: the server already has the message, and the row says so.
        with contextlib.suppress(smtplib.SMTPException, OSError):
            connection.close()


class _LastEmail(TypedDict):
    """What `queue_due_reminders` annotates a link with: its emails' highest number and
    newest time (never NULL, as a candidate link has at least its first email)."""

    last_number: int
    last_queued_at: datetime.datetime


def _next_reminder(
    link: WithAnnotations[ClientLink, _LastEmail], now: datetime.datetime
) -> int | None:
    """The reminder number due for the link now, if any: one at a time, `delay` apart."""
    form_settings = link.session.dyad.clinic.form_settings
    number = link.last_number + 1
    if number > form_settings.reminder_count:
        return None
    delay = reminder_hour() * form_settings.reminder_after_hours
    if now < link.created_at + delay * number or now < link.last_queued_at + delay:
        return None
    if in_quiet_hours(form_settings, now):
        return None
    return number


def queue_due_reminders(now: datetime.datetime | None = None) -> int:
    """Queue each reminder that is due; safe to run in any number of workers at once."""
    now = now or timezone.now()
    emails = LinkEmail.objects.filter(link=OuterRef("pk"))
    candidates = (
        ClientLink.objects.filter(
            revoked_at__isnull=True,
            used_at__isnull=True,
            expires_at__gt=now,
            session__dyad__client__reminders_off=False,
            session__dyad__clinic__form_settings__reminder_count__gt=0,
        )
        .exclude(session__dyad__client__email="")
        # Reminders follow a link that reached the client by email.
        .filter(Exists(emails.filter(number=0, status=LinkEmail.Status.SENT)))
        .annotate(
            last_number=Subquery(emails.values("link").annotate(n=Max("number")).values("n")[:1]),
            last_queued_at=Subquery(
                emails.values("link").annotate(at=Max("created_at")).values("at")[:1]
            ),
        )
        .select_related("session__dyad__clinic__form_settings")
    )
    queued = 0
    for link in candidates:
        number = _next_reminder(link, now)
        if number is None:
            continue
        origin = link.emails.get(number=0).origin
        try:
            with transaction.atomic():
                queue_link_email(link, origin=origin, number=number)
        except IntegrityError:
            continue  # another worker queued this reminder first
        queued += 1
    return queued
