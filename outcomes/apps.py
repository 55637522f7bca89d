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

        from rri_forms.signals import forms_saved

        forms_saved.connect(_forms_saved, dispatch_uid="outcomes-clinic-references")


def _forms_saved(sender: object, session_ids: object, codes: object, **kwargs: object) -> None:
    from outcomes.selectors import mark_clinic_references_stale

    mark_clinic_references_stale(session_ids, codes)  # type: ignore[arg-type]
