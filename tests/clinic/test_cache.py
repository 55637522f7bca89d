"""The cache is shared by every process (CACHE_URL; docs/scaling.md "Cache")."""

from __future__ import annotations

import base64
import logging
import os
import subprocess
import sys

import pytest
from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ImproperlyConfigured
from django.db import connection

from dyad.env import cache_from_url
from dyad.lib.caches import ForgivingRedisCache
from tests.workers import MANAGE, worker_database_url


def test_the_default_is_the_database_cache():
    assert cache_from_url(None)["BACKEND"] == "dyad.lib.caches.ForgivingDatabaseCache"
    assert cache_from_url("db://")["LOCATION"] == "dyad_cache"
    assert settings.CACHES["default"]["BACKEND"] == "dyad.lib.caches.ForgivingDatabaseCache"


@pytest.mark.parametrize(
    "url", ["redis://127.0.0.1:6379/0", "rediss://:secret@cache.example.org:6380/2"]
)
def test_redis_urls_use_djangos_redis_cache(url):
    assert cache_from_url(url) == {
        "BACKEND": "dyad.lib.caches.ForgivingRedisCache",
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


# A pickle of `dyad_gone_module.Gone`: what a cached report holds after a deploy renamed
# the module of one of its classes (GLOBAL, empty args, NEWOBJ, STOP).
STALE_PICKLE = b"cdyad_gone_module\nGone\n)\x81."


@pytest.mark.django_db
def test_an_entry_that_no_longer_unpickles_is_a_miss_and_is_dropped(caplog):
    cache.set("report", "fresh")
    key = cache.make_key("report")
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE dyad_cache SET value = %s WHERE cache_key = %s",
            [base64.b64encode(STALE_PICKLE).decode(), key],
        )
    with caplog.at_level(logging.WARNING, logger="dyad.lib.caches"):
        assert cache.get("report", "recompute") == "recompute"
        assert cache.get_many(["report"]) == {}
    assert "ModuleNotFoundError" in caplog.text
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM dyad_cache WHERE cache_key = %s", [key])
        assert cursor.fetchone() == (0,)
    cache.set("report", "recomputed")
    assert cache.get("report") == "recomputed"


def test_redis_reads_forgive_the_same():
    redis = pytest.importorskip("redis")
    url = "redis://127.0.0.1:6379/15"
    try:
        redis.Redis.from_url(url, socket_connect_timeout=0.5).ping()
    except redis.exceptions.ConnectionError:
        pytest.skip("no Redis on 127.0.0.1:6379")
    redis_cache = ForgivingRedisCache(url, {"KEY_PREFIX": f"dyad-test-{os.getpid()}"})
    redis_cache.set("report", "fresh")
    raw = redis.Redis.from_url(url)
    raw.set(redis_cache.make_and_validate_key("report"), STALE_PICKLE)
    assert redis_cache.get("report", "recompute") == "recompute"
    assert raw.exists(redis_cache.make_and_validate_key("report")) == 0
