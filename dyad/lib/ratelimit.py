"""Rate limits with counters in PostgreSQL (no Redis): fixed windows, atomic increments.

    decision = hit("link_open_ip", client_ip(request))
    if not decision.allowed:
        return ratelimited(request, decision, lean=True)

Limits are settings (settings.RATELIMITS, one environment variable each, documented in
docs/security.md "Rate limits"), written "N/period" such as "20/h" or "60/10m". A counter
covers a fixed window aligned to the clock; across a window boundary up to twice the
limit can pass, which is accepted for the simplicity of one row per key.

`hit` is one INSERT … ON CONFLICT … DO UPDATE … RETURNING statement, atomic under any
number of workers; `hit_many` counts several limits in one such statement. It runs outside
the caller's transaction only if the caller is outside one: call it before a service opens
its transaction, so a counted attempt stays counted. A service may instead count inside its
transaction (`counting`, as the client's submit does) if every path that rolls the
transaction back counts again.

The client's address comes from dyad/lib/client_ip.py (shared with the login lockout):
REMOTE_ADDR unless settings.TRUSTED_PROXY_COUNT says how many reverse proxies append to
X-Forwarded-For, so a client-supplied X-Forwarded-For cannot reset a counter.
"""

from __future__ import annotations

import datetime
import functools
import ipaddress
import math
import re
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import connection
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.crypto import salted_hmac

from clinic.models import RateLimitBucket
from dyad.lib.client_ip import client_ip as forwarded_client_ip

