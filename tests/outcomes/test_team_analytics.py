"""The team / clinic analytics page (/analytics/): numbers, scope, empty states, caching."""

from __future__ import annotations

import datetime
import gc
import html
import json
import re

import numpy as np
import pandas as pd
import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from scipy import stats
from statsmodels.stats.meta_analysis import combine_effects

from clinic.models import TherapySession
from outcomes.analytics import BENCHMARK_NOTE
from outcomes.reports import team
from rri_forms.models import Answer, Instrument, Score
from tests.conftest import verify_second_factor
from tests.factories import ClientFactory, DyadFactory, StaffFactory, SupervisionFactory
from tests.outcomes.conftest import add_sessions, rate

pytestmark = pytest.mark.django_db

URL = "/analytics/"

# Per dyad: (RRI-C levels, SESSION-CHECK levels). Dyads 1-3 differ sharply (heterogeneity, so
# Q > df and statsmodels' untruncated τ² equals ours); the last three are left out of the pool
# for three different reasons.
DYADS = {
    "P-01": ([2, 3, 4, 5, 4, 3, 2, 3], [2, 3, 5, 5, 4, 3, 1, 3]),
    "P-02": ([1, 2, 3, 4, 5, 5, 4, 3], [2, 2, 3, 5, 4, 5, 4, 2]),
    "P-03": ([5, 4, 3, 2, 1, 2, 3, 4], [1, 2, 3, 4, 5, 4, 2, 2]),
    "P-04": ([3, 4, 3, 4, 3, 4], [3, 3, 4, 4, 2, 5]),
    "P-05": ([2, 3, 4, 5], [5, 4, 3, 3]),
    "P-06": ([1, 2, 3, 4], [2, 3, 4, 5]),  # r = 1: infinite Fisher z, left out
    "P-07": ([1, 2, 3, 4], [3, 3, 3, 3]),  # outcome constant: no r
    "P-08": ([1, 2, 3], [1, 2, 3]),  # 3 paired sessions: below the minimum
}


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()
    yield
    cache.clear()


def _dyad(therapist, code, rr, outcome, *, started=None):
    client = ClientFactory(clinic=therapist.clinic, code=code)
    dyad = DyadFactory(therapist=therapist, client=client)
    if started is not None:
        dyad.started_on = started
        dyad.save(update_fields=["started_on"])
    add_sessions(dyad, [(c, c, o) for c, o in zip(rr, outcome, strict=True)])
    return dyad


@pytest.fixture
def pool_clinic(personas):
    """DYADS: P-01..P-05 and P-08 under therapist A1 (supervised), P-06/P-07 under A2."""
    p = personas
    for code, (rr, outcome) in DYADS.items():
        therapist = p.therapist_a2 if code in ("P-06", "P-07") else p.therapist_a1
        _dyad(therapist, code, rr, outcome)
    return p


def _get(login, persona, query=""):
    response = login(persona).get(URL + query)
    assert response.status_code == 200, response.status_code
    return response.content.decode()


def _figures(body):
    found = re.findall(r'<script id="figure-([a-z]+)" type="application/json">(.*?)</script>', body)
    return {key: json.loads(text) for key, text in found}


def _stat(body, label):
    match = re.search(
        rf"<th scope=\"row\">{re.escape(html.escape(label))}</th><td[^>]*>(.*?)</td>", body
    )
    assert match, label
    return html.unescape(match.group(1))


def _r(value, digits=3):
    return team.fmt_r(value, digits)


def _stored_pairs(clinic, x="RRI-C", y="SESSION-CHECK"):
    """Per dyad (x, y) totals straight from the Score table, independent of the page's code."""
    rows = Score.objects.filter(
        scale="total",
        administration__dyad__clinic=clinic,
        administration__instrument_code__in=[x, y],
    ).values_list(
        "administration__dyad_id",
        "administration__session__number",
        "administration__instrument_code",
        "value",
    )
    wide = (
        pd.DataFrame(list(rows), columns=["dyad", "session", "code", "value"])
        .pivot_table(index=["dyad", "session"], columns="code", values="value")
        .dropna()
    )
    return {d: (g[x].to_numpy(), g[y].to_numpy()) for d, g in wide.groupby(level="dyad")}


# --- Access ----------------------------------------------------------------------------------


def test_url_name():
    assert reverse("team_analytics") == URL


def test_therapists_get_403_anonymous_go_to_login(personas, login):
    assert login("therapist_a1").get(URL).status_code == 403
    assert login("therapist_b1").get(URL).status_code == 403
    response = login("anonymous").get(URL)
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
    assert login("supervisor_a").get(URL).status_code == 200
    assert login("admin_a").get(URL).status_code == 200


