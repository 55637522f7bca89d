"""The clinic admin's staff pages: list, add, edit, supervision, sign-in help.

Admins only (others get a 403); another clinic's staff member is a 404. Writes go through
clinic.services.staff; a refused change comes back as a readable error, nothing saved.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from clinic import access
from clinic.forms import ClinicSecurityForm, StaffForm, SupervisionForm, apply_errors
from clinic.models import StaffMember
from clinic.selectors.care import staff_overview
from clinic.services import staff as staff_services

logger = logging.getLogger("dyad.errors")


def _supervision_form(
    request: HttpRequest, target: StaffMember, data=None
) -> SupervisionForm | None:  # type: ignore[no-untyped-def]
    if not target.is_supervisor:
        return None
    return SupervisionForm(
        data,
        therapists=access.therapists_visible_to(request.user).order_by("display_name"),
        initial={"therapists": list(target.supervisions.values_list("therapist_id", flat=True))},
    )


def _edit_page(request: HttpRequest, target: StaffMember, **context) -> HttpResponse:  # type: ignore[no-untyped-def]
    context.setdefault(
        "form",
        StaffForm(
            creating=False,
            initial={
                "display_name": target.display_name,
                "email": target.user.email,
                "role": target.role,
            },
        ),
    )
    context.setdefault("supervision_form", _supervision_form(request, target))
    return render(
        request,
        "clinic/staff_edit.html",
        {
            "target": target,
            "is_self": target.user_id == request.user.pk,
            "active_dyads": target.dyads.filter(status="active").count(),
            "supervisors": [
                s.supervisor for s in target.supervised_by.select_related("supervisor")
            ],
            "has_authenticator": target.user.totpdevice_set.filter(confirmed=True).exists(),
            **context,
        },
    )


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def staff_list(request: HttpRequest) -> HttpResponse:
    member = access.require_admin(request.user)
    form = ClinicSecurityForm(
        request.POST or None, initial={"therapists_need_2fa": member.clinic.therapists_need_2fa}
    )
    if request.method == "POST" and form.is_valid():
        staff_services.clinic_security_set(
            actor_user=request.user, therapists_need_2fa=form.cleaned_data["therapists_need_2fa"]
        )
        messages.success(request, _("Sign-in settings saved."))
        return redirect("staff_list")
    return render(
        request,
        "clinic/staff_list.html",
        {
            "staff": staff_overview(request.user),
            "security_form": form,
            "deployment_forces_2fa": settings.REQUIRE_2FA and settings.THERAPISTS_NEED_2FA,
            "require_2fa": settings.REQUIRE_2FA,
        },
    )


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
@access.admin_required
def staff_new(request: HttpRequest) -> HttpResponse:
    form = StaffForm(request.POST or None, creating=True)
    if request.method == "POST" and form.is_valid():
        try:
            target = staff_services.staff_create(actor_user=request.user, **form.cleaned_data)
        except ValidationError as error:
            apply_errors(form, error)
        else:
            messages.success(
                request,
                _("%(name)s was added. Give them the sign-in link below to set a password.")
                % {"name": target.display_name},
            )
            return _invite_response(request, target, send=False)
    return render(request, "clinic/staff_new.html", {"form": form})


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def staff_edit(request: HttpRequest, pk: int) -> HttpResponse:
    target = access.get_staff_for_admin(request.user, pk)
    if request.method == "GET":
        return _edit_page(request, target)
    form = StaffForm(request.POST, creating=False)
    if form.is_valid():
        try:
            staff_services.staff_update(actor_user=request.user, member=target, **form.cleaned_data)
        except ValidationError as error:
            apply_errors(form, error)
        else:
            messages.success(request, _("Saved."))
            return redirect("staff_edit", pk=target.pk)
    return _edit_page(request, target, form=form)


@login_required
@require_POST
def staff_supervision(request: HttpRequest, pk: int) -> HttpResponse:
    target = access.get_staff_for_admin(request.user, pk)
    form = _supervision_form(request, target, request.POST)
    if form is None:
        messages.error(request, _("Only supervisors supervise therapists."))
        return redirect("staff_edit", pk=target.pk)
    if form.is_valid():
        try:
            staff_services.supervision_set(
                actor_user=request.user,
                supervisor=target,
                therapists=form.cleaned_data["therapists"],
            )
        except ValidationError as error:
            apply_errors(form, error)
        else:
            messages.success(request, _("Supervision saved."))
            return redirect("staff_edit", pk=target.pk)
    return _edit_page(request, target, supervision_form=form)


@login_required
@require_POST
def staff_active(request: HttpRequest, pk: int) -> HttpResponse:
    target = access.get_staff_for_admin(request.user, pk)
    active = request.POST.get("active") == "1"
    try:
        staff_services.staff_set_active(actor_user=request.user, member=target, active=active)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        done = (
            _("%(name)s can sign in again.")
            if active
            else _("%(name)s is deactivated and signed out everywhere.")
        )
        messages.success(request, done % {"name": target.display_name})
    return redirect("staff_edit", pk=target.pk)


@login_required
@require_POST
def staff_reset_2fa(request: HttpRequest, pk: int) -> HttpResponse:
    target = access.get_staff_for_admin(request.user, pk)
    try:
        removed = staff_services.two_factor_reset(actor_user=request.user, member=target)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect("staff_edit", pk=target.pk)
    if removed:
        messages.success(
            request,
            _(
                "%(name)s's authenticator app and recovery codes were removed: they set up a "
                "new one at their next sign-in."
            )
            % {"name": target.display_name},
        )
    else:
        messages.info(
            request, _("%(name)s had no authenticator app.") % {"name": target.display_name}
        )
    return redirect("staff_edit", pk=target.pk)


@never_cache
@login_required
@require_POST
def staff_invite(request: HttpRequest, pk: int) -> HttpResponse:
    target = access.get_staff_for_admin(request.user, pk)
    return _invite_response(request, target, send=request.POST.get("send") == "1")


def _invite_response(request: HttpRequest, target: StaffMember, *, send: bool) -> HttpResponse:
    """The staff page with a fresh sign-in link, shown once (the response is not cached and
    the link is not stored anywhere)."""
    try:
        url = request.build_absolute_uri(staff_services.password_link_path(request.user, target))
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect("staff_edit", pk=target.pk)
    if send:
        if not target.user.email:
            messages.error(request, _("There is no email address to send it to."))
        else:
            try:
                send_mail(
                    _("Your Dyad account"),
                    _(
                        "Hello %(name)s,\n\n%(clinic)s has given you an account on Dyad "
                        "(username: %(username)s). Set your password here:\n\n%(url)s\n\n"
                        "The link works once and expires in %(days)d days.\n"
                    )
                    % {
                        "name": target.display_name,
                        "clinic": target.clinic.name,
                        "username": target.user.get_username(),
                        "url": url,
                        "days": settings.PASSWORD_RESET_TIMEOUT // 86400,
                    },
                    None,
                    [target.user.email],
                    fail_silently=False,
                )
            except OSError:
                logger.warning("staff invitation email failed", exc_info=True)
                messages.error(
                    request, _("The email could not be sent; give them the link below instead.")
                )
            else:
                messages.success(request, _("Sent to %(email)s.") % {"email": target.user.email})
    return _edit_page(request, target, invite_url=url)
