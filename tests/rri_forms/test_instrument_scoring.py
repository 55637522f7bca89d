"""Scoring answers against instrument specs. Every expected value is worked by hand below."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rri_forms.instrument_spec import load_instruments, parse_instrument_text
from rri_forms.scoring import (
    band_for,
    score_answers,
    validate_answers,
)

ROOT = Path(__file__).resolve().parents[2]
SPECS = {
    spec.code: spec
    for spec in load_instruments(
        [ROOT / "rri_forms" / "instruments", ROOT / "outcomes" / "instruments"]
    )
}

# Items 1-4 on 1-5, item 2 reverse-keyed; item 5 unscored, optional, 0-3.
# "total": mean of 1-4, one missing allowed. "pair": sum of 1+2, prorated, one missing allowed,
# bands 2-4 / 5-7 / 8-10. "trio": sum of 1, 3, 4, prorated, one missing allowed, bands 3-7 and
# 8-15 (a prorated score can land between them). "strict": sum of 3+4, none missing, bands with
# a wide gap (2-3, 8-10). Risk: item 3 answered above 3.
TOML = """
code = "TEST-S"
version = "1"
title = "Scoring test"
short_title = "Test"
rater = "client"
kind = "session_outcome"
status = "licensed"
validated = true
instructions = "Rate."
notice = "Test."
risk_items = [3]
risk_threshold = 3

[response_scale]
min = 1
max = 5
labels = ["a", "b", "c", "d", "e"]

[[items]]
number = 1
text = "One"
reverse = false
text_status = "licensed"

[[items]]
number = 2
text = "Two"
reverse = true
text_status = "licensed"

[[items]]
number = 3
text = "Three"
reverse = false
text_status = "licensed"

[[items]]
number = 4
text = "Four"
reverse = false
text_status = "licensed"

[[items]]
number = 5
text = "Extra"
reverse = false
text_status = "licensed"
scored = false
required = false
min = 0
max = 3
labels = ["w", "x", "y", "z"]

[[scales]]
name = "total"
label = "Total"
items = [1, 2, 3, 4]
method = "mean"
max_missing = 1
higher_is_better = true

[[scales]]
name = "pair"
label = "Pair"
items = [1, 2]
method = "sum"
max_missing = 1
prorate = true
higher_is_better = true
[[scales.bands]]
min = 2
max = 4
label = "low"
[[scales.bands]]
min = 5
max = 7
label = "mid"
[[scales.bands]]
min = 8
max = 10
label = "high"

[[scales]]
name = "trio"
label = "Trio"
items = [1, 3, 4]
method = "sum"
max_missing = 1
prorate = true
higher_is_better = true
[[scales.bands]]
min = 3
max = 7
label = "lower"
[[scales.bands]]
min = 8
max = 15
label = "upper"

