from django.apps import AppConfig


class DyadConfig(AppConfig):
    """The project itself: its deployment checks and the session-lifetime receivers."""

    name = "dyad"
    verbose_name = "Dyad"

    def ready(self) -> None:
        from dyad import checks  # noqa: F401  (registers the deployment checks)
        from dyad.lib import session_security  # noqa: F401  (connects its receivers)
