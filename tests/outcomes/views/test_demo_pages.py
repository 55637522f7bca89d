"""The seeded demo clinic as a new user meets it: the supervisor's analytics are fitted, and
the numbers on the pages equal the same statistics recomputed from the CSV export alone.

The recomputation uses only pandas, scipy and statsmodels on the downloaded file, never the
project's analytics code, so a mistake in a selector, a formula or a template shows up as a
disagreement.
"""

from __future__ import annotations

import html
import io
import json
import re

import numpy as np
import pandas as pd
import pytest
from django.core.cache import cache
from django.urls import reverse
from scipy import stats
from statsmodels.stats.meta_analysis import combine_effects

from clinic.demo import build_demo
from clinic.models import StaffMember
from rri_forms.demo import add_demo_forms, refresh_statistics
from tests.conftest import CsrfClient, verify_second_factor

pytestmark = pytest.mark.django_db

RR, OUTCOME = "RRI-C", "SESSION-CHECK"
MIN_PAIRS = 4  # the documented minimum of paired sessions for a within-dyad r


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def demo():
    main, other = build_demo()
    facts = add_demo_forms(main)
    add_demo_forms(other)
    refresh_statistics()  # as seed_demo does: without statistics a plan can take minutes
    return facts


def _sign_in(username: str) -> CsrfClient:
    user = StaffMember.objects.get(user__username=username).user
    http = CsrfClient()
    http.force_login(user)
    verify_second_factor(http, user)
    return http


def _figures(body: str) -> dict[str, dict]:
    script = r'<script id="figure-([a-z-]+)" type="application/json">(.*?)</script>'
    found = re.findall(script, body)
    return {key: json.loads(text) for key, text in found}


def _stat(body: str, label: str) -> str:
    match = re.search(
        rf"<th scope=\"row\">{re.escape(html.escape(label))}</th><td[^>]*>(.*?)</td>", body
    )
    assert match, label
    return html.unescape(match.group(1))


def _number(text: str) -> float:
    """'.383' / '-.12' / '0.45' as a float."""
    return float(text.replace("−", "-"))


def _exported_totals(http: CsrfClient, query: str = "") -> pd.DataFrame:
    """The CSV long export, downloaded through its URL: one total per (dyad, session, code)."""
    response = http.get(reverse("export_csv_long") + query)
    assert response.status_code == 200
    text = b"".join(response.streaming_content).decode()
    frame = pd.read_csv(io.StringIO(text))
    frame = frame.dropna(subset=["total"])
    return frame.pivot_table(
        index=["dyad_id", "session_number"], columns="instrument", values="total", aggfunc="first"
    )


def test_demo_supervisor_sees_fitted_therapist_model_and_pooled_association(demo):
    body = _sign_in("supervisor").get(reverse("team_analytics")).content.decode()
    assert 'id="icc-empty"' not in body and 'id="icc-pending"' not in body
    assert 'id="pooled-empty"' not in body and 'id="model-empty"' not in body
    assert _stat(body, "Therapists") == "5"
    icc = float(_stat(body, "Therapist ICC"))
    assert 0.0 <= icc < 1.0
    assert 'id="icc-summary"' in body and 'id="chart-therapists"' in body
    assert int(_stat(body, "Dyads pooled (k)")) >= 10
    assert -1 < _number(_stat(body, "Pooled r")) < 1
    assert 'id="model-table"' in body
    # The second supervisor too: each has five therapists of their own.
    other = _sign_in("supervisor2").get(reverse("team_analytics")).content.decode()
    assert 'id="icc-empty"' not in other and _stat(other, "Therapists") == "5"


def test_demo_rupture_dyads_show_their_alert_with_its_reason(demo):
    """Thresholds from the demo clinic's own first sessions (at least 30 of them) flag each
    seeded rupture at its session, in words, linked to the session."""
    http = _sign_in("admin")
    for dyad_id, number in demo["rupture_sessions"].items():
        body = http.get(reverse("dyad_detail", args=[dyad_id])).content.decode()
        start, end = body.index('id="alerts-h"'), body.index('id="h-relationship"')
        alerts = html.unescape(body[start:end])
        assert re.search(
            rf"Session {number}</a>: RRI-C total fell from [\d.]+ at session {number - 1} to "
            rf"[\d.]+ at session {number}",
            alerts,
        ), alerts
        assert "this clinic's data" in alerts and "first-session scores" in alerts


def _within(frame: pd.DataFrame) -> tuple[float, float, float, int]:
    both = frame[[RR, OUTCOME]].dropna()
    result = stats.pearsonr(both[RR], both[OUTCOME])
    ci = result.confidence_interval(0.95)
    return float(result.statistic), float(ci.low), float(ci.high), len(both)


def _lagged_pairs(frame: pd.DataFrame) -> pd.DataFrame:
    by_session = frame.reset_index("dyad_id", drop=True)
    y_next = by_session[OUTCOME].reindex(by_session.index + 1).to_numpy()
    return pd.DataFrame({"x": by_session[RR].to_numpy(), "y": y_next}).dropna()


def _lagged(frame: pd.DataFrame) -> tuple[float, float, float, int]:
    pairs = _lagged_pairs(frame)
    result = stats.pearsonr(pairs["x"], pairs["y"])
    ci = result.confidence_interval(0.95)
    return float(result.statistic), float(ci.low), float(ci.high), len(pairs)


def _shown_pair(body: str) -> tuple[str, str]:
    """The dyad page's RRI-C × SESSION-CHECK row: (same session, next session) cells."""
    rows = re.findall(
        r"<tr><td>([^<]+)</td><td>([^<]+)</td>\s*<td>(.*?)</td>\s*<td>(.*?)</td></tr>", body, re.S
    )
    (row,) = [r for r in rows if r[0] == RR and r[1] == OUTCOME]
    return html.unescape(row[2]), html.unescape(row[3])


