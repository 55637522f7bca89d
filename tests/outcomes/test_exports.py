"""Exports: CSV long and item-level, FHIR R4 Questionnaire and Bundle; scope, filters, audit."""

from __future__ import annotations

import datetime
import io
import json

import pandas as pd
import pytest
from django.urls import reverse
from django.utils import timezone
from fhir.resources.bundle import Bundle
from fhir.resources.observation import Observation
from fhir.resources.questionnaire import Questionnaire
from fhir.resources.questionnaireresponse import QuestionnaireResponse

from clinic.access import dyads_visible_to
from clinic.models import AccessLog, TherapySession
from outcomes.exports.csv_exports import ID_COLUMNS, ITEM_COLUMNS, _chunks
from outcomes.exports.fhir import _merge
from outcomes.selectors.frames import scores_frame
from rri_forms.models import Administration, Answer, Instrument, Score
from rri_forms.selectors import current_instruments
from rri_forms.services.recording import administration_rows, save_rows
from tests.factories import ClientFactory, DyadFactory
from tests.outcomes.conftest import add_sessions, rate

pytestmark = pytest.mark.django_db

EXPORTS = ["export_csv_long", "export_csv_items", "export_fhir_responses"]


@pytest.fixture
def data(personas):
    """Scored forms for a dyad of A1 (supervised), of A2 (not supervised) and of B1."""
    p = personas
    p.x1 = DyadFactory(
        therapist=p.therapist_a1,
        client=ClientFactory(
            clinic=p.clinic_a, code="X1-0001", display_name="Robin", email="robin@example.org"
        ),
    )
    p.x2 = DyadFactory(
        therapist=p.therapist_a2, client=ClientFactory(clinic=p.clinic_a, code="X2-0001")
    )
    p.xb = DyadFactory(
        therapist=p.therapist_b1, client=ClientFactory(clinic=p.clinic_b, code="XB-0001")
    )
    p.x1_sessions = add_sessions(p.x1, [(4, 4, 3), (3, 4, 5), (2, 3, 2)], noisy=True)
    add_sessions(p.x2, [(5, 5, 5), (4, 4, 4)])
    add_sessions(p.xb, [(3, 3, 3)])
    # A sparse RRI-C at a fourth session: too few answers for any score (stored as empty).
    session = TherapySession.objects.create(
        dyad=p.x1, number=4, date=p.x1.started_on + datetime.timedelta(days=28)
    )
    (rri_c,) = current_instruments(["RRI-C"])
    save_rows(
        administration_rows(
            session=session,
            instrument=rri_c,
            answers={1: 4, 2: 2},
            submitted_at=timezone.now(),
            submitted_by=None,
        )
    )
    # PHQ-9 at session 1: a different set of scales.
    rate(p.x1_sessions[0], "PHQ-9", 1)
    return p


def _csv(response) -> pd.DataFrame:
    assert response.status_code == 200, response.content[:500]
    assert response.streaming
    body = b"".join(response.streaming_content).decode()
    return pd.read_csv(io.StringIO(body))


def _get(http, name: str, **params):
    return http.get(reverse(name), params)


def _fhir(response) -> dict:
    assert response.status_code == 200, response.content[:500]
    assert response["Content-Type"].startswith("application/fhir+json")
    body = b"".join(response.streaming_content) if response.streaming else response.content
    return json.loads(body)


# --- CSV long ---------------------------------------------------------------------------


def test_csv_long_equals_the_stored_scores(data, login):
    response = _get(login("admin_a"), "export_csv_long")
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="dyad-administrations-')
    assert response["Cache-Control"] == "no-store"
    frame = _csv(response)

    assert list(frame.columns[: len(ID_COLUMNS)]) == list(ID_COLUMNS)
    scales = list(frame.columns[len(ID_COLUMNS) :])
    assert scales[0] == "total" and {"realism", "genuineness"} <= set(scales)
    clinic_a = Administration.objects.filter(dyad__clinic=data.clinic_a)
    assert len(frame) == clinic_a.count()
    assert set(frame["clinic"]) == {"clinic-a"}

    stored = {
        (s.administration.dyad_id, s.administration.session.number,
         s.administration.instrument_code, s.administration.rater, s.scale): s.value
        for s in Score.objects.filter(administration__in=clinic_a).select_related(
            "administration__session")
    }  # fmt: skip
    seen = 0
    for row in frame.itertuples(index=False):
        for scale in scales:
            key = (row.dyad_id, row.session_number, row.instrument, row.rater, scale)
            value = getattr(row, scale)
            if key in stored and stored[key] is not None:
                assert value == stored[key], key  # exact: floats are written in full
                seen += 1
            else:
                assert pd.isna(value), key  # not this instrument's scale, or not computable
    assert seen == sum(v is not None for v in stored.values())

    sparse = frame[(frame.session_number == 4) & (frame.dyad_id == data.x1.pk)]
    assert len(sparse) == 1 and sparse[scales].isna().all(axis=None)
    assert sparse.iloc[0]["version"] == 1 and sparse.iloc[0]["client_code"] == "X1-0001"


