"""Background jobs: scheduled upkeep, failures kept with their error, the health page, and
recovery from a worker that dies mid-job."""

from __future__ import annotations

import datetime
import gc
import html

import pytest
from axes.models import AccessFailureLog, AccessLog
from django.contrib.auth.models import User
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session
from django.db import connection
from django.urls import reverse
from django.utils import timezone
from procrastinate.contrib.django import app
from procrastinate.contrib.django.models import ProcrastinateEvent, ProcrastinateJob

from clinic import tasks
from clinic.models import JobError, RateLimitBucket
from dyad.lib import ratelimit
from dyad.lib.jobs import error_text
from rri_forms import scheduled
from tests.conftest import CsrfClient
from tests.workers import wait_until

URL = "/health/jobs/"


def _run_jobs_here(queues=("maintenance",)):
    """An in-process worker until the queues are empty (the test must be transactional)."""
    with app.replace_connector(app.connector.get_worker_connector()) as worker_app:
        worker_app.run_worker(
            wait=False, queues=list(queues), install_signal_handlers=False, listen_notify=False
        )
    gc.collect()  # closes the connections of the worker's finished threads


def _status(job_id):
    return ProcrastinateJob.objects.get(pk=job_id).status


def _superuser_client():
    user = User.objects.create_superuser("root", "root@example.org", "x" * 16)
    http = CsrfClient()
    http.force_login(user)
    from tests.conftest import verify_second_factor

    verify_second_factor(http, user)
    return http


# --- Scheduled upkeep: each idempotent ----------------------------------------------------


@pytest.mark.django_db
def test_rate_limit_counters_are_purged_by_the_job_not_by_requests(settings):
    ratelimit.hit("link_open_ip", "192.0.2.3")
    RateLimitBucket.objects.update(window_start=datetime.datetime(2020, 1, 1, tzinfo=datetime.UTC))
    for i in range(600):  # requests never purge, however many
        ratelimit.hit("link_open_ip", f"198.51.100.{i % 250}")
    assert RateLimitBucket.objects.filter(window_start__year=2020).count() == 1
    assert tasks.purge_rate_limit_counters(timestamp=0) == 1
    assert tasks.purge_rate_limit_counters(timestamp=0) == 0
    assert RateLimitBucket.objects.count() == 250  # the live counters stay


@pytest.mark.django_db
def test_retention_removes_expired_sessions_and_old_sign_in_records(settings):
    settings.AUTH_LOG_RETENTION_DAYS = 30
    live, dead = SessionStore(), SessionStore()
    live.create()
    dead.create()
    Session.objects.filter(session_key=dead.session_key).update(
        expire_date=timezone.now() - datetime.timedelta(minutes=1)
    )
    old = timezone.now() - datetime.timedelta(days=31)
    recent = timezone.now() - datetime.timedelta(days=29)
    for when in (old, recent):
        log = AccessLog.objects.create(username="x", ip_address="192.0.2.1", user_agent="t")
        AccessLog.objects.filter(pk=log.pk).update(attempt_time=when)
        failure = AccessFailureLog.objects.create(
            username="x", ip_address="192.0.2.1", user_agent="t", locked_out=False
        )
        AccessFailureLog.objects.filter(pk=failure.pk).update(attempt_time=when)

    assert tasks.apply_retention(timestamp=0) == {
        "expired_sessions": 1,
        "sign_in_logs": 1,
        "failed_sign_in_logs": 1,
    }
    assert tasks.apply_retention(timestamp=0) == {
        "expired_sessions": 0,
        "sign_in_logs": 0,
        "failed_sign_in_logs": 0,
    }
    assert list(Session.objects.values_list("session_key", flat=True)) == [live.session_key]
    assert AccessLog.objects.get().attempt_time == recent
    assert AccessFailureLog.objects.get().attempt_time == recent


@pytest.mark.django_db
def test_sessions_of_dead_links_end(personas):
    from rri_forms.models import ClientLink
    from rri_forms.views.client import SAVED_KEY, SESSION_KEY

    now = timezone.now()

    def link(**fields):
        return ClientLink.objects.create(
            session=personas.session_a1,
            token_hash=f"{len(ClientLink.objects.all()):064d}",
            instrument_ids=[],
            created_by=personas.therapist_a1,
            expires_at=now + datetime.timedelta(hours=1),
            **fields,
        )

    revoked = link(revoked_at=now)
    expired = link(revoked_at=now)  # one unrevoked link per session: expire it after
    ClientLink.objects.filter(pk=expired.pk).update(
        revoked_at=None, expires_at=now - datetime.timedelta(minutes=1)
    )
    live_session = personas.session_a2
    live = ClientLink.objects.create(
        session=live_session,
        token_hash="f" * 64,
        instrument_ids=[],
        created_by=personas.therapist_a2,
        expires_at=now + datetime.timedelta(hours=1),
    )

    def browser(data):
        store = SessionStore()
        store.update(data)
        store.create()
        return store.session_key

    on_revoked = browser({SESSION_KEY: revoked.pk})
    on_expired = browser({SESSION_KEY: expired.pk})
    on_live = browser({SESSION_KEY: live.pk})
    saved = browser({SESSION_KEY: expired.pk, SAVED_KEY: expired.pk})
    assert scheduled.end_sessions_of_dead_links(timestamp=0) == 2
    assert scheduled.end_sessions_of_dead_links(timestamp=0) == 0
    left = set(Session.objects.values_list("session_key", flat=True))
    assert {on_live, saved} <= left and not {on_revoked, on_expired} & left


