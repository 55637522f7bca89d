"""The outbox: one row per email a client link is sent by (the link itself, its reminders).

A row is written in the therapist's transaction together with the job that sends it
(rri_forms/tasks.py); the request never talks to the mail server. The row holds no
address and no message: both are rendered from the link when the job runs, so nothing
here is client data beyond the mail server's reply to a failure. The link's own history
(pghistory) records who issued it; this row only records delivery.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from rri_forms.models.links import ClientLink

MAX_REMINDERS = 2


class LinkEmail(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued", _("queued")
        RETRYING = "retrying", _("retrying")
        SENT = "sent", _("sent")
        FAILED = "failed", _("failed")
        # The reminder's conditions no longer held when its turn came (link used, expired…).
        SKIPPED = "skipped", _("not needed")

    # Indexed by link_email_once_per_number, which leads with it.
    link = models.ForeignKey(
        ClientLink, on_delete=models.CASCADE, related_name="emails", db_index=False
    )
    # 0: the email carrying the link; 1 and 2: the reminders that follow it.
    number = models.PositiveSmallIntegerField(default=0)
    # Scheme and host the link's URL is built on, taken from the request that emailed it.
    origin = models.CharField(max_length=200)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.CharField(max_length=500, blank=True)
    retry_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("link email")
        verbose_name_plural = _("link emails")
        ordering = ["link", "number"]
        constraints = [
            # Two workers scanning for due reminders at once: the second insert conflicts.
            models.UniqueConstraint(fields=["link", "number"], name="link_email_once_per_number"),
            models.CheckConstraint(
                condition=Q(number__lte=MAX_REMINDERS), name="link_email_number_range"
            ),
            models.CheckConstraint(
                condition=Q(status="sent", sent_at__isnull=False)
                | (~Q(status="sent") & Q(sent_at__isnull=True)),
                name="link_email_sent_has_time",
            ),
        ]

    def __str__(self) -> str:
        return f"email {self.number} of {self.link_id} ({self.status})"

    @property
    def is_reminder(self) -> bool:
        return self.number > 0
