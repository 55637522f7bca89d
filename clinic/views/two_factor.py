"""The second-factor pages: the code after the password, and enrolling an authenticator app.

The rules (who must use it, the middleware that sends them here): clinic/two_factor.py.
"""

from __future__ import annotations

from base64 import b32encode

import segno
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods
from django_otp import login as otp_login
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from clinic.forms import CodeForm
from clinic.two_factor import (
    TOTP_DEVICE_NAME,
    format_code,
    has_authenticator,
    is_verified,
    issue_recovery_codes,
    safe_next,
    two_factor_required,
    verifying_device,
)


def _complete(request: HttpRequest, device) -> None:  # type: ignore[no-untyped-def]
    # A new session id once the user is fully authenticated (ASVS 7.2.4).
    request.session.cycle_key()
    otp_login(request, device)


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def verify(request: HttpRequest) -> HttpResponse:
    user = request.user
    next_url = safe_next(request, request.POST.get("next") or request.GET.get("next"))
    if is_verified(user) or not two_factor_required(user):
        return redirect(next_url)
    if not has_authenticator(user):
        return redirect("two_factor_setup")
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        device = verifying_device(user, form.cleaned_data["code"])
        if device is not None:
            _complete(request, device)
            if isinstance(device, StaticDevice):
                messages.warning(
                    request,
                    _(
                        "You signed in with a recovery code; %(left)s are left. If you have "
                        "lost your phone, ask your clinic admin to reset your two-step sign-in."
                    )
                    % {"left": device.token_set.count()},
                )
            return redirect(next_url)
        form.add_error(
            "code",
            _(
                "That code did not work. Check the time on your phone, wait for a new code "
                "and try again. After several wrong codes you must wait a little longer "
                "between tries."
            ),
        )
    return render(request, "clinic/two_factor_verify.html", {"form": form, "next": next_url})


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def setup(request: HttpRequest) -> HttpResponse:
    """Enrol an authenticator app: QR code + secret, confirm with a code, show recovery codes."""
    user = request.user
    if has_authenticator(user):
        # Already enrolled: the second factor must be presented, never replaced here.
        return redirect("home" if is_verified(user) else "two_factor_verify")
    if not two_factor_required(user):
        return redirect("home")
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("pk").first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name=TOTP_DEVICE_NAME, confirmed=False)
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():
            device = TOTPDevice.objects.select_for_update().get(pk=device.pk)
            accepted = device.verify_token(form.cleaned_data["code"])
            if accepted:
                device.confirmed = True
                device.save(update_fields=["confirmed"])
                TOTPDevice.objects.filter(user=user, confirmed=False).delete()
                codes = issue_recovery_codes(user)
        if accepted:
            _complete(request, device)
            return render(
                request,
                "clinic/two_factor_recovery_codes.html",
                {
                    "codes": [format_code(c) for c in codes],
                    "next": safe_next(request, request.GET.get("next")),
                },
            )
        form.add_error(
            "code",
            _("That code did not work. Scan the QR code again, wait for a new code and retry."),
        )
    secret = b32encode(device.bin_key).decode("ascii")
    return render(
        request,
        "clinic/two_factor_setup.html",
        {
            "form": form,
            # segno's SVG has no scripts or style attributes: safe inline under our CSP.
            "qr_svg": mark_safe(segno.make(device.config_url, error="m").svg_inline(scale=5)),  # noqa: S308
            "secret": " ".join(secret[i : i + 4] for i in range(0, len(secret), 4)),
        },
    )
