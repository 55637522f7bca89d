"""The job worker is a real process on the same PostgreSQL (`manage.py procrastinate worker`)."""

from __future__ import annotations

from django.db import connection
from procrastinate.contrib.django import app
from procrastinate.contrib.django.models import ProcrastinateJob

from tests.workers import wait_until


def _status(job_id: int) -> str:
    return ProcrastinateJob.objects.get(pk=job_id).status


def test_a_worker_process_runs_a_deferred_job(start_worker):
    start_worker()
    job_id = app.configure_task("builtin:procrastinate.builtin_tasks.remove_old_jobs").defer(
        max_hours=1
    )
    wait_until(lambda: _status(job_id) == "succeeded", what="the job to succeed")


def test_a_stopped_worker_leaves_jobs_queued_for_the_next(start_worker):
    worker = start_worker()
    worker.stop()
    job_id = app.configure_task("builtin:procrastinate.builtin_tasks.remove_old_jobs").defer(
        max_hours=1
    )
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_sleep(1)")
    assert _status(job_id) == "todo"
    start_worker()
    wait_until(lambda: _status(job_id) == "succeeded", what="the next worker to run it")
