"""Command-line interface: `flask --app app <group> <command>`."""
from __future__ import annotations

from flask import Flask

from . import alerts, backup, database, gaps, geo, hsds, mapdata, registry, setup, users


def register(app: Flask) -> None:
    app.cli.add_command(alerts.group)
    app.cli.add_command(database.group)
    app.cli.add_command(gaps.group)
    app.cli.add_command(geo.group)
    app.cli.add_command(hsds.group)
    app.cli.add_command(mapdata.group)
    app.cli.add_command(registry.group)
    app.cli.add_command(setup.command)
    app.cli.add_command(backup.backup)
    app.cli.add_command(backup.restore)
    app.cli.add_command(users.group)
