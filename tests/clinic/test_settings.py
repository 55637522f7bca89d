"""Settings come from the environment and refuse unsafe or malformed values by name."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _load_settings(**env: str) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "ALLOWED_HOSTS"}}
    base.update(env)
    return subprocess.run(  # noqa: S603
        [
            sys.executable,
            "-c",
            "import dyad.settings as s; print(s.DATABASES['default']['CONN_MAX_AGE'])",
        ],
        cwd=ROOT,
        env=base,
        capture_output=True,
        text=True,
        check=False,
    )


def test_production_needs_secret_key():
    result = _load_settings(DEBUG="false", ALLOWED_HOSTS="dyad.example.org")
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_production_needs_allowed_hosts():
    result = _load_settings(DEBUG="false", SECRET_KEY="x" * 60)
    assert result.returncode != 0
    assert "ALLOWED_HOSTS must be set" in result.stderr


def test_production_settings_load_when_complete():
    result = _load_settings(DEBUG="false", SECRET_KEY="x" * 60, ALLOWED_HOSTS="dyad.example.org")
    assert result.returncode == 0, result.stderr


def test_malformed_boolean_is_named():
    result = _load_settings(DEBUG="maybe")
    assert "DEBUG='maybe' is not a boolean" in result.stderr


def test_database_url_is_required():
    result = _load_settings(DATABASE_URL="")
    assert "DATABASE_URL must be set" in result.stderr


def test_only_postgres_is_accepted():
    result = _load_settings(DATABASE_URL="sqlite:///tmp/x.db")
    assert "must point at PostgreSQL" in result.stderr


def test_connections_persist_by_default():
    result = _load_settings()
    assert result.returncode == 0, result.stderr
    assert int(result.stdout.strip()) > 0


def test_secret_from_file(tmp_path):
    secret = tmp_path / "key"
    secret.write_text("s" * 60)
    result = _load_settings(DEBUG="false", SECRET_KEY_FILE=str(secret), ALLOWED_HOSTS="a.example")
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("variable", ["SECRET_KEY", "ALLOWED_HOSTS", "DATABASE_URL", "DEBUG"])
def test_env_example_lists_variable(variable):
    assert f"{variable}=" in (ROOT / ".env.example").read_text()


def test_production_hashes_passwords_with_argon2_first():
    base = {k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "ALLOWED_HOSTS"}}
    base.update(DEBUG="false", SECRET_KEY="x" * 60, ALLOWED_HOSTS="dyad.example.org")
    script = (
        "import django, os; os.environ['DJANGO_SETTINGS_MODULE'] = 'dyad.settings'; "
        "django.setup(); from django.contrib.auth.hashers import get_hasher; "
        "print(get_hasher().algorithm, get_hasher().library)"
    )
    result = subprocess.run(  # noqa: S603
        [sys.executable, "-c", script], cwd=ROOT, env=base, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["argon2", "argon2"]


def _deploy_check(**env: str) -> subprocess.CompletedProcess:
    """The Makefile's production check, with `env` added to its environment."""
    base = {k: v for k, v in os.environ.items() if k not in {"BEHIND_TLS_PROXY"}}
    base.update(
        DEBUG="false", ALLOWED_HOSTS="dyad.example.org", SECRET_KEY=secrets.token_urlsafe(50)
    )
    base.pop("TRUSTED_PROXY_COUNT", None)
    base.update(env)
    return subprocess.run(  # noqa: S603
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=base,
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.mark.parametrize(
    ("env", "passes"),
    [
        ({}, True),  # what the Makefile runs: no proxy, Django redirects to HTTPS itself
        ({"BEHIND_TLS_PROXY": "true", "TRUSTED_PROXY_COUNT": "1"}, True),  # docs/deployment.md
        ({"BEHIND_TLS_PROXY": "true"}, False),  # every visitor would be the proxy
        ({"BEHIND_TLS_PROXY": "true", "TRUSTED_PROXY_COUNT": "0"}, False),
    ],
)
def test_deploy_check_wants_proxy_count_behind_a_proxy(env, passes):
    result = _deploy_check(**env)
    output = result.stdout + result.stderr
    assert (result.returncode == 0) is passes, output
    assert ("clinic.W001" in output) is not passes
