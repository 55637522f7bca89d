"""Serve the third-party front-end files we depend on straight from their Python packages.

Nothing third-party is committed or fetched from a CDN: Bootstrap comes from
xstatic-bootstrap and plotly.js from the plotly package. Only the files listed here are
exposed, so collectstatic does not copy whole package data folders.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, Literal, overload

import plotly
import xstatic.pkg.bootstrap
from django.contrib.staticfiles.finders import BaseFinder
from django.core.checks import CheckMessage
from django.core.files.storage import FileSystemStorage

_BOOTSTRAP = Path(xstatic.pkg.bootstrap.BASE_DIR)
_PLOTLY = Path(plotly.__file__).parent / "package_data"

# The .map files are listed because the minified files reference them, and the manifest
# storage refuses to hash a file whose references it cannot resolve.
VENDOR_FILES: dict[str, Path] = {
    "vendor/bootstrap/bootstrap.min.css": _BOOTSTRAP / "css" / "bootstrap.min.css",
    "vendor/bootstrap/bootstrap.min.css.map": _BOOTSTRAP / "css" / "bootstrap.min.css.map",
    "vendor/bootstrap/bootstrap.bundle.min.js": _BOOTSTRAP / "js" / "bootstrap.bundle.min.js",
    "vendor/bootstrap/bootstrap.bundle.min.js.map": _BOOTSTRAP
    / "js"
    / "bootstrap.bundle.min.js.map",
    "vendor/plotly/plotly.min.js": _PLOTLY / "plotly.min.js",
}


class _PrefixedStorage(FileSystemStorage):
    # collectstatic and the static view put a storage's files under its `prefix`, an
    # attribute Django's own finders set on plain storages (the stubs do not declare it).
    prefix: str


class VendorFinder(BaseFinder):
    def check(self, **kwargs: Any) -> list[CheckMessage]:
        from django.core import checks

        return [
            checks.Error(f"Vendored static file missing: {source}", id="clinic.E001")
            for source in VENDOR_FILES.values()
            if not source.is_file()
        ]

    @overload
    def find(self, path: str, find_all: Literal[False] = False) -> str | None: ...
    @overload
    def find(self, path: str, find_all: Literal[True]) -> list[str]: ...
    def find(self, path: str, find_all: bool = False, **kwargs: Any) -> str | list[str] | None:
        source = VENDOR_FILES.get(path)
        if source is None or not source.is_file():
            return [] if find_all else None
        return [str(source)] if find_all else str(source)

    def list(
        self, ignore_patterns: Iterable[str] | None
    ) -> Iterator[tuple[str, FileSystemStorage]]:
        for path, source in VENDOR_FILES.items():
            storage = _PrefixedStorage(location=str(source.parent))
            storage.prefix = str(Path(path).parent)
            yield source.name, storage