def test_csv_long_equals_scores_frame_for_the_same_scope(data, login):
    frame = _csv(_get(login("supervisor_a"), "export_csv_long"))
    scales = list(frame.columns[len(ID_COLUMNS) :])
    melted = (
        frame.melt(
            id_vars=["dyad_id", "therapist_id", "session_number", "instrument", "rater"],
            value_vars=scales,
            var_name="scale",
            value_name="score",
        )
        .dropna(subset=["score"])
        .sort_values(["dyad_id", "session_number", "instrument", "rater", "scale"])
        .reset_index(drop=True)
    )
    expected = (
        scores_frame(dyad__in=dyads_visible_to(data.supervisor_a.user))
        .drop(columns=["session_date"])
        .sort_values(["dyad_id", "session_number", "instrument", "rater", "scale"])
        .reset_index(drop=True)
    )
    pd.testing.assert_frame_equal(
        melted[list(expected.columns)], expected, check_dtype=False, check_exact=True
    )


def test_csv_columns_are_identifying_and_pseudonymous(data, login):
    frame = _csv(_get(login("therapist_a1"), "export_csv_long", dyad=data.x1.pk))
    row = frame[(frame.session_number == 1) & (frame.instrument == "RRI-C")].iloc[0]
    assert row["therapist_id"] == data.therapist_a1.pk
    assert row["session_date"] == data.x1_sessions[0].date.isoformat()
    assert row["rater"] == "client"
    assert datetime.datetime.fromisoformat(row["submitted_at"]).tzinfo is not None
    body = frame.to_csv()
    assert "Robin" not in body and "robin@example.org" not in body


# --- CSV item-level -----------------------------------------------------------------------


def test_items_csv_flips_reverse_keyed_items(data, login):
    frame = _csv(_get(login("admin_a"), "export_csv_items", dyad=data.x1.pk))
    assert list(frame.columns) == list(ITEM_COLUMNS)
    rri_c = Instrument.objects.get(code="RRI-C", version="1").spec
    assert rri_c.item(2).reverse and not rri_c.item(1).reverse

    first = frame[(frame.session_number == 1) & (frame.instrument == "RRI-C")]
    assert len(first) == 24
    item1 = first[first.item_number == 1].iloc[0]
    item2 = first[first.item_number == 2].iloc[0]
    # Session 1 was rated at level 4 (item 1 one point lower, see conftest._wobble):
    # the reverse-keyed item 2 was answered 2, keyed 4.
    assert (item1["value"], item1["keyed_value"]) == (3, 3)
    assert (item2["value"], item2["keyed_value"]) == (2, 4)

    rri = frame[frame.instrument.isin(["RRI-C", "RRI-T"])]
    reverse = rri.apply(
        lambda r: (
            Instrument.objects.get(code=r.instrument, version=str(r.version))
            .spec.item(r.item_number)
            .reverse
        ),
        axis=1,
    )
    assert (rri[reverse]["keyed_value"] == 6 - rri[reverse]["value"]).all()
    assert (rri[~reverse]["keyed_value"] == rri[~reverse]["value"]).all()
    assert reverse.any()
    # The keyed answers of a scored form reproduce its stored mean.
    realism = first[first.item_number <= 12]["keyed_value"].mean()
    stored = Score.objects.get(
        administration__session=data.x1_sessions[0],
        administration__instrument_code="RRI-C",
        scale="realism",
    )
    assert realism == pytest.approx(stored.value, abs=1e-12)


def test_items_csv_counts_every_stored_answer(data, login):
    frame = _csv(_get(login("admin_a"), "export_csv_items"))
    assert len(frame) == Answer.objects.filter(administration__dyad__clinic=data.clinic_a).count()


# --- Scope and filters ----------------------------------------------------------------------


@pytest.mark.parametrize("export", ["export_csv_long", "export_csv_items"])
def test_supervisor_sees_supervisees_only(data, login, export):
    frame = _csv(_get(login("supervisor_a"), export))
    assert set(frame["dyad_id"]) == {data.x1.pk}
    assert set(frame["therapist_id"]) == {data.therapist_a1.pk}


