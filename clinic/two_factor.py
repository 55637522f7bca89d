"""Second factor for staff: TOTP (authenticator app) plus single-use recovery codes.

Who must use it (when REQUIRE_2FA is on): supervisors, clinic admins, Django staff and
superusers; therapists too when THERAPISTS_NEED_2FA is on. After the password step such
a user is signed in but *unverified*: every page except the verification/enrolment pages
and log-out redirects to the verification page (or to enrolment when they have no
authenticator yet). Enrolment is offered only to users without a confirmed authenticator,
so a stolen password alone can never register a new one.

Here: the rules, the middleware and the devices; the two pages are clinic/views/two_factor.py.
"""

from __future__ import annotations

import secrets
from base64 import b32encode

from django.conf import settings
from django.db import transaction
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
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


def is_verified(user) -> bool:  # type: ignore[no-untyped-def]
    is_verified = getattr(user, "is_verified", None)
    return bool(is_verified and is_verified())


def has_authenticator(user) -> bool:  # type: ignore[no-untyped-def]
    """A confirmed authenticator app. Recovery codes alone do not count: when an admin
    deletes a lost phone's device, the user enrols a new one at the next sign-in."""
    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def safe_next(request: HttpRequest, candidate: str | None) -> str:
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
        if not two_factor_required(user) or is_verified(user):
            return None
        target = reverse("two_factor_verify" if has_authenticator(user) else "two_factor_setup")
        if request.method == "GET":
            query = QueryDict(mutable=True)
            query["next"] = request.get_full_path()
            return redirect(f"{target}?{query.urlencode(safe='/')}")
        return redirect(target)


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


def verifying_device(user, code: str):  # type: ignore[no-untyped-def]
    """The device that accepts the code (TOTP first, then a recovery code), or None."""
    with transaction.atomic():
        for model in (TOTPDevice, StaticDevice):
            for device in model.objects.devices_for_user(user, confirmed=True).select_for_update():
                if device.verify_token(code):  # throttled per device by django-otp
                    return device
    return None
