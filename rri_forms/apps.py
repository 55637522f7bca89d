from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class RriFormsConfig(AppConfig):
    name = "rri_forms"
    verbose_name = _("Questionnaires")

    def ready(self) -> None:
        from rri_forms import checks  # noqa: F401 - registers the system checks
        from rri_forms.installation import install_shipped_instruments

        # Shipped files are installed after every migrate, but never over an installed
        # version: a clinic's licensed wording must survive the next deployment.
        post_migrate.connect(install_shipped_instruments, sender=self)
