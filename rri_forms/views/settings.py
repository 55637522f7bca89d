from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from clinic.access import require_admin
from clinic.forms import apply_errors
from rri_forms.forms import FIELDS, FormSettingsForm
from rri_forms.selectors import form_settings_for
from rri_forms.services.settings import form_settings_update


@login_required
@require_http_methods(["GET", "POST"])
def form_settings(request: HttpRequest) -> HttpResponse:
    member = require_admin(request.user)
    current = form_settings_for(member.clinic)
    form = FormSettingsForm(request.POST or None, initial=FormSettingsForm.initial_from(current))
    if request.method == "POST" and form.is_valid():
        try:
            form_settings_update(
                actor_user=request.user, **{name: form.cleaned_data[name] for name in FIELDS}
            )
        except ValidationError as error:
            apply_errors(form, error)
        else:
            messages.success(request, _("Form settings saved."))
            return redirect("form_settings")
    return render(request, "rri_forms/form_settings.html", {"form": form})
