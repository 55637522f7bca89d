import os

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from clinic import audit_views, privacy_views, two_factor, views

urlpatterns = [
    path("", views.home, name="home"),
    path(
        "accounts/login/",
        auth_views.LoginView.as_view(
            template_name="clinic/login.html", redirect_authenticated_user=True
        ),
        name="login",
    ),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/2fa/", two_factor.verify, name="two_factor_verify"),
    path("accounts/2fa/setup/", two_factor.setup, name="two_factor_setup"),
    path(
        "accounts/password/",
        auth_views.PasswordChangeView.as_view(template_name="clinic/password_change.html"),
        name="password_change",
    ),
    path(
        "accounts/password/done/",
        auth_views.PasswordChangeDoneView.as_view(template_name="clinic/password_change_done.html"),
        name="password_change_done",
    ),
    path("caseload/", views.caseload, name="caseload"),
    path("team/", views.team, name="team"),
    path("therapists/<int:pk>/", views.therapist_detail, name="therapist_detail"),
    path("clients/new/", views.client_new, name="client_new"),
    path("dyads/<int:pk>/end/", views.dyad_end, name="dyad_end"),
    path("audit/", audit_views.audit_log, name="audit_log"),
    path("clients/<int:pk>/privacy/", privacy_views.client_privacy, name="client_privacy"),
    path(
        "clients/<int:pk>/privacy/export/",
        privacy_views.client_privacy_export,
        name="client_privacy_export",
    ),
    path("clients/<int:pk>/privacy/hold/", privacy_views.client_retention, name="client_retention"),
    path(
        "clients/<int:pk>/privacy/pseudonymise/",
        privacy_views.client_pseudonymise,
        name="client_pseudonymise",
    ),
    path("clients/<int:pk>/privacy/erase/", privacy_views.client_erase, name="client_erase"),
    # The project's URLconf composes the apps (it is the one place that knows them all).
    path("", include("rri_forms.urls")),
    path("", include("outcomes.urls")),
    path("", include("outcomes.urls_dashboards")),
    path("", include("outcomes.urls_team")),
    path("", include("outcomes.urls_exports")),
    path("admin/", admin.site.urls),
]

handler400 = "clinic.errors.bad_request"
handler403 = "clinic.errors.permission_denied"
handler404 = "clinic.errors.page_not_found"
handler500 = "clinic.errors.server_error"

if os.environ.get("DYAD_BENCH") == "1":  # bench/run.py only: the trivial view to compare with
    urlpatterns.append(path("", include("clinic.bench_urls")))
