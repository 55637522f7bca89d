"""Session lifetime: idle timeout, absolute lifetime, and sessions ended on deactivation.

- Idle (every session, staff and client): a database session expires SESSION_COOKIE_AGE
  after it was last saved. Saving on every request (SESSION_SAVE_EVERY_REQUEST) would cost
  an UPDATE and a COMMIT per page view, so the middleware below marks a session for saving
  only when it was last saved SESSION_REFRESH_SECONDS ago or more (the time is kept in the
  session). A session therefore ends between SESSION_COOKIE_AGE - SESSION_REFRESH_SECONDS
  and SESSION_COOKIE_AGE after the last request: up to a minute early, never late.
- Absolute: the login time is stored in the session at sign-in; after
  SESSION_ABSOLUTE_HOURS the session is ended whatever the activity (ASVS 7.3.2).
- Deactivation: saving a user with is_active=False deletes every database session that
  belongs to them (ASVS 7.4.2), in the same transaction as the deactivation.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import SESSION_KEY, logout
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.signals import user_logged_in
from django.contrib.auth.views import redirect_to_login
from django.contrib.sessions.backends.base import SessionBase
from django.contrib.sessions.models import Session
from django.db.models import Model
from django.db.models.signals import post_save
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _

LOGIN_AT_KEY = "dyad_login_at"
SAVED_AT_KEY = "dyad_saved_at"  # when the session was last saved, i.e. its expiry pushed


@receiver(user_logged_in, dispatch_uid="dyad.lib.session_security.stamp_login_time")
def stamp_login_time(
    sender: type[Model], request: HttpRequest | None, user: AbstractBaseUser, **kwargs: Any
) -> None:
    if request is not None and hasattr(request, "session"):
        now = int(time.time())
        request.session[LOGIN_AT_KEY] = now
        request.session[SAVED_AT_KEY] = now  # login saves the session anyway


def refresh_idle_expiry(session: SessionBase) -> None:
    """Have SessionMiddleware save `session` (so push its expiry SESSION_COOKIE_AGE ahead)
    when it was last saved SESSION_REFRESH_SECONDS ago or more, or is being saved anyway.

    Call after the view, before SessionMiddleware's response phase. An empty session (no
    cookie, an expired or unknown key, or one just flushed by a logout) is left alone:
    marking it would create a session for every anonymous visitor.
    """
    if session.is_empty():
        return
    now = int(time.time())
    saved_at = session.get(SAVED_AT_KEY)
    if (
        session.modified
        or not isinstance(saved_at, int)
        or now - saved_at >= settings.SESSION_REFRESH_SECONDS
        or saved_at > now  # a clock step back: refresh rather than trust the stamp
    ):
        session[SAVED_AT_KEY] = now


class AbsoluteSessionLifetimeMiddleware:
    """End signed-in sessions older than SESSION_ABSOLUTE_HOURS since the password step,
    and keep every session's idle expiry fresh (refresh_idle_expiry, after the view).

    Goes after SessionMiddleware and MessageMiddleware. Looks only at the session, so it
    costs no query of its own; the absolute limit leaves anonymous (client phone) sessions
    alone.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        session = request.session
        if session.get(SESSION_KEY) is not None:
            login_at = session.get(LOGIN_AT_KEY)
            now = int(time.time())
            if not isinstance(login_at, int):
                # A session from before this rule existed: its lifetime starts now.
                session[LOGIN_AT_KEY] = now
            elif now - login_at >= settings.SESSION_ABSOLUTE_HOURS * 3600:
                logout(request)
                messages.info(
                    request,
                    _(
                        "For your clients' safety you are signed out after %(hours)s hours. "
                        "Please sign in again."
                    )
                    % {"hours": settings.SESSION_ABSOLUTE_HOURS},
                )
                return redirect_to_login(request.get_full_path())
        response = self.get_response(request)
        refresh_idle_expiry(request.session)
        return response


def end_sessions_of(user_id: int) -> int:
    """Delete every live database session signed in as this user; returns how many.

    Sessions do not index their user, so live sessions are decoded one by one: with the
    idle timeout there are only as many as people active in the last half hour.
    """
    wanted = str(user_id)
    doomed = []
    live = Session.objects.filter(expire_date__gt=timezone.now())
    for session in live.only("session_key", "session_data").iterator():
        if str(session.get_decoded().get(SESSION_KEY)) == wanted:
            doomed.append(session.session_key)
    if doomed:
        Session.objects.filter(session_key__in=doomed).delete()
    return len(doomed)


@receiver(
    post_save,
    sender=settings.AUTH_USER_MODEL,
    dispatch_uid="dyad.lib.session_security.end_sessions_on_deactivation",
)
def end_sessions_on_deactivation(
    sender: type[Model],
    instance: AbstractBaseUser,
    update_fields: frozenset[str] | None = None,
    **kwargs: Any,
) -> None:
    if kwargs.get("raw"):
        return
    if update_fields is not None and "is_active" not in update_fields:
        return
    if not instance.is_active and instance.pk is not None:
        end_sessions_of(instance.pk)
