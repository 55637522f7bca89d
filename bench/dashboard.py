"""Dashboards at clinic scale: server time of the supervisor dashboard and of a dyad page.

    DYAD_DB_NAME=dyad_bench .venv/bin/python scripts/with_db.py .venv/bin/python bench/dashboard.py

Builds (once; reused while it is complete, `--rebuild` starts again) a clinic of 100 therapists,
10 supervisors, 2,000 dyads and 60,000 sessions with stored RRI-C, RRI-T and SESSION-CHECK
forms (answers and scores), client links and a few relationship ruptures, in the database
named by DYAD_DB_NAME — which must contain "bench", because a rebuild truncates tables.
Rows are written with PostgreSQL COPY (psycopg `cursor.copy()`); scores are computed
vectorised and checked against the real scoring code on a sample.

Then it requests each page in-process with Django's test Client (middleware, session, template
rendering included; no network), once to warm up and `--runs` times (default 5), and prints a
markdown table of the median, min and max wall time, the query count and the time PostgreSQL
spent in those queries (as recorded by Django's debug cursor).
"""

from __future__ import annotations

import argparse
import datetime
import io
import os
import statistics
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dyad.settings")

import django  # noqa: E402

django.setup()

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from django.conf import settings  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.core.cache import cache  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.core.management.color import no_style  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.test import Client as HttpClient  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.urls import reverse  # noqa: E402

from clinic.models import Client, Clinic, Dyad, StaffMember, Supervision, TherapySession  # noqa: E402
from outcomes.selectors import dashboards  # noqa: E402
from rri_forms.models import Administration, Answer, ClientLink, Instrument, Score  # noqa: E402
from rri_forms.scoring import score_answers  # noqa: E402

SLUG = "bench"
THERAPISTS = 100
SUPERVISORS = 10
DYADS = 2000
SESSIONS = 60_000
ACTIVE_SHARE = 0.7
NO_SHOW = 0.05
MISSING_CLIENT = 0.08
MISSING_THERAPIST = 0.03
RUPTURE_SHARE = 0.05
CODES = ("RRI-C", "RRI-T", "SESSION-CHECK")


# --- Building the clinic -------------------------------------------------------------


def _copy(model, frame: pd.DataFrame) -> None:
    """COPY a frame whose columns are the model's column names into its table."""
    table = connection.ops.quote_name(model._meta.db_table)
    columns = ", ".join(connection.ops.quote_name(c) for c in frame.columns)
    buffer = io.StringIO()
    # NULL is spelt \N, so that an empty string stays an empty string.
    frame.to_csv(buffer, index=False, header=False, na_rep="\\N")
    data = buffer.getvalue().encode()
    sql = f"COPY {table} ({columns}) FROM STDIN WITH (FORMAT csv, NULL '\\N')"
    with connection.cursor() as cursor, cursor.cursor.copy(sql) as copy:
        step = 8 << 20
        for start in range(0, len(data), step):
            copy.write(data[start : start + step])


