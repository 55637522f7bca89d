"""Privacy requests about one client (clinic admins only): export, hold, pseudonymise, erase.

Pages under /clients/<pk>/privacy/. Another clinic's client, or one the user cannot see,
is a 404; a therapist or supervisor who can see the client gets a 403.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from clinic import access
from clinic.forms import RetentionForm
from clinic.models import AccessLog, Client
from clinic.selectors.privacy import access_log_about, client_rows, export_zip
from clinic.services import privacy
from clinic.services.audit import log_access


@never_cache
@login_required
@require_GET
def client_privacy(request: HttpRequest, pk: int) -> HttpResponse:
    client = access.get_client_for_admin(request.user, pk)
    rows = client_rows(client)
    counts = [
        (model._meta.verbose_name_plural, count)
        for model, count in rows.counts()
        if model is not Client
    ]
    access_count = access_log_about(client).count()
    log_access(
        request, AccessLog.Action.VIEW_CLIENT, client=client, obj=client, detail="privacy page"
    )
    return render(
        request,
        "clinic/privacy.html",
        {
            "client": client,
            "counts": counts,
            "access_count": access_count,
            "retention_form": RetentionForm(
                initial={
                    "retention_hold": client.retention_hold,
                    "retention_note": client.retention_note,
                }
            ),
            "is_pseudonymised": client.code.startswith(privacy.PSEUDONYM_PREFIX),
        },
    )


@never_cache
@login_required
@require_GET
def client_privacy_export(request: HttpRequest, pk: int) -> HttpResponse:
    client = access.get_client_for_admin(request.user, pk)
    member = access.require_staff(request.user)
    with transaction.atomic():
        content = export_zip(client, exported_by=member)
        log_access(
            request,
            AccessLog.Action.EXPORT,
            client=client,
            obj=client,
            detail="privacy request: export of everything held (JSON and CSV)",
        )
    response = HttpResponse(content, content_type="application/zip")
    stamp = member.clinic.today().isoformat()
    response["Content-Disposition"] = (
        f'attachment; filename="dyad-client-{client.pk}-export-{stamp}.zip"'
    )
    return response


@login_required
@require_POST
def client_retention(request: HttpRequest, pk: int) -> HttpResponse:
    client = access.get_client_for_admin(request.user, pk)
    form = RetentionForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("The reason for a hold can be at most 300 characters."))
        return redirect("client_privacy", pk=client.pk)
    hold = form.cleaned_data["retention_hold"]
    try:
        with transaction.atomic():
            privacy.retention_hold_set(
                actor_user=request.user,
                client=client,
                hold=hold,
                note=form.cleaned_data["retention_note"],
            )
            log_access(
                request,
                AccessLog.Action.PRIVACY,
                client=client,
                obj=client,
                detail="retention hold set" if hold else "retention hold cleared",
            )
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(
            request,
            _("Retention hold set: the record cannot be erased or pseudonymised.")
            if hold
            else _("Retention hold cleared."),
        )
    return redirect("client_privacy", pk=client.pk)


@login_required
@require_POST
def client_pseudonymise(request: HttpRequest, pk: int) -> HttpResponse:
    client = access.get_client_for_admin(request.user, pk)
    try:
        with transaction.atomic():
            client = privacy.client_pseudonymise(
                actor_user=request.user,
                client=client,
                confirm=request.POST.get("confirm", ""),
            )
            log_access(
                request,
                AccessLog.Action.PRIVACY,
                client=client,
                obj=client,
                detail="pseudonymised: code replaced, name and email removed",
            )
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(
            request,
            _("The client is now known as %(code)s; name and email were removed.")
            % {"code": client.code},
        )
    return redirect("client_privacy", pk=client.pk)


@login_required
@require_POST
def client_erase(request: HttpRequest, pk: int) -> HttpResponse:
    client = access.get_client_for_admin(request.user, pk)
    try:
        with transaction.atomic():
            deleted = privacy.client_erase(
                actor_user=request.user,
                client=client,
                confirm=request.POST.get("confirm", ""),
            )
            log_access(
                request,
                AccessLog.Action.PRIVACY,
                client=client,
                obj=client,
                detail=f"erased client #{client.pk}: {sum(deleted.values())} rows deleted",
            )
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect("client_privacy", pk=client.pk)
    messages.success(
        request,
        _("The client's record was erased (%(n)d rows).") % {"n": sum(deleted.values())},
    )
    return redirect("audit_log")
