"""Backup and restore of a 100k registry: pg_dump, then pg_restore into a new database with
ANALYZE and verification, as `flask backup` and `flask restore` do. Target: ready under 10 s,
from creating the database until it is restored, analyzed and verified.

    .venv/bin/python -m bench.restore [--database socialmap_bench_100k] [--jobs 2]

The database is made with bench/generate.py's code (100k initiatives, seed "bench") when it does
not hold that registry yet; the restored copy is dropped afterwards.
"""
from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from socialmap import backup
from socialmap.config import Settings
from socialmap.db import local_cluster

from .report import write_section
from .tools import load_average

TARGET_SECONDS = 10
SIZE = 100_000


def ensure_registry(name: str) -> str:
    """The URL of a database of the local cluster holding the 100k synthetic registry."""
    from . import generate

    settings = Settings.from_env()
    cluster = local_cluster(settings)
    if not cluster.running():
        raise SystemExit("The local cluster is not running: flask --app app db start")
    cluster.ensure_database(name)
    url = cluster.url(name)
    engine = create_engine(url, poolclass=NullPool)
    generate.prepare(engine, settings)
    with engine.connect() as conn:
        services = conn.execute(text("SELECT count(*) FROM service")).scalar_one()
    if services != SIZE:
        print(f"{name} holds {services:,} initiatives: generating {SIZE:,} ...")
        generate.load(engine, "100k", "bench")
    engine.dispose()
    return url


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--database", default="socialmap_bench_100k")
    ap.add_argument("--into", default="socialmap_restore_bench")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    args = ap.parse_args()

    cluster = local_cluster(Settings.from_env())
    source = ensure_registry(args.database)
    with tempfile.TemporaryDirectory() as tmp:
        archive = Path(tmp) / "registry.dump"
        load = load_average()
        t0 = time.perf_counter()
        backup.dump(source, archive)
        dump_s = time.perf_counter() - t0
        cluster.psql(f"DROP DATABASE IF EXISTS {args.into} WITH (FORCE)")
        try:
            t0 = time.perf_counter()
            cluster.ensure_database(args.into)  # what `flask restore --into` does first
            create_s = time.perf_counter() - t0
            report = backup.restore(archive, cluster.url(args.into), jobs=args.jobs)
            # What `flask restore` does after "ready": the foreign keys' check of the restored
            # rows, the deferred indexes and the map grid.
            backup.rebuild_deferred(cluster.url(args.into), report)
        finally:
            cluster.psql(f"DROP DATABASE IF EXISTS {args.into} WITH (FORCE)")
        size = archive.stat().st_size
    ready_s = create_s + report.ready_seconds
    rows = sum(report.counts.values())
    verdict = ("met" if ready_s < TARGET_SECONDS
               else f"missed by {ready_s - TARGET_SECONDS:.1f} s")
    deferred = ", ".join(backup.DEFERRED_INDEXES)
    lines = [
        f"Registry: {report.counts.get('service', 0):,} initiatives (`{args.database}`, made by "
        f"bench/generate.py, seed `bench`), {len(report.counts)} tables, {rows:,} rows in all; "
        f"archive {size / 2**20:.1f} MiB (pg_dump -Fc). Machine at the start: {load}; "
        f"at the end: {load_average()}.",
        "",
        "| step | seconds |", "|---|---|",
        f"| pg_dump (custom format) | {dump_s:.1f} |",
        f"| create database with extensions | {create_s:.1f} |",
        f"| read the archive's table of contents and foreign keys, extensions, check the target "
        f"is empty | {report.prepare_seconds:.1f} |",
        f"| pg_restore --no-owner -j {args.jobs} (tables, data, keys, unique constraints, "
        f"indexes, triggers; not the map grid's rows nor {len(backup.DEFERRED_INDEXES)} "
        f"indexes), then the {len(report.unvalidated)} foreign keys NOT VALID "
        f"(enforced for new writes) | {report.restore_seconds:.1f} |",
        f"| ANALYZE (planner statistics), {args.jobs} connections | "
        f"{report.analyze_seconds:.1f} |",
        f"| verify rows per table against the archive (counted beside the restore), schema head "
        f"| {report.verify_seconds:.1f} |",
        f"| **ready to serve** | **{ready_s:.1f}** |",
        f"| after ready, while serving: VALIDATE the foreign keys against the restored rows "
        f"| {report.validate_seconds or 0:.1f} |",
        f"| after ready, while serving: the deferred indexes, CONCURRENTLY (`{deferred}`; the "
        f"reads they speed up use other indexes meanwhile) and the map grid "
        f"(`{', '.join(backup.DEFERRED_VIEWS)}`; the map counts live meanwhile) | "
        f"{(report.rebuild_seconds or 0) - (report.validate_seconds or 0):.1f} |",
        "",
        f"Restored and ready to serve (create + restore + ANALYZE + verify) in "
        f"**{ready_s:.1f} s**; target under {TARGET_SECONDS} s: {verdict}. The foreign keys' "
        f"check of the restored rows, the deferred indexes and the map's grid follow while the "
        f"site serves ({report.rebuild_seconds or 0:.1f} s). Verification: "
        + ("every table has the archive's rows; the schema is at head; the restored rows "
           "satisfy every foreign key." if report.ok
           else "; ".join(report.problems)),
    ]
    print("\n".join(lines))
    write_section("restore", "Backup and restore of a 100k registry", "\n".join(lines))
    raise SystemExit(0 if report.ok else 1)


if __name__ == "__main__":
    main()
