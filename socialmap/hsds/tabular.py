"""HSDS files in and out: JSON (tabular or nested objects) and the Tabular Data Package (a zip
of CSV files with datapackage.json). Pure: bytes and dicts, no database.

Reading turns any accepted input into rows per table, each labelled with where it came from;
nested objects are flattened, their links to the parent filled in. Writing is deterministic:
tables in the specification's order, rows by id, no timestamps.
"""
from __future__ import annotations

import csv
import io
import json
import zipfile
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from . import profile
from .spec import BY_NAME, BY_PATH, NESTED, NESTED_ONE, TABLES, VERSION

Tables = dict[str, list[dict[str, Any]]]
ZIP_DATE = (1980, 1, 1, 0, 0, 0)
PAGE_KEYS = {"total_items", "total_pages", "page_number", "size", "first_page", "last_page",
             "empty", "contents"}
ROOT_KEYS = {"version", "profile", "openapi_url"}


class FileError(ValueError):
    """The input as a whole cannot be read."""


@dataclass
class InRow:
    """One HSDS row as read, before checks; `where` names it in the report."""

    table: str
    where: str
    data: dict[str, Any]


@dataclass
class Source:
    """Everything read from one input, with notes about what was not used."""

    rows: list[InRow] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


# --- reading ----------------------------------------------------------------------------------

def read_path(path: Path) -> Source:
    """A .json file, a .zip package or a directory of HSDS CSV files."""
    if path.is_dir():
        files = {p.name: p.read_bytes() for p in path.iterdir() if p.suffix == ".csv"}
        return read_csv_files(files, str(path))
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise FileError(f"{path}: cannot read: {exc}") from exc
    if zipfile.is_zipfile(io.BytesIO(data)):
        return read_zip(data)
    return read_json(data)


def read_zip(data: bytes) -> Source:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            files = {Path(n).name: zf.read(n) for n in zf.namelist() if n.endswith(".csv")}
    except zipfile.BadZipFile as exc:
        raise FileError(f"not a readable zip file: {exc}") from exc
    return read_csv_files(files, "zip")


def _typed(table: str, name: str, cell: str) -> Any:
    """CSV text in the field's JSON type (numbers); everything else stays text."""
    spec = BY_NAME[table].field(name)
    if spec is not None and spec.type == "number":
        try:
            number = float(cell)
        except ValueError:
            return cell
        return int(number) if number.is_integer() and "." not in cell and "e" not in cell.lower() \
            else number
    return cell


def read_csv_files(files: Mapping[str, bytes], label: str) -> Source:
    """The CSV files of a package by their HSDS file names; others are noted and skipped."""
    source = Source()
    for name in sorted(set(files) - set(BY_PATH)):
        source.notes.append(f"{name}: not an HSDS 3.0 table, skipped")
    if not set(files) & set(BY_PATH):
        raise FileError(f"{label}: no HSDS CSV files (organizations.csv, services.csv, ...)")
    for table in TABLES:
        if table.path not in files:
            continue
        try:
            text = files[table.path].decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise FileError(f"{table.path}: not UTF-8: {exc}") from exc
        reader = csv.reader(io.StringIO(text, newline=""))
        try:
            header = [h.strip() for h in next(reader)]
        except StopIteration:
            continue
        except csv.Error as exc:
            raise FileError(f"{table.path} line 1: {exc}") from exc
        line = reader.line_num
        while True:
            start = line + 1
            try:
                cells = next(reader)
            except StopIteration:
                break
            except csv.Error as exc:
                raise FileError(f"{table.path} line {start}: {exc}") from exc
            line = reader.line_num
            if not any(c.strip() for c in cells):
                continue
            where = f"{table.path} line {start}"
            if len(cells) != len(header):
                source.rows.append(InRow(table.name, where, {
                    "__error__": f"{len(cells)} cells for {len(header)} columns"}))
                continue
            data = {h: _typed(table.name, h, c) for h, c in zip(header, cells, strict=True)
                    if c != ""}
            source.rows.append(InRow(table.name, where, data))
    return source


def read_json(data: bytes) -> Source:
    """Tabular JSON ({table: [rows]}), a Page, a list of objects or one object."""
    try:
        doc = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise FileError(f"not valid JSON: {exc}") from exc
    source = Source()
    if isinstance(doc, dict) and doc and set(doc) <= ROOT_KEYS:
        source.notes.append("an HSDS API root document (version, profile): no records in it")
        return source
    if isinstance(doc, dict) and doc and all(k in BY_NAME or k in BY_PATH for k in doc):
        for key, rows in doc.items():
            table = BY_NAME.get(key) or BY_PATH[key]
            if not isinstance(rows, list):
                raise FileError(f"{key}: expected an array of rows")
            for i, obj in enumerate(rows):
                flatten(obj, table.name, f"{key}[{i}]", source)
        return source
    if isinstance(doc, dict) and "contents" in doc and set(doc) <= PAGE_KEYS:
        doc, prefix = doc["contents"], "contents"
    else:
        prefix = ""
    objects = doc if isinstance(doc, list) else [doc]
    for i, obj in enumerate(objects):
        where = f"{prefix}[{i}]" if isinstance(doc, list) else "$"
        table = kind_of(obj)
        if table is None:
            raise FileError(f"{where}: not an HSDS object this import knows (service, "
                            "organization, service_at_location, location, taxonomy, "
                            "taxonomy_term)")
        flatten(obj, table, where, source)
    return source


