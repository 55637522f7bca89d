"""HTTP benchmarks: gunicorn (2 sync workers, --preload, DEBUG off) under wrk.

    python bench/run.py [--duration 10] [--links 12000] [--write-docs]

(`make bench` runs it, then bench/scale_out.py.) Without DATABASE_URL it re-runs itself
through scripts/with_db.py on an embedded PostgreSQL database of its own, dyad_bench_http
(bench/dashboard.py uses dyad_bench), which it drops and rebuilds every run: migrate, seed
the demo clinic, collect static files (whitenoise serves them, compressed, as in
production). With DATABASE_URL given, point it at an empty database. Then it
prepares, inside Django:

* a bench clinic whose therapist has enough attended sessions for one client link each,
  issued through the real service (`link_issue`), each already exchanged for a client
  session (as the phone does when the link is opened), with a complete set of answers;
* a client session on one more link, for the form page GET;
* signed-in sessions for the demo therapist (dyad page) and supervisor (/supervision/).

It starts gunicorn on 127.0.0.1 with DYAD_BENCH=1 (which adds the trivial /bench/ping view),
runs wrk for `--duration` seconds at concurrency 8 and 32 against each page (each run after a
VACUUM of the tables the POSTs update and a CHECKPOINT, so rows start alike), reads each
worker's peak RSS, measures the client form page's bytes over the wire, stops everything and
prints a markdown table (with --write-docs it also replaces the "HTTP benchmarks" section
of docs/benchmarks.md). Everything it starts binds to 127.0.0.1 only and stops by itself.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import gzip
import json
import os
import platform
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH_DIR = ROOT / "var" / "bench"
LUA = ROOT / "bench" / "load.lua"
PY = sys.executable
DEFAULT_DB = "dyad_bench_http"  # not dyad_bench: bench/dashboard.py owns that one
CONCURRENCY = (8, 32)
BENCH_THERAPIST = "bench-http-therapist"


# --- environment ----------------------------------------------------------------------


def ensure_database(script: Path) -> None:
    """Re-run `script` under scripts/with_db.py when no DATABASE_URL is given."""
    if os.environ.get("DATABASE_URL"):
        return
    env = dict(os.environ, DYAD_DB_NAME=DEFAULT_DB)
    command = [PY, str(ROOT / "scripts" / "with_db.py"), PY, str(script), *sys.argv[1:]]
    sys.exit(subprocess.call(command, env=env, cwd=ROOT))  # noqa: S603


def production_env(secret_key: str, **extra: str) -> dict[str, str]:
    """DEBUG off, as in production, but plain HTTP on loopback."""
    env = dict(os.environ)
    env.update(
        DEBUG="false",
        SECRET_KEY=secret_key,
        ALLOWED_HOSTS="127.0.0.1,localhost",
        SECURE_SSL_REDIRECT="false",
        SECURE_COOKIES="false",
        SECURE_HSTS_SECONDS="0",
        LOG_LEVEL="WARNING",
        DJANGO_SETTINGS_MODULE="dyad.settings",
        # All load comes from 127.0.0.1: per-address limits would refuse it after a few
        # dozen requests. The counters still run (one upsert per request), as in production.
        RATELIMIT_CLIENT_SUBMIT_IP="100000000/10m",
        RATELIMIT_LINK_OPEN_IP="100000000/10m",
        **extra,
    )
    return env


def manage(env: dict[str, str], *args: str, quiet: bool = True) -> None:
    subprocess.run(  # noqa: S603
        [PY, "manage.py", *args],
        cwd=ROOT,
        env=env,
        check=True,
        stdout=subprocess.DEVNULL if quiet else None,
    )


def recreate_database() -> None:
    """Drop and create this benchmark's own database (never any other)."""
    import psycopg

    name = os.environ.get("DYAD_DB_NAME", "")
    url = os.environ["DATABASE_URL"]
    if name != DEFAULT_DB or not url.endswith("/" + name):
        print(f"Using database {name} as it is (only {DEFAULT_DB} is dropped and rebuilt).")
        return
    admin_url = url[: -len(name)] + "postgres"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {name}")


