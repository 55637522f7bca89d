"""Property-based tests of the client, dyad, staff and privacy forms, as whole requests.

Whatever is posted: never a server error; what is accepted is stored complete and valid
(full_clean passes, references stay inside the clinic, dates in range); what is refused
changes nothing (the rows compare equal to before).
"""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse
from hypothesis import event, given
from hypothesis import strategies as st

from clinic.models import Client, Dyad, StaffMember, StaffSecurityEvent, Supervision
from clinic.services.privacy import PSEUDONYM_PREFIX
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

code_like = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9-]{0,40}", fullmatch=True)
padded = st.sampled_from(["", " ", "\t", "\n"])


def _rows(queryset) -> list[dict]:  # type: ignore[no-untyped-def]
    return list(queryset.order_by("pk").values())


def _staff_pks(personas) -> list[int]:  # type: ignore[no-untyped-def]
    return list(StaffMember.objects.values_list("pk", flat=True))


# --- Clients and dyads ----------------------------------------------------------------------


@FUZZ
@given(data=st.data())
def test_client_edit_saves_only_sound_details(personas, login, data):
    http = login("therapist_a1")
    client = Client.objects.get(pk=personas.dyad_a1.client_id)
    post = {
        # The other client's code is taken: a clash must be refused, not half-saved.
        "code": data.draw(st.one_of(code_like, st.sampled_from(["A2-0001", "B1-0001"]), any_text)),
        "display_name": data.draw(any_value),
        "email": data.draw(st.one_of(st.emails(), any_text)),
    }
    back = data.draw(st.one_of(pk_or_garbage([personas.dyad_a1.pk, personas.dyad_b1.pk])))
    url = reverse("client_edit", args=[client.pk])
    with rolled_back():
        before = _rows(Client.objects.all())
        response = http.post_form(f"{url}?dyad={back}" if back else url, post)
        assert response.status_code in (200, 302)
        event(f"HTTP {response.status_code}")
        if response.status_code == 200:
            assert _rows(Client.objects.all()) == before
            return
        assert not response["Location"].startswith(("//", "http"))
        client.refresh_from_db()
        client.full_clean()
        assert (client.code, client.display_name, client.email) == (
            post["code"].strip(),
            post["display_name"].strip(),
            post["email"].strip(),
        )
        assert _rows(Client.objects.exclude(pk=client.pk)) == [
            row for row in before if row["id"] != client.pk
        ]


@FUZZ
@given(data=st.data())
def test_client_dyad_new_opens_only_sound_dyads(personas, login, data):
    http = login("admin_a")
    client = personas.dyad_a1.client
    today = personas.clinic_a.today()
    post = {
        "therapist": data.draw(
            st.one_of(st.just(str(personas.therapist_a2.pk)), pk_or_garbage(_staff_pks(personas)))
        ),
        "started_on": data.draw(
            # Today: the only day a new dyad fits after the first one (ended today).
            st.one_of(st.just(today.isoformat()), date_or_garbage(today))
        ),
    }
    with rolled_back():
        if data.draw(st.booleans(), label="first dyad ended"):  # else: one active per client
            Dyad.objects.filter(pk=personas.dyad_a1.pk).update(status="ended", ended_on=today)
        before = _rows(Dyad.objects.all())
        response = http.post_form(reverse("client_dyad_new", args=[client.pk]), post)
        assert response.status_code in (200, 302)
        event(f"HTTP {response.status_code}")
        new = Dyad.objects.exclude(pk__in=[row["id"] for row in before])
        if response.status_code == 200:
            assert _rows(Dyad.objects.all()) == before
            return
        dyad = new.get()
        dyad.full_clean()
        assert dyad.client_id == client.pk and dyad.clinic_id == personas.clinic_a.pk
        assert dyad.therapist.clinic_id == personas.clinic_a.pk and dyad.therapist.is_therapist
        assert dyad.is_active and dyad.started_on <= today


