"""The raw client-link token's one trip from the issuing POST to the next session page.

The database keeps only the token's hash, and so must the server-side session: the
token travels in a short-lived signed cookie instead (HttpOnly, SameSite=Strict; Secure
with the `__Host-` prefix in production, like the session cookie). The session page reads
it once and deletes it, so a reload or a later visit shows no link.
"""

from __future__ import annotations

from django.conf import settings
from django.core import signing
from django.http import HttpRequest, HttpResponse
from django.urls import reverse

from rri_forms.models import ClientLink
from rri_forms.models.links import hash_token

_SALT = "rri_forms.fresh_link"
#: Seconds the cookie lives: the redirect to the session page follows at once.
MAX_AGE = 60


def cookie_name() -> str:
    return "__Host-freshlink" if settings.SECURE_COOKIES else "freshlink"


def _path(session_pk: int) -> str:
    # A __Host- cookie must have Path=/; without the prefix it reaches only this session.
    return "/" if settings.SECURE_COOKIES else reverse("session_detail", args=[session_pk])


def remember(response: HttpResponse, request: HttpRequest, session_pk: int, token: str) -> None:
    """Hand the token to the next page of this user's session `session_pk` only."""
    value = signing.dumps({"s": session_pk, "u": request.user.pk, "t": token}, salt=_SALT)
    response.set_cookie(
        cookie_name(),
        value,
        max_age=MAX_AGE,
        path=_path(session_pk),
        secure=settings.SECURE_COOKIES,
        httponly=True,
        samesite="Strict",
    )


def read(request: HttpRequest, session_pk: int, link: ClientLink | None) -> str | None:
    """The token handed over for this session's live `link` by this user, if any."""
    raw = request.COOKIES.get(cookie_name())
    if not raw or link is None or not link.is_live:
        return None
    try:
        fresh = signing.loads(raw, salt=_SALT, max_age=MAX_AGE)
    except signing.BadSignature:
        return None
    token = fresh.get("t")
    if (
        fresh.get("s") != session_pk
        or fresh.get("u") != request.user.pk
        or not isinstance(token, str)
        or hash_token(token) != link.token_hash
    ):
        return None
    return token


def forget(request: HttpRequest, response: HttpResponse, session_pk: int) -> None:
    """Delete the cookie once a session page has been shown: the link is shown only once."""
    if request.COOKIES.get(cookie_name()):
        response.delete_cookie(cookie_name(), path=_path(session_pk), samesite="Strict")
