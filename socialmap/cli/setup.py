"""`flask --app app setup`: everything `make run` needs before serving, each step idempotent."""
from __future__ import annotations

import click

from .database import start_local, upgrade_schema
from .geo import load_command as load_geography
from .registry import seed_registry


@click.command("setup")
@click.option("--no-data", is_flag=True, help="Only start the database and migrate.")
def command(no_data: bool) -> None:
    """Start PostGIS, migrate, load the geography and the seed registry."""
    start_local()
    upgrade_schema()
    if no_data:
        return
    load_geography()
    seed_registry()
