"""The client's phone flow through the test client: link → start → form → saved."""

from __future__ import annotations

import datetime
import re
import uuid

import pytest
from django.urls import reverse
from django.utils import timezone

from rri_forms.models import Administration, Answer, ClientLink, Score
from rri_forms.rendering import field_name
from tests.conftest import CsrfClient
from tests.rri_forms.conftest import complete_answers

pytestmark = pytest.mark.django_db


def _open(token: str) -> CsrfClient:
    phone = CsrfClient()
    response = phone.get(reverse("client_link", args=[token]))
    assert response.status_code == 302
    assert response["Location"] == reverse("client_start")
    return phone


def _submission_id(phone: CsrfClient) -> str:
    body = phone.get(reverse("client_form")).content.decode()
    return re.search(r'name="submission_id" value="([0-9a-f-]+)"', body).group(1)


def test_link_is_exchanged_for_a_token_free_url(issued_link):
    _link, token = issued_link
    phone = _open(token)
    start = phone.get(reverse("client_start"))
    assert start.status_code == 200
    assert token not in start.content.decode()
    assert "about 3 minutes" in start.content.decode()
    assert "no-store" in start["Cache-Control"]
    assert start["Referrer-Policy"] == "same-origin"


def test_start_page_shows_no_clinical_data(issued_link, personas):
    _link, token = issued_link
    body = _open(token).get(reverse("client_start")).content.decode()
    assert personas.dyad_a1.client.code not in body
    assert personas.therapist_a1.display_name in body


def test_default_client_forms(issued_link, client_instruments):
    codes = [i.code for i in client_instruments]
    # Session 3 of the dyad: no symptom measures (due at 1 and every 4th).
    assert codes == ["RRI-C", "SESSION-CHECK"]


def test_whole_flow_saves_everything_once(issued_link, client_instruments, personas):
    link, token = issued_link
    phone = _open(token)
    data = complete_answers(client_instruments)
    data["submission_id"] = _submission_id(phone)
    response = phone.post_form(reverse("client_form"), data)
    assert response.status_code == 302
    assert response["Location"] == reverse("client_saved")
    saved = phone.get(reverse("client_saved"))
    assert "your answers are saved" in saved.content.decode()
    administrations = Administration.objects.filter(session=personas.session_a1, rater="client")
    assert administrations.count() == 2
    rri = administrations.get(instrument_code="RRI-C")
    assert rri.answers.count() == 24
    # All answered "strongly agree" (5): reverse-keyed items count as 1.
    spec = rri.instrument.spec
    keyed = [item.keyed(5) for item in spec.items]
    assert rri.scores.get(scale="total").value == pytest.approx(sum(keyed) / len(keyed))
    link.refresh_from_db()
    assert link.used_at is not None and link.state == ClientLink.State.USED


def test_retry_with_same_submission_id_shows_saved_and_stores_once(issued_link, client_instruments):
    _link, token = issued_link
    phone = _open(token)
    data = complete_answers(client_instruments)
    data["submission_id"] = _submission_id(phone)
    first = phone.post_form(reverse("client_form"), data)
    again = phone.post_form(reverse("client_form"), data)
    assert first["Location"] == again["Location"] == reverse("client_saved")
    assert Administration.objects.filter(rater="client").count() == 2


def test_retry_after_session_loss_still_lands_on_saved(issued_link, client_instruments):
    """The browser lost its cookie (new phone session): the signed link_ref carries on."""
    _link, token = issued_link
    phone = _open(token)
    body = phone.get(reverse("client_form")).content.decode()
    data = complete_answers(client_instruments)
    data["submission_id"] = re.search(r'name="submission_id" value="([^"]+)"', body).group(1)
    data["link_ref"] = re.search(r'name="link_ref" value="([^"]+)"', body).group(1)
    assert phone.post_form(reverse("client_form"), data).status_code == 302
    fresh = CsrfClient()
    response = fresh.post_form(reverse("client_form"), data)
    assert response["Location"] == reverse("client_saved")
    assert Administration.objects.filter(rater="client").count() == 2


