"""What went wrong in background jobs: Procrastinate keeps a job's status, not its error."""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class JobError(models.Model):
    """One failed attempt of a job, written by the worker (dyad/lib/jobs.py) as it fails.

    `job_id` is Procrastinate's job id, without a foreign key: its table belongs to
    Procrastinate. Rows go when their job is removed (clinic/tasks.py), and failed jobs are
    never removed, so a final failure stays on the health page until someone acts on it."""

    job_id = models.BigIntegerField()
    task_name = models.CharField(max_length=128)
    queue = models.CharField(max_length=128)
    attempt = models.PositiveIntegerField(help_text=_("1 for the first try."))
    error = models.TextField(help_text=_("Exception type and message, without row values."))
    traceback = models.TextField(blank=True)
    will_retry = models.BooleanField()
    failed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("job error")
        verbose_name_plural = _("job errors")
        constraints = [
            models.UniqueConstraint(fields=["job_id", "attempt"], name="job_error_one_per_attempt")
        ]
        indexes = [models.Index(fields=["-failed_at"], name="job_error_newest")]

    def __str__(self) -> str:
        return f"{self.task_name} #{self.job_id} attempt {self.attempt}: {self.error[:60]}"
