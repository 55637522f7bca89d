"""Link emails sent by real worker processes to a real SMTP server on loopback."""

from __future__ import annotations

import datetime
import re

import psycopg
import pytest
from django.db import connection
from django.utils import timezone
from procrastinate import utils as procrastinate_utils
from procrastinate.contrib.django import app
from procrastinate.contrib.django.models import ProcrastinateJob

from rri_forms.models import ClientLink, ClinicFormSettings, LinkEmail
from rri_forms.models.links import hash_token
from rri_forms.services.links import link_email
from rri_forms.tasks import queue_reminders
from tests.workers import wait_until, worker_database_url

pytestmark = pytest.mark.django_db(transaction=True)


def _email(personas, address: str = "robin@example.org") -> LinkEmail:
    client = personas.dyad_a1.client
    client.email = address
    client.save()
    email, _token = link_email(
        actor_user=personas.therapist_a1.user,
        session=personas.session_a1,
        origin="https://dyad.example.org",
    )
    return email


def _status(email: LinkEmail) -> str:
    email.refresh_from_db()
    return email.status


def _job(email: LinkEmail) -> ProcrastinateJob:
    return ProcrastinateJob.objects.get(
        task_name="rri_forms.send_link_email", args={"email_id": email.pk}
    )


def test_the_worker_sends_the_link_to_the_smtp_server(personas, start_worker, smtp_sink):
    email = _email(personas)
    assert smtp_sink.messages == []  # queued only: the request did not talk SMTP
    start_worker(env=smtp_sink.env)
    wait_until(lambda: _status(email) == "sent", what="the email to be sent")
    [message] = smtp_sink.messages
    assert message["To"] == "robin@example.org"
    assert message["Subject"] == "Your questions after today's session"
    body = message.get_payload()
    token = re.search(r"https://dyad\.example\.org/f/([A-Za-z0-9_-]+)", body).group(1)
    assert ClientLink.objects.get(token_hash=hash_token(token)).pk == email.link_id
    assert personas.dyad_a1.client.code not in body
    assert email.attempts == 1 and email.sent_at is not None and email.last_error == ""
    wait_until(lambda: _job(email).status == "succeeded", what="the job to finish")


def test_a_refusing_server_ends_the_email_failed_with_its_reason(personas, start_worker, smtp_sink):
    smtp_sink.mode = "refuse"
    email = _email(personas)
    start_worker(env=smtp_sink.env)
    wait_until(lambda: _status(email) == "failed", what="the refusal to be recorded")
    assert email.last_error == "550 5.1.1 Mailbox unavailable"
    assert email.attempts == 1  # a 5xx is final: no retry
    wait_until(lambda: _job(email).status == "failed", what="the job to end failed")
    assert smtp_sink.messages == []


def test_a_dropped_connection_is_retried_with_back_off(personas, start_worker, smtp_sink):
    smtp_sink.mode = "drop"
    email = _email(personas)
    before = timezone.now()
    start_worker(env={**smtp_sink.env, "EMAIL_RETRY_BASE_SECONDS": "2", "EMAIL_ATTEMPTS": "4"})
    wait_until(lambda: _status(email) == "retrying", what="the first failure")
    assert "SMTPServerDisconnected" in email.last_error
    assert email.retry_at >= before + datetime.timedelta(seconds=2)  # 2**1 s later
    smtp_sink.mode = "accept"  # the server is back
    wait_until(lambda: _status(email) == "sent", what="the retry to get through")
    assert len(smtp_sink.messages) == 1 and email.attempts == 2
    assert email.retry_at is None and email.last_error == ""


def test_the_last_try_ends_failed_and_visible(personas, start_worker, smtp_sink):
    smtp_sink.mode = "drop"
    email = _email(personas)
    start_worker(env={**smtp_sink.env, "EMAIL_RETRY_BASE_SECONDS": "1", "EMAIL_ATTEMPTS": "2"})
    wait_until(lambda: _status(email) == "failed", what="the last try to fail")
    assert email.attempts == 2 and smtp_sink.sessions == 2
    assert "SMTPServerDisconnected" in email.last_error and email.retry_at is None
    wait_until(lambda: _job(email).status == "failed", what="the job to end failed")


