"""Strings reach plotly.js escaped (issue 15, item 4): plotly renders names, hover text,
tick labels and titles as HTML, so a staff name must never become markup in a chart."""

from __future__ import annotations

import json
import re

import pytest
from django.core.cache import cache
from django.urls import reverse

from outcomes.templatetags.plotly_figures import escape_user_text
from tests.outcomes.views.test_team_page import DYADS, _dyad, therapist_clinic  # noqa: F401

pytestmark = pytest.mark.django_db

EVIL = '<a href="https://evil.example/">Dr Evil</a>'


def _figures(body: str) -> dict[str, dict]:
    found = re.findall(
        r'<script id="figure-([a-z-]+)" type="application/json">(.*?)</script>', body
    )
    return {key: json.loads(text) for key, text in found}


def _strings(value: object, key: str = "") -> list[tuple[str, str]]:
    if isinstance(value, str):
        return [(key, value)]
    if isinstance(value, dict):
        return [s for k, item in value.items() for s in _strings(item, k)]
    if isinstance(value, list):
        return [s for item in value for s in _strings(item, key)]
    return []


def _no_markup(figure: dict) -> list[str]:
    return [
        text for key, text in _strings(figure) if key != "hovertemplate" and re.search("[<>]", text)
    ]


def test_escape_user_text_escapes_every_string_but_our_hover_templates():
    figure = {
        "data": [
            {
                "name": EVIL,
                "text": [EVIL, "A & B"],
                "y": ["<b>x</b>"],
                "x": [1, 2.5, None],
                "hovertemplate": "%{text}<extra></extra>",
            }
        ],
        "layout": {"title": {"text": "<i>t</i>"}, "showlegend": True},
    }
    escaped = escape_user_text(figure)
    assert (
        escaped["data"][0]["name"]
        == "&lt;a href=&quot;https://evil.example/&quot;&gt;Dr Evil&lt;/a&gt;"
    )
    assert escaped["data"][0]["text"][1] == "A &amp; B"
    assert escaped["data"][0]["x"] == [1, 2.5, None]
    assert escaped["data"][0]["hovertemplate"] == "%{text}<extra></extra>"
    assert escaped["layout"]["showlegend"] is True
    assert not _no_markup(escaped)
    assert figure["data"][0]["name"] == EVIL  # the figure itself is left as it was


def test_a_staff_name_with_markup_is_text_in_every_team_chart(therapist_clinic, login):  # noqa: F811
    cache.clear()
    for i, member in enumerate(therapist_clinic):
        member.display_name = f'<a href="https://evil.example/">Dr Evil {i}</a>'
        member.save(update_fields=["display_name"])
    body = login("admin_a").get(reverse("team_analytics")).content.decode()
    figures = _figures(body)
    assert set(figures) == {"pooled", "between", "therapists"}
    names = [text for _key, text in _strings(figures["therapists"]) if "Dr Evil" in text]
    assert len(names) == 6 and all(name.startswith("&lt;a href=") for name in names)
    assert {key: _no_markup(figure) for key, figure in figures.items()} == dict.fromkeys(
        figures, []
    )
    cache.clear()


def test_dyad_page_charts_carry_no_markup(personas, login):
    dyad = _dyad(personas.therapist_a1, "P-01", *DYADS["P-01"])
    body = login("therapist_a1").get(reverse("dyad_detail", args=[dyad.pk])).content.decode()
    figures = _figures(body)
    assert figures
    assert {key: _no_markup(figure) for key, figure in figures.items()} == dict.fromkeys(
        figures, []
    )
