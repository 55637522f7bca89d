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
    reminder_count = forms.TypedChoiceField(
        label=_("Email reminders while a client's forms are open"),
        choices=[(0, _("None")), (1, _("One reminder")), (2, _("Two reminders"))],
        coerce=int,
        help_text=_(
            "Only for links sent by email, never after the client answered or the link "
            "expired, and never to a client who opted out. Reminders carry no clinical content."
        ),
    )
    reminder_after_hours = forms.IntegerField(
        label=_("Each reminder follows after (hours)"), min_value=1, max_value=24 * 30
    )
    quiet_from_hour = forms.IntegerField(
        label=_("No reminders from (hour, clinic time)"), min_value=0, max_value=23
    )
    quiet_until_hour = forms.IntegerField(
        label=_("until (hour, clinic time)"),
        min_value=0,
        max_value=23,
        help_text=_("For example 21 until 8. The same hour twice means no quiet hours."),
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
    "reminder_count",
    "reminder_after_hours",
    "quiet_from_hour",
    "quiet_until_hour",
]
