"""`flask --app app registry ...`: import, export, the seed registry and the demo set."""
from __future__ import annotations

import getpass
from pathlib import Path
from time import perf_counter

import click
from flask.cli import AppGroup

from .. import settings
from ..db import get_db, set_actor
from ..registry.demo import NoGeography, remove_demo, sync_demo
from ..registry.exporter import export_file
from ..registry.formats import FileError, format_of
from ..registry.importer import import_file
from ..registry.seed import ACTOR, SOURCE, SeedError, seed

CRS = click.Choice(["4326", "28992"])


@click.group("registry", cls=AppGroup,
             help="Import and export initiatives; the curated seed and the demo set.")
def group() -> None:
    pass


def _actor(name: str | None) -> str:
    return name or f"cli:{getpass.getuser()}"


@group.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--crs", type=CRS, help="CRS of the coordinates (default: from the file; "
              "GeoJSON without a crs member and CSV lon/lat are WGS84, CSV x/y is RD New).")
@click.option("--dry-run", is_flag=True, help="Check and report, write nothing.")
@click.option("--report", "report_file", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write the rejected rows with their reasons to this file.")
@click.option("--actor", help="Who imports, for the change log (default: cli:<user>).")
def import_command(file: Path, crs: str | None, dry_run: bool, report_file: Path | None,
                   actor: str | None) -> None:
    """Import initiatives from a CSV or GeoJSON FILE; a row is written whole or not at all."""
    with get_db().session() as s:
        try:
            report = import_file(s, file, int(crs) if crs else None, _actor(actor), "import")
        except FileError as exc:
            raise click.ClickException(f"{file}: {exc}") from exc
        if dry_run:
            s.rollback()
        else:
            s.commit()
    for rejection in report.rejected:
        click.echo(f"rejected {rejection}", err=True)
    if report_file:
        report_file.write_text("".join(f"{r}\n" for r in report.rejected), encoding="utf-8")
    click.echo(("dry run, nothing written: " if dry_run else "") + report.summary())
    if report.rejected:
        click.echo(f"{len(report.rejected)} rows rejected"
                   + ("" if dry_run else "; the other rows were written"), err=True)
        raise click.exceptions.Exit(1)


@group.command("export")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["csv", "geojson"]),
              help="Default: from the file name.")
@click.option("--crs", type=CRS, default="4326", show_default=True)
@click.option("--include-private", is_flag=True,
              help="Exact private locations and private contacts (editors' backups only).")
@click.option("--include-demo", is_flag=True, help="Also the generated demo initiatives.")
def export_command(file: Path, fmt: str | None, crs: str, include_private: bool,
                   include_demo: bool) -> None:
    """Export the registry to FILE as CSV or GeoJSON, in the import format."""
    try:
        kind = format_of(file, fmt)
    except FileError as exc:
        raise click.ClickException(str(exc)) from exc
    with get_db().session() as s:
        rows = export_file(s.connection(), file, kind, int(crs), include_private, include_demo)
    click.echo(f"wrote {rows} rows to {file}" + (" (with private data)" if include_private
                                                 else ""))


@group.command("seed")
@click.option("--no-demo", is_flag=True, help="Only the curated file, not the demo set.")
def seed_command(no_demo: bool) -> None:
    """Load data/initiatives.geojson and the demo set; a second run changes nothing."""
    seed_registry(demo=not no_demo)


def seed_registry(demo: bool = True) -> None:
    """The curated file and the demo set, in one transaction (also run by setup)."""
    start = perf_counter()
    try:
        with get_db().session() as s, s.begin():
            seed(s, settings.current().seed_file, demo=demo, echo=click.echo)
    except (NoGeography, FileError) as exc:
        raise click.ClickException(str(exc)) from exc
    except SeedError as exc:
        raise click.ClickException(f"the seed file has rejected rows:\n{exc}") from exc
    click.echo(f"seed registry done in {perf_counter() - start:.1f} s")


@group.command("demo")
@click.option("--remove", is_flag=True, help="Remove the demo set instead.")
def demo_command(remove: bool) -> None:
    """Write (or with --remove delete) the generated demo initiatives."""
    with get_db().session() as s, s.begin():
        set_actor(s, ACTOR, SOURCE)
        if remove:
            removed = remove_demo(s.connection())
            click.echo(f"removed the demo set ({removed} services, locations and "
                       "organizations)")
            return
        try:
            click.echo(sync_demo(s.connection()).summary())
        except NoGeography as exc:
            raise click.ClickException(str(exc)) from exc