def _close(shown: str, expected: tuple[float, float, float, int]) -> None:
    match = re.fullmatch(r"r = (\S+) \[(\S+), (\S+)\], n = (\d+)", shown)
    assert match, shown
    r, low, high, n = expected
    assert int(match.group(4)) == n
    for text, value in zip(match.groups()[:3], (r, low, high), strict=True):
        assert abs(float(text) - value) <= 0.005 + 1e-9, (shown, expected)


def test_dyad_page_numbers_equal_statistics_from_the_export(demo):
    http = _sign_in("supervisor")
    totals = _exported_totals(http)
    # The supervised dyad with the most paired sessions (then the lowest id): a stable choice.
    paired = totals[[RR, OUTCOME]].dropna().groupby(level="dyad_id").size()
    dyad_id = int(paired.sort_values(ascending=False, kind="stable").index[0])
    assert paired[dyad_id] >= 10
    frame = totals.xs(dyad_id, level="dyad_id", drop_level=False).sort_index()

    body = http.get(reverse("dyad_detail", args=[dyad_id])).content.decode()
    same_shown, next_shown = _shown_pair(body)
    _close(same_shown, _within(frame))
    _close(next_shown, _lagged(frame))

    # The chart's points are the exported scores themselves.
    scatter = _figures(body)["scatter"]["data"][0]
    both = frame[[RR, OUTCOME]].dropna()
    assert scatter["x"] == pytest.approx(both[RR].to_list(), abs=1e-12)
    assert scatter["y"] == pytest.approx(both[OUTCOME].to_list(), abs=1e-12)
    lagged = _figures(body)["lagged"]["data"][0]
    pairs = _lagged_pairs(frame)
    assert lagged["x"] == pytest.approx(pairs["x"].to_list(), abs=1e-12)
    assert lagged["y"] == pytest.approx(pairs["y"].to_list(), abs=1e-12)


def test_team_page_numbers_equal_statistics_from_the_export(demo):
    http = _sign_in("supervisor")
    totals = _exported_totals(http)
    body = http.get(reverse("team_analytics") + f"?rr={RR}&outcome={OUTCOME}").content.decode()

    # Pooled within-dyad r: each dyad's Pearson r, DerSimonian–Laird on Fisher z.
    r, n = [], []
    for _dyad, frame in totals[[RR, OUTCOME]].dropna().groupby(level="dyad_id"):
        if len(frame) < MIN_PAIRS or frame[RR].nunique() < 2 or frame[OUTCOME].nunique() < 2:
            continue
        rho = stats.pearsonr(frame[RR], frame[OUTCOME]).statistic
        if abs(rho) < 1 - 1e-9:
            r.append(float(rho))
            n.append(len(frame))
    assert len(r) >= 10
    ref = combine_effects(np.arctanh(r), 1 / (np.asarray(n) - 3.0), method_re="dl")
    # statsmodels leaves τ² negative when Q < df; DerSimonian–Laird (and the page, see
    # docs/analytics.md) truncates it at 0, where the random-effects pool is the fixed-effect one.
    row = "random effect" if ref.tau2 >= 0 else "fixed effect"
    estimate = ref.summary_frame().loc[row]
    pooled, low, high = np.tanh(estimate[["eff", "ci_low", "ci_upp"]].to_numpy(float))
    assert _stat(body, "τ²") == f"{max(0.0, float(ref.tau2)):.4f}"
    assert _stat(body, "Q") == f"{float(ref.q):.2f}"

    assert _stat(body, "Dyads pooled (k)") == str(len(r))
    assert _stat(body, "Paired sessions (n)") == f"{sum(n):,}"
    assert abs(_number(_stat(body, "Pooled r")) - pooled) <= 0.0005 + 1e-9
    shown_low, shown_high = _stat(body, "95% CI").strip("[]").split(", ")
    assert abs(_number(shown_low) - low) <= 0.0005 + 1e-9
    assert abs(_number(shown_high) - high) <= 0.0005 + 1e-9
    forest = _figures(body)["pooled"]
    trace = next(t for t in forest["data"] if t["name"].startswith("This clinic"))
    assert abs(trace["x"][0] - pooled) < 1e-9
    assert abs(trace["x"][0] - trace["error_x"]["arrayminus"][0] - low) < 1e-9
    assert abs(trace["x"][0] + trace["error_x"]["array"][0] - high) < 1e-9

    # Between dyads: mean relationship vs outcome change, last minus first rated session.
    rel_mean = totals[RR].dropna().groupby(level="dyad_id").mean()
    outcome = totals[OUTCOME].dropna().sort_index()
    grouped = outcome.groupby(level="dyad_id")
    change = (grouped.last() - grouped.first())[grouped.size() >= 2]
    between = pd.concat({"mean": rel_mean, "change": change}, axis=1).dropna()
    result = stats.pearsonr(between["mean"], between["change"])
    ci = result.confidence_interval(0.95)
    summary = html.unescape(re.search(r'<p id="between-summary">(.*?)</p>', body).group(1))
    match = re.search(r"r = (\S+), 95% CI \[(\S+), (\S+)\]", summary)
    assert match, summary
    for text, value in zip(match.groups(), (result.statistic, ci.low, ci.high), strict=True):
        assert abs(_number(text) - value) <= 0.005 + 1e-9, (summary, value)
    points = _figures(body)["between"]["data"][0]
    shown = sorted(zip(points["x"], points["y"], strict=True))
    expected = sorted(zip(between["mean"], between["change"], strict=True))
    assert np.allclose(shown, expected, atol=1e-9)
    assert abs(np.corrcoef(*zip(*shown, strict=True))[0, 1] - result.statistic) < 1e-9
