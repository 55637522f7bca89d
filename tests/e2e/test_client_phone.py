"""The client's flow on a phone (390×844, touch), by tapping and by keyboard alone."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from rri_forms.models import Administration, Answer, ClientLink, Instrument, Score
from rri_forms.services.links import link_issue
from tests.e2e.conftest import PHONE, axe_serious, resubmit, snapshot_form

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def phone_link(personas):
    """A fresh client link for therapist A1's latest session, its token and instruments."""
    link, token = link_issue(actor_user=personas.therapist_a1.user, session=personas.session_a1)
    by_id = Instrument.objects.in_bulk(link.instrument_ids)
    return link, token, [by_id[i] for i in link.instrument_ids]


def _counts(session) -> tuple[int, int, int]:
    administrations = Administration.objects.filter(session=session, rater="client")
    return (
        administrations.count(),
        Answer.objects.filter(administration__in=administrations).count(),
        Score.objects.filter(administration__in=administrations).count(),
    )


def test_phone_flow_by_tapping_saves_once(live_server, new_page, phone_link, personas):
    link, token, instruments = phone_link
    item_count = sum(len(i.spec.items) for i in instruments)
    page, watch = new_page(**PHONE)

    page.goto(live_server.url + reverse("client_link", args=[token]))
    assert page.url == live_server.url + reverse("client_start")  # token-free URL
    assert token not in page.content()
    assert axe_serious(page) == []
    page.get_by_role("link", name="Start").tap()
    page.wait_for_url("**" + reverse("client_form"))
    assert page.locator('script[src*="plotly"], script[src*="bootstrap"]').count() == 0
    assert axe_serious(page) == []

    questions = page.locator("fieldset.q")
    assert questions.count() == item_count
    for index in range(item_count):
        options = questions.nth(index).locator("label.opt")
        # Vary the answers: the option index follows the question number.
        options.nth(index % options.count()).tap()
    assert page.locator("input[type=radio]:checked").count() == item_count
    # The progress line counts the answers ("28 / 28", "28 of 28 answered", …).
    assert re.match(rf"{item_count}\D+{item_count}\b", page.locator("#progress").inner_text())

    sent = snapshot_form(page, "form#client-form")
    # A double tap on "send": the second tap must not store anything twice.
    posts = []
    page.on("request", lambda r: posts.append(r) if r.method == "POST" else None)
    send = page.get_by_role("button", name="Send my answers")
    send.scroll_into_view_if_needed()
    box = send.bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.touchscreen.tap(x, y)
    page.touchscreen.tap(x, y)
    page.wait_for_url("**" + reverse("client_saved"))
    assert 1 <= len(posts) <= 2  # the page's script drops the second; the server would too
    assert "your answers are saved" in page.locator("h1").inner_text()
    assert axe_serious(page) == []
    saved = _counts(personas.session_a1)
    assert saved == (len(instruments), item_count, saved[2]) and saved[2] > 0
    link.refresh_from_db()
    assert link.state == ClientLink.State.USED

    # Back: the form is never cached and a used link's form redirects to "saved". A client
    # who then sends the same answers again (a copy of the form as first sent) is shown the
    # same "saved" page, and nothing is stored twice; nor by a refresh.
    page.go_back()
    page.wait_for_load_state()
    assert page.url.endswith(reverse("client_saved"))
    assert resubmit(page, sent) == 302
    assert page.url.endswith(reverse("client_saved"))
    assert "your answers are saved" in page.locator("h1").inner_text()
    page.reload()
    assert "your answers are saved" in page.locator("h1").inner_text()
    assert _counts(personas.session_a1) == saved
    assert watch.problems() == []


