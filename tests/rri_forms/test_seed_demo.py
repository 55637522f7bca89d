"""The demo clinic: staff, dyads, sessions, and forms that look like a real caseload."""

from __future__ import annotations

import io
from collections import defaultdict

import numpy as np
import pytest
from django.core.management import CommandError, call_command
from django.db.models import Count
from django.utils import timezone

from clinic.demo import DEMO_PASSWORD, build_demo
from clinic.models import Clinic, Dyad, StaffMember, TherapySession
from rri_forms.demo import add_demo_forms, refresh_statistics
from rri_forms.models import Administration, ClientLink, Instrument, Score
from rri_forms.selectors import form_settings_for

pytestmark = pytest.mark.django_db

THERAPIST_CODES = {"RRI-T", "PROGRESS-T"}
CLIENT_CODES = {"RRI-C", "SESSION-CHECK"}
SYMPTOM_CODES = {"PHQ-9", "GAD-7"}


def test_seed_demo_builds_clinic_with_forms_and_is_idempotent(settings):
    settings.DEBUG = True
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    assert "Demo clinic created" in out.getvalue()
    assert "ruptures" in out.getvalue()
    counts = (Administration.objects.count(), ClientLink.objects.count(), Score.objects.count())
    again = io.StringIO()
    call_command("seed_demo", stdout=again)
    assert "already present" in again.getvalue()
    assert Clinic.objects.count() == 2
    assert (
        Administration.objects.count(),
        ClientLink.objects.count(),
        Score.objects.count(),
    ) == counts

    clinic = Clinic.objects.get(slug="demo")
    roles = list(StaffMember.objects.filter(clinic=clinic).values_list("role", flat=True))
    assert roles.count("admin") == 1
    assert roles.count("supervisor") == 2
    assert roles.count("therapist") == 10
    # Each supervisor oversees enough therapists for the team page's therapist model.
    for supervisor in StaffMember.objects.filter(clinic=clinic, role="supervisor"):
        assert supervisor.supervisions.count() == 5
    dyads = Dyad.objects.filter(clinic=clinic).annotate(n=Count("sessions"))
    assert dyads.count() >= 40
    session_counts = [d.n for d in dyads]
    assert min(session_counts) >= 3 and max(session_counts) <= 25
    therapist = StaffMember.objects.get(user__username="therapist")
    assert therapist.user.check_password(DEMO_PASSWORD)
    # The second clinic has forms too.
    assert Administration.objects.filter(dyad__clinic__slug="harbour").exists()

    # Every stored score agrees with the scoring code.
    rescored = io.StringIO()
    call_command("rescore", stdout=rescored)
    assert "0 mismatch(es)" in rescored.getvalue()


def test_seed_demo_refuses_without_debug(settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="DEBUG off"):
        call_command("seed_demo")
    assert not Clinic.objects.exists()


@pytest.fixture
def seeded():
    main, other = build_demo()
    facts = add_demo_forms(main)
    add_demo_forms(other)
    refresh_statistics()  # as seed_demo does: without statistics a plan can take minutes
    return main, facts


def _forms_by_session(clinic: Clinic) -> dict[int, set[str]]:
    forms: dict[int, set[str]] = defaultdict(set)
    for session_id, code in Administration.objects.filter(dyad__clinic=clinic).values_list(
        "session_id", "instrument_code"
    ):
        forms[session_id].add(code)
    return forms


def test_forms_follow_the_clinic_settings(seeded):
    main, _facts = seeded
    forms = _forms_by_session(main.clinic)
    form_settings = form_settings_for(main.clinic)
    sessions = list(TherapySession.objects.filter(dyad__clinic=main.clinic))
    attended = [s for s in sessions if s.attended]
    assert len(attended) >= 400
    with_client, without_client = [], []
    for session in sessions:
        codes = forms.get(session.pk, set())
        if not session.attended:
            assert not codes, "a no-show session has no forms"
            continue
        assert codes >= THERAPIST_CODES
        client = codes - THERAPIST_CODES
        if not client:
            without_client.append(session)
            continue
        with_client.append(session)
        assert client >= CLIENT_CODES
        if form_settings.symptoms_due(session.number):
            assert client >= SYMPTOM_CODES
        else:
            assert not client & SYMPTOM_CODES, f"symptom measure off cadence: {session}"
    missing_rate = len(without_client) / len(attended)
    assert 0.03 <= missing_rate <= 0.15
    # Forms use the current instrument versions.
    current = set(Instrument.objects.filter(is_current=True).values_list("pk", flat=True))
    used = set(Administration.objects.values_list("instrument_id", flat=True).distinct())
    assert used <= current

    # Every session without client forms has an unused link; old ones have expired.
    links = {link.session_id: link for link in ClientLink.objects.filter(session__in=sessions)}
    assert set(links) == {s.pk for s in without_client}
    now = timezone.now()
    client_ids = {
        code: pk
        for code, pk in Instrument.objects.filter(is_current=True).values_list("code", "pk")
    }
    for session in without_client:
        link = links[session.pk]
        assert link.used_at is None and link.revoked_at is None
        assert link.created_by_id == session.dyad.therapist_id
        assert link.created_at < link.expires_at
        expected = {client_ids[c] for c in form_settings.codes_for("client", session.number)}
        assert set(link.instrument_ids) == expected
        if (now.date() - session.date).days > 4:
            assert link.state == ClientLink.State.EXPIRED
    assert sum(1 for link in links.values() if link.state == ClientLink.State.EXPIRED) >= 10


