"""The clinic domain's pages: sign-in, caseloads, clients, dyads, staff, audit, privacy."""

from django.contrib.auth import views as auth_views
from django.urls import path, reverse_lazy
from django.views.decorators.http import require_http_methods

from clinic import (
    audit_views,
    health_views,
    login_views,
    privacy_views,
    staff_views,
    two_factor,
    views,
)

# Django's form views also take PUT (as a POST) and TRACE; Dyad's pages take neither.
get_post_only = require_http_methods(["GET", "HEAD", "POST"])

urlpatterns = [
    path("", views.home, name="home"),
    path("accounts/login/", login_views.login, name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/2fa/", two_factor.verify, name="two_factor_verify"),
    path("accounts/2fa/setup/", two_factor.setup, name="two_factor_setup"),
    path(
        "accounts/password/",
        get_post_only(
            auth_views.PasswordChangeView.as_view(template_name="clinic/password_change.html")
        ),
        name="password_change",
    ),
    path(
        "accounts/password/done/",
        auth_views.PasswordChangeDoneView.as_view(template_name="clinic/password_change_done.html"),
        name="password_change_done",
    ),
    # Invitations and admin-issued resets: a one-time link from the staff page (no self-service
    # reset by email, so an address typed into a form cannot be probed for accounts).
    path(
        "accounts/set-password/<uidb64>/<token>/",
        get_post_only(
            auth_views.PasswordResetConfirmView.as_view(
                template_name="clinic/password_set.html",
                success_url=reverse_lazy("password_set_done"),
            )
        ),
        name="password_set",
    ),
    path(
        "accounts/set-password/done/",
        auth_views.PasswordResetCompleteView.as_view(template_name="clinic/password_set_done.html"),
        name="password_set_done",
    ),
    path("caseload/", views.caseload, name="caseload"),
    path("team/", views.team, name="team"),
    path("therapists/<int:pk>/", views.therapist_detail, name="therapist_detail"),
    path("clients/new/", views.client_new, name="client_new"),
    path("dyads/<int:pk>/end/", views.dyad_end, name="dyad_end"),
    path("dyads/<int:pk>/transfer/", views.dyad_transfer, name="dyad_transfer"),
    path("clients/<int:pk>/dyads/new/", views.client_dyad_new, name="client_dyad_new"),
    path("clients/<int:pk>/edit/", views.client_edit, name="client_edit"),
    path("staff/", staff_views.staff_list, name="staff_list"),
    path("staff/new/", staff_views.staff_new, name="staff_new"),
    path("staff/<int:pk>/", staff_views.staff_edit, name="staff_edit"),
    path("staff/<int:pk>/supervision/", staff_views.staff_supervision, name="staff_supervision"),
    path("staff/<int:pk>/active/", staff_views.staff_active, name="staff_active"),
    path("staff/<int:pk>/reset-2fa/", staff_views.staff_reset_2fa, name="staff_reset_2fa"),
    path("staff/<int:pk>/invite/", staff_views.staff_invite, name="staff_invite"),
    path("audit/", audit_views.audit_log, name="audit_log"),
    path("health/jobs/", health_views.job_health, name="job_health"),
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
]
