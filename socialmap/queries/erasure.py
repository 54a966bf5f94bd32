"""Statements for removing a person's data on request (AVG article 17): find it, remove it from
the records, and scrub it from the change log, the submissions and kept HSDS data."""
from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, text

# Where a person's data can be: (table, key column, text columns).
PERSONAL_COLUMNS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("contact", ("name", "title", "email")),
    ("phone", ("number",)),
    ("service", ("email",)),
    ("organization", ("email",)),
    ("location", ("address", "postal_code")),
    ("submission", ("submitter_name", "submitter_email", "note")),
)
JSON_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("change", "id", "old_value"), ("change", "id", "new_value"),
    ("submission_field", "ctid", "proposed"), ("submission_field", "ctid", "current"),
    ("hsds_record", "ctid", "data"),
)


def _digits(column: str) -> str:
    return f"regexp_replace(coalesce({column}, ''), '[^0-9]', '', 'g')"


def matching_rows(conn: Connection, term: str, digits: str | None) -> list[Any]:
    """(table, id, column, value) of columns holding the term: same text, or same digits."""
    parts = []
    for table, columns in PERSONAL_COLUMNS:
        for column in columns:
            cond = f"lower(trim({column})) = :term OR {column} ILIKE '%' || :like || '%'" \
                if column in ("address", "note") else f"lower(trim({column})) = :term"
            if digits and column in ("number", "note"):
                cond += f" OR {_digits(column)} = :digits"
            parts.append(f"SELECT '{table}' AS tbl, id::text AS id, '{column}' AS col, "
                         f"{column} AS value FROM {table} WHERE {cond}")
    return list(conn.execute(text(" UNION ALL ".join(parts) + " ORDER BY 1, 2, 3"),
                             {"term": term, "like": _like(term), "digits": digits or ""}))


def matching_rows_of_contacts(conn: Connection, ids: Sequence[str]) -> list[Any]:
    """(table, id, column, value) of what these contacts and their phones hold."""
    return list(conn.execute(text(
        "SELECT 'contact' AS tbl, c.id::text AS id, v.col, v.value FROM contact c "
        "CROSS JOIN LATERAL (VALUES ('name', c.name), ('title', c.title), ('email', c.email)) "
        "AS v(col, value) WHERE c.id = ANY(CAST(:ids AS uuid[])) AND v.value IS NOT NULL "
        "UNION ALL SELECT 'phone', p.id::text, 'number', p.number FROM phone p "
        "WHERE p.contact_id = ANY(CAST(:ids AS uuid[]))"), {"ids": list(ids)}))


def _like(term: str) -> str:
    return term.replace("\\", "\\\\").replace("%", r"\%").replace("_", r"\_")


def json_rows(conn: Connection, needles: Sequence[str], digits: Sequence[str] = ()
              ) -> list[Any]:
    """(table, key, column, value) of JSON values that may hold a needle (a superset)."""
    if not needles:
        return []
    cond = "{c}::text ILIKE ANY(:likes)"
    if digits:
        # The digits in order with at most a few separators between them: '06-98 76'.
        cond += " OR {c}::text ~ ANY(:digit_patterns)"
    parts = [f"SELECT '{table}' AS tbl, {key}::text AS key, '{column}' AS col, {column} AS value "
             f"FROM {table} WHERE " + cond.format(c=column)
             for table, key, column in JSON_COLUMNS]
    likes = ["%" + _like(n) + "%" for n in needles]
    patterns = ["[^0-9]{0,3}".join(d) for d in digits]
    return list(conn.execute(text(" UNION ALL ".join(parts)),
                             {"likes": likes, "digit_patterns": patterns}))


def set_json(conn: Connection, table: str, key: str, column: str, value: Any) -> None:
    """Overwrite one JSON value found by json_rows."""
    spec = next(t for t in JSON_COLUMNS if t[0] == table and t[2] == column)
    key_column = spec[1]
    cast = "::tid" if key_column == "ctid" else "::bigint"
    conn.execute(text(f"UPDATE {table} SET {column} = CAST(:v AS jsonb) "
                      f"WHERE {key_column} = CAST(:k AS text){cast}"),
                 {"v": value, "k": key})


def delete_rows(conn: Connection, table: str, ids: Sequence[str]) -> int:
    """Delete contacts or phones by id."""
    if not ids:
        return 0
    assert table in ("contact", "phone")
    return conn.execute(text(f"DELETE FROM {table} WHERE id = ANY(CAST(:ids AS uuid[]))"),
                        {"ids": list(ids)}).rowcount


def clear_column(conn: Connection, table: str, row_id: str, column: str) -> None:
    """Set one personal column of one row to NULL."""
    assert (table, column) in {(t, c) for t, cs in PERSONAL_COLUMNS for c in cs}
    key = "id = CAST(:id AS uuid)"
    conn.execute(text(f"UPDATE {table} SET {column} = NULL WHERE {key}"), {"id": row_id})


def move_to_kern_point(conn: Connection, location_id: str) -> None:
    """A location whose address was removed keeps only its kern's point."""
    conn.execute(text(
        "UPDATE location l SET geom = k.point, precision = 'kern' FROM kern k "
        "WHERE l.id = CAST(:id AS uuid) AND k.code = l.kern_code"), {"id": location_id})


def service_of(conn: Connection, table: str, row_id: str) -> uuid.UUID | None:
    """The service a registry row belongs to, for the change-log marker."""
    sql = {
        "contact": "SELECT service_id FROM contact WHERE id = CAST(:id AS uuid)",
        "phone": "SELECT coalesce(p.service_id, c.service_id) FROM phone p "
                 "LEFT JOIN contact c ON c.id = p.contact_id WHERE p.id = CAST(:id AS uuid)",
        "service": "SELECT id FROM service WHERE id = CAST(:id AS uuid)",
    }.get(table)
    if sql is None:
        return None
    return conn.execute(text(sql), {"id": row_id}).scalar()


def audit(conn: Connection, on: bool) -> None:
    """Switch the change-log triggers on or off for the rest of this transaction."""
    conn.execute(text("SELECT set_config('socialmap.audit', :v, true)"),
                 {"v": "on" if on else "off"})


def log_erasure(conn: Connection, entity_type: str, entity_id: str,
                service_id: uuid.UUID | None, action: str, field: str | None,
                actor: str) -> None:
    """The one thing the change log keeps of an erasure: that it happened, by whom, when."""
    conn.execute(text(
        "INSERT INTO change (entity_type, entity_id, service_id, action, field, new_value, "
        "changed_by, source, txid) VALUES (:t, CAST(:e AS uuid), :s, :a, :f, "
        "'\"verwijderd op verzoek\"'::jsonb, :who, 'erasure', txid_current())"),
        {"t": entity_type, "e": entity_id, "s": service_id, "a": action, "f": field,
         "who": actor})
