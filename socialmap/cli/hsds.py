"""`flask --app app hsds ...`: export and import Open Referral HSDS 3.0."""
from __future__ import annotations

import getpass
from pathlib import Path

import click
from flask.cli import AppGroup

from ..db import get_db
from ..hsds.export import export_file
from ..hsds.importer import import_path
from ..hsds.tabular import FileError


@click.group("hsds", cls=AppGroup,
             help="Export and import Open Referral HSDS 3.0 (JSON or a CSV data package).")
def group() -> None:
    pass


@group.command("export")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["json", "zip"]),
              help="json: tabular JSON; zip: Tabular Data Package. Default: from the name.")
@click.option("--include-demo", is_flag=True, help="Also the generated demo initiatives.")
def export_command(file: Path, fmt: str | None, include_demo: bool) -> None:
    """Export the registry to FILE as HSDS 3.0, public data only."""
    kind = fmt or file.suffix.lstrip(".").lower()
    if kind not in ("json", "zip"):
        raise click.ClickException(f"{file.name}: use a .json or .zip name, or --format")
    with get_db().session() as s:
        conn = s.connection()
        size = export_file(conn, include_demo, kind, file)
    click.echo(f"wrote {file} ({size} bytes, HSDS 3.0 {kind})")


@group.command("import")
@click.argument("file", type=click.Path(exists=True, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Check and report, write nothing.")
@click.option("--report", "report_file", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write rejected rows and warnings to this file.")
@click.option("--actor", help="Who imports, for the change log (default: cli:<user>).")
def import_command(file: Path, dry_run: bool, report_file: Path | None,
                   actor: str | None) -> None:
    """Import HSDS 3.0 from FILE: a .json file, a .zip package or a directory of CSV files."""
    with get_db().session() as s:
        try:
            report = import_path(s, file, actor or f"cli:{getpass.getuser()}")
        except FileError as exc:
            raise click.ClickException(f"{file}: {exc}") from exc
        if dry_run:
            s.rollback()
        else:
            s.commit()
    for warning in report.warnings:
        click.echo(f"warning {warning}", err=True)
    for rejection in report.rejected:
        click.echo(f"rejected {rejection}", err=True)
    if report_file:
        report_file.write_text("".join(f"rejected {r}\n" for r in report.rejected)
                               + "".join(f"warning {w}\n" for w in report.warnings),
                               encoding="utf-8")
    click.echo(("dry run, nothing written: " if dry_run else "") + report.summary())
    if report.rejected:
        click.echo(f"{len(report.rejected)} rows rejected"
                   + ("" if dry_run else "; the other rows were written"), err=True)
        raise click.exceptions.Exit(1)
