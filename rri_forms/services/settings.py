from __future__ import annotations

from django.contrib.auth.base_user import AbstractBaseUser
from django.core.exceptions import PermissionDenied
from django.db import transaction

from clinic.access import require_staff
from rri_forms.models import ClinicFormSettings
from rri_forms.selectors import form_settings_for


@transaction.atomic
def form_settings_update(*, actor_user: AbstractBaseUser, **values: object) -> ClinicFormSettings:
    """Change the admin's own clinic's form settings (other clinics are unreachable)."""
    member = require_staff(actor_user)
    if not member.is_admin:
        raise PermissionDenied("Only clinic admins change form settings")
    settings = form_settings_for(member.clinic)
    for name, value in values.items():
        setattr(settings, name, value)
    settings.full_clean()
    settings.save()
    return settings