@pytest.mark.parametrize("export", ["export_csv_long", "export_csv_items"])
def test_therapist_exports_their_own_caseload(data, login, export):
    assert set(_csv(_get(login("therapist_a2"), export))["dyad_id"]) == {data.x2.pk}
    frame = _csv(_get(login("therapist_b1"), export))
    assert set(frame["dyad_id"]) == {data.xb.pk}
    assert set(frame["clinic"]) == {"clinic-b"}
    assert not set(frame["client_code"]) & {"X1-0001", "X2-0001"}


def test_therapist_b1_fhir_bundle_has_nothing_of_clinic_a(data, login):
    text = json.dumps(_fhir(_get(login("therapist_b1"), "export_fhir_responses")))
    assert "XB-0001" in text
    assert "X1-0001" not in text and "X2-0001" not in text and "clinic-a" not in text


@pytest.mark.parametrize("export", EXPORTS)
def test_invisible_dyad_or_therapist_is_404(personas, login, export):
    p = personas
    assert _get(login("admin_a"), export, dyad=p.dyad_b1.pk).status_code == 404
    assert _get(login("admin_a"), export, therapist=p.therapist_b1.pk).status_code == 404
    assert _get(login("supervisor_a"), export, dyad=p.dyad_a2.pk).status_code == 404
    assert _get(login("supervisor_a"), export, therapist=p.therapist_a2.pk).status_code == 404
    assert _get(login("therapist_a2"), export, dyad=p.dyad_a1.pk).status_code == 404
    assert _get(login("therapist_b1"), export, dyad=p.dyad_a1.pk).status_code == 404
    assert _get(login("admin_a"), export, dyad=999999).status_code == 404
    assert AccessLog.objects.count() == 0  # nothing exported, nothing logged
    assert _get(login("supervisor_a"), export, dyad=p.dyad_a1.pk).status_code == 200


def test_filters_narrow_the_export(data, login):
    http = login("admin_a")
    frame = _csv(_get(http, "export_csv_long", therapist=data.therapist_a2.pk))
    assert set(frame["dyad_id"]) == {data.x2.pk}
    frame = _csv(_get(http, "export_csv_long", dyad=data.x1.pk))
    assert set(frame["dyad_id"]) == {data.x1.pk}
    day = data.x1_sessions[1].date.isoformat()
    frame = _csv(_get(http, "export_csv_long", dyad=data.x1.pk, **{"from": day, "to": day}))
    assert set(frame["session_number"]) == {2}
    frame = _csv(_get(http, "export_csv_items", dyad=data.x1.pk, **{"from": day}))
    assert set(frame["session_number"]) == {2, 3, 4}


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"dyad": "abc"}, "&#x27;dyad&#x27; must be a whole number"),
        ({"therapist": "1.5"}, "&#x27;therapist&#x27; must be a whole number"),
        ({"from": "2025-13-01"}, "must be a date written YYYY-MM-DD"),
        ({"to": "yesterday"}, "must be a date written YYYY-MM-DD"),
        ({"from": "20250101"}, "must be a date written YYYY-MM-DD"),
        ({"from": "2025-03-02", "to": "2025-03-01"}, "is after"),
    ],
)
@pytest.mark.parametrize("export", EXPORTS)
def test_bad_filter_is_a_clear_400(personas, login, export, params, message):
    response = _get(login("admin_a"), export, **params)
    assert response.status_code == 400
    body = response.content.decode()
    assert "This export could not be made" in body and message in body
    assert AccessLog.objects.count() == 0


@pytest.mark.parametrize("export", [*EXPORTS, "exports"])
def test_anonymous_is_sent_to_login(personas, login, export):
    response = _get(login("anonymous"), export)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_questionnaire_anonymous_is_sent_to_login(personas, login):
    url = reverse("export_fhir_questionnaire", args=["RRI-C", "1"])
    response = login("anonymous").get(url)
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


# --- Audit -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("export", "kind"),
    [
        ("export_csv_long", "csv-long"),
        ("export_csv_items", "csv-items"),
        ("export_fhir_responses", "fhir-bundle"),
    ],
)
def test_each_export_writes_one_access_log_row(data, login, export, kind):
    response = _get(login("supervisor_a"), export)
    assert response.status_code == 200
    (entry,) = AccessLog.objects.all()
    assert entry.action == AccessLog.Action.EXPORT
    assert entry.staff == data.supervisor_a and entry.clinic == data.clinic_a
    assert entry.detail == f"{kind}: 1 dyads (supervisees)"
    assert entry.client is None

    _get(login("admin_a"), export, dyad=data.x1.pk)
    latest = AccessLog.objects.order_by("-pk").first()
    assert latest.detail == f"{kind}: 1 dyads (clinic, dyad={data.x1.pk})"
    assert latest.client == data.x1.client
    assert (latest.object_type, latest.object_id) == ("dyad", data.x1.pk)
    assert "X1-0001" not in latest.detail


