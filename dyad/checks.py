"""Deployment checks of Dyad's own settings (run by `manage.py check --deploy`)."""

from __future__ import annotations

from django.conf import settings
from django.core import checks


@checks.register(checks.Tags.security, deploy=True)
def proxy_without_client_address(app_configs, **kwargs):  # type: ignore[no-untyped-def]
    """Behind a proxy with TRUSTED_PROXY_COUNT=0 every request comes from the proxy's address:
    five bad passwords lock a username for everyone, and one token guesser uses up the
    rate limits of every client."""
    if settings.BEHIND_TLS_PROXY and settings.TRUSTED_PROXY_COUNT <= 0:
        return [
            checks.Warning(
                "BEHIND_TLS_PROXY is on but TRUSTED_PROXY_COUNT is 0: every visitor appears "
                "to come from the proxy's address, so the login lockout and the rate limits "
                "act on all users at once.",
                hint=(
                    "Set TRUSTED_PROXY_COUNT to the number of proxies in front of Dyad that "
                    "append to X-Forwarded-For (1 for one nginx or Caddy)."
                ),
                id="clinic.W001",
            )
        ]
    return []
