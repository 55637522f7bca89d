"""The clinic admin's form settings page."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from rri_forms.models import ClinicFormSettings, Instrument
from rri_forms.models.instruments import DEFAULT_CRISIS_MESSAGE


def _choices(rater: str) -> list[tuple[str, str]]:
    return [
        (i.code, f"{i.spec.short_title} — {i.title}")
        for i in Instrument.objects.filter(is_current=True, rater=rater).order_by("code")
    ]


class FormSettingsForm(forms.Form):
    client_codes = forms.MultipleChoiceField(
        label=_("Client forms after every session"), widget=forms.CheckboxSelectMultiple
    )
    symptom_codes = forms.MultipleChoiceField(
        label=_("Client symptom measures on a cadence"),
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )
    symptom_every = forms.IntegerField(
        label=_("Symptom measures at session 1 and every N-th session; N ="),
        min_value=1,
        max_value=52,
    )
    therapist_codes = forms.MultipleChoiceField(
        label=_("Therapist forms after every session"), widget=forms.CheckboxSelectMultiple
    )
    link_lifetime_hours = forms.IntegerField(
        label=_("Client links work for (hours)"), min_value=1, max_value=24 * 30
    )
    correction_days = forms.IntegerField(
        label=_("Therapists may correct their forms for (days)"), min_value=0, max_value=90
    )
    crisis_message = forms.CharField(
        label=_("Message to a client who answers a risk question above 0"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text=_(
            "Shown on the client's 'saved' page after a risk answer (PHQ-9 item 9). Name "
            "your clinic's number and your local crisis lines. Empty: the default message, "
            "which names international emergency numbers."
        ),
    )

    def __init__(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        client = _choices(Instrument.Rater.CLIENT)
        self.fields["client_codes"].choices = client
        self.fields["symptom_codes"].choices = client
        self.fields["therapist_codes"].choices = _choices(Instrument.Rater.THERAPIST)
        self.fields["crisis_message"].widget.attrs["placeholder"] = str(DEFAULT_CRISIS_MESSAGE)

    def clean(self):  # type: ignore[no-untyped-def]
        data = super().clean()
        overlap = set(data.get("client_codes", [])) & set(data.get("symptom_codes", []))
        if overlap:
            raise forms.ValidationError(
                _("%(codes)s cannot be both after every session and on a cadence.")
                % {"codes": ", ".join(sorted(overlap))}
            )
        return data

    @staticmethod
    def initial_from(settings: ClinicFormSettings) -> dict[str, object]:
        return {name: getattr(settings, name) for name in FIELDS}


FIELDS = [
    "client_codes",
    "symptom_codes",
    "symptom_every",
    "therapist_codes",
    "link_lifetime_hours",
    "correction_days",
    "crisis_message",
]
