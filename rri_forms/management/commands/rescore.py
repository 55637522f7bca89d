"""Check every stored score against its answers, re-scored with its own instrument version.

    python manage.py rescore [--fix] [--chunk-size N]

Prints each mismatch (administration id, scale, stored, recomputed) and a total, and exits
non-zero when any is found. ``--fix`` rewrites the mismatching scores, bands and risk flags
in one transaction. Administrations are read in primary-key chunks with their answers and
scores fetched per chunk, so memory stays flat however many forms are stored.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from rri_forms.instrument_spec import InstrumentSpec
from rri_forms.models import Administration, Answer, Instrument, Score
from rri_forms.scoring import score_answers

TOLERANCE = 1e-9


@dataclass
class Fixes:
    """Rows to rewrite, gathered while checking."""

    update: list[Score] = field(default_factory=list)
    create: list[Score] = field(default_factory=list)
    delete: list[int] = field(default_factory=list)
    risk: dict[int, bool] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.update) + len(self.create) + len(self.delete) + len(self.risk)


def _same(stored: float | None, recomputed: float | None) -> bool:
    if stored is None or recomputed is None:
        return stored is None and recomputed is None
    if math.isnan(stored):
        return False
    return abs(stored - recomputed) <= TOLERANCE


def _show(value: object) -> str:
    return "empty" if value is None else repr(value)


class Command(BaseCommand):
    help = "Re-score every administration from its answers and compare with the stored scores."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--fix", action="store_true", help="Rewrite mismatching scores (one transaction)."
        )
        parser.add_argument(
            "--chunk-size",
            type=int,
            default=2000,
            help="Administrations read per round trip (default 2000).",
        )

    def handle(self, *args, **options):  # type: ignore[no-untyped-def]
        chunk = max(1, options["chunk_size"])
        fix: bool = options["fix"]
        specs = {pk: i.spec for pk, i in Instrument.objects.in_bulk().items()}
        if fix:
            with transaction.atomic():
                checked, mismatches, broken, fixes = self._check(specs, chunk, lock=True)
                self._apply(fixes)
        else:
            checked, mismatches, broken, fixes = self._check(specs, chunk, lock=False)
        summary = (
            f"Checked {checked} administration(s): {mismatches} mismatch(es)"
            f"{f', {broken} could not be re-scored' if broken else ''}."
        )
        if fix and mismatches:
            self.stdout.write(f"Fixed {len(fixes)} row(s) in one transaction.")
            summary = summary[:-1] + " (fixed)."
            if broken:
                raise CommandError(summary + " Answers that cannot be scored need a person.")
            self.stdout.write(self.style.SUCCESS(summary))
            return
        if mismatches or broken:
            raise CommandError(summary + " Run with --fix to rewrite the stored scores.")
        self.stdout.write(self.style.SUCCESS(summary))

    # -- checking ------------------------------------------------------------------------

    def _check(
        self, specs: dict[int, InstrumentSpec], chunk: int, *, lock: bool
    ) -> tuple[int, int, int, Fixes]:
        checked = mismatches = broken = 0
        fixes = Fixes()
        last_pk = 0
        while True:
            heads = Administration.objects.filter(pk__gt=last_pk).order_by("pk")
            if lock:
                heads = heads.select_for_update()
            rows = list(heads.values_list("pk", "instrument_id", "risk_flag")[:chunk])
            if not rows:
                break
            first, last_pk = rows[0][0], rows[-1][0]
            answers: dict[int, dict[int, int]] = defaultdict(dict)
            for adm_id, number, value in Answer.objects.filter(
                administration_id__gte=first, administration_id__lte=last_pk
            ).values_list("administration_id", "item_number", "value"):
                answers[adm_id][number] = value
            scores: dict[int, dict[str, tuple[int, float | None, str]]] = defaultdict(dict)
            for pk, adm_id, scale, value, band in Score.objects.filter(
                administration_id__gte=first, administration_id__lte=last_pk
            ).values_list("pk", "administration_id", "scale", "value", "band"):
                scores[adm_id][scale] = (pk, value, band)
            for adm_id, instrument_id, risk_flag in rows:
                checked += 1
                found, failed = self._compare(
                    adm_id, specs[instrument_id], answers[adm_id], scores[adm_id], risk_flag, fixes
                )
                mismatches += found
                broken += failed
        return checked, mismatches, broken, fixes

    def _compare(
        self,
        adm_id: int,
        spec: InstrumentSpec,
        answers: dict[int, int],
        stored: dict[str, tuple[int, float | None, str]],
        risk_flag: bool,
        fixes: Fixes,
    ) -> tuple[int, int]:
        try:
            result = score_answers(spec, answers)
        except ValueError as exc:
            self.stdout.write(f"administration {adm_id} · cannot re-score: {exc}")
            return 0, 1
        found = 0
        for scale, value in result.scales.items():
            band = result.bands.get(scale, "")
            if scale not in stored:
                self._report(adm_id, scale, "missing", _show(value))
                fixes.create.append(
                    Score(administration_id=adm_id, scale=scale, value=value, band=band)
                )
                found += 1
                continue
            pk, old_value, old_band = stored[scale]
            wrong = False
            if not _same(old_value, value):
                self._report(adm_id, scale, _show(old_value), _show(value))
                wrong = True
            if old_band != band:
                self._report(adm_id, f"{scale} band", _show(old_band), _show(band))
                wrong = True
            if wrong:
                fixes.update.append(Score(pk=pk, value=value, band=band))
                found += 1
        for scale, (pk, old_value, _band) in stored.items():
            if scale not in result.scales:
                self._report(adm_id, scale, _show(old_value), "no such scale")
                fixes.delete.append(pk)
                found += 1
        if risk_flag != result.has_risk:
            self._report(adm_id, "risk_flag", _show(risk_flag), _show(result.has_risk))
            fixes.risk[adm_id] = result.has_risk
            found += 1
        return found, 0

    def _report(self, adm_id: int, scale: str, stored: str, recomputed: str) -> None:
        self.stdout.write(
            f"administration {adm_id} · {scale}: stored {stored}, recomputed {recomputed}"
        )

    # -- fixing --------------------------------------------------------------------------

    def _apply(self, fixes: Fixes) -> None:
        Score.objects.bulk_update(fixes.update, ["value", "band"], batch_size=1000)
        Score.objects.bulk_create(fixes.create, batch_size=1000)
        if fixes.delete:
            Score.objects.filter(pk__in=fixes.delete).delete()
        for flag in (True, False):
            ids = [adm_id for adm_id, value in fixes.risk.items() if value is flag]
            if ids:
                Administration.objects.filter(pk__in=ids).update(risk_flag=flag)
