"""Drafts of the client's answers, replaced links and the crisis message, through the
test client (the browser tests in tests/e2e/test_client_drafts.py drive the page's script)."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from rri_forms.models import Administration, Answer, ClientLink, Instrument
from rri_forms.models.instruments import DEFAULT_CRISIS_MESSAGE
from rri_forms.rendering import field_name
from rri_forms.services.links import link_issue, link_revoke
from rri_forms.services.settings import form_settings_update
from rri_forms.views.client import DRAFT_KEY
from tests.conftest import CsrfClient
from tests.rri_forms.conftest import complete_answers

pytestmark = pytest.mark.django_db


def _open(token: str) -> CsrfClient:
    phone = CsrfClient()
    assert phone.get(reverse("client_link", args=[token])).status_code == 302
    return phone


def _form(phone: CsrfClient) -> str:
    response = phone.get(reverse("client_form"))
    assert response.status_code == 200
    return response.content.decode()


def _submission_id(body: str) -> str:
    return re.search(r'name="submission_id" value="([0-9a-f-]+)"', body).group(1)


def _checked(body: str) -> dict[str, str]:
    return dict(re.findall(r'name="(f\d+_\d+)" value="(\d+)" checked', body))


def _draft(phone: CsrfClient, data: dict, *, background: bool = True):
    extra = {"background": "1"} if background else {}
    return phone.post_form(reverse("client_form"), {**data, "intent": "draft", **extra})


def test_a_draft_is_restored_and_discarded_on_submit(issued_link, client_instruments):
    link, token = issued_link
    phone = _open(token)
    assert _checked(_form(phone)) == {}
    rri_c = client_instruments[0]
    part = {field_name(rri_c, n): "4" for n in (1, 2, 3)}
    tampered = {field_name(rri_c, 4): "9", field_name(rri_c, 5): "x"}  # never kept
    assert _draft(phone, {**part, **tampered}).status_code == 204
    assert phone.session[DRAFT_KEY] == {"link": link.pk, "answers": {k: 4 for k in part}}
    assert phone.session.get_expiry_date() == link.expires_at  # lives as long as the link
    body = _form(phone)
    assert _checked(body) == part
    assert "your answers so far are kept" in body
    assert not Administration.objects.filter(session_id=link.session_id).exists()

    data = {**complete_answers(client_instruments), "submission_id": _submission_id(body)}
    assert phone.post_form(reverse("client_form"), data).status_code == 302
    assert DRAFT_KEY not in phone.session
    count = sum(len(i.spec.items) for i in client_instruments)
    assert Answer.objects.filter(administration__session_id=link.session_id).count() == count


def test_save_for_later_without_javascript_shows_the_form_again(issued_link, client_instruments):
    link, token = issued_link
    phone = _open(token)
    body = _form(phone)
    answers = {field_name(client_instruments[1], 1): "2"}
    response = _draft(phone, {**answers, "submission_id": _submission_id(body)}, background=False)
    assert response.status_code == 200
    page = response.content.decode()
    assert "kept until" in page and _checked(page) == answers
    assert 'class="q missing"' not in page  # not pressed Send: nothing marked missing
    # Another browser (no session) has no draft, and cannot write one for this link.
    stranger = CsrfClient()
    assert _draft(stranger, answers).status_code == 410


def test_no_draft_for_a_link_that_no_longer_works(issued_link, personas):
    link, token = issued_link
    phone = _open(token)
    link_revoke(actor_user=personas.therapist_a1.user, session=personas.session_a1)
    assert _draft(phone, {}).status_code == 410
    assert DRAFT_KEY not in phone.session


def test_another_links_draft_is_not_shown(issued_link, client_instruments, personas):
    link, token = issued_link
    phone = _open(token)
    answers = {field_name(client_instruments[0], 1): "3"}
    assert _draft(phone, answers).status_code == 204
    # The same phone opens a link of another client's session (a shared clinic tablet).
    other_session = personas.dyad_a1.sessions.get(number=2)
    _other, other_token = link_issue(actor_user=personas.therapist_a1.user, session=other_session)
    assert phone.get(reverse("client_link", args=[other_token])).status_code == 302
    assert DRAFT_KEY not in phone.session
    assert _checked(_form(phone)) == {}


def test_a_replaced_link_saves_through_the_new_one_once(issued_link, client_instruments, personas):
    link, token = issued_link
    phone = _open(token)
    body = _form(phone)
    assert _draft(phone, {field_name(client_instruments[0], 1): "5"}).status_code == 204
    newer, _token = link_issue(actor_user=personas.therapist_a1.user, session=personas.session_a1)
    link.refresh_from_db()
    assert link.superseded_by_id == newer.pk and link.state == ClientLink.State.REVOKED
    # The replaced token opens nothing in a fresh browser…
    fresh = CsrfClient().get(reverse("client_link", args=[token]))
    assert fresh.status_code == 410 and "replaced by a newer one" in fresh.content.decode()
    # …but the browser that was answering sends its form, which lands on the new link.
    data = {**complete_answers(client_instruments), "submission_id": _submission_id(body)}
    response = phone.post_form(reverse("client_form"), data)
    assert response.status_code == 302 and response["Location"] == reverse("client_saved")
    assert phone.get(reverse("client_saved")).status_code == 200
    newer.refresh_from_db()
    assert newer.state == ClientLink.State.USED
    # The same send again (Back, Send): the same "saved" page, nothing stored twice.
    again = phone.post_form(reverse("client_form"), data)
    assert again["Location"] == reverse("client_saved")
    count = sum(len(i.spec.items) for i in client_instruments)
    assert Answer.objects.filter(administration__session_id=link.session_id).count() == count
    # A link revoked by hand is not followed.
    third_session = personas.dyad_a1.sessions.get(number=2)
    third, third_token = link_issue(actor_user=personas.therapist_a1.user, session=third_session)
    other = _open(third_token)
    link_revoke(actor_user=personas.therapist_a1.user, session=third_session)
    assert other.get(reverse("client_form")).status_code == 410


def _session_one_link(personas):
    session = personas.dyad_a1.sessions.get(number=1)
    link, token = link_issue(actor_user=personas.therapist_a1.user, session=session)
    by_id = Instrument.objects.in_bulk(link.instrument_ids)
    return token, [by_id[i] for i in link.instrument_ids]


@pytest.mark.parametrize("item_nine", [0, 1])
def test_the_crisis_message_follows_a_risk_answer(personas, item_nine):
    token, instruments = _session_one_link(personas)
    assert "PHQ-9" in [i.code for i in instruments]
    phone = _open(token)
    body = _form(phone)
    answers = complete_answers(instruments, value_for=lambda item: item.response_scale.min)
    phq = next(i for i in instruments if i.code == "PHQ-9")
    answers[field_name(phq, 9)] = str(item_nine)
    data = {**answers, "submission_id": _submission_id(body)}
    assert phone.post_form(reverse("client_form"), data).status_code == 302
    saved = phone.get(reverse("client_saved")).content.decode()
    if item_nine:
        assert 'id="crisis"' in saved
        assert str(DEFAULT_CRISIS_MESSAGE)[:60] in saved.replace("&#x27;", "'")
    else:
        assert 'id="crisis"' not in saved and "You can close this page now" in saved


def test_the_clinic_sets_its_own_crisis_message(personas):
    form_settings_update(
        actor_user=personas.admin_a.user, crisis_message="Call Clinic A on 0100 555 0100."
    )
    token, instruments = _session_one_link(personas)
    phone = _open(token)
    body = _form(phone)
    answers = complete_answers(instruments, value_for=lambda item: item.response_scale.max)
    data = {**answers, "submission_id": _submission_id(body)}
    assert phone.post_form(reverse("client_form"), data).status_code == 302
    saved = phone.get(reverse("client_saved")).content.decode()
    assert "Call Clinic A on 0100 555 0100." in saved
    assert str(DEFAULT_CRISIS_MESSAGE)[:40] not in saved


def test_part_titles_are_names_not_codes(issued_link):
    _link, token = issued_link
    body = _form(_open(token))
    titles = re.findall(r'<h2 id="h-\d+">Part \d of \d: ([^<]+)</h2>', body)
    assert titles == ["Real Relationship Inventory – Client form", "Session check"]
