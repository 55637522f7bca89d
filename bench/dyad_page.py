"""The dyad page in-process: CPU per request against the trivial view, and a profile.

    DYAD_DB_NAME=dyad_bench .venv/bin/python scripts/with_db.py .venv/bin/python bench/dyad_page.py

Reuses the clinic of bench/dashboard.py (100 therapists, 2,000 dyads, 60,000 sessions; built
with `dashboard.build()` when missing). Requests, with Django's test Client as a signed-in
admin, the trivial view (/bench/ping) and the dyad page of a 20-session dyad, and prints the
CPU per request of this process (and of the connection's PostgreSQL backend) and the ratio of
the page's to the trivial view's, measured in the same run:

* **warm**: the page as it is viewed again (the built report cached for the dyad's data);
* **cold**: the report built in the request (cache cleared before each request: the first
  view after a new form), the clinic's stored reliable-change references read as stored.

`--profile` adds a pyinstrument profile of each (text, to stdout). `DEBUG=True` as the
launcher sets it (as for bench/dashboard.py); bench/run.py measures the page under gunicorn
with DEBUG off.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dyad.settings")
os.environ["DYAD_BENCH"] = "1"  # the trivial view's URL

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.core.cache import cache  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.test import Client as HttpClient  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.urls import reverse  # noqa: E402
from django_otp.plugins.otp_totp.models import TOTPDevice  # noqa: E402

from bench import dashboard  # noqa: E402
from clinic.models import Dyad, StaffMember  # noqa: E402
from outcomes.selectors.frames import refresh_clinic_references  # noqa: E402

SESSIONS = 20


def _cpu(http: HttpClient, url: str, runs: int, *, cold: bool) -> tuple[float, float, int]:
    """Process and backend CPU ms per request, and the queries of the last request."""
    response = http.get(url)
    assert response.status_code == 200, (url, response.status_code)
    process = pg = 0.0
    queries = 0
    for _ in range(runs):
        if cold:
            cache.clear()
        begin, pg_begin = time.process_time(), dashboard._backend_cpu()
        with CaptureQueriesContext(connection) as ctx:
            response = http.get(url)
        process += time.process_time() - begin
        pg += dashboard._backend_cpu() - pg_begin
        queries = len(ctx.captured_queries)
    return process / runs * 1000, pg / runs * 1000, queries


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    call_command("migrate", verbosity=0)
    clinic = dashboard.existing()
    if clinic is None:
        with transaction.atomic():
            clinic = dashboard.build()
    refresh_clinic_references(clinic.pk)
    admin = StaffMember.objects.get(clinic=clinic, role="admin")
    dyad = next(
        d
        for d in Dyad.objects.filter(clinic=clinic, status="active").order_by("pk")
        if d.sessions.count() == SESSIONS
    )
    http = HttpClient()
    http.force_login(admin.user)
    # A verified second factor, as the login flow leaves it (admins need one with DEBUG off).
    device, _created = TOTPDevice.objects.get_or_create(
        user=admin.user, name="bench", defaults={"confirmed": True}
    )
    session = http.session
    session["otp_device_id"] = device.persistent_id
    session.save()
    page = reverse("dyad_detail", args=[dyad.pk])
    rows = []
    for label, url, cold, runs in (
        ("trivial view (/bench/ping)", "/bench/ping", False, args.runs),
        (f"dyad page, {SESSIONS} sessions, warm", page, False, args.runs),
        (f"dyad page, {SESSIONS} sessions, cold", page, True, max(10, args.runs // 5)),
    ):
        rows.append((label, *_cpu(http, url, runs, cold=cold), runs))
    trivial = rows[0][1]
    load = " / ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"Load average {load}; DEBUG={settings.DEBUG}.")
    print()
    print("| Request | Runs | Django CPU ms | PostgreSQL CPU ms | × trivial (Django CPU) "
          "| Queries |")  # fmt: skip
    print("|---|---:|---:|---:|---:|---:|")
    for label, cpu, pg, queries, runs in rows:
        print(f"| {label} | {runs} | {cpu:.2f} | {pg:.2f} | {trivial / cpu:.3f} | {queries} |")
    if args.profile:
        from pyinstrument import Profiler

        for label, cold in (("warm", False), ("cold", True)):
            profiler = Profiler(interval=0.0005)
            for _ in range(20):
                if cold:
                    cache.clear()
                profiler.start()
                http.get(page)
                profiler.stop()
            print(f"\n### Profile, {label} (20 requests)\n")
            print(profiler.output_text(unicode=True, color=False, show_all=False))


if __name__ == "__main__":
    main()
