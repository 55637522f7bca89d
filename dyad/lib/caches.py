"""Django's database and Redis caches, with an entry that no longer unpickles read as a miss.

A cached value is a pickle, and a pickle names the module and class of what it holds. After a
deploy that moves or renames one of those, every process would fail on every read of such an
entry until it expired (a 500 on the team analytics page, say). A cache may always forget:
so an unreadable entry is logged, deleted and reported as absent, and the page recomputes.
"""

from __future__ import annotations

import logging
import pickle
from typing import Any

from django.core.cache.backends.db import DatabaseCache
from django.core.cache.backends.redis import RedisCache

logger = logging.getLogger(__name__)

# What unpickling a value written by other code can raise: a class or module gone or renamed
# (ImportError, AttributeError), a changed constructor (TypeError), a truncated value.
UNREADABLE = (pickle.UnpicklingError, ImportError, AttributeError, TypeError, EOFError, ValueError)


class ForgivingReads:
    def get(self, key: str, default: Any = None, version: int | None = None) -> Any:
        try:
            return super().get(key, default, version)  # type: ignore[misc]
        except UNREADABLE as exc:
            self._forget(exc, [key], version)
            return default

    def get_many(self, keys: Any, version: int | None = None) -> dict[str, Any]:
        keys = list(keys)
        try:
            return super().get_many(keys, version)  # type: ignore[misc]
        except UNREADABLE as exc:
            self._forget(exc, keys, version)
            return {}

    def _forget(self, exc: Exception, keys: list[str], version: int | None) -> None:
        # The key and the class name only: the value itself may hold clinical data.
        logger.warning("Dropped %d unreadable cache entries (%s)", len(keys), type(exc).__name__)
        self.delete_many(keys, version=version)  # type: ignore[attr-defined]


class ForgivingDatabaseCache(ForgivingReads, DatabaseCache):
    pass


class ForgivingRedisCache(ForgivingReads, RedisCache):
    pass