def test_nav_links_for_supervisors_and_admins_only(personas, login):
    link = f'href="{URL}"'
    assert link in login("admin_a").get(reverse("caseload")).content.decode()
    assert link in login("supervisor_a").get(reverse("caseload")).content.decode()
    assert link not in login("therapist_a1").get(reverse("caseload")).content.decode()


# --- 1. Pooled within-dyad association -------------------------------------------------------


def test_pooled_numbers_equal_statsmodels(pool_clinic, login):
    p = pool_clinic
    body = _get(login, "admin_a")

    r, n = [], []
    for x, y in _stored_pairs(p.clinic_a).values():
        if len(x) < 4 or np.all(y == y[0]) or np.all(x == x[0]):
            continue
        rho = stats.pearsonr(x, y).statistic
        if abs(rho) > 1 - 1e-9:
            continue
        r.append(rho)
        n.append(len(x))
    assert len(r) == 5
    z, v = np.arctanh(r), 1 / (np.asarray(n) - 3.0)
    ref = combine_effects(z, v, method_re="dl")
    q = float(ref.q)
    assert q > len(r) - 1  # heterogeneous, so τ² is not truncated and must match exactly
    low, high = np.tanh(ref.conf_int(use_t=False)[1])  # random effects row

    assert _stat(body, "Dyads pooled (k)") == "5"
    assert _stat(body, "Paired sessions (n)") == str(sum(n))
    assert _stat(body, "Pooled r") == _r(np.tanh(ref.mean_effect_re))
    assert _stat(body, "95% CI") == f"[{_r(low)}, {_r(high)}]"
    assert _stat(body, "τ²") == f"{ref.tau2:.4f}"
    assert _stat(body, "Q") == f"{q:.2f}"
    assert _stat(body, "df") == str(len(r) - 1)
    assert _stat(body, "p (Q)") == team.fmt_p(stats.chi2.sf(q, len(r) - 1))
    assert _stat(body, "I²") == f"{float(ref.i2) * 100:.1f}%"
    rr = np.tanh(ref.mean_effect_re)
    assert _stat(body, "d") == f"{2 * rr / np.sqrt(1 - rr * rr):.2f}"

    # The chart carries the exact pooled value and every pooled dyad's r.
    forest = _figures(body)["pooled"]
    pooled_trace = next(t for t in forest["data"] if t["name"].startswith("This clinic"))
    assert abs(pooled_trace["x"][0] - rr) < 1e-9
    assert sorted(forest["data"][0]["x"]) == pytest.approx(sorted(r), abs=1e-12)
    assert forest["data"][0]["x"] == sorted(forest["data"][0]["x"], reverse=True)


def test_excluded_dyads_are_counted_and_listed(pool_clinic, login):
    body = _get(login, "admin_a")
    summary = html.unescape(re.search(r'<p id="pooled-summary">(.*?)</p>', body).group(1))
    assert (
        "Left out: 1 dyad with fewer than 4 paired sessions, 1 dyad whose scores did not vary, "
        "1 dyad with r = ±1." in summary
    )
    table = html.unescape(re.search(r'id="pooled-table">(.*?)</table>', body, re.S).group(1))
    assert table.count("<tr>") == 1 + len(DYADS)
    assert "r = ±1: left out" in table and "a score did not vary" in table
    assert "fewer than 4 paired sessions" in table


def test_benchmark_and_note_are_shown(pool_clinic, login):
    body = _get(login, "admin_a")
    text = html.unescape(body)
    assert "r = .38, 95% CI [.30, .44] (d = 0.80; k = 16 studies, N = 1,502" in text
    assert html.escape(BENCHMARK_NOTE) in body
    bench = next(t for t in _figures(body)["pooled"]["data"] if t["name"].startswith("Published"))
    assert bench["x"] == [0.38]
    assert bench["error_x"]["arrayminus"][0] == pytest.approx(0.08)
    assert bench["error_x"]["array"][0] == pytest.approx(0.06)


