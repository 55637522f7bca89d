"""Every page each persona can reach obeys the CSP by construction.

The walk starts from every GET URL of the access matrix (so every named URL) and the
pages of the client's phone flow, follows same-site links, and fails on any inline
<script> with content (JSON data blocks excepted), inline <style>, style= attribute,
on*= event handler or javascript: URL. A chart page must link plotly's stylesheet
(id plotly.js-style-global, class no-inline-styles) before plotly.min.js.
"""

from __future__ import annotations

import re
import uuid
from collections import deque
from html.parser import HTMLParser
from unittest import mock
from urllib.parse import urljoin, urlsplit

import pytest
from django.db import OperationalError
from django.test import RequestFactory
from django.urls import reverse
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from dyad.lib import errors
from rri_forms.services.client_forms import Outcome, client_forms_submit
from rri_forms.services.links import link_issue
from tests.conftest import CsrfClient
from tests.factories import PASSWORD
from tests.rri_forms.conftest import complete_answers
from tests.test_access_matrix import MATRIX, PERSONAS

pytestmark = pytest.mark.django_db

DATA_SCRIPT_TYPES = {"application/json", "application/ld+json"}
SKIP_PREFIXES = ("/static/", "/admin/", "/accounts/logout/")
PAGES_PER_PERSONA = 120


class InlineCodeFinder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []
        self.links: list[str] = []
        self._open: tuple[str, dict] | None = None
        self._text: list[str] = []
        self._plotly_css = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        for name, value in attrs:
            if name == "style":
                self.problems.append(f"style= attribute on <{tag}>")
            elif name.startswith("on"):
                self.problems.append(f"{name}= handler on <{tag}>")
            elif value and value.strip().lower().startswith("javascript:"):
                self.problems.append(f"javascript: URL in <{tag} {name}>")
        if tag == "link" and attributes.get("id") == "plotly.js-style-global":
            classes = (attributes.get("class") or "").split()
            self._plotly_css = (
                "no-inline-styles" in classes and attributes.get("rel") == "stylesheet"
            )
        if tag == "script" and "plotly" in (attributes.get("src") or "") and not self._plotly_css:
            self.problems.append("plotly.min.js without plotly's stylesheet link before it")
        if tag in ("script", "style"):
            self._open, self._text = (tag, attributes), []
        if tag == "a" and attributes.get("href"):
            self.links.append(attributes["href"] or "")

    def handle_data(self, data: str) -> None:
        if self._open is not None:
            self._text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if self._open is None or tag != self._open[0]:
            return
        name, attributes = self._open
        text = "".join(self._text).strip()
        if name == "style" and text:
            self.problems.append("inline <style> element")
        if (
            name == "script"
            and text
            and not attributes.get("src")
            and attributes.get("type") not in DATA_SCRIPT_TYPES
        ):
            self.problems.append(f"inline <script>: {text[:60]!r}")
        self._open = None


def inline_code(html: str) -> tuple[list[str], list[str]]:
    finder = InlineCodeFinder()
    finder.feed(html)
    finder.close()
    return finder.problems, finder.links


class Walk:
    def __init__(self) -> None:
        self.failures: list[str] = []
        self.pages = 0
        self.chart_pages = 0

    def check(self, label: str, response, *, headers: bool = True) -> list[str]:  # type: ignore[no-untyped-def]
        if "text/html" not in response.get("Content-Type", ""):
            return []
        self.pages += 1
        self.chart_pages += b"plotly.min.js" in response.content
        if headers and "Content-Security-Policy" not in response:
            self.failures.append(f"{label}: no Content-Security-Policy header")
        problems, links = inline_code(response.content.decode())
        self.failures += [f"{label}: {problem}" for problem in problems]
        return links

    def crawl(self, http: CsrfClient, persona: str, start: list[str]) -> None:
        queue, seen = deque(start), set()
        while queue and len(seen) < PAGES_PER_PERSONA:
            url = queue.popleft()
            if url in seen:
                continue
            seen.add(url)
            response = http.get(url)
            targets = self.check(f"{persona} {url} ({response.status_code})", response)
            if response.status_code in (301, 302):
                targets = [response["Location"]]
            for href in targets:
                parts = urlsplit(urljoin(f"http://testserver{url}", href))
                if parts.netloc != "testserver" or parts.path.startswith(SKIP_PREFIXES):
                    continue
                queue.append(parts.path + (f"?{parts.query}" if parts.query else ""))

    def assert_clean(self) -> None:
        assert not self.failures, "\n".join(self.failures)


@pytest.fixture
def walk():
    return Walk()


def _with_scores(personas) -> None:  # type: ignore[no-untyped-def]
    """Client answers for every session of dyad A1, so the chart pages draw charts."""
    from rri_forms.models import Instrument

    for session in personas.dyad_a1.sessions.order_by("number"):
        link, _token = link_issue(actor_user=personas.therapist_a1.user, session=session)
        answers = {
            instrument.pk: {
                item.number: min(item.response_scale.max, item.response_scale.min + session.number)
                for item in instrument.spec.items
            }
            for instrument in Instrument.objects.filter(pk__in=link.instrument_ids)
        }
        result = client_forms_submit(link_id=link.pk, submission_id=uuid.uuid4(), answers=answers)
        assert result.outcome == Outcome.SAVED, result.outcome


