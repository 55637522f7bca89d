from django.urls import path

from outcomes import dashboard_views

urlpatterns = [
    path("my/", dashboard_views.therapist_home, name="therapist_home"),
    path("supervision/", dashboard_views.supervisor_dashboard, name="supervisor_dashboard"),
]