def test_symptom_outcome_states_the_direction(personas, login):
    # PHQ-9 falls (better) as the relationship rises in every dyad.
    phq_levels = [[3, 2, 1, 0, 2], [3, 2, 2, 0, 3], [3, 1, 1, 0, 1]]
    for i, phqs in enumerate(phq_levels):
        dyad = DyadFactory(
            therapist=personas.therapist_a1,
            client=ClientFactory(clinic=personas.clinic_a, code=f"S-{i}"),
        )
        for number, (rr, phq) in enumerate(zip([2, 3, 4, 5, 4], phqs, strict=True), 1):
            session = TherapySession.objects.create(
                dyad=dyad, number=number, date=dyad.started_on + datetime.timedelta(days=number)
            )
            rate(session, "RRI-C", rr)
            rate(session, "PHQ-9", phq)
    body = html.unescape(_get(login, "admin_a", "?outcome=PHQ-9"))
    assert "Higher PHQ-9 scores mean more symptoms, so here a negative r means a better" in body
    pooled = float(_stat(body, "Pooled r"))
    assert pooled < 0
    better = re.search(r"In the better-outcome direction that is r = (-?\.\d\d) \[", body)
    assert abs(float(better.group(1)) + pooled) < 0.006


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
    rr = team.Measure("RRI-C", "RRI-C", True, "relationship")
    out = team.Measure("SESSION-CHECK", "Session check", True, "session_outcome")
    section = team.pooled_section(pair, dyads, rr, out)
    assert section.pooled.k == 70 and len(section.table_rows) == 70
    shown = section.figure["data"][0]["y"]
    assert len(shown) == team.FOREST_CAP
    sizes = pair.groupby("dyad_id").size()
    assert min(sizes[int(label[2:])] for label in shown) >= sizes.sort_values().iloc[-60]
    assert "60 dyads with the most paired sessions" in section.forest_note
    assert "of the 70 pooled; the table lists every dyad" in section.forest_note


# --- 2. Between-dyad association -------------------------------------------------------------


def test_between_dyad_r_equals_scipy(pool_clinic, login):
    body = html.unescape(_get(login, "admin_a"))
    means, changes = [], []
    for x, y in _stored_pairs(pool_clinic.clinic_a).values():
        means.append(x.mean())
        changes.append(y[-1] - y[0])
    ref = stats.pearsonr(means, changes)
    ci = ref.confidence_interval(0.95)
    low, high = team.fmt_r(ci.low), team.fmt_r(ci.high)
    assert f"at r = {team.fmt_r(ref.statistic)}, 95% CI [{low}, {high}]" in body
    assert "mostly reflects between-person associations" in body
    scatter = _figures(body)["between"]["data"][0]
    assert sorted(scatter["x"]) == pytest.approx(sorted(means))


# --- Scope -----------------------------------------------------------------------------------


def test_supervisor_sees_only_supervisees_dyads(pool_clinic, login, personas):
    _dyad(personas.therapist_b1, "OTHER-CLINIC", [1, 2, 3, 4, 5], [2, 1, 4, 3, 5])
    supervisor = _get(login, "supervisor_a")
    admin = _get(login, "admin_a")
    for code in ("P-01", "P-05", "P-08"):  # therapist A1's
        assert f">{code}<" in supervisor and f">{code}<" in admin
    for code in ("P-06", "P-07"):  # therapist A2's: not supervised by supervisor A
        assert f">{code}<" not in supervisor and f">{code}<" in admin
    assert "OTHER-CLINIC" not in admin and "OTHER-CLINIC" not in supervisor
    assert "Left out: 1 dyad with fewer than 4 paired sessions." in html.unescape(supervisor)


def test_therapist_filter_limits_to_that_therapist(pool_clinic, login):
    body = _get(login, "admin_a", f"?therapist={pool_clinic.therapist_a2.pk}")
    assert ">P-06<" in body and ">P-01<" not in body
    # A2 has two dyads with ≥ 4 sessions but neither has a usable r.
    assert "2 dyads have ≥ 4 paired sessions of RRI-C and Session check (of these, 1 had a " in (
        html.unescape(body)
    )


def test_supervisor_cannot_filter_on_an_unsupervised_therapist(pool_clinic, login):
    body = html.unescape(_get(login, "supervisor_a", f"?therapist={pool_clinic.therapist_a2.pk}"))
    assert "among the therapists you can see" in body
    assert "P-06" not in body and 'id="pooled"' not in body


