"""System checks: say which installed instruments still carry placeholder wording."""

from __future__ import annotations

from django.core.checks import Info, register
from django.db import DatabaseError


def placeholder_instruments() -> list[str]:
    from rri_forms.models import Instrument

    return [
        str(i)
        for i in Instrument.objects.filter(is_current=True, has_placeholders=True).order_by("code")
    ]


@register()
def instruments_with_placeholders(app_configs=None, **kwargs):  # type: ignore[no-untyped-def]
    try:
        names = placeholder_instruments()
    except DatabaseError:
        return []  # not migrated yet: nothing installed to report on
    if not names:
        return []
    return [
        Info(
            "These instruments still carry placeholder items: " + ", ".join(names) + ".",
            hint="Install the licensed wording: python manage.py install_instrument FILE "
            "(see docs/instruments.md).",
            id="rri_forms.I001",
        )
    ]
