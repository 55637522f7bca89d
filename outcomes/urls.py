from django.urls import path

from outcomes import dashboard_views, export_views, team_views, views

urlpatterns = [
    path("dyads/<int:pk>/", views.dyad_detail, name="dyad_detail"),
    path(
        "dyads/<int:pk>/alerts/acknowledge/",
        views.alert_acknowledge_view,
        name="alert_acknowledge",
    ),
    path("my/", dashboard_views.therapist_home, name="therapist_home"),
    path("supervision/", dashboard_views.supervisor_dashboard, name="supervisor_dashboard"),
    path("analytics/", team_views.team_analytics, name="team_analytics"),
    path("exports/", export_views.exports, name="exports"),
    path("exports/administrations.csv", export_views.export_csv_long, name="export_csv_long"),
    path("exports/answers.csv", export_views.export_csv_items, name="export_csv_items"),
    path(
        "exports/fhir/responses.json",
        export_views.export_fhir_responses,
        name="export_fhir_responses",
    ),
    path(
        "exports/fhir/questionnaires/<str:code>/<str:version>.json",
        export_views.export_fhir_questionnaire,
        name="export_fhir_questionnaire",
    ),
]