_RATE = re.compile(r"^\s*(\d+)\s*/\s*(\d*)\s*([smhd])\s*$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


@dataclass(frozen=True)
class Rate:
    limit: int
    period: int  # seconds


@dataclass(frozen=True)
class Decision:
    scope: str
    allowed: bool
    count: int
    limit: int
    retry_after: int  # seconds until the window ends

    @property
    def retry_minutes(self) -> int:
        return max(1, math.ceil(self.retry_after / 60))


@functools.lru_cache(maxsize=64)
def parse_rate(text: str) -> Rate:
    match = _RATE.match(text or "")
    if not match:
        raise ValueError(text)
    limit, multiple, unit = int(match[1]), int(match[2] or 1), match[3]
    if limit < 1 or multiple < 1:
        raise ValueError(text)
    return Rate(limit=limit, period=multiple * _UNIT_SECONDS[unit])


def rate_for(scope: str) -> Rate:
    configured = getattr(settings, "RATELIMITS", {})
    if scope not in configured:
        raise ImproperlyConfigured(f"settings.RATELIMITS has no limit named {scope!r}")
    try:
        return parse_rate(configured[scope])
    except ValueError:
        raise ImproperlyConfigured(
            f"RATELIMIT_{scope.upper()}={configured[scope]!r} is not a rate; "
            "write N/period such as 20/h, 60/10m or 5/d"
        ) from None


def check_configuration() -> None:
    """Fail start-up, not the first rate-limited request, on a malformed limit."""
    for scope in getattr(settings, "RATELIMITS", {}):
        rate_for(scope)


def _key(scope: str, identity: object) -> str:
    # Keyed with SECRET_KEY: the table cannot be reversed into IP addresses.
    return salted_hmac(
        "dyad.lib.ratelimit", f"{scope}\x00{identity}", algorithm="sha256"
    ).hexdigest()


def _window(rate: Rate, now: datetime.datetime) -> tuple[datetime.datetime, int]:
    """The current window's start, and the seconds left until it ends."""
    epoch = math.floor(now.timestamp())
    start = epoch - epoch % rate.period
    return datetime.datetime.fromtimestamp(start, tz=datetime.UTC), start + rate.period - epoch


def hit(scope: str, identity: object) -> Decision:
    """Count one attempt against the limit `scope` for `identity`; allowed while ≤ limit."""
    return hit_many((scope, identity))[0]


def hit_many(*attempts: tuple[str, object]) -> list[Decision]:
    """`hit` for several (scope, identity) pairs in one statement; decisions in order.

    One round trip and one commit instead of one per limit (the client's submit counts two).
    Rows are written in key order, so two requests sharing counters lock them in the same
    order and cannot deadlock. Each pair must be distinct (a row can be upserted once per
    statement).
    """
    upsert = counting(*attempts)
    if upsert.sql is None:
        return upsert.decisions([])
    with connection.cursor() as cursor:
        cursor.execute(upsert.sql, upsert.params)
        counts = [count for _, count in sorted(cursor.fetchall())]
    return upsert.decisions(counts)


@dataclass(frozen=True)
class Counting:
    """`hit_many`'s upsert, for a caller that runs it as part of a statement of its own
    (the client's submit counts inside its transaction, in the statement that locks the
    link: one round trip and no commit of its own).

    `sql` is an INSERT … RETURNING "key", "count" (None when rate limiting is off);
    `decisions` takes the returned counts ordered by key.
    """

    sql: str | None
    params: list[Any]  # SQL parameters: keys, windows, limits
    attempts: tuple[tuple[str, object], ...]
    rates: tuple[Rate, ...]
    keys: tuple[str, ...]
    retry_after: tuple[int, ...]

    def decisions(self, counts_by_key: list[int]) -> list[Decision]:
        if self.sql is None:
            return [
                Decision(scope, True, 0, rate.limit, 0)
                for (scope, _), rate in zip(self.attempts, self.rates, strict=True)
            ]
        counts = dict(zip(sorted(self.keys), counts_by_key, strict=True))
        return [
            Decision(scope, counts[key] <= rate.limit, counts[key], rate.limit, wait)
            for (scope, _), key, rate, wait in zip(
                self.attempts, self.keys, self.rates, self.retry_after, strict=True
            )
        ]


def counting(*attempts: tuple[str, object]) -> Counting:
    """The upsert that counts one attempt for each (scope, identity) pair (see hit_many)."""
    rates = tuple(rate_for(scope) for scope, _ in attempts)
    keys = tuple(_key(scope, identity) for scope, identity in attempts)
    if not settings.RATELIMIT_ENABLED:
        return Counting(None, [], attempts, rates, keys, tuple(0 for _ in attempts))
    now = timezone.now()
    windows = [_window(rate, now) for rate in rates]
    rows = sorted(zip(keys, (s for s, _ in attempts), (w for w, _ in windows), strict=True))
    table = RateLimitBucket._meta.db_table
    values = ", ".join(["(%s, %s, %s, 1)"] * len(rows))
    sql = f"""
        INSERT INTO "{table}" AS b ("key", "scope", "window_start", "count")
        VALUES {values}
        ON CONFLICT ("key") DO UPDATE SET
            "count" = CASE WHEN b."window_start" >= EXCLUDED."window_start"
                           THEN LEAST(b."count" + 1, 2147483647) ELSE 1 END,
            "window_start" = GREATEST(b."window_start", EXCLUDED."window_start")
        RETURNING "key", "count"
    """  # noqa: S608 - the table name comes from the model, values are parameters
    params: list[Any] = [value for row in rows for value in row]
    return Counting(sql, params, attempts, rates, keys, tuple(w for _, w in windows))


def exhausted(scope: str, identity: object) -> Decision:
    """Whether `identity` has already used up `scope` in this window (counts nothing)."""
    rate = rate_for(scope)
    if not settings.RATELIMIT_ENABLED:
        return Decision(scope, True, 0, rate.limit, 0)
    window_start, retry_after = _window(rate, timezone.now())
    count = (
        RateLimitBucket.objects.filter(key=_key(scope, identity), window_start__gte=window_start)
        .values_list("count", flat=True)
        .first()
    ) or 0
    return Decision(scope, count < rate.limit, count, rate.limit, retry_after)


def first_refusal(*decisions: Decision) -> Decision | None:
    """The refusal with the longest wait among `decisions`, or None if all allow."""
    refused = [d for d in decisions if not d.allowed]
    return max(refused, key=lambda d: d.retry_after) if refused else None


def purge_expired() -> int:
    """Delete counters whose window ended (the longest configured period ago). A periodic
    job (clinic/tasks.py), never a request: a purge inside a request was a write that a
    request counting or failing its statements met by chance."""
    longest = max((rate_for(scope).period for scope in settings.RATELIMITS), default=86400)
    cutoff = timezone.now() - datetime.timedelta(seconds=longest)
    deleted, _ = RateLimitBucket.objects.filter(window_start__lt=cutoff).delete()
    return deleted


# --- The client's address --------------------------------------------------------------


def client_ip(request: HttpRequest) -> str:
    """The address to count against: the real client address (dyad/lib/client_ip.py, shared
    with the login lockout: REMOTE_ADDR, or what the outermost of TRUSTED_PROXY_COUNT
    proxies appended to X-Forwarded-For), validated; IPv6 counted per /64 (one subscriber,
    who could otherwise rotate through 2^64 addresses)."""
    for text in (forwarded_client_ip(request), request.META.get("REMOTE_ADDR", "")):
        try:
            address = ipaddress.ip_address(text.strip())
        except ValueError:
            continue
        if isinstance(address, ipaddress.IPv6Address):
            if address.ipv4_mapped is not None:
                return str(address.ipv4_mapped)
            return str(ipaddress.ip_network(f"{address}/64", strict=False))
        return str(address)
    return "unknown"


# --- The 429 page ----------------------------------------------------------------------


def ratelimited(
    request: HttpRequest, decision: Decision, *, lean: bool, back_url: str = ""
) -> HttpResponse:
    """429 with Retry-After: the lean phone page for clients, the staff page otherwise."""
    template = "ratelimited_client.html" if lean else "ratelimited.html"
    context = {"minutes": decision.retry_minutes, "reason": decision.scope, "back_url": back_url}
    response = render(request, template, context, status=429)
    response["Retry-After"] = str(max(1, decision.retry_after))
    response["Cache-Control"] = "no-store"
    return response


check_configuration()