def test_date_filter_limits_sessions(pool_clinic, login):
    every = html.unescape(_get(login, "admin_a"))
    assert "This selection: 8 dyads, 45 sessions" in every
    start = TherapySession.objects.filter(dyad__client__code="P-01").order_by("date").first().date
    # Sessions are weekly from the same start date in every dyad: keep the first three weeks.
    end = start + datetime.timedelta(days=14)
    body = html.unescape(_get(login, "admin_a", f"?from={start}&to={end}"))
    assert "This selection: 8 dyads, 24 sessions" in body
    assert "0 dyads have ≥ 4 paired sessions" in body


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("?therapist=abc", "No therapist with id “abc” is among the therapists you can see"),
        ("?therapist=999999", "No therapist with id “999999”"),
        ("?from=2025-02-30", "“Sessions from”: Enter the date as YYYY-MM-DD"),
        ("?to=yesterday", "“to”: Enter the date as YYYY-MM-DD"),
        ("?from=2025-05-01&to=2025-01-01", "The start date (2025-05-01) is after the end date"),
        ("?rr=WAI", "The relationship measure must be RRI-C or RRI-T."),
        ("?icc=PHQ-9", "Therapist contributions are shown for RRI-C or RRI-T."),
        ("?outcome=GAD-7", "“GAD-7” is not an outcome measure with scores in this selection"),
        ("?outcome=RRI-T", "“RRI-T” is not an outcome measure"),
    ],
)
def test_bad_filters_give_a_message_not_an_error(pool_clinic, login, query, message):
    body = html.unescape(_get(login, "admin_a", query))
    assert 'id="filter-errors"' in body
    assert message in body
    assert 'id="pooled"' not in body


def test_other_clinics_therapist_is_a_bad_filter(pool_clinic, login):
    body = html.unescape(_get(login, "admin_a", f"?therapist={pool_clinic.therapist_b1.pk}"))
    assert "among the therapists you can see" in body


# --- Empty states ----------------------------------------------------------------------------


def test_empty_clinic_says_what_is_missing(personas, login):
    body = html.unescape(_get(login, "admin_a"))
    assert "No session outcome or symptom scores in this selection yet" in body
    assert "totals come from 0 therapists and 0 dyads" in body
    assert "No completed forms in this selection yet." in body
    assert "plotly" not in body


def test_below_the_pooling_minimum(personas, login):
    for code in ("P-01", "P-02"):
        _dyad(personas.therapist_a1, code, *DYADS[code])
    _dyad(personas.therapist_a1, "P-08", *DYADS["P-08"])
    body = html.unescape(_get(login, "admin_a"))
    assert (
        "2 dyads have ≥ 4 paired sessions of RRI-C and Session check; at least 3 dyads with a "
        "usable correlation are needed to pool. 1 more dyad has 1–3 paired sessions" in body
    )
    assert 'id="pooled-stats"' not in body
    # Between dyads: 3 dyads with a change, 4 needed.
    assert "3 dyads with both a relationship mean and an outcome change; at least 4 are needed" in (
        body
    )
    # The per-dyad table is still there.
    assert ">P-08<" in body


def test_therapist_model_refuses_with_few_therapists(pool_clinic, login):
    body = html.unescape(_get(login, "admin_a"))
    assert (
        "RRI-C totals come from 2 therapists and 8 dyads (45 sessions); the model needs at "
        "least 5 therapists and 10 dyads, so 3 more therapists and 2 more dyads with RRI-C "
        "ratings are needed." in body
    )
    assert 'id="model-empty"' in body and 'id="icc-stats"' not in body


# --- 3. Therapist contributions --------------------------------------------------------------


@pytest.fixture
def therapist_clinic(personas):
    """6 therapists × 2 dyads × 5 sessions; therapists' relationship levels differ a lot."""
    levels = [1, 2, 2, 4, 5, 5]
    wobble = [[0, 1, 0, -1, 0], [1, 0, 0, 1, -1]]
    therapists = []
    for t, base in enumerate(levels):
        therapist = StaffFactory(clinic=personas.clinic_a, display_name=f"Therapist {t}")
        therapists.append(therapist)
        for d in range(2):
            dyad = DyadFactory(
                therapist=therapist,
                client=ClientFactory(clinic=personas.clinic_a, code=f"T{t}-{d}"),
            )
            for number, w in enumerate(wobble[d], 1):
                session = TherapySession.objects.create(
                    dyad=dyad, number=number, date=dyad.started_on + datetime.timedelta(days=number)
                )
                rr = int(np.clip(base + w, 1, 5))
                rate(session, "RRI-C", rr)
                rate(session, "SESSION-CHECK", int(np.clip(rr + (number % 3) - 1, 1, 5)))
    return therapists


