"""Installing instrument files into the database (shipped ones and a clinic's licensed ones)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from django.apps import apps as django_apps
from django.db import transaction

from rri_forms.instrument_spec import (
    InstrumentFileError,
    InstrumentSpec,
    diff_specs,
    instrument_files,
    parse_instrument,
)
from rri_forms.models import Administration, Instrument


def shipped_instrument_files() -> list[Path]:
    """Every `instruments/*.toml` of every installed app, like template APP_DIRS."""
    files: list[Path] = []
    for config in django_apps.get_app_configs():
        folder = Path(config.path) / "instruments"
        if folder.is_dir():
            files.extend(instrument_files(folder))
    return files


def install_shipped_instruments(**kwargs: object) -> None:
    """post_migrate: add shipped instrument versions that are not installed yet."""
    installed = set(Instrument.objects.values_list("code", "version"))
    for path in shipped_instrument_files():
        spec = parse_instrument(path)
        if (spec.code, spec.version) in installed:
            continue
        instrument = Instrument(is_current=not Instrument.objects.filter(code=spec.code).exists())
        instrument.apply_spec(spec, source_text=path.read_text("utf-8"), source_name=path.name)
        instrument.save()


@dataclass
class InstallPlan:
    """What installing a file would do, in words, before anything is written."""

    spec: InstrumentSpec
    action: str  # "create", "update", "unchanged" or "refused"
    lines: list[str] = field(default_factory=list)
    refusal: str = ""


def plan_install(path: Path) -> tuple[InstallPlan, str]:
    spec = parse_instrument(path)  # raises InstrumentFileError naming the file
    text = path.read_text("utf-8")
    existing = Instrument.objects.filter(code=spec.code, version=spec.version).first()
    if existing is None:
        lines = [f"New instrument version {spec.code} v{spec.version}: {len(spec.items)} items."]
        if spec.is_placeholder:
            lines.append(f"Still placeholders: items {list(spec.placeholder_items)}.")
        return InstallPlan(spec, "create", lines), text
    diff = diff_specs(existing.spec, spec)
    if not diff.structure_changed and not diff.wording_changed:
        return InstallPlan(spec, "unchanged", ["No changes."]), text
    lines = [f"wording · {line}" for line in diff.wording] + [
        f"structure · {line}" for line in diff.structure
    ]
    answered = Administration.objects.filter(instrument=existing).count()
    if diff.structure_changed and answered:
        return (
            InstallPlan(
                spec,
                "refused",
                lines,
                refusal=(
                    f"{spec.code} v{spec.version} already has {answered} completed forms, and "
                    "this file changes its structure (items, keys, scales or scoring). Give the "
                    "file a new version number; old forms keep the version they were answered on."
                ),
            ),
            text,
        )
    return InstallPlan(spec, "update", lines), text


@transaction.atomic
def install_file(path: Path, *, make_current: bool = True) -> InstallPlan:
    plan, text = plan_install(path)
    if plan.action in {"refused", "unchanged"}:
        return plan
    spec = plan.spec
    instrument = (
        Instrument.objects.select_for_update().filter(code=spec.code, version=spec.version).first()
    ) or Instrument(is_current=False)
    instrument.apply_spec(spec, source_text=text, source_name=path.name)
    # Only a new version can take over; correcting an old version's wording leaves new forms
    # on whichever version is current.
    if make_current and plan.action == "create":
        Instrument.objects.filter(code=spec.code, is_current=True).exclude(pk=instrument.pk).update(
            is_current=False
        )
        instrument.is_current = True
    instrument.save()
    return plan


__all__ = ["InstallPlan", "InstrumentFileError", "install_file", "plan_install"]
