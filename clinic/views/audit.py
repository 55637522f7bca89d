"""The audit trail page (clinic admins only): reads from the access log, writes from the
append-only history tables and admins' actions on colleagues' sign-ins (StaffSecurityEvent),
one timeline, filtered and paginated (the query: clinic/selectors/audit.py).
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from clinic import access
from clinic.forms import AuditFilterForm
from clinic.models import AccessLog
from clinic.selectors import audit
from clinic.services.audit import log_access


@login_required
@require_GET
def audit_log(request: HttpRequest) -> HttpResponse:
    member = access.require_admin(request.user)
    form = AuditFilterForm(request.GET or None, clinic=member.clinic)
    page = None
    data: dict[str, object] = {}
    if form.is_bound and not form.is_valid():
        # A bad filter shows nothing rather than silently showing everything.
        for message in form.messages():
            messages.error(request, message)
    else:
        data = form.cleaned_data if form.is_bound else {}
        low, high = audit.day_bounds(member.clinic, data.get("date_from"), data.get("date_to"))
        timeline = audit.Timeline(member.clinic_id, {**data, "low": low, "high": high})
        page = Paginator(timeline, audit.PAGE_SIZE).get_page(request.GET.get("page"))
        page.object_list = audit.describe(list(page.object_list), member.clinic)
        log_access(
            request,
            AccessLog.Action.VIEW_DASHBOARD,
            clients=[row["client_id"] for row in page.object_list if row["client_code"]]
            + ([data["client"].pk] if data.get("client") else []),
            detail="audit trail",
        )
    return render(
        request, "clinic/audit.html", {"form": form, "page": page, "client": data.get("client")}
    )