def test_therapist_icc_fits_with_enough_therapists(therapist_clinic, login):
    body = html.unescape(_get(login, "admin_a"))
    icc = float(_stat(body, "Therapist ICC"))
    assert icc > 0.2
    assert _stat(body, "Therapists") == "6"
    assert _stat(body, "Dyads") == "12"
    assert _stat(body, "Observations (sessions)") == "60"
    assert _stat(body, "Converged") == "yes"
    caterpillar = _figures(body)["therapists"]["data"][0]
    assert len(caterpillar["y"]) == 6 and caterpillar["y"] == sorted(caterpillar["y"])
    assert set(caterpillar["text"]) == {f"Therapist {t}" for t in range(6)}
    interval = _stat(body, "Therapist ICC, 95% profile-likelihood interval")
    low, high = (float(v) for v in interval.split("–"))
    assert 0 < low < icc < high <= 1
    assert (
        f"Therapists account for an estimated {icc * 100:.0f}% of the variance in RRI-C totals "
        f"(therapist ICC {icc:.2f}, 95% interval {interval})"
    ) in body
    # Outcome on relationship: session, dyad and therapist levels, plus the detrended rows.
    table = re.search(r'id="model-table">(.*?)</table>', body, re.S).group(1)
    for label in (
        "Within dyad (session above the dyad's own mean)",
        "Between a therapist's dyads (dyad mean above the therapist's)",
        "Between therapists (therapist mean above the clinic's)",
        "Within dyad, detrended (session number centred in the dyad as a covariate)",
        "Trend per session within a dyad (detrended model)",
    ):
        assert label in table, label
    summary = re.search(r'id="model-summary">(.*?)</p>', body, re.S).group(1)
    assert "beyond each dyad's trend over sessions, a session where RRI-C" in summary
    assert "The within-dyad figure quoted first is the detrended one" in summary
    assert re.search(r"<td>-?\d+\.\d{3}</td><td>\[-?\d+\.\d{3}, -?\d+\.\d{3}\]</td>", table)


def _effects(icc, low, high, *, boundary=False):
    means = pd.DataFrame(columns=["shrunken_mean", "ci_low", "ci_high", "raw_mean"])
    return team.TherapistEffects(
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
        "ICC 0.12, 95% interval 0.03–0.31)."
    )
    unsure = team.icc_sentence(_effects(0.04, 0.0, 0.27), "RRI-C")
    assert unsure.startswith("These data cannot tell whether therapists differ in RRI-C")
    assert "anything from 0% to 27% fits them (95% interval 0.00–0.27)" in unsure
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
    assert section.icc_interval.startswith("0.00–")


def test_therapist_tabs_switch_to_rri_t(therapist_clinic, login):
    body = html.unescape(_get(login, "admin_a", "?icc=RRI-T"))
    assert "RRI-T totals come from 0 therapists" in body
    assert 'aria-current="page" href="?icc=RRI-C#therapists"' not in body
    assert 'href="?icc=RRI-C#therapists">RRI-C</a>' in body


# --- 4. Item analysis ------------------------------------------------------------------------


def _hand_alpha(values):
    k = values.shape[1]
    item_var = sum(np.var(values[:, j], ddof=1) for j in range(k))
    return k / (k - 1) * (1 - item_var / np.var(values.sum(axis=1), ddof=1))


def test_alpha_equals_a_hand_computation(personas, login):
    for i in range(3):
        dyad = DyadFactory(
            therapist=personas.therapist_a1,
            client=ClientFactory(clinic=personas.clinic_a, code=f"A-{i}"),
        )
        add_sessions(dyad, [(1 + (i + s) % 5, 3, 3) for s in range(4)], noisy=True)
    spec = Instrument.objects.get(code="RRI-C", is_current=True).spec
    answers = pd.DataFrame(
        list(
            Answer.objects.filter(administration__instrument_code="RRI-C").values_list(
                "administration_id", "item_number", "value"
            )
        ),
        columns=["a", "item", "value"],
    ).pivot(index="a", columns="item", values="value")
    reverse = [n for n in answers.columns if spec.item(n).reverse]
    assert reverse  # the keying matters for this instrument
    keyed = answers.copy()
    for n in reverse:
        rng = spec.item(n).response_scale
        keyed[n] = rng.min + rng.max - keyed[n]
    items = list(spec.scale("total").items)
    expected = _hand_alpha(keyed[items].to_numpy(dtype=float))
    unkeyed = _hand_alpha(answers[items].to_numpy(dtype=float))
    assert f"{expected:.3f}" != f"{unkeyed:.3f}"

    body = html.unescape(_get(login, "admin_a"))
    row = re.search(
        r"<tr><td>RRI-C</td><td>Total</td><td[^>]*>24</td><td[^>]*>(\d+)</td><td[^>]*>(.*?)</td>",
        body,
    )
    assert row.group(1) == "12"
    assert row.group(2) == f"{expected:.3f}"
    realism = list(spec.scale("realism").items)
    assert f"{_hand_alpha(keyed[realism].to_numpy(dtype=float)):.3f}" in body
    assert "most recent 2,000 completed forms" in body


