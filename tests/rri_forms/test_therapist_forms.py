from __future__ import annotations

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from clinic.models import AccessLog
from rri_forms.models import Administration, AdministrationCorrection
from rri_forms.rendering import field_name
from rri_forms.selectors import current_instruments
from tests.rri_forms.conftest import complete_answers

pytestmark = pytest.mark.django_db


@pytest.fixture
def therapist_instruments(personas):
    return current_instruments(["RRI-T", "PROGRESS-T"])


def test_complete_my_forms_shows_scores_on_session_page(personas, login, therapist_instruments):
    http = login("therapist_a1")
    url = reverse("therapist_forms", args=[personas.session_a1.pk])
    page = http.get(url).content.decode()
    assert page.count("<fieldset") == 24 + 3
    response = http.post_form(url, complete_answers(therapist_instruments, lambda i: 4))
    assert response["Location"] == reverse("session_detail", args=[personas.session_a1.pk])
    administrations = Administration.objects.filter(session=personas.session_a1, rater="therapist")
    assert sorted(a.instrument_code for a in administrations) == ["PROGRESS-T", "RRI-T"]
    assert all(a.submitted_by == personas.therapist_a1 for a in administrations)
    session_page = http.get(response["Location"]).content.decode()
    assert "RRI-T" in session_page and "total" in session_page


def test_missing_items_are_marked_and_nothing_saved(personas, login, therapist_instruments):
    http = login("therapist_a1")
    data = complete_answers(therapist_instruments, lambda i: 2)
    del data[field_name(therapist_instruments[0], 5)]
    response = http.post_form(reverse("therapist_forms", args=[personas.session_a1.pk]), data)
    body = response.content.decode()
    assert "1 question still needs an answer" in body
    assert body.count(" checked>") == len(data)
    assert not Administration.objects.filter(rater="therapist").exists()


def test_correction_is_recorded(personas, login, therapist_instruments):
    http = login("therapist_a1")
    url = reverse("therapist_forms", args=[personas.session_a1.pk])
    data = complete_answers(therapist_instruments, lambda i: 3)
    http.post_form(url, data)
    # The correction page is prefilled with the saved answers.
    assert http.get(url).content.decode().count(" checked>") == len(data)
    rri_t = therapist_instruments[0]
    data[field_name(rri_t, 2)] = "5"
    http.post_form(url, data)
    correction = AdministrationCorrection.objects.get()
    assert correction.corrected_by == personas.therapist_a1
    assert correction.changes == {"2": [3, 5]}
    administration = correction.administration
    assert administration.answers.get(item_number=2).value == 5
    keyed = [item.keyed(5 if item.number == 2 else 3) for item in rri_t.spec.items]
    assert administration.scores.get(scale="total").value == pytest.approx(sum(keyed) / 24)


def test_correction_window_closes(personas, login, therapist_instruments):
    http = login("therapist_a1")
    url = reverse("therapist_forms", args=[personas.session_a1.pk])
    data = complete_answers(therapist_instruments, lambda i: 3)
    http.post_form(url, data)
    Administration.objects.update(submitted_at=timezone.now() - datetime.timedelta(days=8))
    data[field_name(therapist_instruments[0], 2)] = "5"
    response = http.post_form(url, data)
    assert "correction period" in response.content.decode()
    assert not AdministrationCorrection.objects.exists()
    assert Administration.objects.get(instrument_code="RRI-T").answers.get(item_number=2).value == 3


@pytest.mark.parametrize("persona", ["therapist_a2", "therapist_b1"])
def test_other_therapists_get_404(personas, login, persona):
    url = reverse("therapist_forms", args=[personas.session_a1.pk])
    assert login(persona).get(url).status_code == 404


@pytest.mark.parametrize("persona", ["supervisor_a", "admin_a"])
def test_only_the_dyads_therapist_fills_therapist_forms(personas, login, persona):
    url = reverse("therapist_forms", args=[personas.session_a1.pk])
    assert login(persona).get(url).status_code == 403


def test_no_show_sessions_take_no_forms(personas, login, therapist_instruments):
    session = personas.session_a1
    session.attendance = "no_show"
    session.save()
    http = login("therapist_a1")
    page = http.get(reverse("session_detail", args=[session.pk])).content.decode()
    assert "Complete my forms" not in page and "Waiting for" not in page
    response = http.post_form(
        reverse("therapist_forms", args=[session.pk]), complete_answers(therapist_instruments)
    )
    assert "did not attend" in response.content.decode()
    assert not Administration.objects.exists()


def test_session_page_shows_corrections(personas, login, therapist_instruments):
    http = login("therapist_a1")
    url = reverse("therapist_forms", args=[personas.session_a1.pk])
    data = complete_answers(therapist_instruments, lambda i: 3)
    http.post_form(url, data)
    data[field_name(therapist_instruments[0], 2)] = "5"
    data[field_name(therapist_instruments[0], 3)] = "1"
    http.post_form(url, data)
    page = http.get(reverse("session_detail", args=[personas.session_a1.pk])).content.decode()
    assert f"corrected by {personas.therapist_a1.display_name}" in page
    assert "(2 answers)" in page


def test_opening_the_forms_is_logged_and_a_refused_look_is_not(
    personas, login, therapist_instruments
):
    session = personas.session_a1
    url = reverse("therapist_forms", args=[session.pk])
    assert login("therapist_a2").get(url).status_code == 404  # not their client
    assert login("supervisor_a").get(url).status_code == 403  # supervises, does not rate
    assert not AccessLog.objects.exists()

    http = login("therapist_a1")
    assert http.get(url).status_code == 200
    entry = AccessLog.objects.get()
    assert entry.action == AccessLog.Action.VIEW_SESSION and entry.staff == personas.therapist_a1
    assert entry.client_id == session.dyad.client_id and entry.path == url
    assert (entry.object_type, entry.object_id) == ("therapysession", session.pk)

    # Saving is a write, kept in the history, not another read.
    assert http.post_form(url, complete_answers(therapist_instruments)).status_code == 302
    assert AccessLog.objects.count() == 1