def test_same_submission_id_with_different_answers_is_refused(issued_link, client_instruments):
    _link, token = issued_link
    phone = _open(token)
    data = complete_answers(client_instruments)
    data["submission_id"] = _submission_id(phone)
    phone.post_form(reverse("client_form"), data)
    changed = dict(data)
    changed[field_name(client_instruments[0], 1)] = "1"
    response = phone.post_form(reverse("client_form"), changed)
    assert response.status_code == 409
    assert "nothing was changed" in response.content.decode()
    answer = Answer.objects.get(administration__instrument_code="RRI-C", item_number=1)
    assert answer.value == 5


def test_missing_answers_come_back_marked_with_given_answers_kept(issued_link, client_instruments):
    _link, token = issued_link
    phone = _open(token)
    data = complete_answers(client_instruments, value_for=lambda item: item.response_scale.min + 1)
    rri = client_instruments[0]
    del data[field_name(rri, 3)]
    del data[field_name(rri, 7)]
    data["submission_id"] = _submission_id(phone)
    response = phone.post_form(reverse("client_form"), data)
    body = response.content.decode()
    assert response.status_code == 200
    assert "2 questions still need an answer" in body
    assert f'href="#q-{field_name(rri, 3)}"' in body and f'href="#q-{field_name(rri, 7)}"' in body
    assert body.count('class="q missing"') == 2
    # Every given answer is still checked.
    assert body.count(" checked>") == len(data) - 1  # minus submission_id
    assert not Administration.objects.exists()


def test_out_of_range_value_is_treated_as_missing(issued_link, client_instruments):
    _link, token = issued_link
    phone = _open(token)
    data = complete_answers(client_instruments)
    data[field_name(client_instruments[0], 1)] = "99"
    data["submission_id"] = _submission_id(phone)
    response = phone.post_form(reverse("client_form"), data)
    assert response.status_code == 200
    assert "1 question still needs an answer" in response.content.decode()
    assert not Score.objects.exists()


def test_bad_submission_id_is_a_clear_400(issued_link, client_instruments):
    _link, token = issued_link
    phone = _open(token)
    data = complete_answers(client_instruments)
    data["submission_id"] = "not-a-uuid"
    response = phone.post_form(reverse("client_form"), data)
    assert response.status_code == 400
    assert not Administration.objects.exists()


@pytest.mark.parametrize("state", ["expired", "revoked", "used", "unknown"])
def test_unusable_links_get_a_clear_page(issued_link, state):
    link, token = issued_link
    now = timezone.now()
    if state == "expired":
        ClientLink.objects.filter(pk=link.pk).update(expires_at=now - datetime.timedelta(seconds=1))
    elif state == "revoked":
        ClientLink.objects.filter(pk=link.pk).update(revoked_at=now)
    elif state == "used":
        ClientLink.objects.filter(pk=link.pk).update(used_at=now, submission_id=uuid.uuid4())
    else:
        token = "A" * 22
    response = CsrfClient().get(reverse("client_link", args=[token]))
    assert response.status_code in (404, 410)
    assert "ask your therapist" in response.content.decode().lower() or state == "used"
    assert "no-store" in response["Cache-Control"]


def test_link_expiring_while_answering_saves_nothing(issued_link, client_instruments):
    link, token = issued_link
    phone = _open(token)
    data = complete_answers(client_instruments)
    data["submission_id"] = _submission_id(phone)
    ClientLink.objects.filter(pk=link.pk).update(
        expires_at=timezone.now() - datetime.timedelta(seconds=1)
    )
    response = phone.post_form(reverse("client_form"), data)
    assert response.status_code == 410
    assert not Administration.objects.exists()


def test_form_pages_need_an_exchanged_link():
    phone = CsrfClient()
    assert phone.get(reverse("client_form")).status_code == 404
    assert phone.get(reverse("client_start")).status_code == 404
    assert phone.get(reverse("client_saved")).status_code == 404


def test_link_opens_only_its_own_session(issued_link, personas, client_instruments):
    """Answers posted with another session's field names cannot reach that session."""
    _link, token = issued_link
    phone = _open(token)
    data = complete_answers(client_instruments)
    data["submission_id"] = _submission_id(phone)
    phone.post_form(reverse("client_form"), data)
    assert not Administration.objects.filter(session=personas.session_a2).exists()
    assert set(Administration.objects.values_list("session", flat=True)) == {personas.session_a1.pk}


