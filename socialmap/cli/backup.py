"""`flask --app app backup [FILE]` and `flask --app app restore FILE [--into DBNAME]`."""
from __future__ import annotations

from pathlib import Path

import click
from flask.cli import with_appcontext

from .. import backup as bk
from .. import settings
from ..db import database_url, local_cluster
from ..pgcluster import ClusterError


@click.command("backup")
@click.argument("file", required=False, type=click.Path(dir_okay=False, path_type=Path))
@with_appcontext
def backup(file: Path | None) -> None:
    """Write a pg_dump archive (custom format) of the database to FILE (default var/backups/)."""
    cfg = settings.current()
    url = database_url(cfg)
    path = file or bk.default_backup_path(cfg.var_dir, bk.database_name(url))
    try:
        bk.dump(url, path)
    except bk.BackupError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"Backup of {bk.database_name(url)} written to {path} "
               f"({path.stat().st_size / 2**20:.1f} MiB)")


def _target(into: str | None) -> str:
    """The URL of the database to restore into, created when it does not exist."""
    cfg = settings.current()
    if cfg.database_url:
        target = bk.with_database(cfg.database_url, into) if into else cfg.database_url
        return target
    cluster = local_cluster(cfg)
    name = into or bk.database_name(cluster.url())
    try:
        # The superuser creates it for the app's role, with the extensions.
        cluster.ensure_database(name)
    except ClusterError as exc:
        raise click.ClickException(str(exc)) from exc
    return cluster.url(name)


@click.command("restore")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--into", metavar="DBNAME",
              help="Restore into this database (created when missing; must be empty). "
                   "Default: the configured database, which must then be empty.")
@click.option("--jobs", type=int, default=None, help="Parallel pg_restore jobs (default: cores).")
@with_appcontext
def restore(file: Path, into: str | None, jobs: int | None) -> None:
    """Restore FILE into a new or empty database, then verify rows per table and the schema."""
    try:
        target = _target(into)
        if settings.current().database_url:
            bk.create_database(target, bk.archive_extensions(bk.table_of_contents(file)))
        report = bk.restore(file, target, jobs=jobs)
    except bk.BackupError as exc:
        raise click.ClickException(str(exc)) from exc
    rows = sum(report.counts.values())
    click.echo(f"Restored {file} into {report.database}: {len(report.counts)} tables, "
               f"{rows:,} rows in {report.restore_seconds:.1f} s "
               f"(+ analyze {report.analyze_seconds:.1f} s, verify {report.verify_seconds:.1f} s); "
               f"schema revision {report.revision}")
    if not report.ok:
        for problem in report.problems:
            click.echo(f"  problem: {problem}", err=True)
        raise SystemExit(1)
    click.echo("Verified: every table has the rows of the backup; the schema is at head. "
               "Ready to serve.")
    click.echo("Checking the restored rows against the foreign keys (new writes are checked "
               "already), building the remaining indexes and the map's grid (search and map "
               "work meanwhile, a little slower) ...")
    try:
        bk.rebuild_deferred(target, report)
    except bk.BackupError as exc:
        raise click.ClickException(str(exc)) from exc
    if not report.ok:
        for problem in report.problems:
            click.echo(f"  problem: {problem}", err=True)
        raise SystemExit(1)
    click.echo(f"Built in {report.rebuild_seconds:.1f} s; the restored rows satisfy every "
               "foreign key.")
