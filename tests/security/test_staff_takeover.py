"""A clinic admin cannot take over an operator's account, and every action on a colleague's
sign-in (password link, 2FA reset, deactivation, role change) is recorded and reviewable."""

from __future__ import annotations

import pytest
from django.db import DatabaseError, connection, transaction
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice

from clinic.models import StaffSecurityEvent
from tests.factories import StaffFactory

pytestmark = pytest.mark.django_db

Action = StaffSecurityEvent.Action


def _messages(response) -> str:
    return " ".join(str(m) for m in response.context["messages"])


@pytest.fixture(params=["is_superuser", "is_staff"])
def operator(request, personas):
    """A member of clinic A whose user also administers the installation."""
    member = StaffFactory(clinic=personas.clinic_a, role="therapist", user__username="operator")
    setattr(member.user, request.param, True)
    member.user.save()
    TOTPDevice.objects.create(user=member.user, name="phone", confirmed=True)
    return member


def _attempts(member):
    edit = {"display_name": "Taken over", "email": "evil@example.org", "role": "admin"}
    return [
        (reverse("staff_invite", args=[member.pk]), {}),
        (reverse("staff_invite", args=[member.pk]), {"send": "1"}),
        (reverse("staff_reset_2fa", args=[member.pk]), {}),
        (reverse("staff_active", args=[member.pk]), {"active": "0"}),
        (reverse("staff_edit", args=[member.pk]), edit),
    ]


def test_an_admin_cannot_touch_an_operators_account(operator, login):
    admin = login("admin_a")
    user = operator.user
    for url, data in _attempts(operator):
        response = admin.post_form(url, data, follow=True)
        assert response.status_code == 200, url
        page = response.content.decode()
        assert "also administers this Dyad installation" in page, url
        assert "/accounts/set-password/" not in page, url
    user.refresh_from_db()
    operator.refresh_from_db()
    assert user.is_active and user.email != "evil@example.org"
    assert operator.role == "therapist" and operator.display_name != "Taken over"
    assert TOTPDevice.objects.filter(user=user).exists()
    assert not StaffSecurityEvent.objects.exists()


def test_every_sign_in_action_on_a_colleague_is_recorded(personas, login):
    admin = login("admin_a")
    target = personas.therapist_a2
    TOTPDevice.objects.create(user=target.user, name="phone", confirmed=True)
    target.dyads.update(status="ended", ended_on=personas.clinic_a.today())
    edit = {"display_name": target.display_name, "email": "", "role": "supervisor"}
    for url, data in [
        (reverse("staff_invite", args=[target.pk]), {}),
        (reverse("staff_reset_2fa", args=[target.pk]), {}),
        (reverse("staff_edit", args=[target.pk]), edit),
        (reverse("staff_active", args=[target.pk]), {"active": "0"}),
        (reverse("staff_active", args=[target.pk]), {"active": "1"}),
    ]:
        assert admin.post_form(url, data).status_code in (200, 302), url
    events = list(StaffSecurityEvent.objects.order_by("pk"))
    assert [e.action for e in events] == [
        Action.PASSWORD_LINK,
        Action.TWO_FACTOR_RESET,
        Action.ROLE_CHANGED,
        Action.DEACTIVATED,
        Action.REACTIVATED,
    ]
    assert {(e.actor, e.target, e.clinic) for e in events} == {
        (personas.admin_a, target, personas.clinic_a)
    }
    assert events[1].detail == "1 removed"
    assert events[2].detail == "therapist → supervisor"
    assert all(e.at is not None for e in events)


def test_a_refused_change_records_nothing(personas, login):
    # therapist_a1 has an active dyad: deactivation and a role change are refused.
    admin = login("admin_a")
    a1 = personas.therapist_a1
    admin.post_form(reverse("staff_active", args=[a1.pk]), {"active": "0"})
    admin.post_form(
        reverse("staff_edit", args=[a1.pk]),
        {"display_name": a1.display_name, "email": "", "role": "supervisor"},
    )
    # Saving without a change of role or state is no security event either.
    admin.post_form(reverse("staff_active", args=[a1.pk]), {"active": "1"})
    assert not StaffSecurityEvent.objects.exists()


def test_the_audit_page_shows_sign_in_events_by_either_colleague(personas, login):
    admin = login("admin_a")
    target = personas.therapist_a2
    admin.post_form(reverse("staff_invite", args=[target.pk]), {})
    for staff in (personas.admin_a, target):  # the actor's and the target's filter find it
        response = admin.get(reverse("audit_log"), {"kind": "security", "staff": staff.pk})
        [row] = response.context["page"].object_list
        assert row["what"] == "Issued a set-password link"
        assert row["actor"] == personas.admin_a.display_name
        assert target.display_name in row["object"]
    other = admin.get(reverse("audit_log"), {"kind": "security", "staff": personas.supervisor_a.pk})
    assert list(other.context["page"].object_list) == []
    page = admin.get(reverse("audit_log")).content.decode()
    assert "Issued a set-password link" in page and "Sign-in" in page
    # Another clinic's admin sees none of it.
    personas.admin_b = StaffFactory(clinic=personas.clinic_b, role="admin")
    rows_b = login("admin_b").get(reverse("audit_log"), {"kind": "security"})
    assert list(rows_b.context["page"].object_list) == []


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE clinic_staffsecurityevent SET action = 'forged' WHERE id = %s",
        "DELETE FROM clinic_staffsecurityevent WHERE id = %s",
    ],
    ids=["update", "delete"],
)
def test_security_events_cannot_be_updated_or_deleted(personas, login, statement):
    login("admin_a").post_form(reverse("staff_invite", args=[personas.therapist_a2.pk]), {})
    event = StaffSecurityEvent.objects.get()
    with (
        pytest.raises(DatabaseError, match="pgtrigger: Cannot"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(statement, [event.pk])
    assert StaffSecurityEvent.objects.get(pk=event.pk).action == Action.PASSWORD_LINK
