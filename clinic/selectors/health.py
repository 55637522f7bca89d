"""Reads for the job health page: queues, workers, failures and periodic runs.

Generic over whatever the apps register: every queue that has a task or a job, every
periodic task of every app. A fixed number of queries whatever the number of jobs.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field

from django.db.models import Count, Max, Min, Q
from django.utils import timezone
from procrastinate.contrib.django import app
from procrastinate.contrib.django.models import (
    ProcrastinateEvent,
    ProcrastinateJob,
    ProcrastinatePeriodicDefer,
    ProcrastinateWorker,
)

from clinic.models import JobError

FAILED_SHOWN = 50


@dataclass(frozen=True)
class QueueRow:
    name: str
    waiting: int  # due now
    scheduled: int  # due later (retries waiting for their time, scheduled jobs)
    running: int
    failed: int
    oldest_waiting: datetime.datetime | None


@dataclass(frozen=True)
class FailedJob:
    id: int
    task_name: str
    queue: str
    status: str  # failed, or todo while a retry waits
    attempts: int
    error: str
    failed_at: datetime.datetime | None

    @property
    def error_type(self) -> str:
        """The exception's type alone: what a clinic admin sees, since a message (an SMTP
        refusal naming an address, say) may concern another clinic on the same site."""
        return self.error.partition(":")[0]


@dataclass(frozen=True)
class PeriodicRow:
    task_name: str
    cron: str
    last_run: datetime.datetime | None  # when the last run was due
    status: str  # of that run's job, "" if never run or its job was removed
    finished_at: datetime.datetime | None


@dataclass(frozen=True)
class JobHealth:
    queues: list[QueueRow]
    workers: list[tuple[int, datetime.datetime]]
    failed: list[FailedJob]
    retrying: list[FailedJob]
    periodic: list[PeriodicRow]
    failed_total: int = 0
    stale_workers: int = field(default=0)


def _failures(jobs: list[ProcrastinateJob]) -> list[FailedJob]:
    errors: dict[int, JobError] = {}
    for attempt in JobError.objects.filter(job_id__in=[j.id for j in jobs]).order_by("attempt"):
        errors[attempt.job_id] = attempt  # the last attempt's
    rows = []
    for job in jobs:
        error = errors.get(job.id)
        rows.append(
            FailedJob(
                job.id,
                job.task_name,
                job.queue_name,
                job.status,
                job.attempts,
                error.error if error else "",
                error.failed_at if error else None,
            )
        )
    return rows


def job_health(*, stalled_seconds: int) -> JobHealth:
    now = timezone.now()
    queues = _queues(now)
    workers = list(ProcrastinateWorker.objects.order_by("id").values_list("id", "last_heartbeat"))
    failed_jobs = list(
        ProcrastinateJob.objects.filter(status="failed").order_by("-id")[:FAILED_SHOWN]
    )
    retrying_jobs = list(
        ProcrastinateJob.objects.filter(status="todo", attempts__gt=0).order_by("-id")[
            :FAILED_SHOWN
        ]
    )
    failures = _failures(failed_jobs + retrying_jobs)
    stale = sum(1 for _, beat in workers if (now - beat).total_seconds() > stalled_seconds)
    return JobHealth(
        queues=queues,
        workers=workers,
        failed=failures[: len(failed_jobs)],
        retrying=failures[len(failed_jobs) :],
        periodic=_periodic(),
        failed_total=sum(q.failed for q in queues),
        stale_workers=stale,
    )


def _queues(now: datetime.datetime) -> list[QueueRow]:
    """Every queue a task uses (or a job sits in): waiting, scheduled, running, failed."""
    due = Q(scheduled_at__isnull=True) | Q(scheduled_at__lte=now)
    counts = {
        row["queue_name"]: row
        for row in ProcrastinateJob.objects.values("queue_name")
        .annotate(
            waiting=Count("id", filter=Q(status="todo") & due),
            scheduled=Count("id", filter=Q(status="todo") & ~due),
            running=Count("id", filter=Q(status="doing")),
            failed=Count("id", filter=Q(status="failed")),
        )
        .order_by()
    }
    oldest = dict(
        ProcrastinateEvent.objects.filter(job__status="todo", type="deferred")
        .filter(Q(job__scheduled_at__isnull=True) | Q(job__scheduled_at__lte=now))
        .values("job__queue_name")
        .annotate(first=Min("at"))
        .values_list("job__queue_name", "first")
    )
    names = sorted({task.queue for task in app.tasks.values()} | set(counts))
    no_jobs = {"waiting": 0, "scheduled": 0, "running": 0, "failed": 0}
    rows = []
    for name in names:
        row = counts.get(name, no_jobs)
        rows.append(
            QueueRow(
                name,
                row["waiting"],
                row["scheduled"],
                row["running"],
                row["failed"],
                oldest.get(name),
            )
        )
    return rows


def _periodic() -> list[PeriodicRow]:
    """Each periodic task with its last run: when it was deferred, how that job ended."""
    periodic_tasks = sorted(
        app.periodic_registry.periodic_tasks.values(), key=lambda p: p.task.name
    )
    last_defers = {
        (d.task_name, d.periodic_id): d
        for d in ProcrastinatePeriodicDefer.objects.order_by(
            "task_name", "periodic_id", "-defer_timestamp"
        ).distinct("task_name", "periodic_id")
    }
    job_ids = [d.job_id for d in last_defers.values() if d.job_id]
    finished = dict(
        ProcrastinateEvent.objects.filter(
            job_id__in=job_ids, type__in=["succeeded", "failed", "cancelled", "aborted"]
        )
        .values("job_id")
        .annotate(at=Max("at"))
        .values_list("job_id", "at")
    )
    statuses = dict(ProcrastinateJob.objects.filter(id__in=job_ids).values_list("id", "status"))
    periodic = []
    for p in periodic_tasks:
        defer = last_defers.get((p.task.name, p.periodic_id))
        when = (
            datetime.datetime.fromtimestamp(defer.defer_timestamp, tz=datetime.UTC)
            if defer and defer.defer_timestamp
            else None
        )
        job_id = defer.job_id if defer else None
        status, finished_at = (
            ("", None) if job_id is None else (statuses.get(job_id, ""), finished.get(job_id))
        )
        periodic.append(PeriodicRow(p.task.name, p.cron, when, status, finished_at))
    return periodic
