"""Moving a client to another therapist, and a further course of therapy for a client."""

from __future__ import annotations

import datetime

import pytest
from django.urls import reverse

from clinic.models import Dyad

pytestmark = pytest.mark.django_db


def test_admin_moves_a_client_keeping_the_old_dyad_as_ended(personas, login):
    old = personas.dyad_a1
    sessions = list(old.sessions.values_list("pk", flat=True))
    today = personas.clinic_a.today()
    response = login("admin_a").post_form(
        reverse("dyad_transfer", args=[old.pk]),
        {"therapist": personas.therapist_a2.pk, "on": today.isoformat()},
    )
    assert response.status_code == 302
    old.refresh_from_db()
    assert old.status == Dyad.Status.ENDED and old.ended_on == today
    new = Dyad.objects.get(client=old.client, status=Dyad.Status.ACTIVE)
    assert new.therapist == personas.therapist_a2 and new.started_on == today
    assert response["Location"] == reverse("dyad_detail", args=[new.pk])
    assert list(old.sessions.values_list("pk", flat=True)) == sessions
    # A2 now sees the client's new dyad; A1 keeps the ended one.
    assert login("therapist_a2").get(reverse("dyad_detail", args=[new.pk])).status_code == 200
    assert login("therapist_a1").get(reverse("dyad_detail", args=[new.pk])).status_code == 404


@pytest.mark.parametrize(
    ("therapist", "days", "message"),
    [
        ("therapist_a1", 0, "Select a valid choice"),  # the current therapist is not offered
        ("therapist_a2", 1, "cannot be in the future"),
        ("therapist_a2", -400, "before the dyad&#x27;s last session or start"),
        ("therapist_b1", 0, "Select a valid choice"),
    ],
)
def test_a_refused_move_says_why_and_changes_nothing(personas, login, therapist, days, message):
    old = personas.dyad_a1
    on = personas.clinic_a.today() + datetime.timedelta(days=days)
    response = login("admin_a").post_form(
        reverse("dyad_transfer", args=[old.pk]),
        {"therapist": getattr(personas, therapist).pk, "on": on.isoformat()},
    )
    assert response.status_code == 200
    assert message in response.content.decode()
    old.refresh_from_db()
    assert old.status == Dyad.Status.ACTIVE
    assert Dyad.objects.filter(client=old.client).count() == 1


def test_the_service_refuses_a_move_to_the_same_therapist(personas):
    from django.core.exceptions import ValidationError

    from clinic.services import care as services

    with pytest.raises(ValidationError, match="already with this therapist"):
        services.dyad_transfer(
            actor_user=personas.admin_a.user,
            dyad=personas.dyad_a1,
            therapist=personas.therapist_a1,
            on=personas.clinic_a.today(),
        )


def test_therapist_opens_a_further_course_for_their_client(personas, login):
    old = personas.dyad_a1
    http = login("therapist_a1")
    url = reverse("client_dyad_new", args=[old.client_id])
    today = personas.clinic_a.today().isoformat()
    refused = http.post_form(url, {"started_on": today})
    assert refused.status_code == 200
    assert "already has an active dyad" in refused.content.decode()
    ended = http.post_form(reverse("dyad_end", args=[old.pk]), {"ended_on": today})
    assert ended.status_code == 302
    page = http.get(reverse("dyad_detail", args=[old.pk])).content.decode()
    assert url in page
    response = http.post_form(url, {"started_on": today})
    assert response.status_code == 302
    new = Dyad.objects.get(client=old.client, status=Dyad.Status.ACTIVE)
    assert new.therapist == personas.therapist_a1 and new.pk != old.pk
