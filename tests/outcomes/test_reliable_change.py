"""The clinic's stored reliable-change reference data (outcomes.models.ClinicReference)."""

from __future__ import annotations

import dataclasses

import pytest
from django.db import transaction

from clinic.models import TherapySession
from outcomes.analytics import cronbach_alpha, reference_from_instrument
from outcomes.models import ClinicReference
from outcomes.reliable_change import (
    refresh_clinic_references,
    scale_reference,
    source,
    stored_clinic_references,
)
from outcomes.selectors.frames import instrument_specs
from rri_forms.models import Answer, Score
from tests.factories import ClientFactory, DyadFactory
from tests.outcomes.conftest import add_sessions, rate
from tests.rri_forms.test_instrument_scoring import SPECS

pytestmark = pytest.mark.django_db


def _direct(clinic, code: str) -> tuple[list[float], float | None]:
    """The reference data computed straight from the stored rows (every form: the sample of
    2,000 newest is the whole clinic here)."""
    firsts = sorted(
        float(v)
        for v in Score.objects.filter(
            administration__dyad__clinic=clinic,
            administration__instrument_code=code,
            administration__session__number=1,
            scale="total",
        ).values_list("value", flat=True)
    )
    spec = instrument_specs()[code]
    items = spec.scale("total").items
    rows: dict[int, dict[int, int]] = {}
    for adm, item, value in Answer.objects.filter(
        administration__dyad__clinic=clinic,
        administration__instrument_code=code,
        item_number__in=items,
    ).values_list("administration_id", "item_number", "value"):
        it = spec.item(item)
        keyed = it.response_scale.min + it.response_scale.max - value if it.reverse else value
        rows.setdefault(adm, {})[item] = keyed
    import pandas as pd

    return firsts, cronbach_alpha(pd.DataFrame.from_dict(rows, orient="index"))


def test_refresh_stores_what_the_data_gives(clinic_history):
    clinic = clinic_history.clinic_a
    stored = refresh_clinic_references(clinic.pk)
    assert {"RRI-C", "RRI-T", "SESSION-CHECK"} <= set(stored)
    assert "PHQ-9" not in stored  # published reference values: no clinic data needed
    for code in ("RRI-C", "RRI-T", "SESSION-CHECK"):
        firsts, alpha = _direct(clinic, code)
        row = ClinicReference.objects.get(clinic=clinic, instrument_code=code, scale="total")
        assert sorted(row.first_session_scores) == firsts and len(firsts) == 30
        assert row.alpha == pytest.approx(alpha, abs=1e-12)
        assert not row.stale


def test_pages_read_the_stored_value_in_one_query(clinic_history, django_assert_num_queries):
    clinic = clinic_history.clinic_a
    refresh_clinic_references(clinic.pk)
    with django_assert_num_queries(1):
        got = stored_clinic_references(clinic, ["RRI-C", "RRI-T", "SESSION-CHECK"])
    assert sorted(got["RRI-C"].first_session_scores) == _direct(clinic, "RRI-C")[0]


def test_a_save_marks_stale_and_the_next_read_refreshes(clinic_history):
    p = clinic_history
    refresh_clinic_references(p.clinic_a.pk)
    dyad = DyadFactory(therapist=p.therapist_a1, client=ClientFactory(clinic=p.clinic_a))
    add_sessions(dyad, [(5, 5, 5)])  # a first session: a new first-session score
    rows = ClinicReference.objects.filter(clinic=p.clinic_a, instrument_code__in=["RRI-C", "RRI-T"])
    assert all(r.stale for r in rows)
    # Another clinic's references are left alone.
    refresh_clinic_references(p.clinic_b.pk)
    other = DyadFactory(therapist=p.therapist_a1, client=ClientFactory(clinic=p.clinic_a))
    add_sessions(other, [(2, 2, 2)])
    assert not ClinicReference.objects.filter(clinic=p.clinic_b, stale=True).exists()

    got = stored_clinic_references(p.clinic_a, ["RRI-C"])["RRI-C"]
    firsts, alpha = _direct(p.clinic_a, "RRI-C")
    assert sorted(got.first_session_scores) == firsts and 5.0 in firsts and len(firsts) == 32
    assert got.alpha == pytest.approx(alpha, abs=1e-12)
    assert not ClinicReference.objects.get(
        clinic=p.clinic_a, instrument_code="RRI-C", scale="total"
    ).stale


