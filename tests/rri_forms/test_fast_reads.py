"""The client form's plain-SQL reads (dyad/lib/rows.py) give what the ORM gives."""

from __future__ import annotations

import uuid

import pytest
from django.db import transaction
from django.utils import timezone

from rri_forms.models import ClientLink
from rri_forms.selectors import link_for_form
from rri_forms.services.client_forms import _locked_link
from rri_forms.services.links import link_issue

pytestmark = pytest.mark.django_db


def _fields(link: ClientLink) -> dict[str, object]:
    return {f.attname: getattr(link, f.attname) for f in ClientLink._meta.concrete_fields}


def test_link_for_form_equals_the_orm_row(personas):
    link, _token = link_issue(actor_user=personas.therapist_a1.user, session=personas.session_a1)
    # Every kind of column set: JSON, UUID, datetimes, NULLs and text.
    ClientLink.objects.filter(pk=link.pk).update(
        used_at=timezone.now(), submission_id=uuid.uuid4(), submission_digest="d" * 64
    )
    orm = ClientLink.objects.get(pk=link.pk)
    fast = link_for_form(link.pk)
    assert _fields(fast) == _fields(orm)
    assert isinstance(fast.instrument_ids, list) and fast.instrument_ids == orm.instrument_ids
    assert not fast._state.adding and fast._state.db == "default"
    versions = dict(v.split(":") for v in fast.instrument_versions)
    assert sorted(int(pk) for pk in versions) == sorted(orm.instrument_ids)


def test_unknown_or_malformed_link_ids_read_as_none():
    assert link_for_form(10**9) is None
    assert link_for_form("1") is None  # type: ignore[arg-type]
    assert link_for_form(True) is None  # type: ignore[arg-type]


def test_locked_link_equals_the_orm_row_and_carries_the_dyad(personas):
    link, _token = link_issue(actor_user=personas.therapist_a1.user, session=personas.session_a1)
    with transaction.atomic():
        locked, counts = _locked_link(link.pk, None)
    assert _fields(locked) == _fields(ClientLink.objects.get(pk=link.pk))
    assert locked.session_dyad_id == personas.session_a1.dyad_id
    assert counts == []  # nothing counted without an upsert
    versions = dict(v.split(":") for v in locked.instrument_versions)
    assert sorted(int(pk) for pk in versions) == sorted(link.instrument_ids)
    with transaction.atomic():
        assert _locked_link(10**9, None) == (None, [])
