from django.urls import path

from outcomes import export_views

urlpatterns = [
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
