"""Staff pages of the clinic domain: caseloads, clients, dyads and session logging."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from clinic import access, selectors, services
from clinic.audit import log_access
from clinic.forms import ClientDyadForm, ClientEditForm, EndDyadForm, NewDyadForm, TransferForm
from clinic.models import AccessLog, Dyad, StaffMember
from dyad.lib.errors import DATABASE_DOWN, SAVE_FAILED, save_failed

CASELOAD_PAGE_SIZE = 50


def apply_errors(form, error: ValidationError) -> None:  # type: ignore[no-untyped-def]
    """Show a service's ValidationError on the form (field errors where they belong)."""
    if hasattr(error, "error_dict"):
        for field, field_errors in error.error_dict.items():
            form.add_error(field if field in form.fields else None, field_errors)
    else:
        form.add_error(None, error.messages)


def keep_typed(form, error: Exception) -> Exception:  # type: ignore[no-untyped-def]
    """The save lost the database (its transaction kept nothing): say so on the form, which
    is shown again with what was typed instead of the generic 503 page."""
    form.add_error(None, SAVE_FAILED)
    return error


def _status(request: HttpRequest) -> str:
    """A dyad status, or "all" for anything else (as the caseload selector reads it)."""
    status = request.GET.get("status", Dyad.Status.ACTIVE)
    return status if status in Dyad.Status.values else "all"


def _search(request: HttpRequest) -> str:
    """The caseload search as typed, less NUL bytes (PostgreSQL text cannot hold them)."""
    return request.GET.get("q", "").replace("\x00", "")[:100]


@login_required
@require_safe
def home(request: HttpRequest) -> HttpResponse:
    member = access.require_staff(request.user)
    if member.is_therapist:
        return redirect("therapist_home")
    return redirect("team")


@login_required
@require_safe
def caseload(request: HttpRequest) -> HttpResponse:
    member = access.require_staff(request.user)
    return _caseload_page(request, member if member.is_therapist else None)


@login_required
@require_safe
def team(request: HttpRequest) -> HttpResponse:
    member = access.require_staff(request.user)
    if member.is_therapist:
        raise PermissionDenied("Team view is for supervisors and admins")
    therapists = list(selectors.team_for_user(request.user))
    # Caseload counts and dates per therapist, no client: a row saying who looked.
    log_access(
        request, AccessLog.Action.VIEW_DASHBOARD, detail=f"team: {len(therapists)} therapists"
    )
    return render(request, "clinic/team.html", {"therapists": therapists})


@login_required
@require_safe
def therapist_detail(request: HttpRequest, pk: int) -> HttpResponse:
    therapist = access.get_therapist_for_user(request.user, pk)
    return _caseload_page(request, therapist)