def test_a_rolled_back_save_marks_nothing(clinic_history):
    p = clinic_history
    refresh_clinic_references(p.clinic_a.pk)
    dyad = DyadFactory(therapist=p.therapist_a1, client=ClientFactory(clinic=p.clinic_a))
    session = TherapySession.objects.create(dyad=dyad, number=1, date=dyad.started_on)
    with pytest.raises(RuntimeError), transaction.atomic():
        rate(session, "RRI-C", 4)
        assert ClinicReference.objects.get(clinic=p.clinic_a, instrument_code="RRI-C").stale
        raise RuntimeError("the save fails after the forms")
    assert not ClinicReference.objects.filter(clinic=p.clinic_a, stale=True).exists()


def test_a_missing_reference_is_computed_once_on_first_read(
    clinic_history, django_assert_max_num_queries
):
    clinic = clinic_history.clinic_a
    assert not ClinicReference.objects.filter(clinic=clinic, instrument_code="RRI-T").exists()
    first = stored_clinic_references(clinic, ["RRI-T"])["RRI-T"]
    assert sorted(first.first_session_scores) == _direct(clinic, "RRI-T")[0]
    assert ClinicReference.objects.filter(clinic=clinic, instrument_code="RRI-T").exists()
    with django_assert_max_num_queries(1):
        assert stored_clinic_references(clinic, ["RRI-T"])["RRI-T"] == first


def test_the_hourly_job_refreshes_every_clinic(clinic_history):
    from outcomes.tasks import refresh_every_clinic_reference

    clinic = clinic_history.clinic_a
    refresh_clinic_references(clinic.pk)
    ClinicReference.objects.filter(clinic=clinic).update(first_session_scores=[], alpha=None)
    assert refresh_every_clinic_reference(timestamp=0) >= 2  # both persona clinics
    for code in ("RRI-C", "RRI-T", "SESSION-CHECK"):
        firsts, alpha = _direct(clinic, code)
        row = ClinicReference.objects.get(clinic=clinic, instrument_code=code, scale="total")
        assert sorted(row.first_session_scores) == firsts
        assert row.alpha == pytest.approx(alpha)
    refresh_every_clinic_reference(timestamp=0)  # twice: the same rows, none added
    assert ClinicReference.objects.filter(clinic=clinic, instrument_code="RRI-C").count() == 1


def test_a_threshold_comes_from_the_published_value_then_the_formula_then_the_clinic():
    """(Was rri_forms.scoring.reliable_change_threshold, a second copy of this choice.)"""
    assert scale_reference(SPECS["PHQ-9"], None).threshold == 6.0
    assert scale_reference(SPECS["GAD-7"], None).threshold == 4.0
    phq = SPECS["PHQ-9"].scale("total")
    published = dataclasses.replace(
        phq, reliable_change=None, reference_sd=10.0, reference_reliability=0.91
    )
    assert source(published) == "published"
    # Jacobson-Truax: 1.96 * 10 * sqrt(2) * sqrt(1 - .91) = 1.96 * 10 * sqrt(0.18) = 8.3156…
    by_formula = reference_from_instrument(10.0, 0.91, label="x", higher_is_better=False)
    assert by_formula.threshold == pytest.approx(8.31557, abs=1e-5)
    unknown = dataclasses.replace(phq, reliable_change=None, reference_sd=None)
    assert source(unknown) == "clinic"
    assert scale_reference(SPECS["RRI-C"], None).threshold is None