def build(secret_key: str, *, fresh: bool = True) -> None:
    """Migrated bench database with the demo clinic, and collected static files."""
    if fresh:
        recreate_database()
    dev = dict(os.environ, DEBUG="true", SECRET_KEY=secret_key)
    manage(dev, "migrate", "--noinput")
    manage(dev, "seed_demo")
    manage(production_env(secret_key), "collectstatic", "--noinput")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def settle() -> None:
    """Start each row from the same state: the dead rows the previous POST row left
    (links, sessions, counters updated) vacuumed and a checkpoint taken, so no row pays
    for the previous one's autovacuum or checkpoint (and its full-page writes)."""
    import psycopg

    tables = ("rri_forms_clientlink", "django_session", "clinic_ratelimitbucket")
    with psycopg.connect(os.environ["DATABASE_URL"], autocommit=True) as conn:
        conn.execute(f"VACUUM (ANALYZE) {', '.join(tables)}")
        with contextlib.suppress(psycopg.errors.InsufficientPrivilege):
            conn.execute("CHECKPOINT")  # needs a superuser (the embedded server's is)
    time.sleep(1)


def database_cpu_seconds() -> dict[int, float]:
    """CPU time of the PostgreSQL backends serving this database (the workers' connections)."""
    import psycopg

    with psycopg.connect(os.environ["DATABASE_URL"], autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid() AND backend_type = 'client backend'"
        ).fetchall()
    return {pid: _cpu_seconds(pid) for (pid,) in rows}


