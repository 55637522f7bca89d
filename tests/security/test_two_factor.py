"""Staff second factor: enrolment, verification, recovery codes, who must use it."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.urls import reverse
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.oath import totp
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from clinic.two_factor import issue_recovery_codes
from tests.conftest import CsrfClient
from tests.factories import PASSWORD, UserFactory
from tests.test_access_matrix import MATRIX

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]


def _code(device: TOTPDevice) -> str:
    value = totp(device.bin_key, device.step, device.t0, device.digits, device.drift)
    return f"{value:0{device.digits}d}"


def _password_login(username: str) -> CsrfClient:
    http = CsrfClient()
    response = http.post_form(reverse("login"), {"username": username, "password": PASSWORD})
    assert response.status_code == 302, response.content.decode()[:500]
    return http


def _enrol(user) -> TOTPDevice:  # type: ignore[no-untyped-def]
    return TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=True)


def _location(response) -> str:  # type: ignore[no-untyped-def]
    assert response.status_code == 302, response.status_code
    return response["Location"]


# --- Who must use it ------------------------------------------------------------------


@pytest.mark.parametrize("name", ["supervisor_a", "admin_a"])
def test_supervisors_and_admins_without_device_are_sent_to_enrolment(personas, name):
    http = _password_login(name)
    location = _location(http.get(reverse("caseload")))
    assert location.startswith(reverse("two_factor_setup"))


def test_therapist_does_not_need_it_by_default(personas):
    http = _password_login("therapist_a1")
    assert http.get(reverse("caseload")).status_code == 200


def test_therapist_needs_it_when_the_clinic_says_so(personas, settings):
    settings.THERAPISTS_NEED_2FA = True
    http = _password_login("therapist_a1")
    assert _location(http.get(reverse("caseload"))).startswith(reverse("two_factor_setup"))


def test_superuser_needs_it_for_django_admin(db):
    UserFactory(username="root", is_superuser=True, is_staff=True)
    http = _password_login("root")
    assert _location(http.get("/admin/")).startswith(reverse("two_factor_setup"))


def test_require_2fa_off_lets_everyone_through(personas, settings):
    settings.REQUIRE_2FA = False
    http = _password_login("supervisor_a")
    assert http.get(reverse("caseload")).status_code == 200


def _setting_in_process(**env: str) -> str:
    base = {k: v for k, v in os.environ.items() if k not in {"REQUIRE_2FA", "DEBUG"}}
    base.update(env)
    result = subprocess.run(  # noqa: S603
        [sys.executable, "-c", "import dyad.settings as s; print(s.REQUIRE_2FA)"],
        cwd=ROOT,
        env=base,
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout.strip()


def test_require_2fa_defaults_on_in_production_off_under_debug():
    production = {"DEBUG": "false", "SECRET_KEY": "k" * 60, "ALLOWED_HOSTS": "dyad.example.org"}
    assert _setting_in_process(**production) == "True"
    assert _setting_in_process(DEBUG="true") == "False"
    assert _setting_in_process(DEBUG="true", REQUIRE_2FA="true") == "True"


# --- Unverified users are held at the door --------------------------------------------


def test_unverified_user_is_redirected_from_every_staff_page(personas):
    _enrol(personas.admin_a.user)
    http = _password_login("admin_a")
    verify = reverse("two_factor_verify")
    for case in MATRIX:
        url = reverse(case.url_name, args=case.args(personas))
        if case.method == "get":
            response = http.get(url)
            assert _location(response) == f"{verify}?next={url}", url
        else:
            data = case.data(personas) if case.data else {}
            assert _location(http.post_form(url, data)) == verify, url
    assert _location(http.get("/admin/")).startswith(verify)
    assert _location(http.get(reverse("two_factor_setup"))) == verify


def test_password_alone_cannot_enrol_a_second_authenticator(personas):
    _enrol(personas.supervisor_a.user)
    http = _password_login("supervisor_a")
    response = http.post_form(reverse("two_factor_setup"), {"code": "123456"})
    assert _location(response) == reverse("two_factor_verify")
    assert TOTPDevice.objects.filter(user=personas.supervisor_a.user).count() == 1


def test_logout_works_before_verification(personas):
    _enrol(personas.supervisor_a.user)
    http = _password_login("supervisor_a")
    http.post_form(reverse("logout"))
    assert _location(http.get(reverse("caseload"))).startswith(reverse("login"))


# --- Enrolment ------------------------------------------------------------------------


def test_enrolment_shows_qr_confirms_with_a_code_and_shows_recovery_codes_once(personas):
    user = personas.supervisor_a.user
    http = _password_login("supervisor_a")
    page = http.get(reverse("two_factor_setup"))
    body = page.content.decode()
    assert page.status_code == 200
    assert "no-store" in page["Cache-Control"]
    assert '<svg width="' in body and 'class="segno"' in body
    device = TOTPDevice.objects.get(user=user, confirmed=False)
    # The same unconfirmed key on reload, so a scanned QR code stays valid.
    http.get(reverse("two_factor_setup"))
    assert TOTPDevice.objects.get(user=user, confirmed=False).pk == device.pk

    wrong = http.post_form(reverse("two_factor_setup"), {"code": "000000"})
    if _code(device) != "000000":
        assert wrong.status_code == 200 and "did not work" in wrong.content.decode()
        assert not TOTPDevice.objects.get(pk=device.pk).confirmed
    # django-otp makes the next try wait after a failure; the user waits it out.
    TOTPDevice.objects.filter(pk=device.pk).update(throttling_failure_count=0)

    done = http.post_form(reverse("two_factor_setup"), {"code": _code(device)})
    body = done.content.decode()
    assert done.status_code == 200
    assert "no-store" in done["Cache-Control"]
    codes = re.findall(
        r"<li class=\"col\">([a-z2-7]{4}-[a-z2-7]{4}-[a-z2-7]{4}-[a-z2-7]{4})</li>", body
    )
    assert len(codes) == 10 and len(set(codes)) == 10
    assert TOTPDevice.objects.get(pk=device.pk).confirmed
    assert StaticToken.objects.filter(device__user=user).count() == 10
    # Now verified: staff pages open; enrolment is closed; the codes are not shown again.
    assert http.get(reverse("caseload")).status_code == 200
    again = http.get(reverse("two_factor_setup"))
    assert _location(again) == reverse("home")


def test_verification_cycles_the_session_key(personas):
    device = _enrol(personas.supervisor_a.user)
    http = _password_login("supervisor_a")
    before = http.session.session_key
    http.post_form(reverse("two_factor_verify"), {"code": _code(device)})
    assert http.session.session_key != before
    assert http.session[DEVICE_ID_SESSION_KEY] == device.persistent_id


# --- Verification ---------------------------------------------------------------------


def test_totp_code_unlocks_and_returns_to_the_page_asked_for(personas):
    device = _enrol(personas.supervisor_a.user)
    http = _password_login("supervisor_a")
    wanted = reverse("dyad_detail", args=[personas.dyad_a1.pk])
    location = _location(http.get(wanted))
    assert location == f"{reverse('two_factor_verify')}?next={wanted}"
    page = http.get(location)
    assert page.status_code == 200 and 'name="next"' in page.content.decode()
    response = http.post_form(reverse("two_factor_verify"), {"code": _code(device), "next": wanted})
    assert _location(response) == wanted
    assert http.get(wanted).status_code == 200


def test_wrong_code_is_refused(personas):
    device = _enrol(personas.supervisor_a.user)
    http = _password_login("supervisor_a")
    bad = "111111" if _code(device) != "111111" else "222222"
    response = http.post_form(reverse("two_factor_verify"), {"code": bad})
    assert response.status_code == 200
    assert "did not work" in response.content.decode()
    assert _location(http.get(reverse("caseload"))).startswith(reverse("two_factor_verify"))


def test_offsite_next_is_ignored(personas):
    device = _enrol(personas.supervisor_a.user)
    http = _password_login("supervisor_a")
    response = http.post_form(
        reverse("two_factor_verify"), {"code": _code(device), "next": "https://evil.example/"}
    )
    assert _location(response) == reverse("home")


def test_recovery_code_works_once(personas):
    user = personas.admin_a.user
    _enrol(user)
    first, second = issue_recovery_codes(user)[:2]
    http = _password_login("admin_a")
    pretty = "-".join(first[i : i + 4] for i in range(0, 16, 4)).upper()  # as printed, any case
    response = http.post_form(reverse("two_factor_verify"), {"code": pretty}, follow=True)
    assert response.status_code == 200
    assert "9 are left" in response.content.decode()
    assert http.get(reverse("team")).status_code == 200
    assert not StaticToken.objects.filter(token=first).exists()

    again = _password_login("admin_a")
    refused = again.post_form(reverse("two_factor_verify"), {"code": first})
    assert refused.status_code == 200 and "did not work" in refused.content.decode()
    assert _location(again.get(reverse("team"))).startswith(reverse("two_factor_verify"))
    # The device's throttle (django-otp) is reset by waiting; another code then works.
    StaticDevice.objects.filter(user=user).update(throttling_failure_count=0)
    assert _location(again.post_form(reverse("two_factor_verify"), {"code": second}))
    assert again.get(reverse("team")).status_code == 200


def test_deleted_device_ends_verification(personas):
    device = _enrol(personas.supervisor_a.user)
    http = _password_login("supervisor_a")
    http.post_form(reverse("two_factor_verify"), {"code": _code(device)})
    assert http.get(reverse("caseload")).status_code == 200
    device.delete()  # an admin resets a lost phone
    assert _location(http.get(reverse("caseload"))).startswith(reverse("two_factor_setup"))


def test_lost_phone_reset_leads_to_enrolment_even_with_recovery_codes_left(personas):
    user = personas.supervisor_a.user
    device = _enrol(user)
    issue_recovery_codes(user)
    device.delete()  # the admin deletes the lost phone's authenticator only
    http = _password_login("supervisor_a")
    assert _location(http.get(reverse("caseload"))).startswith(reverse("two_factor_setup"))
    assert http.get(reverse("two_factor_setup")).status_code == 200


def test_next_keeps_the_query_string(personas):
    _enrol(personas.supervisor_a.user)
    http = _password_login("supervisor_a")
    location = _location(http.get(reverse("caseload") + "?status=ended&x=1"))
    assert location == reverse("two_factor_verify") + "?next=/caseload/%3Fstatus%3Dended%26x%3D1"