def test_every_staff_page_has_no_inline_code(personas, login, walk):
    _with_scores(personas)
    for persona in PERSONAS:
        start = [reverse("home"), reverse("login"), "/no-such-page/"]
        start += [
            reverse(case.url_name, args=case.args(personas))
            for case in MATRIX
            if case.method == "get"
        ]
        walk.crawl(login(persona), persona, start)
    assert walk.pages > 30
    assert walk.chart_pages > 0
    walk.assert_clean()


def _answers_for(link) -> dict:  # type: ignore[no-untyped-def]
    from rri_forms.models import Instrument

    by_id = Instrument.objects.in_bulk(link.instrument_ids)
    return complete_answers([by_id[i] for i in link.instrument_ids])


def test_every_client_phone_page_has_no_inline_code(personas, walk):
    link, token = link_issue(actor_user=personas.therapist_a1.user, session=personas.session_a1)
    phone = CsrfClient()
    walk.check("link", phone.get(reverse("client_link", args=[token]), follow=True))
    form = phone.get(reverse("client_form"))
    walk.check("form", form)
    submission = re.search(r'name="submission_id" value="([^"]+)"', form.content.decode())[1]
    answers = _answers_for(link)
    data = {**answers, "submission_id": submission}
    first_item = next(iter(answers))
    missing = phone.post_form(reverse("client_form"), {**data, first_item: ""})
    walk.check("form with a missing answer", missing)
    with mock.patch(
        "rri_forms.services.recording.Score.objects.bulk_create",
        side_effect=OperationalError("database went away"),
    ):
        walk.check("form after a failed save", phone.post_form(reverse("client_form"), data))
    walk.check("csrf failure", phone.post(reverse("client_form"), data))
    walk.check("saved", phone.post_form(reverse("client_form"), data, follow=True))
    walk.check("used link", CsrfClient().get(reverse("client_link", args=[token])))
    walk.check("unknown link", CsrfClient().get(reverse("client_link", args=["nope"])))
    walk.check("client 404", CsrfClient().get(reverse("client_start") + "nothing/"))
    assert walk.pages >= 9
    walk.assert_clean()


def test_sign_in_two_factor_lockout_and_error_pages_have_no_inline_code(personas, walk):
    http = CsrfClient()
    http.post_form(reverse("login"), {"username": "supervisor_a", "password": PASSWORD})
    walk.check("2fa setup", http.get(reverse("two_factor_setup")))
    device = TOTPDevice.objects.get(user=personas.supervisor_a.user)
    code = totp(device.bin_key, device.step, device.t0, device.digits, device.drift)
    codes_page = http.post_form(reverse("two_factor_setup"), {"code": f"{code:06d}"})
    assert codes_page.status_code == 200
    walk.check("2fa recovery codes", codes_page)

    again = CsrfClient()
    again.post_form(reverse("login"), {"username": "supervisor_a", "password": PASSWORD})
    walk.check("2fa verify", again.get(reverse("two_factor_verify")))

    locked = CsrfClient()
    for _ in range(5):
        response = locked.post_form(reverse("login"), {"username": "x", "password": "y"})
    assert response.status_code == 429
    walk.check("lockout", response)

    staff = CsrfClient()
    staff.force_login(personas.therapist_a1.user)
    walk.check("403", staff.get(reverse("team")))
    walk.check("staff csrf failure", staff.post(reverse("link_new", args=[personas.session_a1.pk])))
    walk.check("400", CsrfClient().get(reverse("login"), HTTP_HOST="evil.example"))
    # Rendered directly (the middleware adds headers; tests/security/test_faults.py).
    for path in ("/caseload/", reverse("client_start")):
        request = RequestFactory().get(path)
        walk.check(f"500 {path}", errors.server_error(request), headers=False)
        walk.check(f"503 {path}", errors.service_unavailable(request), headers=False)
    assert walk.pages == 11
    walk.assert_clean()


@pytest.mark.parametrize(
    ("html", "expected"),
    [
        ("<script>alert(1)</script>", "inline <script>"),
        ('<div style="color:red">', "style= attribute"),
        ('<button onclick="go()">', "onclick= handler"),
        ('<a href=" JavaScript:go()">', "javascript: URL"),
        ("<style>p{}</style>", "inline <style>"),
        ('<script src="/static/vendor/plotly/plotly.min.js"></script>', "plotly.min.js without"),
    ],
)
def test_the_finder_catches_inline_code(html, expected):
    problems, _links = inline_code(html)
    assert len(problems) == 1 and problems[0].startswith(expected), problems


def test_the_finder_allows_what_the_policy_allows():
    html = (
        '<script id="d" type="application/json">{"a": 1}</script><script src="/s.js"></script>'
        '<link rel="stylesheet" id="plotly.js-style-global" class="no-inline-styles" href="/p.css">'
        '<script src="/static/vendor/plotly/plotly.min.js"></script><svg><path d="M0"/></svg>'
    )
    assert inline_code(html) == ([], [])
