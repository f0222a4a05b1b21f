"""Headless Chromium for checking HTML reports: the page's DOM after load, its console messages,
a screenshot. Debian's `chromium` package (setup.sh installs it where apt is available); no
browser is downloaded. Used by the report tests and scripts/report_example.py.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from .errors import RGVError

CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
# Chromium logs every console message of the page as INFO:CONSOLE with --enable-logging=stderr
CONSOLE_RE = re.compile(r":CONSOLE(?:\(\d+\))?:?\d*\]? ?(.*)")


def find_chromium() -> Optional[str]:
    explicit = os.environ.get("RGV_CHROMIUM")
    if explicit:
        return explicit if shutil.which(explicit) else None
    return next((shutil.which(c) for c in CANDIDATES if shutil.which(c)), None)


def require_chromium() -> str:
    exe = find_chromium()
    if exe is None:
        raise RGVError("no Chromium found: install Debian's package (apt-get install -y chromium; setup.sh does it when "
                       "apt is available) or set RGV_CHROMIUM to a Chromium/Chrome binary")
    return exe


@dataclass
class Rendered:
    dom: str  # the document after load (scripts run)
    console: list[str]  # console messages the page logged (errors, warnings, logs)
    stderr: str


def _base_args(exe: str, profile: str) -> list[str]:
    return [exe, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-extensions",
            f"--user-data-dir={profile}", "--enable-logging=stderr", "--v=0"]


def render(page: Path, timeout: float = 60.0) -> Rendered:
    exe = require_chromium()
    with tempfile.TemporaryDirectory(prefix="rgv-chromium-") as profile:
        run = subprocess.run([*_base_args(exe, profile), "--dump-dom", Path(page).resolve().as_uri()],
                             capture_output=True, text=True, timeout=timeout)
    console = [m.group(1) for line in run.stderr.splitlines() if (m := CONSOLE_RE.search(line))]
    return Rendered(run.stdout, console, run.stderr)


def screenshot(page: Path, out: Path, width: int = 1280, height: int = 2000, timeout: float = 60.0) -> Path:
    exe = require_chromium()
    out = Path(out).resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="rgv-chromium-") as profile:
        subprocess.run([*_base_args(exe, profile), "--hide-scrollbars", f"--window-size={width},{height}",
                        f"--screenshot={out}", Path(page).resolve().as_uri()], capture_output=True, text=True, timeout=timeout)
    if not out.is_file():
        raise RGVError(f"Chromium wrote no screenshot of {page}")
    return out