def test_form_page_is_lean(issued_link):
    """No Bootstrap, no plotly, no inline script on the phone form."""
    _link, token = issued_link
    body = _open(token).get(reverse("client_form")).content.decode()
    assert "bootstrap" not in body and "plotly" not in body
    assert "<script>" not in body and " style=" not in body
    assert body.count('type="radio"') == 24 * 5 + 4 * 5


# --- The fast paths: one-statement save, cached instrument rows, pre-rendered page --------


def test_saved_rows_match_what_the_orm_would_store(issued_link, client_instruments, personas):
    """The submit writes every form in one SQL statement (save_many_rows): check each
    stored row against rows built by the shared scoring code, field by field."""
    from rri_forms.services.recording import administration_rows

    link, token = issued_link
    phone = _open(token)
    data = complete_answers(client_instruments, value_for=lambda item: item.response_scale.min)
    data["submission_id"] = _submission_id(phone)
    assert phone.post_form(reverse("client_form"), data).status_code == 302
    link.refresh_from_db()
    for instrument in client_instruments:
        given = {item.number: item.response_scale.min for item in instrument.spec.items}
        expected = administration_rows(
            session=personas.session_a1,
            instrument=instrument,
            answers=given,
            submitted_at=link.used_at,
            submitted_by=None,
        )
        stored = Administration.objects.get(session=personas.session_a1, instrument=instrument)
        for name in (
            "session_id",
            "dyad_id",
            "instrument_code",
            "rater",
            "submitted_at",
            "submitted_by_id",
            "risk_flag",
        ):
            assert getattr(stored, name) == getattr(expected.administration, name), name
        assert [
            (a.item_number, a.value, a.min_value, a.max_value)
            for a in stored.answers.order_by("item_number")
        ] == [(a.item_number, a.value, a.min_value, a.max_value) for a in expected.answers]
        assert sorted((s.scale, s.value, s.band) for s in stored.scores.all()) == sorted(
            (s.scale, s.value, s.band) for s in expected.scores
        )


def test_unanswered_page_equals_the_full_rendering(issued_link, client_instruments, rf):
    """GET serves a page rendered once per instrument versions with three values filled in
    per request; it must be byte for byte what the template renders for that request."""
    from django.contrib.auth.models import AnonymousUser
    from django.contrib.sessions.backends.db import SessionStore

    from rri_forms.views import client as views

    link, _token = issued_link
    request = rf.get(reverse("client_form"))
    request.user = AnonymousUser()
    request.session = SessionStore()
    fast = views._unanswered_form_page(request, link, client_instruments).content.decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', fast).group(1)
    submission = re.search(r'name="submission_id" value="([^"]+)"', fast).group(1)
    link_ref = re.search(r'name="link_ref" value="([^"]+)"', fast).group(1)
    assert request.META["CSRF_COOKIE_NEEDS_UPDATE"]  # the CSRF cookie is sent, as by the tag
    full = views._form_page(
        request, link.pk, client_instruments, submission_id=submission, expires_at=link.expires_at
    )
    full_html = full.content.decode()
    full_token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', full_html).group(1)
    full_ref = re.search(r'name="link_ref" value="([^"]+)"', full_html).group(1)
    assert fast == full_html.replace(full_token, token).replace(full_ref, link_ref)
    # Fresh values on every GET.
    again = views._unanswered_form_page(request, link, client_instruments).content.decode()
    assert submission not in again


def test_wording_changed_in_place_shows_on_the_next_get(issued_link, client_instruments):
    """Instrument rows are kept per process, keyed by the row's version (xmin): a change
    made anywhere (here a queryset update, as another process might) is seen at once."""
    from rri_forms.models import Instrument

    _link, token = issued_link
    phone = _open(token)
    instrument = client_instruments[0]
    first = instrument.spec.items[0].text
    assert first in phone.get(reverse("client_form")).content.decode()
    assert first in phone.get(reverse("client_form")).content.decode()  # from the cache
    reworded = instrument.source_text.replace(first, "Licensed wording of the first item")
    assert reworded != instrument.source_text
    Instrument.objects.filter(pk=instrument.pk).update(
        source_text=reworded, wording_signature="changed-in-place"
    )
    body = phone.get(reverse("client_form")).content.decode()
    assert "Licensed wording of the first item" in body
    assert first not in body
