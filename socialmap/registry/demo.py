"""The demo set: generated initiatives on real kernen, flagged is_demo, synced in bulk."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection

from ..queries import registry as q
from .synthetic import COLUMNS, TABLES, Generator, Pc4Finder, demo_plan, load_kernen


class NoGeography(RuntimeError):
    """The kernen are not loaded, so there is nothing to place initiatives in."""


@dataclass(frozen=True)
class DemoReport:
    services: int
    rows_changed: int

    def summary(self) -> str:
        if not self.rows_changed:
            return f"demo set: {self.services} initiatives, nothing changed"
        return f"demo set: {self.services} initiatives, {self.rows_changed} rows written or removed"


def demo_lines(conn: Connection) -> dict[str, list[str]]:
    """The whole demo set as COPY lines per table; the same on every run for the same kernen."""
    kernen = load_kernen(conn)
    if not kernen:
        raise NoGeography("no kernen loaded: run `flask --app app geo load` first")
    generator = Generator(q.term_ids(conn), Pc4Finder(conn), demo=True, tag="demo")
    plan = demo_plan(kernen)
    out: dict[str, list[str]] = {t: [] for t in TABLES}
    for chunk in generator.lines(plan, chunk=len(plan) + 1):
        for table, lines in chunk.items():
            out[table] += lines
    return out


def sync_demo(conn: Connection) -> DemoReport:
    """Write the demo set, changing only rows that differ and removing demo rows no longer
    generated; the caller owns the transaction and has set the actor."""
    lines = demo_lines(conn)
    q.create_stage(conn, COLUMNS)
    for table in TABLES:
        q.copy_lines(conn, f"demo_stage_{table}", COLUMNS[table], lines[table])
    changed = q.sync_stage(conn, COLUMNS)
    return DemoReport(len(lines["service"]), changed)


def remove_demo(conn: Connection) -> int:
    """Remove the demo set; returns the number of services, locations and organizations."""
    return q.remove_demo(conn)