def _caseload_page(request: HttpRequest, therapist: StaffMember | None) -> HttpResponse:
    """One page of a caseload (one therapist's, or every visible dyad), logged with the
    clients it shows."""
    status = _status(request)
    search = _search(request)
    dyads = selectors.caseload_for_user(
        request.user, therapist=therapist, status=status, search=search
    )
    page = Paginator(dyads, CASELOAD_PAGE_SIZE).get_page(request.GET.get("page"))
    log_access(
        request,
        AccessLog.Action.VIEW_DASHBOARD,
        obj=therapist,
        clients=[dyad.client_id for dyad in page.object_list],
        detail=f"caseload: page {page.number} ({status})",
    )
    return render(
        request,
        "clinic/caseload.html",
        {
            "dyads": page.object_list,
            "page": page,
            "search": search,
            "status": status,
            "statuses": Dyad.Status.choices,
            "owner": therapist,
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def client_new(request: HttpRequest) -> HttpResponse:
    member = access.require_staff(request.user)
    if member.is_supervisor:
        raise PermissionDenied("Supervisors have read-only access")
    therapists = access.therapists_visible_to(request.user) if member.is_admin else None
    form = ClientDyadForm(
        request.POST or None,
        therapists=therapists,
        initial={"started_on": member.clinic.today()},
    )
    lost: Exception | None = None
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            dyad = services.client_create_with_dyad(
                actor_user=request.user,
                code=data["code"],
                display_name=data["display_name"],
                email=data["email"],
                therapist=data.get("therapist") or member,
                started_on=data["started_on"],
            )
        except ValidationError as error:
            apply_errors(form, error)
        except DATABASE_DOWN as exc:
            lost = keep_typed(form, exc)
        else:
            messages.success(request, _("Client %(code)s added.") % {"code": dyad.client.code})
            return redirect("dyad_detail", pk=dyad.pk)
    response = render(request, "clinic/client_new.html", {"form": form})
    return save_failed(request, lost, response)


@login_required
@require_POST
def dyad_end(request: HttpRequest, pk: int) -> HttpResponse:
    dyad = access.get_dyad_for_write(request.user, pk)
    form = EndDyadForm(request.POST)
    if form.is_valid():
        try:
            services.dyad_end(actor_user=request.user, dyad=dyad, **form.cleaned_data)
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(request, _("The dyad has been ended."))
    else:
        messages.error(request, _("Enter a valid end date."))
    return redirect("dyad_detail", pk=dyad.pk)


@login_required
@require_http_methods(["GET", "POST"])
def dyad_transfer(request: HttpRequest, pk: int) -> HttpResponse:
    dyad = access.get_dyad_for_write(request.user, pk)
    if not access.require_staff(request.user).is_admin:
        raise PermissionDenied("Clinic admins move clients between therapists")
    form = TransferForm(
        request.POST or None,
        therapists=access.therapists_visible_to(request.user).exclude(pk=dyad.therapist_id),
        initial={"on": dyad.clinic.today()},
    )
    lost: Exception | None = None
    if request.method == "POST" and form.is_valid():
        try:
            new = services.dyad_transfer(actor_user=request.user, dyad=dyad, **form.cleaned_data)
        except ValidationError as error:
            apply_errors(form, error)
        except DATABASE_DOWN as exc:
            lost = keep_typed(form, exc)
        else:
            messages.success(
                request,
                _("%(code)s is now with %(name)s; the earlier dyad is kept as ended.")
                % {"code": new.client.code, "name": new.therapist.display_name},
            )
            return redirect("dyad_detail", pk=new.pk)
    if lost is None:  # a lost database cannot log either: the typed values come back
        log_access(request, AccessLog.Action.VIEW_DYAD, client=dyad.client, obj=dyad)
    response = render(request, "clinic/dyad_transfer.html", {"dyad": dyad, "form": form})
    return save_failed(request, lost, response)


@login_required
@require_http_methods(["GET", "POST"])
def client_dyad_new(request: HttpRequest, pk: int) -> HttpResponse:
    client = access.get_client_for_user(request.user, pk)
    member = access.require_staff(request.user)
    if member.is_supervisor:
        raise PermissionDenied("Supervisors have read-only access")
    therapists = access.therapists_visible_to(request.user) if member.is_admin else None
    form = NewDyadForm(
        request.POST or None, therapists=therapists, initial={"started_on": member.clinic.today()}
    )
    lost: Exception | None = None
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            dyad = services.dyad_open(
                actor_user=request.user,
                client=client,
                therapist=data.get("therapist") or member,
                started_on=data["started_on"],
            )
        except ValidationError as error:
            apply_errors(form, error)
        except DATABASE_DOWN as exc:
            lost = keep_typed(form, exc)
        else:
            messages.success(
                request, _("A new dyad with %(code)s is open.") % {"code": client.code}
            )
            return redirect("dyad_detail", pk=dyad.pk)
    if lost is None:  # a lost database cannot log either: the typed values come back
        log_access(request, AccessLog.Action.VIEW_CLIENT, client=client, obj=client)
    response = render(request, "clinic/client_dyad_new.html", {"client": client, "form": form})
    return save_failed(request, lost, response)


@login_required
@require_http_methods(["GET", "POST"])
def client_edit(request: HttpRequest, pk: int) -> HttpResponse:
    client = access.get_client_for_write(request.user, pk)
    form = ClientEditForm(
        request.POST or None,
        initial={
            "code": client.code,
            "display_name": client.display_name,
            "email": client.email,
            "reminders_off": client.reminders_off,
        },
    )
    back = request.GET.get("dyad")
    back_url = (
        reverse("dyad_detail", args=[back])
        if back
        and back.isascii()  # "１" (full width) is a digit to Python, not to the URL
        and back.isdigit()
        and access.dyads_visible_to(request.user).filter(pk=back).exists()
        else reverse("home")
    )
    lost: Exception | None = None
    if request.method == "POST" and form.is_valid():
        try:
            services.client_update(actor_user=request.user, client=client, **form.cleaned_data)
        except ValidationError as error:
            apply_errors(form, error)
        except DATABASE_DOWN as exc:
            lost = keep_typed(form, exc)
        else:
            messages.success(request, _("Client details saved."))
            return redirect(back_url)
    if lost is None:  # the page shows the client's name and email
        log_access(request, AccessLog.Action.VIEW_CLIENT, client=client, obj=client)
    response = render(
        request, "clinic/client_edit.html", {"client": client, "form": form, "back_url": back_url}
    )
    return save_failed(request, lost, response)
