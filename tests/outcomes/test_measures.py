"""outcomes/measures.py: which instruments count as what, read from the shipped files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from outcomes import measures
from outcomes.analytics import cronbach_alpha
from rri_forms.instrument_spec import parse_instrument
from tests.test_layout import ROOT, imported_modules

FILES = sorted((ROOT / "rri_forms" / "instruments").glob("*.toml")) + sorted(
    (ROOT / "outcomes" / "instruments").glob("*.toml")
)


@pytest.fixture(scope="module")
def specs():
    return {spec.code: spec for spec in map(parse_instrument, FILES)}


def test_measures_is_pure():
    """The pure page-building code imports it, so it must not import Django or the models."""
    path = Path(measures.__file__)
    bad = [m for _line, m in imported_modules(path) if m.split(".")[0] in ("django", "clinic")]
    assert bad == []
    assert not [m for _l, m in imported_modules(path) if m.startswith("rri_forms.models")]


def test_relationship_measures_come_from_kind_and_rater(specs):
    assert measures.relationship_codes(specs) == ["RRI-C", "RRI-C-12", "RRI-C-SF", "RRI-T"]
    assert measures.relationship_codes(specs, rater="client") == ["RRI-C", "RRI-C-12", "RRI-C-SF"]
    assert measures.relationship_codes(specs, rater="therapist") == ["RRI-T"]
    assert measures.relationship_codes(specs, present={"RRI-C-SF", "PHQ-9"}) == ["RRI-C-SF"]
    assert measures.first_relationship(specs, "client", {"RRI-C-SF", "RRI-C-12"}) == "RRI-C-12"
    assert measures.first_relationship(specs, "client", {"RRI-T"}) is None


def test_outcomes_and_the_default_outcome(specs):
    assert measures.outcome_codes(specs) == ["SESSION-CHECK", "PROGRESS-T", "GAD-7", "PHQ-9"]
    assert measures.default_outcome(specs) == "SESSION-CHECK"
    assert measures.default_outcome(specs, {"PHQ-9", "PROGRESS-T"}) == "PROGRESS-T"
    assert measures.default_outcome(specs, {"RRI-C"}) is None
    assert all(measures.has_total(spec) for spec in specs.values())


def test_measure_of_an_unknown_code_is_named_by_itself(specs):
    assert measures.measure_of("RRI-C", specs) == measures.Measure(
        "RRI-C", specs["RRI-C"].short_title, True, "relationship"
    )
    assert measures.measure_of("WAI", specs) == measures.Measure("WAI", "WAI", True, "relationship")


def test_alpha_is_on_keyed_values(specs):
    """Reverse-keyed items are flipped by `ItemSpec.keyed` before alpha, as in scoring."""
    spec = specs["RRI-C"]
    reverse = [item for item in spec.items if item.reverse]
    assert reverse, "the RRI-C has reverse-keyed items"
    rng = np.random.default_rng(3)
    latent = rng.integers(1, 6, size=40)
    rows = []
    for administration, level in enumerate(latent):
        for item in spec.items:
            keyed = int(np.clip(level + rng.integers(-1, 2), 1, 5))
            rows.append((administration, item.number, item.keyed(keyed)))
    answers = pd.DataFrame(rows, columns=list(measures.ANSWER_COLUMNS))
    keyed = measures.keyed_items(answers, spec)
    for item in spec.items:
        raw = answers[answers["item"] == item.number].set_index("administration")["value"]
        assert keyed[item.number].tolist() == [float(item.keyed(v)) for v in raw]
    total = spec.scale("total")
    expected = cronbach_alpha(keyed.reindex(columns=list(total.items)))
    assert measures.alpha_of(answers, spec) == pytest.approx(expected)
    assert measures.alpha_of(answers, spec) > 0.8
    raw_alpha = cronbach_alpha(
        answers.pivot(index="administration", columns="item", values="value")
    )
    assert raw_alpha < measures.alpha_of(answers, spec)
    assert measures.alpha_of(answers.iloc[0:0], spec) is None
