"""FHIR R4 JSON: a Questionnaire per installed instrument version, and a Bundle (type
"collection") of QuestionnaireResponses with their stored scores as contained Observations.

Only the resources' plain JSON is built here (no FHIR library at run time); the tests parse
the output with the `fhir.resources` 6.4 models, which are FHIR R4 (4.0.1).

Identity in the output is pseudonymous: a response's subject is `Patient/<client code>` with
the code as an identifier; no names or email addresses are exported. Canonical URLs live
under `FhirNaming.base` (the server's own `/fhir` address by default); they name things, they
are not endpoints.
"""

from __future__ import annotations

import datetime
import json
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.utils import timezone

from clinic.scope import Scope
from outcomes.exports import ORDERING, administrations, instrument_specs_by_id
from rri_forms.instrument_spec import InstrumentSpec
from rri_forms.models import Answer, Score

FHIR_JSON = "application/fhir+json"
CHUNK_SIZE = 1000
_FLUSH_AT = 64 * 1024

_DATA_ABSENT = "http://terminology.hl7.org/CodeSystem/data-absent-reason"
_OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"


def fhir_id(text: str) -> str:
    """A valid FHIR id ([A-Za-z0-9-.]{1,64}) made from `text`."""
    return re.sub(r"[^A-Za-z0-9.-]", "-", text)[:64] or "x"


def _dump(resource: dict[str, Any], indent: int | None = None) -> str:
    return json.dumps(resource, ensure_ascii=False, indent=indent)


@dataclass(frozen=True)
class FhirNaming:
    """Canonical URLs and identifier systems, all under one base URL."""

    base: str

    def questionnaire_url(self, code: str) -> str:
        return f"{self.base}/Questionnaire/{code}"

    def canonical(self, code: str, version: str) -> str:
        return f"{self.questionnaire_url(code)}|{version}"

    @property
    def instrument_system(self) -> str:
        return f"{self.base}/NamingSystem/instrument"

    @property
    def administration_system(self) -> str:
        return f"{self.base}/NamingSystem/administration"

    @property
    def scale_system(self) -> str:
        return f"{self.base}/CodeSystem/scale"

    def client_system(self, clinic_slug: str) -> str:
        return f"{self.base}/NamingSystem/client-code/{clinic_slug}"

    def extension(self, name: str) -> str:
        return f"{self.base}/StructureDefinition/{name}"

    def full_url(self, kind: str, pk: int) -> str:
        """A stable urn:uuid for a Bundle entry (the same administration, the same uuid)."""
        return f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, f'{self.base}/{kind}/{pk}')}"


# --- Questionnaire ------------------------------------------------------------------------


def questionnaire(spec: InstrumentSpec, naming: FhirNaming) -> dict[str, Any]:
    """The Questionnaire for one instrument version: every item a single-choice question."""
    items = []
    for item in spec.items:
        items.append(
            {
                "linkId": str(item.number),
                "text": item.text,
                "type": "choice",
                "required": item.required,
                "answerOption": [
                    {"valueCoding": {"code": str(value), "display": label}}
                    for value, label in item.response_scale.choices()
                ],
            }
        )
    return {
        "resourceType": "Questionnaire",
        "id": fhir_id(f"{spec.code}-v{spec.version}"),
        "url": naming.questionnaire_url(spec.code),
        "identifier": [{"system": naming.instrument_system, "value": spec.code}],
        "version": spec.version,
        "name": re.sub(r"[^A-Za-z0-9_]", "_", spec.code),
        "title": spec.title,
        "status": "active",
        "subjectType": ["Patient"],
        "description": spec.instructions,
        "copyright": spec.notice,
        "item": items,
    }


def questionnaire_json(spec: InstrumentSpec, naming: FhirNaming) -> str:
    return _dump(questionnaire(spec, naming), indent=2)


# --- QuestionnaireResponse ------------------------------------------------------------------

