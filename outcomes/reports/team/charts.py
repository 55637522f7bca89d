"""The team page's own charts: one marker per dyad, and the therapists' caterpillar plot."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from outcomes.analytics.i18n import _
from outcomes.reports import figures


def clean(values: Sequence[float] | np.ndarray | pd.Series) -> list[float | None]:
    out: list[float | None] = []
    for v in values:
        f = float(v) if v is not None else math.nan
        out.append(f if math.isfinite(f) else None)
    return out


def dyad_scatter_chart(
    x: Sequence[float] | np.ndarray | pd.Series,
    y: Sequence[float] | np.ndarray | pd.Series,
    labels: Sequence[str],
    *,
    title: str,
    x_title: str,
    y_title: str,
) -> dict:
    """One marker per dyad; the client code shows on hover."""
    return {
        "data": [
            {
                "type": "scatter",
                "mode": "markers",
                "name": _("dyads"),
                "x": clean(x),
                "y": clean(y),
                "text": list(labels),
                "marker": {"color": figures.CLIENT, "size": 7, "opacity": 0.7},
                "hovertemplate": "%{text}: %{x:.2f}, %{y:.2f}<extra></extra>",
            }
        ],
        "layout": {
            "title": {"text": title, "font": {"size": 15}},
            "height": 360,
            "margin": {"l": 60, "r": 10, "t": 40, "b": 50},
            "xaxis": {"title": {"text": x_title}},
            "yaxis": {"title": {"text": y_title}, "zeroline": True},
            "hovermode": "closest",
            "showlegend": False,
        },
    }


def caterpillar_chart(
    labels: Sequence[str],
    mean: Sequence[float],
    low: Sequence[float],
    high: Sequence[float],
    *,
    overall: float,
    title: str,
    y_title: str,
) -> dict:
    """Therapists ordered by shrunken mean (rank on x), each with its interval, plus the
    clinic mean as a horizontal line. Names show on hover; the table lists them all."""
    order = np.argsort(np.asarray(mean, dtype=float), kind="stable")
    rank = list(range(1, len(order) + 1))
    m = [float(mean[i]) for i in order]
    up = [float(high[i]) - v for i, v in zip(order, m, strict=True)]
    down = [v - float(low[i]) for i, v in zip(order, m, strict=True)]
    return {
        "data": [
            {
                "type": "scatter",
                "mode": "markers",
                # xgettext:no-python-format
                "name": _("shrunken mean with 95% interval"),
                "x": rank,
                "y": clean(m),
                "text": [str(labels[i]) for i in order],
                "marker": {"color": figures.THERAPIST, "size": 7},
                "error_y": {
                    "type": "data",
                    "symmetric": False,
                    "array": clean(up),
                    "arrayminus": clean(down),
                    "thickness": 1.2,
                },
                "hovertemplate": "%{text}: %{y:.2f}<extra></extra>",
            },
            {
                "type": "scatter",
                "mode": "lines",
                "name": _("clinic mean"),
                "x": [0.5, len(order) + 0.5],
                "y": [float(overall), float(overall)],
                "line": {"color": "#555555", "dash": "dash", "width": 1},
                "hoverinfo": "skip",
            },
        ],
        "layout": {
            "title": {"text": title, "font": {"size": 15}},
            "height": 340,
            "margin": {"l": 60, "r": 10, "t": 40, "b": 50},
            "xaxis": {
                "title": {"text": _("Therapists, ordered by shrunken mean")},
                "range": [0.5, len(order) + 0.5],
                "showticklabels": len(order) <= 30,
                "dtick": 1,
            },
            "yaxis": {"title": {"text": y_title}},
            "hovermode": "closest",
            "showlegend": False,
        },
    }