# The tables a lone JSON object may be, most specific first.
TOP_LEVEL = ("service", "service_at_location", "organization", "location", "taxonomy_term",
             "taxonomy")


def kind_of(obj: Any) -> str | None:
    """Which HSDS table a JSON object is, from its keys."""
    if not isinstance(obj, dict):
        return None
    keys = set(obj)
    for table in TOP_LEVEL:
        allowed = set(BY_NAME[table].names) | set(NESTED) | set(NESTED_ONE)
        if keys <= allowed and set(_distinctive(table)) & keys:
            return table
    return None


def _distinctive(table: str) -> tuple[str, ...]:
    return {
        "service": ("status", "service_at_locations"),
        "service_at_location": ("location", "location_id"),
        "organization": ("website", "tax_status", "legal_status", "year_incorporated",
                         "programs", "organization_identifiers", "services", "logo"),
        "location": ("location_type", "latitude", "addresses"),
        "taxonomy_term": ("taxonomy_detail", "term_uri", "parent_id", "code", "taxonomy_id"),
        "taxonomy": ("version", "uri", "name"),
    }[table]


def flatten(obj: Any, table: str, where: str, source: Source,
            parent: tuple[str, str] | None = None) -> str | None:
    """Add `obj` and the objects nested in it as rows; returns its id."""
    if not isinstance(obj, dict):
        source.rows.append(InRow(table, where, {"__error__": "expected an object"}))
        return None
    own_names = set(BY_NAME[table].names)
    row = {k: v for k, v in obj.items()
           if not (k in NESTED and isinstance(v, list))
           and not (k in NESTED_ONE and isinstance(v, dict) and k not in own_names)}
    if parent is not None:
        _link_to_parent(table, row, *parent)
    for key, value in obj.items():
        if key in NESTED_ONE and isinstance(value, dict) and key not in own_names:
            child, link = NESTED_ONE[key]
            value = dict(value)
            if child == "program" and row.get("organization_id"):
                # A service's program belongs to the service's organization.
                value.setdefault("organization_id", row["organization_id"])
            child_id = flatten(value, child, f"{where}.{key}", source)
            if child_id is not None:
                row.setdefault(link, child_id)
    source.rows.append(InRow(table, where, row))
    own_id = row.get("id") if isinstance(row.get("id"), str) else None
    for key, value in obj.items():
        if not (key in NESTED and isinstance(value, list)):
            continue
        child = NESTED[key]
        for i, item in enumerate(value):
            child_where = f"{where}.{key}[{i}]"
            if own_id is None:
                source.rows.append(InRow(child, child_where, {
                    "__error__": "nested in an object without an id"}))
                continue
            flatten(item, child, child_where, source, (table, own_id))
    return own_id


def _link_to_parent(table: str, row: dict[str, Any], parent_table: str, parent_id: str) -> None:
    if table == "attribute":
        row.setdefault("link_id", parent_id)
        row.setdefault("link_entity", parent_table)
    elif table == "metadata":
        row.setdefault("resource_id", parent_id)
        row.setdefault("resource_type", parent_table)
    elif f"{parent_table}_id" in BY_NAME[table].names:
        row.setdefault(f"{parent_table}_id", parent_id)


# --- writing ----------------------------------------------------------------------------------

def sorted_tables(tables: Mapping[str, Iterable[dict[str, Any]]]) -> Tables:
    """Every table in specification order, rows by id (metadata is never exported)."""
    return {t.name: sorted(tables.get(t.name, ()), key=lambda r: r["id"])
            for t in TABLES if t.name != "metadata"}


def _dumps(doc: Any) -> bytes:
    return (json.dumps(doc, ensure_ascii=False, indent=1) + "\n").encode("utf-8")


def json_chunks(tables: Iterable[tuple[str, Iterable[dict[str, Any]]]],
                rows_per_chunk: int = 500) -> Iterator[bytes]:
    """The tabular JSON export in pieces: together the bytes `_dumps` gives for the whole
    {table: [rows]} object, without holding it."""
    yield b"{"
    empty = True
    for name, rows in tables:
        out = [("\n " if empty else ",\n ") + json.dumps(name, ensure_ascii=False) + ": ["]
        empty, count = False, 0
        for row in rows:
            dumped = json.dumps(row, ensure_ascii=False, indent=1).replace("\n", "\n  ")
            out.append(("\n  " if count == 0 else ",\n  ") + dumped)
            count += 1
            if len(out) >= rows_per_chunk:
                yield "".join(out).encode("utf-8")
                out = []
        out.append("\n ]" if count else "]")
        yield "".join(out).encode("utf-8")
    yield b"}\n" if empty else b"\n}\n"


