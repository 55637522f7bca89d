"""The team page's sections computed from frames (outcomes/reports/team/), without a database."""

from __future__ import annotations

import numpy as np
import pandas as pd

from outcomes import measures
from outcomes.analytics import TherapistEffects
from outcomes.reports import team


def test_forest_plot_is_capped_at_the_most_informative_dyads():
    rng = np.random.default_rng(1)
    rows = []
    for d in range(70):
        n = 4 + d % 20
        x = rng.normal(size=n)
        for s, xv in enumerate(x, 1):
            rows.append((d, d % 7, s, xv, 0.4 * xv + rng.normal()))
    pair = pd.DataFrame(rows, columns=["dyad_id", "therapist_id", "session_number", "x", "y"])
    dyads = pd.DataFrame(
        {"client_code": [f"C-{d}" for d in range(70)], "therapist_name": "T"},
        index=pd.Index(range(70), name="dyad_id"),
    )
    rr = measures.Measure("RRI-C", "RRI-C", True, "relationship")
    out = measures.Measure("SESSION-CHECK", "Session check", True, "session_outcome")
    section = team.pooled_section(pair, dyads, rr, out)
    assert section.pooled.k == 70 and len(section.table_rows) == 70
    shown = section.figure["data"][0]["y"]
    assert len(shown) == team.FOREST_CAP
    sizes = pair.groupby("dyad_id").size()
    assert min(sizes[int(label[2:])] for label in shown) >= sizes.sort_values().iloc[-60]
    assert "60 dyads with the most paired sessions" in section.forest_note
    assert "of the 70 pooled; the table lists every dyad" in section.forest_note


def _effects(icc, low, high, *, boundary=False):
    means = pd.DataFrame(columns=["shrunken_mean", "ci_low", "ci_high", "raw_mean"])
    return TherapistEffects(
        therapist_variance=icc,
        dyad_variance=0.2,
        residual_variance=0.8 - icc,
        icc_therapist=icc,
        icc_dyad=icc + 0.2,
        intercept=3.0,
        n_therapists=6,
        n_dyads=14,
        n_obs=70,
        converged=True,
        therapist_means=means,
        icc_therapist_low=low,
        icc_therapist_high=high,
        on_boundary=boundary,
    )


def test_icc_wording_follows_what_the_interval_can_tell():
    clear = team.icc_sentence(_effects(0.12, 0.03, 0.31), "RRI-C")
    assert clear == (
        "Therapists account for an estimated 12% of the variance in RRI-C totals (therapist "
        "ICC .12, 95% interval .03–.31)."
    )
    unsure = team.icc_sentence(_effects(0.04, 0.0, 0.27), "RRI-C")
    assert unsure.startswith("These data cannot tell whether therapists differ in RRI-C")
    assert "anything from 0% to 27% fits them (95% interval .00–.27)" in unsure
    boundary = team.icc_sentence(_effects(0.0, 0.0, 0.18, boundary=True), "RRI-C")
    assert boundary.startswith("These data cannot tell how much therapists differ in RRI-C")
    assert "any therapist share up to 18% fits them" in boundary
    for text in (unsure, boundary):
        assert "account for" not in text


def test_boundary_fit_on_a_small_clinic_says_what_the_data_cannot_tell():
    # 6 therapists × 3 dyads × 4 sessions, no therapist effect at all.
    rng = np.random.default_rng(5)
    therapist = np.repeat(np.arange(6), 12)
    dyad = np.repeat(np.arange(18), 4)
    scores = pd.DataFrame(
        {
            "dyad_id": dyad,
            "therapist_id": therapist,
            "session_number": np.tile(np.arange(1, 5), 18),
            "instrument": "RRI-C",
            "score": 3 + rng.normal(0, 0.5, 18)[dyad] + rng.normal(0, 0.6, 72),
        }
    )
    section = team.therapist_section(scores, "RRI-C", "RRI-C", {})
    assert section.result is not None and section.result.icc_therapist_low == 0.0
    assert section.summary.startswith("These data cannot tell")
    assert "account for 0%" not in section.summary
    assert section.icc_interval.startswith(".00–")
