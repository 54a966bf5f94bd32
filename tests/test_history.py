"""History: every write path (form, moderation, restore, import, archive) lands in the field-level
change log with the real user and source; the history page per initiative; restoring an earlier
version as a new, logged change; nothing is deleted from the UI."""
from __future__ import annotations

import csv
import re
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Connection, Engine, text

from socialmap.config import Settings

from .staff import CSRF, STEIN, Live, Staff, form_token, make_user, plant, session_into


@pytest.fixture
def editor(conn: Connection) -> Staff:
    return make_user(conn, "red@stein.nl", "editor", (STEIN,), name="Redactie Stein")


@pytest.fixture
def desk(app: Flask, conn: Connection, editor: Staff) -> FlaskClient:
    client = app.test_client()
    session_into(client, conn, editor)
    return client


def edit(client: FlaskClient, service_id: uuid.UUID, **values: str) -> int:
    page = client.get(f"/initiatief/{service_id}/bewerken").get_data(True)
    form = {"csrf_token": form_token(page), "kind": "dorpshuis", "status": "active"}
    for name in ("name", "description", "fees_description", "version", "mark"):
        found = (re.search(rf'name="{name}"[^>]*value="([^"]*)"', page)
                 or re.search(rf'name="{name}"[^>]*>([^<]*)</textarea>', page))
        if found:
            form[name] = found.group(1)
    form.update(values)
    return client.post(f"/initiatief/{service_id}/bewerken", data=form).status_code


@pytest.fixture
def live(engine: Engine, settings: Settings) -> Iterator[Live]:
    """Committed requests, so that each edit is its own transaction (and version)."""
    world = Live(engine, settings)
    try:
        yield world
    finally:
        world.cleanup()


def version_end(live: Live, service_id: uuid.UUID, field: str, new: str | None) -> int:
    """The last change id of the version that set `field` to `new`."""
    return live.execute(
        "SELECT max(c2.id) FROM change c1 JOIN change c2 ON c2.txid = c1.txid "
        "WHERE c1.entity_id = :i AND (c1.field = :f AND c1.new_value = to_jsonb(CAST(:n AS text)) "
        "OR :f = 'create' AND c1.action = 'create')", i=service_id, f=field, n=new)[0][0]


def service_row(live: Live, service_id: uuid.UUID) -> tuple:
    return tuple(live.execute("SELECT name, description, fees_description, version "
                              "FROM service WHERE id = :i", i=service_id)[0])


def test_the_history_page_says_who_when_what(desk: FlaskClient, conn: Connection) -> None:
    rec = plant(conn, "Dorpshuis Eerst", "GM0971-meers", actor="import-2024")
    assert edit(desk, rec.id, name="Dorpshuis Daarna") == 303
    contact = conn.execute(text("INSERT INTO contact (service_id, name) VALUES (:s, 'Truus') "
                                "RETURNING id"), {"s": rec.id}).scalar_one()
    conn.execute(text("INSERT INTO phone (contact_id, number) VALUES (:c, '046-1112223')"),
                 {"c": contact})
    conn.execute(text("UPDATE location SET address = 'Dorpsstraat 2' WHERE id = :l"),
                 {"l": rec.location_id})
    resp = desk.get(f"/initiatief/{rec.id}/geschiedenis")
    html = resp.get_data(True)
    assert resp.status_code == 200
    assert "red@stein.nl" in html and "import-2024" in html
    assert "Dorpshuis Eerst" in html and "Dorpshuis Daarna" in html
    assert "Naam van het initiatief" in html  # the field, by its label
    # Child rows belong to the initiative's history too: a contact's phone, its location.
    assert "Truus" in html and "046-1112223" in html
    assert "Dorpsstraat 1" in html and "Dorpsstraat 2" in html


def test_restore_puts_an_earlier_version_back_as_a_new_change(live: Live) -> None:
    editor = live.user("red@stein.nl", "editor", (STEIN,))
    desk = live.client(editor)
    rec = live.plant("Dorpshuis Een", "GM0971-meers")
    assert edit(desk, rec.id, name="Dorpshuis Twee", description="Tweede tekst") == 303
    assert edit(desk, rec.id, name="Dorpshuis Drie", fees_description="€ 3") == 303
    target = version_end(live, rec.id, "name", "Dorpshuis Twee")
    version = service_row(live, rec.id)[3]
    page = desk.get(f"/initiatief/{rec.id}/geschiedenis").get_data(True)
    assert page.count('class="version"') == 3  # created, edited twice: a version each
    assert f'name="upto" value="{target}"' in page
    resp = desk.post(f"/initiatief/{rec.id}/herstellen", data={
        "csrf_token": CSRF, "upto": str(target), "version": str(version)})
    assert resp.status_code == 303
    assert service_row(live, rec.id) == ("Dorpshuis Twee", "Tweede tekst", None, version + 1)
    restored = live.execute(
        "SELECT field, old_value, new_value, changed_by, source FROM change "
        "WHERE entity_id = :i AND source = 'restore' ORDER BY field", i=rec.id)
    assert [tuple(r) for r in restored] == [
        ("fees_description", "€ 3", None, "red@stein.nl", "restore"),
        ("name", "Dorpshuis Drie", "Dorpshuis Twee", "red@stein.nl", "restore")]
    assert "hersteld" in desk.get(f"/initiatief/{rec.id}/geschiedenis").get_data(True)
    # Back to the very first version: both edits undone; the log only grows.
    first = version_end(live, rec.id, "create", None)
    count = live.execute("SELECT count(*) FROM change")[0][0]
    assert desk.post(f"/initiatief/{rec.id}/herstellen",
                     data={"csrf_token": CSRF, "upto": str(first)}).status_code == 303
    assert service_row(live, rec.id)[:3] == ("Dorpshuis Een",
                                             "Dorpshuis Een: koffie en ontmoeting", None)
    assert live.execute("SELECT count(*) FROM change")[0][0] > count


