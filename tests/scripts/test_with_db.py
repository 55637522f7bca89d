"""scripts/with_db.py starts an embedded PostgreSQL and leaves nothing running."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHILD = (
    "import os, sys, time, psycopg;"
    "psycopg.connect(os.environ['DATABASE_URL']).close();"
    "print('ready', flush=True); time.sleep(60)"
)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_signal_stops_command_and_embedded_postgres(tmp_path, sig):
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env["DYAD_PGDATA"] = str(tmp_path / "pg")
    proc = subprocess.Popen(  # noqa: S603
        [sys.executable, str(ROOT / "scripts" / "with_db.py"), sys.executable, "-c", CHILD],
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout.readline().strip() == "ready"
        pid_file = tmp_path / "pg" / "postmaster.pid"
        postmaster = int(pid_file.read_text().splitlines()[0])
        proc.send_signal(sig)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    deadline = time.monotonic() + 10
    while _alive(postmaster) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _alive(postmaster), "embedded postgres left running"
    assert proc.returncode != 0


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is not running; /proc tells us its state.
    status = Path(f"/proc/{pid}/status")
    return status.exists() and "State:\tZ" not in status.read_text()


RESTART = (
    "import os, sys, pgserver, psycopg;"
    "pgdata = os.environ['DYAD_PGDATA'];"
    "user = 'pgserver' if os.geteuid() == 0 else None;"
    "pgserver.pg_ctl(['-w', '-m', 'fast', 'restart'], pgdata=pgdata, user=user,"
    " start_new_session=True);"
    "psycopg.connect(os.environ['DATABASE_URL']).close();"
    "print('ready', flush=True); import time; time.sleep(60)"
)


def test_sigterm_stops_a_restarted_embedded_postgres_by_its_data_directory(tmp_path):
    """Restarted under the command (a new PID), postgres is stopped all the same."""
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env["DYAD_PGDATA"] = str(tmp_path / "pg")
    pid_file = tmp_path / "pg" / "postmaster.pid"
    proc = subprocess.Popen(  # noqa: S603
        [sys.executable, str(ROOT / "scripts" / "with_db.py"), sys.executable, "-c", RESTART],
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    restarted = None
    try:
        assert proc.stdout.readline().strip() == "ready"
        restarted = int(pid_file.read_text().splitlines()[0])
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
        deadline = time.monotonic() + 10
        while _alive(restarted) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not _alive(restarted), "restarted embedded postgres left running"
    finally:
        if proc.poll() is None:
            proc.kill()
        if restarted is not None and _alive(restarted):
            os.kill(restarted, signal.SIGTERM)  # the test's own server, found by its data dir


def test_a_handle_left_by_a_killed_run_does_not_keep_postgres_running(tmp_path):
    """A run killed outright leaves its pid in pgserver's list of users of the server; the
    next run, stopped by SIGTERM, still stops postgres (by its data directory)."""
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env["DYAD_PGDATA"] = str(tmp_path / "pg")
    script = str(ROOT / "scripts" / "with_db.py")
    subprocess.run([sys.executable, script, sys.executable, "-c", "pass"], env=env, check=True)  # noqa: S603
    dead = subprocess.Popen([sys.executable, "-c", "pass"])  # noqa: S603
    dead.wait()
    handles = tmp_path / "pg" / ".handle_pids.json"
    handles.write_text(json.dumps([dead.pid]))
    proc = subprocess.Popen(  # noqa: S603
        [sys.executable, str(ROOT / "scripts" / "with_db.py"), sys.executable, "-c", CHILD],
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    postmaster = None
    try:
        assert proc.stdout.readline().strip() == "ready"
        postmaster = int((tmp_path / "pg" / "postmaster.pid").read_text().splitlines()[0])
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
        deadline = time.monotonic() + 10
        while _alive(postmaster) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not _alive(postmaster), "embedded postgres left running"
    finally:
        if proc.poll() is None:
            proc.kill()
        if postmaster is not None and _alive(postmaster):
            os.kill(postmaster, signal.SIGTERM)  # the test's own server
