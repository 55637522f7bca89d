"""Property-based tests of the clinical forms: arbitrary text and numbers in every field.

Whatever is posted: never a server error; and whatever is accepted and stored is
complete and in range (the database's constraints hold, re-validation passes, stored
scores equal a fresh re-scoring of the stored answers). The staff, privacy, filter and
sign-in forms are in the other test_fuzz_*.py files; shared pieces in fuzzing.py.
"""

from __future__ import annotations

import datetime
import re
import uuid

import pytest
from django.urls import reverse
from hypothesis import given
from hypothesis import strategies as st

from clinic.forms import ClientDyadForm, EndDyadForm, SessionForm
from clinic.models import Client, Dyad, StaffMember, TherapySession
from clinic.models.care import client_code_validator
from rri_forms.form_input import parse_answers
from rri_forms.models import (
    Administration,
    AdministrationCorrection,
    ClientLink,
    ClinicFormSettings,
    Instrument,
)
from rri_forms.rendering import field_name
from rri_forms.scoring import score_answers
from rri_forms.selectors import current_instruments
from rri_forms.services.links import link_issue
from tests.conftest import CsrfClient
from tests.fuzz.fuzzing import FUZZ, FUZZ_FAST, any_text, any_value, date_or_garbage, rolled_back

pytestmark = pytest.mark.django_db


def assert_sound_administrations(session: TherapySession, rater: str) -> None:
    """Complete, in range, and scored exactly as the scoring code scores the stored answers."""
    for administration in Administration.objects.filter(session=session, rater=rater):
        spec = administration.instrument.spec
        answers = dict(administration.answers.values_list("item_number", "value"))
        required = {item.number for item in spec.items if item.required}
        assert required <= set(answers), administration
        for number, value in answers.items():
            assert spec.item(number).response_scale.contains(value)
        result = score_answers(spec, answers)
        stored = dict(administration.scores.values_list("scale", "value"))
        assert stored.keys() == result.scales.keys()
        for scale, value in result.scales.items():
            if value is None:
                assert stored[scale] is None
            else:
                assert stored[scale] == pytest.approx(value)
        assert administration.risk_flag == result.has_risk
        assert administration.dyad_id == session.dyad_id


# --- clinic.forms: ClientDyadForm, SessionForm, EndDyadForm ---------------------------------


@FUZZ_FAST
@given(data=st.data(), admin=st.booleans())
def test_client_dyad_form_cleans_to_sound_values(personas, data, admin):
    therapists = StaffMember.objects.filter(clinic=personas.clinic_a, role="therapist")
    post = {
        "code": data.draw(any_value),
        "display_name": data.draw(any_value),
        "email": data.draw(st.one_of(st.emails(), any_value)),
        "therapist": data.draw(
            st.one_of(st.sampled_from([str(t.pk) for t in StaffMember.objects.all()]), any_value)
        ),
        "started_on": data.draw(date_or_garbage(datetime.date(2026, 1, 1))),
    }
    form = ClientDyadForm(post, therapists=therapists if admin else None)
    if form.is_valid():
        cleaned = form.cleaned_data
        client_code_validator(cleaned["code"])
        assert len(cleaned["code"]) <= 32 and len(cleaned["display_name"]) <= 60
        assert "\x00" not in cleaned["display_name"] + cleaned["email"]
        assert isinstance(cleaned["started_on"], datetime.date)
        if admin:
            assert cleaned["therapist"] in therapists
        else:
            assert "therapist" not in cleaned


@FUZZ_FAST
@given(number=any_value, date=date_or_garbage(datetime.date(2026, 1, 1)), attendance=any_value)
def test_session_form_cleans_to_sound_values(number, date, attendance):
    form = SessionForm({"number": number, "date": date, "attendance": attendance})
    if form.is_valid():
        assert 1 <= form.cleaned_data["number"] <= 32767
        assert isinstance(form.cleaned_data["date"], datetime.date)
        assert form.cleaned_data["attendance"] in ("attended", "no_show")


@FUZZ_FAST
@given(ended_on=date_or_garbage(datetime.date(2026, 1, 1)))
def test_end_dyad_form_cleans_to_a_date(ended_on):
    form = EndDyadForm({"ended_on": ended_on})
    assert form.is_valid() == isinstance(form.cleaned_data.get("ended_on"), datetime.date)


