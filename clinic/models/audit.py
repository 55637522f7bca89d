"""Who looked at which client's data, and when (reads; writes are in the history tables)."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from clinic.models.care import Client
from clinic.models.tenancy import Clinic, StaffMember


class AccessLog(models.Model):
    class Action(models.TextChoices):
        VIEW_DYAD = "view_dyad", _("Viewed a dyad")
        VIEW_SESSION = "view_session", _("Viewed a session")
        # Dashboards list many clients' codes and scores at once; one row per page view.
        VIEW_DASHBOARD = "view_dashboard", _("Viewed a dashboard")
        EXPORT = "export", _("Exported data")
        PRIVACY = "privacy", _("Privacy request")

    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="+")
    staff = models.ForeignKey(StaffMember, on_delete=models.PROTECT, related_name="+")
    action = models.CharField(max_length=20, choices=Action.choices)
    # Null for exports that span many clients; the detail then says what was exported.
    client = models.ForeignKey(
        Client, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    object_type = models.CharField(max_length=40, blank=True)
    object_id = models.BigIntegerField(null=True, blank=True)
    detail = models.CharField(max_length=300, blank=True)
    path = models.CharField(max_length=300)
    at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("access log entry")
        verbose_name_plural = _("access log")
        ordering = ["-at"]
        indexes = [models.Index(fields=["clinic", "-at"], name="accesslog_clinic_at")]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.staff} {self.action}"
