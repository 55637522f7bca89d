"""The team analytics page (/analytics/) at clinic scale: cold (empty cache) and warm times.

    DYAD_DB_NAME=dyad_bench .venv/bin/python scripts/with_db.py .venv/bin/python \
        bench/analytics_page.py

Reuses the clinic that bench/dashboard.py builds (100 therapists, 2,000 dyads, 60,000
sessions with RRI-C, RRI-T and SESSION-CHECK forms) in the same database, building it with
that script's `build()` only when it is missing or incomplete (so the database name must
contain "bench", as there). Nothing here writes to the database otherwise.

Each page is requested in-process with Django's test Client (middleware, session, template
rendering included; no network):

* **cold**: Django's cache cleared first: the quick sections are computed in the request and
  the mixed models and alpha are deferred as jobs (the page says so);
* **background**: how long a worker takes to run those jobs;
* **first complete**: the next request, with every part fresh (the report is then cached);
* **warm**: the same URL again (`--runs`, default 5): the cached report.

It also times the admin page with everything computed inside one request, as a small clinic's
page is.

Then the cold work is split into its parts (queries, pooling, each model, alpha), timed by
calling the same functions the view calls, and everything is printed as markdown tables.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dyad.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.core.cache import cache  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.test import Client as HttpClient  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.urls import reverse  # noqa: E402

from bench import dashboard  # noqa: E402  (builds and recognises the bench clinic)
from clinic.models import Dyad, StaffMember, TherapySession  # noqa: E402
from outcomes.reports import team  # noqa: E402
from outcomes.selectors import frames as selectors  # noqa: E402
from outcomes.selectors import team as team_selectors  # noqa: E402

BUDGET_SECONDS = 2.0


def _request(http: HttpClient, url: str) -> tuple[float, int, int, str]:
    with CaptureQueriesContext(connection) as ctx:
        begin = time.perf_counter()
        response = http.get(url)
        elapsed = time.perf_counter() - begin
    assert response.status_code == 200, (url, response.status_code)
    return elapsed, len(ctx.captured_queries), len(response.content), response.content.decode()


def _wait_for_background() -> float:
    """Run the deferred fits here (a worker without its own process) until none is left."""
    from procrastinate.contrib.django import app

    begin = time.perf_counter()
    with app.replace_connector(app.connector.get_worker_connector()) as worker_app:
        worker_app.run_worker(
            wait=False, queues=["analytics"], install_signal_handlers=False, listen_notify=False
        )
    return time.perf_counter() - begin


def measure(http: HttpClient, url: str, *, runs: int) -> dict[str, float]:
    """Cold (empty cache: quick parts now, models and alpha start in the background), the
    wait for the background, the first complete page, then warm (cached report) requests."""
    cache.clear()
    cold, cold_queries, _, body = _request(http, url)
    pending = body.count('-pending"')
    background = _wait_for_background()
    first, _, _, body = _request(http, url)
    assert "-pending" not in body, "background results missing"
    warm, warm_queries, size = [], 0, 0
    for _ in range(runs):
        elapsed, warm_queries, size, _ = _request(http, url)
        warm.append(elapsed)
    return {
        "cold": cold,
        "pending": pending,
        "background": background,
        "first": first,
        "warm": statistics.median(warm),
        "warm_max": max(warm),
        "cold_queries": cold_queries,
        "warm_queries": warm_queries,
        "bytes": size,
    }


def measure_synchronous(http: HttpClient, url: str) -> float:
    """The same cold page with everything computed inside the request (small-clinic mode)."""
    saved = team_selectors.SYNC_MAX_OBS, team_selectors.SYNC_MAX_FORMS
    team_selectors.SYNC_MAX_OBS = team_selectors.SYNC_MAX_FORMS = 10**9
    try:
        cache.clear()
        return _request(http, url)[0]
    finally:
        team_selectors.SYNC_MAX_OBS, team_selectors.SYNC_MAX_FORMS = saved


def _timed(label: str, parts: list[tuple[str, float]], fn: Callable[[], object]) -> object:
    begin = time.perf_counter()
    value = fn()
    parts.append((label, time.perf_counter() - begin))
    return value


def breakdown(member: StaffMember) -> list[tuple[str, float]]:
    """The cold path's parts, timed by calling what the view calls."""
    parts: list[tuple[str, float]] = []
    scope = team_selectors.team_scope(member.user, member)
    specs = selectors.instrument_specs()
    states = _timed(
        "Query: per-instrument state (cache key)",
        parts,
        lambda: team_selectors.instrument_states(scope),
    )
    codes = ["RRI-C", "RRI-T", "SESSION-CHECK"]
    scores = _timed(
        "Query: total scores → frame", parts, lambda: team_selectors.total_scores(scope, codes)
    )
    dyads = _timed("Query: dyad labels", parts, lambda: team_selectors.dyad_labels(scope))
    rr = team.measure(specs["RRI-C"])
    out = team.measure(specs["SESSION-CHECK"])
    pair = _timed("Pair frame (pivot)", parts, lambda: team.pair_frame(scores, "RRI-C", out.code))
    _timed(
        "1. Per-dyad r + pooling + forest", parts, lambda: team.pooled_section(pair, dyads, rr, out)
    )
    _timed("2. Between-dyad association", parts, lambda: team.between_section(pair, dyads, rr, out))
    names = dict(zip(dyads["therapist_id"], dyads["therapist_name"], strict=True))
    _timed(
        "3. therapist_icc, RRI-C (nested REML + ICC interval)",
        parts,
        lambda: team.therapist_section(scores, "RRI-C", "RRI-C", names),
    )
    _timed(
        "3. outcome_on_relationship (plain + detrended)",
        parts,
        lambda: team.model_section(pair, rr, out),
    )
    present = [s.code for s in states if s.code in specs]
    answers = _timed(
        "Query: answers of the latest ≤ 2,000 forms per instrument",
        parts,
        lambda: team_selectors.recent_answers(scope, present),
    )
    _timed("4. Cronbach's alpha", parts, lambda: team.alpha_section(answers, specs))
    return parts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="warm requests per page")
    args = parser.parse_args()
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    call_command("migrate", verbosity=0)
    clinic = dashboard.existing()
    if clinic is None:
        with transaction.atomic():
            clinic = dashboard.build()

    admin = StaffMember.objects.get(clinic=clinic, role="admin")
    supervisor = StaffMember.objects.filter(clinic=clinic, role="supervisor").order_by("pk")[0]
    therapist = StaffMember.objects.filter(clinic=clinic, role="therapist").order_by("pk")[0]
    url = reverse("team_analytics")
    cases = [
        ("Analytics, admin, whole clinic", admin, url),
        ("Analytics, admin, RRI-T pair and tab", admin, f"{url}?rr=RRI-T&icc=RRI-T"),
        ("Analytics, supervisor of 10 therapists", supervisor, url),
        ("Analytics, admin, one therapist", admin, f"{url}?therapist={therapist.pk}"),
    ]  # fmt: skip
    results = []
    for label, member, page in cases:
        http = HttpClient()
        http.force_login(member.user)
        results.append((label, measure(http, page, runs=args.runs)))
    http = HttpClient()
    http.force_login(admin.user)
    synchronous = measure_synchronous(http, url)
    parts = breakdown(admin)

    sessions = TherapySession.objects.filter(dyad__clinic=clinic).count()
    print(
        f"Clinic: {StaffMember.objects.filter(clinic=clinic, role='therapist').count()} "
        f"therapists, {Dyad.objects.filter(clinic=clinic).count()} dyads, {sessions} sessions. "
        f"In-process test Client, DEBUG={settings.DEBUG}. Cold: cache cleared, the quick "
        f"sections computed in the request, the models and alpha started in background "
        f"threads; then the wait for those threads, the first complete page (quick sections "
        f"again, models from the cache) and warm requests (the cached report, median of "
        f"{args.runs}). Budget: {BUDGET_SECONDS:.0f} s."
    )
    print()
    print(
        "| Page | Cold s (parts pending) | Background s | First complete s | Warm ms (median / "
        "max) | Queries cold / warm | HTML KB |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|")
    for label, r in results:
        print(
            f"| {label} | {r['cold']:.2f} ({r['pending']}) | {r['background']:.1f} | "
            f"{r['first']:.2f} | {r['warm'] * 1000:.0f} / {r['warm_max'] * 1000:.0f} | "
            f"{r['cold_queries']} / {r['warm_queries']} | {r['bytes'] / 1024:.0f} |"
        )
    print()
    print(
        f"Everything inside one request (admin, whole clinic, empty cache — what a small "
        f"clinic's page does): {synchronous:.1f} s."
    )
    print()
    print("Cold path of the admin page, part by part:")
    print()
    print("| Part | ms |")
    print("|---|---:|")
    for label, seconds in parts:
        print(f"| {label} | {seconds * 1000:.0f} |")
    print(f"| **Sum** | **{sum(s for _, s in parts) * 1000:.0f}** |")


if __name__ == "__main__":
    main()