@FUZZ_FAST
@given(data=st.data())
def test_answer_parser_keeps_only_in_range_answers(personas, data):
    instruments = list(Instrument.objects.filter(is_current=True).order_by("code"))
    chosen = data.draw(st.lists(st.sampled_from(instruments), min_size=1, max_size=3, unique=True))
    post = _answers_post(data, chosen)
    parsed = parse_answers(chosen, post)
    for instrument in chosen:
        spec = instrument.spec
        answers = parsed.answers[instrument.pk]
        for number, value in answers.items():
            assert spec.item(number).response_scale.contains(value)
        required = {item.number for item in spec.items if item.required}
        assert set(parsed.missing[instrument.pk]) == required - set(answers)
        if not parsed.missing[instrument.pk]:
            assert not score_answers(spec, answers).missing


@FUZZ
@given(data=st.data())
def test_client_new_accepts_only_sound_clients(personas, login, data):
    http = login("admin_a")
    therapist_choices = [
        str(personas.therapist_a1.pk),
        str(personas.therapist_a2.pk),
        str(personas.therapist_b1.pk),  # another clinic's
        str(personas.supervisor_a.pk),  # not a therapist
    ]
    today = personas.clinic_a.today()
    post = {
        "code": data.draw(
            st.one_of(any_text, st.from_regex(r"[A-Za-z0-9][A-Za-z0-9-]{0,40}", fullmatch=True))
        ),
        "display_name": data.draw(any_value),
        "email": data.draw(st.one_of(st.emails(), any_text)),
        "therapist": data.draw(st.one_of(st.sampled_from(therapist_choices), any_value)),
        "started_on": data.draw(date_or_garbage(today)),
    }
    with rolled_back():
        before = set(Client.objects.values_list("pk", flat=True))
        response = http.post_form(reverse("client_new"), post)
        assert response.status_code in (200, 302)
        created = Client.objects.exclude(pk__in=before)
        if response.status_code == 200:
            assert not created.exists()
            return
        client = created.get()
        client.full_clean()
        assert client.clinic_id == personas.clinic_a.pk
        assert client.code == post["code"].strip()
        dyad = Dyad.objects.get(client=client)
        dyad.full_clean()
        assert dyad.is_active and dyad.started_on <= today
        assert dyad.therapist.clinic_id == personas.clinic_a.pk and dyad.therapist.is_therapist


@FUZZ
@given(data=st.data())
def test_session_new_accepts_only_sound_sessions(personas, login, data):
    http = login("therapist_a1")
    dyad = personas.dyad_a1
    today = dyad.clinic.today()
    post = {
        "number": data.draw(st.one_of(st.integers(-3, 40).map(str), any_value)),
        "date": data.draw(date_or_garbage(dyad.started_on)),
        "attendance": data.draw(st.one_of(st.sampled_from(["attended", "no_show"]), any_value)),
    }
    with rolled_back():
        before = set(TherapySession.objects.values_list("pk", flat=True))
        response = http.post_form(reverse("session_new", args=[dyad.pk]), post)
        assert response.status_code in (200, 302)
        created = TherapySession.objects.exclude(pk__in=before)
        if response.status_code == 200:
            assert not created.exists()
            return
        session = created.get()
        session.full_clean()
        assert session.dyad_id == dyad.pk and 1 <= session.number <= 32767
        assert dyad.started_on <= session.date <= today
        assert session.attendance in ("attended", "no_show")
        links = ClientLink.objects.filter(session=session)
        assert links.count() == (1 if session.attended else 0)


@FUZZ
@given(data=st.data())
def test_dyad_end_accepts_only_sound_end_dates(personas, login, data):
    http = login("therapist_a1")
    dyad = personas.dyad_a1
    ended_on = data.draw(date_or_garbage(dyad.started_on))
    with rolled_back():
        response = http.post_form(reverse("dyad_end", args=[dyad.pk]), {"ended_on": ended_on})
        assert response.status_code == 302
        dyad.refresh_from_db()
        dyad.full_clean()
        if dyad.status == Dyad.Status.ENDED:
            assert dyad.started_on <= dyad.ended_on <= dyad.clinic.today()
        else:
            assert dyad.ended_on is None
    dyad.refresh_from_db()


# --- The client's questionnaire and the therapist's forms ----------------------------------


def _answer(data, instrument: Instrument, item) -> str | None:  # type: ignore[no-untyped-def]
    scale = item.response_scale
    return data.draw(
        st.one_of(
            st.integers(scale.min, scale.max).map(str),  # valid: most answers
            st.integers(scale.min, scale.max).map(str),
            st.integers(scale.min, scale.max).map(str),
            st.integers(scale.min - 3, scale.max + 3).map(str),
            any_value,
            st.none(),  # not sent at all
        ),
        label=field_name(instrument, item.number),
    )


