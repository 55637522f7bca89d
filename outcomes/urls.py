from django.urls import path

from outcomes import views

urlpatterns = [
    path("dyads/<int:pk>/", views.dyad_detail, name="dyad_detail"),
    path(
        "dyads/<int:pk>/alerts/acknowledge/",
        views.alert_acknowledge_view,
        name="alert_acknowledge",
    ),
]
