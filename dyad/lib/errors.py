"""Error pages: generic wording, no stack traces, no clinical data.

Pages under the client's phone URLs keep the lean client layout and talk about their
answers; staff pages use the staff layout. The 500 and 503 pages are rendered without
the request's context processors, so they work while the database is down.

A staff form whose save loses the database does not get the generic 503 page, which would
throw away what was typed: its view catches the error outside the save's transaction
(which kept nothing), shows SAVE_FAILED and renders the form again through `save_failed`.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable

from django.core.signals import got_request_exception
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse
from django.template import loader
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache

logger = logging.getLogger("dyad.errors")

DATABASE_DOWN = (OperationalError, InterfaceError)
RETRY_AFTER_SECONDS = 30
CLIENT_BASE = "rri_forms/client/base.html"
STAFF_BASE = "base.html"
SAVE_FAILED = _(
    "We could not save just now, so nothing was saved. What you entered is still here: "
    "wait a moment and save again."
)


def is_client_page(request: HttpRequest) -> bool:
    """True for the client's phone pages (link, start, form, saved)."""
    prefixes = (
        reverse("client_link", args=["x"]).removesuffix("x"),  # /f/<token>
        reverse("client_start").removesuffix("start/"),  # /c/...
    )
    return request.path_info.startswith(prefixes)


def _render(
    request: HttpRequest, template: str, status: int, *, with_request: bool = True
) -> HttpResponse:
    client = is_client_page(request)
    context = {
        "base": CLIENT_BASE if client else STAFF_BASE,
        "client": client,
        "posted": request.method == "POST",
        "typed": _typed_values(request) if status == 503 else [],
    }
    body = loader.render_to_string(template, context, request if with_request else None)
    response = HttpResponse(body, status=status)
    response["Cache-Control"] = "no-store"
    return response


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _render(request, "400.html", 400)


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _render(request, "403.html", 403)


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _render(request, "404.html", 404)


_NOT_ECHOED = ("csrfmiddlewaretoken", "password", "token", "otp", "submission")


def _typed_values(request: HttpRequest) -> list[tuple[str, str]]:
    """What a staff member sent, to show back on the 503 page (the form is gone)."""
    if request.method != "POST" or is_client_page(request):
        return []
    return [
        (name, value[:2000])
        for name, value in list(request.POST.items())[:60]
        if isinstance(value, str)  # QueryDict.items() gives [] for a key with no values
        and value.strip()
        and not any(word in name.lower() for word in _NOT_ECHOED)
    ]


def service_unavailable(request: HttpRequest) -> HttpResponse:
    response = _render(request, "503.html", 503, with_request=False)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def save_failed(
    request: HttpRequest, exception: Exception | None, response: HttpResponse
) -> HttpResponse:
    """A form page as rendered; after its save lost the database (`exception`), as a 503
    with Retry-After."""
    if exception is None:
        return response
    _log_database_down(request, exception)
    response.status_code = 503
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def _log_database_down(request: HttpRequest, exception: Exception) -> None:
    first_line = str(exception).splitlines()[0][:200] if str(exception) else ""
    logger.warning(
        "Database unavailable (%s: %s) on %s",
        type(exception).__name__,
        first_line,
        request.path_info,
    )


def server_error(request: HttpRequest) -> HttpResponse:
    # Called while the exception is being handled: a database outage raised outside the
    # view (session or user loading in middleware) still gets the 503 page.
    if isinstance(sys.exc_info()[1], DATABASE_DOWN):
        return service_unavailable(request)
    return _render(request, "500.html", 500, with_request=False)


@never_cache
def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """CSRF_FAILURE_VIEW: nothing was saved; say so, and how to send again.

    Django has already logged the reason (logger django.security.csrf)."""
    return _render(request, "errors/csrf_failure.html", 403)


_DATABASE_DOWN_ATTR = "_dyad_database_down"


def _note_database_down(
    sender: object, request: HttpRequest | None = None, **kwargs: object
) -> None:
    if request is not None and isinstance(sys.exc_info()[1], DATABASE_DOWN):
        setattr(request, _DATABASE_DOWN_ATTR, True)


got_request_exception.connect(_note_database_down, dispatch_uid="dyad-database-down")


class DatabaseUnavailableMiddleware:
    """A view that loses the database answers 503 with Retry-After, not a 500.

    Failures outside views (middleware loading the session or user) reach
    `server_error`, which gives the same page; under DEBUG Django answers those with its
    debug page instead, which shows the request's POST data (a client's answers), so a
    500 after a database failure is replaced by the 503 page in every mode.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if response.status_code == 500 and getattr(request, _DATABASE_DOWN_ATTR, False):
            return service_unavailable(request)
        return response

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, DATABASE_DOWN):
            _log_database_down(request, exception)
            return service_unavailable(request)
        return None
