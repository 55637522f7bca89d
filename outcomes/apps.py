from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OutcomesConfig(AppConfig):
    name = "outcomes"
    verbose_name = _("Outcomes and analytics")

    def ready(self) -> None:
        # The pure modules (analytics, team and dyad reports, figures) cannot import Django;
        # hand them Django's translation functions, looked up on every call.
        from django.utils.translation import gettext, ngettext

        from outcomes.analytics import i18n

        i18n.install(gettext, ngettext)