def test_client_form_by_keyboard_alone(live_server, new_page, phone_link, personas):
    link, token, instruments = phone_link
    page, watch = new_page(viewport={"width": 390, "height": 844})
    page.goto(live_server.url + reverse("client_link", args=[token]))
    # Start: Tab to the one link, Enter.
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent.trim()") == "Start"
    page.keyboard.press("Enter")
    page.wait_for_url("**" + reverse("client_form"))

    expected: dict[str, int] = {}
    for instrument in instruments:
        for item in instrument.spec.items:
            name = f"f{instrument.pk}_{item.number}"
            # Tab reaches the question's radio group; Space picks the first option and
            # ArrowDown moves the choice on, checking the next option each time.
            for _ in range(10):
                page.keyboard.press("Tab")
                if page.evaluate("document.activeElement.name") == name:
                    break
            else:
                pytest.fail(f"Tab never reached question {name}")
            page.keyboard.press("Space")
            steps = item.number % item.response_scale.points
            for _ in range(steps):
                page.keyboard.press("ArrowDown")
            expected[name] = item.response_scale.min + steps
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.type") == "submit"
    page.keyboard.press("Enter")
    page.wait_for_url("**" + reverse("client_saved"))

    stored = {
        f"f{a['administration__instrument_id']}_{a['item_number']}": a["value"]
        for a in Answer.objects.filter(administration__session=personas.session_a1).values(
            "administration__instrument_id", "item_number", "value"
        )
    }
    assert stored == expected
    assert re.search(r"saved", page.locator("h1").inner_text())
    assert watch.problems() == []


def test_double_tap_without_javascript_saves_once(live_server, new_page, phone_link, personas):
    """No script to hold back the second tap: the submission id alone keeps it to one save."""
    from playwright.sync_api import expect

    link, token, instruments = phone_link
    item_count = sum(len(i.spec.items) for i in instruments)
    page, watch = new_page(**PHONE, java_script_enabled=False)
    page.goto(live_server.url + reverse("client_link", args=[token]))
    page.get_by_role("link", name="Start").tap()
    page.wait_for_url("**" + reverse("client_form"))
    questions = page.locator("fieldset.q")
    for index in range(item_count):
        questions.nth(index).locator("input[type=radio]").first.check()
    posts = []
    page.on("request", lambda r: posts.append(r) if r.method == "POST" else None)
    send = page.get_by_role("button", name="Send my answers")
    send.scroll_into_view_if_needed()
    box = send.bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.touchscreen.tap(x, y)
    page.touchscreen.tap(x, y)
    # The second tap aborts the first navigation (its POST may still have been saved), so
    # poll the address instead of waiting for one navigation.
    expect(page).to_have_url(re.compile(re.escape(reverse("client_saved")) + "$"))
    assert "your answers are saved" in page.locator("h1").inner_text()
    assert len(posts) in (1, 2)
    assert _counts(personas.session_a1)[:2] == (len(instruments), item_count)
    assert watch.problems() == []


# Each option label: on screen within the 320 px, at least 24 × 24 px (WCAG 2.5.8), and the
# topmost element at its centre (a tap lands on it). Any element wider than the screen.
_NARROW_PROBLEMS = """(width) => {
  const problems = [];
  for (const label of document.querySelectorAll("label.opt")) {
    label.scrollIntoView({block: "center"});
    const r = label.getBoundingClientRect();
    const where = `${label.htmlFor}: ${Math.round(r.left)}-${Math.round(r.right)} px, `
      + `${Math.round(r.width)}x${Math.round(r.height)}`;
    if (r.left < 0 || r.right > width || r.width < 24 || r.height < 24
        || getComputedStyle(label).visibility !== "visible") {
      problems.push(where);
      continue;
    }
    const hit = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
    if (!label.contains(hit)) problems.push(`${where} covered by ${hit && hit.tagName}`);
  }
  for (const el of document.querySelectorAll("main *")) {
    if (el.getBoundingClientRect().right > width + 0.5) problems.push(`overflows: ${el.tagName}`);
  }
  return problems;
}"""


def test_client_form_is_readable_320_px_wide(live_server, new_page, phone_link):
    link, token, instruments = phone_link
    page, watch = new_page(viewport={"width": 320, "height": 568}, is_mobile=True, has_touch=True)
    page.goto(live_server.url + reverse("client_link", args=[token]))
    page.get_by_role("link", name="Start").tap()
    page.wait_for_url("**" + reverse("client_form"))
    assert page.evaluate("document.documentElement.scrollWidth") <= 320
    assert page.locator("label.opt").count() == sum(
        len(item.response_scale.choices()) for i in instruments for item in i.spec.items
    )
    assert page.evaluate(_NARROW_PROBLEMS, 320) == []
    # And a tap on the narrow screen does choose: the last question's every option.
    last = page.locator("fieldset.q").last
    for index in range(last.locator("label.opt").count()):
        last.locator("label.opt").nth(index).tap()
        assert last.locator("input[type=radio]").nth(index).is_checked()
    assert page.evaluate("document.documentElement.scrollWidth") <= 320
    assert watch.problems() == []
