"""`{{ value|fmt_r }}`, `{{ value|fmt:2 }}` …: the number formatter of
`outcomes.analytics.numbers` as template filters, so templates write numbers as the Python
that builds the pages' sentences does (`{% load numbers %}`)."""

from __future__ import annotations

from django import template

from outcomes.analytics import numbers

register = template.Library()

register.filter("fmt", numbers.fmt)
register.filter("fmt_r", numbers.fmt_r)
register.filter("fmt_p", numbers.fmt_p)
register.filter("fmt_int", numbers.fmt_int)
register.filter("fmt_short", numbers.fmt_short)
register.filter("fmt_signed", numbers.fmt_signed)
register.filter("fmt_percent", numbers.fmt_percent)