def test_a_worker_killed_mid_send_loses_no_email_and_sends_none_twice(
    personas, start_worker, smtp_sink
):
    smtp_sink.mode = "stall"
    email = _email(personas)
    first = start_worker(env=smtp_sink.env)
    assert smtp_sink.stalled.wait(20), first.output()  # the message is in, not yet accepted
    first.kill()
    # The dead worker's transaction is rolled back: the row is not marked sent.
    assert _status(email) == "queued"
    job = _job(email)
    assert job.status == "doing"  # until stalled jobs are retried, as a periodic job does
    smtp_sink.mode = "accept"
    smtp_sink.release()
    # What stalled-job recovery does: forget the dead worker, put its job back in the queue.
    # (Left behind, its row would be pruned by a later worker's start-up, under a later test.)
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM procrastinate_workers WHERE id = %s", [job.worker_id])
    app.job_manager.retry_job_by_id(job.pk, retry_at=procrastinate_utils.utcnow())
    start_worker(env=smtp_sink.env)
    wait_until(lambda: _status(email) == "sent", what="the second worker to send it")
    assert len(smtp_sink.messages) == 1, "the killed worker's message was never accepted"
    assert email.attempts == 1  # the killed try was rolled back with everything else


def test_a_job_run_again_after_its_send_was_recorded_sends_nothing(
    personas, start_worker, smtp_sink
):
    email = _email(personas)
    worker = start_worker(env=smtp_sink.env)
    wait_until(lambda: _job(email).status == "succeeded", what="the first run")
    # The state a worker leaves when it dies after the commit, before the job is closed.
    ProcrastinateJob.objects.filter(pk=_job(email).pk).update(status="doing")
    runs = _job(email).attempts
    app.job_manager.retry_job_by_id(_job(email).pk, retry_at=procrastinate_utils.utcnow())
    # Procrastinate counts the retry and the finished run: two more.
    wait_until(
        lambda: (job := _job(email)).attempts == runs + 2 and job.status == "succeeded",
        what="the job's second run",
    )
    assert worker.output().count("Result: sent") == 2  # it ran twice, and found it sent
    assert len(smtp_sink.messages) == 1
    assert _status(email) == "sent" and email.attempts == 1


def test_two_workers_queue_each_reminder_once(personas, start_worker, smtp_sink):
    from tests.factories import ClientFactory, DyadFactory, SessionFactory

    ClinicFormSettings.objects.update_or_create(
        clinic=personas.clinic_a,
        defaults={"reminder_count": 1, "reminder_after_hours": 1, "quiet_from_hour": 0,
                  "quiet_until_hour": 0},
    )  # fmt: skip
    links = []
    for i in range(12):
        client = ClientFactory(clinic=personas.clinic_a, email=f"client{i}@example.org")
        dyad = DyadFactory(therapist=personas.therapist_a1, client=client)
        session = SessionFactory(dyad=dyad, number=1)
        email, _token = link_email(
            actor_user=personas.therapist_a1.user, session=session, origin="https://d.example"
        )
        links.append(email.link_id)
    # The link emails went out two hours ago.
    two_hours_ago = timezone.now() - datetime.timedelta(hours=2)
    ClientLink.objects.filter(pk__in=links).update(created_at=two_hours_ago)
    LinkEmail.objects.update(status="sent", sent_at=two_hours_ago, created_at=two_hours_ago)
    ProcrastinateJob.objects.all().delete()
    # Only the scans deferred below run: the periodic one is moved out of the way.
    env = {**smtp_sink.env, "REMINDER_SCAN_CRON": "0 0 1 1 *"}
    first = start_worker(env=env)
    second = start_worker(env=env)
    # Another transaction holds reminder 1 of one link, uncommitted: each scan that reaches
    # that link waits for it. Both scans are then running at once, one in each worker.
    with psycopg.connect(worker_database_url()) as blocker:
        blocker.execute(
            "INSERT INTO rri_forms_linkemail (link_id, number, origin, status, attempts,"
            " last_error, created_at) VALUES (%s, 1, 'x', 'queued', 0, '', now())",
            [links[0]],
        )
        scans = [queue_reminders.defer(timestamp=0) for _ in range(2)]
        wait_until(
            lambda: ProcrastinateJob.objects.filter(pk__in=scans, status="doing").count() == 2,
            what=f"both scans to run:\n{first.output()}\n{second.output()}",
        )
        blocker.rollback()  # now both race for that link's reminder
    wait_until(
        lambda: ProcrastinateJob.objects.filter(pk__in=scans, status="succeeded").count() == 2,
        what="the scans",
    )
    wait_until(
        lambda: LinkEmail.objects.filter(number=1, status="sent").count() == 12,
        seconds=40,
        what="the reminders to be sent",
    )
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(DISTINCT worker_id) FROM procrastinate_jobs WHERE id = ANY(%s)",
            [scans],
        )
        assert cursor.fetchone()[0] == 2, "each worker ran one scan"
    assert LinkEmail.objects.filter(number=1).count() == 12
    assert sorted(m["To"] for m in smtp_sink.messages) == sorted(
        f"client{i}@example.org" for i in range(12)
    )
    assert {m["Subject"] for m in smtp_sink.messages} == {
        "A reminder: your questions after your session"
    }