[[scales]]
name = "strict"
label = "Strict"
items = [3, 4]
method = "sum"
max_missing = 0
higher_is_better = false
reference_sd = 10
reference_reliability = 0.91
[[scales.bands]]
min = 2
max = 3
label = "bottom"
[[scales.bands]]
min = 8
max = 10
label = "top"
"""
SPEC = parse_instrument_text(TOML, "scoring-test.toml")

# answers -> expected (total, pair, trio, strict), risk items, missing
# Keyed value of item 2 = 1 + 5 - answer = 6 - answer.
TABLE = [
    # 5, 6-1=5, 3, 4 -> mean 17/4; pair 5+5=10; trio 5+3+4=12; strict 3+4=7
    ({1: 5, 2: 1, 3: 3, 4: 4}, (4.25, 10.0, 12.0, 7.0), [], []),
    # 1, 6-5=1, 1, 1 -> mean 1; pair 2; trio 3; strict 2
    ({1: 1, 2: 5, 3: 1, 4: 1}, (1.0, 2.0, 3.0, 2.0), [], []),
    # 3, 6-3=3, 3, 3 -> all threes
    ({1: 3, 2: 3, 3: 3, 4: 3, 5: 0}, (3.0, 6.0, 9.0, 6.0), [], []),
    # item 2 missing: mean (3+4+2)/3 = 3; pair 3 * 2/1 = 6 prorated; trio 3+4+2 = 9; strict 6
    ({1: 3, 2: None, 3: 4, 4: 2}, (3.0, 6.0, 9.0, 6.0), [3], [2]),
    # items 1 and 2 missing: total 2 missing > 1 -> None; pair none answered -> None;
    # trio (5+5) * 3/2 = 15; strict 10
    ({3: 5, 4: 5}, (None, None, 15.0, 10.0), [3], [1, 2]),
    # item 4 missing: total (2 + 6-4 + 4)/3 = 8/3; pair 2+2 = 4; trio (2+4) * 3/2 = 9;
    # strict needs both -> None
    ({1: 2, 2: 4, 3: 4}, (8 / 3, 4.0, 9.0, None), [3], [4]),
    # nothing answered
    ({}, (None, None, None, None), [], [1, 2, 3, 4]),
]


@pytest.mark.parametrize(("answers", "expected", "risk", "missing"), TABLE)
def test_scoring_table(answers, expected, risk, missing):
    result = score_answers(SPEC, answers)
    assert result.scales == dict(zip(("total", "pair", "trio", "strict"), expected, strict=True))
    assert result.risk_items == risk
    assert result.has_risk is bool(risk)
    assert result.missing == missing


def test_answered_counts_per_scale():
    result = score_answers(SPEC, {1: 2, 2: 4, 3: 4})
    assert result.answered == {"total": 3, "pair": 2, "trio": 2, "strict": 1}


def test_scores_are_floats_and_not_rounded():
    result = score_answers(SPEC, {1: 2, 2: 4, 3: 4})
    assert result.scales["total"] == 8 / 3  # 2.666…, stored as is
    assert all(isinstance(v, float) for v in result.scales.values() if v is not None)


def test_reverse_key_uses_min_plus_max_minus_value():
    for answer, keyed in [(1, 5), (2, 4), (3, 3), (4, 2), (5, 1)]:
        assert SPEC.item(2).keyed(answer) == keyed
        # pair with item 1 missing is item 2 keyed, prorated x2
        assert score_answers(SPEC, {2: answer}).scales["pair"] == keyed * 2.0


@pytest.mark.parametrize(
    ("answers", "band"),
    [
        ({1: 1, 2: 5}, "low"),  # 1 + 1 = 2, bottom edge
        ({1: 3, 2: 5}, "low"),  # 3 + 1 = 4, top edge of low
        ({1: 4, 2: 5}, "mid"),  # 4 + 1 = 5, bottom edge of mid
        ({1: 5, 2: 4}, "mid"),  # 5 + 2 = 7
        ({1: 5, 2: 3}, "high"),  # 5 + 3 = 8
        ({1: 5, 2: 1}, "high"),  # 5 + 5 = 10, top edge
    ],
)
def test_bands_at_their_edges(answers, band):
    assert score_answers(SPEC, answers).bands["pair"] == band


def test_prorated_score_between_bands_belongs_to_the_lower_band():
    # trio with item 4 missing: (2 + 3) * 3/2 = 7.5, between "lower" (3-7) and "upper" (8-15):
    # it has not reached the 8 cut-off.
    result = score_answers(SPEC, {1: 2, 3: 3})
    assert result.scales["trio"] == 7.5
    assert result.bands["trio"] == "lower"


def test_score_in_a_wide_gap_gets_no_band():
    result = score_answers(SPEC, {3: 3, 4: 3})  # strict = 6, between 2-3 and 8-10
    assert result.scales["strict"] == 6.0
    assert "strict" not in result.bands
    assert band_for(SPEC.scale("strict"), 2.0) == "bottom"
    assert band_for(SPEC.scale("strict"), 3.5) is None


def test_no_band_without_a_score():
    result = score_answers(SPEC, {3: 5})
    assert result.scales["pair"] is None
    assert "pair" not in result.bands


def test_risk_flag_is_an_answer_above_the_threshold():
    assert score_answers(SPEC, {3: 3}).risk_items == []  # threshold 3: not above
    assert score_answers(SPEC, {3: 4}).risk_items == [3]
    assert score_answers(SPEC, {3: None}).risk_items == []


def test_unscored_item_has_its_own_range_and_no_score():
    result = score_answers(SPEC, {1: 3, 2: 3, 3: 3, 4: 3, 5: 0})  # 0 is fine on item 5 (0-3)
    assert result.scales["total"] == 3.0
    with pytest.raises(ValueError, match="item 5: answer 4 is outside 0-3"):
        score_answers(SPEC, {5: 4})


@pytest.mark.parametrize(
    ("answers", "message"),
    [
        ({1: 0}, "item 1: answer 0 is outside 1-5"),
        ({1: 6}, "item 1: answer 6 is outside 1-5"),
        ({9: 1}, "has no item 9"),
        ({0: 1}, "has no item 0"),
        ({"1": 1}, "has no item '1'"),
        ({True: 1}, "has no item True"),
        ({1: 2.0}, "item 1: answer 2.0 is not a whole number"),
        ({1: True}, "item 1: answer True is not a whole number"),
        ({1: "3"}, "item 1: answer '3' is not a whole number"),
    ],
)
def test_bad_answers_raise_value_error(answers, message):
    with pytest.raises(ValueError, match=message):
        score_answers(SPEC, answers)


def test_validate_answers_drops_unanswered():
    assert validate_answers(SPEC, {1: 2, 2: None}) == {1: 2}


def _phq(total: int, item9: int = 0, functional: int | None = None) -> dict[int, int | None]:
    """PHQ-9 answers summing to ``total``: fill items 1-8 with 3s, then the remainder."""
    answers: dict[int, int | None] = {9: item9}
    rest = total - item9
    for number in range(1, 9):
        answers[number] = min(3, rest)
        rest -= answers[number]
    assert rest == 0
    answers[10] = functional
    return answers


@pytest.mark.parametrize(
    ("total", "band"),
    [
        (0, "Minimal"),
        (4, "Minimal"),
        (5, "Mild"),
        (9, "Mild"),
        (10, "Moderate"),
        (14, "Moderate"),
        (15, "Moderately severe"),
        (19, "Moderately severe"),
        (20, "Severe"),
        (24, "Severe"),
    ],
)
def test_phq9_bands_at_their_edges(total, band):
    result = score_answers(SPECS["PHQ-9"], _phq(total))
    assert result.scales["total"] == float(total)
    assert result.bands["total"] == band
    assert result.missing == []  # the functional item is optional


def test_phq9_maximum_and_risk_item():
    result = score_answers(SPECS["PHQ-9"], _phq(27, item9=3, functional=3))
    assert result.scales["total"] == 27.0
    assert result.bands["total"] == "Severe"
    assert result.risk_items == [9]
    assert score_answers(SPECS["PHQ-9"], _phq(5, item9=1)).risk_items == [9]
    assert score_answers(SPECS["PHQ-9"], _phq(5, item9=0)).risk_items == []


def test_phq9_needs_every_scored_item():
    answers = _phq(12)
    answers[4] = None
    result = score_answers(SPECS["PHQ-9"], answers)
    assert result.scales["total"] is None
    assert result.bands == {}
    assert result.missing == [4]


def test_phq9_functional_item_does_not_change_the_score():
    spec = SPECS["PHQ-9"]
    assert score_answers(spec, _phq(8, functional=3)).scales == score_answers(spec, _phq(8)).scales


@pytest.mark.parametrize(
    ("answers", "total", "band"),
    [
        ([0, 0, 0, 0, 0, 0, 0], 0, "Minimal"),
        ([1, 1, 1, 1, 0, 0, 0], 4, "Minimal"),
        ([1, 1, 1, 1, 1, 0, 0], 5, "Mild"),
        ([3, 3, 3, 0, 0, 0, 0], 9, "Mild"),
        ([3, 3, 3, 1, 0, 0, 0], 10, "Moderate"),
        ([2, 2, 2, 2, 2, 2, 2], 14, "Moderate"),
        ([3, 3, 3, 3, 3, 0, 0], 15, "Severe"),
        ([3, 3, 3, 3, 3, 3, 3], 21, "Severe"),
    ],
)
def test_gad7_bands(answers, total, band):
    result = score_answers(SPECS["GAD-7"], dict(enumerate(answers, start=1)))
    assert result.scales["total"] == float(total)
    assert result.bands["total"] == band
    assert result.risk_items == []


def test_rri_c_reverse_keys_and_mean():
    spec = SPECS["RRI-C"]
    # Everything "strongly agree" (5). Item 2 is reverse keyed -> 1.
    result = score_answers(spec, dict.fromkeys(range(1, 25), 5))
    assert result.scales["total"] == (23 * 5 + 1) / 24
    assert result.scales["realism"] == (11 * 5 + 1) / 12  # items 1-12 include item 2
    assert result.scales["genuineness"] == 5.0


def test_rri_t_reverse_keys():
    spec = SPECS["RRI-T"]
    # All 4s; items 13 and 14 are reverse keyed -> 2 each.
    result = score_answers(spec, dict.fromkeys(range(1, 25), 4))
    assert result.scales["genuineness"] == (10 * 4 + 2 + 2) / 12
    assert result.scales["realism"] == 4.0
    assert result.scales["total"] == (22 * 4 + 4) / 24


def test_rri_c_max_missing_boundary():
    spec = SPECS["RRI-C"]
    answers = dict.fromkeys(range(1, 25), 3)
    for number in (3, 4, 5, 6):  # four realism items missing: realism allows 2
        answers[number] = None
    result = score_answers(spec, answers)
    assert result.scales["total"] == 3.0  # 4 missing of 24 is the limit
    assert result.scales["realism"] is None
    assert result.scales["genuineness"] == 3.0
    answers[7] = None
    assert score_answers(spec, answers).scales["total"] is None  # 5 missing


def test_rri_c_sf_subscales_need_all_four_items():
    spec = SPECS["RRI-C-SF"]
    answers = dict.fromkeys(range(1, 9), 4)
    answers[8] = None
    result = score_answers(spec, answers)
    assert result.scales == {"total": 4.0, "realism": 4.0, "genuineness": None}


def test_session_check_allows_one_skip():
    spec = SPECS["SESSION-CHECK"]
    assert score_answers(spec, {1: 5, 2: 4, 3: 3, 4: None}).scales["total"] == 4.0
    assert score_answers(spec, {1: 5, 2: 4}).scales["total"] is None


def test_progress_rating_mean():
    spec = SPECS["PROGRESS-T"]
    assert score_answers(spec, {1: 2, 2: 3, 3: 5}).scales["total"] == 10 / 3
    assert score_answers(spec, {1: 2, 2: 3}).scales["total"] is None


# --------------------------------------------------------------------------------------------
# Property: any complete in-range answer set scores within every scale's possible range
# --------------------------------------------------------------------------------------------

ALL_SPECS = [SPEC, *SPECS.values()]


@st.composite
def complete_answers(draw):
    spec = draw(st.sampled_from(ALL_SPECS))
    answers = {
        item.number: draw(st.integers(item.response_scale.min, item.response_scale.max))
        for item in spec.items
    }
    return spec, answers


@st.composite
def partial_answers(draw):
    spec = draw(st.sampled_from(ALL_SPECS))
    answers = {
        item.number: draw(st.none() | st.integers(item.response_scale.min, item.response_scale.max))
        for item in spec.items
    }
    return spec, answers


@settings(max_examples=300, deadline=None)
@given(complete_answers())
def test_complete_answers_score_within_range(case):
    spec, answers = case
    result = score_answers(spec, answers)
    assert result.missing == []
    for scale in spec.scales:
        low, high = spec.scale_range(scale.name)
        score = result.scales[scale.name]
        assert score is not None
        assert low <= score <= high
        contiguous = all(
            b.min == a.max + 1 for a, b in zip(scale.bands, scale.bands[1:], strict=False)
        )
        if scale.bands and contiguous and scale.bands[0].min <= score <= scale.bands[-1].max:
            # contiguous integer bands leave no complete (integer) sum without a band
            assert scale.name in result.bands


@settings(max_examples=300, deadline=None)
@given(partial_answers())
def test_partial_answers_score_within_range_or_none(case):
    spec, answers = case
    result = score_answers(spec, answers)
    for scale in spec.scales:
        low, high = spec.scale_range(scale.name)
        score = result.scales[scale.name]
        n_missing = sum(answers[n] is None for n in scale.items)
        if n_missing > scale.max_missing or n_missing == len(scale.items):
            assert score is None
        else:
            assert score is not None
            assert low - 1e-9 <= score <= high + 1e-9
