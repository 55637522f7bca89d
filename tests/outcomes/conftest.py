from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from clinic.models import TherapySession
from rri_forms.selectors import current_instruments
from rri_forms.services.recording import administration_rows, save_rows
from tests.factories import ClientFactory, DyadFactory


def rate(session, code: str, level: int, *, item_values: dict[int, int] | None = None):
    """Store a form whose every item is answered so that its keyed value is `level`."""
    (instrument,) = current_instruments([code])
    answers = {}
    for item in instrument.spec.items:
        value = item_values.get(item.number, level) if item_values else level
        answers[item.number] = (
            item.response_scale.min + item.response_scale.max - value if item.reverse else value
        )
    rows = administration_rows(
        session=session,
        instrument=instrument,
        answers=answers,
        submitted_at=timezone.now(),
        submitted_by=None,
    )
    return save_rows(rows)


def _wobble(level: int, seed: int) -> dict[int, int]:
    """Every third item one point off the level, so items are not perfectly consistent."""
    return {n: max(1, min(5, level + (1 if (n + seed) % 2 else -1))) for n in range(1, 25, 3)}


def add_sessions(
    dyad, levels: list[tuple[int, int, int]], *, noisy: bool = False
) -> list[TherapySession]:
    """levels: per session (RRI-C level, RRI-T level, SESSION-CHECK level)."""
    sessions = []
    for number, (client, therapist, outcome) in enumerate(levels, start=1):
        session = TherapySession.objects.create(
            dyad=dyad, number=number, date=dyad.started_on + datetime.timedelta(days=7 * number)
        )
        rate(session, "RRI-C", client, item_values=_wobble(client, number) if noisy else None)
        rate(session, "RRI-T", therapist, item_values=_wobble(therapist, number) if noisy else None)
        rate(session, "SESSION-CHECK", outcome)
        sessions.append(session)
    return sessions


@pytest.fixture
def clinic_history(personas):
    """Thirty other dyads of clinic A with varied first sessions: the clinic's reference data
    (30 first-session scores per instrument, the minimum for a threshold from clinic data)."""
    for i in range(30):
        dyad = DyadFactory(
            therapist=personas.therapist_a2,
            client=ClientFactory(clinic=personas.clinic_a, code=f"REF-{i}"),
        )
        add_sessions(dyad, [(2 + i % 4, 3 + i % 2, 3), (3, 3, 3)], noisy=True)
    return personas
