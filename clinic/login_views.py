"""Sign-in pages with a per-address limit on attempts (against password spraying).

django-axes locks one username from one address after five failures; a sprayer instead
tries one password against many usernames. RATELIMIT_LOGIN_IP counts every sign-in POST
from one address (the staff login and the Django admin's), before the password is checked,
and answers the staff 429 page once it is used up.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponse
from django.urls import reverse

from dyad.lib import ratelimit


def _limited(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    @functools.wraps(view)
    def wrapped(request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
        if request.method == "POST":
            decision = ratelimit.hit("login_ip", ratelimit.client_ip(request))
            if not decision.allowed:
                return ratelimit.ratelimited(
                    request, decision, lean=False, back_url=reverse("login")
                )
        return view(request, *args, **kwargs)

    return wrapped


login = _limited(
    auth_views.LoginView.as_view(
        template_name="clinic/login.html",
        redirect_authenticated_user=True,
        http_method_names=["get", "head", "post"],  # no PUT (a POST to FormView), TRACE
    )
)
admin_login = _limited(admin.site.login)
