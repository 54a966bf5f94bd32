"""Install the Debian packages the project needs when missing: PostGIS, and Chromium for tests.

Run by `make install`; every step is skipped when already done.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys

from .pgcluster import ClusterError, ensure_installed

BROWSER_PACKAGES = ("chromium", "chromium-driver")


def ensure_browser() -> None:
    if shutil.which("chromium"):
        return
    cmd = ["apt-get", "install", "-y", "-qq", *BROWSER_PACKAGES]
    if os.geteuid() != 0:
        print(f"Chromium is missing (browser tests will be skipped). Run as root: {' '.join(cmd)}")
        return
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run(cmd, check=True, env=env)


def main() -> int:
    try:
        ensure_installed()
    except ClusterError as exc:
        print(exc, file=sys.stderr)
        return 1
    ensure_browser()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
