from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class ClinicConfig(AppConfig):
    name = "clinic"
    verbose_name = _("Clinic")

    def ready(self) -> None:
        post_migrate.connect(create_cache_table, sender=self, dispatch_uid="clinic.cache_table")


def create_cache_table(using: str = "default", **kwargs: object) -> None:
    """The database cache's table comes with every `migrate` (a no-op once it exists), so
    `make run`, the tests and production need no extra step, and switching CACHE_URL from
    redis:// back to the default finds its table."""
    from django.core.management import call_command

    call_command("createcachetable", database=using, verbosity=0)
