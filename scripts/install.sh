#!/bin/sh
# Creates the virtualenv and installs Dyad with its dev tools. Called by the Makefile.
set -eu
PYTHON=${PYTHON:-python3}
VENV=${VENV:-.venv}
"$PYTHON" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Dyad needs Python 3.11 or newer")'
[ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
PIP="$VENV/bin/python -m pip --disable-pip-version-check --quiet"
$PIP install --upgrade "pip>=24" "setuptools>=68,<81" wheel
# xstatic-bootstrap is published only as an sdist whose setup.py imports pkg_resources,
# which build isolation no longer provides: build it against our pinned setuptools.
$PIP install --no-build-isolation "xstatic-bootstrap>=5.3.8"
$PIP install -e ".[dev]"