@FUZZ
@given(data=st.data())
def test_dyad_transfer_moves_only_soundly(personas, login, data):
    http = login("admin_a")
    dyad = personas.dyad_a1
    today = personas.clinic_a.today()
    last_session = max(dyad.sessions.values_list("date", flat=True))
    post = {
        "therapist": data.draw(
            st.one_of(st.just(str(personas.therapist_a2.pk)), pk_or_garbage(_staff_pks(personas)))
        ),
        "on": data.draw(
            st.one_of(
                st.dates(min_value=last_session, max_value=today).map(str), date_or_garbage(today)
            )
        ),
    }
    with rolled_back():
        before = _rows(Dyad.objects.all())
        response = http.post_form(reverse("dyad_transfer", args=[dyad.pk]), post)
        assert response.status_code in (200, 302)
        event(f"HTTP {response.status_code}")
        if response.status_code == 200:
            assert _rows(Dyad.objects.all()) == before
            return
        dyad.refresh_from_db()
        dyad.full_clean()
        new = Dyad.objects.exclude(pk__in=[row["id"] for row in before]).get()
        new.full_clean()
        assert dyad.status == Dyad.Status.ENDED
        assert max(dyad.started_on, last_session) <= dyad.ended_on == new.started_on <= today
        assert new.client_id == dyad.client_id and new.therapist_id != dyad.therapist_id
        assert new.therapist.clinic_id == personas.clinic_a.pk and new.therapist.is_therapist


# --- Staff ----------------------------------------------------------------------------------


def _staff_post(data, *, creating: bool) -> dict[str, str]:  # type: ignore[no-untyped-def]
    post = {
        "display_name": data.draw(st.one_of(st.text(min_size=1, max_size=20), any_value)),
        "email": data.draw(st.one_of(st.emails(), any_text)),
        "role": data.draw(
            st.one_of(st.sampled_from(["therapist", "supervisor", "admin"]), any_value)
        ),
    }
    if creating:
        post["username"] = data.draw(
            st.one_of(
                st.from_regex(r"[\w.@+-]{1,160}", fullmatch=True),
                st.sampled_from(["therapist_a1", "THERAPIST_A1"]),  # taken, in any case
                any_text,
            )
        )
    return post


@FUZZ
@given(data=st.data())
def test_staff_new_creates_only_sound_accounts(personas, login, data):
    http = login("admin_a")
    post = _staff_post(data, creating=True)
    users = get_user_model().objects
    with rolled_back():
        before = set(users.values_list("pk", flat=True))
        response = http.post_form(reverse("staff_new"), post)
        assert response.status_code == 200  # the form again, or the new colleague's page
        created = users.exclude(pk__in=before)
        event(f"created: {created.exists()}")
        if not created.exists():
            assert StaffMember.objects.count() == len(before)
            assert not StaffSecurityEvent.objects.exists()
            return
        user = created.get()
        user.full_clean(exclude=["password"])
        assert not user.has_usable_password()
        assert not (user.is_staff or user.is_superuser)
        member = StaffMember.objects.get(user=user)
        member.full_clean()
        assert member.clinic_id == personas.clinic_a.pk
        assert member.role == post["role"] and member.display_name == post["display_name"].strip()
        assert StaffSecurityEvent.objects.get().target == member  # the invitation link


@FUZZ
@given(data=st.data())
def test_staff_edit_saves_only_sound_changes(personas, login, data):
    http = login("admin_a")
    target_pk = data.draw(
        st.sampled_from([personas.therapist_a1.pk, personas.supervisor_a.pk, personas.admin_a.pk])
    )
    target = StaffMember.objects.select_related("user").get(pk=target_pk)
    post = _staff_post(data, creating=False)
    with rolled_back():
        members, users = _rows(StaffMember.objects.all()), _rows(get_user_model().objects.all())
        links = _rows(Supervision.objects.all())
        response = http.post_form(reverse("staff_edit", args=[target.pk]), post)
        assert response.status_code in (200, 302)
        event(f"HTTP {response.status_code}")
        if response.status_code == 200:
            assert _rows(StaffMember.objects.all()) == members
            assert _rows(get_user_model().objects.all()) == users
            assert _rows(Supervision.objects.all()) == links
            assert not StaffSecurityEvent.objects.exists()
            return
        old_role = target.role
        target.refresh_from_db()
        target.full_clean()
        target.user.full_clean(exclude=["password"])
        assert target.role == post["role"]
        assert target.user.email.lower() == post["email"].strip().lower()  # domain lowercased
        changed = StaffSecurityEvent.objects.filter(action="role_changed").count()
        assert changed == (old_role != target.role)
        if target.role != old_role:
            # An admin never changes their own role, and a caseload keeps the therapist role.
            assert target.pk != personas.admin_a.pk and old_role != "therapist"
        assert StaffMember.objects.filter(clinic=personas.clinic_a, role="admin").exists()


