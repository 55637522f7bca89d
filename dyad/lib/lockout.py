"""The page shown when django-axes locks a username + address out (AXES_LOCKOUT_CALLABLE).

The same page whether or not the username exists, and it never repeats the username.
Every attempt during a lockout restarts the cool-off (axes'
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT, on by default), so "now + cool-off" is
exactly when a new attempt will be accepted.
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone


def lockout_response(
    request: HttpRequest,
    original_response: HttpResponse | None = None,
    credentials: dict | None = None,
) -> HttpResponse:
    cool_off = settings.AXES_COOLOFF_TIME
    minutes = int(cool_off.total_seconds() // 60)
    response = render(
        request,
        "clinic/lockout.html",
        {"retry_at": timezone.now() + cool_off, "minutes": minutes},
        status=429,  # Too Many Requests
    )
    response["Retry-After"] = str(int(cool_off.total_seconds()))
    response["Cache-Control"] = "no-store"
    return response
