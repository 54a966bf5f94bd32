"""Temporary tables that hold the rows of a full HSDS export, too many for memory: they are
written with COPY, reference-checked in SQL, and read back per table in id order."""
from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from sqlalchemy import Connection, text

ROWS, REFS, STRIP = "hsds_spill_row", "hsds_spill_ref", "hsds_spill_strip"

_CREATE = f"""
CREATE TEMP TABLE {ROWS} (seq bigint PRIMARY KEY, tbl text NOT NULL, id text NOT NULL,
                          body text NOT NULL) ON COMMIT DROP;
CREATE TEMP TABLE {REFS} (seq bigint NOT NULL, field text NOT NULL, target text NOT NULL,
                          value text, required boolean NOT NULL) ON COMMIT DROP
"""

# A row whose required pointer (or, for an attribute, whose described row) is not among the
# rows goes; repeated until nothing goes, as a removal can leave another pointer dangling.
_DROP_DANGLING = f"""
DELETE FROM {ROWS} r USING {REFS} f
WHERE f.seq = r.seq AND f.required
  AND NOT EXISTS (SELECT FROM {ROWS} t WHERE t.tbl = f.target AND t.id = f.value)
"""

# Optional pointers at rows that are not exported are left out of their row.
_STRIP = f"""
CREATE TEMP TABLE {STRIP} ON COMMIT DROP AS
SELECT f.seq, array_agg(f.field ORDER BY f.field) AS fields FROM {REFS} f
WHERE NOT f.required
  AND NOT EXISTS (SELECT FROM {ROWS} t WHERE t.tbl = f.target AND t.id = f.value)
GROUP BY f.seq
"""

# Byte order ("C") is the order of Python's str comparison, which the in-memory export used.
_READ = text(f"""
SELECT r.body, s.fields FROM {ROWS} r LEFT JOIN {STRIP} s ON s.seq = r.seq
WHERE r.tbl = :tbl ORDER BY r.id COLLATE "C", r.seq
""")


def _raw_cursor(conn: Connection) -> Any:
    return conn.connection.driver_connection.cursor()  # type: ignore[union-attr]


def create(conn: Connection) -> None:
    """Empty spill tables for this transaction, and room to sort them."""
    conn.execute(text("SELECT set_config('work_mem', '64MB', true)"))
    for statement in _CREATE.split(";"):
        conn.execute(text(statement))


def add(conn: Connection, rows: Iterable[tuple[int, str, str, str]],
        refs: Iterable[tuple[int, str, str, str | None, bool]]) -> None:
    """Write rows (seq, table, id, JSON body) and their pointers
    (seq, field, target table, value, required) with COPY."""
    with _raw_cursor(conn) as cur:
        with cur.copy(f"COPY {ROWS} (seq, tbl, id, body) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        with cur.copy(f"COPY {REFS} (seq, field, target, value, required) FROM STDIN") as copy:
            for ref in refs:
                copy.write_row(ref)


def check_references(conn: Connection) -> int:
    """Drop rows with a dangling required pointer until none is left; note the optional
    pointers to leave out. Returns how many rows were dropped."""
    conn.execute(text(f"CREATE INDEX ON {ROWS} (tbl, id)"))
    conn.execute(text(f"CREATE INDEX ON {REFS} (seq)"))
    # Temporary tables are never analysed by autovacuum.
    conn.execute(text(f"ANALYZE {ROWS}"))
    conn.execute(text(f"ANALYZE {REFS}"))
    dropped = 0
    while True:
        gone = conn.execute(text(_DROP_DANGLING)).rowcount
        if not gone:
            break
        dropped += gone
    conn.execute(text(_STRIP))
    return dropped


def read(conn: Connection, table: str, batch: int) -> Iterator[Any]:
    """The JSON bodies of one table in id order, each with the fields to leave out."""
    result = conn.execute(_READ, {"tbl": table},
                          execution_options={"stream_results": True, "yield_per": batch})
    try:
        for part in result.partitions(batch):
            yield from part
    finally:
        result.close()  # the server-side cursor, so that the tables can be dropped


def drop(conn: Connection) -> None:
    """Remove the spill tables (ON COMMIT DROP covers a transaction that ends first)."""
    conn.execute(text(f"DROP TABLE IF EXISTS {STRIP}, {REFS}, {ROWS}"))
