from django.urls import path

from outcomes import team_views

urlpatterns = [
    path("analytics/", team_views.team_analytics, name="team_analytics"),
]