# (pk, dyad_id, session_number) lead every row: the merge key, as in ORDERING.
_KEY_LOOKUPS = ("dyad_id", "session__number")
_ADMIN_FIELDS = (
    "pk",
    *_KEY_LOOKUPS,
    "rater",
    "instrument_code",
    "dyad__clinic__slug",
    "dyad__therapist_id",
    "dyad__client__code",
    "session__date",
    "instrument_id",
    "submitted_at",
)


def _key(row: tuple) -> tuple:
    """The merge key in ORDERING's order: (dyad, session number, administration id)."""
    return (row[1], row[2], row[0])


def _merge(admins: Iterator[tuple], *streams: Iterator[tuple]) -> Iterator[tuple[tuple, list]]:
    """Pair each administration row with its rows from each child stream (all in ORDERING).

    Child rows of administrations that are not in `admins` (written between the queries)
    are skipped; an administration without children gets an empty list.
    """
    pending = [next(stream, None) for stream in streams]
    for admin in admins:
        key = _key(admin)
        found: list[list[tuple]] = []
        for i, stream in enumerate(streams):
            row = pending[i]
            while row is not None and _key(row) < key:
                row = next(stream, None)
            mine = []
            while row is not None and _key(row) == key:
                mine.append(row)
                row = next(stream, None)
            pending[i] = row
            found.append(mine)
        yield admin, found


def _patient(naming: FhirNaming, clinic_slug: str, client_code: str) -> dict[str, Any]:
    return {
        "reference": f"Patient/{fhir_id(client_code)}",
        "type": "Patient",
        "identifier": {"system": naming.client_system(clinic_slug), "value": client_code},
    }


def _score_observation(
    naming: FhirNaming,
    spec: InstrumentSpec | None,
    code: str,
    scale: str,
    value: float | None,
    band: str,
    subject: dict[str, Any],
    authored: str,
) -> dict[str, Any]:
    label = scale
    if spec is not None and any(s.name == scale for s in spec.scales):
        label = spec.scale(scale).label
    observation: dict[str, Any] = {
        "resourceType": "Observation",
        "id": fhir_id(f"score-{scale}"),
        "status": "final",
        "category": [
            {"coding": [{"system": _OBSERVATION_CATEGORY, "code": "survey", "display": "Survey"}]}
        ],
        "code": {
            "coding": [
                {"system": naming.scale_system, "code": f"{code}.{scale}", "display": label}
            ],
            "text": f"{code} {label}",
        },
        "subject": subject,
        "effectiveDateTime": authored,
    }
    if value is None:
        # Too many unanswered items: the score was not computed.
        observation["dataAbsentReason"] = {
            "coding": [{"system": _DATA_ABSENT, "code": "not-performed"}],
            "text": "Too many items unanswered to score",
        }
    else:
        observation["valueQuantity"] = {"value": value}
    if band:
        observation["interpretation"] = [{"text": band}]
    # A contained resource must refer to its container (dom-3): "#" is the container.
    observation["derivedFrom"] = [{"reference": "#"}]
    return observation


def _answer_items(answers: list[tuple], spec: InstrumentSpec | None) -> list[dict[str, Any]]:
    """One item per answer, coded by its value and labelled when the spec knows it."""
    items = []
    for *_, item_number, value in answers:
        coding: dict[str, Any] = {"code": str(value)}
        if spec is not None and spec.has_item(item_number):
            scale = spec.item(item_number).response_scale
            if scale.contains(value):
                coding["display"] = scale.label(value)
        items.append({"linkId": str(item_number), "answer": [{"valueCoding": coding}]})
    return items


