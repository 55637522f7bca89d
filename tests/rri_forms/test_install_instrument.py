"""`manage.py install_instrument`: validate, show the plan item by item, install or refuse."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from rri_forms.models import Administration, Instrument
from tests.factories import make_administration

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "rri_forms" / "instruments" / "rri-c-v1.toml"
ITEM_3 = '''text = "RRI-C item 3 — install the licensed wording"
reverse = false
text_status = "placeholder"'''
ITEM_3_LICENSED = '''text = "Licensed wording of item three (test fixture)"
reverse = false
text_status = "licensed"'''
ITEM_1_KEY = """text = "I had a realistic understanding of my therapist as a person."
reverse = false"""


def _write(tmp_path: Path, text: str, name: str = "rri-c-v1.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, "utf-8")
    return path


def _shipped() -> str:
    return SHIPPED.read_text("utf-8")


def _run(*args: str) -> str:
    out = io.StringIO()
    call_command("install_instrument", *args, stdout=out)
    return out.getvalue()


def _rri_c(version: str = "1") -> Instrument:
    return Instrument.objects.get(code="RRI-C", version=version)


def _complete_a_form(session) -> Administration:  # type: ignore[no-untyped-def]
    return make_administration(session, _rri_c(), value=4)


def test_shipped_instruments_are_installed():
    assert _rri_c().is_current
    assert _rri_c().has_placeholders


def test_wording_change_is_listed_item_by_item_and_installed(tmp_path, personas):
    _complete_a_form(personas.session_a1)  # wording may change under completed forms
    path = _write(tmp_path, _shipped().replace(ITEM_3, ITEM_3_LICENSED))
    out = _run(str(path))
    assert (
        "wording · items · item 3 · text: 'RRI-C item 3 — install the licensed wording' → "
        "'Licensed wording of item three (test fixture)'"
    ) in out
    assert "wording · items · item 3 · text_status: 'placeholder' → 'licensed'" in out
    assert "structure" not in out.replace("structure change(s)", "")
    assert "Updated RRI-C v1: 2 wording change(s), 0 structure change(s)" in out
    assert "20 of 24 items are still placeholders (items 4-12, 14-24)" in out
    instrument = _rri_c()
    assert instrument.spec.item(3).text == "Licensed wording of item three (test fixture)"
    assert instrument.is_current and instrument.has_placeholders
    assert instrument.source_text == path.read_text("utf-8")
    # Installing the same file again changes nothing.
    again = _run(str(path))
    assert "No changes." in again
    assert "nothing written" in again


def test_dry_run_writes_nothing(tmp_path):
    before = _rri_c()
    path = _write(tmp_path, _shipped().replace(ITEM_3, ITEM_3_LICENSED))
    out = _run(str(path), "--dry-run")
    assert "wording · items · item 3 · text:" in out
    assert "Dry run: nothing written." in out
    after = _rri_c()
    assert after.source_text == before.source_text
    assert after.wording_signature == before.wording_signature
    assert after.updated_at == before.updated_at


def test_structure_change_allowed_before_forms_and_refused_after(tmp_path, personas):
    flipped = _write(tmp_path, _shipped().replace(ITEM_1_KEY, ITEM_1_KEY.replace("false", "true")))
    out = _run(str(flipped))
    assert "structure · items · item 1 · reverse: False → True" in out
    assert _rri_c().spec.item(1).reverse is True

    _complete_a_form(personas.session_a1)
    signature = _rri_c().structure_signature
    original = _write(tmp_path, _shipped(), name="original.toml")
    with pytest.raises(CommandError, match="already has 1 completed forms") as excinfo:
        _run(str(original))
    assert "new version number" in str(excinfo.value)
    assert _rri_c().structure_signature == signature
    assert _rri_c().spec.item(1).reverse is True
    # A dry run is refused the same way.
    with pytest.raises(CommandError, match="changes its structure"):
        _run(str(original), "--dry-run")


def test_new_version_becomes_current_and_old_keeps_its_forms(tmp_path, personas):
    old_form = _complete_a_form(personas.session_a1)
    text = _shipped().replace('version = "1"', 'version = "2"', 1)
    text = text.replace(ITEM_1_KEY, ITEM_1_KEY.replace("false", "true"))
    path = _write(tmp_path, text, name="rri-c-v2.toml")
    out = _run(str(path))
    assert "New instrument version RRI-C v2: 24 items." in out
    assert "Installed RRI-C v2 (24 items); it is the current version." in out
    assert "21 of 24 items are still placeholders" in out
    assert _rri_c("2").is_current
    assert not _rri_c("1").is_current
    old_form.refresh_from_db()
    assert old_form.instrument == _rri_c("1")
    assert _rri_c("1").administrations.count() == 1

    # --not-current installs a version without switching new forms to it.
    v3 = _write(tmp_path, text.replace('version = "2"', 'version = "3"', 1), name="v3.toml")
    out = _run(str(v3), "--not-current")
    assert "not current (RRI-C v2 stays current)" in out
    assert not _rri_c("3").is_current
    assert _rri_c("2").is_current


REALISM = "items = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]\n"


@pytest.mark.parametrize(
    ("edit", "problem"),
    [
        (lambda t: t.replace(REALISM, "items = [1, 99]\n"), "lists item 99, which does not exist"),
        (
            lambda t: t.replace('text_status = "public_sample"', 'text_status = "licenced"', 1),
            "'text_status' must be one of",
        ),
        (lambda t: t + "\n[[[broken\n", "not valid TOML"),
    ],
)
def test_broken_file_is_rejected_naming_file_and_problem(tmp_path, edit, problem):
    before = _rri_c().source_text
    path = _write(tmp_path, edit(_shipped()), name="broken.toml")
    with pytest.raises(CommandError) as excinfo:
        _run(str(path))
    message = str(excinfo.value)
    assert str(path) in message
    assert problem in message
    assert _rri_c().source_text == before


def test_missing_file_is_rejected(tmp_path):
    path = tmp_path / "nope.toml"
    with pytest.raises(CommandError, match=re.escape(str(path)) + ".*cannot read the file"):
        _run(str(path))


def test_placeholders_reported(tmp_path):
    out = _run(str(_write(tmp_path, _shipped())))
    assert "No changes." in out
    assert "21 of 24 items are still placeholders (items 3-12, 14-24)" in out

    text = re.sub(
        r'text = "RRI-C item (\d+) — install the licensed wording"\n'
        r'reverse = false\ntext_status = "placeholder"',
        r'text = "Licensed item \1 (test fixture)"\nreverse = false\ntext_status = "licensed"',
        _shipped(),
    )
    text = text.replace('status = "placeholder"', 'status = "licensed"', 1)
    out = _run(str(_write(tmp_path, text, name="licensed.toml")))
    assert "no placeholder items" in out
    assert not _rri_c().has_placeholders


def test_correcting_an_old_versions_wording_keeps_the_current_version(tmp_path, personas):
    v2 = _shipped().replace('version = "1"', 'version = "2"', 1)
    _run(str(_write(tmp_path, v2, name="rri-c-v2.toml")))
    corrected_v1 = _shipped().replace(ITEM_3, ITEM_3_LICENSED)
    out = _run(str(_write(tmp_path, corrected_v1)))
    assert "wording · " in out
    assert "Licensed wording of item three" in _rri_c("1").source_text
    assert _rri_c("2").is_current and not _rri_c("1").is_current
