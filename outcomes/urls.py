from django.urls import path

from outcomes import views

urlpatterns = [
    path("dyads/<int:pk>/", views.dyad_detail, name="dyad_detail"),
]
