"""A clinic admin manages staff in the app: invite, set a password, roles, supervision,
deactivation, a lost authenticator, and the clinic's two-step rule for therapists."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth import get_user_model
from django.contrib.sessions.models import Session
from django.core import mail
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice

from clinic.history import StaffMemberEvent, SupervisionEvent
from clinic.models import Dyad, StaffMember, Supervision
from tests.conftest import CsrfClient
from tests.factories import StaffFactory

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "plum orchard lantern 42"


def _invite_url(response) -> str:
    match = re.search(
        r'id="invite-url" type="text" readonly value="([^"]+)"', response.content.decode()
    )
    assert match, "no sign-in link on the page"
    return match.group(1)


def _signs_in(username: str, password: str) -> bool:
    http = CsrfClient()
    response = http.post_form(reverse("login"), {"username": username, "password": password})
    return response.status_code == 302 and not response["Location"].startswith(reverse("login"))


def _messages(response) -> str:
    return " ".join(str(m) for m in response.context["messages"])


def test_admin_adds_a_therapist_who_sets_a_password_and_signs_in(personas, login):
    admin = login("admin_a")
    data = {"username": "newt", "display_name": "Newt Scamander", "email": "newt@example.org",
            "role": "therapist"}  # fmt: skip
    response = admin.post_form(reverse("staff_new"), data)
    assert response.status_code == 200
    member = StaffMember.objects.get(user__username="newt")
    assert member.clinic == personas.clinic_a and member.role == "therapist"
    assert not member.user.has_usable_password()
    assert response["Cache-Control"].startswith("max-age=0")  # never_cache: the link is secret
    url = _invite_url(response)
    assert url.startswith("http://testserver/accounts/set-password/")

    # The person opens the link (no login), lands on a token-free URL, sets a password.
    person = CsrfClient()
    page = person.get(url, follow=True)
    assert "Set your password" in page.content.decode() and "newt" in page.content.decode()
    form_url = page.redirect_chain[-1][0]
    assert url.rsplit("/", 2)[-2] not in form_url  # the token left the address bar
    done = person.post_form(
        form_url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
    )
    assert done.status_code == 302 and done["Location"] == reverse("password_set_done")
    assert _signs_in("newt", NEW_PASSWORD)

    # The link works once.
    again = CsrfClient().get(url, follow=True)
    assert "already been used or has expired" in again.content.decode()


def test_a_weak_password_is_refused_with_the_reason(personas, login):
    admin = login("admin_a")
    response = admin.post_form(
        reverse("staff_invite", args=[personas.therapist_a2.pk]), {"send": ""}
    )
    person = CsrfClient()
    page = person.get(_invite_url(response), follow=True)
    weak = person.post_form(
        page.redirect_chain[-1][0], {"new_password1": "short", "new_password2": "short"}
    )
    assert weak.status_code == 200
    assert "too short" in weak.content.decode()
    assert not _signs_in(personas.therapist_a2.user.username, "short")


def test_a_taken_username_is_a_clear_error_and_saves_nothing(personas, login):
    before = StaffMember.objects.count()
    response = login("admin_a").post_form(
        reverse("staff_new"),
        {"username": "THERAPIST_A1", "display_name": "Copy", "role": "therapist"},
    )
    assert response.status_code == 200
    assert "This username is taken" in response.content.decode()
    assert StaffMember.objects.count() == before
    assert not get_user_model().objects.filter(username="THERAPIST_A1").exists()


def test_invitation_email_carries_the_link(personas, login):
    personas.therapist_a2.user.email = "a2@example.org"
    personas.therapist_a2.user.save()
    response = login("admin_a").post_form(
        reverse("staff_invite", args=[personas.therapist_a2.pk]), {"send": "1"}
    )
    (sent,) = mail.outbox
    assert sent.to == ["a2@example.org"]
    assert _invite_url(response) in sent.body
    assert "Sent to a2@example.org" in _messages(response)


def test_supervision_is_set_from_the_supervisors_page(personas, login):
    admin = login("admin_a")
    supervisor = personas.supervisor_a
    url = reverse("staff_supervision", args=[supervisor.pk])
    response = admin.post_form(url, {"therapists": [personas.therapist_a2.pk]})
    assert response.status_code == 302
    assert list(Supervision.objects.filter(supervisor=supervisor).values_list(
        "therapist_id", flat=True)) == [personas.therapist_a2.pk]  # fmt: skip
    # The supervisor now sees A2's dyad and no longer A1's.
    sup = login("supervisor_a")
    assert sup.get(reverse("dyad_detail", args=[personas.dyad_a2.pk])).status_code == 200
    assert sup.get(reverse("dyad_detail", args=[personas.dyad_a1.pk])).status_code == 404
    # Another clinic's therapist is not a choice.
    refused = admin.post_form(url, {"therapists": [personas.therapist_b1.pk]})
    assert refused.status_code == 200
    assert "Select a valid choice" in refused.content.decode()
    assert Supervision.objects.filter(supervisor=supervisor).count() == 1
    assert SupervisionEvent.objects.filter(pgh_label="delete").exists()  # history kept


def test_a_therapist_with_active_dyads_keeps_role_and_access(personas, login):
    admin = login("admin_a")
    a1 = personas.therapist_a1
    response = admin.post_form(
        reverse("staff_edit", args=[a1.pk]),
        {"display_name": a1.display_name, "email": "", "role": "supervisor"},
    )
    assert response.status_code == 200
    assert "still has 1 active dyad" in response.content.decode()
    response = admin.post_form(reverse("staff_active", args=[a1.pk]), {"active": "0"}, follow=True)
    assert "still has 1 active dyad" in _messages(response)
    a1.refresh_from_db()
    a1.user.refresh_from_db()
    assert a1.role == "therapist" and a1.user.is_active


def test_deactivation_signs_out_everywhere_and_reactivation_restores(personas, login):
    a2 = personas.therapist_a2
    Dyad.objects.filter(therapist=a2).update(
        status=Dyad.Status.ENDED, ended_on=personas.clinic_a.today()
    )
    therapist = login("therapist_a2")
    assert therapist.get(reverse("therapist_home")).status_code == 200
    response = login("admin_a").post_form(reverse("staff_active", args=[a2.pk]), {"active": "0"})
    assert response.status_code == 302
    assert not Session.objects.filter(session_key=therapist.session.session_key).exists()
    assert therapist.get(reverse("therapist_home"))["Location"].startswith(reverse("login"))
    login("admin_a").post_form(reverse("staff_active", args=[a2.pk]), {"active": "1"})
    a2.user.refresh_from_db()
    assert a2.user.is_active


def test_the_last_admin_cannot_be_demoted_or_deactivated(personas, login):
    admin = personas.admin_a
    other = StaffFactory(clinic=personas.clinic_a, role="admin", user__username="admin_two")
    http = CsrfClient()
    http.force_login(other.user)
    from tests.conftest import verify_second_factor

    verify_second_factor(http, other.user)
    # With two admins, one may demote the other.
    ok = http.post_form(
        reverse("staff_edit", args=[admin.pk]),
        {"display_name": admin.display_name, "email": "", "role": "supervisor"},
    )
    assert ok.status_code == 302
    # Now `other` is the only admin: it cannot lose the role through anyone.
    back = login("supervisor_a")  # a supervisor cannot even try
    assert back.post_form(reverse("staff_active", args=[other.pk]), {}).status_code == 403
    own = http.post_form(
        reverse("staff_edit", args=[other.pk]),
        {"display_name": other.display_name, "email": "", "role": "therapist"},
    )
    assert "You cannot change your own role" in own.content.decode()
    StaffMember.objects.filter(pk=admin.pk).update(role="admin")
    admin.user.is_active = False
    admin.user.save()
    last = http.post_form(reverse("staff_active", args=[other.pk]), {"active": "0"}, follow=True)
    assert "cannot deactivate your own account" in _messages(last)
    other.refresh_from_db()
    assert other.role == "admin" and other.user.is_active


def test_changing_a_supervisor_to_therapist_drops_their_supervision(personas, login):
    supervisor = personas.supervisor_a
    response = login("admin_a").post_form(
        reverse("staff_edit", args=[supervisor.pk]),
        {"display_name": "Now a therapist", "email": "s@example.org", "role": "therapist"},
    )
    assert response.status_code == 302
    supervisor.refresh_from_db()
    assert supervisor.role == "therapist" and supervisor.display_name == "Now a therapist"
    assert supervisor.user.email == "s@example.org"
    assert not Supervision.objects.filter(supervisor=supervisor).exists()
    event = StaffMemberEvent.objects.filter(pgh_obj_id=supervisor.pk, pgh_label="update").first()
    assert event.role == "therapist" and event.pgh_context["staff"] == personas.admin_a.pk


def test_a_lost_authenticator_is_removed_and_enrolment_is_asked_again(personas, login):
    supervisor = personas.supervisor_a
    sup = login("supervisor_a")  # has a device (the login fixture made one)
    assert TOTPDevice.objects.filter(user=supervisor.user).exists()
    response = login("admin_a").post_form(reverse("staff_reset_2fa", args=[supervisor.pk]))
    assert response.status_code == 302
    assert not TOTPDevice.objects.filter(user=supervisor.user).exists()
    fresh = CsrfClient()
    fresh.force_login(supervisor.user)
    assert fresh.get(reverse("team"))["Location"].startswith(reverse("two_factor_setup"))
    assert sup  # the old session's device is gone too: its next request is asked again
    assert sup.get(reverse("team"))["Location"].startswith("/accounts/2fa/")


def test_the_clinic_can_require_two_steps_from_therapists(personas, login):
    a1 = personas.therapist_a1
    plain = CsrfClient()
    plain.force_login(a1.user)
    assert plain.get(reverse("therapist_home")).status_code == 200
    response = login("admin_a").post_form(reverse("staff_list"), {"therapists_need_2fa": "on"})
    assert response.status_code == 302
    personas.clinic_a.refresh_from_db()
    assert personas.clinic_a.therapists_need_2fa
    fresh = CsrfClient()
    fresh.force_login(a1.user)
    assert fresh.get(reverse("therapist_home"))["Location"].startswith("/accounts/2fa/")
    # Clinic B's therapists are not affected.
    b1 = CsrfClient()
    b1.force_login(personas.therapist_b1.user)
    assert b1.get(reverse("therapist_home")).status_code == 200


def test_staff_list_shows_the_clinic_in_constant_queries(
    personas, login, django_assert_max_num_queries
):
    admin = login("admin_a")
    admin.get(reverse("staff_list"))
    for i in range(5):
        StaffFactory(clinic=personas.clinic_a, role="therapist", user__username=f"extra{i}")
    with django_assert_max_num_queries(10):  # 12 while sessions were re-saved per request
        response = admin.get(reverse("staff_list"))
    body = response.content.decode()
    assert personas.therapist_a1.display_name in body
    assert personas.therapist_b1.display_name not in body


def test_a_username_is_checked_as_it_will_be_stored(personas, login):
    """Usernames are stored NFKC-normalised: "¼" would become "1⁄4" (a fraction slash, not
    allowed), so it is refused; "ｎｅｗｔ" (full-width) is stored as "newt"."""
    admin = login("admin_a")
    data = {"display_name": "Newt", "email": "", "role": "therapist"}
    refused = admin.post_form(reverse("staff_new"), {**data, "username": "¼"})
    assert "Enter a valid username" in refused.content.decode()
    assert not get_user_model().objects.filter(username__contains="⁄").exists()
    admin.post_form(reverse("staff_new"), {**data, "username": "ｎｅｗｔ"})
    assert StaffMember.objects.get(display_name="Newt").user.username == "newt"
