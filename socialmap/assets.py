"""Install the browser assets from the npm registry and copy them into static/vendor.

The app serves every asset itself (no CDN at run time). `make assets` runs this; it does
nothing when the copied files already match package-lock.json.
"""
from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys

from .config import PROJECT_ROOT

VENDOR = PROJECT_ROOT / "socialmap" / "static" / "vendor"
MODULES = PROJECT_ROOT / "node_modules"
# (package, file inside the package, target name inside static/vendor)
FILES = [
    ("leaflet", "dist/leaflet.js", "leaflet/leaflet.js"),
    ("leaflet", "dist/leaflet.css", "leaflet/leaflet.css"),
    ("leaflet", "dist/images", "leaflet/images"),
    ("leaflet.markercluster", "dist/leaflet.markercluster.js",
     "markercluster/leaflet.markercluster.js"),
    ("leaflet.markercluster", "dist/MarkerCluster.css", "markercluster/MarkerCluster.css"),
    ("leaflet.markercluster", "dist/MarkerCluster.Default.css",
     "markercluster/MarkerCluster.Default.css"),
    ("axe-core", "axe.min.js", "axe/axe.min.js"),
]


def lock_digest() -> str:
    return hashlib.sha256((PROJECT_ROOT / "package-lock.json").read_bytes()).hexdigest()[:16]


def main() -> int:
    stamp = VENDOR / ".lock-digest"
    digest = lock_digest()
    if stamp.exists() and stamp.read_text() == digest:
        return 0
    npm = shutil.which("npm")
    if npm is None:
        print("npm is missing: install Node.js (apt-get install -y nodejs npm)", file=sys.stderr)
        return 1
    subprocess.run([npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"],
                   cwd=PROJECT_ROOT, check=True)
    shutil.rmtree(VENDOR, ignore_errors=True)
    for package, source, target in FILES:
        src, dst = MODULES / package / source, VENDOR / target
        dst.parent.mkdir(parents=True, exist_ok=True)
        if src.is_dir():
            shutil.copytree(src, dst)
        else:
            shutil.copy2(src, dst)
    stamp.write_text(digest)
    print(f"Browser assets copied to {VENDOR.relative_to(PROJECT_ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