def cpu_used(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU seconds between two snapshots; a process new in `after` counts from zero."""
    return sum(seconds - before.get(pid, 0.0) for pid, seconds in after.items())


def _no_control_socket() -> list[str]:
    """Recent gunicorn opens a control socket at one fixed path; two instances would clash."""
    help_text = subprocess.run(  # noqa: S603 - our own venv's gunicorn
        [str(Path(PY).parent / "gunicorn"), "--help"], capture_output=True, text=True
    ).stdout
    return ["--no-control-socket"] if "--no-control-socket" in help_text else []


class Gunicorn:
    """gunicorn on 127.0.0.1:port; a context manager that always stops it."""

    def __init__(self, env: dict[str, str], *, workers: int = 2, port: int | None = None):
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = env
        self.workers = workers
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> Gunicorn:
        BENCH_DIR.mkdir(parents=True, exist_ok=True)
        log = open(BENCH_DIR / f"gunicorn-{self.port}.log", "w")  # noqa: SIM115
        self.process = subprocess.Popen(  # noqa: S603
            [
                str(Path(PY).parent / "gunicorn"),
                "dyad.wsgi:application",
                "--bind",
                f"127.0.0.1:{self.port}",
                "--workers",
                str(self.workers),
                "--worker-class",
                "sync",
                "--preload",
                "--config",  # gc.freeze() after the preload (gunicorn.conf.py)
                str(ROOT / "gunicorn.conf.py"),
                "--timeout",
                "60",
                *_no_control_socket(),
            ],
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited; see {log.name}")
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", self.port), timeout=1),
            ):
                if len(self.worker_pids()) >= self.workers:
                    return self
            time.sleep(0.2)
        self.__exit__(None, None, None)
        raise RuntimeError("gunicorn did not start within 60 s")

    def worker_pids(self) -> list[int]:
        pids = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            with contextlib.suppress(OSError, IndexError, ValueError):
                fields = stat.read_text().rsplit(")", 1)[1].split()
                if int(fields[1]) == self.process.pid:
                    pids.append(int(stat.parent.name))
        return sorted(pids)

    def cpu_seconds(self) -> dict[int, float]:
        """CPU time (user + system) used so far by each worker."""
        return {pid: _cpu_seconds(pid) for pid in self.worker_pids()}

    def peak_rss_mib(self) -> dict[int, float]:
        """VmHWM (peak resident set) of each worker, MiB."""
        peaks = {}
        for pid in self.worker_pids():
            with contextlib.suppress(OSError):
                status = Path(f"/proc/{pid}/status").read_text()
                kib = int(re.search(r"VmHWM:\s+(\d+) kB", status).group(1))
                peaks[pid] = kib / 1024
        return peaks

    def __exit__(self, *exc: object) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


# --- preparation inside Django (a subprocess: `run.py --prepare FILE`) -----------------


def _staff_session(user, store_class) -> str:  # type: ignore[no-untyped-def]
    """A signed-in session for `user`, as the login view would leave it."""
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY

    backends = settings.AUTHENTICATION_BACKENDS
    model_backend = "django.contrib.auth.backends.ModelBackend"
    store = store_class()
    store[SESSION_KEY] = str(user.pk)
    store[BACKEND_SESSION_KEY] = model_backend if model_backend in backends else backends[-1]
    store[HASH_SESSION_KEY] = user.get_session_auth_hash()
    if "django_otp" in settings.INSTALLED_APPS:  # a verified second factor, when required
        from django_otp.plugins.otp_totp.models import TOTPDevice

        device, _ = TOTPDevice.objects.get_or_create(
            user=user, name="bench", defaults={"confirmed": True}
        )
        store["otp_device_id"] = device.persistent_id
    store.create()
    return store.session_key


def prepare(out: Path, link_count: int) -> None:
    import django

    sys.path.insert(0, str(ROOT))
    django.setup()
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.contrib.sessions.backends.db import SessionStore
    from django.contrib.sessions.models import Session
    from django.db import transaction
    from django.db.models import Count
    from django.utils import timezone
    from django.utils.crypto import get_random_string

    from clinic.models import Client, Clinic, Dyad, StaffMember, TherapySession
    from rri_forms.models import Instrument
    from rri_forms.rendering import field_name
    from rri_forms.selectors import form_settings_for
    from rri_forms.services.links import link_issue
    from rri_forms.views.client import SESSION_KEY as CLIENT_KEY

    started = time.monotonic()
    user_model = get_user_model()
    clinic = Clinic.objects.create(name="HTTP bench clinic", slug="bench-http")
    therapist = StaffMember.objects.create(
        user=user_model.objects.create(username=BENCH_THERAPIST),
        clinic=clinic,
        role=StaffMember.Role.THERAPIST,
        display_name="Bench Therapist",
    )
    settings_ = form_settings_for(clinic)
    # Sessions whose client forms are the usual pair (no symptom measures due): every
    # request then does the same work.
    numbers = [n for n in range(2, 1000) if not settings_.symptoms_due(n)][:100]
    today = timezone.localdate()
    per_dyad = len(numbers)
    dyad_count = (link_count + 1 + per_dyad - 1) // per_dyad
    with transaction.atomic():
        clients = Client.objects.bulk_create(
            Client(clinic=clinic, code=f"B-{i:05d}") for i in range(dyad_count)
        )
        dyads = Dyad.objects.bulk_create(
            Dyad(
                clinic=clinic,
                therapist=therapist,
                client=c,
                started_on=today - datetime.timedelta(days=1200),
            )
            for c in clients
        )
        sessions = TherapySession.objects.bulk_create(
            TherapySession(dyad=d, number=n, date=d.started_on + datetime.timedelta(days=7 * i))
            for d in dyads
            for i, n in enumerate(numbers)
        )
    sessions = list(
        TherapySession.objects.filter(pk__in=[s.pk for s in sessions[: link_count + 1]])
        .select_related("dyad__clinic", "dyad__therapist__user", "dyad__client")
        .order_by("pk")
    )
    links = []
    for start in range(0, len(sessions), 500):
        # Batches in one transaction each (the service's own atomic block becomes a
        # savepoint): the same work per link without a commit, i.e. an fsync, per link.
        with transaction.atomic():
            for session in sessions[start : start + 500]:
                links.append(link_issue(actor_user=therapist.user, session=session)[0])
    issued = time.monotonic() - started

    instruments = Instrument.objects.in_bulk({i for link in links for i in link.instrument_ids})
    expire = timezone.now() + datetime.timedelta(days=1)
    csrf = get_random_string(32)
    rows, bodies = [], []
    for index, link in enumerate(links):
        key = get_random_string(32, "abcdefghijklmnopqrstuvwxyz0123456789")
        data = SessionStore().encode({CLIENT_KEY: link.pk})
        rows.append(Session(session_key=key, session_data=data, expire_date=expire))
        fields = [f"csrfmiddlewaretoken={csrf}", f"submission_id={_uuid()}"]
        for instrument_id in link.instrument_ids:
            instrument = instruments[instrument_id]
            for item in instrument.spec.items:
                value = item.response_scale.min + (index + item.number) % item.response_scale.points
                fields.append(f"{field_name(instrument, item.number)}={value}")
        bodies.append((key, "&".join(fields)))
    Session.objects.bulk_create(rows, batch_size=2000)
    get_key, _ = bodies.pop()  # the last link is for the GET benchmark, never posted
    warm = [bodies.pop() for _ in range(4)]  # posted once before measuring (warm workers)
    with open(out.with_suffix(".post"), "w") as f:
        for key, body in bodies:
            f.write(f"{key} {body}\n")

    therapist_user = user_model.objects.get(username="therapist")
    dyad = (
        Dyad.objects.filter(therapist__user=therapist_user)
        .annotate(n=Count("sessions"))
        .order_by("-n", "pk")
        .first()
    )
    supervisor = user_model.objects.get(username="supervisor")
    config = {
        "csrf": csrf,
        "links": len(bodies),
        "issue_seconds": round(issued, 1),
        "bench_link_ids": [link.pk for link in links[:-1]],
        "form_cookie": f"sessionid={get_key}; csrftoken={csrf}",
        "therapist_cookie": f"sessionid={_staff_session(therapist_user, SessionStore)}",
        "supervisor_cookie": f"sessionid={_staff_session(supervisor, SessionStore)}",
        "dyad_path": f"/dyads/{dyad.pk}/",
        "dyad_sessions": dyad.n,
        "post_file": str(out.with_suffix(".post")),
        "warm_posts": warm,
        "session_cookie_name": settings.SESSION_COOKIE_NAME,
    }
    out.write_text(json.dumps(config))


def _uuid() -> str:
    import uuid

    return str(uuid.uuid4())


def verify(config_file: Path) -> None:
    """Print how many bench links were used and how many client forms were stored."""
    import django

    sys.path.insert(0, str(ROOT))
    django.setup()
    from rri_forms.models import Administration, ClientLink

    config = json.loads(config_file.read_text())
    ids = config["bench_link_ids"]
    used = ClientLink.objects.filter(pk__in=ids, used_at__isnull=False).count()
    stored = Administration.objects.filter(session__links__pk__in=ids, rater="client").count()
    print(json.dumps({"used_links": used, "client_administrations": stored}))


# --- measuring --------------------------------------------------------------------------


def http_get(
    url: str, headers: dict[str, str] | None = None, *, timeout: float = 30
) -> tuple[int, dict, bytes]:
    request = urllib.request.Request(url, headers=headers or {})  # noqa: S310 - loopback
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        return None


def wrk(url: str, concurrency: int, duration: int, *args: str) -> dict:
    command = [
        "wrk",
        "-t2",
        f"-c{concurrency}",
        f"-d{duration}s",
        "--timeout",
        "5s",
        "-s",
        str(LUA),
        url,
        "--",
        *args,
    ]
    result = subprocess.run(command, capture_output=True, text=True, check=True)  # noqa: S603
    line = next(x for x in result.stdout.splitlines() if x.startswith("WRKJSON "))
    data = json.loads(line[len("WRKJSON ") :])
    data["rps"] = data["requests"] / (data["duration_us"] / 1e6)
    return data


def split_post_file(path: Path, shares: tuple[float, ...]) -> list[Path]:
    """One file of unused links per wrk run: a link posted twice would only be replayed."""
    lines = path.read_text().splitlines(keepends=True)
    files, start = [], 0
    for index, share in enumerate(shares):
        end = len(lines) if index == len(shares) - 1 else start + int(len(lines) * share)
        part = path.with_suffix(f".post{index}")
        part.write_text("".join(lines[start:end]))
        files.append(part)
        start = end
    return files


def ensure_wrk() -> None:
    if shutil.which("wrk"):
        return
    if os.geteuid() == 0 and shutil.which("apt-get"):
        print("Installing wrk (apt-get install wrk)…")
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        quiet = {"stdout": subprocess.DEVNULL, "env": env}
        if subprocess.call(["apt-get", "install", "-y", "-q", "wrk"], **quiet) != 0:  # noqa: S607
            subprocess.call(["apt-get", "update", "-q"], **quiet)  # noqa: S607
            subprocess.call(["apt-get", "install", "-y", "-q", "wrk"], **quiet)  # noqa: S607
    if not shutil.which("wrk"):
        sys.exit("wrk is needed: sudo apt-get install -y wrk")


def page_weight(base: str, cookie: str) -> dict:
    """Bytes of the client form page and its CSS/JS as a gzip-accepting browser gets them."""
    status, headers, html = http_get(
        base + "/c/form/", {"Cookie": cookie, "Accept-Encoding": "gzip"}
    )
    assert status == 200, status
    if headers.get("Content-Encoding") == "gzip":
        html_sent, html = len(html), gzip.decompress(html)
    else:
        html_sent = len(html)
    assets = re.findall(rb'<link rel="stylesheet" href="([^"]+)"|<script src="([^"]+)"', html)
    weight = {
        "html_raw": len(html),
        "html_sent": html_sent,
        "html_gzip": len(gzip.compress(html, 6)),
        "assets": {},
    }
    for css, js in assets:
        path = (css or js).decode()
        status, headers, body = http_get(base + path, {"Accept-Encoding": "gzip"})
        assert status == 200, (path, status)
        weight["assets"][path] = {
            "bytes": len(body),
            "encoding": headers.get("Content-Encoding", "identity"),
            "cache": headers.get("Cache-Control", ""),
        }
    asset_bytes = sum(a["bytes"] for a in weight["assets"].values())
    weight["total_gzip"] = weight["html_gzip"] + asset_bytes
    weight["total_sent"] = weight["html_sent"] + asset_bytes
    return weight


def machine() -> dict[str, str]:
    import django

    cpu = "unknown"
    with contextlib.suppress(OSError):
        found = re.search(r"model name\s*:\s*(.+)", Path("/proc/cpuinfo").read_text())
        cpu = found.group(1).strip() if found else cpu
    mem = "unknown"
    with contextlib.suppress(OSError):
        kib = int(re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text()).group(1))
        mem = f"{kib / 1024 / 1024:.1f} GiB"
    wrk_version = subprocess.run(["wrk", "-v"], capture_output=True, text=True)  # noqa: S607
    gunicorn_version = subprocess.run(  # noqa: S603 - our own venv's gunicorn
        [str(Path(PY).parent / "gunicorn"), "--version"], capture_output=True, text=True
    )
    return {
        "nproc": str(os.cpu_count()),
        "cpu": cpu,
        "memory": mem,
        "os": platform.platform(),
        "python": platform.python_version(),
        "django": django.get_version(),
        "gunicorn": gunicorn_version.stdout.strip().split()[-1].strip(")")
        if gunicorn_version.stdout
        else "?",
        "wrk": (wrk_version.stdout or wrk_version.stderr).split()[1]
        if (wrk_version.stdout or wrk_version.stderr)
        else "?",
    }


def _ms(us: float) -> str:
    return f"{us / 1000:.1f}"


def report(results: dict, weight: dict, rss: dict, info: dict, checks: dict, args) -> str:  # type: ignore[no-untyped-def]
    lines = [
        "## HTTP benchmarks",
        "",
        f"`make bench` (bench/run.py) on {datetime.datetime.now(datetime.UTC):%Y-%m-%d}: gunicorn "
        f"{info['gunicorn']}, 2 sync workers, `--preload` with `gc.freeze()` (gunicorn.conf.py), "
        "DEBUG off, whitenoise serving "
        f"collected static files; wrk {info['wrk']} (2 threads) on the same machine for "
        f"{args.duration} s per row, over loopback; embedded PostgreSQL on the same machine. "
        f"Machine: {info['nproc']} CPUs ({info['cpu']}), {info['memory']} RAM, "
        f"{info['os']}; Python {info['python']}, Django {info['django']}. 1-minute load "
        f"average {checks['load']} the load runs (other work shares the 2 CPUs with the "
        "server, wrk and PostgreSQL: compare rows within one run).",
        "",
        "| Page | Conc. | Requests/s | × trivial | p50 ms | p99 ms | CPU ms/req app + db "
        "(× trivial) | Responses |",
        "|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    trivial = results["a. trivial view (/bench/ping)"]
    for name, by_c in results.items():
        for c, r in by_c.items():
            base = trivial[c]
            cpu = r["app_cpu_ms"] + r["db_cpu_ms"]
            base_cpu = base["app_cpu_ms"] + base["db_cpu_ms"]
            errors = r["connect"] + r["read"] + r["write"] + r["timeout"]
            codes = ", ".join(f"{n:,}× {code}" for code, n in sorted(r["codes"].items()))
            lines.append(
                f"| {name} | {c} | {r['rps']:,.0f} | {r['rps'] / base['rps']:.2f} | "
                f"{_ms(r['p50_us'])} | {_ms(r['p99_us'])} | {r['app_cpu_ms']:.2f} + "
                f"{r['db_cpu_ms']:.2f} ({base_cpu / cpu if cpu else 0:.2f}×) | {codes}"
                + (f"; {errors} socket errors" if errors else "")
                + " |"
            )
    lines += [
        "",
        "Client form page over the wire (gzip accepted): HTML "
        f"{weight['html_raw'] / 1024:.1f} KiB, sent {weight['html_sent'] / 1024:.1f} KiB "
        f"(Django itself does not compress HTML; gzipped by a proxy it is "
        f"{weight['html_gzip'] / 1024:.1f} KiB)"
        + "".join(
            f"; {Path(p).name.split('.')[0]}.{Path(p).suffix[1:]} {a['bytes'] / 1024:.1f} KiB "
            f"({a['encoding']})"
            for p, a in weight["assets"].items()
        )
        + f". Total with gzipped HTML: **{weight['total_gzip'] / 1024:.1f} KiB**; "
        f"as sent by gunicorn alone: {weight['total_sent'] / 1024:.1f} KiB.",
        "",
        "Peak RSS per worker (VmHWM): " + ", ".join(f"{v:.0f} MiB" for v in rss.values()) + ".",
        "",
        f"POST setup: {checks['links']:,} client links issued through `link_issue` "
        f"({checks['issue_seconds']} s), each exchanged for a client session beforehand; "
        f"every POST sends a different link's answers. Afterwards {checks['used_links']:,} "
        f"links were used and {checks['client_administrations']:,} client forms stored "
        f"(2 per link; POSTs redirected to the saved page, warm-up included: "
        f"{checks['posted_ok']:,}; the difference is requests still queued when wrk stopped, "
        "which the workers served before the next row).",
        "",
        "Aims (DESIGN.md): " + "; ".join(f"{k}: {v}" for k, v in checks["aims"].items()) + ".",
    ]
    return "\n".join(lines) + "\n"


END_MARK = "<!-- end of bench/run.py output -->"


def write_docs(section: str) -> None:
    """Replace the generated part of docs/benchmarks.md's "## HTTP benchmarks" section (up
    to END_MARK; the notes written by hand after it stay), or append the section."""
    path = ROOT / "docs" / "benchmarks.md"
    text = path.read_text() if path.exists() else "# Benchmarks\n"
    generated = section + END_MARK + "\n"
    pattern = re.compile(r"^## HTTP benchmarks\n.*?" + re.escape(END_MARK) + r"\n", re.S | re.M)
    if pattern.search(text):
        text = pattern.sub(lambda _: generated, text, count=1)
    else:
        text = text.rstrip("\n") + "\n\n" + generated
    path.write_text(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run")
    parser.add_argument("--links", type=int, default=12000, help="client links to pre-issue")
    parser.add_argument("--write-docs", action="store_true", help="update docs/benchmarks.md")
    parser.add_argument("--prepare", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--verify", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.prepare:
        return prepare(args.prepare, args.links)
    if args.verify:
        return verify(args.verify)
    ensure_database(Path(__file__))
    ensure_wrk()

    secret_key = secrets.token_urlsafe(50)
    print("Building the bench database (migrate, demo clinic, collectstatic)…", flush=True)
    build(secret_key)
    env = production_env(secret_key)
    config_file = BENCH_DIR / "config.json"
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    print(f"Issuing {args.links:,} client links through the service…", flush=True)
    subprocess.run(  # noqa: S603
        [PY, __file__, "--prepare", str(config_file), "--links", str(args.links)],
        cwd=ROOT,
        env=env,
        check=True,
    )
    config = json.loads(config_file.read_text())

    with Gunicorn(dict(env, DYAD_BENCH="1")) as server:
        base = server.url
        pages = {
            "a. trivial view (/bench/ping)": ("/bench/ping", "-"),
            "b. client form GET": ("/c/form/", config["form_cookie"]),
            "d. dyad page": (config["dyad_path"], config["therapist_cookie"]),
        }
        status, _, _ = http_get(base + "/supervision/", {"Cookie": config["supervisor_cookie"]})
        if status == 200:
            pages["e. supervision dashboard"] = ("/supervision/", config["supervisor_cookie"])
        else:
            print(f"/supervision/ answered {status}: not benchmarked.")
        for name, (path, cookie) in pages.items():  # warm both workers, check the page
            for _ in range(6):
                status, _, _ = http_get(base + path, {"Cookie": cookie} if cookie != "-" else {})
                if status != 200:
                    sys.exit(f"{name}: {path} answered {status}; not benchmarking a failure")
        for key, body in config["warm_posts"]:
            request = urllib.request.Request(  # noqa: S310 - loopback
                base + "/c/form/",
                body.encode(),
                {"Cookie": f"sessionid={key}; csrftoken={config['csrf']}"},
            )
            opener = urllib.request.build_opener(NoRedirect())
            try:
                opener.open(request, timeout=60).close()
            except urllib.error.HTTPError as error:
                if error.code != 302:
                    sys.exit(f"warm-up POST answered {error.code}; not benchmarking a failure")
        weight = page_weight(base, config["form_cookie"])

        results: dict[str, dict[int, dict]] = {}
        load_before = _loadavg()

        def measured(*wrk_args: str) -> dict:
            """A wrk run, plus the app's and the database's CPU time per request."""
            settle()
            app, db = server.cpu_seconds(), database_cpu_seconds()
            result = wrk(*wrk_args)
            # Sync workers still owe the requests queued when wrk stopped: wait for them (a
            # ping queues behind them) so they count here and not in the next row.
            http_get(base + "/bench/ping", timeout=300)
            app_used = cpu_used(app, server.cpu_seconds())
            db_used = cpu_used(db, database_cpu_seconds())
            requests = max(result["requests"], 1)
            result["app_cpu_ms"] = app_used * 1000 / requests
            result["db_cpu_ms"] = db_used * 1000 / requests
            return result

        post = "c. client form POST (new link each)"
        post_files = split_post_file(Path(config["post_file"]), (0.4, 0.6))
        for c, post_file in zip(CONCURRENCY, post_files, strict=True):
            for name, (path, cookie) in pages.items():
                print(f"wrk {name} at {c}…", flush=True)
                results.setdefault(name, {})[c] = measured(
                    base + path, c, args.duration, "get", cookie
                )
                if name.startswith("b."):  # the form's POST right after its GET
                    print(f"wrk {post} at {c}…", flush=True)
                    results.setdefault(post, {})[c] = measured(
                        base + "/c/form/",
                        c,
                        args.duration,
                        "post",
                        str(post_file),
                        "2",
                        config["csrf"],
                    )
        rss = server.peak_rss_mib()
        load_after = _loadavg()
    order = sorted(results, key=lambda k: k.split(".")[0])
    results = {k: results[k] for k in order}

    checked = subprocess.run(  # noqa: S603
        [PY, __file__, "--verify", str(config_file)],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    checks = json.loads(checked.stdout.strip().splitlines()[-1])
    post = results[post]
    checks["posted_ok"] = sum(r["codes"].get("302 /c/saved/", 0) for r in post.values())
    checks["posted_ok"] += len(config["warm_posts"])
    checks["links"] = config["links"]
    checks["issue_seconds"] = config["issue_seconds"]
    trivial = results["a. trivial view (/bench/ping)"]
    get = results["b. client form GET"]
    aims = {}
    for label, rows, aim in (("GET", get, 0.25), ("POST", post, 0.10)):
        throughput = min(rows[c]["rps"] / trivial[c]["rps"] for c in CONCURRENCY)
        cost = min(_cpu(trivial[c]) / _cpu(rows[c]) for c in CONCURRENCY)
        aims[f"form {label} ≥ {aim:.2f}× trivial"] = (
            f"throughput {'met' if throughput >= aim else 'missed'} (lowest "
            f"{throughput:.2f}×), CPU cost per request {'met' if cost >= aim else 'missed'} "
            f"({cost:.2f}×)"
        )
    aims["form page ≤ 40 KB gzipped"] = (
        f"{'met' if weight['total_gzip'] <= 40 * 1000 else 'missed'} "
        f"({weight['total_gzip'] / 1000:.1f} KB)"
    )
    p99 = max(get[32]["p99_us"], post[32]["p99_us"]) / 1000
    aims["form p99 < 200 ms at 32"] = f"{'met' if p99 < 200 else 'missed'} ({p99:.0f} ms)"
    checks["aims"] = aims
    checks["load"] = f"{load_before} before, {load_after} after"
    section = report(results, weight, rss, machine(), checks, args)
    (BENCH_DIR / "results.json").write_text(
        json.dumps({"results": results, "weight": weight, "rss": rss, "checks": checks}, indent=1)
    )
    print()
    print(section)
    if args.write_docs:
        write_docs(section)
        print("docs/benchmarks.md updated.")


def _loadavg() -> str:
    """The 1-minute load average: other work on the machine skews every number."""
    with contextlib.suppress(OSError):
        return Path("/proc/loadavg").read_text().split()[0]
    return "?"


def _cpu(row: dict) -> float:
    return max(row["app_cpu_ms"] + row["db_cpu_ms"], 1e-6)


if __name__ == "__main__":
    main()
