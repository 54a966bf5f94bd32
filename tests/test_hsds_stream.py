"""The streamed HSDS export (temporary tables, server-side cursors, chunked writers) gives the
bytes of the in-memory export it replaced: the whole document through json.dumps, and a zip
written file by file with writestr; pointers at rows not exported are cut as before."""
from __future__ import annotations

import io
import json
import uuid
import zipfile
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from flask.testing import FlaskClient
from sqlalchemy import Connection, Engine, text

from socialmap import create_app, db
from socialmap.config import Settings
from socialmap.hsds import export, tabular
from socialmap.hsds.export import collect
from socialmap.hsds.spec import BY_NAME, TABLES
from socialmap.pgcluster import Cluster
from socialmap.queries import hsds as q

from .conftest import GEODATA, TEST_DB
from .test_hsds import registry  # noqa: F401  (the small registry at Nes)


def previous_json(conn: Connection, include_demo: bool) -> bytes:
    """The JSON export as it was built before: the whole {table: [rows]} through json.dumps."""
    tables = collect(conn, q.Scope(None, include_demo))
    return (json.dumps(tables, ensure_ascii=False, indent=1) + "\n").encode("utf-8")


def previous_zip(conn: Connection, include_demo: bool) -> bytes:
    """The package as it was built before: each file whole in memory, added with writestr."""
    tables = collect(conn, q.Scope(None, include_demo))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        def add(name: str, content: bytes) -> None:
            info = zipfile.ZipInfo(name, date_time=tabular.ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, content)

        add("datapackage.json", (json.dumps(tabular.datapackage(), ensure_ascii=False,
                                            indent=1) + "\n").encode("utf-8"))
        for table in TABLES:
            if table.name in tables:
                add(table.path, tabular.write_csv(table.name, tables[table.name]))
    return buffer.getvalue()


def _record(conn: Connection, resource: str, data: dict[str, Any]) -> str:
    rid = str(uuid.uuid4())
    conn.execute(text("INSERT INTO hsds_record (resource, id, kind, data) "
                      "VALUES (:r, :id, 'record', CAST(:d AS jsonb))"),
                 {"r": resource, "id": rid, "d": json.dumps({"id": rid, **data})})
    return rid


@pytest.fixture
def dangling(conn: Connection, registry: dict[str, Any]) -> dict[str, str]:  # noqa: F811
    """Foreign rows whose pointers miss, directly or once another row has gone, and a
    non-demo service of a demo organization (which gets a stand-in)."""
    nowhere = str(uuid.uuid4())
    demo_org = conn.execute(text("INSERT INTO organization (name, legal_form, is_demo) VALUES "
                                 "('Demo-stichting', 'stichting', true) RETURNING id")
                            ).scalar_one()
    conn.execute(text("UPDATE service SET organization_id = :o WHERE id = :s"),
                 {"o": demo_org, "s": registry["help"]})
    orphan_service = _record(conn, "service", {"organization_id": nowhere, "name": "Weg",
                                               "status": "active"})
    return {
        "program": _record(conn, "program", {"organization_id": nowhere, "name": "P",
                                             "description": "Zonder organisatie"}),
        "area": _record(conn, "service_area", {"service_id": nowhere, "name": "Ergens"}),
        "attribute": _record(conn, "attribute", {
            "link_id": nowhere, "link_entity": "service", "link_type": "category",
            "taxonomy_term_id": str(conn.execute(text(
                "SELECT id FROM taxonomy_term ORDER BY code LIMIT 1")).scalar_one())}),
        "orphan_service": orphan_service,
        "cost": _record(conn, "cost_option", {"service_id": orphan_service, "amount": 5}),
        "kept_org": _record(conn, "organization", {"name": "Buurtnetwerk", "description": "x"}),
    }


@pytest.mark.parametrize("include_demo", [False, True])
def test_json_is_byte_for_byte_the_previous_export(conn: Connection, dangling: dict[str, str],
                                                   include_demo: bool) -> None:
    streamed = b"".join(export.export_json(conn, include_demo))
    assert streamed == previous_json(conn, include_demo)
    doc = json.loads(streamed)
    assert list(doc) == [t.name for t in TABLES if t.name != "metadata"]
    for rows in doc.values():
        assert [r["id"] for r in rows] == sorted(r["id"] for r in rows)


def test_pointers_are_cut_as_before(conn: Connection, dangling: dict[str, str]) -> None:
    doc = json.loads(b"".join(export.export_json(conn, False)))
    ids = {name: {r["id"] for r in rows} for name, rows in doc.items()}
    assert dangling["program"] not in ids["program"]            # required pointer missing
    assert dangling["attribute"] not in ids["attribute"]        # describes nothing exported
    assert dangling["orphan_service"] not in ids["service"]
    assert dangling["cost"] not in ids["cost_option"]           # its service went first
    assert dangling["kept_org"] in ids["organization"]
    area = next(r for r in doc["service_area"] if r["id"] == dangling["area"])
    assert "service_id" not in area                             # optional pointer cut
    for name, rows in doc.items():
        for row in rows:
            for field, target in BY_NAME[name].references.items():
                assert row.get(field) is None or row[field] in ids[target], (name, field)


