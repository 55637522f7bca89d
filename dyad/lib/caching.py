"""No browser or proxy keeps a copy of a signed-in page.

A shared clinic computer's browser would otherwise keep a therapist's caseload or a
client's answers in its cache (and in Back/Forward history) after sign-out. Every
response to a signed-in user is marked `no-store`, whatever view made it; static files
(served by WhiteNoise before this middleware) keep their long-lived caching.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.utils.cache import add_never_cache_headers

from dyad.lib.errors import DATABASE_DOWN


class NoStoreWhenSignedInMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        try:
            signed_in = request.user.is_authenticated
        except DATABASE_DOWN:  # the user could not be loaded: assume the worst
            signed_in = True
        if signed_in and "no-store" not in response.get("Cache-Control", ""):
            add_never_cache_headers(response)
        return response
