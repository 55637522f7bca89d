from django.urls import path

from rri_forms.views import client, settings, staff

urlpatterns = [
    # Staff
    path("dyads/<int:pk>/sessions/new/", staff.session_new, name="session_new"),
    path("sessions/<int:pk>/", staff.session_detail, name="session_detail"),
    path("sessions/<int:pk>/forms/", staff.therapist_forms, name="therapist_forms"),
    path("sessions/<int:pk>/link/new/", staff.link_new, name="link_new"),
    path("sessions/<int:pk>/link/revoke/", staff.link_cancel, name="link_revoke"),
    path("sessions/<int:pk>/link/email/", staff.link_send, name="link_email"),
    path("clinic/forms/", settings.form_settings, name="form_settings"),
    # Client (no account). Short paths: the link is typed or scanned on a phone.
    path("f/<str:token>", client.link_open, name="client_link"),
    path("c/start/", client.client_start, name="client_start"),
    path("c/form/", client.client_form, name="client_form"),
    path("c/saved/", client.client_saved, name="client_saved"),
]
