"""Risk alerts outrank every other alert until someone acknowledges them with a note."""

from __future__ import annotations

import re

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse

from outcomes.models import AlertAcknowledgement, AlertAcknowledgementEvent
from outcomes.services.acknowledgements import alert_acknowledge
from tests.outcomes.conftest import rate
from tests.outcomes.test_dashboards import RUPTURE, _row, recent_dyad

pytestmark = pytest.mark.django_db


@pytest.fixture
def old_risk(clinic_history):
    """A1's dyad: a risk answer at session 2 (five weeks ago, before the dashboards' window)
    and a relationship rupture at session 6, a week ago."""
    dyad = recent_dyad(clinic_history.therapist_a1, "A1-RISK")
    rate(dyad.sessions.get(number=2), "PHQ-9", 1, item_values={9: 2})
    return dyad


def _dyad_alert_kinds(body: str) -> list[str]:
    section = body[body.index('id="alerts-h"') :]
    section = section[: section.index("</section>")]
    return re.findall(r'data-kind="([a-z_]+)"', section)


def _acknowledge(http, dyad, note="Called the client; safety plan reviewed.", number=2):
    return http.post_form(
        reverse("alert_acknowledge", args=[dyad.pk]),
        {"session_number": number, "kind": "risk", "note": note},
    )


def test_the_risk_alert_ranks_first_until_acknowledged_on_the_dyad_page(old_risk, login):
    http = login("therapist_a1")
    url = reverse("dyad_detail", args=[old_risk.pk])
    body = http.get(url).content.decode()
    kinds = _dyad_alert_kinds(body)
    assert kinds[0] == "risk" and "relationship_drop" in kinds  # older, yet first
    assert "Risk: act now" in body and "badge-risk" in body

    response = _acknowledge(http, old_risk)
    assert response.status_code == 302
    body = http.get(url).content.decode()
    kinds = _dyad_alert_kinds(body)
    assert kinds[0] != "risk" and kinds[-1] == "risk"  # back in session order: the oldest
    assert "Risk (acknowledged)" in body and "Risk: act now" not in body
    ack = AlertAcknowledgement.objects.get()
    assert ack.acknowledged_by == old_risk.therapist and ack.session.number == 2
    assert f"Acknowledged by {old_risk.therapist.display_name}" in body
    assert "Called the client; safety plan reviewed." in body
    # The audit trail has it, with who did it.
    event = AlertAcknowledgementEvent.objects.get()
    assert event.pgh_label == "insert" and event.pgh_context["staff"] == old_risk.therapist_id


def test_an_old_unacknowledged_risk_alert_heads_the_dashboards(old_risk, clinic_history, login):
    from tests.outcomes.test_dashboards import recent_dyad as make

    newer = make(clinic_history.therapist_a1, "A1-AAAA")  # a newer rupture, sorts first by name
    body = login("supervisor_a").get(reverse("supervisor_dashboard")).content.decode()
    section = body[body.index('id="flagged"') :]
    rows = re.findall(r'<tr data-dyad="(\d+)"', section)
    assert rows[0] == str(old_risk.pk) and str(newer.pk) in rows
    assert "PHQ-9 item 9" in _row(body, "data-dyad", old_risk.pk)
    assert "Risk: act now" in _row(body, "data-dyad", old_risk.pk)

    home = login("therapist_a1").get(reverse("therapist_home") + "?sort=-sessions")
    rows = re.findall(r'<tr data-dyad="(\d+)"', home.content.decode())
    assert rows[0] == str(old_risk.pk)

    # A supervisor may acknowledge; then the old risk alert leaves the window's list.
    assert _acknowledge(login("supervisor_a"), old_risk).status_code == 302
    body = login("supervisor_a").get(reverse("supervisor_dashboard")).content.decode()
    row = _row(body, "data-dyad", old_risk.pk)
    assert RUPTURE in row and "PHQ-9 item 9" not in row


def test_acknowledging_needs_a_note_and_happens_once(old_risk, personas, login):
    http = login("therapist_a1")
    assert _acknowledge(http, old_risk, note="   ").status_code == 302
    assert not AlertAcknowledgement.objects.exists()
    page = http.get(reverse("dyad_detail", args=[old_risk.pk])).content.decode()
    assert "the note cannot be empty" in page
    assert _acknowledge(http, old_risk, number=99).status_code == 302  # no such session
    assert not AlertAcknowledgement.objects.exists()
    assert _acknowledge(http, old_risk).status_code == 302
    with pytest.raises(ValidationError, match="already been acknowledged"):
        alert_acknowledge(
            actor_user=personas.admin_a.user,
            dyad=old_risk,
            session_number=2,
            kind="risk",
            note="again",
        )
    assert AlertAcknowledgement.objects.count() == 1
    # Another therapist cannot see the dyad at all; the service refuses them too.
    assert _acknowledge(login("therapist_a2"), old_risk).status_code == 404
    with pytest.raises(PermissionDenied):
        alert_acknowledge(
            actor_user=personas.therapist_a2.user,
            dyad=old_risk,
            session_number=2,
            kind="deterioration",
            note="x",
        )


def test_the_database_refuses_bad_acknowledgements(old_risk, personas):
    session = old_risk.sessions.get(number=2)

    def violates(name: str, **values) -> None:
        fields = {
            "session": session,
            "kind": "risk",
            "note": "seen",
            "acknowledged_by": personas.therapist_a1,
            **values,
        }
        with pytest.raises(IntegrityError) as info, transaction.atomic():
            AlertAcknowledgement.objects.create(**fields)
        assert info.value.__cause__.diag.constraint_name == name

    violates("alert_ack_by_same_clinic", acknowledged_by=personas.therapist_b1)
    violates("alert_ack_note_given", note=" \n ")
    violates("alert_ack_kind_known", kind="gossip")
    AlertAcknowledgement.objects.create(
        session=session, kind="risk", note="seen", acknowledged_by=personas.therapist_a1
    )
    violates("alert_ack_one_per_session_and_kind")
