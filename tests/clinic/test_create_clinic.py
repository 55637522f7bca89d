"""`manage.py create_clinic`: a new clinic, its first admin and their sign-in link."""

from __future__ import annotations

import io
import re

import pytest
from django.core.management import CommandError, call_command

from clinic.models import Clinic, StaffMember
from tests.conftest import CsrfClient

pytestmark = pytest.mark.django_db

ARGS = ["--name", "Riverside Therapy", "--slug", "riverside", "--time-zone", "Europe/Berlin",
        "--admin-username", "riv-admin", "--admin-name", "Rae Rivers",
        "--site-url", "https://dyad.example.org/"]  # fmt: skip


def test_creates_clinic_and_admin_with_a_working_link():
    out = io.StringIO()
    call_command("create_clinic", *ARGS, stdout=out)
    member = StaffMember.objects.get(user__username="riv-admin")
    assert member.is_admin and member.clinic.slug == "riverside"
    assert member.clinic.time_zone == "Europe/Berlin"
    assert not member.user.has_usable_password()
    url = re.search(r"https://dyad\.example\.org(/accounts/set-password/\S+)", out.getvalue())
    assert url
    page = CsrfClient().get(url.group(1), follow=True)
    assert "Set your password" in page.content.decode()


def test_bad_input_creates_nothing():
    bad = [a if a != "Europe/Berlin" else "Mars/Olympus" for a in ARGS]
    with pytest.raises(CommandError, match="not a known time zone"):
        call_command("create_clinic", *bad, stdout=io.StringIO())
    assert not Clinic.objects.filter(slug="riverside").exists()
    call_command("create_clinic", *ARGS, stdout=io.StringIO())
    again = [a if a != "riverside" else "riverside-2" for a in ARGS]
    with pytest.raises(CommandError, match="username is taken"):
        call_command("create_clinic", *again, stdout=io.StringIO())
    assert not Clinic.objects.filter(slug="riverside-2").exists()
