"""The full HSDS export (`flask hsds export`, /hsds/export.*) on the benchmark registries: wall
time and peak memory (RSS) of the streamed export, and of the previous in-memory one for
comparison, each in its own process under GNU time; the two files are compared byte for byte.

    .venv/bin/python -m bench.hsds_export [--database socialmap_bench_100k ...]
        [--formats zip json] [--previous | --no-previous]

The previous export builds every table in memory (about 16 KB of RSS per initiative): leave it
out (--no-previous) for the 1M registry unless the machine has the memory to spare.
"""
from __future__ import annotations

import argparse
import hashlib
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from socialmap.config import Settings
from socialmap.db import local_cluster

from .report import write_section
from .tools import load_average

GNU_TIME = "/usr/bin/time"


@dataclass
class Run:
    database: str
    services: int
    how: str
    kind: str
    seconds: float
    peak_mib: float
    size: int
    sha256: str


def child(how: str, kind: str, url: str, out: Path) -> None:
    """One export in this process: 'streamed' (export_file) or 'previous' (in memory)."""
    from socialmap.hsds import export, tabular
    from socialmap.queries import hsds as q

    engine = create_engine(url, poolclass=NullPool)
    with engine.connect() as conn:
        if how == "streamed":
            export.export_file(conn, False, kind, out)
        else:
            tables = export.collect(conn, q.Scope(None, False))
            out.write_bytes(tabular.write_zip(tables) if kind == "zip"
                            else tabular.write_json(tables))
        conn.rollback()
    engine.dispose()


def _seconds(clock: str) -> float:
    parts = [float(p) for p in clock.split(":")]
    return sum(p * 60 ** i for i, p in enumerate(reversed(parts)))


def measure(database: str, services: int, url: str, how: str, kind: str, workdir: Path) -> Run:
    out = workdir / f"{database}-{how}.{kind}"
    proc = subprocess.run([GNU_TIME, "-v", sys.executable, "-m", "bench.hsds_export", "--child",
                           how, kind, url, str(out)], capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"{how} {kind} export of {database} failed:\n{proc.stderr[-3000:]}")
    peak = re.search(r"Maximum resident set size \(kbytes\): (\d+)", proc.stderr)
    clock = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): ([\d:.]+)", proc.stderr)
    assert peak and clock, proc.stderr[-2000:]
    data = out.read_bytes()
    run = Run(database, services, how, kind, _seconds(clock.group(1)), int(peak.group(1)) / 1024,
              len(data), hashlib.sha256(data).hexdigest())
    out.unlink()
    print(f"{database} {how} {kind}: {run.seconds:.1f} s, peak {run.peak_mib:,.0f} MiB, "
          f"{run.size:,} bytes", flush=True)
    return run


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--database", nargs="+", default=["socialmap_bench_100k"])
    ap.add_argument("--formats", nargs="+", default=["zip", "json"], choices=["zip", "json"])
    ap.add_argument("--previous", action=argparse.BooleanOptionalAction, default=True,
                    help="also run the previous in-memory export, and compare the files")
    ap.add_argument("--child", nargs=4, metavar=("HOW", "KIND", "URL", "OUT"),
                    help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        how, kind, url, out = args.child
        child(how, kind, url, Path(out))
        return
    cluster = local_cluster(Settings.from_env())
    runs: list[Run] = []
    load_before = load_average()
    with tempfile.TemporaryDirectory(prefix="hsds-export-") as tmp:
        for database in args.database:
            url = cluster.url(database)
            engine = create_engine(url, poolclass=NullPool)
            with engine.connect() as conn:
                services = conn.execute(text("SELECT count(*) FROM service WHERE NOT is_demo")
                                        ).scalar_one()
            engine.dispose()
            for kind in args.formats:
                for how in ("streamed", "previous") if args.previous else ("streamed",):
                    runs.append(measure(database, services, url, how, kind, Path(tmp)))
    report(runs, load_before, load_average(), args.database)


def report(runs: list[Run], load_before: str, load_after: str, databases: list[str]) -> None:
    lines = [
        "`.venv/bin/python -m bench.hsds_export`: `flask hsds export` of the registry without "
        "demo records, each run in its own process under GNU time (wall clock, peak RSS). "
        "*streamed* is the export as it is now: rows from server-side cursors in batches of "
        "2,000, sorted and reference-checked in temporary tables, written file by file; "
        "*previous* builds every table in memory first, as the export did before.",
        "",
        f"Before the runs: {load_before}; after: {load_after} (other engineers' jobs share "
        "the machine).",
        "",
        "| registry | initiatives | format | export | time | peak RSS | file | same bytes |",
        "|---|---:|---|---|---:|---:|---:|---|",
    ]
    by_key = {(r.database, r.kind, r.how): r for r in runs}
    for r in runs:
        other = by_key.get((r.database, r.kind, "previous" if r.how == "streamed" else
                            "streamed"))
        same = "-" if other is None else ("yes" if other.sha256 == r.sha256 else "**no**")
        lines.append(f"| {r.database} | {r.services:,} | {r.kind} | {r.how} | "
                     f"{r.seconds:,.1f} s | {r.peak_mib:,.0f} MiB | {r.size / 2**20:,.1f} MiB | "
                     f"{same} |")
    # The default registry has the main section; others (the 1M, which takes most of an
    # hour) their own, so that each can be rerun alone.
    default = databases == ["socialmap_bench_100k"]
    key = "hsds-export" if default else "hsds-export-" + "-".join(databases)
    title = "HSDS file export: time and memory" + ("" if default else
                                                   f" ({', '.join(databases)})")
    write_section(key, title, "\n".join(lines))


if __name__ == "__main__":
    main()
