"""Recording reads of client data (HIPAA audit controls cover reads, not only writes).

Views of every app call `log_access`; the audit page's reads are clinic/selectors/audit.py.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import models
from django.http import HttpRequest

from clinic.access import require_staff
from clinic.models import AccessLog, Client


def log_access(
    request: HttpRequest,
    action: str,
    *,
    client: Client | None = None,
    obj: models.Model | None = None,
    clients: Iterable[int] = (),
    detail: str = "",
) -> AccessLog:
    """One row per read of client data: `client` for a page about one client, `clients`
    (ids) for every client a list or dashboard showed. `detail` must not contain
    clinical content."""
    member = require_staff(request.user)
    shown = {int(pk) for pk in clients}
    if client is not None:
        shown.add(client.pk)
    object_type = ""
    if obj is not None:
        if obj._meta.model_name is None:  # Django sets it when the model class is created
            raise TypeError(f"{type(obj).__name__} is not a model instance")
        object_type = obj._meta.model_name
    return AccessLog.objects.create(
        clinic=member.clinic,
        staff=member,
        action=action,
        client_id=client.pk if client is not None else None,
        client_ids=sorted(shown),
        object_type=object_type,
        object_id=obj.pk if obj is not None else None,
        detail=detail[:300],
        path=request.path[:300],
    )
