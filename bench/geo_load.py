"""Full geography load into a fresh database: time per step, the unchanged second run, sizes.

    .venv/bin/python -m bench.geo_load [--geodata ../shared/geodata]

Creates a scratch database in the local cluster (which must be running: `flask --app app db
start`), migrates it, loads, reports into docs/BENCHMARKS.md, and drops the database.
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

from sqlalchemy import create_engine, text

from socialmap import migrate
from socialmap.config import Settings
from socialmap.db import local_cluster
from socialmap.geodata import load_geography

from .report import write_section

DATABASE = "socialmap_bench_geo"
TABLES = ("provincie", "gemeente", "pc4", "kern", "dataset_load")


def mib(size: int) -> str:
    return f"{size / 2**20:.1f} MiB"


def main() -> None:
    settings = Settings.from_env()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--geodata", type=Path, default=settings.geodata_dir)
    args = parser.parse_args()

    cluster = local_cluster(settings)
    cluster.psql(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
    cluster.psql(f"CREATE DATABASE {DATABASE}")
    cluster.psql("CREATE EXTENSION postgis; CREATE EXTENSION unaccent; CREATE EXTENSION pg_trgm",
                 db=DATABASE)
    engine = create_engine(cluster.socket_url(DATABASE))
    try:
        with engine.connect() as conn:
            migrate.upgrade(conn)
            conn.commit()
            empty_size = conn.execute(text("SELECT pg_database_size(current_database())")).scalar()
        start = time.perf_counter()
        with engine.begin() as conn:
            report = load_geography(conn, args.geodata, echo=print)
        total = time.perf_counter() - start  # including the commit
        start = time.perf_counter()
        with engine.begin() as conn:
            again = load_geography(conn, args.geodata, echo=print)
        second = time.perf_counter() - start
        assert again.unchanged
        with engine.connect() as conn:
            db_size = conn.execute(text("SELECT pg_database_size(current_database())")).scalar()
            sizes = {t: conn.execute(text("SELECT pg_total_relation_size(CAST(:t AS regclass))"),
                                     {"t": t}).scalar() for t in TABLES}
    finally:
        engine.dispose()
        cluster.psql(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")

    c = report.counts
    lines = [
        f"Full load of `{args.geodata.name}/` ({c['provincies']} provincies, {c['gemeenten']} "
        f"gemeenten, {c['pc4']} PC4, {c['kernen']} kernen) into a freshly migrated database, in "
        "one transaction, with `socialmap.geodata.load_geography`:",
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
    ]
    body = "\n".join(lines)
    print(body)
    write_section("geo-load", "Geography load", body)


if __name__ == "__main__":
    main()
