"""Instrument definitions: the TOML file format, its validation, and frozen spec objects.

One TOML file describes one version of one instrument (see ``docs/instruments.md``). This
module parses and validates such a file into an :class:`InstrumentSpec`. It imports nothing
from Django so that the format, the shipped files and the scoring rules can be tested without
a database, and so that a management command can validate a clinic's licensed file before it
touches anything.

Every validation failure raises :class:`InstrumentFileError`, whose message names the file and
the exact problem.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import Any, NoReturn

RATERS = ("client", "therapist")
KINDS = ("relationship", "session_outcome", "progress", "symptom")
STATUSES = ("licensed", "placeholder", "verbatim", "project")
TEXT_STATUSES = ("licensed", "public_sample", "placeholder", "verbatim", "project")
METHODS = ("mean", "sum")

#: Every placeholder item text must contain this phrase (and no other text may).
PLACEHOLDER_PHRASE = "install the licensed wording"
#: A measure with ``validated = false`` must say both of these in its title or notice.
PROJECT_PHRASES = ("written by the dyad project", "not a validated instrument")
#: Largest allowed ``max - min`` of a response scale (an 11-point 0-10 scale).
MAX_SCALE_SPAN = 10

_CODE_RE = re.compile(r"^[A-Z][A-Z0-9]*(-[A-Z0-9]+)*$")
_VERSION_RE = re.compile(r"^[0-9A-Za-z][0-9A-Za-z._-]{0,31}$")
_SCALE_NAME_RE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")

_TOP_REQUIRED = (
    "code",
    "version",
    "title",
    "short_title",
    "rater",
    "kind",
    "status",
    "validated",
    "instructions",
    "notice",
    "response_scale",
    "items",
    "scales",
)
_TOP_OPTIONAL = ("provenance", "risk_items", "risk_threshold")
_SCALE_TABLE_REQUIRED = ("min", "max", "labels")
_SCALE_TABLE_OPTIONAL = ("note",)
_ITEM_REQUIRED = ("number", "text", "reverse", "text_status")
_ITEM_OPTIONAL = ("note", "scored", "required", "min", "max", "labels")
_SCORE_REQUIRED = ("name", "label", "items", "method", "max_missing", "higher_is_better")
_SCORE_OPTIONAL = (
    "prorate",
    "reference_sd",
    "reference_reliability",
    "reliable_change",
    "bands",
    "note",
)
_BAND_REQUIRED = ("min", "max", "label")


class InstrumentFileError(ValueError):
    """An instrument file is unreadable or breaks a rule of the format."""

    def __init__(self, path: str | Path, problem: str) -> None:
        self.path = str(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")


# --------------------------------------------------------------------------------------------
# Spec objects
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ResponseScale:
    """Integer answers from ``min`` to ``max`` with one label per point."""

    min: int
    max: int
    labels: tuple[str, ...]
    note: str = ""

    @property
    def points(self) -> int:
        return self.max - self.min + 1

    @property
    def values(self) -> range:
        return range(self.min, self.max + 1)

    def contains(self, value: int) -> bool:
        return self.min <= value <= self.max

    def label(self, value: int) -> str:
        if not self.contains(value):
            raise ValueError(f"{value} is outside the scale {self.min}-{self.max}")
        return self.labels[value - self.min]

    def choices(self) -> list[tuple[int, str]]:
        """``[(value, label), ...]`` in scale order, handy for form widgets."""
        return list(zip(self.values, self.labels, strict=True))


@dataclass(frozen=True)
class ItemSpec:
    """One item. ``response_scale`` is the effective scale (the item's own, or the form's)."""

    number: int
    text: str
    reverse: bool
    text_status: str
    response_scale: ResponseScale
    own_scale: bool = False
    scored: bool = True
    required: bool = True
    note: str = ""

    @property
    def is_placeholder(self) -> bool:
        return self.text_status == "placeholder"

    def keyed(self, value: int) -> int:
        """The value as it enters a score: ``min + max - value`` for reverse-keyed items."""
        if self.reverse:
            return self.response_scale.min + self.response_scale.max - value
        return value


@dataclass(frozen=True)
class Band:
    """An interpretive band; both edges inclusive."""

    min: float
    max: float
    label: str


@dataclass(frozen=True)
class ScaleSpec:
    """A score computed from some items: a subscale or a total."""

    name: str
    label: str
    items: tuple[int, ...]
    method: str
    max_missing: int
    prorate: bool
    higher_is_better: bool
    reference_sd: float | None = None
    reference_reliability: float | None = None
    reliable_change: float | None = None
    bands: tuple[Band, ...] = ()
    note: str = ""


@dataclass(frozen=True)
class InstrumentSpec:
    """A validated instrument version. Build it with :func:`parse_instrument`."""

    code: str
    version: str
    title: str
    short_title: str
    rater: str
    kind: str
    status: str
    validated: bool
    instructions: str
    notice: str
    response_scale: ResponseScale
    items: tuple[ItemSpec, ...]
    scales: tuple[ScaleSpec, ...]
    risk_items: tuple[int, ...] = ()
    risk_threshold: int = 0
    provenance: str = ""
    source: str = field(default="", compare=False)

    # -- lookups -------------------------------------------------------------------------

    @cached_property
    def _items_by_number(self) -> dict[int, ItemSpec]:
        return {item.number: item for item in self.items}

    @cached_property
    def _scales_by_name(self) -> dict[str, ScaleSpec]:
        return {scale.name: scale for scale in self.scales}

    def item(self, number: int) -> ItemSpec:
        """The item with this number; ``KeyError`` if there is none."""
        try:
            return self._items_by_number[number]
        except (KeyError, TypeError):
            raise KeyError(f"{self.code} v{self.version} has no item {number!r}") from None

    def has_item(self, number: object) -> bool:
        return isinstance(number, int) and number in self._items_by_number

    def scale(self, name: str) -> ScaleSpec:
        """The scale with this name; ``KeyError`` if there is none."""
        try:
            return self._scales_by_name[name]
        except KeyError:
            raise KeyError(f"{self.code} v{self.version} has no scale {name!r}") from None

    @property
    def label(self) -> str:
        """``"RRI-C v1"``: how lists and logs name this instrument version."""
        return f"{self.code} v{self.version}"

    @property
    def scored_items(self) -> tuple[ItemSpec, ...]:
        return tuple(item for item in self.items if item.scored)

    @property
    def placeholder_items(self) -> tuple[int, ...]:
        """Numbers of the items whose text is still a placeholder."""
        return tuple(item.number for item in self.items if item.is_placeholder)

    @property
    def is_placeholder(self) -> bool:
        """True while any item text is a placeholder (the form cannot be given as is)."""
        return bool(self.placeholder_items)

    def scale_range(self, name: str) -> tuple[float, float]:
        """The lowest and highest score the scale can take with complete answers."""
        return _possible_range(self, self.scale(name))

    # -- signatures ----------------------------------------------------------------------

    def structure_data(self) -> dict[str, Any]:
        """Everything that affects storage and scoring (no wording, titles or notices)."""
        return {
            "rater": self.rater,
            "kind": self.kind,
            "response_scale": [self.response_scale.min, self.response_scale.max],
            "items": {
                f"item {item.number}": {
                    "min": item.response_scale.min,
                    "max": item.response_scale.max,
                    "reverse": item.reverse,
                    "scored": item.scored,
                    "required": item.required,
                }
                for item in self.items
            },
            "scales": {
                f"scale {scale.name}": {
                    "items": list(scale.items),
                    "method": scale.method,
                    "max_missing": scale.max_missing,
                    "prorate": scale.prorate,
                    "higher_is_better": scale.higher_is_better,
                    "reference_sd": scale.reference_sd,
                    "reference_reliability": scale.reference_reliability,
                    "reliable_change": scale.reliable_change,
                    "bands": [[band.min, band.max] for band in scale.bands],
                }
                for scale in self.scales
            },
            "risk_items": list(self.risk_items),
            "risk_threshold": self.risk_threshold,
        }

    def wording_data(self) -> dict[str, Any]:
        """Everything shown to people or describing provenance (no storage/scoring facts)."""
        return {
            "title": self.title,
            "short_title": self.short_title,
            "status": self.status,
            "validated": self.validated,
            "instructions": self.instructions,
            "notice": self.notice,
            "provenance": self.provenance,
            "response_labels": list(self.response_scale.labels),
            "response_note": self.response_scale.note,
            "items": {
                f"item {item.number}": {
                    "text": item.text,
                    "text_status": item.text_status,
                    "note": item.note,
                    "labels": list(item.response_scale.labels) if item.own_scale else None,
                }
                for item in self.items
            },
            "scales": {
                f"scale {scale.name}": {
                    "label": scale.label,
                    "note": scale.note,
                    "band_labels": [band.label for band in scale.bands],
                }
                for scale in self.scales
            },
        }

    def structure_signature(self) -> str:
        """Stable hash of :meth:`structure_data`; unchanged by a wording-only edit."""
        return _digest(self.structure_data())

    def wording_signature(self) -> str:
        """Stable hash of :meth:`wording_data`; unchanged by a structure-only edit."""
        return _digest(self.wording_data())


def _digest(data: Mapping[str, Any]) -> str:
    blob = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def _possible_range(spec: InstrumentSpec, scale: ScaleSpec) -> tuple[float, float]:
    return _range_of(scale, spec._items_by_number)


# --------------------------------------------------------------------------------------------
# Comparing two versions of a file (for the install command)
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SpecDiff:
    """Human-readable differences between two specs, split by kind."""

    structure: tuple[str, ...]
    wording: tuple[str, ...]

    @property
    def structure_changed(self) -> bool:
        return bool(self.structure)

    @property
    def wording_changed(self) -> bool:
        return bool(self.wording)


def diff_specs(old: InstrumentSpec, new: InstrumentSpec) -> SpecDiff:
    """List what changed from ``old`` to ``new``, one line per changed field.

    Lines look like ``item 7 · text: 'RRI-C item 7 — install …' → '…'``. Structure lines are
    exactly the fields that :meth:`InstrumentSpec.structure_signature` covers.
    """
    return SpecDiff(
        structure=tuple(_diff_lines(old.structure_data(), new.structure_data())),
        wording=tuple(_diff_lines(old.wording_data(), new.wording_data())),
    )


def _flatten(data: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in data.items():
        path = f"{prefix} · {key}" if prefix else key
        if isinstance(value, Mapping):
            flat.update(_flatten(value, path))
        else:
            flat[path] = value
    return flat


def _diff_lines(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    before, after = _flatten(old), _flatten(new)
    lines = []
    for key in sorted(before.keys() | after.keys(), key=_natural_key):
        if key not in after:
            lines.append(f"{key}: removed (was {before[key]!r})")
        elif key not in before:
            lines.append(f"{key}: added ({after[key]!r})")
        elif before[key] != after[key]:
            lines.append(f"{key}: {before[key]!r} → {after[key]!r}")
    return lines


def _natural_key(text: str) -> list[Any]:
    return [
        (0, int(part), "") if part.isdigit() else (1, 0, part) for part in re.split(r"(\d+)", text)
    ]


# --------------------------------------------------------------------------------------------
# Parsing and validation
# --------------------------------------------------------------------------------------------


def parse_instrument(path: str | Path) -> InstrumentSpec:
    """Read and validate one instrument file."""
    path = Path(path)
    try:
        text = path.read_bytes().decode("utf-8")
    except OSError as exc:
        raise InstrumentFileError(path, f"cannot read the file ({exc.strerror or exc})") from exc
    except UnicodeDecodeError as exc:
        raise InstrumentFileError(path, f"the file is not UTF-8 text ({exc})") from exc
    return parse_instrument_text(text, str(path))


def parse_instrument_text(text: str, source_name: str) -> InstrumentSpec:
    """Validate instrument TOML given as text; ``source_name`` names it in error messages."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InstrumentFileError(source_name, f"not valid TOML: {exc}") from exc
    return _Builder(source_name).build(data)


