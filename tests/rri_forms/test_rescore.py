"""`manage.py rescore`: stored scores checked against the answers, and repaired on request."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command
from django.db.models import F

from rri_forms.models import Administration, Instrument, Score
from tests.factories import make_administration

pytestmark = pytest.mark.django_db


def _rescore(*args: str) -> str:
    out = io.StringIO()
    call_command("rescore", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def forms(personas) -> dict[str, Administration]:
    """A few completed forms across dyads and instruments (one PHQ-9 with its risk item)."""
    made = {}
    plans = [
        ("RRI-C", personas.session_a1, 4),
        ("SESSION-CHECK", personas.session_a1, 3),
        ("PHQ-9", personas.session_a1, 2),
        ("RRI-T", personas.session_a2, 5),
        ("GAD-7", personas.session_b1, 1),
    ]
    for code, session, value in plans:
        instrument = Instrument.objects.get(code=code, is_current=True)
        answers = {item.number: value for item in instrument.spec.items}
        if code == "RRI-C":
            answers[2] = 2  # a reverse-keyed item
            answers[5] = None  # one skipped
        made[code] = make_administration(session, instrument, answers)
    return made


def test_clean_data_passes(forms):
    out = _rescore()
    assert "Checked 5 administration(s): 0 mismatch(es)." in out
    # Small chunks give the same answer.
    assert "Checked 5 administration(s): 0 mismatch(es)." in _rescore("--chunk-size", "2")


def test_rounding_noise_is_tolerated(forms):
    Score.objects.filter(administration=forms["RRI-C"], scale="total").update(
        value=F("value") + 1e-12
    )
    assert "0 mismatch(es)" in _rescore()


def test_tampered_score_is_reported_and_fixed(forms):
    rri = forms["RRI-C"]
    total = Score.objects.get(administration=rri, scale="total")
    Score.objects.filter(pk=total.pk).update(value=F("value") + 0.5)
    phq = forms["PHQ-9"]
    Score.objects.filter(administration=phq, scale="total").update(band="Minimal")
    Administration.objects.filter(pk=phq.pk).update(risk_flag=False)

    out = io.StringIO()
    with pytest.raises(CommandError, match="3 mismatch"):
        call_command("rescore", "--chunk-size", "1", stdout=out)
    text = out.getvalue()
    assert (
        f"administration {rri.pk} · total: stored {total.value + 0.5!r}, recomputed {total.value!r}"
    ) in text
    assert (
        f"administration {phq.pk} · total band: stored 'Minimal', recomputed 'Moderately severe'"
    ) in text
    assert f"administration {phq.pk} · risk_flag: stored False, recomputed True" in text

    fixed = _rescore("--fix")
    assert "fixed" in fixed
    assert Score.objects.get(pk=total.pk).value == pytest.approx(total.value, abs=1e-12)
    assert Score.objects.get(administration=phq, scale="total").band == "Moderately severe"
    assert Administration.objects.get(pk=phq.pk).risk_flag is True
    assert "0 mismatch(es)" in _rescore()


def test_missing_and_extra_scores_are_reported_and_fixed(forms):
    check = forms["SESSION-CHECK"]
    Score.objects.filter(administration=check, scale="total").delete()
    Score.objects.create(administration=forms["GAD-7"], scale="bogus", value=1.0)
    with pytest.raises(CommandError, match="2 mismatch"):
        _rescore()
    _rescore("--fix")
    assert Score.objects.get(administration=check, scale="total").value == 3.0
    assert not Score.objects.filter(scale="bogus").exists()
    assert "0 mismatch(es)" in _rescore()


def test_empty_database_is_fine(db):
    assert "Checked 0 administration(s): 0 mismatch(es)." in _rescore()
