"""Forms for the clinic admin's staff pages. Forms parse; clinic.staff_services decides."""

from __future__ import annotations

from django import forms
from django.contrib.auth.validators import UnicodeUsernameValidator
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from clinic.models import StaffMember


class StaffForm(forms.Form):
    username = forms.CharField(
        label=_("Username"),
        max_length=150,
        validators=[UnicodeUsernameValidator()],
        help_text=_("What they type to sign in. Letters, digits and @ . + - _ only."),
    )
    display_name = forms.CharField(
        label=_("Name"), max_length=150, help_text=_("Shown to colleagues and on client forms.")
    )
    email = forms.EmailField(
        label=_("Email"),
        required=False,
        help_text=_("Where the invitation to set a password can be sent."),
    )
    role = forms.ChoiceField(label=_("Role"), choices=StaffMember.Role.choices)

    def __init__(self, *args, creating: bool, **kwargs):  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        if not creating:
            del self.fields["username"]


class SupervisionForm(forms.Form):
    therapists = forms.ModelMultipleChoiceField(
        label=_("Therapists this supervisor supervises"),
        queryset=StaffMember.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    def __init__(self, *args, therapists: QuerySet[StaffMember], **kwargs):  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        self.fields["therapists"].queryset = therapists
        self.fields["therapists"].label_from_instance = lambda t: t.display_name


class ClinicSecurityForm(forms.Form):
    therapists_need_2fa = forms.BooleanField(
        label=_("Therapists also sign in with an authenticator app"), required=False
    )