def test_small_batches_give_the_same_bytes(conn: Connection, dangling: dict[str, str]) -> None:
    """Batch edges (cursor fetches, COPY chunks, reads) do not show in the output."""
    tables = export.stream_tables(conn, False, batch=3)
    assert b"".join(tabular.json_chunks(tables, rows_per_chunk=2)) == previous_json(conn, False)


def test_zip_file_is_byte_for_byte_the_previous_export(conn: Connection,
                                                       dangling: dict[str, str],
                                                       tmp_path: Path) -> None:
    path = tmp_path / "export.zip"
    size = export.export_file(conn, False, "zip", path)
    assert path.read_bytes() == previous_zip(conn, False)
    assert size == path.stat().st_size


def test_streamed_zip_holds_the_same_files(conn: Connection, dangling: dict[str, str]) -> None:
    """A download cannot seek back, so sizes follow the data; the files inside are the same."""
    streamed = zipfile.ZipFile(io.BytesIO(b"".join(export.export_zip(conn, False))))
    before = zipfile.ZipFile(io.BytesIO(previous_zip(conn, False)))
    assert streamed.testzip() is None
    assert streamed.namelist() == before.namelist()
    for name in before.namelist():
        assert streamed.read(name) == before.read(name), name


def test_cli_export_writes_the_previous_bytes(runner: CliRunner, conn: Connection,
                                              dangling: dict[str, str], tmp_path: Path) -> None:
    for kind, previous in (("json", previous_json), ("zip", previous_zip)):
        path = tmp_path / f"registry.{kind}"
        result = runner.invoke(args=["hsds", "export", str(path)])
        assert result.exit_code == 0, result.output
        assert path.read_bytes() == previous(conn, False), kind
        assert f"({path.stat().st_size} bytes" in result.output


def test_a_download_cut_off_leaves_no_spill_table(conn: Connection) -> None:
    tables = export.stream_tables(conn, False, batch=5)
    chunks = tabular.json_chunks(tables, rows_per_chunk=2)
    for _ in range(4):
        next(chunks)
    chunks.close()
    tables.close()
    left = conn.execute(text("SELECT count(*) FROM pg_class WHERE relname LIKE 'hsds_spill%' "
                             "AND relpersistence = 't'")).scalar_one()
    assert left == 0


@pytest.mark.parametrize("kind", ["json", "zip"])
def test_download_streams_the_export(client: FlaskClient, conn: Connection, kind: str) -> None:
    resp = client.get(f"/hsds/export.{kind}")
    assert resp.status_code == 200
    assert resp.is_streamed
    assert resp.headers["Content-Disposition"] == f'attachment; filename="socialmap-hsds.{kind}"'
    data = resp.get_data()
    if kind == "json":
        assert json.loads(data)["service"]
    else:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            assert "services.csv" in zf.namelist()


def test_download_of_an_unknown_kind_is_a_404(client: FlaskClient) -> None:
    resp = client.get("/hsds/export.xml")
    assert resp.status_code == 404
    assert resp.get_json()["error"]["field"] == "kind"


def test_streams_on_an_engine_of_their_own(cluster: Cluster, engine: Engine) -> None:
    """As in production: the request's session closes when the view returns, before the body
    is read, so a stream reads over a session of its own (the test app's shared connection
    hid this)."""
    app = create_app(Settings(database_url=cluster.socket_url(TEST_DB), testing=True,
                              secret_key="x", geodata_dir=GEODATA))
    client = app.test_client()
    try:
        with client.get("/hsds/services?format=ndjson") as resp:
            lines = resp.get_data().splitlines()
        assert lines and all(json.loads(line)["id"] for line in lines)
        with engine.connect() as conn:
            previous = previous_json(conn, True)
        for _ in range(2):  # the pooled connection keeps no spill table from the first
            with client.get("/hsds/export.json") as resp:
                assert resp.status_code == 200
                assert resp.get_data() == previous
    finally:
        with app.app_context():
            db.get_db().engine.dispose()


def test_rows_come_from_the_cursor_in_batches(conn: Connection) -> None:
    parts = list(q.stream(conn, q.taxonomy_terms(), 5))
    assert len(parts) > 2
    assert all(len(part) <= 5 for part in parts)
    assert sum(len(part) for part in parts) == conn.execute(
        text("SELECT count(*) FROM taxonomy_term")).scalar_one()
