"""Every form of the clinic pages, and the two helpers that put a service's refusal or a lost
database on a form. Forms parse; services decide."""

from __future__ import annotations

from django import forms
from django.contrib.auth.validators import UnicodeUsernameValidator
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from clinic.models import Client, Clinic, StaffMember, TherapySession
from clinic.models.care import client_code_validator
from clinic.scope import DateRangeForm
from dyad.lib.errors import SAVE_FAILED


def apply_errors(form, error: ValidationError) -> None:  # type: ignore[no-untyped-def]
    """Show a service's ValidationError on the form (field errors where they belong)."""
    if hasattr(error, "error_dict"):
        for field, field_errors in error.error_dict.items():
            form.add_error(field if field in form.fields else None, field_errors)
    else:
        form.add_error(None, error.messages)


def keep_typed(form, error: Exception) -> Exception:  # type: ignore[no-untyped-def]
    """The save lost the database (its transaction kept nothing): say so on the form, which
    is shown again with what was typed instead of the generic 503 page."""
    form.add_error(None, SAVE_FAILED)
    return error


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


# --- Staff (clinic admins) ---------------------------------------------------------


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


# --- Audit, privacy, two-factor -----------------------------------------------------


class AuditFilterForm(DateRangeForm):
    """The audit trail's filter: the shared date range (clinic/scope.py, as ?date_from= and
    ?date_to=) plus the audit page's own client, staff member and kind of event."""

    date_names = ("date_from", "date_to")

    client = forms.CharField(label=_("Client code"), max_length=32, required=False)
    staff = forms.ModelChoiceField(
        label=_("Staff member"), queryset=StaffMember.objects.none(), required=False
    )
    kind = forms.ChoiceField(
        label=_("Show"),
        required=False,
        choices=[
            ("", _("Reads and changes")),
            ("read", _("Reads only")),
            ("write", _("Changes only")),
            ("security", _("Staff sign-in changes only")),
        ],
    )

    def __init__(self, *args, clinic: Clinic, **kwargs):  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        self.clinic = clinic
        self.fields["staff"].queryset = StaffMember.objects.filter(clinic=clinic).order_by(
            "display_name"
        )
        for name in self.date_names:
            self.fields[name].widget = DateInput()
        self.order_fields(["client", "staff", *self.date_names, "kind"])
        for name, field in self.fields.items():
            css = "form-select" if name in ("staff", "kind") else "form-control"
            field.widget.attrs["class"] = f"{css} form-control-sm" if css == "form-control" else css

    def clean_client(self) -> Client | None:
        code = self.cleaned_data["client"].strip()
        if not code:
            return None
        client = Client.objects.filter(clinic=self.clinic, code__iexact=code).first()
        if client is None:
            raise forms.ValidationError(
                gettext("No client of this clinic has the code %(code)s.") % {"code": code}
            )
        return client


class RetentionForm(forms.Form):
    retention_hold = forms.BooleanField(label=_("Retention hold"), required=False)
    retention_note = forms.CharField(
        label=_("Reason for the hold"),
        max_length=300,
        required=False,
        help_text=Client._meta.get_field("retention_note").help_text,
    )


class CodeForm(forms.Form):
    code = forms.CharField(
        label=_("Code"),
        max_length=40,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "text", "autofocus": True}
        ),
    )

    def clean_code(self) -> str:
        return "".join(self.cleaned_data["code"].split()).replace("-", "").lower()
