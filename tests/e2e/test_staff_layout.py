"""Staff pages fit their screen: nothing scrolls sideways at 320 px, the session page's two
columns do not overlap at 1280 px, and the jump to a missing answer is not hidden."""

from __future__ import annotations

import pytest
from django.urls import reverse

from rri_forms.services.links import link_issue
from tests.e2e.conftest import PHONE, login_cookie
from tests.outcomes.conftest import rate

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

NARROW = {"viewport": {"width": 320, "height": 640}, "is_mobile": True, "has_touch": True}


@pytest.fixture
def rated_session(personas):
    session = personas.session_a1
    for code in ("RRI-C", "SESSION-CHECK", "RRI-T", "PROGRESS-T"):
        rate(session, code, 3)
    return session


def _pages(personas, session) -> list[tuple[str, object]]:
    return [
        (reverse("therapist_home"), personas.therapist_a1),
        (reverse("caseload"), personas.therapist_a1),
        (reverse("dyad_detail", args=[personas.dyad_a1.pk]), personas.therapist_a1),
        (reverse("session_detail", args=[session.pk]), personas.therapist_a1),
        (reverse("supervisor_dashboard"), personas.supervisor_a),
        (reverse("staff_list"), personas.admin_a),
        (reverse("form_settings"), personas.admin_a),
        (reverse("audit_log"), personas.admin_a),
        (reverse("team"), personas.admin_a),
        (reverse("exports"), personas.admin_a),
        (reverse("team_analytics"), personas.admin_a),
        (reverse("client_new"), personas.admin_a),
        (reverse("staff_edit", args=[personas.therapist_a1.pk]), personas.admin_a),
        (reverse("client_privacy", args=[personas.dyad_a1.client.pk]), personas.admin_a),
        (reverse("session_new", args=[personas.dyad_a1.pk]), personas.therapist_a1),
        (reverse("therapist_forms", args=[session.pk]), personas.therapist_a1),
    ]


def test_staff_pages_do_not_scroll_sideways_at_320_px(
    live_server, new_page, personas, rated_session
):
    pages: dict[int, object] = {}
    wide = []
    for url, member in _pages(personas, rated_session):
        if member.pk not in pages:
            page, _watch = new_page(**NARROW)
            login_cookie(page.context, live_server, member.user)
            pages[member.pk] = page
        page = pages[member.pk]
        assert page.goto(live_server.url + url).status == 200
        width = page.evaluate("document.documentElement.scrollWidth")
        if width > 320:
            wide.append(f"{url}: {width} px")
    assert wide == []


def test_session_page_columns_do_not_overlap_at_1280_px(
    live_server, new_page, personas, rated_session
):
    page, watch = new_page()
    login_cookie(page.context, live_server, personas.therapist_a1.user)
    page.goto(live_server.url + reverse("session_detail", args=[rated_session.pk]))
    client_right = page.evaluate(
        "Math.max(...[...document.querySelectorAll("
        "'section[aria-labelledby=client-forms] *')].map((e) => e.getBoundingClientRect().right))"
    )
    therapist_left = page.locator("section[aria-labelledby=therapist-forms]").bounding_box()["x"]
    assert client_right <= therapist_left
    assert page.locator("#therapist-forms").inner_text() == "My forms"
    # Someone else (the supervisor) reads "Therapist's forms", not "My forms".
    other, _watch = new_page()
    login_cookie(other.context, live_server, personas.supervisor_a.user)
    other.goto(live_server.url + reverse("session_detail", args=[rated_session.pk]))
    assert other.locator("#therapist-forms").inner_text() == "Therapist's forms"
    assert watch.problems() == []


def test_the_jump_to_a_missing_answer_is_not_under_the_sticky_bar(live_server, new_page, personas):
    link, token = link_issue(actor_user=personas.therapist_a1.user, session=personas.session_a1)
    page, watch = new_page(**PHONE)
    page.goto(live_server.url + reverse("client_link", args=[token]))
    page.get_by_role("link", name="Start").tap()
    page.get_by_role("button", name="Send my answers").tap()  # nothing answered
    page.wait_for_load_state()
    jump = page.locator("#missing-summary a").nth(3)
    target = jump.get_attribute("href")
    jump.tap()
    page.wait_for_timeout(300)
    legend_top = page.locator(f"{target} legend").bounding_box()["y"]
    bar = page.locator("#progress").bounding_box()
    assert legend_top >= bar["y"] + bar["height"], (legend_top, bar)
    assert watch.problems() == []
