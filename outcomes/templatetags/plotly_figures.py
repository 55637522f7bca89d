"""`{{ figure|plotly_json:"element-id" }}`: a figure for plotly.js, with every string escaped.

plotly.js renders names, hover text, tick labels and titles as a small HTML dialect
(`<a href>`, `<b>`, `<br>` …), so a staff name `<a href="https://evil.example/">` would
become a live link in a chart. It also decodes HTML entities in those strings, so escaping
`&`, `<`, `>` and quotes shows every string exactly as typed. Hover templates are ours
(`%{text}`, `<extra></extra>`) and are left as they are: never put user text in one.
Every chart reaches its page through this filter, so no figure builder has to remember.
"""

from __future__ import annotations

import html

from django import template
from django.utils.html import json_script
from django.utils.safestring import SafeString

register = template.Library()

OUR_MARKUP = frozenset({"hovertemplate", "texttemplate"})


def escape_user_text(value: object) -> object:
    """A copy of a figure (dicts, lists, strings, numbers) with its strings HTML-escaped."""
    if isinstance(value, str):
        return html.escape(value)
    if isinstance(value, dict):
        return {
            key: item if key in OUR_MARKUP else escape_user_text(item)
            for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        return [escape_user_text(item) for item in value]
    return value


@register.filter
def plotly_json(figure: dict, element_id: str) -> SafeString:
    return json_script(escape_user_text(figure), element_id)
