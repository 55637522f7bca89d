"""Exports: CSV (long and item-level) and FHIR R4 JSON, scoped by `dyads_visible_to`.

Every download is access-checked through `outcomes.exports.parse_scope` and writes one
AccessLog row (action "export") before the first byte is sent.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from clinic import access
from clinic.audit import log_access
from clinic.models import AccessLog
from outcomes.exports import ExportFilterError, ExportScope, parse_scope
from outcomes.exports.csv_exports import csv_items, csv_long
from outcomes.exports.fhir import (
    FHIR_JSON,
    FhirNaming,
    bundle_chunks,
    bundle_filename,
    fhir_id,
    questionnaire_json,
)
from rri_forms.models import Instrument

CSV = "text/csv; charset=utf-8"


def _naming(request: HttpRequest) -> FhirNaming:
    base = getattr(settings, "DYAD_FHIR_BASE", "") or request.build_absolute_uri("/fhir")
    return FhirNaming(base.rstrip("/"))


def _page(request: HttpRequest, *, error: str = "", status: int = 200) -> HttpResponse:
    member = access.require_staff(request.user)
    therapists = list(access.therapists_visible_to(request.user).order_by("display_name"))
    return render(
        request,
        "outcomes/exports.html",
        {
            "member": member,
            "dyad_count": access.dyads_visible_to(request.user).count(),
            "therapists": therapists,
            "instruments": Instrument.objects.order_by("code", "version"),
            "error": error,
            "values": {
                key: request.GET.get(key, "")[:40] for key in ("dyad", "therapist", "from", "to")
            },
        },
        status=status,
    )


@login_required
@require_GET
def exports(request: HttpRequest) -> HttpResponse:
    return _page(request)


def _scope(request: HttpRequest) -> ExportScope | HttpResponse:
    """The user's scope with their filters, or the exports page with a 400 and the reason."""
    try:
        return parse_scope(request.user, request.GET)
    except ExportFilterError as error:
        return _page(request, error=str(error), status=400)


def _log(request: HttpRequest, scope: ExportScope, kind: str) -> None:
    pairs = list(
        scope.administrations().order_by().values_list("dyad_id", "dyad__client_id").distinct()
    )
    log_access(
        request,
        AccessLog.Action.EXPORT,
        client=scope.dyad.client if scope.dyad is not None else None,
        obj=scope.dyad or scope.therapist,
        clients=[client_id for _dyad_id, client_id in pairs],
        detail=f"{kind}: {len(pairs)} dyads ({scope.describe()})",
    )


def _download(response: HttpResponse | StreamingHttpResponse, filename: str) -> None:
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "no-store"


def _filename(scope: ExportScope, kind: str, extension: str) -> str:
    suffix = f"-dyad-{scope.dyad.pk}" if scope.dyad is not None else ""
    today = scope.member.clinic.today().isoformat()
    return f"dyad-{kind}-{scope.member.clinic.slug}{suffix}-{today}.{extension}"


@login_required
@require_GET
def export_csv_long(request: HttpRequest) -> HttpResponse | StreamingHttpResponse:
    scope = _scope(request)
    if isinstance(scope, HttpResponse):
        return scope
    _log(request, scope, "csv-long")
    response = StreamingHttpResponse(csv_long(scope), content_type=CSV)
    _download(response, _filename(scope, "administrations", "csv"))
    return response


@login_required
@require_GET
def export_csv_items(request: HttpRequest) -> HttpResponse | StreamingHttpResponse:
    scope = _scope(request)
    if isinstance(scope, HttpResponse):
        return scope
    _log(request, scope, "csv-items")
    response = StreamingHttpResponse(csv_items(scope), content_type=CSV)
    _download(response, _filename(scope, "answers", "csv"))
    return response


@login_required
@require_GET
def export_fhir_responses(request: HttpRequest) -> HttpResponse | StreamingHttpResponse:
    scope = _scope(request)
    if isinstance(scope, HttpResponse):
        return scope
    _log(request, scope, "fhir-bundle")
    response = StreamingHttpResponse(
        bundle_chunks(scope, _naming(request)), content_type=f"{FHIR_JSON}; charset=utf-8"
    )
    _download(response, bundle_filename(scope, scope.member.clinic.today()))
    return response


@login_required
@require_GET
def export_fhir_questionnaire(request: HttpRequest, code: str, version: str) -> HttpResponse:
    """One installed instrument version as a Questionnaire (no client data, still logged)."""
    access.require_staff(request.user)
    if "\x00" in code + version:  # PostgreSQL text cannot hold NUL: no such instrument
        raise Http404("No such instrument version")
    instrument = Instrument.objects.filter(code=code, version=version).first()
    if instrument is None:
        raise Http404("No such instrument version")
    log_access(
        request,
        AccessLog.Action.EXPORT,
        obj=instrument,
        detail=f"fhir-questionnaire: {instrument.code} v{instrument.version}",
    )
    response = HttpResponse(
        questionnaire_json(instrument.spec, _naming(request)),
        content_type=f"{FHIR_JSON}; charset=utf-8",
    )
    _download(response, f"{fhir_id(f'{instrument.code}-v{instrument.version}')}.fhir.json")
    return response