def _answers_post(data, instruments: list[Instrument]) -> dict[str, str]:  # type: ignore[no-untyped-def]
    post: dict[str, str] = {}
    all_valid = data.draw(st.booleans(), label="all answers valid")
    for instrument in instruments:
        for item in instrument.spec.items:
            if all_valid:
                scale = item.response_scale
                value = str(data.draw(st.integers(scale.min, scale.max)))
            else:
                value = _answer(data, instrument, item)
            if value is not None:
                post[field_name(instrument, item.number)] = value
    extra = data.draw(st.dictionaries(any_text.filter(bool), any_value, max_size=3), label="extra")
    return {**extra, **post}


@FUZZ
@given(data=st.data())
def test_client_questionnaire_stores_only_complete_in_range_forms(personas, data):
    session = personas.session_a1
    with rolled_back():
        link, token = link_issue(actor_user=personas.therapist_a1.user, session=session)
        instruments = [Instrument.objects.get(pk=pk) for pk in link.instrument_ids]
        phone = CsrfClient()
        phone.get(reverse("client_link", args=[token]))
        body = phone.get(reverse("client_form")).content.decode()
        post = _answers_post(data, instruments)
        real_id = re.search(r'name="submission_id" value="([^"]+)"', body)[1]
        post["submission_id"] = data.draw(
            st.one_of(st.just(real_id), st.uuids().map(str), any_value), label="submission_id"
        )
        response = phone.post_form(reverse("client_form"), post)
        assert response.status_code in (200, 302, 400)
        link.refresh_from_db()
        if response.status_code == 302:
            assert link.used_at is not None
            assert uuid.UUID(post["submission_id"]) == link.submission_id
            stored = Administration.objects.filter(session=session, rater="client")
            assert sorted(stored.values_list("instrument_id", flat=True)) == sorted(
                link.instrument_ids
            )
            assert_sound_administrations(session, "client")
        else:
            assert link.used_at is None
            assert not Administration.objects.filter(session=session, rater="client").exists()


@FUZZ
@given(data=st.data())
def test_therapist_forms_store_only_complete_in_range_forms(personas, login, data):
    http = login("therapist_a1")
    session = personas.session_a1
    url = reverse("therapist_forms", args=[session.pk])
    instruments = current_instruments(["RRI-T", "PROGRESS-T"])
    with rolled_back():
        for attempt in range(data.draw(st.integers(1, 2), label="posts")):  # 2: a correction
            response = http.post_form(url, _answers_post(data, instruments))
            assert response.status_code in (200, 302), attempt
            assert_sound_administrations(session, "therapist")
            stored = Administration.objects.filter(session=session, rater="therapist")
            assert stored.count() in (0, len(instruments))
        for correction in AdministrationCorrection.objects.filter(administration__session=session):
            assert correction.corrected_by_id == personas.therapist_a1.pk
            for number, (old, new) in correction.changes.items():
                assert int(number) >= 1 and old != new


# --- The clinic's form settings ---------------------------------------------------------------


@FUZZ
@given(data=st.data())
def test_form_settings_accept_only_sound_settings(personas, login, data):
    http = login("admin_a")
    codes = list(Instrument.objects.filter(is_current=True).values_list("code", flat=True))
    some_codes = st.lists(st.one_of(st.sampled_from(codes), any_text), max_size=4)
    number = st.one_of(st.integers(-5, 800).map(str), any_value)
    post = {
        "client_codes": data.draw(some_codes),
        "symptom_codes": data.draw(some_codes),
        "therapist_codes": data.draw(some_codes),
        "symptom_every": data.draw(number),
        "link_lifetime_hours": data.draw(number),
        "correction_days": data.draw(number),
    }
    with rolled_back():
        response = http.post_form(reverse("form_settings"), post)
        assert response.status_code in (200, 302)
        if response.status_code == 302:
            stored = ClinicFormSettings.objects.get(clinic=personas.clinic_a)
            stored.full_clean()
            raters = dict(Instrument.objects.filter(is_current=True).values_list("code", "rater"))
            assert stored.client_codes and stored.therapist_codes
            assert {raters[c] for c in stored.client_codes + stored.symptom_codes} == {"client"}
            assert {raters[c] for c in stored.therapist_codes} == {"therapist"}
            assert not set(stored.client_codes) & set(stored.symptom_codes)
            assert 1 <= stored.symptom_every <= 52
            assert 1 <= stored.link_lifetime_hours <= 24 * 30
            assert 0 <= stored.correction_days <= 90