def _session_counts(rng: np.random.Generator) -> np.ndarray:
    """Between 10 and 50 sessions per dyad, exactly SESSIONS in all (pairs offset ±k)."""
    mean = SESSIONS // DYADS
    half = rng.integers(0, mean - 9, DYADS // 2)
    return np.column_stack([mean + half, mean - half]).ravel()


def _answers(
    rng: np.random.Generator, instrument: Instrument, latent: np.ndarray, sd: float
) -> tuple[np.ndarray, np.ndarray]:
    """Keyed and raw answer matrices (administrations × items) following each latent."""
    items = instrument.spec.items
    low = np.array([i.response_scale.min for i in items])
    high = np.array([i.response_scale.max for i in items])
    offsets = rng.normal(0, 0.25, len(items))
    target = low + (latent[:, None] - 1.0) / 4.0 * (high - low) + offsets
    keyed = np.clip(np.rint(target + rng.normal(0, sd, target.shape)), low, high).astype(int)
    reverse = np.array([i.reverse for i in items])
    raw = np.where(reverse, low + high - keyed, keyed)
    return keyed, raw


def _scores(instrument: Instrument, keyed: np.ndarray) -> dict[str, np.ndarray]:
    spec = instrument.spec
    position = {item.number: i for i, item in enumerate(spec.items)}
    out = {}
    for scale in spec.scales:
        cols = keyed[:, [position[n] for n in scale.items]]
        out[scale.name] = cols.mean(axis=1) if scale.method == "mean" else cols.sum(axis=1)
    return out


def _truncate() -> None:
    name = settings.DATABASES["default"]["NAME"]
    if "bench" not in name:
        sys.exit(f"refusing to truncate tables in database {name!r}: its name lacks 'bench'")
    tables = [
        m._meta.db_table
        for m in (Answer, Score, Administration, ClientLink, TherapySession, Dyad, Client,
                  Supervision, StaffMember, Clinic)
    ]  # fmt: skip
    with connection.cursor() as cursor:
        quoted = ", ".join(connection.ops.quote_name(t) for t in tables)
        cursor.execute(f"TRUNCATE {quoted} CASCADE")
        cursor.execute("DELETE FROM auth_user WHERE username LIKE 'bench-%'")


def build(seed: int = 2026) -> Clinic:
    rng = np.random.default_rng(seed)
    started = time.perf_counter()
    _truncate()
    with connection.cursor() as cursor:
        # Synthetic rows need no audit history: skip the history triggers (and FK checks,
        # the data being consistent by construction) for the bulk load. Superuser only,
        # which the embedded PostgreSQL's role is.
        cursor.execute("SET LOCAL session_replication_role = replica")
    user_model = get_user_model()
    clinic = Clinic.objects.create(name="Bench clinic", slug=SLUG)
    today = clinic.today()
    names = (
        [("bench-admin", "Bench Admin", "admin")]
        + [(f"bench-sup{i:02d}", f"Supervisor {i:02d}", "supervisor") for i in range(SUPERVISORS)]
        + [(f"bench-t{i:03d}", f"Therapist {i:03d}", "therapist") for i in range(THERAPISTS)]
    )
    users = user_model.objects.bulk_create(
        # "!" is Django's unusable password: nobody can sign in as a bench user.
        [user_model(username=u, password="!") for u, _n, _r in names]  # noqa: S106
    )
    staff = StaffMember.objects.bulk_create(
        [
            StaffMember(user=user, clinic=clinic, role=role, display_name=name)
            for user, (_u, name, role) in zip(users, names, strict=True)
        ]
    )
    supervisors, therapists = staff[1 : 1 + SUPERVISORS], staff[1 + SUPERVISORS :]
    per_supervisor = THERAPISTS // SUPERVISORS
    Supervision.objects.bulk_create(
        [
            Supervision(supervisor=supervisors[i // per_supervisor], therapist=t)
            for i, t in enumerate(therapists)
        ]
    )
    clients = Client.objects.bulk_create(
        [Client(clinic=clinic, code=f"B-{i:05d}") for i in range(DYADS)], batch_size=5000
    )

    counts = _session_counts(rng)
    active = rng.random(DYADS) < ACTIVE_SHARE
    # Active dyads: the last session within the past week; ended ones 2–40 weeks ago.
    last_ago = np.where(active, rng.integers(0, 7, DYADS), rng.integers(14, 280, DYADS))
    start = [
        today - datetime.timedelta(days=int(a + 7 * c))
        for a, c in zip(last_ago, counts, strict=True)
    ]
    dyads = Dyad.objects.bulk_create(
        [
            Dyad(
                clinic=clinic,
                therapist=therapists[i * THERAPISTS // DYADS],
                client=clients[i],
                started_on=start[i],
                status="active" if active[i] else "ended",
                ended_on=None if active[i] else today - datetime.timedelta(days=int(last_ago[i])),
            )
            for i in range(DYADS)
        ],
        batch_size=5000,
    )

    # Sessions: weekly, numbered 1..count.
    dyad_index = np.repeat(np.arange(DYADS), counts)
    number = np.concatenate([np.arange(1, c + 1) for c in counts])
    started_on = np.array(start, dtype="datetime64[D]")[dyad_index]
    date = started_on + (7 * number).astype("timedelta64[D]")
    dyad_ids = np.array([d.pk for d in dyads])
    therapist_of = np.array([d.therapist_id for d in dyads])
    n = len(number)
    session_id = np.arange(1, n + 1)
    attended = rng.random(n) >= NO_SHOW
    stamp = pd.to_datetime(date) + pd.Timedelta(hours=17)
    stamp = stamp.tz_localize("UTC")
    _copy(
        TherapySession,
        pd.DataFrame(
            {
                "id": session_id,
                "dyad_id": dyad_ids[dyad_index],
                "number": number,
                "date": pd.to_datetime(date).date,
                "attendance": np.where(attended, "attended", "no_show"),
                "created_by_id": therapist_of[dyad_index],
                "created_at": stamp,
            }
        ),
    )

    # The relationship latent of every session (the demo's model, vectorised).
    t_effect = rng.normal(0, 0.35, THERAPISTS)[[i * THERAPISTS // DYADS for i in range(DYADS)]]
    d_effect = rng.normal(0, 0.30, DYADS)
    growth = 0.30 * (1 - np.exp(-(number - 1) / 8.0))
    latent = 3.6 + t_effect[dyad_index] + d_effect[dyad_index] + growth + rng.normal(0, 0.3, n)
    rupture_at = np.where(
        rng.random(DYADS) < RUPTURE_SHARE, (counts * rng.uniform(0.5, 0.95, DYADS)).astype(int), -1
    )
    since = number - rupture_at[dyad_index]
    deficit = np.where(
        (rupture_at[dyad_index] > 0) & (since >= 0),
        np.where(since == 0, -1.2, -1.2 * (0.25 + 0.35 * 0.5 ** np.maximum(since - 1, 0))),
        0.0,
    )
    latent = latent + deficit
    client_level = np.clip(latent + rng.normal(0, 0.15, n), 1, 5)
    therapist_level = np.clip(latent - 0.15 + rng.normal(0, 0.15, n), 1, 5)
    dyad_mean = pd.Series(latent).groupby(dyad_index).transform("mean").to_numpy()
    outcome_level = np.clip(3.4 + 0.95 * (latent - dyad_mean) + rng.normal(0, 0.6, n), 1, 5)

    has_client = attended & (rng.random(n) >= MISSING_CLIENT)
    has_therapist = attended & (rng.random(n) >= MISSING_THERAPIST)
    instruments = {i.code: i for i in Instrument.objects.filter(code__in=CODES, is_current=True)}
    plan = [
        ("RRI-C", has_client, client_level, 0.6),
        ("RRI-T", has_therapist, therapist_level, 0.6),
        ("SESSION-CHECK", has_client, outcome_level, 0.5),
    ]
    next_admin, next_score, next_answer = 1, 1, 1
    admin_frames, score_frames, answer_frames = [], [], []
    checks = []
    for code, mask, level, sd in plan:
        instrument = instruments[code]
        rows = np.flatnonzero(mask)
        ids = np.arange(next_admin, next_admin + len(rows))
        next_admin += len(rows)
        admin_frames.append(
            pd.DataFrame(
                {
                    "id": ids,
                    "session_id": session_id[rows],
                    "dyad_id": dyad_ids[dyad_index[rows]],
                    "instrument_id": instrument.pk,
                    "instrument_code": code,
                    "rater": instrument.rater,
                    "submitted_at": stamp[rows] + pd.Timedelta(minutes=20),
                    "submitted_by_id": therapist_of[dyad_index[rows]]
                    if instrument.rater == "therapist"
                    else None,
                    "risk_flag": False,
                }
            )
        )
        keyed, raw = _answers(rng, instrument, level[rows], sd)
        items = np.array([i.number for i in instrument.spec.items])
        low = np.array([i.response_scale.min for i in instrument.spec.items])
        high = np.array([i.response_scale.max for i in instrument.spec.items])
        k = len(items)
        answer_frames.append(
            pd.DataFrame(
                {
                    "id": np.arange(next_answer, next_answer + raw.size),
                    "administration_id": np.repeat(ids, k),
                    "item_number": np.tile(items, len(rows)),
                    "value": raw.ravel(),
                    "min_value": np.tile(low, len(rows)),
                    "max_value": np.tile(high, len(rows)),
                }
            )
        )
        next_answer += raw.size
        for scale, values in _scores(instrument, keyed).items():
            score_frames.append(
                pd.DataFrame(
                    {
                        "id": np.arange(next_score, next_score + len(rows)),
                        "administration_id": ids,
                        "scale": scale,
                        "value": values,
                        "band": "",
                    }
                )
            )
            next_score += len(rows)
        checks.append((instrument, raw[:25], _scores(instrument, keyed)))
    # The vectorised scores must be what the scoring code would have stored.
    for instrument, raw, scores in checks:
        numbers = [i.number for i in instrument.spec.items]
        for row in range(len(raw)):
            result = score_answers(
                instrument.spec, dict(zip(numbers, raw[row].tolist(), strict=True))
            )
            for scale, values in scores.items():
                assert abs(result.scales[scale] - values[row]) < 1e-12, (instrument.code, scale)
    _copy(Administration, pd.concat(admin_frames, ignore_index=True))
    _copy(Score, pd.concat(score_frames, ignore_index=True))
    _copy(Answer, pd.concat(answer_frames, ignore_index=True))

    # Client links: used for sessions with client forms; unused (expired, or live when the
    # session is under 3 days old) for attended sessions without them.
    rows = np.flatnonzero(attended)
    used = has_client[rows]
    issued = stamp[rows]
    _copy(
        ClientLink,
        pd.DataFrame(
            {
                "id": np.arange(1, len(rows) + 1),
                "session_id": session_id[rows],
                "token_hash": [os.urandom(32).hex() for _ in rows],
                "instrument_ids": "[]",
                "created_by_id": therapist_of[dyad_index[rows]],
                "created_at": issued,
                "expires_at": issued + pd.Timedelta(hours=72),
                "revoked_at": None,
                "used_at": pd.Series(issued + pd.Timedelta(minutes=15)).where(used),
                "emailed_at": None,
                "submission_id": [uuid.uuid4() if u else None for u in used],
                "submission_digest": "",
            }
        ),
    )
    with connection.cursor() as cursor:
        for sql in connection.ops.sequence_reset_sql(
            no_style(), [TherapySession, Administration, Score, Answer, ClientLink]
        ):
            cursor.execute(sql)
        cursor.execute("ANALYZE")
    print(
        f"Built the bench clinic in {time.perf_counter() - started:.0f} s: "
        f"{THERAPISTS} therapists, {DYADS} dyads, {n} sessions, {next_admin - 1} forms, "
        f"{next_score - 1} scores, {next_answer - 1} answers.",
        file=sys.stderr,
    )
    return clinic


def existing() -> Clinic | None:
    clinic = Clinic.objects.filter(slug=SLUG).first()
    if clinic is None:
        return None
    sessions = TherapySession.objects.filter(dyad__clinic=clinic).count()
    dyads = Dyad.objects.filter(clinic=clinic).count()
    return clinic if (sessions, dyads) == (SESSIONS, DYADS) else None


# --- Measuring -----------------------------------------------------------------------


def _backend_cpu() -> float:
    """CPU seconds used so far by this connection's PostgreSQL backend (from /proc)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        (pid,) = cursor.fetchone()
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:  # a server on another machine: no CPU figure
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure(http: HttpClient, url: str, runs: int) -> dict[str, float]:
    response = http.get(url)  # warm-up: caches, connection, template loading
    assert response.status_code == 200, (url, response.status_code)
    times, sql, queries = [], [], 0
    cpu_begin, pg_begin = time.process_time(), _backend_cpu()
    for _ in range(runs):
        with CaptureQueriesContext(connection) as ctx:
            begin = time.perf_counter()
            response = http.get(url)
            times.append(time.perf_counter() - begin)
        assert response.status_code == 200
        queries = len(ctx.captured_queries)
        sql.append(sum(float(q["time"]) for q in ctx.captured_queries))
    cpu, pg = time.process_time() - cpu_begin, _backend_cpu() - pg_begin
    return {
        "median": statistics.median(times) * 1000,
        "min": min(times) * 1000,
        "max": max(times) * 1000,
        "sql": statistics.median(sql) * 1000,
        "cpu": cpu / runs * 1000,
        "pg_cpu": pg / runs * 1000,
        "queries": queries,
        "bytes": len(response.content),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rebuild", action="store_true", help="build the clinic again")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    call_command("migrate", verbosity=0)
    clinic = None if args.rebuild else existing()
    if clinic is None:
        with transaction.atomic():
            clinic = build()

    admin = StaffMember.objects.get(clinic=clinic, role="admin")
    supervisor = StaffMember.objects.filter(clinic=clinic, role="supervisor").order_by("pk")[0]
    therapist = StaffMember.objects.filter(clinic=clinic, role="therapist").order_by("pk")[0]
    dyad = (
        Dyad.objects.filter(clinic=clinic, status="active", therapist=therapist)
        .order_by("-pk")
        .first()
    )
    n_dyad_sessions = dyad.sessions.count()
    earliest = TherapySession.objects.filter(dyad__clinic=clinic).order_by("date")[0].date
    dashboard = reverse("supervisor_dashboard")
    all_dates = f"{dashboard}?from={earliest.isoformat()}"
    cases = [
        ("Supervisor dashboard, admin, whole clinic, last 28 days (default)",
         admin, dashboard, True),
        ("… the same with the scores frame read every time (not cached)",
         admin, dashboard, False),
        ("Supervisor dashboard, admin, whole clinic, all dates", admin, all_dates, True),
        ("… the same, not cached", admin, all_dates, False),
        ("Supervisor dashboard, supervisor of 10 therapists", supervisor, dashboard, True),
        ("Therapist home, 20 dyads", therapist, reverse("therapist_home"), True),
        (f"Dyad page, {n_dyad_sessions} sessions, as admin", admin,
         reverse("dyad_detail", args=[dyad.pk]), True),
    ]  # fmt: skip
    with connection.cursor() as cursor:
        # One backend does all the work, so its CPU time is the query cost (and with two
        # sync workers on two cores, parallel workers would only compete with them).
        cursor.execute("SET max_parallel_workers_per_gather = 0")
    results = []
    cache_min_rows = dashboards.CACHE_MIN_ROWS
    for label, member, url, cached in cases:
        http = HttpClient()
        http.force_login(member.user)
        dashboards.CACHE_MIN_ROWS = cache_min_rows if cached else 10**12
        cache.clear()  # each case starts cold; its warm-up fills what it may keep
        results.append((label, measure(http, url, args.runs)))
    dashboards.CACHE_MIN_ROWS = cache_min_rows

    # A completely cold start: empty cache, so this clinic's reliable-change references
    # (alpha over the newest 2,000 forms per instrument) are computed again too.
    http = HttpClient()
    http.force_login(admin.user)
    http.get(dashboard)
    cache.clear()
    begin = time.perf_counter()
    http.get(dashboard)
    cold = (time.perf_counter() - begin) * 1000

    sessions = TherapySession.objects.filter(dyad__clinic=clinic).count()
    print(
        f"Clinic: {StaffMember.objects.filter(clinic=clinic, role='therapist').count()} "
        f"therapists, {Dyad.objects.filter(clinic=clinic).count()} dyads "
        f"({Dyad.objects.filter(clinic=clinic, status='active').count()} active), "
        f"{sessions} sessions, {Score.objects.count()} stored scores. "
        f"Median of {args.runs} runs after a warm-up, in-process test Client, "
        f"DEBUG={settings.DEBUG}."
    )
    print()
    print(
        "| Page | Median ms | Min ms | Max ms | SQL ms | Django CPU ms | PostgreSQL CPU ms "
        "| Queries | HTML KB |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for label, r in results:
        print(
            f"| {label} | {r['median']:.0f} | {r['min']:.0f} | {r['max']:.0f} | "
            f"{r['sql']:.0f} | {r['cpu']:.0f} | {r['pg_cpu']:.0f} | {r['queries']} | "
            f"{r['bytes'] / 1024:.0f} |"
        )
    print()
    print(
        f"Completely cold start (empty cache, references recomputed): supervisor dashboard "
        f"as admin {cold:.0f} ms (one run)."
    )
    print()
    print(
        f"Load average while measuring: {' / '.join(f'{x:.1f}' for x in os.getloadavg())} "
        f"(1/5/15 min) on {os.cpu_count()} CPUs. Wall times grow with other load; the CPU "
        "columns (per request: this process, and the connection's PostgreSQL backend with "
        "parallel query off) barely do."
    )


if __name__ == "__main__":
    main()
