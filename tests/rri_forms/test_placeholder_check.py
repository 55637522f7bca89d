"""System check rri_forms.I001: instruments that still carry placeholder wording."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from django.core.checks import run_checks
from django.core.management import call_command

from rri_forms.models import Instrument

pytestmark = pytest.mark.django_db

SHIPPED = Path(__file__).resolve().parents[2] / "rri_forms" / "instruments"


def _placeholder_message() -> str | None:
    found = [m for m in run_checks(include_deployment_checks=False) if m.id == "rri_forms.I001"]
    return found[0].msg if found else None


def _licensed_copy(text: str) -> str:
    """The shipped file with each placeholder replaced by generic test text (never RRI wording)."""
    text = re.sub(
        r'text = "[A-Z0-9-]+ item (\d+) — install the licensed wording"',
        r'text = "Licensed item \1"',
        text,
    )
    text = text.replace('text_status = "placeholder"', 'text_status = "licensed"')
    return re.sub(r'^status = "placeholder"', 'status = "licensed"', text, count=1, flags=re.M)


def test_check_lists_placeholder_instruments_until_licensed_wording_is_installed(tmp_path):
    message = _placeholder_message()
    placeholders = Instrument.objects.filter(is_current=True, has_placeholders=True)
    assert placeholders.count() == 4
    for instrument in placeholders:
        assert str(instrument) in message

    for source in sorted(SHIPPED.glob("rri-*.toml")):
        licensed = tmp_path / source.name
        licensed.write_text(_licensed_copy(source.read_text("utf-8")), "utf-8")
        call_command("install_instrument", str(licensed), stdout=io.StringIO())
        if source.name == "rri-c-v1.toml":  # licensed now; the others are still listed
            message = _placeholder_message()
            assert "RRI-C v1" not in message and "RRI-T v1" in message

    assert not Instrument.objects.filter(is_current=True, has_placeholders=True).exists()
    assert _placeholder_message() is None
