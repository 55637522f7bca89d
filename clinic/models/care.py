"""Clients, dyads (therapist + client) and the therapy sessions of a dyad."""

from __future__ import annotations

import pgtrigger
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from clinic.models.tenancy import Clinic, StaffMember

client_code_validator = RegexValidator(
    r"^[A-Za-z0-9][A-Za-z0-9-]{0,31}$",
    _("Use letters, digits and hyphens only (for example C-0142), at most 32 characters."),
)


class Client(models.Model):
    """A client, known by a pseudonymous code; no login."""

    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="clients")
    code = models.CharField(
        _("client code"),
        max_length=32,
        validators=[client_code_validator],
        help_text=_("A pseudonymous code such as C-0142. Do not use the client's name."),
    )
    display_name = models.CharField(
        _("first name"),
        max_length=60,
        blank=True,
        help_text=_("Optional. Shown to the client on their form's start page."),
    )
    email = models.EmailField(
        _("email"), blank=True, help_text=_("Optional. Used only to send form links.")
    )
    reminders_off = models.BooleanField(
        _("no email reminders"),
        default=False,
        db_default=False,
        help_text=_("The client gets form links only when staff send them, never reminders."),
    )
    # A legal or clinical reason to keep the record: erasure is refused while it is set.
    retention_hold = models.BooleanField(
        _("retention hold"),
        default=False,
        help_text=_("While set, the client's clinical record cannot be erased."),
    )
    retention_note = models.CharField(
        _("reason for the hold"),
        max_length=300,
        blank=True,
        help_text=_("Why the record must be kept (no clinical details)."),
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("client")
        verbose_name_plural = _("clients")
        ordering = ["code"]
        constraints = [
            models.UniqueConstraint(
                fields=["clinic", "code"],
                name="client_code_unique_per_clinic",
                violation_error_message=_("This clinic already has a client with this code."),
            ),
            # Target of the (client, clinic) foreign key that keeps a dyad in one clinic.
            models.UniqueConstraint(fields=["id", "clinic"], name="client_id_clinic_key"),
        ]

    def __str__(self) -> str:
        return self.code


class Dyad(models.Model):
    """One therapist working with one client. A client may have successive dyads."""

    # Composite foreign keys (migration 0011) and a trigger: Django has no model API for them.
    database_rules = {
        "dyad_therapist_same_clinic": _("The therapist works at another clinic."),
        "dyad_client_same_clinic": _("The client belongs to another clinic."),
        "session_within_dyad_dates": _(
            "A dyad's dates must include all its sessions: it cannot end before its last one."
        ),
    }

    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        ENDED = "ended", _("Ended")

    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="dyads")
    therapist = models.ForeignKey(StaffMember, on_delete=models.PROTECT, related_name="dyads")
    client = models.ForeignKey(Client, on_delete=models.PROTECT, related_name="dyads")
    started_on = models.DateField(_("started on"))
    ended_on = models.DateField(_("ended on"), null=True, blank=True)
    status = models.CharField(
        _("status"), max_length=8, choices=Status.choices, default=Status.ACTIVE
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("dyad")
        verbose_name_plural = _("dyads")
        ordering = ["-started_on", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ended_on__isnull=True) | Q(ended_on__gte=F("started_on")),
                name="dyad_ends_after_start",
                violation_error_message=_("A dyad cannot end before it started."),
            ),
            models.CheckConstraint(
                condition=(Q(status="active") & Q(ended_on__isnull=True))
                | (Q(status="ended") & Q(ended_on__isnull=False)),
                name="dyad_status_matches_end",
                violation_error_message=_("An ended dyad needs an end date, an active one none."),
            ),
            # Successive, not parallel: a client works with one therapist at a time.
            models.UniqueConstraint(
                fields=["client"],
                condition=Q(status="active"),
                name="dyad_one_active_per_client",
                violation_error_message=_(
                    "This client already has an active dyad; end it before opening another."
                ),
            ),
        ]
        indexes = [models.Index(fields=["therapist", "status"], name="dyad_therapist_status")]
        triggers = [
            pgtrigger.Trigger(
                name="dyad_dates_hold_sessions",
                when=pgtrigger.After,
                operation=pgtrigger.Update,
                condition=pgtrigger.Condition(
                    'OLD."started_on" IS DISTINCT FROM NEW."started_on" '
                    'OR OLD."ended_on" IS DISTINCT FROM NEW."ended_on"'
                ),
                func=pgtrigger.Func(
                    """
                    IF EXISTS (
                        SELECT 1 FROM clinic_therapysession s
                        WHERE s.dyad_id = NEW.id
                          AND (s.date < NEW.started_on OR s.date > NEW.ended_on)
                    ) THEN
                        RAISE EXCEPTION 'a session of the dyad falls outside its dates'
                            USING ERRCODE = 'check_violation',
                                  CONSTRAINT = 'session_within_dyad_dates';
                    END IF;
                    RETURN NULL;
                    """
                ),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.client.code} · {self.therapist.display_name}"

    @property
    def is_active(self) -> bool:
        return self.status == self.Status.ACTIVE


class TherapySession(models.Model):
    """One session of a dyad, numbered 1, 2, … within the dyad."""

    database_rules = {
        "session_within_dyad_dates": _(
            "The session date must fall between the dyad's start and its end."
        ),
    }

    class Attendance(models.TextChoices):
        ATTENDED = "attended", _("Attended")
        NO_SHOW = "no_show", _("No-show")

    dyad = models.ForeignKey(Dyad, on_delete=models.PROTECT, related_name="sessions")
    number = models.PositiveSmallIntegerField(_("session number"))
    date = models.DateField(_("date"))
    attendance = models.CharField(
        _("attendance"), max_length=8, choices=Attendance.choices, default=Attendance.ATTENDED
    )
    created_by = models.ForeignKey(
        StaffMember, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("therapy session")
        verbose_name_plural = _("therapy sessions")
        ordering = ["dyad", "number"]
        constraints = [
            models.UniqueConstraint(
                fields=["dyad", "number"],
                name="session_number_unique_per_dyad",
                violation_error_message=_("This dyad already has a session with this number."),
            ),
            models.CheckConstraint(
                condition=Q(number__gte=1),
                name="session_number_positive",
                violation_error_message=_("Session numbers start at 1."),
            ),
            # Target of the (session, dyad) foreign key that keeps a form with its dyad.
            models.UniqueConstraint(fields=["id", "dyad"], name="session_id_dyad_key"),
        ]
        triggers = [
            # FOR SHARE: a concurrent change of the dyad's dates waits for this row, then
            # its own trigger sees it.
            pgtrigger.Trigger(
                name="session_within_dyad_dates",
                when=pgtrigger.After,
                operation=pgtrigger.Insert | pgtrigger.UpdateOf("date", "dyad_id"),
                declare=[("started", "date"), ("ended", "date")],
                func=pgtrigger.Func(
                    """
                    SELECT started_on, ended_on INTO started, ended FROM clinic_dyad
                        WHERE id = NEW.dyad_id FOR SHARE;
                    IF NEW.date < started OR NEW.date > ended THEN
                        RAISE EXCEPTION 'the session falls outside its dyad''s dates'
                            USING ERRCODE = 'check_violation',
                                  CONSTRAINT = 'session_within_dyad_dates';
                    END IF;
                    RETURN NULL;
                    """
                ),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.dyad} · session {self.number}"

    @property
    def attended(self) -> bool:
        return self.attendance == self.Attendance.ATTENDED