@FUZZ
@given(data=st.data())
def test_staff_supervision_links_only_the_clinics_therapists(personas, login, data):
    http = login("admin_a")
    therapists = [str(personas.therapist_a1.pk), str(personas.therapist_a2.pk)]
    chosen = data.draw(
        st.one_of(
            st.lists(st.sampled_from(therapists), max_size=2, unique=True),
            st.lists(pk_or_garbage(_staff_pks(personas)), max_size=4),
        )
    )
    with rolled_back():
        before = _rows(Supervision.objects.all())
        response = http.post_form(
            reverse("staff_supervision", args=[personas.supervisor_a.pk]), {"therapists": chosen}
        )
        assert response.status_code in (200, 302)
        event(f"HTTP {response.status_code}")
        if response.status_code == 200:
            assert _rows(Supervision.objects.all()) == before
            return
        mine = Supervision.objects.filter(supervisor=personas.supervisor_a)
        assert {str(pk) for pk in mine.values_list("therapist_id", flat=True)} == set(chosen)
        for link in mine:
            link.full_clean()
            assert link.therapist.clinic_id == personas.clinic_a.pk and link.therapist.is_therapist


@FUZZ_FEW
@given(value=st.one_of(st.none(), any_value, st.sampled_from(["on", "true", "false", "0"])))
def test_clinic_security_setting_stores_a_boolean(personas, login, value):
    http = login("admin_a")
    with rolled_back():
        post = {} if value is None else {"therapists_need_2fa": value}
        response = http.post_form(reverse("staff_list"), post)
        assert response.status_code in (200, 302)
        event(f"HTTP {response.status_code}")
        personas.clinic_a.refresh_from_db()
        stored = personas.clinic_a.therapists_need_2fa
        assert isinstance(stored, bool)
        if response.status_code == 200:
            assert stored is False  # unchanged from the fixture's clinic


# --- Privacy requests -----------------------------------------------------------------------


@FUZZ
@given(data=st.data())
def test_retention_hold_is_set_only_with_a_sound_reason(personas, login, data):
    http = login("admin_a")
    client = personas.dyad_a1.client
    post = {
        "retention_hold": data.draw(st.one_of(st.sampled_from(["on", ""]), any_value)),
        "retention_note": data.draw(st.one_of(any_text, st.text(min_size=290, max_size=310))),
    }
    with rolled_back():
        before = _rows(Client.objects.all())
        response = http.post_form(reverse("client_retention", args=[client.pk]), post)
        assert response.status_code == 302
        event(f"HTTP {response.status_code}")
        client.refresh_from_db()
        client.full_clean()
        if client.retention_hold:
            assert client.retention_note == post["retention_note"].strip() != ""
        elif _rows(Client.objects.all()) != before:
            assert client.retention_note == ""


@FUZZ
@given(data=st.data(), action=st.sampled_from(["client_pseudonymise", "client_erase"]))
def test_pseudonymise_and_erase_need_the_exact_code(personas, login, data, action):
    http = login("admin_a")
    client = Client.objects.get(pk=personas.dyad_a1.client_id)  # not an earlier example's
    confirm = data.draw(
        st.one_of(
            st.builds(lambda a, b: a + client.code + b, padded, padded),  # the code: accepted
            st.sampled_from([client.code.lower(), client.code + "x", "A2-0001", ""]),
            any_text,
        )
    )
    with rolled_back():
        hold = data.draw(st.booleans(), label="retention hold")
        Client.objects.filter(pk=client.pk).update(retention_hold=hold, retention_note="legal")
        before = _rows(Client.objects.all())
        dyads = _rows(Dyad.objects.all())
        response = http.post_form(reverse(action, args=[client.pk]), {"confirm": confirm})
        assert response.status_code == 302
        event(f"HTTP {response.status_code}")
        refused = hold or confirm.strip() != client.code
        event(f"refused: {refused}")
        if refused:
            assert _rows(Client.objects.all()) == before and _rows(Dyad.objects.all()) == dyads
            return
        if action == "client_erase":
            assert not Client.objects.filter(pk=client.pk).exists()
            assert not Dyad.objects.filter(client_id=client.pk).exists()
        else:
            client.refresh_from_db()
            client.full_clean()
            assert client.code.startswith(PSEUDONYM_PREFIX)
            assert client.display_name == "" and client.email == ""
        others = [row for row in before if row["id"] != client.pk]
        assert _rows(Client.objects.exclude(pk=client.pk)) == others
