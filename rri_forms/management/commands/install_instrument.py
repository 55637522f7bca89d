"""Install or update one instrument file (a clinic's licensed wording, or a new version).

    python manage.py install_instrument FILE [--dry-run] [--not-current]

The file is validated first; then the plan is printed line by line (what is new, which item
wording changes, which structure changes). A structure change to a version that already has
completed forms is refused: give the file a new version number instead.
"""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from rri_forms.installation import InstallPlan, install_file, plan_install
from rri_forms.instrument_spec import InstrumentFileError, InstrumentSpec
from rri_forms.models import Instrument


def _ranges(numbers: tuple[int, ...]) -> str:
    """``(3, 4, 5, 7)`` -> ``"3-5, 7"``."""
    parts: list[str] = []
    start = prev = None
    for n in numbers:
        if start is None:
            start = prev = n
        elif n == prev + 1:  # type: ignore[operator]
            prev = n
        else:
            parts.append(str(start) if start == prev else f"{start}-{prev}")
            start = prev = n
    if start is not None:
        parts.append(str(start) if start == prev else f"{start}-{prev}")
    return ", ".join(parts)


def placeholder_text(spec: InstrumentSpec) -> str:
    numbers = spec.placeholder_items
    if not numbers:
        return f"{spec.label}: no placeholder items; every item carries its wording."
    return (
        f"{spec.label}: {len(numbers)} of {len(spec.items)} items are still placeholders "
        f"(items {_ranges(numbers)}); install the licensed wording before giving this form."
    )


class Command(BaseCommand):
    help = (
        "Validate an instrument file, show what installing it changes item by item, and "
        "install it (refused for structure changes once forms have been completed)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="Path of the instrument's TOML file.")
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Validate and show the plan; write nothing.",
        )
        parser.add_argument(
            "--not-current",
            action="store_true",
            help="Install a new version without making it the one new forms use "
            "(correcting an installed version's wording never changes which is current).",
        )

    def handle(self, *args, **options):  # type: ignore[no-untyped-def]
        path = Path(options["file"])
        dry_run: bool = options["dry_run"]
        make_current = not options["not_current"]
        try:
            plan, _text = plan_install(path)
        except InstrumentFileError as exc:
            raise CommandError(f"Invalid instrument file {exc.path}: {exc.problem}") from exc
        spec = plan.spec
        self._print_plan(path, plan)
        if plan.action == "refused":
            raise CommandError(f"Refused, nothing written: {plan.refusal}")
        if dry_run:
            self.stdout.write(placeholder_text(spec))
            self.stdout.write("Dry run: nothing written.")
            return
        if plan.action == "unchanged":
            self.stdout.write(self._unchanged_summary(spec))
            self.stdout.write(placeholder_text(spec))
            return
        try:
            done = install_file(path, make_current=make_current)
        except InstrumentFileError as exc:  # the file changed under us
            raise CommandError(f"Invalid instrument file {exc.path}: {exc.problem}") from exc
        if done.action == "refused":  # forms were completed since the plan was made
            raise CommandError(f"Refused, nothing written: {done.refusal}")
        self.stdout.write(self.style.SUCCESS(self._summary(done)))
        self.stdout.write(placeholder_text(spec))

    def _print_plan(self, path: Path, plan: InstallPlan) -> None:
        spec = plan.spec
        self.stdout.write(f"{path}: {spec.label} ({spec.title}), {spec.rater}-rated {spec.kind}.")
        for line in plan.lines:
            if not line.startswith("Still placeholders"):  # said once, at the end
                self.stdout.write(f"  {line}")

    def _summary(self, plan: InstallPlan) -> str:
        spec = plan.spec
        instrument = Instrument.objects.get(code=spec.code, version=spec.version)
        if instrument.is_current:
            current = "it is the current version"
        else:
            other = Instrument.objects.filter(code=spec.code, is_current=True).first()
            current = "not current" + (f" ({other} stays current)" if other else "")
        if plan.action == "create":
            return f"Installed {spec.label} ({len(spec.items)} items); {current}."
        wording = sum(1 for line in plan.lines if line.startswith("wording"))
        structure = sum(1 for line in plan.lines if line.startswith("structure"))
        return (
            f"Updated {spec.label}: {wording} wording change(s), {structure} structure "
            f"change(s); {current}."
        )

    def _unchanged_summary(self, spec: InstrumentSpec) -> str:
        instrument = Instrument.objects.get(code=spec.code, version=spec.version)
        state = "the current version" if instrument.is_current else "installed but not current"
        return f"{spec.label} is already installed with this content ({state}); nothing written."