def test_questionnaire_export_is_logged(personas, login):
    login("therapist_a1").get(reverse("export_fhir_questionnaire", args=["PHQ-9", "1"]))
    (entry,) = AccessLog.objects.all()
    assert entry.action == AccessLog.Action.EXPORT
    assert entry.detail == "fhir-questionnaire: PHQ-9 v1"


# --- FHIR --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "code",
    ["RRI-C", "RRI-C-12", "RRI-C-SF", "RRI-T", "PHQ-9", "GAD-7", "SESSION-CHECK", "PROGRESS-T"],
)
def test_questionnaire_per_installed_version_is_valid_r4(personas, login, code):
    instrument = Instrument.objects.get(code=code, is_current=True)
    spec = instrument.spec
    url = reverse("export_fhir_questionnaire", args=[instrument.code, instrument.version])
    raw = _fhir(login("admin_a").get(url))
    q = Questionnaire.parse_obj(raw)
    assert q.status == "active"
    assert q.version == spec.version
    assert q.url == f"http://testserver/fhir/Questionnaire/{spec.code}"
    assert q.identifier[0].value == spec.code
    assert q.copyright == spec.notice
    assert [i.linkId for i in q.item] == [str(i.number) for i in spec.items]
    for fhir_item, item in zip(q.item, spec.items, strict=True):
        assert fhir_item.type == "choice"
        assert [(o.valueCoding.code, o.valueCoding.display) for o in fhir_item.answerOption] == [
            (str(v), label) for v, label in item.response_scale.choices()
        ]


def test_unknown_questionnaire_is_404(personas, login):
    url = reverse("export_fhir_questionnaire", args=["RRI-C", "99"])
    assert login("admin_a").get(url).status_code == 404


def test_bundle_for_one_dyad_is_valid_r4_and_carries_the_scores(data, login):
    raw = _fhir(_get(login("supervisor_a"), "export_fhir_responses", dyad=data.x1.pk))
    bundle = Bundle.parse_obj(raw)
    assert bundle.type == "collection"
    administrations = {
        a.pk: a for a in Administration.objects.filter(dyad=data.x1).select_related("instrument")
    }
    assert len(bundle.entry) == len(administrations)
    assert len({e.fullUrl for e in bundle.entry}) == len(bundle.entry)

    for entry, raw_entry in zip(bundle.entry, raw["entry"], strict=True):
        qr = QuestionnaireResponse.parse_obj(raw_entry["resource"])
        pk = int(qr.identifier.value)
        admin = administrations[pk]
        assert qr.status == "completed"
        assert qr.questionnaire == (
            f"http://testserver/fhir/Questionnaire/{admin.instrument_code}"
            f"|{admin.instrument.version}"
        )
        assert qr.authored == admin.submitted_at
        assert qr.subject.reference == "Patient/X1-0001"
        answers = {a.item_number: a.value for a in admin.answers.all()}
        assert {int(i.linkId): int(i.answer[0].valueCoding.code) for i in qr.item} == answers
        scores = {s.scale: s.value for s in admin.scores.all()}
        observations = {o.code.coding[0].code.split(".")[-1]: o for o in qr.contained or []}
        assert set(observations) == set(scores)
        for observation in raw_entry["resource"].get("contained", []):
            Observation.parse_obj(observation)
        for scale, value in scores.items():
            observation = observations[scale]
            assert observation.status == "final"
            if value is None:
                assert observation.valueQuantity is None
                assert observation.dataAbsentReason.coding[0].code == "not-performed"
            else:
                assert float(observation.valueQuantity.value) == value
        assert entry.resource is not None

    text = json.dumps(raw)
    assert "Robin" not in text and "robin@example.org" not in text


def test_bundle_item_answers_carry_labels(data, login):
    raw = _fhir(_get(login("therapist_a1"), "export_fhir_responses", dyad=data.x1.pk))
    rri_c = Instrument.objects.get(code="RRI-C", version="1").spec
    qr = next(
        e["resource"]
        for e in raw["entry"]
        if e["resource"]["questionnaire"].endswith("/RRI-C|1")
        and e["resource"]["extension"][1]["valueInteger"] == 1
    )
    item2 = next(i for i in qr["item"] if i["linkId"] == "2")
    label = rri_c.item(2).response_scale.label(2)
    assert item2["answer"][0]["valueCoding"] == {"code": "2", "display": label}
    assert qr["author"] == qr["subject"]  # the client rated it
    therapist_qr = next(
        e["resource"] for e in raw["entry"] if e["resource"]["questionnaire"].endswith("/RRI-T|1")
    )
    assert therapist_qr["author"]["reference"] == f"Practitioner/{data.therapist_a1.pk}"


