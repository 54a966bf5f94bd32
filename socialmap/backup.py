"""Backups with pg_dump (custom format) and restores with pg_restore into a new or empty database,
verified table by table against the archive and against the migration head."""
from __future__ import annotations

import os
import re
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Connection, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from . import migrate
from .pgcluster import bindir


class BackupError(RuntimeError):
    """A backup or restore step failed; the message says which and why."""


@dataclass
class RestoreReport:
    """What a restore did and what its verification found."""

    database: str
    restore_seconds: float = 0.0
    analyze_seconds: float = 0.0
    verify_seconds: float = 0.0
    counts: dict[str, int] = field(default_factory=dict)
    revision: str | None = None
    rebuild_seconds: float | None = None
    problems: list[str] = field(default_factory=list)
    # The archive and its entries left for rebuild_deferred (DEFERRED_INDEXES).
    archive: Path | None = None
    deferred: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


# Extensions and their own objects exist in the target before the restore: creating them needs
# a superuser, and the app's role restores the rest (--no-owner).
_SKIP_TOC = re.compile(r" (EXTENSION|COMMENT - EXTENSION) | TABLE DATA public spatial_ref_sys "
                       r"| MATERIALIZED VIEW DATA public map_grid ")
# Derived data that is not restored but rebuilt after the database can serve: the map's grid
# (the map counts live until then; docs/MAPDATA.md).
DEFERRED_VIEWS: tuple[str, ...] = ("map_grid",)
# Indexes of the search table built after the database can serve, like the grid: search works
# without them (the kern search, ties at one point and the serving side then read more rows,
# tested). The GiST on the point (radius and nearest), the key and the service index that writes
# need are restored before. (Deferring those too saved nothing measurable: the table's rows are
# what the restore spends its time on.)
DEFERRED_INDEXES: tuple[str, ...] = (
    "ix_search_doc_kern_geom", "ix_search_doc_point_order", "ix_search_doc_location_id",
    "ix_search_doc_serves")
_DEFERRED_INDEX_TOC = re.compile(
    r" INDEX public (" + "|".join(map(re.escape, DEFERRED_INDEXES)) + r") ")
_EXTENSION_TOC = re.compile(r"\d+; \d+ \d+ EXTENSION - (\S+)")
_COPY = re.compile(rb'COPY (?:public\.)?"?([^\s"(]+)"? .* FROM stdin;')
_USER_OBJECTS = text("""
SELECT (SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
           AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass
                            AND d.objid = c.oid AND d.deptype = 'e'))
     + (SELECT count(*) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
         WHERE n.nspname = 'public'
           AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass
                            AND d.objid = p.oid AND d.deptype = 'e'))
""")


def libpq_env(url: str) -> dict[str, str]:
    """PG* variables for a SQLAlchemy URL, so that no password appears on a command line."""
    u = make_url(url)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}

    def query(name: str) -> str | None:
        value = u.query.get(name)
        return value[0] if isinstance(value, tuple) else value

    for var, value in (("PGHOST", query("host") or u.host), ("PGPORT", query("port") or u.port),
                       ("PGUSER", u.username), ("PGPASSWORD", u.password),
                       ("PGDATABASE", u.database)):
        if value:
            env[var] = str(value)
    return env


def database_name(url: str) -> str:
    return make_url(url).database or ""


def with_database(url: str, name: str) -> str:
    """The same server and role, another database."""
    return make_url(url).set(database=name).render_as_string(hide_password=False)


def default_backup_path(var_dir: Path, database: str) -> Path:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    return var_dir / "backups" / f"{database}-{stamp}.dump"


def _run(cmd: list[str], env: dict[str, str], what: str) -> str:
    result = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        raise BackupError(f"{what} failed ({result.returncode}): {result.stderr.strip()[-2000:]}")
    return result.stdout


def dump(url: str, path: Path) -> Path:
    """Write a pg_dump custom-format archive of the database; the file appears only when whole."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    try:
        _run([str(bindir() / "pg_dump"), "-Fc", "--file", str(partial)], libpq_env(url),
             "pg_dump")
        partial.replace(path)
    finally:
        partial.unlink(missing_ok=True)
    return path


def table_of_contents(path: Path) -> list[str]:
    """The archive's TOC lines (pg_restore -l)."""
    if not path.is_file():
        raise BackupError(f"no such backup file: {path}")
    out = _run([str(bindir() / "pg_restore"), "-l", str(path)], dict(os.environ),
               "reading the archive")
    return out.splitlines()


def archive_extensions(toc: list[str]) -> list[str]:
    return [m.group(1) for line in toc if (m := _EXTENSION_TOC.match(line))]


def archive_counts(path: Path) -> dict[str, int]:
    """Rows per table in the archive, read from its COPY blocks (one line per row)."""
    with tempfile.TemporaryFile("w+") as errors:
        proc = subprocess.Popen(
            [str(bindir() / "pg_restore"), "--data-only", "-f", "-", str(path)],
            stdout=subprocess.PIPE, stderr=errors)
        counts: dict[str, int] = {}
        table: str | None = None
        assert proc.stdout is not None
        for line in proc.stdout:
            if table is None:
                m = _COPY.match(line)
                if m:
                    table = m.group(1).decode()
                    counts[table] = 0
            elif line == b"\\.\n":
                table = None
            else:
                counts[table] += 1
        if proc.wait() != 0:
            errors.seek(0)
            raise BackupError(f"reading the archive failed: {errors.read()[-2000:]}")
    counts.pop("spatial_ref_sys", None)
    return counts


