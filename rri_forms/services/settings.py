from __future__ import annotations

from django.contrib.auth.base_user import AbstractBaseUser
from django.db import transaction

from clinic.access import ADMIN_ONLY, require_role
from rri_forms.models import ClinicFormSettings
from rri_forms.selectors import form_settings_for


@transaction.atomic
def form_settings_update(*, actor_user: AbstractBaseUser, **values: object) -> ClinicFormSettings:
    """Change the admin's own clinic's form settings (other clinics are unreachable)."""
    member = require_role(actor_user, ADMIN_ONLY, "Only clinic admins change form settings")
    settings = form_settings_for(member.clinic)
    for name, value in values.items():
        setattr(settings, name, value)
    settings.full_clean()
    settings.save()
    return settings