def test_restore_with_a_stale_page_is_a_conflict(live: Live) -> None:
    editor = live.user("red@stein.nl", "editor", (STEIN,))
    desk = live.client(editor)
    rec = live.plant("Dorpshuis Een", "GM0971-meers")
    other = live.plant("Ander huis", "GM0971-stein")
    assert edit(desk, rec.id, name="Dorpshuis Twee") == 303
    first = version_end(live, rec.id, "create", None)
    stale = desk.post(f"/initiatief/{rec.id}/herstellen", data={
        "csrf_token": CSRF, "upto": str(first), "version": "1"})
    assert stale.status_code == 409
    assert "Dorpshuis Twee" in stale.get_data(True)  # says what the other write was
    assert service_row(live, rec.id)[0] == "Dorpshuis Twee"
    foreign = version_end(live, other.id, "create", None)
    assert desk.post(f"/initiatief/{rec.id}/herstellen",
                     data={"csrf_token": CSRF, "upto": str(foreign)}).status_code == 400
    assert desk.post(f"/initiatief/{rec.id}/herstellen",
                     data={"csrf_token": CSRF, "upto": "x"}).status_code == 400


def test_import_writes_are_logged_with_actor_and_source(runner, conn: Connection,
                                                        tmp_path: Path) -> None:
    rec = plant(conn, "Dorpshuis Import", "GM0971-meers")
    exported = tmp_path / "all.csv"
    assert runner.invoke(args=["registry", "export", str(exported)]).exit_code == 0
    with exported.open(encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        rows = [r for r in reader if r["id"] == str(rec.id)]
        header = reader.fieldnames
    assert rows and header
    rows[0]["name"] = "Dorpshuis Geïmporteerd"
    changed = tmp_path / "one.csv"
    with changed.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=header)
        writer.writeheader()
        writer.writerows(rows)
    result = runner.invoke(args=["registry", "import", str(changed), "--actor",
                                 "import:gemeente-stein"])
    assert result.exit_code == 0, result.output
    log = conn.execute(text("SELECT field, old_value, new_value, changed_by, source FROM change "
                            "WHERE entity_id = :i AND action = 'update'"), {"i": rec.id}).all()
    assert [tuple(r) for r in log] == [("name", "Dorpshuis Import", "Dorpshuis Geïmporteerd",
                                        "import:gemeente-stein", "import")]


def test_every_ui_path_names_the_user_and_the_path(desk: FlaskClient, conn: Connection,
                                                   editor: Staff) -> None:
    rec = plant(conn, "Dorpshuis Paden", "GM0971-meers")
    assert edit(desk, rec.id, name="Dorpshuis Paden 2") == 303
    desk.post(f"/initiatief/{rec.id}/gecontroleerd", data={"csrf_token": CSRF})
    desk.post(f"/initiatief/{rec.id}/archiveren", data={"csrf_token": CSRF})
    desk.post(f"/initiatief/{rec.id}/terugzetten", data={"csrf_token": CSRF})
    first = conn.execute(text("SELECT id FROM change WHERE entity_id = :i AND action = 'create'"),
                         {"i": rec.id}).scalar_one()
    desk.post(f"/initiatief/{rec.id}/herstellen", data={"csrf_token": CSRF, "upto": str(first)})
    rows = conn.execute(text("SELECT DISTINCT changed_by, source FROM change "
                             "WHERE service_id = :i AND changed_by <> 'test-setup'"),
                        {"i": rec.id}).all()
    assert sorted(tuple(r) for r in rows) == [(editor.email, "editor"),
                                              (editor.email, "restore")]


def test_nothing_is_deleted_from_the_ui(app: Flask) -> None:
    methods = {m for rule in app.url_map.iter_rules() for m in rule.methods or ()}
    assert "DELETE" not in methods
    deleting = [r.rule for r in app.url_map.iter_rules()
                if "verwijder" in r.rule or "delete" in r.rule]
    assert deleting == ["/beheer/verwijderen"]  # only an admin's erasure on request (AVG)
