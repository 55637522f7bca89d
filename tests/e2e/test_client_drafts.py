"""The client never loses an answer: reload, Back, a dropped connection, a closed tab, a
new link issued while they answer (phone context, 390×844, touch)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from rri_forms.models import Administration, Answer, ClientLink, Instrument
from rri_forms.services.links import link_issue
from tests.e2e.conftest import PHONE

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

_CHECKED = """() => Object.fromEntries(
  [...document.querySelectorAll("#client-form input[type=radio]:checked")]
    .map((el) => [el.name, el.value]))"""


@pytest.fixture
def phone_link(personas):
    link, token = link_issue(actor_user=personas.therapist_a1.user, session=personas.session_a1)
    by_id = Instrument.objects.in_bulk(link.instrument_ids)
    return link, token, [by_id[i] for i in link.instrument_ids]


def _open_form(page, live_server, token: str) -> None:
    page.goto(live_server.url + reverse("client_link", args=[token]))
    page.get_by_role("link", name="Start").tap()
    page.wait_for_url("**" + reverse("client_form"))


def _is_draft_save(response) -> bool:  # type: ignore[no-untyped-def]
    request = response.request
    return request.method == "POST" and "draft" in (request.post_data or "")


def _answer(page, indexes, *, wait_for_draft: bool = True) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """Tap an option (varied by question) of each question in `indexes`; what was chosen.
    With `wait_for_draft`, until the page has saved the draft on the server."""
    questions = page.locator("fieldset.q")
    chosen = {}
    for index in indexes:
        options = questions.nth(index).locator("label.opt")
        option = options.nth(index % options.count())
        option.tap()
        radio = option.locator("input")
        chosen[radio.get_attribute("name")] = radio.get_attribute("value")
    if wait_for_draft:
        with page.expect_response(_is_draft_save) as saved:
            pass
        assert saved.value.status == 204
    return chosen


def _stored(session) -> dict[str, str]:
    return {
        f"f{a['administration__instrument_id']}_{a['item_number']}": str(a["value"])
        for a in Answer.objects.filter(administration__session=session).values(
            "administration__instrument_id", "item_number", "value"
        )
    }


def test_reload_back_and_a_dropped_connection_keep_every_answer(
    live_server, new_page, phone_link, personas
):
    link, token, instruments = phone_link
    item_count = sum(len(i.spec.items) for i in instruments)
    page, watch = new_page(**PHONE)
    _open_form(page, live_server, token)

    half = item_count // 2
    chosen = _answer(page, range(half))
    page.reload()
    assert page.evaluate(_CHECKED) == chosen  # from the server's draft and the phone's copy
    assert page.locator("#draft-notice").is_visible()

    # Back to the start page and on again: still there.
    page.go_back()
    page.wait_for_url("**" + reverse("client_start"))
    page.get_by_role("link", name="Start").tap()
    page.wait_for_url("**" + reverse("client_form"))
    assert page.evaluate(_CHECKED) == chosen

    # The connection drops: answers go on being kept on the phone, and Send keeps the page.
    page.context.set_offline(True)
    chosen |= _answer(page, range(half, item_count), wait_for_draft=False)
    page.get_by_role("button", name="Send my answers").tap()
    assert page.locator("#offline").is_visible()
    assert page.evaluate(_CHECKED) == chosen
    assert not Administration.objects.filter(session=personas.session_a1).exists()

    # Back online: a reload (the first thing many people try) still has every answer.
    page.context.set_offline(False)
    page.reload()
    assert page.evaluate(_CHECKED) == chosen
    page.get_by_role("button", name="Send my answers").tap()
    page.wait_for_url("**" + reverse("client_saved"))
    assert _stored(personas.session_a1) == chosen  # every answer, each once
    assert Answer.objects.filter(administration__session=personas.session_a1).count() == len(chosen)
    # The draft goes with the submit: on the phone and on the server.
    assert page.evaluate("window.localStorage.getItem('dyad-client-draft')") is None
    page.go_back()
    page.wait_for_load_state()
    assert page.url.endswith(reverse("client_saved"))
    assert watch.problems() == []


def test_without_javascript_a_closed_tab_is_restored_from_the_server(
    live_server, new_page, phone_link, personas
):
    link, token, instruments = phone_link
    page, watch = new_page(**PHONE, java_script_enabled=False)
    _open_form(page, live_server, token)
    questions = page.locator("fieldset.q")
    chosen = {}
    for index in range(3):
        radio = questions.nth(index).locator("input[type=radio]").last
        radio.check()
        chosen[radio.get_attribute("name")] = radio.get_attribute("value")
    page.get_by_role("button", name="Save and finish later").tap()
    assert "kept until" in page.locator("#draft-notice").inner_text()
    context = page.context
    page.close()  # the tab is closed; later the client opens their link again

    again = context.new_page()
    _open_form(again, live_server, token)
    checked = {
        el.get_attribute("name"): el.get_attribute("value")
        for el in again.locator("input[type=radio]:checked").all()
    }
    assert checked == chosen
    assert not Administration.objects.filter(session=personas.session_a1).exists()


def test_a_new_link_while_the_client_answers_loses_nothing(
    live_server, new_page, phone_link, personas
):
    link, token, instruments = phone_link
    item_count = sum(len(i.spec.items) for i in instruments)
    page, watch = new_page(**PHONE)
    _open_form(page, live_server, token)
    chosen = _answer(page, range(item_count // 2))

    # The therapist issues a new link (or emails one) while the client is answering.
    second, _token2 = link_issue(actor_user=personas.therapist_a1.user, session=personas.session_a1)
    page.reload()
    assert page.evaluate(_CHECKED) == chosen

    chosen |= _answer(page, range(item_count // 2, item_count))
    third, _token3 = link_issue(actor_user=personas.therapist_a1.user, session=personas.session_a1)
    page.get_by_role("button", name="Send my answers").tap()
    page.wait_for_url("**" + reverse("client_saved"))
    assert "your answers are saved" in page.locator("h1").inner_text()
    assert _stored(personas.session_a1) == chosen
    states = {pk: ClientLink.objects.get(pk=pk).state for pk in (link.pk, second.pk, third.pk)}
    assert states == {
        link.pk: ClientLink.State.REVOKED,
        second.pk: ClientLink.State.REVOKED,
        third.pk: ClientLink.State.USED,
    }
    # The replaced link's token itself no longer opens a form in another browser.
    other, _watch = new_page(**PHONE)
    other.goto(live_server.url + reverse("client_link", args=[token]))
    assert "replaced" in other.locator("h1").inner_text()
    assert watch.problems() == []