def _totals(clinic: Clinic) -> dict[str, dict[int, dict[int, float]]]:
    """code -> dyad id -> session number -> total score."""
    series: dict[str, dict[int, dict[int, float]]] = defaultdict(lambda: defaultdict(dict))
    rows = Score.objects.filter(
        scale="total", administration__dyad__clinic=clinic, value__isnull=False
    ).values_list(
        "administration__instrument_code",
        "administration__dyad_id",
        "administration__session__number",
        "value",
    )
    for code, dyad_id, number, value in rows:
        series[code][dyad_id][number] = value
    return series


def test_relationship_and_outcome_look_like_the_literature(seeded):
    main, facts = seeded
    totals = _totals(main.clinic)
    rri_c, check = totals["RRI-C"], totals["SESSION-CHECK"]

    # Within-dyad RR-outcome association near the published r = .38.
    rs = []
    for dyad_id, by_number in rri_c.items():
        numbers = sorted(set(by_number) & set(check[dyad_id]))
        if len(numbers) < 6:
            continue
        x = np.array([by_number[n] for n in numbers])
        y = np.array([check[dyad_id][n] for n in numbers])
        if x.std() == 0 or y.std() == 0:
            continue
        rs.append(np.corrcoef(x, y)[0, 1])
    assert len(rs) >= 25
    assert 0.2 <= float(np.mean(rs)) <= 0.5

    # Therapists differ in the relationships they form.
    therapist_of = dict(Dyad.objects.filter(clinic=main.clinic).values_list("pk", "therapist_id"))
    by_therapist: dict[int, list[float]] = defaultdict(list)
    for dyad_id, by_number in rri_c.items():
        by_therapist[therapist_of[dyad_id]].extend(by_number.values())
    means = [float(np.mean(v)) for v in by_therapist.values()]
    assert len(means) == 10
    assert max(means) - min(means) > 0.4

    # Ruptures: a sharp drop between consecutive sessions in each rupture dyad.
    assert 3 <= len(facts["rupture_dyad_ids"]) <= 4
    for dyad_id in facts["rupture_dyad_ids"]:
        assert TherapySession.objects.filter(dyad_id=dyad_id).count() >= 8
        series = [rri_c[dyad_id][n] for n in sorted(rri_c[dyad_id])]
        drops = [a - b for a, b in zip(series, series[1:], strict=False)]
        assert max(drops) >= 0.8, f"dyad {dyad_id}: {series}"
        rupture = facts["rupture_sessions"][dyad_id]
        assert rri_c[dyad_id][rupture - 1] - rri_c[dyad_id][rupture] >= 0.8
        therapist_view = totals["RRI-T"][dyad_id]
        assert therapist_view[rupture - 1] - therapist_view[rupture] >= 0.5

    # Symptoms start moderate and improve; a couple of dyads answer the risk item.
    phq = totals["PHQ-9"]
    first = [by_number[1] for by_number in phq.values() if 1 in by_number]
    assert 11 <= float(np.mean(first)) <= 16
    late = [v for by_number in phq.values() for n, v in by_number.items() if n >= 12]
    assert float(np.mean(late)) < float(np.mean(first)) - 3
    flagged = set(
        Administration.objects.filter(
            dyad__clinic=main.clinic, instrument_code="PHQ-9", risk_flag=True
        ).values_list("dyad_id", flat=True)
    )
    assert flagged == set(facts["risk_dyad_ids"])
    assert len(flagged) == 2
