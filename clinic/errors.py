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
    context = {"base": CLIENT_BASE if client else STAFF_BASE, "client": client}
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


class DatabaseUnavailableMiddleware:
    """A view that loses the database answers 503 with Retry-After, not a 500.

    Failures outside views (middleware loading the session or user) reach
    `server_error`, which gives the same page.
    """

    def __init__(self, get_response):  # type: ignore[no-untyped-def]
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, DATABASE_DOWN):
            _log_database_down(request, exception)
            return service_unavailable(request)
        return None
