"""Jobs of the forms app: sending link emails and reminders (Procrastinate, `email` queue)."""

from __future__ import annotations

from django.conf import settings
from procrastinate import JobContext, RetryStrategy
from procrastinate.contrib.django import app

from rri_forms.services import outbox

QUEUE = "email"


class EmailNotSentYet(Exception):
    """A failure worth another try (4xx, a dropped or refused connection, a timeout)."""


class EmailFailed(Exception):
    """The server refused for good (5xx) or the last try failed: the job ends failed."""


# Only EmailNotSentYet is retried; waits grow base**1, base**2, … seconds.
RETRY = RetryStrategy(
    max_attempts=settings.EMAIL_ATTEMPTS - 1,
    exponential_wait=settings.EMAIL_RETRY_BASE_SECONDS,
    retry_exceptions=[EmailNotSentYet],
)


@app.task(name="rri_forms.send_link_email", queue=QUEUE, retry=RETRY, pass_context=True)
def send_link_email(context: JobContext, email_id: int) -> str:
    job = context.job
    last_try = job.attempts >= settings.EMAIL_ATTEMPTS - 1
    decision = None if last_try else RETRY.get_retry_decision(exception=EmailNotSentYet(), job=job)
    outcome = outbox.deliver(
        email_id, last_try=last_try, retry_at=decision.retry_at if decision else None
    )
    if outcome.retry_at is not None:  # quiet hours: the same row, sent later
        send_link_email.configure(schedule_at=outcome.retry_at).defer(email_id=email_id)
    elif outcome.status == "retrying":
        raise EmailNotSentYet(outcome.error)
    elif outcome.status == "failed" and outcome.error:
        raise EmailFailed(outcome.error)
    return outcome.status


@app.periodic(cron=settings.REMINDER_SCAN_CRON, periodic_id="reminders")
@app.task(name="rri_forms.queue_reminders", queue=QUEUE)
def queue_reminders(timestamp: int) -> int:
    """Queue the reminders now due; two workers running it at once queue each one once."""
    return outbox.queue_due_reminders()
