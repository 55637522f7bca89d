"""Property-based tests of the query-string filters (audit, dashboards, team analytics,
exports) and of the sign-in forms (login, second factor, password change and set).

Filters: any query string gives a page (200), or for exports a 200 download or a 400/404
with the reason, never a 500; every shown or downloaded read is logged, a refused export
is not. Sign-in: accepted only with the right secret, never redirected off-site; whatever
is refused changes no password and signs nobody in.
"""

from __future__ import annotations

import csv
import io
import json
from urllib.parse import quote, urljoin, urlsplit

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice
from hypothesis import event, given
from hypothesis import strategies as st

from clinic.models import AccessLog, StaffMember
from clinic.services.staff import _password_link
from tests.conftest import CsrfClient
from tests.factories import PASSWORD
from tests.fuzz.fuzzing import (
    FUZZ,
    FUZZ_FEW,
    any_text,
    any_value,
    date_or_garbage,
    pk_or_garbage,
    rolled_back,
)

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "plum orchard lantern 42"
offsite = st.sampled_from(
    ["//evil.example", "/\\evil.example", "https:evil.example", "https://evil.example/x", "/team/"]
)


def _query(data, fields: dict[str, st.SearchStrategy[str]]) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """Some of `fields` (each drawn), plus an unknown parameter now and then."""
    chosen = data.draw(st.sets(st.sampled_from(sorted(fields))), label="parameters")
    query = {name: data.draw(fields[name], label=name) for name in sorted(chosen)}
    query.update(data.draw(st.dictionaries(any_text.filter(bool), any_value, max_size=2)))
    return query


def _therapists(personas) -> st.SearchStrategy[str]:  # type: ignore[no-untyped-def]
    return pk_or_garbage(list(StaffMember.objects.values_list("pk", flat=True)))


# --- Filters --------------------------------------------------------------------------------


@FUZZ
@given(data=st.data())
def test_audit_filter_never_fails(personas, login, data):
    http = login("admin_a")
    today = personas.clinic_a.today()
    query = _query(
        data,
        {
            "client": st.one_of(st.sampled_from(["A1-0001", "a1-0001", "B1-0001"]), any_text),
            "staff": _therapists(personas),
            "date_from": date_or_garbage(today),
            "date_to": date_or_garbage(today),
            "kind": st.one_of(st.sampled_from(["", "read", "write", "security"]), any_value),
            "page": st.one_of(st.integers(-2, 5).map(str), any_value),
        },
    )
    with rolled_back():
        response = http.get(reverse("audit_log"), query)
        assert response.status_code == 200
        page = response.context["page"]
        event(f"rows shown: {page is not None}")
        if page is not None:
            assert all(row["client_code"] != "B1-0001" for row in page.object_list)


@FUZZ_FEW
@given(data=st.data(), name=st.sampled_from(["supervisor_dashboard", "therapist_home"]))
def test_dashboard_filters_never_fail(personas, login, data, name):
    persona = "supervisor_a" if name == "supervisor_dashboard" else "therapist_a1"
    http = login(persona)
    today = personas.clinic_a.today()
    query = _query(
        data,
        {
            "therapist": _therapists(personas),
            "from": date_or_garbage(today),
            "to": date_or_garbage(today),
            "status": st.one_of(st.sampled_from(["active", "ended", "all"]), any_value),
            "attention": st.one_of(st.just("1"), any_value),
            "sort": st.one_of(st.sampled_from(["code", "-code", "last"]), any_value),
        },
    )
    with rolled_back():
        response = http.get(reverse(name), query)
        assert response.status_code == 200
        entry = AccessLog.objects.get()
        assert entry.action == AccessLog.Action.VIEW_DASHBOARD
        assert "A1-" not in entry.detail


