from __future__ import annotations

from django.http import HttpRequest

from clinic.access import staff_for


def staff(request: HttpRequest) -> dict[str, object]:
    """The signed-in staff member (or None), for the navigation."""
    user = getattr(request, "user", None)
    return {"staff_member": staff_for(user) if user is not None else None}
