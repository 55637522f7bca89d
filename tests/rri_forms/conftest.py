from __future__ import annotations

import pytest

from rri_forms.models import Instrument
from rri_forms.rendering import field_name
from rri_forms.services.links import link_issue


def complete_answers(instruments, value_for=lambda item: item.response_scale.max) -> dict:
    """POST data answering every item of every instrument."""
    data = {}
    for instrument in instruments:
        for item in instrument.spec.items:
            data[field_name(instrument, item.number)] = str(value_for(item))
    return data


@pytest.fixture
def issued_link(personas):
    """A live client link for therapist A1's latest session, and its raw token."""
    link, token = link_issue(actor_user=personas.therapist_a1.user, session=personas.session_a1)
    return link, token


@pytest.fixture
def client_instruments(issued_link):
    link, _ = issued_link
    by_id = Instrument.objects.in_bulk(link.instrument_ids)
    return [by_id[i] for i in link.instrument_ids]
