"""`flask --app app db ...`: the local PostGIS cluster and the schema."""
from __future__ import annotations

import click

from .. import migrate, settings
from ..db import get_db, local_cluster
from ..pgcluster import ClusterError, ensure_installed


@click.group("db", help="Local PostGIS cluster and schema migrations.")
def group() -> None:
    pass


def start_local(echo=click.echo) -> None:
    """Install, initialise and start the project's cluster and its database; idempotent."""
    cfg = settings.current()
    if cfg.database_url:
        echo("SOCIALMAP_DATABASE_URL is set: using that database, no local cluster.")
        return
    cluster = local_cluster(cfg)
    try:
        ensure_installed(echo)
        if cluster.init():
            echo(f"Created a PostgreSQL cluster in {cluster.datadir}")
        echo("Started PostgreSQL" if cluster.start() else "PostgreSQL is already running")
        echo(f"  on 127.0.0.1:{cluster.port}, log in {cluster.logfile}")
        if cluster.ensure_database():
            echo("Created database 'socialmap' with PostGIS")
    except ClusterError as exc:
        raise click.ClickException(str(exc)) from exc


def upgrade_schema(echo=click.echo, revision: str = "head") -> None:
    engine = get_db().engine
    with engine.connect() as conn:
        before = migrate.current_revision(conn)
        migrate.upgrade(conn, revision)
        conn.commit()
        after = migrate.current_revision(conn)
    echo(f"Schema at {after}" + ("" if before != after else " (unchanged)"))


@group.command("start")
def start() -> None:
    """Install PostGIS when missing, then create and start the local cluster."""
    start_local()


@group.command("stop")
def stop() -> None:
    """Stop the local cluster."""
    cluster = local_cluster(settings.current())
    try:
        click.echo("Stopped PostgreSQL" if cluster.stop() else "PostgreSQL was not running")
    except ClusterError as exc:
        raise click.ClickException(str(exc)) from exc


@group.command("status")
def status() -> None:
    """Say whether the local cluster runs and which schema revision it has."""
    cfg = settings.current()
    if cfg.database_url:
        click.echo("Using SOCIALMAP_DATABASE_URL (external database)")
    else:
        cluster = local_cluster(cfg)
        try:
            state = "running" if cluster.running() else (
                "stopped" if cluster.initialized() else "not created")
        except ClusterError as exc:
            raise click.ClickException(str(exc)) from exc
        click.echo(f"Local cluster {cluster.datadir}: {state} (port {cluster.port})")
        if state != "running":
            raise SystemExit(3)
    with get_db().engine.connect() as conn:
        click.echo(f"Schema revision {migrate.current_revision(conn)} "
                   f"(head {migrate.head_revision()})")


@group.command("upgrade")
@click.argument("revision", default="head")
def upgrade(revision: str) -> None:
    """Migrate the schema up (default: to head)."""
    upgrade_schema(revision=revision)


@group.command("downgrade")
@click.argument("revision")
def downgrade(revision: str) -> None:
    """Migrate the schema down to REVISION ('base' removes everything)."""
    with get_db().engine.connect() as conn:
        migrate.downgrade(conn, revision)
        conn.commit()
    click.echo(f"Schema at {revision}")



