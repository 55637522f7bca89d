"""Acknowledged alerts (who saw a dyad's alert, when, what they did about it), and stored
values derived from a clinic's data that pages read instead of recomputing.

Alerts themselves are computed from stored scores (outcomes.analytics.alerts) and never
stored; an acknowledgement names the alert by its session and kind. Risk alerts stay at
the top of every list until acknowledged (docs/analytics.md, "Alerts").
"""

from __future__ import annotations

import pgtrigger
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from clinic.history import (
    TherapySessionEvent,
    live_or_recorded,
    register_history_source,
    track,
)
from clinic.models import Clinic, StaffMember, TherapySession


class AlertKind(models.TextChoices):
    RISK = "risk", _("Risk item answered")
    RELATIONSHIP_DROP = "relationship_drop", _("Relationship drop")
    RELATIONSHIP_BELOW_MEAN = "relationship_below_mean", _("Relationship below the dyad's mean")
    DETERIORATION = "deterioration", _("Reliable deterioration")
    FORMS_MISSED = "forms_missed", _("Forms missed")


class AlertAcknowledgement(models.Model):
    """Every alert of one kind at one session has been seen; the note says what was done."""

    database_rules = {
        "alert_ack_by_same_clinic": _(
            "Only staff of the session's clinic can acknowledge its alerts."
        ),
    }

    session = models.ForeignKey(
        TherapySession, on_delete=models.PROTECT, related_name="alert_acknowledgements"
    )
    kind = models.CharField(_("alert"), max_length=32, choices=AlertKind.choices)
    note = models.TextField(_("note"), max_length=2000)
    acknowledged_by = models.ForeignKey(StaffMember, on_delete=models.PROTECT, related_name="+")
    acknowledged_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("alert acknowledgement")
        verbose_name_plural = _("alert acknowledgements")
        constraints = [
            models.UniqueConstraint(
                fields=["session", "kind"],
                name="alert_ack_one_per_session_and_kind",
                violation_error_message=_("This alert has already been acknowledged."),
            ),
            models.CheckConstraint(
                condition=Q(kind__in=AlertKind.values), name="alert_ack_kind_known"
            ),
            models.CheckConstraint(
                condition=Q(note__regex=r"\S"),
                name="alert_ack_note_given",
                violation_error_message=_("Say what was done: the note cannot be empty."),
            ),
        ]
        triggers = [
            pgtrigger.Trigger(
                name="alert_ack_by_same_clinic",
                when=pgtrigger.After,
                operation=pgtrigger.Insert | pgtrigger.UpdateOf("session_id", "acknowledged_by_id"),
                func=pgtrigger.Func(
                    """
                    IF EXISTS (
                        SELECT 1 FROM clinic_therapysession s
                        JOIN clinic_dyad d ON d.id = s.dyad_id
                        JOIN clinic_staffmember m ON m.id = NEW.acknowledged_by_id
                        WHERE s.id = NEW.session_id AND m.clinic_id <> d.clinic_id
                    ) THEN
                        RAISE EXCEPTION 'the acknowledging staff member works at another clinic'
                            USING ERRCODE = 'check_violation',
                                  CONSTRAINT = 'alert_ack_by_same_clinic';
                    END IF;
                    RETURN NULL;
                    """
                ),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} at {self.session} acknowledged"


AlertAcknowledgementEvent = track(AlertAcknowledgement)
register_history_source(
    AlertAcknowledgementEvent,
    _("alert acknowledgement"),
    dyad_sql=live_or_recorded(TherapySession, TherapySessionEvent, "dyad_id", 'e."session_id"'),
)


class ClinicReference(models.Model):
    """The clinic's data behind one scale's reliable-change threshold (when the instrument
    publishes no reference values): its first-session scores and Cronbach's alpha.

    Written by `outcomes.selectors.frames.refresh_clinic_references`: by the periodic job, and by
    the first page that reads it after a total score of the clinic's forms of that
    instrument was inserted, updated or deleted (PostgreSQL triggers on the score table mark
    it `stale` in the same transaction, whatever wrote it: a form, a correction,
    `manage.py rescore`, an erasure). The dyad page and the dashboards read it instead of
    joining over all of the clinic's forms on every request.
    """

    clinic = models.ForeignKey(Clinic, on_delete=models.CASCADE, related_name="+")
    instrument_code = models.CharField(max_length=40)
    scale = models.CharField(max_length=40)
    first_session_scores = ArrayField(models.FloatField(), default=list)
    alpha = models.FloatField(null=True)
    refreshed_at = models.DateTimeField()
    stale = models.BooleanField(default=False)

    class Meta:
        verbose_name = _("clinic reference")
        constraints = [
            models.UniqueConstraint(
                fields=["clinic", "instrument_code", "scale"], name="clinic_reference_one_per_scale"
            )
        ]

    def __str__(self) -> str:
        return f"{self.instrument_code} {self.scale} · clinic {self.clinic_id}"