def questionnaire_response(
    naming: FhirNaming,
    admin: tuple,
    answers: list[tuple],
    scores: list[tuple],
    spec: InstrumentSpec | None,
) -> dict[str, Any]:
    (
        pk,
        dyad_id,
        session_number,
        rater,
        code,
        clinic_slug,
        therapist_id,
        client_code,
        session_date,
        _instrument_id,
        submitted_at,
    ) = admin
    version = spec.version if spec is not None else ""
    authored = submitted_at.isoformat()
    subject = _patient(naming, clinic_slug, client_code)
    items = _answer_items(answers, spec)
    if rater == "client":
        author = subject
    else:
        author = {"reference": f"Practitioner/{therapist_id}", "type": "Practitioner"}
    resource: dict[str, Any] = {"resourceType": "QuestionnaireResponse", "id": f"adm-{pk}"}
    if scores:
        resource["contained"] = [
            _score_observation(naming, spec, code, scale, value, band, subject, authored)
            for *_, scale, value, band in scores
        ]
    resource.update(
        {
            "extension": [
                {"url": naming.extension("dyad-id"), "valueInteger": dyad_id},
                {"url": naming.extension("session-number"), "valueInteger": session_number},
                {"url": naming.extension("session-date"), "valueDate": session_date.isoformat()},
                {"url": naming.extension("rater"), "valueCode": rater},
            ],
            "identifier": {"system": naming.administration_system, "value": str(pk)},
            "questionnaire": naming.canonical(code, version),
            "status": "completed",
            "subject": subject,
            "authored": authored,
            "author": author,
        }
    )
    if rater == "client":
        resource["source"] = subject
    if items:
        resource["item"] = items
    return resource


def response_entries(scope: Scope, naming: FhirNaming) -> Iterator[dict[str, Any]]:
    """Bundle entries, one per administration in scope. Four queries, whatever the size."""
    specs = instrument_specs_by_id()
    forms = administrations(scope)
    key_prefix = [f"administration__{lookup}" for lookup in _KEY_LOOKUPS]
    child_order = [f"administration__{field}" for field in ORDERING]
    admins = forms.order_by(*ORDERING).values_list(*_ADMIN_FIELDS).iterator(CHUNK_SIZE)
    answers = (
        Answer.objects.filter(administration__in=forms)
        .order_by(*child_order, "item_number")
        .values_list("administration_id", *key_prefix, "item_number", "value")
        .iterator(CHUNK_SIZE)
    )
    scores = (
        Score.objects.filter(administration__in=forms)
        .order_by(*child_order, "scale")
        .values_list("administration_id", *key_prefix, "scale", "value", "band")
        .iterator(CHUNK_SIZE)
    )
    for admin, (admin_answers, admin_scores) in _merge(admins, answers, scores):
        spec = specs.get(admin[9])
        yield {
            "fullUrl": naming.full_url("QuestionnaireResponse", admin[0]),
            "resource": questionnaire_response(naming, admin, admin_answers, admin_scores, spec),
        }


def bundle_chunks(scope: Scope, naming: FhirNaming) -> Iterator[str]:
    """A Bundle of type "collection" as JSON text, streamed entry by entry.

    FHIR JSON forbids empty arrays, so "entry" is only opened once there is one.
    """
    head = {
        "resourceType": "Bundle",
        "id": str(uuid.uuid4()),
        "type": "collection",
        "timestamp": timezone.now().isoformat(),
    }
    parts = [_dump(head)[:-1]]
    size = len(parts[0])
    first = True
    for entry in response_entries(scope, naming):
        text = _dump(entry)
        parts.append((',\n"entry": [\n' if first else ",\n") + text)
        first = False
        size += len(text)
        if size >= _FLUSH_AT:
            yield "".join(parts)
            parts, size = [], 0
    parts.append("}\n" if first else "\n]}\n")
    yield "".join(parts)


def bundle_filename(scope: Scope, today: datetime.date) -> str:
    suffix = f"-dyad-{scope.dyad.pk}" if scope.dyad is not None else ""
    return f"dyad-responses-{scope.member.clinic.slug}{suffix}-{today.isoformat()}.fhir.json"
