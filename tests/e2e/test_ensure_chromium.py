"""scripts/ensure_chromium.sh: a missing browser fails `make test` loudly unless opted out."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "ensure_chromium.sh"


def _run(tmp_path: Path, **env: str) -> subprocess.CompletedProcess:
    # A fake apt-get that fails the way apt does, first on PATH (used only when root).
    fake = tmp_path / "bin"
    fake.mkdir(exist_ok=True)
    (fake / "apt-get").write_text(
        "#!/bin/sh\necho 'E: Unable to locate package chromium' >&2\nexit 100\n"
    )
    (fake / "apt-get").chmod(0o755)
    base = {"PATH": f"{fake}:{os.environ['PATH']}", "DYAD_CHROMIUM": str(tmp_path / "none")}
    return subprocess.run(  # noqa: S603 - our own script
        ["/bin/sh", str(SCRIPT)], env={**base, **env}, capture_output=True, text=True, check=False
    )


def test_missing_chromium_fails_and_shows_why(tmp_path):
    result = _run(tmp_path)
    assert result.returncode == 1
    assert "ERROR: no Chromium at" in result.stderr
    assert "DYAD_SKIP_BROWSER_TESTS=1" in result.stderr
    if os.geteuid() == 0:  # the install was tried, and apt's own error is on the terminal
        assert "E: Unable to locate package chromium" in result.stderr


def test_opting_out_passes_and_says_so(tmp_path):
    result = _run(tmp_path, DYAD_SKIP_BROWSER_TESTS="1")
    assert result.returncode == 0
    assert "browser tests will skip" in result.stderr


def test_present_chromium_passes_quietly(tmp_path):
    browser = tmp_path / "chromium"
    browser.write_text("#!/bin/sh\n")
    browser.chmod(0o755)
    result = _run(tmp_path, DYAD_CHROMIUM=str(browser))
    assert result.returncode == 0 and result.stderr == ""
