"""CPU and statements of one client form POST, in-process (no network, no wrk).

    python bench/submit_cpu.py [--posts 300] [--profile]

Without DATABASE_URL it re-runs itself through scripts/with_db.py on its own embedded
database, dyad_bench_submit or $BENCH_DB_NAME (migrated, then reused). It issues `--posts`
client links through `link_issue`, each exchanged for a client session, and sends each a
complete POST through Django's WSGI handler with DEBUG off and CSRF enforced, as gunicorn
would. It prints per POST: Python CPU of this process, CPU of its PostgreSQL backend
(read from /proc: the server runs on this machine), statements and the slowest part of a
cProfile when `--profile` is given. CPU time barely moves with other load on the machine,
so this is the figure to compare while changing the submit path; `make bench` measures
throughput.
"""

from __future__ import annotations

import argparse
import cProfile
import datetime
import gc
import io
import os
import pstats
import secrets
import statistics
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
DB_NAME = "dyad_bench_submit"


def _ensure_database() -> None:
    if os.environ.get("DATABASE_URL"):
        return
    env = dict(os.environ, DYAD_DB_NAME=os.environ.get("BENCH_DB_NAME", DB_NAME))
    command = [PY, str(ROOT / "scripts" / "with_db.py"), PY, *sys.argv]
    sys.exit(subprocess.call(command, env=env, cwd=ROOT))  # noqa: S603


def _settings_env() -> None:
    os.environ.update(
        DEBUG="false",
        SECRET_KEY=os.environ.get("BENCH_SECRET_KEY") or secrets.token_urlsafe(50),
        ALLOWED_HOSTS="127.0.0.1,localhost,testserver",
        SECURE_SSL_REDIRECT="false",
        SECURE_COOKIES="false",
        SECURE_HSTS_SECONDS="0",
        LOG_LEVEL="WARNING",
        DJANGO_SETTINGS_MODULE="dyad.settings",
        RATELIMIT_CLIENT_SUBMIT_IP="100000000/10m",
        DYAD_BENCH="1",  # the trivial view (/bench/ping) to compare with
    )


