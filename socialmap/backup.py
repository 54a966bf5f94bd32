"""Backups with pg_dump (custom format) and restores with pg_restore into a new or empty database,
verified table by table against the archive and against the migration head."""
from __future__ import annotations

import os
import re
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Connection, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import NullPool

from . import migrate
from .pgcluster import bindir


class BackupError(RuntimeError):
    """A backup or restore step failed; the message says which and why."""


@dataclass
class RestoreReport:
    """What a restore did and what its verification found."""

    database: str
    # Reading the archive's table of contents, the extensions, the check that the target is empty.
    prepare_seconds: float = 0.0
    restore_seconds: float = 0.0
    analyze_seconds: float = 0.0
    verify_seconds: float = 0.0
    counts: dict[str, int] = field(default_factory=dict)
    revision: str | None = None
    rebuild_seconds: float | None = None
    validate_seconds: float | None = None
    problems: list[str] = field(default_factory=list)
    # The archive and its entries left for rebuild_deferred (DEFERRED_INDEXES).
    archive: Path | None = None
    deferred: list[str] = field(default_factory=list)
    # Foreign keys restored NOT VALID, as (table, constraint), that rebuild_deferred validates.
    unvalidated: list[tuple[str, str]] = field(default_factory=list)

    @property
    def ready_seconds(self) -> float:
        """restore() from its start until the database can serve: restored, analyzed, verified."""
        return (self.prepare_seconds + self.restore_seconds + self.analyze_seconds
                + self.verify_seconds)

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
# Indexes built after the database can serve, like the grid. Each only makes some reads faster:
# none is unique, no write or trigger needs it, and what it serves has another plan meanwhile.
# Keys, unique constraints and the indexes that writes and triggers look rows up by are restored
# before. (Deferring the search table's GiST on the point, its key and service index saved nothing
# measurable: the table's rows are what the restore spends its time on there.)
# - The search table's kern GiST, point order, location and serves indexes: search works without
#   them (the kern search, ties at one point and the serving side then read more rows; tested).
# - The two GiST indexes over a text column and a point (btree_gist): each took 10-15 times as long
#   as a GiST on the point alone, together 40% of the restore's work at 100k. Location's (kern,
#   shown point) served the kern search before the search table; ix_location_kern_code and
#   ix_location_shown_geom serve meanwhile. The gap analysis' (category, point) is for a category
#   without its own partial index (migration 0010), and every category present has one.
DEFERRED_INDEXES: tuple[str, ...] = (
    "ix_search_doc_kern_geom", "ix_search_doc_point_order", "ix_search_doc_location_id",
    "ix_search_doc_serves", "ix_location_kern_code_shown_geom", "ix_gap_point_category_geom")
_DEFERRED_INDEX_TOC = re.compile(
    r" INDEX public (" + "|".join(map(re.escape, DEFERRED_INDEXES)) + r") ")
_EXTENSION_TOC = re.compile(r"\d+; \d+ \d+ EXTENSION - (\S+)")
_FK_TOC = re.compile(r" FK CONSTRAINT ")
# A foreign key as pg_restore writes it: ALTER TABLE ONLY <table> ADD CONSTRAINT <name> <def>;
_FK_SQL = re.compile(r"^ALTER TABLE ONLY (\S+)\n\s+ADD CONSTRAINT (\S+) (FOREIGN KEY .*?);$",
                     re.M | re.S)
_INDEX_SQL = re.compile(r"^CREATE INDEX (\S+ ON (\S+) .*?);$", re.M)
_COPY = re.compile(rb'^COPY (?:public\.)?"?([^\s"(]+)"? .* FROM stdin;\n', re.M)
_END_OF_COPY = b"\\.\n"
# Only for pg_restore's own connections: a crash during the restore means restoring again into a
# new database, so its commits need not wait for the disk. The first ordinary commit after it
# (the foreign keys', ANALYZE's) flushes all of its WAL, before the database is called ready.
_RESTORE_OPTIONS = "-c synchronous_commit=off"
_TABLES_BY_SIZE = text("""
SELECT format('%I.%I', n.nspname, c.relname) FROM pg_class c
  JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'm')
   AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass
                    AND d.objid = c.oid AND d.deptype = 'e')
 ORDER BY pg_relation_size(c.oid) DESC, 1
""")
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


