import ipaddress
import re
import subprocess
import sys
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.core.management.commands.runserver import naiveip_re

from clinic.demo import demo_logins_text
from dyad.env import env_bool


def _is_loopback(addrport: str) -> bool:
    """Whether runserver would listen on this machine only (its own address syntax)."""
    match = re.match(naiveip_re, addrport)
    if match is None or not match["addr"]:
        return match is not None  # a bare port listens on 127.0.0.1; garbage: refuse
    host = match["addr"].strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # another host name: it may resolve to any interface


class Command(BaseCommand):
    help = (
        "Migrate, seed the demo clinic on first start, start a job worker, then serve "
        "(what `make run` does)."
    )

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        parser.add_argument("addrport", nargs="?", default="127.0.0.1:8000")
        parser.add_argument(
            "--no-worker",
            action="store_true",
            help="Serve without starting a job worker (start one with "
            "`manage.py procrastinate worker`).",
        )

    def handle(self, *args, **options):  # type: ignore[no-untyped-def]
        addrport = options["addrport"]
        if (
            settings.DEBUG
            and not _is_loopback(addrport)
            and not env_bool("DEBUG_ON_NETWORK", False)
        ):
            # Demo logins with a shared password, and debug pages, for anyone on the network.
            raise CommandError(
                f"Refusing to serve {addrport} with DEBUG on: anyone who can reach this "
                "machine could sign in with the printed demo passwords and see debug pages. "
                "Serve on 127.0.0.1, or set DEBUG=false with real settings, or set "
                "DEBUG_ON_NETWORK=true if you really mean to."
            )
        call_command("migrate", interactive=False, verbosity=0)
        call_command("seed_demo")
        worker = None if options["no_worker"] else start_worker()
        self.stdout.write(self.style.SUCCESS(f"\nDyad is at http://{addrport}/"))
        if worker is not None:
            self.stdout.write(f"A job worker runs beside it (process {worker.pid}).")
        self.stdout.write(demo_logins_text() + "\n")
        try:
            # No autoreloader: the server must be one process that a signal fully stops.
            call_command("runserver", addrport, use_reloader=False)
        finally:
            if worker is not None:
                worker.terminate()
                worker.wait(timeout=15)


def start_worker() -> subprocess.Popen[bytes]:
    """The worker is a child in our process group: scripts/with_db.py's Ctrl-C or SIGTERM
    ends it with the server, before the embedded database stops."""
    manage = Path(settings.BASE_DIR) / "manage.py"
    return subprocess.Popen(  # noqa: S603 - our own interpreter and manage.py
        [sys.executable, str(manage), "procrastinate", "worker"]
    )
