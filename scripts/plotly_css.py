"""Write plotly.js's own stylesheets as static files, and the chart pages' <head> include.

At load time plotly.js creates <style> elements: its global rules (plotly.js-style-global)
and maplibre's stylesheet for map traces. A Content-Security-Policy without
'unsafe-inline' in style-src blocks both (a console error, and missing modebar styles).
plotly.js skips each injection when the page already has an element with that id (plus
class "no-inline-styles" for the global rules, plotly.js PR #7109), so the chart pages
link the same rules as static stylesheets carrying those ids. plotly.js no longer ships
these files, so they are extracted from the installed plotly.min.js, together with
templates/outcomes/includes/plotly_head.html (the ids change between plotly versions).
tests/security/test_csp_headers.py fails when the installed plotly.js no longer matches
the files: rerun this script and commit the result.

Usage: python scripts/plotly_css.py
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STATIC = ROOT / "static" / "outcomes"
TARGET = STATIC / "plotly.css"
HEAD_TEMPLATE = ROOT / "templates" / "outcomes" / "includes" / "plotly_head.html"
_INJECTED = re.compile(
    r'if\(!document\.getElementById\("([0-9a-f]{16,})"\)\)\{var (\w+)=document\.createElement'
    r'\("style"\);\2\.id="\1",\2\.textContent='
)
_MARKER = '.replace(/X/g,".js-plotly-plot .plotly").replace(/Y/g,".plotly-notifier")'


def plotly_js_path() -> Path:
    import plotly

    return Path(plotly.__file__).parent / "package_data" / "plotly.min.js"


def _read_string(text: str, i: int) -> tuple[str, int]:
    quote = text[i]
    out = []
    i += 1
    while text[i] != quote:
        if text[i] == "\\":
            i += 1
        out.append(text[i])
        i += 1
    return "".join(out), i + 1


def _parse_object(text: str, i: int) -> tuple[dict[str, str], int]:
    """A JS object literal of string values starting at text[i] == '{'."""
    if text[i] != "{":
        raise ValueError("plotly.js's style rules are not an object literal")
    i += 1
    result: dict[str, str] = {}
    while text[i] != "}":
        if text[i] in "\"'":
            key, i = _read_string(text, i)
        else:
            match = re.compile(r"[A-Za-z_$][\w$]*").match(text, i)
            if match is None:
                raise ValueError(f"unexpected {text[i : i + 20]!r} in plotly's style rules")
            key, i = match.group(0), match.end()
        if text[i] != ":" or text[i + 1] not in "\"'":
            raise ValueError(f"unexpected {text[i : i + 20]!r} in plotly's style rules")
        value, i = _read_string(text, i + 1)
        result[key] = value
        if text[i] == ",":
            i += 1
    return result, i + 1


def plotly_rules(js: str) -> list[tuple[str, str]]:
    """(selector, declarations) in the order plotly.js passes them to addStyleRule."""
    marker = js.find(_MARKER)
    if marker < 0:
        raise ValueError("plotly.js's global style rules were not found: update this script")
    loop = js.rfind("for(", 0, marker)
    name = re.compile(r"for\(\w+ in ([\w$]+)\)").match(js, loop)
    if name is None:
        raise ValueError("plotly.js's style-rule loop has an unexpected shape")
    start = js.rfind(name.group(1) + "={", 0, loop) + len(name.group(1)) + 1
    rules, _end = _parse_object(js, start)
    result = []
    for key, value in rules.items():
        selector = " ," + key[1:] if key.startswith(",") else key  # as plotly.js does
        selector = selector.replace("X", ".js-plotly-plot .plotly").replace("Y", ".plotly-notifier")
        result.append((selector, value))
    return result


def plotly_version(js: str) -> str:
    match = re.search(r"plotly\.js v(\d+\.\d+\.\d+)", js[:500])
    return match.group(1) if match else "unknown"


def render_css(js: str) -> str:
    # plotly.js inserts every rule at index 0, so the last rule it adds comes first.
    rules = list(reversed(plotly_rules(js)))
    lines = [
        f"/* plotly.js v{plotly_version(js)} global styles, written by scripts/plotly_css.py",
        "   from the installed plotly.min.js (MIT licence, Copyright Plotly, Inc.).",
        "   Linked with id=plotly.js-style-global class=no-inline-styles so that plotly.js",
        "   does not inject them as an inline <style>, which our CSP forbids. */",
    ]
    lines += [f"{selector}{{{declarations}}}" for selector, declarations in rules]
    return "\n".join(lines) + "\n"


def injected_stylesheets(js: str) -> list[tuple[str, str]]:
    """(element id, css) of every other stylesheet plotly.js injects unless the id exists."""
    found = []
    for match in _INJECTED.finditer(js):
        css, _end = _read_string(js, match.end())
        found.append((match.group(1), css))
    return found


def injected_file(element_id: str) -> str:
    return f"plotly-{element_id[:12]}.css"


def render_head(js: str) -> str:
    links = [
        '<link rel="stylesheet" id="plotly.js-style-global" class="no-inline-styles" '
        "href=\"{% static 'outcomes/plotly.css' %}\">"
    ]
    links += [
        f'<link rel="stylesheet" id="{element_id}" '
        f"href=\"{{% static 'outcomes/{injected_file(element_id)}' %}}\">"
        for element_id, _css in injected_stylesheets(js)
    ]
    return (
        "{% load static %}{% comment %}Written by scripts/plotly_css.py for plotly.js "
        f"v{plotly_version(js)}: do not edit. The links carry the ids plotly.js looks for, so it "
        "does not inject inline <style> elements, which our CSP forbids (docs/security.md)."
        "{% endcomment %}"
        + "".join(links)
        + "<script src=\"{% static 'vendor/plotly/plotly.min.js' %}\" defer></script>"
        "<script src=\"{% static 'outcomes/charts.js' %}\" defer></script>\n"
    )


def expected_files(js: str) -> dict[Path, str]:
    files = {TARGET: render_css(js), HEAD_TEMPLATE: render_head(js)}
    for element_id, css in injected_stylesheets(js):
        header = f"/* Injected by plotly.js v{plotly_version(js)} (maplibre-gl, BSD-3-Clause); "
        header += "copied by scripts/plotly_css.py. */\n"
        files[STATIC / injected_file(element_id)] = header + css + "\n"
    return files


def main() -> int:
    js = plotly_js_path().read_text(encoding="utf-8")
    files = expected_files(js)
    for stale in STATIC.glob("plotly-*.css"):
        if stale not in files:
            stale.unlink()
    for path, text in files.items():
        path.write_text(text, encoding="utf-8")
        print(f"wrote {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
