"""Usernames (issue 15, items 6 and 7): none that passes for an existing one (UTS #39
skeletons through ICU), and unique in any case in PostgreSQL, also under parallel creates."""

from __future__ import annotations

import threading

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.urls import reverse

from clinic.models import StaffMember
from clinic.staff_services import staff_create
from dyad.lib import usernames
from tests.factories import StaffFactory

pytestmark = pytest.mark.django_db

LOOKS_ALIKE = "looks too much like an existing one"
NOT_PLAIN = "letters of one alphabet"


def _create(actor, username: str) -> StaffMember:
    return staff_create(
        actor_user=actor.user, username=username, display_name="New", email="", role="therapist"
    )


@pytest.mark.parametrize(
    ("existing", "new", "message"),
    [
        ("admin", "\u0430dmin", NOT_PLAIN),  # Cyrillic а among Latin letters
        ("admin", "\u1d00dmin", NOT_PLAIN),  # small capital A: not an identifier letter
        ("admin", "ad\u200bmin", "Enter a valid username"),  # zero-width space
        ("user1", "user\u0661", NOT_PLAIN),  # Arabic-Indic one among ASCII digits
        ("iadmin", "\u0130admin", LOOKS_ALIKE),  # İ: i with a dot above
        ("m.smith", "rn.smith", LOOKS_ALIKE),
        ("olga", "0lga", LOOKS_ALIKE),
        ("jose", "Jos\u00e9", LOOKS_ALIKE),
        ("anna", "ANNA", "is taken"),
    ],
)
def test_a_username_that_passes_for_another_is_refused(personas, existing, new, message):
    StaffFactory(clinic=personas.clinic_a, user__username=existing)
    before = get_user_model().objects.count()
    with pytest.raises(ValidationError) as refused:
        _create(personas.admin_a, new)
    assert message in " ".join(refused.value.message_dict["username"])
    assert get_user_model().objects.count() == before


@pytest.mark.parametrize(
    "name", ["jos\u00e9", "\u0418\u0432\u0430\u043d", "\u674e\u5c0f\u9f99", "a.b-c_d@e+f"]
)
def test_plain_names_of_any_one_script_are_accepted(personas, name):
    assert _create(personas.admin_a, name).user.username == name


def test_the_staff_page_says_why(personas, login):
    StaffFactory(clinic=personas.clinic_b, user__username="admin")  # another clinic's
    response = login("admin_a").post_form(
        reverse("staff_new"),
        {"username": "\u0430dmin", "display_name": "Mallory", "email": "", "role": "admin"},
    )
    assert response.status_code == 200
    assert NOT_PLAIN in response.content.decode()
    assert not StaffMember.objects.filter(display_name="Mallory").exists()


@pytest.mark.parametrize(
    ("one", "other"),
    [("m", "rn"), ("\u0430dmin", "admin"), ("Admin", "admin"), ("ADMIN", "admin"),
     ("Iadmin", "ladmin"), ("0lga", "olga"), ("\u0130x", "ix")],
)  # fmt: skip
def test_skeletons_follow_uts_39(one, other):
    assert usernames.looks_like_any(one, [other]) and usernames.looks_like_any(other, [one])


def test_different_names_do_not_look_alike():
    assert not usernames.looks_like_any("admin", ["adrain", "admins", "damin"])


def test_postgres_refuses_a_username_differing_only_in_case(personas):
    get_user_model().objects.create(username="CaseUser")
    with pytest.raises(IntegrityError) as clash, transaction.atomic():
        get_user_model().objects.create(username="caseuser")
    assert clash.value.__cause__.diag.constraint_name == "auth_user_username_lower_uniq"


@pytest.mark.django_db(transaction=True)
def test_parallel_creates_of_one_name_in_different_cases_make_one_account(personas):
    variants = ["RaceUser", "raceuser", "RACEUSER", "Raceuser", "raceUser",
                "RaCeUsEr", "rAcEuSeR", "RACEuser", "raceUSER", "RaceUseR"]  # fmt: skip
    start = threading.Barrier(len(variants))
    created: list[str] = []
    refused: list[str] = []
    errors: list[BaseException] = []

    def worker(name: str) -> None:
        try:
            start.wait()
            _create(personas.admin_a, name)
            created.append(name)
        except ValidationError as error:
            refused.append(" ".join(error.messages))
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=[name]) for name in variants]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert len(created) == 1
    assert get_user_model().objects.filter(username__iexact="raceuser").count() == 1
    assert len(refused) == 9 and all("is taken" in message for message in refused)