# --- Caching and query count -----------------------------------------------------------------


def _count(http, query=""):
    """The request's queries, leaving out the session middleware's bookkeeping (it saves the
    session when the idle timer needs refreshing, which depends on the clock, not the page)
    and the database cache's reads and writes (a fixed handful per part, none with
    CACHE_URL=redis://; test_cache_reads_and_writes_are_few pins them)."""
    with CaptureQueriesContext(connection) as ctx:
        response = http.get(URL + query)
    assert response.status_code == 200
    return [
        q
        for q in ctx.captured_queries
        if "django_session" not in q["sql"]
        and "SAVEPOINT" not in q["sql"]
        and '"dyad_cache"' not in q["sql"]
    ]


def test_cache_reads_and_writes_are_few(pool_clinic, login):
    """Cold: the report and its three parts are looked up, then the parts (fresh and last)
    and the report are written, three statements each. Warm: one read."""
    http = login("admin_a")

    def cache_queries():
        with CaptureQueriesContext(connection) as ctx:
            assert http.get(URL).status_code == 200
        return [q["sql"] for q in ctx.captured_queries if '"dyad_cache"' in q["sql"]]

    assert len(cache_queries()) == 4 + 7 * 3
    assert len(cache_queries()) == 1


# user, TOTP devices, membership, visible therapists, instrument specs, the scope's state,
# total scores, dyad labels, the newest forms per instrument and their answers (alpha), the
# placeholder-instrument notice, the access-log row.
PINNED_QUERIES = 12


def test_query_count_does_not_grow_with_dyads(pool_clinic, login, personas):
    http = login("admin_a")
    small = _count(http)
    for i in range(6):
        therapist = StaffFactory(clinic=personas.clinic_a)
        _dyad(therapist, f"MORE-{i}", [1, 2, 3, 4, 5], [2, 2, 3, 5, 4])
    cache.clear()
    large = _count(http)
    assert len(small) == len(large) == PINNED_QUERIES, [q["sql"][:80] for q in large]


def test_cache_serves_repeat_views_and_new_forms_refresh_it(pool_clinic, login):
    http = login("admin_a")
    cold = _count(http)
    warm = _count(http)
    assert any('"rri_forms_score"' in q["sql"] for q in cold)
    assert not any('"rri_forms_score"' in q["sql"] for q in warm)
    assert len(warm) < len(cold)
    body = html.unescape(http.get(URL).content.decode())
    assert _stat(body, "Dyads pooled (k)") == "5"

    # P-08 reaches 4 paired sessions: a new form changes the key and the page.
    dyad = TherapySession.objects.filter(dyad__client__code="P-08").first().dyad
    add_more = TherapySession.objects.create(
        dyad=dyad, number=4, date=dyad.started_on + datetime.timedelta(days=28)
    )
    rate(add_more, "RRI-C", 5)
    rate(add_more, "SESSION-CHECK", 3)
    body = html.unescape(http.get(URL).content.decode())
    assert _stat(body, "Dyads pooled (k)") == "6"


def _correct_rri_t(personas, code, number, level):
    """The dyad's therapist corrects their RRI-T of one session (same administration)."""
    from rri_forms.services.therapist_forms import therapist_forms_save

    session = TherapySession.objects.get(dyad__client__code=code, number=number)
    (instrument,) = [i for i in Instrument.objects.filter(code="RRI-T", is_current=True)]
    answers = {
        item.number: (
            item.response_scale.min + item.response_scale.max - level if item.reverse else level
        )
        for item in instrument.spec.items
    }
    therapist_forms_save(
        actor_user=session.dyad.therapist.user,
        session=session,
        instruments=[instrument],
        answers={instrument.pk: answers},
    )


