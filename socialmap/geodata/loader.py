"""Load the reference geography from a directory of geodata files, in one transaction."""
from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from time import perf_counter

from sqlalchemy import Connection

from ..queries import geography as q
from . import sources
from .kernen import KernSelection, select_kernen
from .sources import GeodataError

# Bump when the loader derives something differently, so that unchanged files still reload.
LOADER_VERSION = "2"
DATASET = "geography"
UNCHANGED = "geography unchanged, nothing to do"

Echo = Callable[[str], None]


def _quiet(_message: str) -> None:
    pass


@dataclass
class Step:
    name: str
    count: int
    seconds: float


@dataclass
class LoadReport:
    """What a load did: per step timings, row changes per table, counts and notes."""

    directory: Path
    checksum: str
    unchanged: bool = False
    counts: dict[str, int] = field(default_factory=dict)
    changes: dict[str, dict[str, int]] = field(default_factory=dict)
    steps: list[Step] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def rows_changed(self) -> int:
        """Rows inserted, updated or deleted in the geography tables and locations."""
        return sum(sum(c.values()) for c in self.changes.values())

    def summary(self) -> str:
        """One line for the command line."""
        if self.unchanged:
            return UNCHANGED
        c = self.counts
        return (f"geography loaded in {self.seconds:.1f} s: {c['provincies']} provincies, "
                f"{c['gemeenten']} gemeenten, {c['pc4']} PC4, {c['kernen']} kernen "
                f"({c['kernen_woonplaats']} woonplaats, {c['kernen_geonames']} GeoNames, "
                f"{c['kernen_gemeente']} gemeente); {self.rows_changed} rows changed")


class _Progress:
    """Times steps and echoes each one as it ends."""

    def __init__(self, report: LoadReport, echo: Echo) -> None:
        self.report = report
        self.echo = echo

    @contextmanager
    def step(self, name: str, unit: str) -> Iterator[Step]:
        step = Step(name, 0, 0.0)
        start = perf_counter()
        yield step
        step.seconds = perf_counter() - start
        self.report.steps.append(step)
        self.echo(f"  {name}: {step.count} {unit} in {step.seconds:.1f} s")


@dataclass
class _Input:
    provincies: list[sources.Provincie]
    gemeenten: list[sources.Gemeente]
    pc4: list[dict[str, object]]
    kernen: KernSelection


def load_geography(conn: Connection, directory: Path, *, force: bool = False,
                   echo: Echo = _quiet) -> LoadReport:
    """Load (or reload) the geography from `directory` on `conn`, inside a savepoint.

    Reads and validates every file before writing anything; a second load of the same files
    does nothing unless `force`. Raises GeodataError naming the file and feature of bad input.
    """
    start = perf_counter()
    directory = Path(directory)
    report = LoadReport(directory, sources.checksum(directory, LOADER_VERSION))
    if not force and q.dataset_checksum(conn, DATASET) == report.checksum:
        report.unchanged = True
        report.counts = q.geography_counts(conn)
        report.seconds = perf_counter() - start
        echo(UNCHANGED)
        return report
    echo(f"Loading geography from {directory}")
    progress = _Progress(report, echo)
    data = _read(directory, progress, report)
    with conn.begin_nested():
        _write(conn, data, progress, report)
        report.counts = q.geography_counts(conn)
        q.record_dataset_load(conn, DATASET, report.checksum, report.counts)
    report.seconds = perf_counter() - start
    for note in report.notes:
        echo(f"  note: {note}")
    echo(report.summary())
    return report


