from __future__ import annotations

from django.http import HttpRequest

from clinic.access import staff_for
from rri_forms.checks import placeholder_instruments


def instrument_notices(request: HttpRequest) -> dict[str, object]:
    """Clinic admins see which instruments still need their licensed wording."""
    member = staff_for(getattr(request, "user", None)) if hasattr(request, "user") else None
    if member is None or not member.is_admin:
        return {}
    return {"placeholder_instruments": placeholder_instruments()}
