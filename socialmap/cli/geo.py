"""`flask --app app geo ...`: load the reference geography, downloading it when asked."""
from __future__ import annotations

from pathlib import Path

import click
from flask.cli import AppGroup

from .. import settings
from ..db import get_db
from ..geodata import GeodataError, LoadReport, load_geography
from ..geodata.download import DownloadError, describe_sources, download, is_complete


@click.group("geo", cls=AppGroup,
             help="Reference geography: provincies, gemeenten, PC4 areas and kernen.")
def group() -> None:
    pass


@group.command("load")
@click.argument("directory", required=False,
                type=click.Path(file_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Reload even when the files are unchanged.")
@click.option("--download", "fetch", is_flag=True,
              help="Download from the official sources first (into DIRECTORY or var/geodata).")
@click.option("--yes", is_flag=True, help="Download without asking.")
@click.option("--base-url", envvar="SOCIALMAP_GEODATA_BASE_URL", metavar="URL",
              help="Fetch every source file from this address instead (a mirror).")
def load(directory: Path | None, force: bool, fetch: bool, yes: bool,
         base_url: str | None) -> None:
    """Load provincies, gemeenten, PC4 and kernen from DIRECTORY (default: the geodata dir)."""
    load_command(directory, force=force, fetch=fetch, yes=yes, base_url=base_url)


def load_command(directory: Path | None = None, *, force: bool = False, fetch: bool = False,
                 yes: bool = False, base_url: str | None = None) -> LoadReport:
    """Pick (or download) the directory, then load it in one transaction."""
    try:
        source = _directory(directory, fetch=fetch, yes=yes, base_url=base_url)
        with get_db().session() as s, s.begin():
            return load_geography(s.connection(), source, force=force, echo=click.echo)
    except (GeodataError, DownloadError) as exc:
        raise click.ClickException(str(exc)) from exc


def _directory(directory: Path | None, *, fetch: bool, yes: bool, base_url: str | None) -> Path:
    cfg = settings.current()
    downloaded = cfg.var_dir / "geodata"
    if fetch:
        return _offer_download(directory or downloaded, yes=yes, base_url=base_url,
                               reason="Download requested.")
    if directory is not None:
        if not directory.is_dir():
            raise click.ClickException(f"{directory}: no such directory")
        return directory
    if cfg.geodata_dir.is_dir():
        return cfg.geodata_dir
    if is_complete(downloaded):
        click.echo(f"No geodata at {cfg.geodata_dir}; using the download in {downloaded}")
        return downloaded
    return _offer_download(downloaded, yes=yes, base_url=base_url,
                           reason=f"No geodata directory at {cfg.geodata_dir}.")


def _offer_download(target: Path, *, yes: bool, base_url: str | None, reason: str) -> Path:
    click.echo(reason)
    click.echo("The geography can be downloaded from the official sources:")
    for line in describe_sources(base_url):
        click.echo(line)
    if not yes:
        click.confirm(f"Download them into {target} and load from there?", abort=True)
    return download(target, base_url=base_url, echo=click.echo)
