"""Completed forms: who answered which instrument for which session, and the scores."""

from __future__ import annotations

import pgtrigger
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from clinic.models import Dyad, StaffMember, TherapySession
from rri_forms.instrument_spec import MAX_SCALE_SPAN
from rri_forms.models.instruments import Instrument


class Administration(models.Model):
    """One completed instrument for one session by one rater.

    Scores are computed once, at submit, and stored (see Score) so dashboards never
    re-score; `manage.py rescore` checks them against the answers.
    """

    # A composite foreign key (session, dyad) -> session (id, dyad); Django cannot declare it.
    database_rules = {
        "administration_dyad_is_sessions": _("A form belongs to the dyad of its session."),
    }

    # No single-column indexes on session and dyad: the unique constraint (session first)
    # and the (dyad, rater) index serve every look-up and foreign-key check by them, and
    # each extra index costs an insertion per submitted form (docs/benchmarks.md).
    session = models.ForeignKey(
        TherapySession,
        on_delete=models.PROTECT,
        related_name="administrations",
        db_index=False,
    )
    # Denormalised from session: dashboards filter by dyad without joining sessions.
    dyad = models.ForeignKey(
        Dyad, on_delete=models.PROTECT, related_name="administrations", db_index=False
    )
    instrument = models.ForeignKey(
        Instrument, on_delete=models.PROTECT, related_name="administrations"
    )
    # Denormalised from instrument so one form per code holds across versions.
    instrument_code = models.CharField(max_length=32)
    rater = models.CharField(max_length=10, choices=Instrument.Rater.choices)
    submitted_at = models.DateTimeField(_("submitted at"))
    submitted_by = models.ForeignKey(
        StaffMember, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    risk_flag = models.BooleanField(_("risk item answered"), default=False)

    class Meta:
        verbose_name = _("administration")
        verbose_name_plural = _("administrations")
        constraints = [
            models.UniqueConstraint(
                fields=["session", "instrument_code", "rater"],
                name="administration_one_per_session_instrument_rater",
                violation_error_message=_("This form has already been completed for the session."),
            ),
            models.CheckConstraint(
                condition=Q(rater__in=["client", "therapist"]), name="administration_rater_valid"
            ),
        ]
        indexes = [models.Index(fields=["dyad", "rater"], name="administration_dyad_rater")]

    def __str__(self) -> str:
        return f"{self.instrument_code} ({self.rater}) · {self.session}"


def _answer_scale_trigger(operation: pgtrigger.Operation, name: str) -> pgtrigger.Trigger:
    """One statement-level check per INSERT or UPDATE (Postgres allows a transition table
    on a single-event trigger only), so a 24-item form costs one indexed join, not 24."""
    return pgtrigger.Trigger(
        name=name,
        level=pgtrigger.Statement,
        when=pgtrigger.After,
        operation=operation,
        referencing=pgtrigger.Referencing(new="new_answers"),
        func=pgtrigger.Func(
            """
            IF EXISTS (
                SELECT 1 FROM new_answers a
                JOIN rri_forms_administration adm ON adm.id = a.administration_id
                JOIN rri_forms_instrument i ON i.id = adm.instrument_id
                WHERE (i.item_scales -> a.item_number::text)
                    IS DISTINCT FROM jsonb_build_array(a.min_value, a.max_value)
            ) THEN
                RAISE EXCEPTION 'an answer''s item or range is not its instrument version''s'
                    USING ERRCODE = 'check_violation',
                          CONSTRAINT = 'answer_scale_matches_instrument';
            END IF;
            RETURN NULL;
            """
        ),
    )


class Answer(models.Model):
    """One item's answer. The item's range is copied in so a plain CHECK enforces it; a
    trigger makes sure the copy is the answered instrument version's range for that item."""

    # Indexed by answer_one_per_item, whose first column it is.
    administration = models.ForeignKey(
        Administration, on_delete=models.CASCADE, related_name="answers", db_index=False
    )
    item_number = models.PositiveSmallIntegerField()
    value = models.SmallIntegerField()
    min_value = models.SmallIntegerField()
    max_value = models.SmallIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["administration", "item_number"], name="answer_one_per_item"
            ),
            models.CheckConstraint(
                condition=Q(value__gte=F("min_value")) & Q(value__lte=F("max_value")),
                name="answer_within_scale",
                violation_error_message=_("An answer is outside the item's response scale."),
            ),
            # The loader's own rule for a response scale.
            models.CheckConstraint(
                condition=Q(min_value__lt=F("max_value"))
                & Q(max_value__lte=F("min_value") + MAX_SCALE_SPAN),
                name="answer_scale_bounds_sane",
                violation_error_message=_("An answer's response scale is not a valid scale."),
            ),
        ]
        triggers = [
            _answer_scale_trigger(pgtrigger.Insert, "answer_scale_matches_instrument_insert"),
            _answer_scale_trigger(pgtrigger.Update, "answer_scale_matches_instrument_update"),
        ]

    def __str__(self) -> str:
        return f"item {self.item_number} = {self.value}"


class Score(models.Model):
    """A scale score (total or subscale) of an administration, computed at submit."""

    # Indexed by score_one_per_scale, whose first column it is.
    administration = models.ForeignKey(
        Administration, on_delete=models.CASCADE, related_name="scores", db_index=False
    )
    scale = models.CharField(max_length=40)
    value = models.FloatField(null=True, help_text=_("Empty when too many answers are missing."))
    band = models.CharField(max_length=60, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["administration", "scale"], name="score_one_per_scale"),
        ]
        # The dashboards read every total of a clinic (outcomes.selectors.dashboards.totals_frame):
        # an index-only scan of this, in form order, merge-joins to the forms without reading the
        # score table or hashing 10⁵ forms. Partial: one entry per form, not one per score.
        indexes = [
            models.Index(
                fields=["administration"],
                include=["value"],
                condition=Q(scale="total"),
                name="score_total_by_administration",
            )
        ]

    def __str__(self) -> str:
        return f"{self.scale} = {self.value}"


class AdministrationCorrection(models.Model):
    """A therapist's correction of their own form: who, when, which answers changed."""

    administration = models.ForeignKey(
        Administration, on_delete=models.PROTECT, related_name="corrections"
    )
    corrected_by = models.ForeignKey(StaffMember, on_delete=models.PROTECT, related_name="+")
    corrected_at = models.DateTimeField(auto_now_add=True)
    # {"7": [2, 4]}: item number -> [old, new]
    changes = models.JSONField()

    class Meta:
        ordering = ["-corrected_at"]

    def __str__(self) -> str:
        return f"correction of {self.administration} at {self.corrected_at:%Y-%m-%d %H:%M}"
