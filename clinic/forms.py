"""Input forms for the clinic pages. Forms parse; services decide."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from clinic.models import Client, StaffMember, TherapySession
from clinic.models.care import client_code_validator


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, **kwargs):  # type: ignore[no-untyped-def]
        super().__init__(format="%Y-%m-%d", **kwargs)


class ClientEditForm(forms.Form):
    code = forms.CharField(
        label=_("Client code"),
        max_length=32,
        validators=[client_code_validator],
        help_text=Client._meta.get_field("code").help_text,
    )
    display_name = forms.CharField(
        label=_("First name (optional)"),
        max_length=60,
        required=False,
        help_text=Client._meta.get_field("display_name").help_text,
    )
    email = forms.EmailField(
        label=_("Email (optional)"), required=False, help_text=_("Used only to send form links.")
    )
    reminders_off = forms.BooleanField(
        label=_("No email reminders"),
        required=False,
        help_text=Client._meta.get_field("reminders_off").help_text,
    )


class NewDyadForm(forms.Form):
    """A dyad for a client; only admins choose the therapist (therapists open their own)."""

    therapist = forms.ModelChoiceField(queryset=StaffMember.objects.none(), label=_("Therapist"))
    started_on = forms.DateField(label=_("First contact"), widget=DateInput())

    def __init__(self, *args, therapists=None, **kwargs):  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        if therapists is None:
            del self.fields["therapist"]
        else:
            self.fields["therapist"].queryset = therapists


class ClientDyadForm(ClientEditForm, NewDyadForm):
    """A new client and their first dyad."""

    field_order = ["code", "display_name", "email", "therapist", "started_on"]
    reminders_off = None  # set on the client's page once they have one


class SessionForm(forms.Form):
    number = forms.IntegerField(label=_("Session number"), min_value=1, max_value=32767)
    date = forms.DateField(label=_("Date"), widget=DateInput())
    attendance = forms.ChoiceField(
        label=_("Attendance"),
        choices=TherapySession.Attendance.choices,
        initial=TherapySession.Attendance.ATTENDED,
        widget=forms.RadioSelect,
    )


class EndDyadForm(forms.Form):
    ended_on = forms.DateField(label=_("Last contact"), widget=DateInput())


class TransferForm(forms.Form):
    therapist = forms.ModelChoiceField(
        queryset=StaffMember.objects.none(), label=_("New therapist")
    )
    on = forms.DateField(
        label=_("Date of the move"),
        widget=DateInput(),
        help_text=_("The current dyad ends and the new one starts on this day."),
    )

    def __init__(self, *args, therapists, **kwargs):  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        self.fields["therapist"].queryset = therapists
