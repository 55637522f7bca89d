"""The job health page (/health/jobs/): clinic admins and superusers."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from clinic import access, health


@login_required
@require_GET
def job_health(request: HttpRequest) -> HttpResponse:
    if not request.user.is_superuser:
        member = access.require_staff(request.user)
        if not member.is_admin:
            raise PermissionDenied("Clinic admins only")
    stalled = settings.PROCRASTINATE_WORKER_DEFAULTS["stalled_worker_timeout"]
    return render(
        request,
        "clinic/job_health.html",
        {"health": health.job_health(stalled_seconds=stalled), "stalled_seconds": stalled},
    )