def test_bundle_of_the_whole_scope_and_an_empty_one_are_valid(data, login, personas):
    raw = _fhir(_get(login("admin_a"), "export_fhir_responses"))
    bundle = Bundle.parse_obj(raw)
    assert len(bundle.entry) == Administration.objects.filter(dyad__clinic=data.clinic_a).count()
    empty = _fhir(_get(login("admin_a"), "export_fhir_responses", **{"from": "2999-01-01"}))
    assert "entry" not in empty
    assert Bundle.parse_obj(empty).type == "collection"


# --- Query counts and streaming ---------------------------------------------------------------


def _rate_sessions(dyad, first: int, last: int) -> None:
    for number in range(first, last + 1):
        session = TherapySession.objects.create(
            dyad=dyad, number=number, date=dyad.started_on + datetime.timedelta(days=number)
        )
        rate(session, "RRI-C", 3 + number % 2)


# Each: session, user, TOTP device, staff member, the dyad count and row of the access log; then
# CSV long: the scale names and one server-side cursor; items: the instrument versions and one
# cursor; FHIR: the instrument versions and three cursors merged by administration.
EXPORT_QUERIES = {"export_csv_long": 8, "export_csv_items": 8, "export_fhir_responses": 10}


@pytest.mark.parametrize("export", EXPORTS)
def test_query_count_does_not_grow_with_the_export(
    personas, login, export, django_assert_num_queries
):
    """2 and 20 administrations cost the same, literal number of queries."""
    dyad = DyadFactory(
        therapist=personas.therapist_a1, client=ClientFactory(clinic=personas.clinic_a)
    )
    _rate_sessions(dyad, 1, 2)
    http = login("supervisor_a")
    with django_assert_num_queries(EXPORT_QUERIES[export]):
        response = _get(http, export)
        body = b"".join(response.streaming_content)
    assert body.count(b"RRI-C") >= 2
    _rate_sessions(dyad, 3, 20)
    assert Administration.objects.filter(dyad=dyad).count() == 20
    with django_assert_num_queries(EXPORT_QUERIES[export]):
        response = _get(http, export)
        body = b"".join(response.streaming_content)
    assert response.status_code == 200 and body.count(b"RRI-C") >= 20


def test_merge_pairs_children_by_administration_and_skips_strays():
    admins = iter([(1, 10, 1), (2, 10, 2), (5, 11, 1)])
    answers = iter([(1, 10, 1, "a"), (3, 10, 2, "stray"), (5, 11, 1, "b"), (5, 11, 1, "c")])
    scores = iter([(2, 10, 2, "s"), (9, 12, 1, "late")])
    merged = [(admin[0], [[r[-1] for r in rows] for rows in found]) for admin, found in
              _merge(admins, answers, scores)]  # fmt: skip
    assert merged == [(1, [["a"], []]), (2, [[], ["s"]]), (5, [["b", "c"], []])]


def test_csv_is_written_in_chunks():
    rows = ([i, "x" * 50] for i in range(5000))
    chunks = list(_chunks(["n", "text"], rows))
    assert len(chunks) > 2
    assert "".join(chunks).count("\r\n") == 5001


# --- The page ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("persona", "scope", "nav"),
    [
        ("admin_a", "the whole of Clinic A", True),
        ("supervisor_a", "the dyads of the therapists you supervise", True),
        ("therapist_a1", "your own caseload", False),
    ],
)
def test_exports_page_lists_the_downloads(personas, login, persona, scope, nav):
    response = login(persona).get(reverse("exports"))
    assert response.status_code == 200
    body = response.content.decode()
    assert scope in body
    for name in EXPORTS:
        assert f'href="{reverse(name)}"' in body
    assert reverse("export_fhir_questionnaire", args=["RRI-C", "1"]) in body
    assert (f'class="nav-link" href="{reverse("exports")}"' in body) is nav
    assert AccessLog.objects.count() == 0


def test_supervisor_page_names_only_their_therapists(personas, login):
    body = login("supervisor_a").get(reverse("exports")).content.decode()
    assert personas.therapist_a1.display_name in body
    assert personas.therapist_a2.display_name not in body
