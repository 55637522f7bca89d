"""The team page's two mixed models at clinic scale: the previous statsmodels fit against
Dyad's per-dyad-sums REML, on a simulated clinic (no database).

    .venv/bin/python bench/mixed_models.py [--skip-statsmodels]

100 therapists × 20 dyads × 30 sessions (60,000 sessions, the bench clinic's shape), once with
no therapist effect (the boundary case that made L-BFGS stop early in statsmodels) and once
with a small one. For each: seconds per fit and the estimates of both methods, printed as a
markdown table. Both clinics' outcome also carries 0.5 × the relationship
score, whose therapist means differ (SD 0.3), so the ICC of the outcome is not 0 even without
a therapist effect of its own. The statsmodels fit is the one Dyad used before: `mixedlm(...,
vc_formula={"dyad": "0 + C(dyad)"})`, REML, Powell then L-BFGS.
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import statsmodels.formula.api as smf

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from outcomes.analytics.multilevel import outcome_on_relationship, therapist_icc  # noqa: E402


def clinic(seed: int, therapist_sd: float) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    a, b, n = 100, 20, 30
    therapist = np.repeat(np.arange(a), b * n)
    dyad = np.repeat(np.arange(a * b), n)
    rr = 4 + rng.normal(0, 0.3, a)[therapist] + rng.normal(0, 0.5, a * b)[dyad]
    rr = rr + rng.normal(0, 0.3, a * b * n)
    outcome = (
        3
        + 0.5 * (rr - 4)
        + rng.normal(0, therapist_sd, a)[therapist]
        + rng.normal(0, 0.5, a * b)[dyad]
        + rng.normal(0, 0.7, a * b * n)
    )
    return pd.DataFrame(
        {
            "therapist_id": therapist,
            "dyad_id": dyad,
            "session_number": np.tile(np.arange(1, n + 1), a * b),
            "rr": rr,
            "score": outcome,
        }
    )


def previous(frame: pd.DataFrame, formula: str = "score ~ 1") -> tuple[float, float, float, float]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = smf.mixedlm(
            formula,
            frame,
            groups="therapist_id",
            re_formula="1",
            vc_formula={"dyad": "0 + C(dyad_id)"},
        )
        result = model.fit(method=["powell", "lbfgs"], reml=True)
    return (
        float(result.cov_re.iloc[0, 0]),
        float(result.vcomp[0]),
        float(result.scale),
        float(result.llf),
    )


def timed(fn, *args, runs: int = 3):
    best, value = float("inf"), None
    for _ in range(runs):
        begin = time.perf_counter()
        value = fn(*args)
        best = min(best, time.perf_counter() - begin)
    return best, value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--skip-statsmodels", action="store_true")
    args = parser.parse_args()
    print("| Clinic | Method | s per fit | τ_v | τ_u | σ² | therapist ICC [95% interval] |")
    print("|---|---|---:|---:|---:|---:|---|")
    clinics = (("therapists differ only through RR", 0.0), ("plus therapist SD 0.2", 0.2))
    for label, sd in clinics:
        frame = clinic(1, sd)
        if not args.skip_statsmodels:
            seconds, (tv, tu, s2, _) = timed(previous, frame, runs=1)
            icc = tv / (tv + tu + s2)
            print(
                f"| {label} | statsmodels, Powell (before) | {seconds:.2f} | {tv:.5f} | "
                f"{tu:.5f} | {s2:.5f} | {icc:.4f} |"
            )
        seconds, got = timed(therapist_icc, frame)
        print(
            f"| {label} | per-dyad sums, L-BFGS-B (now, incl. interval) | {seconds:.2f} | "
            f"{got.therapist_variance:.5f} | {got.dyad_variance:.5f} | "
            f"{got.residual_variance:.5f} | {got.icc_therapist:.4f} "
            f"[{got.icc_therapist_low:.4f}, {got.icc_therapist_high:.4f}] |"
        )
        if not args.skip_statsmodels:
            dyad_mean = frame.groupby("dyad_id")["rr"].transform("mean")
            split = frame.assign(rel_within=frame["rr"] - dyad_mean, rel_between=dyad_mean - 4)
            seconds, (tv, tu, s2, _) = timed(
                previous, split, "score ~ rel_within + rel_between", runs=1
            )
            print(
                f"| {label} | outcome model, statsmodels Powell (before, one fit) | "
                f"{seconds:.2f} | {tv:.5f} | {tu:.5f} | {s2:.5f} | – |"
            )
        seconds, model = timed(outcome_on_relationship, frame, "score", "rr")
        print(
            f"| {label} | outcome model, plain + detrended fits (now) | {seconds:.2f} | "
            f"{model.therapist_variance:.5f} | {model.dyad_variance:.5f} | "
            f"{model.residual_variance:.5f} | – |"
        )


if __name__ == "__main__":
    main()
