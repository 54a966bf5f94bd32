"""`flask --app app map refresh`: recount the map's pre-aggregated grid from the registry."""
from __future__ import annotations

from time import perf_counter

import click
from flask.cli import AppGroup

from ..db import get_db
from ..services import mapdata as svc


@click.group("map", cls=AppGroup, help="The map's pre-aggregated grid (docs/MAPDATA.md).")
def group() -> None:
    pass


@group.command("refresh")
@click.option("--blocking", is_flag=True,
              help="Refresh without CONCURRENTLY: faster, but the map waits meanwhile.")
def refresh_command(blocking: bool) -> None:
    """Recount the grid after imports or a restore (run it from cron, e.g. every 10 minutes)."""
    start = perf_counter()
    with get_db().session() as s:
        was_empty = not svc.grid_populated(s)
        svc.refresh_grid(s, concurrently=not blocking)
    click.echo(f"map grid {'built' if was_empty else 'refreshed'} in "
               f"{perf_counter() - start:.1f} s")