def write_json(tables: Mapping[str, Iterable[dict[str, Any]]]) -> bytes:
    """The tabular JSON export: {table: [rows]} (schema/compiled/tabular.json)."""
    return b"".join(json_chunks(sorted_tables(tables).items()))


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def csv_chunks(table: str, rows: Iterable[dict[str, Any]],
               rows_per_chunk: int = 1000) -> Iterator[bytes]:
    """One table as CSV with a header line, in pieces."""
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\n")
    names = BY_NAME[table].names
    writer.writerow(names)
    for i, row in enumerate(rows, 1):
        writer.writerow([_cell(row.get(n)) for n in names])
        if i % rows_per_chunk == 0:
            yield out.getvalue().encode("utf-8")
            out.seek(0)
            out.truncate()
    yield out.getvalue().encode("utf-8")


def write_csv(table: str, rows: Iterable[dict[str, Any]]) -> bytes:
    return b"".join(csv_chunks(table, rows))


def datapackage() -> dict[str, Any]:
    """The package descriptor: the HSDS 3.0 tables with their fields and keys."""
    resources = []
    for table in TABLES:
        if table.name == "metadata":
            continue
        fields = []
        for f in table.fields:
            spec: dict[str, Any] = {"name": f.name, "type": f.type}
            if f.format:
                spec["format"] = f.format
            constraints: dict[str, Any] = {"required": f.required, "unique": f.unique}
            if f.enum:
                constraints["enum"] = list(f.enum)
            spec["constraints"] = constraints
            fields.append(spec)
        schema: dict[str, Any] = {"fields": fields, "primaryKey": "id"}
        if table.references:
            schema["foreignKeys"] = [
                {"fields": name, "reference": {"resource": target, "fields": "id"}}
                for name, target in table.references.items()]
        resources.append({"name": table.name, "path": table.path, "profile":
                          "tabular-data-resource", "format": "csv", "mediatype": "text/csv",
                          "encoding": "utf-8", "schema": schema})
    return {
        "name": "socialmap-hsds",
        "title": "socialmap: informele sociale kaart (HSDS 3.0)",
        "description": "Initiatieven van informele zorg en welzijn in Nederland, als Open "
                       f"Referral HSDS {VERSION} met het profiel {profile.PROFILE_NAME} "
                       f"{profile.PROFILE_VERSION}.",
        "profile": "tabular-data-package",
        "version": f"{VERSION}.0",
        "licenses": [{"name": "CC-BY-4.0", "path": "https://creativecommons.org/licenses/by/4.0/",
                      "title": "Creative Commons Attribution 4.0"}],
        "resources": resources,
    }


def _zip_steps(out: IO[bytes] | _Pipe,
               tables: Iterable[tuple[str, Iterable[dict[str, Any]]]]) -> Iterator[None]:
    """Write the package into `out`, pausing after every piece of a file; fixed dates, so that
    equal data gives equal bytes."""
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:  # type: ignore[arg-type]
        def add(name: str, chunks: Iterable[bytes]) -> Iterator[None]:
            info = zipfile.ZipInfo(name, date_time=ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            with zf.open(info, "w") as dest:
                for chunk in chunks:
                    dest.write(chunk)
                    yield

        yield from add("datapackage.json", [_dumps(datapackage())])
        for name, rows in tables:
            yield from add(BY_NAME[name].path, csv_chunks(name, rows))
    yield


def write_zip_to(out: IO[bytes], tables: Iterable[tuple[str, Iterable[dict[str, Any]]]]
                 ) -> None:
    """The Tabular Data Package into a file; tables in specification order, rows by id."""
    for _ in _zip_steps(out, tables):
        pass


class _Pipe:
    """A write-only stream that cannot seek (zipfile then puts sizes after the data), whose
    bytes are taken out as they come."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []
        self._position = 0

    def write(self, data: bytes) -> int:
        self._parts.append(bytes(data))
        self._position += len(data)
        return len(data)

    def tell(self) -> int:
        return self._position

    def flush(self) -> None:
        pass

    def take(self) -> bytes:
        data, self._parts = b"".join(self._parts), []
        return data


def zip_chunks(tables: Iterable[tuple[str, Iterable[dict[str, Any]]]]) -> Iterator[bytes]:
    """The Tabular Data Package in pieces, for a response that streams."""
    pipe = _Pipe()
    for _ in _zip_steps(pipe, tables):
        data = pipe.take()
        if data:
            yield data


def write_zip(tables: Mapping[str, Iterable[dict[str, Any]]]) -> bytes:
    """The Tabular Data Package as a zip with fixed dates, so equal data gives equal bytes."""
    buffer = io.BytesIO()
    write_zip_to(buffer, sorted_tables(tables).items())
    return buffer.getvalue()
