"""Stored values derived from a clinic's data, read by the pages instead of recomputed."""

from __future__ import annotations

from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.utils.translation import gettext_lazy as _

from clinic.models import Clinic


class ClinicReference(models.Model):
    """The clinic's data behind one scale's reliable-change threshold (when the instrument
    publishes no reference values): its first-session scores and Cronbach's alpha.

    Written by `outcomes.selectors.refresh_clinic_references`: by the periodic job, and by
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
