"""clinic/scope.py: one scope type and one filter form for every filtered page."""

from __future__ import annotations

import datetime

import pytest

from clinic.scope import DATE_ORDER, DateRangeForm, Scope, ScopeForm

pytestmark = pytest.mark.django_db


def test_form_reads_a_scope(personas):
    p = personas
    form = ScopeForm(
        {"therapist": str(p.therapist_a1.pk), "from": "2025-01-02", "to": "2025-03-04"},
        user=p.supervisor_a.user,
    )
    assert form.is_valid(), form.errors
    scope = form.scope()
    assert scope.therapist == p.therapist_a1 and scope.member == p.supervisor_a
    assert (scope.date_from, scope.date_to) == (
        datetime.date(2025, 1, 2),
        datetime.date(2025, 3, 4),
    )
    assert scope.params() == {
        "therapist": str(p.therapist_a1.pk),
        "from": "2025-01-02",
        "to": "2025-03-04",
    }
    lookups = scope.lookups("administration__")
    assert {k: v for k, v in lookups.items() if k != "administration__dyad__in"} == {
        "administration__dyad__therapist_id": p.therapist_a1.pk,
        "administration__session__date__gte": datetime.date(2025, 1, 2),
        "administration__session__date__lte": datetime.date(2025, 3, 4),
    }
    assert list(scope.dyads()) == [p.dyad_a1]


def test_an_empty_form_is_everything_visible(personas):
    form = ScopeForm({}, user=personas.admin_a.user)
    assert form.is_valid()
    scope = form.scope()
    assert (scope.therapist, scope.date_from, scope.date_to) == (None, None, None)
    assert scope.params() == {} and scope.describe() == "clinic"
    assert scope.cache_key() == f"{personas.clinic_a.pk}:clinic:t-:-:-"
    assert set(scope.lookups()) == {"dyad__in"}


def test_cache_keys_differ_by_view_and_filter(personas):
    p = personas
    admin = Scope.of(p.admin_a.user)
    supervisor = Scope.of(p.supervisor_a.user)
    dated = Scope.of(p.admin_a.user, date_from=datetime.date(2025, 1, 1))
    assert len({admin.cache_key(), supervisor.cache_key(), dated.cache_key()}) == 3
    assert supervisor.describe() == "supervisees"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"therapist": "abc"}, "No therapist with id “abc” is among the therapists you can see"),
        ({"from": "2025-02-30"}, "“From”: Enter the date as YYYY-MM-DD, for example 2025-03-31."),
        ({"to": "20250101"}, "“To”: Enter the date as YYYY-MM-DD"),
        ({"from": "2025-5-1"}, "“From”: Enter the date as YYYY-MM-DD"),
        (
            {"from": "2025-05-01", "to": "2025-01-01"},
            "The start date (2025-05-01) is after the end date (2025-01-01).",
        ),
    ],
)
def test_one_wording_for_every_filter(personas, data, message):
    form = ScopeForm(data, user=personas.admin_a.user)
    assert not form.is_valid()
    assert any(message in text for text in form.messages())


def test_therapists_are_only_those_visible(personas):
    p = personas
    form = ScopeForm({"therapist": str(p.therapist_a2.pk)}, user=p.supervisor_a.user)
    assert not form.is_valid() and form.has_error("therapist", "invalid_choice")
    form = ScopeForm({"therapist": "x1"}, user=p.supervisor_a.user)
    assert not form.is_valid() and form.has_error("therapist", "invalid")
    form = ScopeForm({"therapist": str(p.therapist_b1.pk)}, user=p.admin_a.user)
    assert not form.is_valid() and form.has_error("therapist", "invalid_choice")


def test_date_range_form_may_rename_its_parameters():
    class Renamed(DateRangeForm):
        date_names = ("date_from", "date_to")

    form = Renamed({"date_from": "2025-02-02", "date_to": "2025-02-01"})
    assert not form.is_valid() and form.has_error("__all__", DATE_ORDER)
    assert Renamed({"date_from": "0001-01-01", "date_to": "9999-12-31"}).is_valid()
