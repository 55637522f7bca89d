"""Second factor for staff: TOTP (authenticator app) plus single-use recovery codes.

Who must use it (when REQUIRE_2FA is on): supervisors, clinic admins, Django staff and
superusers; therapists too when THERAPISTS_NEED_2FA is on. After the password step such
a user is signed in but *unverified*: every page except the verification/enrolment pages
and log-out redirects to the verification page (or to enrolment when they have no
authenticator yet). Enrolment is offered only to users without a confirmed authenticator,
so a stolen password alone can never register a new one.
"""

from __future__ import annotations

import secrets
from base64 import b32encode

import segno
from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods
from django_otp import login as otp_login
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from clinic.access import staff_for

RECOVERY_CODE_COUNT = 10
TOTP_DEVICE_NAME = "Authenticator app"
RECOVERY_DEVICE_NAME = "Recovery codes"
# Pages an unverified user may still reach (URL names).
EXEMPT_URL_NAMES = frozenset(
    {"two_factor_verify", "two_factor_setup", "logout", "client_link"}
    | {"client_start", "client_form", "client_saved"}
)


def two_factor_required(user) -> bool:  # type: ignore[no-untyped-def]
    """True when this signed-in user must pass a second factor before any staff page."""
    if not settings.REQUIRE_2FA or not getattr(user, "is_authenticated", False):
        return False
    if user.is_superuser or user.is_staff:
        return True
    member = staff_for(user)
    if member is None:
        return False  # no clinic membership: every staff page refuses them anyway
    if member.is_therapist:
        return bool(settings.THERAPISTS_NEED_2FA or member.clinic.therapists_need_2fa)
    return True


def _is_verified(user) -> bool:  # type: ignore[no-untyped-def]
    is_verified = getattr(user, "is_verified", None)
    return bool(is_verified and is_verified())


def has_authenticator(user) -> bool:  # type: ignore[no-untyped-def]
    """A confirmed authenticator app. Recovery codes alone do not count: when an admin
    deletes a lost phone's device, the user enrols a new one at the next sign-in."""
    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def _safe_next(request: HttpRequest, candidate: str | None) -> str:
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return reverse("home")


class TwoFactorMiddleware:
    """Send signed-in users who still owe a second factor to verification or enrolment.

    Goes after django_otp's OTPMiddleware (which sets user.is_verified()).
    """

    def __init__(self, get_response):  # type: ignore[no-untyped-def]
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):  # type: ignore[no-untyped-def]
        match = request.resolver_match
        if match is not None and match.url_name in EXEMPT_URL_NAMES:
            return None
        user = request.user
        if not two_factor_required(user) or _is_verified(user):
            return None
        target = reverse("two_factor_verify" if has_authenticator(user) else "two_factor_setup")
        if request.method == "GET":
            query = QueryDict(mutable=True)
            query["next"] = request.get_full_path()
            return redirect(f"{target}?{query.urlencode(safe='/')}")
        return redirect(target)


# --- Forms ----------------------------------------------------------------------------


class CodeForm(forms.Form):
    code = forms.CharField(
        label=gettext_lazy("Code"),
        max_length=40,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "text", "autofocus": True}
        ),
    )

    def clean_code(self) -> str:
        return "".join(self.cleaned_data["code"].split()).replace("-", "").lower()


# --- Recovery codes -------------------------------------------------------------------


def _new_recovery_code() -> str:
    # 80 bits from the OS CSPRNG, 16 base32 characters (the token column's width).
    return b32encode(secrets.token_bytes(10)).decode("ascii").lower()


def issue_recovery_codes(user) -> list[str]:  # type: ignore[no-untyped-def]
    """Replace the user's recovery codes with RECOVERY_CODE_COUNT new single-use codes."""
    with transaction.atomic():
        StaticDevice.objects.filter(user=user).delete()
        device = StaticDevice.objects.create(user=user, name=RECOVERY_DEVICE_NAME, confirmed=True)
        codes = [_new_recovery_code() for _ in range(RECOVERY_CODE_COUNT)]
        StaticToken.objects.bulk_create(StaticToken(device=device, token=c) for c in codes)
    return codes


def format_code(code: str) -> str:
    return "-".join(code[i : i + 4] for i in range(0, len(code), 4))


# --- Views ----------------------------------------------------------------------------


def _verify(user, code: str):  # type: ignore[no-untyped-def]
    """The device that accepts the code (TOTP first, then a recovery code), or None."""
    with transaction.atomic():
        for model in (TOTPDevice, StaticDevice):
            for device in model.objects.devices_for_user(user, confirmed=True).select_for_update():
                if device.verify_token(code):  # throttled per device by django-otp
                    return device
    return None


def _complete(request: HttpRequest, device) -> None:  # type: ignore[no-untyped-def]
    # A new session id once the user is fully authenticated (ASVS 7.2.4).
    request.session.cycle_key()
    otp_login(request, device)


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def verify(request: HttpRequest) -> HttpResponse:
    user = request.user
    next_url = _safe_next(request, request.POST.get("next") or request.GET.get("next"))
    if _is_verified(user) or not two_factor_required(user):
        return redirect(next_url)
    if not has_authenticator(user):
        return redirect("two_factor_setup")
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        device = _verify(user, form.cleaned_data["code"])
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
        return redirect("home" if _is_verified(user) else "two_factor_verify")
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
                    "next": _safe_next(request, request.GET.get("next")),
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