def count_copy_rows(chunks: Iterator[bytes]) -> dict[str, int]:
    """Rows per table in a SQL script's COPY blocks: lines up to the line `\\.`, counted a chunk at
    a time (COPY's text format escapes newlines inside values, so a row is one line)."""
    counts: dict[str, int] = {}
    table: str | None = None
    buf = b""
    for chunk in chunks:
        buf += chunk
        pos = 0  # always at the start of a line
        while True:
            if table is None:
                m = _COPY.search(buf, pos)
                if m is None:
                    pos = buf.rfind(b"\n", pos) + 1 or pos
                    break
                table, pos = m.group(1).decode(), m.end()
                counts[table] = 0
            else:
                end = buf.find(_END_OF_COPY, pos)
                while end > pos and buf[end - 1] != ord("\n"):  # `\\.` inside a value
                    end = buf.find(_END_OF_COPY, end + 1)
                if end < 0:
                    last = buf.rfind(b"\n", pos) + 1
                    counts[table] += buf.count(b"\n", pos, last)
                    pos = last or pos
                    break
                counts[table] += buf.count(b"\n", pos, end)
                table, pos = None, end + len(_END_OF_COPY)
        buf = buf[pos:]
    return counts


def archive_counts(path: Path) -> dict[str, int]:
    """Rows per table in the archive, read from its COPY blocks (one line per row)."""
    with tempfile.TemporaryFile("w+") as errors:
        proc = subprocess.Popen(
            [str(bindir() / "pg_restore"), "--data-only", "-f", "-", str(path)],
            stdout=subprocess.PIPE, stderr=errors)
        assert proc.stdout is not None
        counts = count_copy_rows(iter(lambda: proc.stdout.read(1 << 20), b""))
        if proc.wait() != 0:
            errors.seek(0)
            raise BackupError(f"reading the archive failed: {errors.read()[-2000:]}")
    counts.pop("spatial_ref_sys", None)
    return counts


@contextmanager
def _toc_list(entries: Iterable[str]) -> Iterator[str]:
    """The path of a `pg_restore -L` file naming these TOC entries, removed afterwards."""
    with tempfile.NamedTemporaryFile("w", suffix=".list", delete=False) as listing:
        listing.writelines(line + "\n" for line in entries)
    try:
        yield listing.name
    finally:
        os.unlink(listing.name)


def _entries_sql(path: Path, entries: list[str], pattern: re.Pattern[str], what: str) -> list:
    """`pattern`'s matches in the SQL that pg_restore writes for these TOC entries, one each."""
    with _toc_list(entries) as listing:
        sql = _run([str(bindir() / "pg_restore"), "-L", listing, "-f", "-", str(path)],
                   dict(os.environ), f"reading the archive's {what}")
    found = pattern.findall(sql)
    if len(found) != len(entries):
        raise BackupError(f"read {len(found)} {what} from the archive, expected {len(entries)}")
    return found


