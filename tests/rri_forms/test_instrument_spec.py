"""The instrument file format, its validation, and the files Dyad ships. No Django needed."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import pytest

from rri_forms.instrument_spec import (
    InstrumentFileError,
    diff_specs,
    instrument_files,
    load_instruments,
    parse_instrument,
    parse_instrument_text,
)

ROOT = Path(__file__).resolve().parents[2]
RRI_DIR = ROOT / "rri_forms" / "instruments"
OUTCOME_DIR = ROOT / "outcomes" / "instruments"
SHIPPED = instrument_files(RRI_DIR) + instrument_files(OUTCOME_DIR)
RRI_CODES = ("RRI-C", "RRI-T", "RRI-C-12", "RRI-C-SF")
PLACEHOLDER = "{code} item {number} — install the licensed wording"


def shipped() -> dict[str, Any]:
    return {spec.code: spec for spec in load_instruments([RRI_DIR, OUTCOME_DIR])}


# --------------------------------------------------------------------------------------------
# A tiny TOML writer, so each rejection test can edit a plain dict
# --------------------------------------------------------------------------------------------


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)  # JSON string escapes are valid TOML basic-string escapes
    if isinstance(value, list):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k} = {_value(v)}" for k, v in value.items()) + "}"
    raise TypeError(value)


def to_toml(data: dict[str, Any]) -> str:
    lines = []
    tables = []
    for key, value in data.items():
        if isinstance(value, dict):
            tables.append((f"[{key}]", value))
        elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            tables.extend((f"[[{key}]]", v) for v in value)
        else:
            lines.append(f"{key} = {_value(value)}")
    for header, table in tables:
        lines.append(header)
        lines.extend(f"{k} = {_value(v)}" for k, v in table.items())
    return "\n".join(lines) + "\n"


def base() -> dict[str, Any]:
    """A small valid instrument: 4 scored items (item 2 reversed) and one optional extra."""
    return {
        "code": "TEST-A",
        "version": "1",
        "title": "Test instrument",
        "short_title": "Test",
        "rater": "client",
        "kind": "session_outcome",
        "status": "licensed",
        "validated": True,
        "instructions": "Rate each statement.",
        "notice": "Test notice.",
        "risk_items": [3],
        "risk_threshold": 3,
        "response_scale": {"min": 1, "max": 5, "labels": ["a", "b", "c", "d", "e"]},
        "items": [
            {"number": 1, "text": "One", "reverse": False, "text_status": "licensed"},
            {"number": 2, "text": "Two", "reverse": True, "text_status": "licensed"},
            {"number": 3, "text": "Three", "reverse": False, "text_status": "licensed"},
            {"number": 4, "text": "Four", "reverse": False, "text_status": "licensed"},
            {
                "number": 5,
                "text": "Extra",
                "reverse": False,
                "text_status": "licensed",
                "scored": False,
                "required": False,
                "min": 0,
                "max": 3,
                "labels": ["w", "x", "y", "z"],
            },
        ],
        "scales": [
            {
                "name": "total",
                "label": "Total",
                "items": [1, 2, 3, 4],
                "method": "sum",
                "max_missing": 1,
                "prorate": True,
                "higher_is_better": True,
                "bands": [
                    {"min": 4, "max": 9, "label": "Low"},
                    {"min": 10, "max": 20, "label": "High"},
                ],
            },
            {
                "name": "pair",
                "label": "Pair",
                "items": [1, 2],
                "method": "mean",
                "max_missing": 0,
                "higher_is_better": True,
            },
        ],
    }


def parse(data: dict[str, Any], name: str = "bad.toml"):
    return parse_instrument_text(to_toml(data), name)


def test_base_fixture_is_valid():
    spec = parse(base(), "base.toml")
    assert spec.code == "TEST-A"
    assert spec.item(5).response_scale.labels == ("w", "x", "y", "z")
    assert spec.item(5).own_scale
    assert spec.item(1).response_scale == spec.response_scale
    assert [band.label for band in spec.scale("total").bands] == ["Low", "High"]
    assert spec.scale_range("total") == (4.0, 20.0)
    assert [item.number for item in spec.scored_items] == [1, 2, 3, 4]
    assert not spec.is_placeholder


# --------------------------------------------------------------------------------------------
# Shipped files
# --------------------------------------------------------------------------------------------


def test_the_expected_files_ship():
    names = sorted(path.name for path in SHIPPED)
    assert names == sorted(
        [
            "rri-c-v1.toml",
            "rri-t-v1.toml",
            "rri-c-12-v1.toml",
            "rri-c-sf-v1.toml",
            "phq-9-v1.toml",
            "gad-7-v1.toml",
            "session-check-v1.toml",
            "progress-t-v1.toml",
        ]
    )


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_every_shipped_file_parses_and_is_named_after_its_code(path):
    spec = parse_instrument(path)
    assert path.name == f"{spec.code.lower()}-v{spec.version}.toml"
    assert spec.source == str(path)
    assert len(spec.structure_signature()) == 64


@pytest.mark.parametrize(
    ("code", "rater", "counts"),
    [
        ("RRI-C", "client", {"total": 24, "realism": 12, "genuineness": 12}),
        ("RRI-T", "therapist", {"total": 24, "realism": 12, "genuineness": 12}),
        ("RRI-C-12", "client", {"total": 12, "realism": 6, "genuineness": 6}),
        ("RRI-C-SF", "client", {"total": 8, "realism": 4, "genuineness": 4}),
    ],
)
def test_rri_forms_have_the_published_counts(code, rater, counts):
    spec = shipped()[code]
    assert spec.rater == rater
    assert spec.kind == "relationship"
    assert spec.validated
    assert spec.status == "placeholder"
    assert spec.provenance.startswith("PUBLIC:")
    assert "PROVISIONAL" in spec.provenance
    assert len(spec.items) == counts["total"]
    assert {scale.name: len(scale.items) for scale in spec.scales} == counts
    total, realism, genuineness = (spec.scale(n) for n in ("total", "realism", "genuineness"))
    assert set(realism.items).isdisjoint(genuineness.items)
    assert set(realism.items) | set(genuineness.items) == set(total.items)
    assert (spec.response_scale.min, spec.response_scale.max) == (1, 5)
    assert spec.response_scale.labels[0] == "Strongly disagree"
    assert spec.response_scale.labels[-1] == "Strongly agree"
    assert "provisional" in spec.response_scale.note
    for scale in spec.scales:
        assert scale.method == "mean"
        assert scale.higher_is_better
        assert scale.max_missing == len(scale.items) // 5  # about 20%
        assert scale.reference_sd is None
    assert "copyrighted" in spec.notice
    assert "licensed" in spec.notice


def test_notices_cite_the_right_authors():
    specs = shipped()
    assert "Gelso, Kelley, Fuertes, Marmarosh, Holmes, Costa & Hancock (2005)" in (
        specs["RRI-T"].notice
    )
    assert "Kelley, Gelso, Fuertes, Marmarosh & Lanier (2010)" in specs["RRI-C"].notice
    assert "Stefana" in specs["RRI-C-12"].notice
    assert "PLOS ONE" in specs["RRI-C-12"].notice
    assert "doi:10.1080/10503307.2024.2320331" in specs["RRI-C-SF"].notice


def test_short_form_carries_the_published_alphas_and_no_sd():
    spec = shipped()["RRI-C-SF"]
    assert spec.scale("total").reference_reliability == 0.91
    assert spec.scale("genuineness").reference_reliability == 0.86
    assert spec.scale("realism").reference_reliability == 0.87


SAMPLES = [
    # text, form, published reverse keying
    ("I had a realistic understanding of my therapist as a person.", "RRI-C", False),
    ("My therapist did not see me as I really am.", "RRI-C", True),
    ("My client's feelings toward me seem to fit who I am as a person.", "RRI-T", False),
    ("There is no genuinely positive connection between us.", "RRI-T", True),
    ("My client has little caring for who I truly am.", "RRI-T", True),
    ("I am able to be myself with my therapist.", "RRI-C", False),
]


@pytest.mark.parametrize(("text", "form", "reverse"), SAMPLES)
def test_each_public_sample_appears_once_in_its_form(text, form, reverse):
    hits = [
        (spec.code, item) for spec in shipped().values() for item in spec.items if item.text == text
    ]
    assert len(hits) == 1
    code, item = hits[0]
    assert code == form
    assert item.reverse is reverse
    assert item.text_status == "public_sample"
    assert "Drug and Alcohol Findings" in item.note
    assert "not public" in item.note


def test_sample_four_says_its_form_is_not_stated():
    spec = shipped()["RRI-T"]
    (item,) = [i for i in spec.items if i.text.startswith("There is no genuinely")]
    assert "does not state which form" in item.note


def test_every_other_rri_item_is_a_marked_placeholder():
    samples = {text for text, _, _ in SAMPLES}
    public = 0
    for code in RRI_CODES:
        spec = shipped()[code]
        assert spec.is_placeholder
        for item in spec.items:
            if item.text in samples:
                public += 1
                continue
            assert item.text == PLACEHOLDER.format(code=code, number=item.number)
            assert item.text_status == "placeholder"
            assert item.is_placeholder
            assert item.reverse is False
        assert set(spec.placeholder_items) == {
            i.number for i in spec.items if i.text not in samples
        }
    assert public == len(SAMPLES)


def test_no_rri_file_contains_item_text_beyond_the_samples():
    """Belt and braces: no quoted sentence other than the samples sits in an RRI file."""
    samples = {text for text, _, _ in SAMPLES}
    for path in instrument_files(RRI_DIR):
        spec = parse_instrument(path)
        texts = {item.text for item in spec.items}
        assert texts - samples == {
            PLACEHOLDER.format(code=spec.code, number=n) for n in spec.placeholder_items
        }


PHQ9_ITEMS = [
    "Little interest or pleasure in doing things",
    "Feeling down, depressed, or hopeless",
    "Trouble falling or staying asleep, or sleeping too much",
    "Feeling tired or having little energy",
    "Poor appetite or overeating",
    "Feeling bad about yourself—or that you are a failure or have let yourself or your family down",
    "Trouble concentrating on things, such as reading the newspaper or watching television",
    "Moving or speaking so slowly that other people could have noticed? Or the opposite—being so "
    "fidgety or restless that you have been moving around a lot more than usual",
    "Thoughts that you would be better off dead or of hurting yourself in some way",
]
PHQ9_FUNCTIONAL = (
    "If you checked off any problems, how difficult have these problems made it for you to do "
    "your work, take care of things at home, or get along with other people?"
)
GAD7_ITEMS = [
    "Feeling nervous, anxious, or on edge",
    "Not being able to stop or control worrying",
    "Worrying too much about different things",
    "Trouble relaxing",
    "Being so restless that it's hard to sit still",
    "Becoming easily annoyed or irritable",
    "Feeling afraid as if something awful might happen",
]
FREQUENCY = ("Not at all", "Several days", "More than half the days", "Nearly every day")
PFIZER = (
    "Developed by Drs. Robert L. Spitzer, Janet B.W. Williams, Kurt Kroenke and colleagues, "
    "with an educational grant from Pfizer Inc. No permission required to reproduce, "
    "translate, display or distribute."
)


def test_phq9_is_verbatim():
    spec = shipped()["PHQ-9"]
    assert spec.instructions == (
        "Over the last 2 weeks, how often have you been bothered by any of the following problems?"
    )
    assert [item.text for item in spec.items[:9]] == PHQ9_ITEMS
    assert spec.response_scale.labels == FREQUENCY
    assert (spec.response_scale.min, spec.response_scale.max) == (0, 3)
    assert spec.notice == PFIZER
    assert spec.status == "verbatim"
    assert all(item.text_status == "verbatim" for item in spec.items)
    assert all(not item.reverse for item in spec.items)


def test_phq9_functional_item_is_unscored_optional_with_its_own_options():
    item = shipped()["PHQ-9"].item(10)
    assert item.text == PHQ9_FUNCTIONAL
    assert not item.scored
    assert not item.required
    assert item.own_scale
    assert item.response_scale.labels == (
        "Not difficult at all",
        "Somewhat difficult",
        "Very difficult",
        "Extremely difficult",
    )


def test_phq9_scoring_rules():
    spec = shipped()["PHQ-9"]
    assert spec.kind == "symptom"
    assert spec.risk_items == (9,)
    assert spec.risk_threshold == 0
    (total,) = spec.scales
    assert total.items == tuple(range(1, 10))
    assert (total.method, total.max_missing, total.higher_is_better) == ("sum", 0, False)
    assert total.reliable_change == 6
    assert "IAPT" in total.note
    assert [(b.min, b.max, b.label) for b in total.bands] == [
        (0, 4, "Minimal"),
        (5, 9, "Mild"),
        (10, 14, "Moderate"),
        (15, 19, "Moderately severe"),
        (20, 27, "Severe"),
    ]


def test_gad7_is_verbatim_with_its_scoring_rules():
    spec = shipped()["GAD-7"]
    assert spec.instructions == (
        "Over the last 2 weeks, how often have you been bothered by the following problems?"
    )
    assert [item.text for item in spec.items] == GAD7_ITEMS
    assert spec.response_scale.labels == FREQUENCY
    assert spec.notice == PFIZER
    assert spec.risk_items == ()
    (total,) = spec.scales
    assert (total.method, total.max_missing, total.higher_is_better) == ("sum", 0, False)
    assert total.reliable_change == 4
    assert "IAPT" in total.note
    assert [(b.min, b.max, b.label) for b in total.bands] == [
        (0, 4, "Minimal"),
        (5, 9, "Mild"),
        (10, 14, "Moderate"),
        (15, 21, "Severe"),
    ]


@pytest.mark.parametrize(
    ("code", "rater", "kind", "n_items"),
    [("SESSION-CHECK", "client", "session_outcome", 4), ("PROGRESS-T", "therapist", "progress", 3)],
)
def test_project_measures_say_they_are_not_validated(code, rater, kind, n_items):
    spec = shipped()[code]
    assert (spec.rater, spec.kind, len(spec.items)) == (rater, kind, n_items)
    assert spec.validated is False
    assert spec.status == "project"
    assert spec.notice == (
        "Written by the Dyad project so every clinic has an outcome to chart; "
        "not a validated instrument."
    )
    assert all(item.text_status == "project" for item in spec.items)
    assert (spec.response_scale.min, spec.response_scale.max) == (1, 5)
    (total,) = spec.scales
    assert total.method == "mean"
    assert total.higher_is_better


def test_shipped_codes_and_versions_are_unique():
    specs = load_instruments([RRI_DIR, OUTCOME_DIR])
    assert len({(s.code, s.version) for s in specs}) == len(specs) == 8


# --------------------------------------------------------------------------------------------
# Loader rejections: one case per rule; each message names the file and the problem
# --------------------------------------------------------------------------------------------


def _set(path: str, value: Any):
    def edit(data: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        target: Any = data
        for part in parents:
            target = target[int(part)] if part.isdigit() else target[part]
        if value is _DELETE:
            del target[last]
        else:
            target[int(last) if last.isdigit() else last] = value

    return edit


_DELETE = object()


def _placeholder_licensed(data):
    data["items"][0]["text"] = "TEST-A item 1 — install the licensed wording"
    data["items"][0]["text_status"] = "placeholder"


def _project_without_phrase(data):
    data["validated"] = False


def _project_status_validated(data):
    data["status"] = "project"


def _add_band(band):
    def edit(data):
        data["scales"][0]["bands"].append(band)

    return edit


REJECTIONS = [
    ("unknown top-level key", _set("colour", "blue"), "unknown key 'colour'"),
    ("missing top-level key", _set("notice", _DELETE), "missing required key 'notice'"),
    ("unknown item key", _set("items.0.revers", True), "[[items]] entry 1 (item 1): unknown key"),
    ("missing item key", _set("items.1.reverse", _DELETE), "missing required key 'reverse'"),
    ("unknown scale key", _set("scales.0.weight", 2), "scale 'total': unknown key 'weight'"),
    ("unknown band key", _set("scales.0.bands.0.colour", "red"), "band 1: unknown key"),
    (
        "unknown response-scale key",
        _set("response_scale.step", 1),
        "[response_scale]: unknown key 'step'",
    ),
    ("duplicate item number", _set("items.2.number", 2), "item number 2 appears more than once"),
    ("item numbers not 1..N", _set("items.4.number", 7), "numbered 1 to 5 in file order"),
    ("item number below 1", _set("items.0.number", 0), "item numbers start at 1"),
    (
        "scale lists unknown item",
        _set("scales.1.items", [1, 9]),
        "lists item 9, which does not exist",
    ),
    (
        "scale lists unscored item",
        _set("scales.1.items", [1, 5]),
        "lists item 5, which is not scored",
    ),
    ("scale lists an item twice", _set("scales.1.items", [1, 1]), "lists item 1 more than once"),
    ("scale without items", _set("scales.1.items", []), "non-empty list of item numbers"),
    (
        "scored item in no scale",
        _set("items.4.scored", True),
        "item 5 is scored but belongs to no scale",
    ),
    (
        "reverse on unscored item",
        _set("items.4.reverse", True),
        "reverse = true on an unscored item",
    ),
    (
        "too few labels",
        _set("response_scale.labels", ["a", "b", "c", "d"]),
        "4 labels for a 5-point scale (1-5)",
    ),
    (
        "item's own labels wrong length",
        _set("items.4.labels", ["w", "x"]),
        "2 labels for a 4-point scale (0-3)",
    ),
    (
        "item's own scale incomplete",
        _set("items.4.max", _DELETE),
        "need all of min, max and labels",
    ),
    ("min not below max", _set("response_scale.min", 5), "min (5) must be smaller than max (5)"),
    (
        "scale too wide",
        lambda d: d["response_scale"].update(min=0, max=11, labels=list("abcdefghijkl")),
        "max - min may be at most 10",
    ),
    ("min not an integer", _set("response_scale.min", 1.5), "'min' must be a whole number"),
    ("max a boolean", _set("response_scale.max", True), "'max' must be a whole number"),
    ("bad rater", _set("rater", "supervisor"), "'rater' must be one of client, therapist"),
    ("bad kind", _set("kind", "alliance"), "'kind' must be one of relationship"),
    ("bad status", _set("status", "draft"), "'status' must be one of licensed"),
    ("bad text status", _set("items.0.text_status", "draft"), "'text_status' must be one of"),
    ("bad method", _set("scales.0.method", "median"), "'method' must be one of mean, sum"),
    ("validated not a bool", _set("validated", "yes"), "'validated' must be true or false"),
    (
        "band outside range",
        _set("scales.0.bands.1.max", 21),
        "10-21 lies outside the possible scores 4-20",
    ),
    ("band min above max", _set("scales.0.bands.0.max", 3), "min (4) is above max (3)"),
    (
        "overlapping bands",
        _add_band({"min": 9, "max": 12, "label": "Middle"}),
        "bands 'Low' (4-9) and 'Middle' (9-12) overlap",
    ),
    (
        "band on a mean outside 1-5",
        lambda d: d["scales"][1].update(bands=[{"min": 0.5, "max": 2, "label": "x"}]),
        "0.5-2 lies outside the possible scores 1-5",
    ),
    ("max_missing too large", _set("scales.1.max_missing", 2), "must be between 0 and 1"),
    ("max_missing negative", _set("scales.1.max_missing", -1), "max_missing is -1"),
    ("prorate on a mean", _set("scales.1.prorate", True), "prorate = true applies only"),
    (
        "sum with missing but no prorating",
        _set("scales.0.prorate", False),
        "must set prorate = true",
    ),
    ("risk item missing", _set("risk_items", [3, 12]), "risk_items lists item 12, which does not"),
    ("risk threshold unreachable", _set("risk_threshold", 5), "risk_threshold 5 can never be"),
    (
        "placeholder text without the phrase",
        lambda d: d["items"][0].update(text_status="placeholder"),
        'placeholder text must say "install the licensed wording"',
    ),
    (
        "placeholder phrase in licensed text",
        _set("items.0.text", "Item 1 — install the licensed wording"),
        "a placeholder must be marked text_status",
    ),
    (
        "placeholder under a licensed status",
        _placeholder_licensed,
        "status is 'licensed' but items 1 still carry placeholder text",
    ),
    (
        "unvalidated without the project phrases",
        _project_without_phrase,
        'must say "written by the dyad project"',
    ),
    ("project status but validated", _project_status_validated, "set validated = false"),
    ("bad code", _set("code", "rri c"), "code 'rri c' must be upper-case"),
    ("bad version", _set("version", 2), "version 2 must be a string"),
    ("empty title", _set("title", "  "), "'title' must not be empty"),
    ("duplicate scale name", _set("scales.1.name", "total"), "scale name 'total' appears more"),
    ("bad scale name", _set("scales.1.name", "Pair Score"), "name 'Pair Score' must be lower-case"),
    (
        "reliability out of range",
        _set("scales.0.reference_reliability", 1.2),
        "reference_reliability must lie between 0 and 1",
    ),
    ("negative SD", _set("scales.0.reference_sd", -3), "reference_sd must be greater than 0"),
    (
        "zero reliable change",
        _set("scales.0.reliable_change", 0),
        "reliable_change must be greater than 0",
    ),
    ("no scales", _set("scales", []), "'scales' must be a non-empty array"),
    ("items not tables", _set("items", [1, 2]), "[[items]] entry 1 must be a table"),
]


@pytest.mark.parametrize(
    ("edit", "problem"),
    [pytest.param(edit, problem, id=rule) for rule, edit, problem in REJECTIONS],
)
def test_loader_rejects(edit, problem):
    data = copy.deepcopy(base())
    edit(data)
    with pytest.raises(InstrumentFileError) as caught:
        parse(data, "clinic/bad-file.toml")
    message = str(caught.value)
    assert message.startswith("clinic/bad-file.toml: ")
    assert caught.value.path == "clinic/bad-file.toml"
    assert problem in message, message


def test_rejects_invalid_toml():
    with pytest.raises(InstrumentFileError, match=r"^x\.toml: not valid TOML"):
        parse_instrument_text("code = ", "x.toml")


def test_rejects_unreadable_file(tmp_path):
    missing = tmp_path / "nope.toml"
    with pytest.raises(InstrumentFileError) as caught:
        parse_instrument(missing)
    assert str(caught.value).startswith(f"{missing}: cannot read the file")


def test_rejects_non_utf8_file(tmp_path):
    path = tmp_path / "latin1.toml"
    path.write_bytes(b'title = "caf\xe9"\n')
    with pytest.raises(InstrumentFileError, match="not UTF-8"):
        parse_instrument(path)


def test_error_from_a_file_names_the_path(tmp_path):
    data = base()
    data["rater"] = "parent"
    path = tmp_path / "licensed.toml"
    path.write_text(to_toml(data), encoding="utf-8")
    with pytest.raises(InstrumentFileError) as caught:
        parse_instrument(path)
    assert str(caught.value) == (
        f"{path}: top level: 'rater' must be one of client, therapist; got 'parent'"
    )


def test_load_instruments_refuses_a_repeated_version(tmp_path):
    for name in ("a.toml", "b.toml"):
        (tmp_path / name).write_text(to_toml(base()), encoding="utf-8")
    with pytest.raises(InstrumentFileError, match=r"b\.toml: TEST-A v1 is already defined in"):
        load_instruments([tmp_path])


# --------------------------------------------------------------------------------------------
# Signatures and diffs
# --------------------------------------------------------------------------------------------

WORDING_EDITS = [
    _set("items.0.text", "One, reworded"),
    _set("notice", "Another notice."),
    _set("title", "Another title"),
    _set("instructions", "Other instructions."),
    _set("response_scale.labels", ["v", "w", "x", "y", "z"]),
    _set("items.4.labels", ["p", "q", "r", "s"]),
    _set("scales.0.label", "Sum"),
    _set("scales.0.bands.0.label", "Lower"),
    _set("items.0.note", "A note."),
]
STRUCTURE_EDITS = [
    _set("items.1.reverse", False),
    _set("items.0.reverse", True),
    _set("scales.1.items", [1, 3]),
    _set("scales.1.method", "sum"),
    _set("scales.0.max_missing", 0),
    _set("scales.1.higher_is_better", False),
    _set("scales.0.bands.0.max", 8),
    _set("scales.0.reliable_change", 3),
    _set("risk_items", [4]),
    _set("rater", "therapist"),
    _set("items.3.required", False),
    _set("items.4.max", 4),
]


@pytest.mark.parametrize("edit", WORDING_EDITS)
def test_structure_signature_ignores_wording(edit):
    before = parse(base())
    data = base()
    edit(data)
    after = parse(data)
    assert after.structure_signature() == before.structure_signature()
    assert after.wording_signature() != before.wording_signature()
    diff = diff_specs(before, after)
    assert diff.wording_changed and not diff.structure_changed


@pytest.mark.parametrize("edit", STRUCTURE_EDITS)
def test_structure_signature_sees_structure(edit):
    before = parse(base())
    data = base()
    if edit is STRUCTURE_EDITS[-1]:  # a 0-4 item needs five labels
        data["items"][4]["labels"] = ["v", "w", "x", "y", "z"]
    edit(data)
    after = parse(data)
    assert after.structure_signature() != before.structure_signature()
    assert diff_specs(before, after).structure_changed


def test_signatures_are_stable_across_parses():
    one, two = parse(base()), parse(base())
    assert one == two
    assert one.structure_signature() == two.structure_signature()
    assert one.wording_signature() == two.wording_signature()


def test_installing_licensed_wording_keeps_the_rri_structure():
    """Simulate a clinic's licensed RRI-C file: same structure, all wording replaced."""
    path = RRI_DIR / "rri-c-v1.toml"
    text = path.read_text(encoding="utf-8")
    licensed = re.sub(
        r'"RRI-C item (\d+) — install the licensed wording"', r'"Licensed wording of item \1"', text
    )
    licensed = licensed.replace('text_status = "placeholder"', 'text_status = "licensed"')
    licensed = licensed.replace('status = "placeholder"', 'status = "licensed"', 1)
    old = parse_instrument(path)
    new = parse_instrument_text(licensed, "clinic-rri-c.toml")
    assert not new.is_placeholder
    assert new.status == "licensed"
    assert new.structure_signature() == old.structure_signature()
    assert new.wording_signature() != old.wording_signature()
    diff = diff_specs(old, new)
    assert not diff.structure_changed
    assert "item 7 · text: 'RRI-C item 7 — install the licensed wording' → " in "\n".join(
        diff.wording
    )


def test_diff_lists_a_reverse_key_change_as_structure():
    data = base()
    data["items"][1]["reverse"] = False
    diff = diff_specs(parse(base()), parse(data))
    assert diff.structure == ("items · item 2 · reverse: True → False",)
    assert diff.wording == ()


def test_the_example_in_the_docs_is_a_valid_file():
    docs = (ROOT / "docs" / "instruments.md").read_text(encoding="utf-8")
    example = re.search(r"```toml\n(.*?)```", docs, re.S)
    assert example is not None
    spec = parse_instrument_text(example.group(1), "docs/instruments.md")
    assert spec.code == "EXAMPLE"
    assert spec.item(2).reverse
