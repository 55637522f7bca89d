"""Who looked at which client's data, and when (reads; writes are in the history tables).

Append-only like the history tables: a PostgreSQL trigger refuses UPDATE and DELETE of its
rows. So the client is referenced by id only, not by a foreign key that erasing the client
would have to null out: after an erasure the rows still say which (now erased) client was
read, and the audit page shows them as "erased #id".
"""

from __future__ import annotations

import pgtrigger
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.db import models
from django.utils.translation import gettext_lazy as _

from clinic.models.care import Client
from clinic.models.tenancy import Clinic, StaffMember


class AccessLog(models.Model):
    class Action(models.TextChoices):
        VIEW_DYAD = "view_dyad", _("Viewed a dyad")
        VIEW_SESSION = "view_session", _("Viewed a session")
        VIEW_CLIENT = "view_client", _("Opened a client's details")
        # Dashboards list many clients' codes and scores at once; one row per page view.
        VIEW_DASHBOARD = "view_dashboard", _("Viewed a dashboard")
        EXPORT = "export", _("Exported data")
        PRIVACY = "privacy", _("Privacy request")

    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="+")
    staff = models.ForeignKey(StaffMember, on_delete=models.PROTECT, related_name="+")
    action = models.CharField(max_length=20, choices=Action.choices)
    # The Client's id; null for exports that span many clients (the detail then says what
    # was exported). No foreign key: the row outlives an erased client unchanged.
    client_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    # Every client a page showed (a caseload, a dashboard's flagged dyads, an audit page),
    # so a client's privacy export and the audit filter find list views too. Ids only.
    client_ids = ArrayField(models.BigIntegerField(), default=list, blank=True)
    object_type = models.CharField(max_length=40, blank=True)
    object_id = models.BigIntegerField(null=True, blank=True)
    detail = models.CharField(max_length=300, blank=True)
    path = models.CharField(max_length=300)
    at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("access log entry")
        verbose_name_plural = _("access log")
        ordering = ["-at"]
        indexes = [
            models.Index(fields=["clinic", "-at"], name="accesslog_clinic_at"),
            GinIndex(fields=["client_ids"], name="accesslog_client_ids"),
        ]
        triggers = [
            pgtrigger.Protect(name="append_only", operation=pgtrigger.Update | pgtrigger.Delete)
        ]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.staff} {self.action}"

    @property
    def client(self) -> Client | None:
        """The client read, while their record exists (None once erased, or for none)."""
        if self.client_id is None:
            return None
        return Client._base_manager.filter(pk=self.client_id).first()


class StaffSecurityEvent(models.Model):
    """An admin's action on a colleague's sign-in (who, whom, what, when); append-only.

    Issuing a password link or resetting the second factor lets the admin sign in as the
    colleague, so each one is recorded here, next to deactivations and role changes.
    """

    class Action(models.TextChoices):
        PASSWORD_LINK = "password_link", _("Issued a set-password link")
        TWO_FACTOR_RESET = "two_factor_reset", _("Reset two-step sign-in")
        DEACTIVATED = "deactivated", _("Deactivated the account")
        REACTIVATED = "reactivated", _("Reactivated the account")
        ROLE_CHANGED = "role_changed", _("Changed the role")

    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="+")
    actor = models.ForeignKey(StaffMember, on_delete=models.PROTECT, related_name="+")
    target = models.ForeignKey(StaffMember, on_delete=models.PROTECT, related_name="+")
    action = models.CharField(max_length=20, choices=Action.choices)
    detail = models.CharField(max_length=200, blank=True)
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("staff security event")
        verbose_name_plural = _("staff security events")
        ordering = ["-at"]
        indexes = [models.Index(fields=["clinic", "-at"], name="staffsecurity_clinic_at")]
        triggers = [
            pgtrigger.Protect(name="append_only", operation=pgtrigger.Update | pgtrigger.Delete)
        ]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor} {self.action} {self.target}"
