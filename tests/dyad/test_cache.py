"""The cache is shared by every process (CACHE_URL; docs/scaling.md "Cache")."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ImproperlyConfigured

from dyad.env import cache_from_url
from tests.workers import MANAGE, worker_database_url


def test_the_default_is_the_database_cache():
    assert cache_from_url(None)["BACKEND"] == "django.core.cache.backends.db.DatabaseCache"
    assert cache_from_url("db://")["LOCATION"] == "dyad_cache"
    assert settings.CACHES["default"]["BACKEND"] == "django.core.cache.backends.db.DatabaseCache"


@pytest.mark.parametrize(
    "url", ["redis://127.0.0.1:6379/0", "rediss://:secret@cache.example.org:6380/2"]
)
def test_redis_urls_use_djangos_redis_cache(url):
    assert cache_from_url(url) == {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": url,
    }


@pytest.mark.parametrize("url", ["memcached://127.0.0.1:11211", "locmem://", "db://x", "redis"])
def test_unknown_caches_stop_start_up_naming_the_variable(url):
    with pytest.raises(ImproperlyConfigured, match="CACHE_URL"):
        cache_from_url(url)


@pytest.mark.django_db(transaction=True)
def test_another_process_sees_what_this_one_cached():
    """A value one process caches (here a management shell, as a worker or a second app
    server would) is read by another, and back."""
    cache.set("shared-check", "from the test")
    code = (
        "from django.core.cache import cache; "
        "print(cache.get('shared-check')); cache.set('shared-back', 'from the shell')"
    )
    out = subprocess.run(  # noqa: S603 - our interpreter and manage.py
        [sys.executable, str(MANAGE), "shell", "-c", code],
        env={**os.environ, "DATABASE_URL": worker_database_url()},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert out.stdout.strip().splitlines()[-1] == "from the test"
    assert cache.get("shared-back") == "from the shell"
