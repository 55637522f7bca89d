"""The house plan, checked: which package may import which (CONTRIBUTING.md, "Layout").

clinic <- rri_forms <- outcomes, with `dyad/` (the project) above them all and `dyad/lib/`
(infrastructure) below them all. Every `import` statement in the tree is read, including
the ones inside functions, so a lazy import cannot slip past.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
APPS = ("clinic", "rri_forms", "outcomes")

# What each package must not import. `dyad.lib` is open to all; `dyad` itself to none.
FORBIDDEN = {
    "clinic": ("rri_forms", "outcomes", "dyad.settings", "dyad.urls", "dyad.checks"),
    "rri_forms": ("outcomes", "dyad.settings", "dyad.urls", "dyad.checks"),
    "outcomes": ("dyad.settings", "dyad.urls", "dyad.checks"),
    "dyad/lib": ("rri_forms", "outcomes", "clinic", "dyad.settings", "dyad.urls"),
    "outcomes/analytics": ("django", "clinic", "rri_forms", "outcomes.models", "dyad"),
    # The pure page-building code: frames in, dicts out; the database stays in selectors.
    "outcomes/reports": ("django", "clinic", "rri_forms", "outcomes.models", "dyad"),
}
# The infrastructure tables whose migrations live in clinic (see dyad/lib/__init__.py).
# rri_forms.instrument_spec is pure (standard library only), so the pure code may read specs.
ALLOWED = {
    "dyad/lib": ("clinic.models",),
    "outcomes/analytics": ("rri_forms.instrument_spec",),
    "outcomes/reports": ("rri_forms.instrument_spec",),
}


def imported_modules(path: Path) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
            found += [(node.lineno, f"{node.module}.{alias.name}") for alias in node.names]
    return found


def matches(module: str, prefix: str) -> bool:
    return module == prefix or module.startswith(prefix + ".")


def violations(package: str) -> list[str]:
    out = []
    for path in sorted((ROOT / package).rglob("*.py")):
        for line, module in imported_modules(path):
            if any(matches(module, p) for p in ALLOWED.get(package, ())):
                continue
            if any(matches(module, p) for p in FORBIDDEN[package]):
                out.append(f"{path.relative_to(ROOT)}:{line} imports {module}")
    return out


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_imports_point_one_way(package):
    assert violations(package) == []


def test_the_check_sees_a_forbidden_import(tmp_path, monkeypatch):
    """The checker itself can fail: a planted clinic -> outcomes import is reported."""
    (tmp_path / "clinic").mkdir()
    (tmp_path / "clinic" / "bad.py").write_text(
        "def f():\n    from outcomes.selectors.frames import dyad_report\n"
    )
    monkeypatch.setattr(f"{__name__}.ROOT", tmp_path)
    assert violations("clinic") == [
        "clinic/bad.py:2 imports outcomes.selectors.frames",
        "clinic/bad.py:2 imports outcomes.selectors.frames.dyad_report",
    ]


def test_every_app_has_the_same_shape():
    """models, services, selectors and views, each a module or a package, and one urls.py."""
    for app in APPS:
        for part in ("models", "services", "selectors", "views"):
            assert (ROOT / app / f"{part}.py").exists() or (ROOT / app / part).is_dir(), (
                f"{app} has no {part}"
            )
        assert [p.name for p in (ROOT / app).glob("urls*.py")] == ["urls.py"]
