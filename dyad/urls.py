"""The project's URLconf: it composes the apps (the one place that knows them all)."""

import os

from django.contrib import admin
from django.urls import include, path

from clinic import login_views

urlpatterns = [
    path("", include("clinic.urls")),
    path("", include("rri_forms.urls")),
    path("", include("outcomes.urls")),
    # Ahead of admin.site.urls: the Django admin's sign-in, with the same per-address limit.
    path("admin/login/", login_views.admin_login),
    path("admin/", admin.site.urls),
]

handler400 = "dyad.lib.errors.bad_request"
handler403 = "dyad.lib.errors.permission_denied"
handler404 = "dyad.lib.errors.page_not_found"
handler500 = "dyad.lib.errors.server_error"

if os.environ.get("DYAD_BENCH") == "1":  # bench/run.py only: the trivial view to compare with
    urlpatterns.append(path("", include("dyad.bench_urls")))
