"""Plotly figures as plain dicts (data + layout), ready for json_script.

Built without plotly's Python objects: a dict is all plotly.js needs, and building it
directly is an order of magnitude cheaper per request. No Django imports here: axis titles and
legend names go through `outcomes.analytics.i18n`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from outcomes.analytics.i18n import _

# Colour-blind-safe (Okabe–Ito) colours, fixed per role so charts read alike everywhere.
CLIENT = "#0072B2"
THERAPIST = "#D55E00"
PALETTE = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000"]


def _clean(values: Sequence[float] | np.ndarray) -> list[float | None]:
    """Plain floats for JSON, NaN (a missing score) as None (a gap in the line)."""
    if isinstance(values, np.ndarray):
        values = values.tolist()
    return [
        None if v is None or (isinstance(v, float) and math.isnan(v)) else float(v) for v in values
    ]


def _layout(title: str, y_title: str, *, y_range: Sequence[float] | None = None) -> dict:
    layout: dict = {
        "title": {"text": title, "font": {"size": 15}},
        "margin": {"l": 50, "r": 10, "t": 40, "b": 40},
        "height": 320,
        "xaxis": {"title": {"text": _("Session")}, "dtick": 1, "rangemode": "tozero"},
        "yaxis": {"title": {"text": y_title}},
        "legend": {"orientation": "h", "y": -0.25},
        "hovermode": "x unified",
    }
    if y_range is not None:
        layout["yaxis"]["range"] = list(y_range)
    return layout


def line_chart(
    sessions: Sequence[int],
    lines: Sequence[tuple[Sequence[float] | np.ndarray, str, str, bool]],
    *,
    title: str,
    y_title: str,
    y_range: Sequence[float] | None = None,
) -> dict:
    """Lines over session number. `lines`: (values aligned with `sessions`, legend label,
    colour, visible)."""
    x = [int(n) for n in sessions]
    data = []
    for values, label, colour, visible in lines:
        data.append(
            {
                "type": "scatter",
                "mode": "lines+markers",
                "name": label,
                "x": x,
                "y": _clean(values),
                "connectgaps": False,
                "line": {"color": colour, "width": 2 if visible else 1.5},
                "visible": True if visible else "legendonly",
            }
        )
    return {"data": data, "layout": _layout(title, y_title, y_range=y_range)}


def scatter_chart(
    x: Sequence[float] | np.ndarray,
    y: Sequence[float] | np.ndarray,
    sessions: Sequence[int],
    *,
    title: str,
    x_title: str,
    y_title: str,
    name: str,
    colour: str = CLIENT,
    labels: Sequence[str] | None = None,
) -> dict:
    """Points labelled with their session number, or with `labels` (e.g. "3→4")."""
    layout = _layout(title, y_title)
    layout["xaxis"] = {"title": {"text": x_title}}
    layout["hovermode"] = "closest"
    return {
        "data": [
            {
                "type": "scatter",
                "mode": "markers+text",
                "name": name,
                "x": _clean(x),
                "y": _clean(y),
                "text": list(labels) if labels is not None else [str(s) for s in sessions],
                "textposition": "top center",
                "marker": {"color": colour, "size": 9},
                # %{...} are plotly's placeholders, kept out of the translated text.
                "hovertemplate": _("session %(number)s") % {"number": "%{text}"}
                + ": %{x:.2f}, %{y:.2f}<extra></extra>",
            }
        ],
        "layout": layout,
    }


def forest_chart(
    labels: Sequence[str],
    r: Sequence[float],
    low: Sequence[float],
    high: Sequence[float],
    *,
    title: str,
    reference: Sequence[tuple[str, float, float, float]] = (),
) -> dict:
    """Horizontal forest plot; `reference` rows (label, r, low, high) drawn as diamonds."""
    names = list(labels) + [row[0] for row in reference]
    data = [
        {
            "type": "scatter",
            "mode": "markers",
            "name": _("r with 95% CI"),
            "x": _clean(list(r)),
            "y": list(labels),
            "marker": {"color": CLIENT, "size": 7},
            "error_x": {
                "type": "data",
                "symmetric": False,
                "array": [h - v for v, h in zip(r, high, strict=True)],
                "arrayminus": [v - lo for v, lo in zip(r, low, strict=True)],
                "thickness": 1.2,
            },
        }
    ]
    for i, (label, value, lo, hi) in enumerate(reference):
        data.append(
            {
                "type": "scatter",
                "mode": "markers",
                "name": label,
                "x": [value],
                "y": [label],
                "marker": {"symbol": "diamond", "size": 13, "color": PALETTE[(i + 1) % 7]},
                "error_x": {
                    "type": "data",
                    "symmetric": False,
                    "array": [hi - value],
                    "arrayminus": [value - lo],
                },
            }
        )
    return {
        "data": data,
        "layout": {
            "title": {"text": title, "font": {"size": 15}},
            "height": max(260, 22 * len(names) + 80),
            "margin": {"l": 150, "r": 10, "t": 40, "b": 40},
            "xaxis": {"title": {"text": "r"}, "range": [-1, 1], "zeroline": True},
            "yaxis": {"autorange": "reversed", "type": "category"},
            "showlegend": False,
        },
    }
