"""Installed instrument versions and each clinic's choice of forms."""

from __future__ import annotations

import threading

import pgtrigger
from django.contrib.postgres.fields import ArrayField
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from clinic.models import Clinic
from rri_forms.instrument_spec import InstrumentSpec, parse_instrument_text

_spec_cache: dict[tuple[int, str], InstrumentSpec] = {}
_spec_lock = threading.Lock()


class Instrument(models.Model):
    """One version of one instrument, installed from its TOML file.

    The file's text is kept verbatim so the exact wording a client saw can always be
    shown again, and so scores can be recomputed from answers.
    """

    class Rater(models.TextChoices):
        CLIENT = "client", _("Client")
        THERAPIST = "therapist", _("Therapist")

    code = models.CharField(_("code"), max_length=32)
    version = models.CharField(_("version"), max_length=32)
    title = models.CharField(_("title"), max_length=200)
    rater = models.CharField(_("rater"), max_length=10, choices=Rater.choices)
    kind = models.CharField(_("kind"), max_length=20)
    status = models.CharField(_("wording status"), max_length=12)
    is_current = models.BooleanField(
        _("current version"), default=True, help_text=_("New forms use the current version.")
    )
    has_placeholders = models.BooleanField(_("carries placeholders"), default=False)
    source_text = models.TextField(_("definition (TOML)"))
    source_name = models.CharField(_("installed from"), max_length=255)
    structure_signature = models.CharField(max_length=64)
    # {"7": [1, 5]}: each item's response scale, so Postgres can check every answer's range
    # against the instrument version it answers (trigger on Answer).
    item_scales = models.JSONField(default=dict)
    wording_signature = models.CharField(max_length=64)
    installed_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("instrument")
        verbose_name_plural = _("instruments")
        ordering = ["code", "version"]
        constraints = [
            models.UniqueConstraint(
                fields=["code", "version"],
                name="instrument_code_version_unique",
                violation_error_message=_("This version of the instrument is already installed."),
            ),
            models.UniqueConstraint(
                fields=["code"],
                condition=Q(is_current=True),
                name="instrument_one_current_version",
            ),
            models.CheckConstraint(
                condition=Q(rater__in=["client", "therapist"]), name="instrument_rater_valid"
            ),
        ]
        triggers = [
            # Answers were checked against these ranges: they may not move under them.
            pgtrigger.Trigger(
                name="instrument_scales_fixed_once_answered",
                when=pgtrigger.Before,
                operation=pgtrigger.Update,
                condition=pgtrigger.Q(old__item_scales__df=pgtrigger.F("new__item_scales")),
                func=pgtrigger.Func(
                    """
                    IF EXISTS (SELECT 1 FROM rri_forms_administration
                               WHERE instrument_id = NEW.id) THEN
                        RAISE EXCEPTION 'instrument % v% has answers: its item scales are fixed',
                            NEW.code, NEW.version
                            USING ERRCODE = 'check_violation',
                                  CONSTRAINT = 'instrument_scales_fixed_once_answered';
                    END IF;
                    RETURN NEW;
                    """
                ),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} v{self.version}"

    @property
    def spec(self) -> InstrumentSpec:
        """The parsed definition, parsed once per process per wording."""
        key = (self.pk, self.wording_signature + self.structure_signature)
        spec = _spec_cache.get(key)
        if spec is None:
            spec = parse_instrument_text(self.source_text, self.source_name)
            with _spec_lock:
                _spec_cache[key] = spec
        return spec

    def apply_spec(self, spec: InstrumentSpec, *, source_text: str, source_name: str) -> None:
        """Copy a parsed file's facts onto this row (the caller saves)."""
        self.code = spec.code
        self.version = spec.version
        self.title = spec.title
        self.rater = spec.rater
        self.kind = spec.kind
        self.status = spec.status
        self.has_placeholders = spec.is_placeholder
        self.source_text = source_text
        self.source_name = source_name
        self.structure_signature = spec.structure_signature()
        self.item_scales = item_scales_of(spec)
        self.wording_signature = spec.wording_signature()


def item_scales_of(spec: InstrumentSpec) -> dict[str, list[int]]:
    return {
        str(item.number): [item.response_scale.min, item.response_scale.max] for item in spec.items
    }


def _default_client_codes() -> list[str]:
    return ["RRI-C", "SESSION-CHECK"]


def _default_therapist_codes() -> list[str]:
    return ["RRI-T", "PROGRESS-T"]


def _default_symptom_codes() -> list[str]:
    return ["PHQ-9", "GAD-7"]


# Where to get help now, wherever the clinic is: each clinic should replace it with its
# own number and local lines (the form settings page says so).
DEFAULT_CRISIS_MESSAGE = _(
    "Thank you for telling us how you have been feeling. If you are thinking about harming "
    "yourself, or you feel you might act on such thoughts, please get help now: call your "
    "local emergency number (112 in Europe, 911 in the US and Canada, 999 in the UK) or go "
    "to the nearest emergency department. You can also call a crisis line, for example 988 "
    "(Suicide & Crisis Lifeline, US) or 116 123 (Samaritans, UK and Ireland), at any time, "
    "or call your clinic and ask to speak to your therapist or the clinician on duty. You "
    "do not have to wait for your next session."
)


class ClinicFormSettings(models.Model):
    """Which forms follow each session at a clinic, and how long links and edits last."""

    clinic = models.OneToOneField(Clinic, on_delete=models.CASCADE, related_name="form_settings")
    client_codes = ArrayField(
        models.CharField(max_length=32),
        default=_default_client_codes,
        verbose_name=_("client forms after every session"),
    )
    therapist_codes = ArrayField(
        models.CharField(max_length=32),
        default=_default_therapist_codes,
        verbose_name=_("therapist forms after every session"),
    )
    symptom_codes = ArrayField(
        models.CharField(max_length=32),
        default=_default_symptom_codes,
        blank=True,
        verbose_name=_("client symptom measures on a cadence"),
    )
    symptom_every = models.PositiveSmallIntegerField(
        _("symptom measures every N sessions"),
        default=4,
        help_text=_("Given at session 1 and at every session whose number is a multiple of N."),
    )
    link_lifetime_hours = models.PositiveSmallIntegerField(
        _("client link lifetime (hours)"), default=72
    )
    correction_days = models.PositiveSmallIntegerField(
        _("days a therapist may correct their forms"), default=7
    )
    crisis_message = models.TextField(
        _("message to a client who reports risk"),
        blank=True,
        max_length=2000,
        help_text=_(
            "Shown to a client after they answer a risk question (PHQ-9 item 9) above 0. "
            "Give your clinic's phone number and local crisis lines; leave empty for the "
            "default message."
        ),
    )
    # Reminders by email to a client whose link is still open (rri_forms/tasks.py).
    reminder_count = models.PositiveSmallIntegerField(_("email reminders"), default=0, db_default=0)
    reminder_after_hours = models.PositiveSmallIntegerField(
        _("hours between the link and each reminder"), default=24, db_default=24
    )
    # No reminder goes out from quiet_from_hour until quiet_until_hour, clinic time.
    quiet_from_hour = models.PositiveSmallIntegerField(
        _("quiet from (hour)"), default=21, db_default=21
    )
    quiet_until_hour = models.PositiveSmallIntegerField(
        _("quiet until (hour)"), default=8, db_default=8
    )

    class Meta:
        verbose_name = _("clinic form settings")
        verbose_name_plural = _("clinic form settings")
        constraints = [
            models.CheckConstraint(
                condition=Q(symptom_every__gte=1), name="form_settings_cadence_positive"
            ),
            models.CheckConstraint(
                condition=Q(link_lifetime_hours__gte=1) & Q(link_lifetime_hours__lte=24 * 30),
                name="form_settings_link_lifetime_range",
                violation_error_message=_("Links must last between 1 hour and 30 days."),
            ),
            models.CheckConstraint(
                condition=Q(reminder_count__lte=2),
                name="form_settings_reminder_count_range",
                violation_error_message=_("At most 2 reminders."),
            ),
            models.CheckConstraint(
                condition=Q(reminder_after_hours__gte=1) & Q(reminder_after_hours__lte=24 * 30),
                name="form_settings_reminder_delay_range",
                violation_error_message=_("Reminders follow between 1 hour and 30 days later."),
            ),
            models.CheckConstraint(
                condition=Q(quiet_from_hour__lte=23) & Q(quiet_until_hour__lte=23),
                name="form_settings_quiet_hours_range",
                violation_error_message=_("Quiet hours are hours of the day, 0 to 23."),
            ),
        ]

    def __str__(self) -> str:
        return str(_("Form settings for %(clinic)s") % {"clinic": self.clinic})

    def clean(self) -> None:
        current = dict(Instrument.objects.filter(is_current=True).values_list("code", "rater"))
        errors: dict[str, str] = {}
        for field, rater in [
            ("client_codes", "client"),
            ("therapist_codes", "therapist"),
            ("symptom_codes", "client"),
        ]:
            for code in getattr(self, field):
                if current.get(code) != rater:
                    errors[field] = _("%(code)s is not an installed %(rater)s instrument.") % {
                        "code": code,
                        "rater": rater,
                    }
        if errors:
            raise ValidationError(errors)

    @property
    def crisis_text(self) -> str:
        return self.crisis_message.strip() or str(DEFAULT_CRISIS_MESSAGE)

    def symptoms_due(self, session_number: int) -> bool:
        return session_number == 1 or session_number % self.symptom_every == 0

    def codes_for(self, rater: str, session_number: int) -> list[str]:
        if rater == Instrument.Rater.THERAPIST:
            return list(self.therapist_codes)
        codes = list(self.client_codes)
        if self.symptoms_due(session_number):
            codes += [c for c in self.symptom_codes if c not in codes]
        return codes