def _read(directory: Path, progress: _Progress, report: LoadReport) -> _Input:
    with progress.step("read and check files", "features") as step:
        provincies = sources.read_provincies(directory)
        gemeenten = sources.read_gemeenten(directory, {p.code for p in provincies})
        areas, without_area = sources.read_pc4_areas(directory)
        population = sources.read_pc4_population(directory)
        gemeente_codes = {g.code for g in gemeenten}
        woonplaatsen = sources.read_woonplaatsen(directory, gemeente_codes)
        geonames = sources.read_geonames(directory, gemeente_codes)
        step.count = (len(provincies) + len(gemeenten) + len(areas) + len(without_area)
                      + len(population) + len(woonplaatsen) + len(geonames))
    empty = sources.Pc4Population("", None, None, None)
    pc4 = [{"code": a.code, "wkb": a.wkb,
            "inhabitants": population.get(a.code, empty).inhabitants,
            "inhabitants_65plus": population.get(a.code, empty).inhabitants_65plus,
            "inhabitants_75plus": population.get(a.code, empty).inhabitants_75plus}
           for a in areas]
    if without_area:
        report.notes.append(f"{len(without_area)} PC4 without an area in {sources.PC4_AREAS} "
                            f"skipped ({', '.join(without_area[:10])})")
    with_area = {a.code for a in areas}
    no_polygon = sorted(c for c, p in population.items()
                        if c not in with_area and (p.inhabitants or 0) > 0)
    if no_polygon:
        report.notes.append(f"{len(no_polygon)} PC4 with inhabitants but no area, left out "
                            f"({', '.join(no_polygon[:10])})")
    kernen = select_kernen(gemeenten, woonplaatsen, geonames)
    report.notes.append(f"{kernen.geonames_dropped} GeoNames places skipped: a woonplaats, a seat "
                        f"of administration, or a larger place of that name in the gemeente")
    return _Input(provincies, gemeenten, pc4, kernen)


def _write(conn: Connection, data: _Input, progress: _Progress, report: LoadReport) -> None:
    q.relax_statement_timeout(conn)
    q.set_audit_actor(conn, "geo load", "geo-load")
    q.create_staging(conn)
    with progress.step("stage provincies, gemeenten and PC4 (to RD New)", "areas") as step:
        q.stage_provincies(conn, [vars(p) for p in data.provincies])
        q.stage_gemeenten(conn, [vars(g) for g in data.gemeenten])
        q.stage_pc4(conn, data.pc4)
        step.count = len(data.provincies) + len(data.gemeenten) + len(data.pc4)
    with progress.step("kern points", "kernen") as step:
        q.stage_kernen(conn, [
            {"code": k.code, "name": k.name, "name_key": k.name_key,
             "gemeente_code": k.gemeente_code, "source": k.source, "geonameid": k.geonameid,
             "pc4_codes": list(k.pc4_codes) if k.pc4_codes is not None else None, "wkb": k.wkb}
            for k in data.kernen.kernen
        ])
        moved, max_metres = q.place_kern_points(conn)
        step.count = len(data.kernen.kernen)
    if moved:
        report.notes.append(f"{moved} kern points moved into their gemeente or apart from a "
                            f"coincident one (at most {max_metres:.0f} m)")
    with progress.step("kern areas (Voronoi per gemeente, clipped)", "kernen") as step:
        empty = q.draw_kern_areas(conn)
        if empty:
            raise GeodataError(f"no area could be drawn for kern(en) {', '.join(empty[:10])}")
        step.count = len(data.kernen.kernen)
    with progress.step("kern inhabitants from PC4 overlap", "PC4") as step:
        left_pc4, left_people = q.apportion_population(conn)
        step.count = len(data.pc4)
    if left_pc4:
        report.notes.append(f"{left_pc4} PC4 ({left_people} inhabitants) overlap no kern")
    with progress.step("merge into the geography tables", "rows changed") as step:
        _count(report, "provincie", q.merge_provincies(conn))
        _count(report, "gemeente", q.merge_gemeenten(conn))
        _count(report, "pc4", q.merge_pc4(conn))
        report.changes["pc4"]["deleted"] = q.delete_vanished(conn, "pc4")
        _count(report, "kern", q.merge_kernen(conn))
        step.count = report.rows_changed
    with progress.step("locations: kern and PC4 by ST_Covers", "locations changed") as step:
        step.count = q.derive_location_geography(conn)
        report.changes["location"] = {"updated": step.count}
    with progress.step("remove vanished kernen, gemeenten and provincies", "rows") as step:
        referenced = q.referenced_vanished_kernen(conn)
        if referenced:
            listed = ", ".join(f"{code} ({areas} service areas, {locs} locations)"
                               for code, areas, locs in referenced[:10])
            raise GeodataError(
                f"{len(referenced)} kern(en) missing from the new data are still referenced by "
                f"the registry: {listed}. Move those service areas to another kern first.")
        for table in ("kern", "gemeente", "provincie"):
            report.changes[table]["deleted"] = q.delete_vanished(conn, table)
            step.count += report.changes[table]["deleted"]


def _count(report: LoadReport, table: str, merged: tuple[int, int]) -> None:
    report.changes[table] = {"inserted": merged[0], "updated": merged[1], "deleted": 0}