def instrument_files(directory: str | Path) -> list[Path]:
    """The ``*.toml`` files of a directory, sorted by name."""
    return sorted(Path(directory).glob("*.toml"))


def load_instruments(paths: Iterable[str | Path]) -> list[InstrumentSpec]:
    """Parse files (directories expand to their ``*.toml`` files); refuse a repeated version."""
    specs: list[InstrumentSpec] = []
    seen: dict[tuple[str, str], str] = {}
    for entry in paths:
        entry = Path(entry)
        files = instrument_files(entry) if entry.is_dir() else [entry]
        for path in files:
            spec = parse_instrument(path)
            key = (spec.code, spec.version)
            if key in seen:
                raise InstrumentFileError(path, f"{spec.label} is already defined in {seen[key]}")
            seen[key] = str(path)
            specs.append(spec)
    return specs


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: object) -> bool:
    return (_is_int(value) or isinstance(value, float)) and math.isfinite(value)  # type: ignore[arg-type]


def _fmt(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(value)


class _Builder:
    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, problem: str) -> NoReturn:
        raise InstrumentFileError(self.source, problem)

    # -- generic checks -------------------------------------------------------------------

    def keys(
        self, table: object, required: Iterable[str], optional: Iterable[str], where: str
    ) -> dict[str, Any]:
        if not isinstance(table, dict):
            self.fail(f"{where} must be a table, not {type(table).__name__}")
        required = tuple(required)
        allowed = required + tuple(optional)
        for key in table:
            if key not in allowed:
                self.fail(f"{where}: unknown key {key!r} (allowed keys: {', '.join(allowed)})")
        for key in required:
            if key not in table:
                self.fail(f"{where}: missing required key {key!r}")
        return table

    def text(
        self, table: Mapping[str, Any], key: str, where: str, default: str | None = None
    ) -> str:
        if key not in table and default is not None:
            return default
        value = table[key]
        if not isinstance(value, str):
            self.fail(f"{where}: {key!r} must be a string, not {value!r}")
        if not value.strip():
            self.fail(f"{where}: {key!r} must not be empty")
        return value

    def choice(
        self, table: Mapping[str, Any], key: str, allowed: tuple[str, ...], where: str
    ) -> str:
        value = table[key]
        if value not in allowed:
            self.fail(f"{where}: {key!r} must be one of {', '.join(allowed)}; got {value!r}")
        return value

    def flag(
        self, table: Mapping[str, Any], key: str, where: str, default: bool | None = None
    ) -> bool:
        if key not in table and default is not None:
            return default
        value = table[key]
        if not isinstance(value, bool):
            self.fail(f"{where}: {key!r} must be true or false, not {value!r}")
        return value

    def integer(self, table: Mapping[str, Any], key: str, where: str) -> int:
        value = table[key]
        if not _is_int(value):
            self.fail(f"{where}: {key!r} must be a whole number, not {value!r}")
        return value

    def number(self, table: Mapping[str, Any], key: str, where: str) -> float | None:
        if key not in table:
            return None
        value = table[key]
        if not _is_number(value):
            self.fail(f"{where}: {key!r} must be a number, not {value!r}")
        return value

    def edge(self, table: Mapping[str, Any], key: str, where: str) -> float:
        value = table[key]
        if not _is_number(value):
            self.fail(f"{where}: {key!r} must be a number, not {value!r}")
        return value

    # -- sections -------------------------------------------------------------------------

    def response_scale(self, table: Mapping[str, Any], where: str, note: str = "") -> ResponseScale:
        low = self.integer(table, "min", where)
        high = self.integer(table, "max", where)
        if low >= high:
            self.fail(f"{where}: min ({low}) must be smaller than max ({high})")
        if high - low > MAX_SCALE_SPAN:
            self.fail(
                f"{where}: a scale from {low} to {high} has {high - low + 1} points; "
                f"max - min may be at most {MAX_SCALE_SPAN}"
            )
        labels = table["labels"]
        if not isinstance(labels, list) or not all(
            isinstance(label, str) and label.strip() for label in labels
        ):
            self.fail(f"{where}: 'labels' must be a list of non-empty strings")
        if len(labels) != high - low + 1:
            self.fail(
                f"{where}: {len(labels)} labels for a {high - low + 1}-point scale "
                f"({low}-{high}); give exactly one label per point"
            )
        return ResponseScale(min=low, max=high, labels=tuple(labels), note=note)

    def build(self, data: dict[str, Any]) -> InstrumentSpec:
        top = self.keys(data, _TOP_REQUIRED, _TOP_OPTIONAL, "top level")
        header = self.header(top)
        form_scale = self.form_scale(top["response_scale"])
        items = self.items(top["items"], form_scale, header["code"])
        by_number = {item.number: item for item in items}
        scales = self.scales(top["scales"], items, by_number)
        self.check_scored_items_counted(items, scales)
        risk_items, risk_threshold = self.risk(top, by_number)
        self.check_status(header, items)
        return InstrumentSpec(
            **header,
            response_scale=form_scale,
            items=tuple(items),
            scales=tuple(scales),
            risk_items=risk_items,
            risk_threshold=risk_threshold,
            source=self.source,
        )

    def header(self, top: Mapping[str, Any]) -> dict[str, Any]:
        """The instrument's own fields: code, version, titles, rater, kind, status, texts."""
        where = "top level"
        code = self.text(top, "code", where)
        if not _CODE_RE.match(code):
            self.fail(
                f"code {code!r} must be upper-case letters and digits in dash-separated "
                "parts, like 'RRI-C' or 'PHQ-9'"
            )
        version = top["version"]
        if not isinstance(version, str) or not _VERSION_RE.match(version):
            self.fail(
                f"version {version!r} must be a string of letters, digits, '.', '_' or '-' "
                '(up to 32 characters), like "1" or "2025.1"'
            )
        header = {
            "code": code,
            "version": version,
            "title": self.text(top, "title", where),
            "short_title": self.text(top, "short_title", where),
            "rater": self.choice(top, "rater", RATERS, where),
            "kind": self.choice(top, "kind", KINDS, where),
            "status": self.choice(top, "status", STATUSES, where),
            "validated": self.flag(top, "validated", where),
            "instructions": self.text(top, "instructions", where),
            "notice": self.text(top, "notice", where),
        }
        provenance = top.get("provenance", "")
        if not isinstance(provenance, str):
            self.fail(f"top level: 'provenance' must be a string, not {provenance!r}")
        return {**header, "provenance": provenance}

    def form_scale(self, raw: object) -> ResponseScale:
        where = "[response_scale]"
        table = self.keys(raw, _SCALE_TABLE_REQUIRED, _SCALE_TABLE_OPTIONAL, where)
        note = table.get("note", "")
        if not isinstance(note, str):
            self.fail(f"{where}: 'note' must be a string")
        return self.response_scale(table, where, note)

    def check_scored_items_counted(self, items: list[ItemSpec], scales: list[ScaleSpec]) -> None:
        """Every scored item must count somewhere: a stray scored item is usually a typo."""
        in_scales = {number for scale in scales for number in scale.items}
        for item in items:
            if item.scored and item.number not in in_scales:
                self.fail(
                    f"item {item.number} is scored but belongs to no scale; add it to a "
                    "scale or set scored = false"
                )

    def check_status(self, header: Mapping[str, Any], items: list[ItemSpec]) -> None:
        """Placeholder wording, the project's own measures and "not validated" said aloud."""
        status, validated = header["status"], header["validated"]
        placeholders = [item.number for item in items if item.is_placeholder]
        if placeholders and status != "placeholder":
            self.fail(
                f"status is {status!r} but items {_list(placeholders)} still carry placeholder "
                'text; use status = "placeholder" until every item has its licensed wording'
            )
        if status == "project" and validated:
            self.fail('status "project" marks the project\'s own measure: set validated = false')
        if not validated:
            said = f"{header['title']}\n{header['notice']}".lower()
            for phrase in PROJECT_PHRASES:
                if phrase not in said:
                    self.fail(
                        "validated = false, so the title or notice must say "
                        f'"{phrase}" (e.g. "Written by the Dyad project; '
                        'not a validated instrument.")'
                    )

    def items(self, raw: object, form_scale: ResponseScale, code: str) -> list[ItemSpec]:
        if not isinstance(raw, list) or not raw:
            self.fail("'items' must be a non-empty array of [[items]] tables")
        items: list[ItemSpec] = []
        seen: set[int] = set()
        for index, table in enumerate(raw, start=1):
            label = f"[[items]] entry {index}"
            if isinstance(table, dict) and _is_int(table.get("number")):
                label += f" (item {table['number']})"
            items.append(self.item(table, label, form_scale, code, seen))
        numbers = [item.number for item in items]
        if numbers != list(range(1, len(items) + 1)):
            self.fail(
                f"items must be numbered 1 to {len(items)} in file order; found {_list(numbers)}"
            )
        return items

    def item(
        self, raw: object, label: str, form_scale: ResponseScale, code: str, seen: set[int]
    ) -> ItemSpec:
        table = self.keys(raw, _ITEM_REQUIRED, _ITEM_OPTIONAL, label)
        number = self.integer(table, "number", label)
        if number < 1:
            self.fail(f"{label}: item numbers start at 1, got {number}")
        if number in seen:
            self.fail(f"{label}: item number {number} appears more than once")
        seen.add(number)
        text = self.text(table, "text", label)
        text_status = self.choice(table, "text_status", TEXT_STATUSES, label)
        self.check_placeholder(label, text, text_status, f"{code} item {number}")
        reverse = self.flag(table, "reverse", label)
        scored = self.flag(table, "scored", label, default=True)
        required = self.flag(table, "required", label, default=True)
        if reverse and not scored:
            self.fail(
                f"{label}: reverse = true on an unscored item; "
                "reverse keys only apply to scored items"
            )
        note = table.get("note", "")
        if not isinstance(note, str):
            self.fail(f"{label}: 'note' must be a string")
        own = [key for key in _SCALE_TABLE_REQUIRED if key in table]
        if own and len(own) != len(_SCALE_TABLE_REQUIRED):
            self.fail(
                f"{label}: an item's own response options need all of min, max and "
                f"labels; got only {', '.join(own)}"
            )
        return ItemSpec(
            number=number,
            text=text,
            reverse=reverse,
            text_status=text_status,
            response_scale=self.response_scale(table, label) if own else form_scale,
            own_scale=bool(own),
            scored=scored,
            required=required,
            note=note,
        )

    def check_placeholder(self, label: str, text: str, text_status: str, example: str) -> None:
        """Placeholder text says so, and text that says so is marked a placeholder."""
        says_placeholder = PLACEHOLDER_PHRASE in text.lower()
        if text_status == "placeholder" and not says_placeholder:
            self.fail(
                f'{label}: placeholder text must say "{PLACEHOLDER_PHRASE}", e.g. '
                f'"{example} — {PLACEHOLDER_PHRASE}"'
            )
        if says_placeholder and text_status != "placeholder":
            self.fail(
                f'{label}: the text says "{PLACEHOLDER_PHRASE}" but text_status is '
                f'{text_status!r}; a placeholder must be marked text_status = "placeholder"'
            )

    def scales(
        self, raw: object, items: list[ItemSpec], by_number: Mapping[int, ItemSpec]
    ) -> list[ScaleSpec]:
        if not isinstance(raw, list) or not raw:
            self.fail("'scales' must be a non-empty array of [[scales]] tables")
        scales: list[ScaleSpec] = []
        names: set[str] = set()
        for index, table in enumerate(raw, start=1):
            label = f"[[scales]] entry {index}"
            if isinstance(table, dict) and isinstance(table.get("name"), str):
                label = f"scale {table['name']!r}"
            scales.append(self.scale(table, label, by_number, names))
        return scales

    def scale(
        self, raw: object, label: str, by_number: Mapping[int, ItemSpec], names: set[str]
    ) -> ScaleSpec:
        table = self.keys(raw, _SCORE_REQUIRED, _SCORE_OPTIONAL, label)
        name = table["name"]
        if not isinstance(name, str) or not _SCALE_NAME_RE.match(name):
            self.fail(
                f"{label}: name {name!r} must be lower-case letters, digits and '_' "
                "starting with a letter, like 'total' or 'realism'"
            )
        if name in names:
            self.fail(f"{label}: scale name {name!r} appears more than once")
        names.add(name)
        scale_label = self.text(table, "label", label)
        members = self.members(table, label, by_number)
        method, max_missing, prorate = self.scoring_rule(table, label, len(members))
        higher_is_better = self.flag(table, "higher_is_better", label)
        references = self.references(table, label)
        note = table.get("note", "")
        if not isinstance(note, str):
            self.fail(f"{label}: 'note' must be a string")
        scale = ScaleSpec(
            name=name,
            label=scale_label,
            items=tuple(members),
            method=method,
            max_missing=max_missing,
            prorate=prorate,
            higher_is_better=higher_is_better,
            **references,
            note=note,
        )
        low, high = _range_of(scale, by_number)
        return replace(scale, bands=self.bands(table.get("bands", []), label, low, high))

    def members(
        self, table: Mapping[str, Any], label: str, by_number: Mapping[int, ItemSpec]
    ) -> list[int]:
        members = table["items"]
        if not isinstance(members, list) or not members or not all(_is_int(n) for n in members):
            self.fail(f"{label}: 'items' must be a non-empty list of item numbers")
        if len(set(members)) != len(members):
            repeated = sorted({n for n in members if members.count(n) > 1})
            self.fail(f"{label}: lists item {_list(repeated)} more than once")
        for number in members:
            if number not in by_number:
                self.fail(f"{label}: lists item {number}, which does not exist")
            if not by_number[number].scored:
                self.fail(f"{label}: lists item {number}, which is not scored (scored = false)")
        return members

    def scoring_rule(
        self, table: Mapping[str, Any], label: str, size: int
    ) -> tuple[str, int, bool]:
        """method, max_missing and prorate, which only make sense together."""
        method = self.choice(table, "method", METHODS, label)
        max_missing = self.integer(table, "max_missing", label)
        if not 0 <= max_missing < size:
            self.fail(
                f"{label}: max_missing is {max_missing} but must be between 0 and "
                f"{size - 1} (the scale has {size} items)"
            )
        prorate = self.flag(table, "prorate", label, default=False)
        if prorate and method != "sum":
            self.fail(
                f'{label}: prorate = true applies only to method = "sum"; a mean '
                "already uses the answered items"
            )
        if method == "sum" and max_missing > 0 and not prorate:
            self.fail(
                f"{label}: a sum that allows {max_missing} missing answer(s) must set "
                "prorate = true, or missing answers would silently lower the score"
            )
        return method, max_missing, prorate

    def references(self, table: Mapping[str, Any], label: str) -> dict[str, float | None]:
        """The published values reliable change is computed from (each optional)."""
        reference_sd = self.number(table, "reference_sd", label)
        if reference_sd is not None and reference_sd <= 0:
            self.fail(f"{label}: reference_sd must be greater than 0, got {reference_sd}")
        reliability = self.number(table, "reference_reliability", label)
        if reliability is not None and not 0 < reliability < 1:
            self.fail(f"{label}: reference_reliability must lie between 0 and 1, got {reliability}")
        reliable_change = self.number(table, "reliable_change", label)
        if reliable_change is not None and reliable_change <= 0:
            self.fail(f"{label}: reliable_change must be greater than 0, got {reliable_change}")
        return {
            "reference_sd": reference_sd,
            "reference_reliability": reliability,
            "reliable_change": reliable_change,
        }

    def bands(self, raw: object, where: str, low: float, high: float) -> tuple[Band, ...]:
        if not isinstance(raw, list):
            self.fail(f"{where}: 'bands' must be an array of [[scales.bands]] tables")
        bands: list[Band] = []
        for index, table in enumerate(raw, start=1):
            label = f"{where} band {index}"
            table = self.keys(table, _BAND_REQUIRED, (), label)
            band_min = self.edge(table, "min", label)
            band_max = self.edge(table, "max", label)
            name = self.text(table, "label", label)
            if band_min > band_max:
                self.fail(f"{label} {name!r}: min ({band_min}) is above max ({band_max})")
            if band_min < low or band_max > high:
                self.fail(
                    f"{label} {name!r}: {_fmt(band_min)}-{_fmt(band_max)} lies outside the "
                    f"possible scores {_fmt(low)}-{_fmt(high)}"
                )
            bands.append(Band(min=band_min, max=band_max, label=name))
        bands.sort(key=lambda band: band.min)
        for before, after in zip(bands, bands[1:], strict=False):
            if after.min <= before.max:
                self.fail(
                    f"{where}: bands {before.label!r} ({_fmt(before.min)}-{_fmt(before.max)}) "
                    f"and {after.label!r} ({_fmt(after.min)}-{_fmt(after.max)}) overlap"
                )
        return tuple(bands)

    def risk(
        self, top: Mapping[str, Any], by_number: Mapping[int, ItemSpec]
    ) -> tuple[tuple[int, ...], int]:
        raw = top.get("risk_items", [])
        if not isinstance(raw, list) or not all(_is_int(n) for n in raw):
            self.fail("risk_items must be a list of item numbers")
        if len(set(raw)) != len(raw):
            self.fail("risk_items lists an item more than once")
        threshold = top.get("risk_threshold", 0)
        if not _is_int(threshold):
            self.fail(f"risk_threshold must be a whole number, not {threshold!r}")
        for number in raw:
            if number not in by_number:
                self.fail(f"risk_items lists item {number}, which does not exist")
            scale = by_number[number].response_scale
            if not scale.min <= threshold < scale.max:
                self.fail(
                    f"risk_threshold {threshold} can never be exceeded on item {number} "
                    f"(answers run {scale.min}-{scale.max}); a risk flag is an answer above it"
                )
        return tuple(raw), threshold


def _range_of(scale: ScaleSpec, by_number: Mapping[int, ItemSpec]) -> tuple[float, float]:
    scales = [by_number[number].response_scale for number in scale.items]
    if scale.method == "sum":
        return float(sum(s.min for s in scales)), float(sum(s.max for s in scales))
    return float(min(s.min for s in scales)), float(max(s.max for s in scales))


def _list(numbers: Iterable[int]) -> str:
    return ", ".join(str(n) for n in numbers)
