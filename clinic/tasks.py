"""Scheduled upkeep (Procrastinate periodic jobs), run by any worker, never in a request.

Each job is idempotent: running it twice, or on two workers at once, does what one run does
(a queueing lock also keeps at most one of each waiting). Every periodic job of every app
is listed with its last run on the health page (clinic/health_views.py). The other apps'
periodic jobs live in their own modules: rri_forms/scheduled.py (client links),
outcomes/tasks.py (analytics fits, refreshing the clinic references).
"""

from __future__ import annotations

import asyncio

from django.conf import settings
from django.contrib.sessions.models import Session
from django.utils import timezone
from procrastinate import JobContext
from procrastinate.contrib.django import app

from clinic.models import JobError
from dyad.lib import ratelimit
from dyad.lib.jobs import in_thread

MAINTENANCE_QUEUE = "maintenance"


def _periodic(name: str, cron: str):  # type: ignore[no-untyped-def]
    """A periodic task on the maintenance queue, one waiting at a time."""

    def wrap(func):  # type: ignore[no-untyped-def]
        task = app.task(name=name, queue=MAINTENANCE_QUEUE, queueing_lock=name)(func)
        return app.periodic(cron=cron, periodic_id=name)(task)

    return wrap


@_periodic("clinic.purge_rate_limit_counters", "17 * * * *")
def purge_rate_limit_counters(timestamp: int) -> int:
    """Counters whose window ended (docs/security.md "Rate limits"); hourly."""
    return ratelimit.purge_expired()


@_periodic("clinic.apply_retention", "30 3 * * *")
def apply_retention(timestamp: int) -> dict[str, int]:
    """The retention policy (docs/security.md "Retention"), daily: expired sessions go
    (Django deletes them only when told), and sign-in records older than
    AUTH_LOG_RETENTION_DAYS. The access log and the clinical history are never pruned."""
    from axes.handlers.proxy import AxesProxyHandler

    sessions, _ = Session.objects.filter(expire_date__lt=timezone.now()).delete()
    days = settings.AUTH_LOG_RETENTION_DAYS
    return {
        "expired_sessions": sessions,
        "sign_in_logs": AxesProxyHandler.reset_logs(age_days=days),
        "failed_sign_in_logs": AxesProxyHandler.reset_failure_logs(age_days=days),
    }


@app.periodic(cron=settings.JOB_STALLED_CHECK_CRON, periodic_id="clinic.retry_stalled_jobs")
@app.task(
    name="clinic.retry_stalled_jobs",
    queue=MAINTENANCE_QUEUE,
    queueing_lock="clinic.retry_stalled_jobs",
    pass_context=True,
)
async def retry_stalled_jobs(context: JobContext, timestamp: int) -> list[int]:
    """Jobs left "doing" by a worker that died (no heartbeat for JOB_STALLED_SECONDS) go
    back to the queue, so another worker runs them again: a killed worker loses no job.
    A job must therefore be safe to run twice (each of ours is)."""
    manager = context.app.job_manager
    stalled = await manager.get_stalled_jobs(
        seconds_since_heartbeat=settings.PROCRASTINATE_WORKER_DEFAULTS["stalled_worker_timeout"]
    )
    retried = []
    for job in stalled:
        if job.id == context.job.id:
            continue
        await manager.retry_job(job)
        retried.append(job.id)
    return retried


@app.periodic(cron="45 3 * * *", periodic_id="clinic.remove_old_jobs")
@app.task(
    name="clinic.remove_old_jobs",
    queue=MAINTENANCE_QUEUE,
    queueing_lock="clinic.remove_old_jobs",
    pass_context=True,
)
async def remove_old_jobs(context: JobContext, timestamp: int) -> int:
    """Finished jobs older than JOB_KEEP_HOURS, daily, and the errors of jobs that are gone.
    Failed jobs are kept: a failure never disappears without someone seeing it."""
    await context.app.job_manager.delete_old_jobs(
        nb_hours=settings.JOB_KEEP_HOURS,
        include_failed=False,
        include_cancelled=True,
        include_aborted=True,
    )
    return await in_thread(forget_errors_of_removed_jobs)()


def forget_errors_of_removed_jobs() -> int:
    from procrastinate.contrib.django.models import ProcrastinateJob

    deleted, _ = JobError.objects.exclude(job_id__in=ProcrastinateJob.objects.values("id")).delete()
    return deleted


@app.task(name="clinic.probe", queue=MAINTENANCE_QUEUE)
async def probe(seconds: float = 0, fail: str = "") -> str:
    """Check that workers run jobs: `manage.py procrastinate defer clinic.probe
    '{"seconds": 1}'`. Sleeps, then succeeds, or raises `fail` (the health page shows it)."""
    await asyncio.sleep(seconds)
    if fail:
        raise RuntimeError(fail)
    return f"slept {seconds} s"