@contextmanager
def _connect(url: str) -> Iterator[Connection]:
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            yield conn
    finally:
        engine.dispose()


def create_database(url: str, extensions: list[str]) -> None:
    """CREATE DATABASE through the server's `postgres` database, then the extensions."""
    name = database_name(url)
    if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", name):
        raise BackupError(f"database name {name!r}: use lower-case letters, digits and _")
    with _connect(with_database(url, "postgres")) as conn:
        conn = conn.execution_options(isolation_level="AUTOCOMMIT")
        if not conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"),
                            {"n": name}).first():
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    ensure_extensions(url, extensions)


def ensure_extensions(url: str, extensions: list[str]) -> None:
    """Create the archive's extensions in the target when missing (needs a superuser)."""
    with _connect(url) as conn:
        present = set(conn.execute(text("SELECT extname FROM pg_extension")).scalars())
        missing = [e for e in extensions if e not in present]
        try:
            for ext in missing:
                conn.execute(text(f'CREATE EXTENSION IF NOT EXISTS "{ext}"'))
            conn.commit()
        except Exception as exc:  # noqa: BLE001 - reported with what to do instead
            raise BackupError(
                f"the target lacks the extensions {', '.join(missing)} and this role cannot "
                f"create them; as a superuser run CREATE EXTENSION for each in "
                f"{database_name(url)}: {exc}") from exc


def user_objects(url: str) -> int:
    """Tables, views and functions in schema public that no extension owns."""
    with _connect(url) as conn:
        return int(conn.execute(_USER_OBJECTS).scalar_one())


def restore(path: Path, url: str, *, jobs: int | None = None) -> RestoreReport:
    """Restore the archive into the (new or empty) database at `url`, analyze, then verify."""
    toc = table_of_contents(path)
    report = RestoreReport(database=database_name(url))
    ensure_extensions(url, archive_extensions(toc))
    if user_objects(url):
        raise BackupError(f"database {report.database} is not empty; restore into a new one")

    counted: dict[str, int] = {}
    failure: list[BaseException] = []

    def count() -> None:
        try:
            counted.update(archive_counts(path))
        except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread
            failure.append(exc)

    # Counting the archive's rows reads it a second time; do it beside the restore.
    counter = threading.Thread(target=count, daemon=True)
    counter.start()
    report.archive = path
    report.deferred = [line for line in toc if _DEFERRED_INDEX_TOC.search(line)]
    with tempfile.NamedTemporaryFile("w", suffix=".list", delete=False) as listing:
        listing.writelines(line + "\n" for line in toc
                           if not _SKIP_TOC.search(line) and line not in report.deferred)
    try:
        t0 = time.perf_counter()
        _run([str(bindir() / "pg_restore"), "--no-owner", "--no-privileges", "--exit-on-error",
              "-j", str(jobs or os.cpu_count() or 1), "-L", listing.name, "-d", report.database,
              str(path)], libpq_env(url), "pg_restore")
        report.restore_seconds = time.perf_counter() - t0
    finally:
        os.unlink(listing.name)
    with _connect(url) as conn:
        t0 = time.perf_counter()
        # pg_restore brings no planner statistics; without them the first searches plan badly.
        conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("ANALYZE"))
        report.analyze_seconds = time.perf_counter() - t0
    counter.join()
    if failure:
        raise BackupError(f"counting the archive's rows failed: {failure[0]}")
    t0 = time.perf_counter()
    verify(url, counted, report)
    report.verify_seconds = time.perf_counter() - t0
    return report


def rebuild_deferred(url: str, report: RestoreReport, *, jobs: int | None = None) -> None:
    """Build what a restore leaves for later: the search table's deferred indexes (from the
    archive) and the derived views (DEFERRED_VIEWS); the site serves meanwhile."""
    from .queries.mapdata import refresh_grid

    t0 = time.perf_counter()
    if report.deferred and report.archive is not None:
        with tempfile.NamedTemporaryFile("w", suffix=".list", delete=False) as listing:
            listing.writelines(line + "\n" for line in report.deferred)
        try:
            _run([str(bindir() / "pg_restore"), "--no-owner", "--no-privileges",
                  "--exit-on-error", "-j", str(jobs or os.cpu_count() or 1), "-L", listing.name,
                  "-d", report.database, str(report.archive)], libpq_env(url),
                 "pg_restore (deferred indexes)")
        finally:
            os.unlink(listing.name)
    with _connect(url) as conn:
        refresh_grid(conn)
        conn.commit()
    report.rebuild_seconds = time.perf_counter() - t0


def verify(url: str, expected: dict[str, int], report: RestoreReport) -> None:
    """Compare rows per table with the archive and the schema revision with the code's head."""
    with _connect(url) as conn:
        for table, want in sorted(expected.items()):
            got = conn.execute(text(f'SELECT count(*) FROM public."{table}"')).scalar_one()
            report.counts[table] = got
            if got != want:
                report.problems.append(f"{table}: {got} rows restored, {want} in the backup")
        report.revision = migrate.current_revision(conn)
    head = migrate.head_revision()
    if report.revision != head:
        report.problems.append(
            f"schema revision {report.revision} is not this code's head {head}: "
            "run `flask --app app db upgrade` against it, or use the matching release")