def test_a_correction_refreshes_the_cached_page(pool_clinic, login, personas):
    """A correction keeps the administration and replaces its scores: the next request shows
    the corrected numbers, not the cached ones."""
    http = login("admin_a")
    query = "?rr=RRI-T&outcome=SESSION-CHECK"
    before = html.unescape(http.get(URL + query).content.decode())
    with CaptureQueriesContext(connection) as warm:
        http.get(URL + query)
    assert not any('"rri_forms_score"' in q["sql"] for q in warm.captured_queries)  # cached
    administrations = Score.objects.values("administration").distinct().count()

    _correct_rri_t(personas, "P-01", 3, 1)  # was 4
    assert Score.objects.values("administration").distinct().count() == administrations

    after = html.unescape(http.get(URL + query).content.decode())
    r, n = [], []
    for x, y in _stored_pairs(personas.clinic_a, x="RRI-T").values():
        if len(x) < 4 or np.all(y == y[0]) or np.all(x == x[0]):
            continue
        rho = stats.pearsonr(x, y).statistic
        if abs(rho) < 1 - 1e-9:
            r.append(rho)
            n.append(len(x))
    ref = combine_effects(np.arctanh(r), 1 / (np.asarray(n) - 3.0), method_re="dl")
    assert _stat(after, "Pooled r") == _r(np.tanh(ref.mean_effect_re))
    assert _stat(after, "Pooled r") != _stat(before, "Pooled r")


def test_a_correction_refreshes_the_clinic_reference(clinic_history, personas):
    """The clinic's first-session SD behind the alert thresholds follows corrected scores."""
    from outcomes.selectors.frames import clinic_reference, instrument_specs

    spec = instrument_specs()["RRI-T"]
    before = clinic_reference(personas.clinic_a, "RRI-T", "total", spec).first_session_scores
    assert clinic_reference(personas.clinic_a, "RRI-T", "total", spec).first_session_scores == (
        before
    )
    _correct_rri_t(personas, "REF-0", 1, 5)  # was 3
    after = clinic_reference(personas.clinic_a, "RRI-T", "total", spec).first_session_scores
    stored = Score.objects.filter(
        administration__dyad__clinic=personas.clinic_a,
        administration__instrument_code="RRI-T",
        administration__session__number=1,
        scale="total",
    ).values_list("value", flat=True)
    assert sorted(after) == sorted(float(v) for v in stored)
    assert sorted(after) != sorted(before) and 5.0 in after


def test_cache_is_not_shared_between_scopes(pool_clinic, login, personas):
    supervisor_a2 = StaffFactory(clinic=personas.clinic_a, role="supervisor")
    SupervisionFactory(supervisor=supervisor_a2, therapist=personas.therapist_a2)
    _get(login, "admin_a")
    first = _get(login, "supervisor_a")
    http = login("anonymous")
    http.force_login(supervisor_a2.user)
    verify_second_factor(http, supervisor_a2.user)
    response = http.get(URL)
    assert response.status_code == 200
    other = response.content.decode()
    assert ">P-01<" in first and ">P-01<" not in other and ">P-06<" in other


def test_page_has_no_inline_script_or_style(pool_clinic, login):
    body = _get(login, "admin_a")
    assert "<script>" not in body and "style=" not in body
    assert re.findall(r"<script(?![^>]*(?:src=|type=\"application/json\"))", body) == []
    assert 'data-figure="figure-pooled"' in body and "vendor/plotly/plotly.min.js" in body


# --- Large clinics: models and alpha are fitted by jobs (outcomes/tasks.py) -----------------


@pytest.fixture
def large(monkeypatch):
    """Every part counts as large, so the page defers its fits as jobs."""
    from outcomes.selectors import team as team_selectors

    monkeypatch.setattr(team_selectors, "SYNC_MAX_OBS", 0)
    monkeypatch.setattr(team_selectors, "SYNC_MAX_FORMS", 0)


def _refits(status="todo"):
    from procrastinate.contrib.django.models import ProcrastinateJob

    return list(
        ProcrastinateJob.objects.filter(
            task_name="outcomes.refit_team_part", status=status
        ).values_list("args", flat=True)
    )


def _run_jobs_here():
    """Run the queued jobs in this process (a worker without its own process), so a test can
    patch what they call; the test must be transactional, the worker has its own
    connection."""
    from procrastinate.contrib.django import app

    # The worker's own connector, as `manage.py procrastinate worker` uses (Django's
    # connection hands JSON columns back as text).
    with app.replace_connector(app.connector.get_worker_connector()) as worker_app:
        worker_app.run_worker(
            wait=False, queues=["analytics"], install_signal_handlers=False, listen_notify=False
        )
    gc.collect()  # closes the connections of the worker's finished threads


