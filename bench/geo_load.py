"""Full geography load into a fresh database: time per step, the unchanged second run, sizes.

    .venv/bin/python -m bench.geo_load [--geodata ../shared/geodata]

Creates a scratch database in the local cluster (which must be running: `flask --app app db
start`), migrates it, loads, reports into docs/BENCHMARKS.md, and drops the database.
"""
from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

from sqlalchemy import Engine, create_engine, text

from socialmap import migrate
from socialmap.config import Settings
from socialmap.db import local_cluster
from socialmap.geodata import LoadReport, load_geography
from socialmap.pgcluster import Cluster

from .report import write_section

DATABASE = "socialmap_bench_geo"
TABLES = ("provincie", "gemeente", "pc4", "kern", "dataset_load")


def mib(size: int) -> str:
    return f"{size / 2**20:.1f} MiB"


def fresh_database(cluster: Cluster) -> Engine:
    """Recreate the scratch database with its extensions and migrate it."""
    cluster.psql(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
    cluster.psql(f"CREATE DATABASE {DATABASE}")
    cluster.psql("CREATE EXTENSION postgis; CREATE EXTENSION unaccent; CREATE EXTENSION pg_trgm",
                 db=DATABASE)
    engine = create_engine(cluster.socket_url(DATABASE))
    with engine.connect() as conn:
        migrate.upgrade(conn)
        conn.commit()
    return engine


def size(engine: Engine, relation: str | None = None) -> int:
    """Bytes of the database, or of one table with its indexes and TOAST."""
    sql = ("SELECT pg_total_relation_size(CAST(:t AS regclass))" if relation
           else "SELECT pg_database_size(current_database())")
    with engine.connect() as conn:
        return int(conn.execute(text(sql), {"t": relation}).scalar_one())


def main() -> None:
    settings = Settings.from_env()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--geodata", type=Path, default=settings.geodata_dir)
    parser.add_argument("--runs", type=int, default=3, help="full loads; the fastest is shown")
    args = parser.parse_args()

    cluster = local_cluster(settings)
    runs: list[tuple[float, LoadReport]] = []
    engine = None
    try:
        for _ in range(args.runs):
            if engine is not None:
                engine.dispose()
            engine = fresh_database(cluster)
            empty_size = size(engine)
            start = time.perf_counter()
            with engine.begin() as conn:
                run = load_geography(conn, args.geodata, echo=print)
            runs.append((time.perf_counter() - start, run))  # including the commit
        assert engine is not None
        start = time.perf_counter()
        with engine.begin() as conn:
            again = load_geography(conn, args.geodata, echo=print)
        second = time.perf_counter() - start
        assert again.unchanged
        db_size = size(engine)
        sizes = {t: size(engine, t) for t in TABLES}
        engine.dispose()
    finally:
        cluster.psql(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")

    total, report = min(runs, key=lambda r: r[0])
    totals = [t for t, _ in runs]
    c = report.counts
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    lines = [
        f"Full load of `{args.geodata.name}/` ({c['provincies']} provincies, {c['gemeenten']} "
        f"gemeenten, {c['pc4']} PC4, {c['kernen']} kernen) into a freshly migrated database, in "
        f"one transaction, with `socialmap.geodata.load_geography`; the fastest of {args.runs} "
        f"runs (totals {', '.join(f'{t:.1f}' for t in totals)} s):",
        "",
        "| step | count | seconds |",
        "|---|---:|---:|",
        *(f"| {s.name} | {s.count} | {s.seconds:.2f} |" for s in report.steps),
        f"| **total, with checksum and commit** | | **{total:.2f}** |",
        f"| second run, files unchanged (checksum only) | | {second:.2f} |",
        "",
        f"Database size after the load: {mib(db_size)} (of which {mib(empty_size)} is the empty "
        "migrated database with PostGIS). Per table, with indexes and TOAST:",
        "",
        "| table | size |",
        "|---|---:|",
        *(f"| {t} | {mib(sizes[t])} |" for t in TABLES),
        "",
        f"Load average (1, 5, 15 min) right after the run: {load}; on a machine busy with other "
        "work the times are higher than on an idle one.",
    ]
    body = "\n".join(lines)
    print(body)
    write_section("geo-load", "Geography load", body)


if __name__ == "__main__":
    main()
