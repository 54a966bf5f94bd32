"""Write a benchmark's figures into its own section of docs/BENCHMARKS.md, with the machine."""
from __future__ import annotations

import os
import platform
import re
import subprocess
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# A trial run can write elsewhere: SOCIALMAP_BENCHMARKS=/tmp/trial.md python -m bench.load
BENCHMARKS = Path(os.environ.get("SOCIALMAP_BENCHMARKS") or ROOT / "docs" / "BENCHMARKS.md")
HEADER = ("# Benchmarks\n\nEvery figure is written by a script in `bench/`; "
          "rerun it to refresh its section.\n")


def machine() -> str:
    """One line naming the machine the figures were measured on."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    pg = subprocess.run(["psql", "--version"], capture_output=True, text=True).stdout.strip()
    return (f"{os.cpu_count()} cores ({cpu}), {mem_gib:.0f} GiB RAM, "
            f"{platform.system()} {platform.release()}, Python {platform.python_version()}, {pg}")


def write_section(key: str, title: str, body: str) -> None:
    """Replace (or append) the section marked with `key` in docs/BENCHMARKS.md."""
    BENCHMARKS.parent.mkdir(parents=True, exist_ok=True)
    text = BENCHMARKS.read_text() if BENCHMARKS.exists() else HEADER
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    section = (f"<!-- bench:{key} -->\n## {title}\n\n"
               f"Measured {stamp} on: {machine()}.\n\n{body.strip()}\n<!-- /bench:{key} -->\n")
    pattern = re.compile(rf"<!-- bench:{re.escape(key)} -->.*?<!-- /bench:{re.escape(key)} -->\n",
                         re.S)
    text = pattern.sub(lambda _m: section, text) if pattern.search(text) else (
        text.rstrip("\n") + "\n\n" + section)
    BENCHMARKS.write_text(text)
    print(f"wrote section '{title}' to {BENCHMARKS}")
