"""Run a command with a PostgreSQL database available, then clean up.

Usage: python scripts/with_db.py COMMAND [ARGS...]

Without DATABASE_URL, an embedded PostgreSQL (pgserver) is started with its data in
var/pg (kept between runs) and DATABASE_URL is exported to the command. With
DATABASE_URL set, that server is used and nothing is started.

The command runs in its own process group. Ctrl-C, SIGTERM, or the death of our parent
(make killed with SIGTERM does not signal its children) all end the whole group and
then stop the embedded server, so neither postgres nor the app server is left behind.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PGDATA = Path(os.environ.get("DYAD_PGDATA") or ROOT / "var" / "pg")
# Parallel runs (several developers or agents on one machine) each use their own name.
DB_NAME = os.environ.get("DYAD_DB_NAME", "dyad")


def start_embedded() -> tuple[object, str]:
    import warnings

    # pgserver warns when XDG_RUNTIME_DIR is unset (CI, root shells); harmless here.
    warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
    from urllib.parse import quote

    import pgserver  # imported here: not needed when DATABASE_URL is given

    PGDATA.parent.mkdir(parents=True, exist_ok=True)
    server = pgserver.get_server(PGDATA, cleanup_mode="stop")
    if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", DB_NAME):
        sys.exit("DYAD_DB_NAME must be a lower-case identifier such as dyad_dev")
    # DB_NAME is checked above: a plain identifier, safe to interpolate.
    exists = server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{DB_NAME}';")  # noqa: S608
    if "(1 row)" not in exists:
        server.psql(f"CREATE DATABASE {DB_NAME};")
    socket_dir = server.get_postmaster_info().socket_dir
    url = f"postgres://postgres@{quote(str(socket_dir), safe='')}/{DB_NAME}"
    return server, url


def stop_embedded(server: object) -> None:
    """Stop the PostgreSQL that runs on PGDATA now, by its data directory.

    pgserver stops only the process it started (by PID) and only when no other process
    is listed as using the server, so a server restarted meanwhile (a new PID) or a
    handle left by a killed run would keep postgres running after we exit. Handles of
    live processes (another command sharing var/pg) still keep it running for them.
    """
    import pgserver

    if not (PGDATA / "postmaster.pid").exists():
        return
    with contextlib.suppress(OSError, ValueError):
        handles = json.loads((PGDATA / ".handle_pids.json").read_text())
        if any(pid != os.getpid() and _alive(pid) for pid in handles):
            return
    with contextlib.suppress(subprocess.CalledProcessError):
        pgserver.pg_ctl(["-w", "-m", "fast", "stop"], pgdata=PGDATA, user=server.system_user)
    server.cleanup_mode = None  # done: pgserver's exit handler only drops our handle


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__, file=sys.stderr)
        return 2
    env = dict(os.environ)
    # This launcher is the development entry point: debug defaults on unless set.
    env.setdefault("DEBUG", "true")
    server = None
    if not env.get("DATABASE_URL"):
        server, env["DATABASE_URL"] = start_embedded()

    parent = os.getppid()
    child = subprocess.Popen(argv, env=env, start_new_session=True)  # noqa: S603
    stopping = False

    def stop(*_: object) -> None:
        nonlocal stopping
        if stopping:
            return
        stopping = True
        with contextlib.suppress(ProcessLookupError):
            os.killpg(child.pid, signal.SIGTERM)

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGHUP, stop)
    deadline = None
    while child.poll() is None:
        if os.getppid() != parent:
            stop()
        if stopping and deadline is None:
            deadline = time.monotonic() + 10
        if deadline is not None and time.monotonic() > deadline:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(child.pid, signal.SIGKILL)
        time.sleep(0.2)
    # Reap anything the command left in its group (e.g. runserver's reloader child).
    with contextlib.suppress(ProcessLookupError):
        os.killpg(child.pid, signal.SIGTERM)
    if server is not None:
        stop_embedded(server)
    code = child.returncode
    return 128 - code if code < 0 else code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
