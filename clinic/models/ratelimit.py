"""Rate-limit counters kept in PostgreSQL (no Redis): one fixed-window counter per key.

The key is an HMAC of the limit's scope and the identity it counts (an IP address, a link,
a staff member), so the table holds no addresses or tokens. dyad/lib/ratelimit.py increments
a counter with one atomic INSERT … ON CONFLICT … DO UPDATE … RETURNING statement, so
concurrent requests on several workers never undercount.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class RateLimitBucket(models.Model):
    key = models.CharField(max_length=64, primary_key=True)
    # Which limit this counter belongs to (e.g. "link_guess_ip"); never the identity.
    scope = models.CharField(max_length=40)
    window_start = models.DateTimeField()
    count = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("rate-limit counter")
        verbose_name_plural = _("rate-limit counters")
        indexes = [models.Index(fields=["window_start"], name="ratelimit_window_start")]

    def __str__(self) -> str:
        return f"{self.scope} {self.window_start:%Y-%m-%d %H:%M} {self.count}"
