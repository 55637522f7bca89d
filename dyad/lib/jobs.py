"""How Dyad's Procrastinate workers run jobs: every failure is recorded with its error.

Procrastinate stores a job's status and events but not why it failed; a worker middleware
writes each failed attempt (exception type and message, the traceback's frames) to
`clinic.JobError`, which the health page (clinic/views/health.py) shows. Installed by
settings.PROCRASTINATE_ON_APP_READY, so `manage.py procrastinate worker`, in-process
workers and tests all record the same way.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from asgiref.sync import sync_to_async
from django.db import close_old_connections, connections
from procrastinate import App, JobContext, exceptions
from procrastinate.app import WorkerOptions
from procrastinate.middleware import AsyncCallNext

from dyad.lib.logfilters import mask_tokens, scrubbed_traceback

T = TypeVar("T")
ERROR_MAX_CHARS = 2000
# PostgreSQL repeats the offending row's values after DETAIL (a client's data).
_ROW_DETAIL = re.compile(r"\n?\s*DETAIL:.*", re.S)


def error_text(error: BaseException) -> str:
    """`Type: message`, without row values or link tokens, at most ERROR_MAX_CHARS."""
    message = _ROW_DETAIL.sub("", str(error)).strip()
    text = type(error).__qualname__ + (f": {message}" if message else "")
    return mask_tokens(text)[:ERROR_MAX_CHARS]


def in_thread(func: Callable[..., T]) -> Callable[..., Awaitable[T]]:
    """`func` for an async job: run in a thread whose database connection is closed after
    it, so a rare write leaves no idle connection behind."""

    def run(*args: Any, **kwargs: Any) -> T:
        try:
            return func(*args, **kwargs)
        finally:
            connections.close_all()  # this thread's only

    return sync_to_async(run, thread_sensitive=False)


def _record(context: JobContext, error: BaseException) -> None:
    from clinic.models import JobError

    job = context.job
    if job.id is None:
        # A job is saved (and so has an id) before any worker can fetch and run it.
        raise RuntimeError(f"job {job.task_name!r} failed before it was saved")
    task = context.app.tasks.get(job.task_name)
    retry = task.get_retry_exception(exception=error, job=job) if task else None
    JobError.objects.update_or_create(
        job_id=job.id,
        attempt=job.attempts + 1,
        defaults={
            "task_name": job.task_name,
            "queue": job.queue,
            "error": error_text(error),
            "traceback": scrubbed_traceback((type(error), error, error.__traceback__)),
            "will_retry": retry is not None,
        },
    )


async def record_failures(call_next: AsyncCallNext, context: JobContext, worker: Any) -> Any:
    """Worker middleware: record a failed attempt, then let Procrastinate handle it."""
    try:
        return await call_next()
    except (exceptions.JobAborted, asyncio.CancelledError):
        raise
    except Exception as error:
        await in_thread(_record)(context, error)
        raise


def fresh_connection(call_next: Callable[[], Any], context: JobContext, worker: Any) -> Any:
    """Task middleware for sync tasks: what Django does around a request, around a job: a
    connection past DB_CONN_MAX_AGE or broken (the database restarted) is replaced."""
    close_old_connections()
    try:
        return call_next()
    finally:
        close_old_connections()


def on_app_ready(app: App) -> None:
    defaults: WorkerOptions = app.worker_defaults.copy()
    defaults["worker_middleware"] = [*defaults.get("worker_middleware", []), record_failures]
    defaults["task_middleware"] = [*defaults.get("task_middleware", []), fresh_connection]
    app.worker_defaults = defaults
