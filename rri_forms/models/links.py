"""Links that let a client, without an account, fill in one session's forms."""

from __future__ import annotations

import base64
import hashlib
import secrets

import pgtrigger
from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext_lazy as _

from clinic.models import StaffMember, TherapySession

TOKEN_BYTES = 16  # 128 bits from the OS CSPRNG


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def new_token_seed() -> str:
    return secrets.token_hex(TOKEN_BYTES)


def token_from_seed(seed: str, *, secret: str | None = None) -> str:
    """The link's token, derived from its stored seed and the SECRET_KEY.

    The job that emails a link (and its reminders) runs after the request that issued it
    and must put the token in the message; deriving it keeps the database free of usable
    tokens: without the SECRET_KEY, which lives outside the database, a seed opens nothing.
    """
    digest = salted_hmac("rri_forms.ClientLink.token", seed, secret=secret, algorithm="sha256")
    return base64.urlsafe_b64encode(digest.digest()[:TOKEN_BYTES]).decode().rstrip("=")


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
    # Derives the token with the SECRET_KEY (token_from_seed); blank on links issued before.
    token_seed = models.CharField(max_length=2 * TOKEN_BYTES, blank=True, default="", db_default="")
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

    def token(self) -> str | None:
        """The raw token again (for the email jobs), also after a SECRET_KEY rotation."""
        if not self.token_seed:
            return None
        for secret in [settings.SECRET_KEY, *settings.SECRET_KEY_FALLBACKS]:
            token = token_from_seed(self.token_seed, secret=secret)
            if hash_token(token) == self.token_hash:
                return token
        return None
