from django import forms
from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from rri_forms.models import (
    Administration,
    AdministrationCorrection,
    Answer,
    ClientLink,
    ClinicFormSettings,
    Instrument,
    Score,
)


@admin.register(Instrument)
class InstrumentAdmin(admin.ModelAdmin):
    list_display = ["code", "version", "title", "rater", "kind", "status", "is_current",
                    "has_placeholders", "installed_at"]  # fmt: skip
    list_filter = ["rater", "kind", "status", "is_current", "has_placeholders"]
    search_fields = ["code", "title"]
    readonly_fields = ["code", "version", "title", "rater", "kind", "status", "has_placeholders",
                       "source_text", "source_name", "structure_signature", "wording_signature",
                       "installed_at", "updated_at"]  # fmt: skip

    def has_add_permission(self, request):  # type: ignore[no-untyped-def]
        return False  # installed from files: manage.py install_instrument FILE


def _code_choices(rater: str) -> list[tuple[str, str]]:
    return [
        (i.code, f"{i.code} — {i.title}")
        for i in Instrument.objects.filter(is_current=True, rater=rater).order_by("code")
    ]


class ClinicFormSettingsForm(forms.ModelForm):
    client_codes = forms.MultipleChoiceField(
        label=_("Client forms after every session"), widget=forms.CheckboxSelectMultiple
    )
    therapist_codes = forms.MultipleChoiceField(
        label=_("Therapist forms after every session"), widget=forms.CheckboxSelectMultiple
    )
    symptom_codes = forms.MultipleChoiceField(
        label=_("Client symptom measures on a cadence"),
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )

    class Meta:
        model = ClinicFormSettings
        fields = ["clinic", "client_codes", "therapist_codes", "symptom_codes", "symptom_every",
                  "link_lifetime_hours", "correction_days"]  # fmt: skip

    def __init__(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        self.fields["client_codes"].choices = _code_choices("client")
        self.fields["symptom_codes"].choices = _code_choices("client")
        self.fields["therapist_codes"].choices = _code_choices("therapist")


@admin.register(ClinicFormSettings)
class ClinicFormSettingsAdmin(admin.ModelAdmin):
    form = ClinicFormSettingsForm
    list_display = ["clinic", "symptom_every", "link_lifetime_hours", "correction_days"]


class AnswerInline(admin.TabularInline):
    model = Answer
    extra = 0
    can_delete = False
    readonly_fields = ["item_number", "value", "min_value", "max_value"]


class ScoreInline(admin.TabularInline):
    model = Score
    extra = 0
    can_delete = False
    readonly_fields = ["scale", "value", "band"]


@admin.register(Administration)
class AdministrationAdmin(admin.ModelAdmin):
    list_display = ["session", "instrument_code", "rater", "submitted_at", "risk_flag"]
    list_filter = ["rater", "instrument_code", "risk_flag", "dyad__clinic"]
    search_fields = ["dyad__client__code"]
    raw_id_fields = ["session", "dyad", "instrument", "submitted_by"]
    inlines = [ScoreInline, AnswerInline]


@admin.register(AdministrationCorrection)
class AdministrationCorrectionAdmin(admin.ModelAdmin):
    list_display = ["administration", "corrected_by", "corrected_at"]
    raw_id_fields = ["administration", "corrected_by"]


@admin.register(ClientLink)
class ClientLinkAdmin(admin.ModelAdmin):
    list_display = ["session", "created_at", "expires_at", "used_at", "revoked_at"]
    list_filter = ["session__dyad__clinic"]
    raw_id_fields = ["session", "created_by"]
    exclude = ["token_hash", "token_seed"]
