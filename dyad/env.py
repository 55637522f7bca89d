"""Strict readers for settings taken from the environment.

A typo in a deployment variable must stop start-up with a message naming the variable,
not fall back silently to a default.
"""

from __future__ import annotations

import os

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str | None = None) -> str | None:
    """The variable, or the contents of the file named by NAME_FILE (for secrets)."""
    value = os.environ.get(name)
    if value is None and os.environ.get(f"{name}_FILE"):
        path = os.environ[f"{name}_FILE"]
        try:
            with open(path, encoding="utf-8") as fh:
                value = fh.read().strip()
        except OSError as exc:
            raise ImproperlyConfigured(f"{name}_FILE={path!r} cannot be read: {exc}") from exc
    return default if value is None else value


def env_required(name: str, why: str) -> str:
    value = env_str(name)
    if not value:
        raise ImproperlyConfigured(f"The environment variable {name} must be set: {why}")
    return value


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    lowered = value.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name}={value!r} is not a boolean; use true or false")


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    try:
        return int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={value!r} is not a whole number") from None


def env_list(name: str, default: list[str]) -> list[str]:
    value = os.environ.get(name)
    if value is None:
        return default
    return [part.strip() for part in value.split(",") if part.strip()]


CACHE_TABLE = "dyad_cache"


def cache_from_url(url: str | None) -> dict[str, object]:
    """Django's CACHES entry for CACHE_URL: `redis://…` (or `rediss://…`) for Django's own
    RedisCache, `db://` (the default) for the database cache in table `dyad_cache`, which
    every process on the same PostgreSQL shares. Nothing per process: one process's cached
    analysis must be every process's."""
    text = (url or "db://").strip()
    scheme = text.partition("://")[0].lower() if "://" in text else ""
    if scheme in {"redis", "rediss"}:
        return {"BACKEND": "dyad.lib.caches.ForgivingRedisCache", "LOCATION": text}
    if scheme == "db" and text.lower() == "db://":
        return {
            "BACKEND": "dyad.lib.caches.ForgivingDatabaseCache",
            "LOCATION": CACHE_TABLE,
            # Culling counts the table on every write: keep it rare.
            "OPTIONS": {"MAX_ENTRIES": 20000, "CULL_FREQUENCY": 4},
        }
    raise ImproperlyConfigured(
        f"CACHE_URL={text!r} is not a cache Dyad knows; use db:// (the database, the "
        "default) or redis://host:6379/0"
    )
