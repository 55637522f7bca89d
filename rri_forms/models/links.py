"""Links that let a client, without an account, fill in one session's forms."""

from __future__ import annotations

import hashlib
import secrets

import pgtrigger
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from clinic.models import StaffMember, TherapySession

TOKEN_BYTES = 16  # 128 bits from the OS CSPRNG


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def hash_token(token: str) -> str:
    """Only this digest is stored: a database leak yields no usable link."""
    return hashlib.sha256(token.encode()).hexdigest()


class ClientLink(models.Model):
    """Opens the client's pending forms of one session; expires, revocable, single use."""

    database_rules = {
        "client_link_creator_same_clinic": _(
            "Only staff of the session's clinic can issue its client link."
        ),
    }

    class State(models.TextChoices):
        LIVE = "live", _("Waiting for the client")
        USED = "used", _("Completed")
        EXPIRED = "expired", _("Expired")
        REVOKED = "revoked", _("Revoked")

    session = models.ForeignKey(TherapySession, on_delete=models.PROTECT, related_name="links")
    token_hash = models.CharField(max_length=64, unique=True)
    instrument_ids = models.JSONField(help_text=_("Instrument versions the client is asked for."))
    created_by = models.ForeignKey(StaffMember, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    used_at = models.DateTimeField(null=True, blank=True)
    emailed_at = models.DateTimeField(null=True, blank=True)
    # A newer link issued while this one was live: a browser already answering this link
    # carries on, and its answers are saved through the newer one (docs/security.md).
    superseded_by = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    # Idempotency: the form's submission id and a digest of what it carried.
    submission_id = models.UUIDField(null=True, blank=True, unique=True)
    submission_digest = models.CharField(max_length=64, blank=True)

    class Meta:
        verbose_name = _("client link")
        verbose_name_plural = _("client links")
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["session"],
                condition=Q(revoked_at__isnull=True),
                name="client_link_one_unrevoked_per_session",
            ),
            models.CheckConstraint(
                condition=Q(used_at__isnull=True) | Q(submission_id__isnull=False),
                name="client_link_used_has_submission",
            ),
            models.CheckConstraint(
                condition=Q(superseded_by__isnull=True) | Q(revoked_at__isnull=False),
                name="client_link_superseded_is_revoked",
            ),
        ]
        # The link's clinic is its session's (through the dyad) and must be its issuer's.
        # UPDATE OF: the client's submit rewrites only used_at and the submission columns.
        triggers = [
            pgtrigger.Trigger(
                name="client_link_creator_same_clinic",
                when=pgtrigger.After,
                operation=pgtrigger.Insert | pgtrigger.UpdateOf("session_id", "created_by_id"),
                func=pgtrigger.Func(
                    """
                    IF EXISTS (
                        SELECT 1 FROM clinic_therapysession s
                        JOIN clinic_dyad d ON d.id = s.dyad_id
                        JOIN clinic_staffmember m ON m.id = NEW.created_by_id
                        WHERE s.id = NEW.session_id AND m.clinic_id <> d.clinic_id
                    ) THEN
                        RAISE EXCEPTION 'the link''s issuer works at another clinic'
                            USING ERRCODE = 'check_violation',
                                  CONSTRAINT = 'client_link_creator_same_clinic';
                    END IF;
                    RETURN NULL;
                    """
                ),
            ),
        ]

    def __str__(self) -> str:
        return f"link for {self.session} ({self.state})"

    @property
    def state(self) -> str:
        if self.revoked_at is not None:
            return self.State.REVOKED
        if self.used_at is not None:
            return self.State.USED
        if self.expires_at <= timezone.now():
            return self.State.EXPIRED
        return self.State.LIVE

    @property
    def state_label(self) -> str:
        return str(self.State(self.state).label)

    @property
    def is_live(self) -> bool:
        return self.state == self.State.LIVE
