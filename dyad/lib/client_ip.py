"""The client's real IP address, for login lockout (and anything else keyed on it).

Behind N reverse proxies that each append to X-Forwarded-For, the address added by the
outermost trusted proxy is the N-th entry from the right; anything to its left was
written by the client and can be forged. With no proxy configured (TRUSTED_PROXY_COUNT=0,
the default) the header is ignored entirely and REMOTE_ADDR is used.
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest


def client_ip(request: HttpRequest) -> str:
    remote = request.META.get("REMOTE_ADDR", "")
    count = getattr(settings, "TRUSTED_PROXY_COUNT", 0)
    if count <= 0:
        return remote
    hops = [h.strip() for h in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    hops = [h for h in hops if h]
    if len(hops) < count:
        # Fewer hops than proxies: misconfigured or bypassed proxy. Use the peer address
        # rather than trusting anything the client may have written.
        return remote
    return hops[-count]