def foreign_keys(path: Path, entries: list[str]) -> list[tuple[str, str, str]]:
    """(table, constraint, definition) of the archive's foreign keys among `entries` (TOC lines)."""
    return _entries_sql(path, entries, _FK_SQL, "foreign keys")


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
    """Restore the archive into the (new or empty) database at `url`, analyze, then verify: ready
    to serve. rebuild_deferred completes the copy; run it next."""
    t0 = time.perf_counter()
    toc = table_of_contents(path)
    report = RestoreReport(database=database_name(url))
    ensure_extensions(url, archive_extensions(toc))
    if user_objects(url):
        raise BackupError(f"database {report.database} is not empty; restore into a new one")
    jobs = jobs or os.cpu_count() or 1

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
    # Foreign keys are added NOT VALID after the data: enforced for every write from then on,
    # while rebuild_deferred checks the restored rows against them as the site serves (checking
    # them was 4% of pg_restore's work at 100k; a pg_dump archive's rows satisfy them anyway).
    fk_entries = [line for line in toc if _FK_TOC.search(line)]
    fks = foreign_keys(path, fk_entries) if fk_entries else []
    restored = [line for line in toc if not _SKIP_TOC.search(line)
                and line not in report.deferred and line not in fk_entries]
    report.prepare_seconds = time.perf_counter() - t0
    t0 = time.perf_counter()
    with _toc_list(restored) as listing:
        _run([str(bindir() / "pg_restore"), "--no-owner", "--no-privileges", "--exit-on-error",
              "-j", str(jobs), "-L", listing, "-d", report.database, str(path)],
             libpq_env(url) | {"PGOPTIONS": _RESTORE_OPTIONS}, "pg_restore")
    with _connect(url) as conn:
        for table, name, definition in fks:
            conn.exec_driver_sql(
                f"ALTER TABLE ONLY {table} ADD CONSTRAINT {name} {definition} NOT VALID")
        conn.commit()
    report.unvalidated = [(table, name) for table, name, _ in fks]
    report.restore_seconds = time.perf_counter() - t0
    t0 = time.perf_counter()
    # pg_restore brings no planner statistics; without them the first searches plan badly.
    analyze(url, jobs=jobs)
    report.analyze_seconds = time.perf_counter() - t0
    t0 = time.perf_counter()
    counter.join()
    if failure:
        raise BackupError(f"counting the archive's rows failed: {failure[0]}")
    verify(url, counted, report)
    report.verify_seconds = time.perf_counter() - t0
    return report


def analyze(url: str, *, jobs: int) -> None:
    """ANALYZE every table of the registry, largest first, on `jobs` connections at once."""
    with _connect(url) as conn:
        tables = list(conn.execute(_TABLES_BY_SIZE).scalars())
    _run_each(url, [[f"ANALYZE {table}"] for table in tables], jobs=jobs)


def _run_each(url: str, batches: list[list[str]], *, jobs: int) -> None:
    """Run the batches in order on `jobs` connections at once; the statements of one batch one
    after the other, each in a transaction of its own."""
    engine = create_engine(url, pool_size=jobs, max_overflow=0)

    def run(batch: list[str]) -> None:
        with engine.connect() as conn:
            conn = conn.execution_options(isolation_level="AUTOCOMMIT")
            for statement in batch:
                try:
                    conn.exec_driver_sql(statement)
                except DBAPIError as exc:
                    raise BackupError(f"{statement} failed: {exc.orig}") from exc

    try:
        with ThreadPoolExecutor(max_workers=jobs) as pool:
            list(pool.map(run, batches))
    finally:
        engine.dispose()


def rebuild_deferred(url: str, report: RestoreReport, *, jobs: int | None = None) -> None:
    """Do what a restore leaves for after ready while the site serves: check the restored rows
    against the foreign keys, build the deferred indexes (from the archive) and the derived views
    (DEFERRED_VIEWS). A foreign key that the rows break goes into report.problems."""
    from .queries.mapdata import refresh_grid

    t0 = time.perf_counter()
    # VALIDATE takes SHARE UPDATE EXCLUSIVE: reads and writes go on meanwhile.
    with _connect(url) as conn:
        conn = conn.execution_options(isolation_level="AUTOCOMMIT")
        for table, name in report.unvalidated:
            try:
                conn.exec_driver_sql(f"ALTER TABLE ONLY {table} VALIDATE CONSTRAINT {name}")
            except DBAPIError as exc:
                report.problems.append(f"{table}: rows of the backup break foreign key {name}: "
                                       f"{str(exc.orig).strip()}")
    report.validate_seconds = time.perf_counter() - t0
    if report.deferred and report.archive is not None:
        # CONCURRENTLY: writes to the table go on while its index is built (a plain CREATE
        # INDEX holds them off throughout: seconds at 100k, at 1M longer than the app's statement
        # timeout for the btree_gist ones). One table's builds one after the other (two at once
        # on one table deadlock), tables side by side.
        per_table: dict[str, list[str]] = {}
        for definition, table in _entries_sql(report.archive, report.deferred, _INDEX_SQL,
                                              "deferred indexes"):
            per_table.setdefault(table, []).append(f"CREATE INDEX CONCURRENTLY {definition}")
        _run_each(url, list(per_table.values()), jobs=jobs or os.cpu_count() or 1)
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