@pytest.mark.django_db(transaction=True)
def test_large_clinic_never_waits_for_a_model(therapist_clinic, login, large, start_worker):
    from tests.workers import wait_until

    http = login("admin_a")
    body = html.unescape(http.get(URL).content.decode())
    # The quick sections are there; the slow ones say they are being computed.
    assert 'id="pooled-stats"' in body
    for part in ("icc", "model", "alpha"):
        assert f'id="{part}-pending"' in body
    assert "Fitting the three-level model of RRI-C totals on 60 sessions" in body
    assert sorted(a["part"][0] for a in _refits()) == ["alpha", "icc", "model"]
    http.get(URL)
    assert len(_refits()) == 3  # one queued fit per part, however many views

    worker = start_worker(queues=["analytics"])  # a real worker process fits them
    wait_until(lambda: len(_refits("succeeded")) == 3, seconds=60, what="the three fits")
    worker.stop()
    body = html.unescape(http.get(URL).content.decode())
    assert float(_stat(body, "Therapist ICC")) > 0.2
    assert 'id="model-table"' in body and 'id="alpha-table"' in body
    assert "pending" not in body and "stale" not in body
    assert not any('"rri_forms_score"' in q["sql"] for q in _count(http))  # whole report cached
    assert _refits() == []

    # New forms: the last results stay on the page, marked, while the update runs.
    dyad = TherapySession.objects.filter(dyad__client__code="T0-0").first().dyad
    session = TherapySession.objects.create(
        dyad=dyad, number=6, date=dyad.started_on + datetime.timedelta(days=6)
    )
    rate(session, "RRI-C", 1)
    rate(session, "SESSION-CHECK", 2)
    body = html.unescape(http.get(URL).content.decode())
    assert len(_refits()) == 3
    for part in ("icc", "model", "alpha"):
        assert f'id="{part}-stale"' in body
    assert "before the newest 2 forms; an update that includes them is being computed" in body
    assert _stat(body, "Observations (sessions)") == "60"  # the previous fit, shown as such
    assert "This selection: 12 dyads, 61 sessions" in body  # the quick parts are current

    start_worker(queues=["analytics"])
    wait_until(lambda: len(_refits("succeeded")) == 6, seconds=60, what="the three refits")
    body = html.unescape(http.get(URL).content.decode())
    assert "stale" not in body
    assert _stat(body, "Observations (sessions)") == "61"


@pytest.mark.django_db(transaction=True)
def test_a_job_fits_each_change_of_the_data_once(therapist_clinic, login, large, monkeypatch):
    """A refit queued while another fitted the same data finds the result and skips."""
    fits = []
    real = team.therapist_section
    monkeypatch.setattr(team, "therapist_section", lambda *a: fits.append(1) or real(*a))
    http = login("admin_a")
    http.get(URL)
    _run_jobs_here()
    assert len(fits) == 1
    # A second app process that read the old state just before the result landed queues
    # the same fit again: the job skips it.
    from outcomes.tasks import refit_team_part

    (icc_args,) = [a for a in _refits("succeeded") if a["part"][0] == "icc"]
    assert refit_team_part(**icc_args) == "skipped: already fitted on this data"
    assert len(fits) == 1


@pytest.mark.django_db(transaction=True)
def test_a_failed_fit_shows_pending_and_is_queued_again(
    therapist_clinic, login, large, monkeypatch
):
    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(team, "therapist_section", broken)
    http = login("admin_a")
    http.get(URL)
    _run_jobs_here()
    assert len(_refits("failed")) == 1
    body = html.unescape(http.get(URL).content.decode())
    assert 'id="icc-pending"' in body
    assert [a["part"] for a in _refits()] == [["icc", "RRI-C"]]  # the next view asks again


def test_refits_are_queued_once_per_scope_and_part(therapist_clinic, login, large, personas):
    login("admin_a").get(URL)
    login("admin_a").get(URL + "?icc=RRI-C")  # same scope and parts: nothing new
    assert len(_refits()) == 3
    # Another scope: one therapist's dyads are too few for the models, so only alpha waits.
    login("admin_a").get(URL + "?therapist=" + str(therapist_clinic[0].pk))
    assert sorted(a["part"][0] for a in _refits()) == ["alpha", "alpha", "icc", "model"]


def test_table_cells_are_escaped(pool_clinic, login):
    therapist = pool_clinic.therapist_a1
    therapist.display_name = "<b>Dr Evil</b>"
    therapist.save(update_fields=["display_name"])
    body = _get(login, "admin_a")
    table = re.search(r'id="pooled-table">(.*?)</table>', body, re.S).group(1)
    assert "&lt;b&gt;Dr Evil&lt;/b&gt;" in table and "<b>Dr Evil" not in body
    dyad = TherapySession.objects.filter(dyad__client__code="P-01").first().dyad
    assert f'<a href="{reverse("dyad_detail", args=[dyad.pk])}">P-01</a>' in table