@FUZZ_FEW
@given(data=st.data())
def test_team_analytics_filters_never_fail(personas, login, data):
    http = login("admin_a")
    today = personas.clinic_a.today()
    codes = st.one_of(st.sampled_from(["RRI-C", "RRI-T", "PHQ-9", "rri-c"]), any_value)
    query = _query(
        data,
        {
            "therapist": _therapists(personas),
            "from": date_or_garbage(today),
            "to": date_or_garbage(today),
            "rr": codes,
            "outcome": codes,
            "icc": codes,
        },
    )
    with rolled_back():
        response = http.get(reverse("team_analytics"), query)
        assert response.status_code == 200
        event(f"report: {response.context['report'] is not None}")


@FUZZ_FEW
@given(
    data=st.data(),
    name=st.sampled_from(["export_csv_long", "export_csv_items", "export_fhir_responses"]),
)
def test_export_parameters_give_a_download_or_a_reason(personas, login, data, name):
    http = login("therapist_a1")
    today = personas.clinic_a.today()
    query = _query(
        data,
        {
            "dyad": pk_or_garbage([personas.dyad_a1.pk, personas.dyad_a2.pk, personas.dyad_b1.pk]),
            "therapist": _therapists(personas),
            "from": date_or_garbage(today),
            "to": date_or_garbage(today),
        },
    )
    with rolled_back():
        response = http.get(reverse(name), query)
        assert response.status_code in (200, 400, 404)
        event(f"HTTP {response.status_code}")
        if response.status_code != 200:
            assert not AccessLog.objects.exists()
            return
        body = b"".join(response.streaming_content).decode()
        if name == "export_fhir_responses":
            assert json.loads(body)["resourceType"] == "Bundle"
        else:
            rows = list(csv.reader(io.StringIO(body)))
            assert rows and all(len(row) == len(rows[0]) for row in rows)
            assert "B1-0001" not in body and "A2-0001" not in body  # only A1's own dyads
        assert AccessLog.objects.get().action == AccessLog.Action.EXPORT


@FUZZ_FEW
@given(data=st.data(), name=st.sampled_from(["caseload", "therapist_detail"]))
def test_caseload_filters_never_fail(personas, login, data, name):
    http = login("admin_a")
    args = [personas.therapist_a1.pk] if name == "therapist_detail" else []
    query = _query(
        data,
        {
            "q": st.one_of(st.sampled_from(["A1", "a1-0001", "\x00"]), any_value),
            "status": st.one_of(st.sampled_from(["active", "ended", "all"]), any_value),
            "page": st.one_of(st.integers(-2, 5).map(str), any_value),
        },
    )
    with rolled_back():
        response = http.get(reverse(name, args=args), query)
        assert response.status_code == 200
        assert AccessLog.objects.get().action == AccessLog.Action.VIEW_DASHBOARD


@FUZZ_FEW
@given(
    code=st.one_of(st.sampled_from(["RRI-C", "PHQ-9"]), any_value),
    version=st.one_of(st.just("1"), any_value),
)
def test_fhir_questionnaire_path_gives_the_file_or_a_404(personas, login, code, version):
    http = login("therapist_a1")
    url = reverse("export_fhir_questionnaire", args=["C", "V"])
    url = url.replace("/C/", f"/{quote(code, safe='')}/").replace("/V.", f"/{quote(version)}.")
    with rolled_back():
        response = http.get(url)
        assert response.status_code in (200, 404)
        event(f"HTTP {response.status_code}")


# --- Sign-in --------------------------------------------------------------------------------


def _local(location: str) -> bool:
    """Where a browser would go stays on this site (browsers read "\\" as "/")."""
    target = urljoin("http://testserver/accounts/", location.replace("\\", "/"))
    return urlsplit(target).netloc == "testserver"


