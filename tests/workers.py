"""Real Procrastinate worker processes for tests (`manage.py procrastinate worker`).

A worker is a separate process on the test database, so it sees only committed rows: tests
that use `start_worker` run on `transactional_db`. Each worker's output goes to a file that
a failing test prints.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from django.conf import settings
from django.db import connection

MANAGE = Path(settings.BASE_DIR) / "manage.py"
START_SECONDS = 30


@dataclass
class Worker:
    name: str
    process: subprocess.Popen[bytes]
    log: Path

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def stop(self) -> None:
        """Graceful stop (SIGTERM): the worker finishes its running jobs, then exits."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()

    def kill(self) -> None:
        """Sudden death (SIGKILL), as when a host goes away: nothing is cleaned up."""
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)


def worker_database_url() -> str:
    """DATABASE_URL of the test database pytest-django created beside the configured one."""
    parts = urlsplit(os.environ["DATABASE_URL"])
    return urlunsplit(parts._replace(path="/" + connection.settings_dict["NAME"]))


def wait_until(check: Callable[[], object], *, seconds: float = 20, what: str = "") -> object:
    """Poll `check` until it returns something truthy; fail the test after `seconds`."""
    deadline = time.monotonic() + seconds
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {seconds} s waiting for {what or check}")
        time.sleep(0.1)


def _newest_worker() -> int:
    """The newest registered worker's id: a row appears once a worker has started and beats
    its heart (counting rows would not do: a starting worker removes those of dead ones)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT coalesce(max(id), 0) FROM procrastinate_workers")
        return cursor.fetchone()[0]


@pytest.fixture
def start_worker(transactional_db, tmp_path) -> Iterator[Callable[..., Worker]]:
    """Start real worker processes: `start_worker()` → a running `Worker`.

    Options: `queues` (list of queue names), `env` (extra environment, e.g. to point the
    worker at a test SMTP server). All workers are stopped at the end of the test."""
    started: list[Worker] = []

    def start(*, queues: list[str] | None = None, env: dict[str, str] | None = None) -> Worker:
        name = f"test-worker-{len(started) + 1}"
        before = _newest_worker()
        log = tmp_path / f"{name}.log"
        command = [sys.executable, str(MANAGE), "procrastinate", "worker", "--name", name]
        if queues:
            command += ["--queues", ",".join(queues)]
        environment = {**os.environ, "DATABASE_URL": worker_database_url(), **(env or {})}
        with log.open("wb") as out:
            process = subprocess.Popen(  # noqa: S603 - our interpreter and manage.py
                command, env=environment, stdout=out, stderr=subprocess.STDOUT
            )
        worker = Worker(name, process, log)
        started.append(worker)
        deadline = time.monotonic() + START_SECONDS
        while _newest_worker() <= before:
            if process.poll() is not None or time.monotonic() > deadline:
                worker.kill()
                pytest.fail(f"worker {name} did not start:\n{worker.output()}")
            time.sleep(0.1)
        return worker

    yield start
    for worker in started:
        worker.stop()
