"""The seed registry: the project's curated file plus the generated demo set."""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from sqlalchemy.orm import Session

from ..db import set_actor
from ..queries import registry as q
from .demo import DemoReport, NoGeography, sync_demo
from .importer import ImportReport, import_file

ACTOR = "registry seed"
SOURCE = "seed"


class SeedError(RuntimeError):
    """The curated file has rows that do not import: a bug in the project's own data."""


def seed(s: Session, seed_file: Path, demo: bool = True,
         echo: Callable[[str], None] = print) -> tuple[ImportReport, DemoReport | None]:
    """Import the curated file and sync the demo set in the session's transaction."""
    conn = s.connection()
    if not q.kern_codes(conn):
        raise NoGeography("no kernen loaded: run `flask --app app geo load` first")
    curated = import_file(s, seed_file, actor=ACTOR, source=SOURCE)
    echo(f"curated initiatives ({seed_file.name}): {curated.summary()}")
    if curated.rejected:
        raise SeedError("\n".join(f"  {r}" for r in curated.rejected))
    report = None
    if demo:
        set_actor(s, ACTOR, SOURCE)
        report = sync_demo(s.connection())
        echo(report.summary())
    return curated, report