def test_error_text_keeps_the_reason_without_row_values():
    error = Exception(
        'null value in column "code" violates not-null constraint\n'
        "DETAIL:  Failing row contains (7, Robin, robin@example.org)."
    )
    assert error_text(error) == (
        'Exception: null value in column "code" violates not-null constraint'
    )
    assert error_text(RuntimeError("opened /f/SECRETTOKEN")) == "RuntimeError: opened /f/[token]"
    assert len(error_text(RuntimeError("x" * 5000))) == 2000


# --- Failures are kept; old finished jobs go -----------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_failed_job_keeps_its_error_and_survives_the_cleanup(login):
    failing = tasks.probe.defer(fail="550 mailbox unavailable")
    fine = tasks.probe.defer()
    _run_jobs_here()
    assert (_status(failing), _status(fine)) == ("failed", "succeeded")
    error = JobError.objects.get(job_id=failing)
    assert (error.error, error.attempt, error.will_retry) == (
        "RuntimeError: 550 mailbox unavailable",
        1,
        False,
    )
    assert "clinic/tasks.py" in error.traceback and "550" not in error.traceback

    # Both finished long ago: the cleanup removes the success and keeps the failure.
    with connection.cursor() as cursor:
        cursor.execute("UPDATE procrastinate_events SET at = now() - interval '30 days'")
    cleanup = tasks.remove_old_jobs.defer(timestamp=0)
    _run_jobs_here()
    assert _status(cleanup) == "succeeded"
    left = set(ProcrastinateJob.objects.values_list("id", flat=True))
    assert failing in left and fine not in left
    assert JobError.objects.get().job_id == failing

    body = html.unescape(_superuser_client().get(URL).content.decode())
    assert f"#{failing}" in body and "RuntimeError: 550 mailbox unavailable" in body
    # A clinic admin sees the failure, not the message (it may concern another clinic).
    body = html.unescape(login("admin_a").get(URL).content.decode())
    assert f"#{failing}" in body and "RuntimeError" in body and "550" not in body


@pytest.mark.django_db
def test_health_page_lists_queues_and_every_periodic_job(login, django_assert_max_num_queries):
    for _ in range(3):
        tasks.probe.defer()
    tasks.probe.configure(schedule_in={"hours": 1}).defer()
    http = login("admin_a")
    http.get(URL)
    with django_assert_max_num_queries(20):  # fixed, whatever the number of jobs
        response = http.get(URL)
    body = html.unescape(response.content.decode())
    row = body[body.index("<td>maintenance</td>") :].split("</tr>")[0]
    assert row.split("</td>")[1:5] == [
        '<td class="text-end">3',
        '<td class="text-end">1',
        '<td class="text-end">0',
        '<td class="text-end">0',
    ]
    assert "<td>analytics</td>" in body  # a queue with no job yet is listed too
    for periodic in app.periodic_registry.periodic_tasks.values():
        assert f"<td>{periodic.task.name}</td>" in body
    assert "No worker is running" in body
    assert "No job has failed." in body


# --- A worker that dies mid-job loses nothing --------------------------------------------

FAST_RECOVERY = {
    "JOB_HEARTBEAT_SECONDS": "1",
    "JOB_STALLED_SECONDS": "3",
    "JOB_STALLED_CHECK_CRON": "* * * * * *",  # every second
}


def test_a_job_of_a_killed_worker_is_retried_by_another(start_worker, login):
    first = start_worker(env=FAST_RECOVERY)
    job_id = tasks.probe.defer(seconds=4)
    wait_until(lambda: _status(job_id) == "doing", what="the first worker to start the job")
    first.kill()  # SIGKILL mid-job: no clean-up, the job stays "doing"
    assert _status(job_id) == "doing"

    start_worker(env=FAST_RECOVERY)
    wait_until(lambda: _status(job_id) == "succeeded", seconds=60, what="the retry to succeed")
    events = list(
        ProcrastinateEvent.objects.filter(job_id=job_id)
        .order_by("id")
        .values_list("type", flat=True)
    )
    assert events.count("started") == 2 and events[-1] == "succeeded"

    # The health page shows the stalled-job check's last run.
    body = html.unescape(login("admin_a").get(reverse("job_health")).content.decode())
    row = body[body.index("<td>clinic.retry_stalled_jobs</td>") :].split("</tr>")[0]
    assert "not yet" not in row and "succeeded" in row