def _backend_cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _links(count: int) -> list[tuple[str, str]]:
    """(session key, urlencoded body) for `count` fresh links, as bench/run.py issues them."""
    from django.contrib.auth import get_user_model
    from django.contrib.sessions.backends.db import SessionStore
    from django.contrib.sessions.models import Session
    from django.db import transaction
    from django.utils import timezone
    from django.utils.crypto import get_random_string

    from clinic.models import Client, Clinic, Dyad, StaffMember, TherapySession
    from rri_forms.models import Instrument
    from rri_forms.rendering import field_name
    from rri_forms.selectors import form_settings_for
    from rri_forms.services.links import link_issue
    from rri_forms.views.client import SESSION_KEY

    tag = secrets.token_hex(4)
    clinic = Clinic.objects.create(name=f"Submit bench {tag}", slug=f"submit-{tag}")
    therapist = StaffMember.objects.create(
        user=get_user_model().objects.create(username=f"submit-{tag}"),
        clinic=clinic,
        role=StaffMember.Role.THERAPIST,
        display_name="Bench Therapist",
    )
    form_settings = form_settings_for(clinic)
    numbers = [n for n in range(2, 1000) if not form_settings.symptoms_due(n)][:100]
    today = timezone.localdate()
    with transaction.atomic():
        dyads = Dyad.objects.bulk_create(
            Dyad(
                clinic=clinic,
                therapist=therapist,
                client=Client.objects.create(clinic=clinic, code=f"S-{i:05d}"),
                started_on=today - datetime.timedelta(days=1200),
            )
            for i in range((count + len(numbers) - 1) // len(numbers))
        )
        sessions = TherapySession.objects.bulk_create(
            TherapySession(dyad=d, number=n, date=d.started_on + datetime.timedelta(days=7 * i))
            for d in dyads
            for i, n in enumerate(numbers)
        )[:count]
        sessions = list(
            TherapySession.objects.filter(pk__in=[s.pk for s in sessions])
            .select_related("dyad__clinic", "dyad__therapist__user", "dyad__client")
            .order_by("pk")
        )
        links = [link_issue(actor_user=therapist.user, session=s)[0] for s in sessions]
    instruments = Instrument.objects.in_bulk({i for link in links for i in link.instrument_ids})
    expire = timezone.now() + datetime.timedelta(days=1)
    out, rows = [], []
    for index, link in enumerate(links):
        key = get_random_string(32, "abcdefghijklmnopqrstuvwxyz0123456789")
        rows.append(
            Session(
                session_key=key,
                session_data=SessionStore().encode({SESSION_KEY: link.pk}),
                expire_date=expire,
            )
        )
        fields = [f"submission_id={__import__('uuid').uuid4()}"]
        for instrument_id in link.instrument_ids:
            instrument = instruments[instrument_id]
            for item in instrument.spec.items:
                scale = item.response_scale
                value = scale.min + (index + item.number) % scale.points
                fields.append(f"{field_name(instrument, item.number)}={value}")
        out.append((key, "&".join(fields)))
    Session.objects.bulk_create(rows)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=300)
    parser.add_argument("--profile", action="store_true", help="print a cProfile of the POSTs")
    parser.add_argument(
        "--pyinstrument", action="store_true", help="print a pyinstrument profile of the POSTs"
    )
    parser.add_argument(
        "--freeze", action="store_true", help="gc.freeze() before the POSTs (gunicorn.conf.py)"
    )
    args = parser.parse_args()
    _ensure_database()
    _settings_env()
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.conf import settings
    from django.core.handlers.wsgi import WSGIHandler
    from django.core.management import call_command
    from django.db import connection
    from django.utils.crypto import get_random_string

    call_command("migrate", verbosity=0)  # installs the instruments; quick once done
    if not (Path(settings.STATIC_ROOT) / "staticfiles.json").exists():
        call_command("collectstatic", "--noinput", verbosity=0)  # pages name hashed files
    links = _links(args.posts + 20)
    handler = WSGIHandler()
    csrf = get_random_string(32)
    statements: list[str] = []

    def post(key: str, body: str, path: str = "/c/form/") -> str:
        data = f"csrfmiddlewaretoken={csrf}&{body}".encode()
        environ = {
            "REQUEST_METHOD": "POST" if body else "GET",
            "PATH_INFO": path,
            "SCRIPT_NAME": "",
            "QUERY_STRING": "",
            "SERVER_NAME": "127.0.0.1",
            "SERVER_PORT": "80",
            "HTTP_HOST": "127.0.0.1",
            "REMOTE_ADDR": "127.0.0.1",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "CONTENT_TYPE": "application/x-www-form-urlencoded",
            "CONTENT_LENGTH": str(len(data)),
            "HTTP_COOKIE": f"{settings.SESSION_COOKIE_NAME}={key}; "
            f"{settings.CSRF_COOKIE_NAME}={csrf}",
            "wsgi.input": io.BytesIO(data),
            "wsgi.url_scheme": "http",
            "wsgi.errors": sys.stderr,
        }
        status: list[str] = []
        b"".join(handler(environ, lambda s, h, *_: status.append(s)))
        return status[0]

    def counting(execute, sql, params, many, context):  # type: ignore[no-untyped-def]
        statements.append(sql)
        return execute(sql, params, many, context)

    for key, body in links[:20]:  # warm: caches, connection, prepared statements
        status = post(key, body)
        assert status.startswith("302"), f"warm-up POST was not saved: {status}"
    backend = connection.cursor().connection.info.backend_pid
    if args.freeze:
        gc.collect()
        gc.freeze()
    collections = [0, 0, 0]
    gc_started: list[float] = []
    gc_seconds = [0.0]

    def on_gc(phase: str, info: dict) -> None:
        if phase == "start":
            gc_started.append(time.process_time())
        else:
            collections[info["generation"]] += 1
            gc_seconds[0] += time.process_time() - gc_started.pop()

    gc.callbacks.append(on_gc)
    profiler = cProfile.Profile(time.process_time) if args.profile else None
    sampler = None
    if args.pyinstrument:
        from pyinstrument import Profiler

        sampler = Profiler(interval=0.0002)
        sampler.start()
    app, db, counts = [], [], []
    last: list[str] = []
    with connection.execute_wrapper(counting):
        for key, body in links[20:]:
            statements.clear()
            cpu, pg = time.process_time(), _backend_cpu(backend)
            if profiler:
                profiler.enable()
            status = post(key, body)
            if profiler:
                profiler.disable()
            app.append(time.process_time() - cpu)
            db.append(_backend_cpu(backend) - pg)
            counts.append(len(statements))
            last = list(statements)
            assert status.startswith("302"), status
    gc.callbacks.remove(on_gc)
    trivial = []
    for _ in range(3):  # the trivial view, as bench/run.py compares with, in this process
        cpu = time.process_time()
        for _ in range(len(app)):
            post("", "", "/bench/ping")
        trivial.append((time.process_time() - cpu) / len(app))
    if sampler is not None:
        sampler.stop()
    print(
        f"{len(app)} POSTs: app {statistics.mean(app) * 1000:.2f} ms "
        f"(median {statistics.median(app) * 1000:.2f}), "
        f"db {statistics.mean(db) * 1000:.2f} ms, statements {statistics.mean(counts):.1f} "
        "(from Django's cursor; connection set-up and COMMITs not counted)"
    )
    ping = min(trivial)
    print(
        f"Trivial view (/bench/ping, best of 3 x {len(app)}): {ping * 1000:.3f} ms; POST app + db "
        f"= {(statistics.mean(app) + statistics.mean(db)) / ping:.1f} x trivial "
        f"({ping / (statistics.mean(app) + statistics.mean(db)):.3f}x as bench/run.py writes it)"
    )
    print(
        f"GC: {collections} collections by generation, "
        f"{gc_seconds[0] * 1000 / len(app):.3f} ms per POST; {len(gc.get_objects())} objects "
        f"tracked{' (after gc.freeze)' if args.freeze else ''}"
    )
    print(f"Statements per POST: {sorted(Counter(counts).items())}")
    if last:
        print("Statements of the last POST:")
        for sql in last:
            print("  ", " ".join(sql.split())[:110])
    if sampler is not None:
        print(sampler.output_text(unicode=False, color=False, show_all=False))
    if profiler:
        stream = io.StringIO()
        order = os.environ.get("PROFILE_SORT", "cumulative")  # or tottime
        pstats.Stats(profiler, stream=stream).sort_stats(order).print_stats(60)
        print(stream.getvalue())


if __name__ == "__main__":
    main()
