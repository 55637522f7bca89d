"""The job health page (/health/jobs/): clinic admins and superusers."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from clinic import access
from clinic.selectors.health import job_health as job_health_now


@login_required
@require_GET
@access.role_required(access.ADMIN_ONLY, "Clinic admins only", superuser=True)
def job_health(request: HttpRequest) -> HttpResponse:
    stalled = settings.PROCRASTINATE_WORKER_DEFAULTS["stalled_worker_timeout"]
    return render(
        request,
        "clinic/job_health.html",
        {"health": job_health_now(stalled_seconds=stalled), "stalled_seconds": stalled},
    )
