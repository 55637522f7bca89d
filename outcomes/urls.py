from django.urls import path

from outcomes.views import dashboards, dyad, exports, team

urlpatterns = [
    path("dyads/<int:pk>/", dyad.dyad_detail, name="dyad_detail"),
    path(
        "dyads/<int:pk>/alerts/acknowledge/",
        dyad.alert_acknowledge_view,
        name="alert_acknowledge",
    ),
    path("my/", dashboards.therapist_home, name="therapist_home"),
    path("supervision/", dashboards.supervisor_dashboard, name="supervisor_dashboard"),
    path("analytics/", team.team_analytics, name="team_analytics"),
    path("exports/", exports.exports, name="exports"),
    path("exports/administrations.csv", exports.export_csv_long, name="export_csv_long"),
    path("exports/answers.csv", exports.export_csv_items, name="export_csv_items"),
    path(
        "exports/fhir/responses.json",
        exports.export_fhir_responses,
        name="export_fhir_responses",
    ),
    path(
        "exports/fhir/questionnaires/<str:code>/<str:version>.json",
        exports.export_fhir_questionnaire,
        name="export_fhir_questionnaire",
    ),
]
