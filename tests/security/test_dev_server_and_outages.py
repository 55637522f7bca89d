"""What the probe of `make run` (DEBUG) and of production found (issue 15, items 3, 9, 10):
debug pages with a client's answers during an outage, a dev server on every interface,
raw link tokens in the dev server's request log, errors logged twice, a staff POST's
typed values lost to the 503 page."""

from __future__ import annotations

import io
import logging
from unittest import mock

import pytest
from django.core.management import CommandError, call_command
from django.db import OperationalError
from django.db.backends.base.base import BaseDatabaseWrapper
from django.urls import reverse

from rri_forms.services.links import link_issue
from tests.conftest import CsrfClient

pytestmark = pytest.mark.django_db

DB_DOWN = OperationalError("could not connect to server: Connection refused")
MARK = "ROBIN-SAID-SOMETHING-PRIVATE"


def _is_plain_503(response) -> str:  # type: ignore[no-untyped-def]
    body = response.content.decode()
    assert response.status_code == 503
    assert response["Retry-After"] == "30"
    for debug_page in ("Traceback", "Request information", "technical_500", "settings.py"):
        assert debug_page not in body
    return body


@pytest.mark.parametrize("debug", [True, False], ids=["DEBUG", "production"])
def test_an_outage_during_a_client_submit_never_shows_the_debug_page(personas, settings, debug):
    settings.DEBUG = debug
    _link, token = link_issue(actor_user=personas.therapist_a1.user, session=personas.session_a1)
    phone = CsrfClient()
    phone.get(reverse("client_link", args=[token]), follow=True)
    phone.raise_request_exception = False
    with mock.patch.object(BaseDatabaseWrapper, "cursor", side_effect=DB_DOWN):
        response = phone.post_form(reverse("client_form"), {"answer": MARK})
    body = _is_plain_503(response)
    assert MARK not in body
    assert "press the send button again" in body


@pytest.mark.parametrize("debug", [True, False], ids=["DEBUG", "production"])
def test_a_staff_post_losing_the_database_before_the_view_gives_back_what_was_typed(
    personas, login, settings, debug
):
    settings.DEBUG = debug
    http = login("therapist_a1")
    http.raise_request_exception = False
    url = reverse("client_edit", args=[personas.dyad_a1.client_id])
    with mock.patch.object(BaseDatabaseWrapper, "cursor", side_effect=DB_DOWN):
        response = http.post_form(url, {"code": "A1-0001", "display_name": f"Robin {MARK}"})
    body = _is_plain_503(response)
    assert "what you sent was not saved" in body
    assert "Back button" in body
    assert f"Robin {MARK}" in body  # what was typed, to copy back
    assert http.cookies[settings.CSRF_COOKIE_NAME].value not in body


def test_a_staff_get_during_an_outage_keeps_the_plain_503(login):
    http = login("therapist_a1")
    http.raise_request_exception = False
    with mock.patch.object(BaseDatabaseWrapper, "cursor", side_effect=DB_DOWN):
        body = _is_plain_503(http.get(reverse("caseload")))
    assert "nothing from this request was saved" in body


# --- The dev server -------------------------------------------------------------------


@pytest.mark.parametrize("addrport", ["0.0.0.0:8000", "[::]:8000", "192.0.2.7:80", "dyad.lan:80"])
def test_the_dev_server_refuses_other_interfaces_with_debug(settings, monkeypatch, addrport):
    settings.DEBUG = True
    monkeypatch.delenv("DEBUG_ON_NETWORK", raising=False)
    with (
        mock.patch("clinic.management.commands.devserver.call_command") as inner,
        pytest.raises(CommandError, match="DEBUG_ON_NETWORK=true"),
    ):
        call_command("devserver", addrport)
    inner.assert_not_called()  # refused before migrating, seeding or serving


@pytest.mark.parametrize(
    ("addrport", "debug", "asked"),
    [("127.0.0.1:8000", True, ""), ("[::1]:8000", True, ""), ("8000", True, ""),
     ("0.0.0.0:8000", True, "true"), ("0.0.0.0:8000", False, "")],
)  # fmt: skip
def test_the_dev_server_serves_loopback_or_when_asked(
    settings, monkeypatch, addrport, debug, asked
):
    settings.DEBUG = debug
    monkeypatch.setenv("DEBUG_ON_NETWORK", asked) if asked else monkeypatch.delenv(
        "DEBUG_ON_NETWORK", raising=False
    )
    with mock.patch("clinic.management.commands.devserver.call_command") as inner:
        call_command("devserver", addrport, stdout=io.StringIO())
    assert inner.call_args_list[-1].args == ("runserver", addrport)


def _emitted(logger_name: str, *args: object, level: int = logging.INFO) -> list[str]:
    """Every line any handler writes for one record logged on `logger_name`."""
    lines: list[str] = []

    def emit(handler: logging.StreamHandler, record: logging.LogRecord) -> None:
        if not type(handler).__module__.startswith("_pytest"):  # pytest's capture: not ours
            lines.append(handler.format(record))

    with mock.patch.object(logging.StreamHandler, "emit", emit):
        logging.getLogger(logger_name).log(level, *args)
    return lines


def test_the_dev_server_request_log_masks_link_tokens():
    token = "tok3n-Secret_123"
    lines = _emitted("django.server", '"%s" %s %s', f"GET /f/{token} HTTP/1.1", "302", "0")
    assert len(lines) == 1
    assert token not in lines[0] and "/f/[token]" in lines[0]


@pytest.mark.parametrize("debug", [True, False], ids=["DEBUG", "production"])
def test_a_404_and_a_500_are_logged_once(settings, db, debug):
    settings.DEBUG = debug
    for level in (logging.WARNING, logging.ERROR):
        lines = _emitted("django.request", "Not Found: %s", "/nowhere/", level=level)
        assert len(lines) == 1, lines