@FUZZ
@given(data=st.data())
def test_login_accepts_only_the_right_password_and_stays_on_site(personas, data):
    post = {
        "username": data.draw(
            st.one_of(st.sampled_from(["therapist_a1", "THERAPIST_A1", "nobody"]), any_text)
        ),
        "password": data.draw(st.one_of(st.just(PASSWORD), any_text)),
    }
    next_url = data.draw(st.one_of(st.none(), offsite, any_text))
    if next_url is not None:
        post["next"] = next_url
    with rolled_back():
        http = CsrfClient()
        response = http.post_form(reverse("login"), post)
        assert response.status_code in (200, 302)
        event(f"HTTP {response.status_code}")
        signed_in = http.session.get("_auth_user_id")
        if response.status_code == 200:
            assert signed_in is None
            return
        assert (post["username"], post["password"]) == ("therapist_a1", PASSWORD)
        assert signed_in == str(personas.therapist_a1.user.pk)
        assert _local(response["Location"]), response["Location"]


def _current_code(device: TOTPDevice) -> str:
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    return f"{totp.token():0{device.digits}d}"


@FUZZ
@given(data=st.data())
def test_second_factor_accepts_only_the_current_code(personas, data):
    user = personas.supervisor_a.user
    device = TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
    with rolled_back():
        http = CsrfClient()
        http.force_login(user)
        right = _current_code(device)
        code = data.draw(
            st.one_of(
                st.sampled_from([right, f" {right[:3]} {right[3:]} ", f"{right[:3]}-{right[3:]}"]),
                st.from_regex(r"\d{6}", fullmatch=True),
                any_text,
            )
        )
        next_url = data.draw(st.one_of(st.none(), offsite))
        post = {"code": code} if next_url is None else {"code": code, "next": next_url}
        response = http.post_form(reverse("two_factor_verify"), post)
        assert response.status_code in (200, 302)
        verified = http.session.get(DEVICE_ID_SESSION_KEY) == device.persistent_id
        event(f"verified: {verified}")
        if response.status_code == 200:
            assert not verified
            return
        assert verified and "".join(code.split()).replace("-", "") == right
        assert _local(response["Location"]), response["Location"]


def _password_post(data) -> dict[str, str]:  # type: ignore[no-untyped-def]
    new = data.draw(st.one_of(st.just(NEW_PASSWORD), st.sampled_from(["short", "12345678901234"])))
    return {
        "new_password1": new,
        "new_password2": data.draw(st.one_of(st.just(new), any_text)),
    }


@FUZZ
@given(data=st.data())
def test_password_change_needs_the_old_password_and_a_sound_new_one(personas, login, data):
    # Not the persona's own user object: the login fixture signs in with that one, and a
    # refresh after an accepted change would carry the new hash into the next example.
    user = get_user_model().objects.get(pk=personas.therapist_a1.user.pk)
    post = {
        "old_password": data.draw(st.one_of(st.just(PASSWORD), any_text)),
        **_password_post(data),
    }
    with rolled_back():
        http = login("therapist_a1")  # a change re-keys the session: a new one each time
        response = http.post_form(reverse("password_change"), post)
        assert response.status_code in (200, 302)
        event(f"HTTP {response.status_code}")
        user.refresh_from_db()
        if response.status_code == 200:
            assert user.check_password(PASSWORD)
            return
        assert response["Location"] == reverse("password_change_done")
        assert post["old_password"] == PASSWORD
        assert post["new_password1"] == post["new_password2"] == NEW_PASSWORD
        assert user.check_password(NEW_PASSWORD)


@FUZZ
@given(data=st.data())
def test_password_set_link_sets_only_a_sound_password(personas, data):
    member = StaffMember.objects.select_related("user").get(pk=personas.therapist_a2.pk)
    post = _password_post(data)
    with rolled_back():
        http = CsrfClient()
        form_page = http.get(_password_link(member), follow=True)
        form_url = form_page.redirect_chain[-1][0]
        response = http.post_form(form_url, post)
        assert response.status_code in (200, 302)
        event(f"HTTP {response.status_code}")
        member.user.refresh_from_db()
        if response.status_code == 200:
            assert member.user.check_password(PASSWORD)
            return
        assert post["new_password1"] == post["new_password2"] == NEW_PASSWORD
        assert member.user.check_password(NEW_PASSWORD)
