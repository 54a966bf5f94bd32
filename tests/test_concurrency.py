"""Concurrent edits on the committed test database, through two separate browsers (each request
its own connection and transaction): the second editor gets a 409 with what the first one wrote,
never a silent overwrite."""
from __future__ import annotations

import re
import threading
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from socialmap.config import Settings
from socialmap.services import moderation
from socialmap.services.auth import CurrentUser
from socialmap.services.moderation import EditConflict

from .staff import STEIN, Live, Staff, form_token


@pytest.fixture
def live(engine: Engine, settings: Settings) -> Iterator[Live]:
    world = Live(engine, settings)
    try:
        yield world
    finally:
        world.cleanup()


def open_form(client: FlaskClient, service_id: uuid.UUID) -> dict[str, str]:
    """The edit form as the browser received it (hidden version and mark included)."""
    page = client.get(f"/initiatief/{service_id}/bewerken").get_data(True)
    form = {"csrf_token": form_token(page)}
    for name in ("version", "mark", "name", "fees_description"):
        found = re.search(rf'name="{name}"[^>]*value="([^"]*)"', page)
        form[name] = found.group(1) if found else ""
    form.update(kind="dorpshuis", status="active",
                description=re.search(r'name="description"[^>]*>([^<]*)</textarea>',
                                      page).group(1))  # type: ignore[union-attr]
    return form


def name_of(live: Live, service_id: uuid.UUID) -> tuple[str, str | None, int]:
    row = live.execute("SELECT name, fees_description, version FROM service WHERE id = :i",
                       i=service_id)[0]
    return row.name, row.fees_description, row.version


@pytest.fixture
def two_editors(live: Live) -> tuple[Staff, Staff]:
    return (live.user("anna@stein.nl", "editor", (STEIN,), name="Anna"),
            live.user("bert@stein.nl", "editor", (STEIN,), name="Bert"))


def test_the_second_editor_gets_a_409_with_what_changed(live: Live,
                                                        two_editors: tuple[Staff, Staff]) -> None:
    anna, bert = (live.client(s) for s in two_editors)
    rec = live.plant("Dorpshuis Samen", "GM0971-meers")
    form_a, form_b = open_form(anna, rec.id), open_form(bert, rec.id)
    assert form_a["version"] == form_b["version"]

    saved = anna.post(f"/initiatief/{rec.id}/bewerken",
                      data={**form_a, "name": "Dorpshuis Anna", "fees_description": "Gratis"})
    assert saved.status_code == 303
    late = bert.post(f"/initiatief/{rec.id}/bewerken",
                     data={**form_b, "name": "Dorpshuis Bert"})
    html = late.get_data(True)
    assert late.status_code == 409
    assert "Iemand anders was u voor" in html
    # What Anna wrote, by whom, field by field.
    assert "Dorpshuis Anna" in html and "anna@stein.nl" in html and "Gratis" in html
    assert "Dorpshuis Samen" in html  # the value Bert's form started from
    # Nothing of Bert's landed; his input is kept in the form, with the new version.
    assert name_of(live, rec.id)[:2] == ("Dorpshuis Anna", "Gratis")
    assert 'value="Dorpshuis Bert"' in html
    new_version = name_of(live, rec.id)[2]
    assert f'name="version" value="{new_version}"' in html
    # Having seen it, Bert saves again on the new version: that is allowed.
    again = open_form(bert, rec.id)
    assert bert.post(f"/initiatief/{rec.id}/bewerken",
                     data={**again, "name": "Dorpshuis Bert"}).status_code == 303
    assert name_of(live, rec.id)[:2] == ("Dorpshuis Bert", "Gratis")


def test_the_409_is_json_for_api_clients(live: Live, two_editors: tuple[Staff, Staff]) -> None:
    anna, bert = (live.client(s) for s in two_editors)
    rec = live.plant("Dorpshuis Json", "GM0971-meers")
    form_a, form_b = open_form(anna, rec.id), open_form(bert, rec.id)
    anna.post(f"/initiatief/{rec.id}/bewerken", data={**form_a, "name": "Dorpshuis A"})
    late = bert.post(f"/initiatief/{rec.id}/bewerken", data={**form_b, "name": "Dorpshuis B"},
                     headers={"Accept": "application/json"})
    assert late.status_code == 409
    body: dict[str, Any] = late.get_json()["error"]
    assert body["code"] == "conflict" and body["field"] == "version"
    assert body["version"] == name_of(live, rec.id)[2]
    assert [(c["field"], c["old"], c["new"], c["changed_by"]) for c in body["changes"]] == [
        ("name", "Dorpshuis Json", "Dorpshuis A", "anna@stein.nl")]


def test_simultaneous_saves_one_wins_the_other_gets_409(
        live: Live, two_editors: tuple[Staff, Staff]) -> None:
    clients = [live.client(s) for s in two_editors]
    rec = live.plant("Dorpshuis Tegelijk", "GM0971-meers")
    forms = [open_form(c, rec.id) for c in clients]
    barrier = threading.Barrier(2)
    statuses: dict[str, int] = {}

    def save(client: FlaskClient, form: dict[str, str], name: str) -> None:
        barrier.wait()
        statuses[name] = client.post(f"/initiatief/{rec.id}/bewerken",
                                     data={**form, "name": name}).status_code

    threads = [threading.Thread(target=save, args=(c, f, n)) for c, f, n in
               zip(clients, forms, ("Dorpshuis A", "Dorpshuis B"), strict=True)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(statuses.values()) == [303, 409], statuses
    winner = next(n for n, status in statuses.items() if status == 303)
    name, _, version = name_of(live, rec.id)
    assert name == winner and version == int(forms[0]["version"]) + 1
    names = live.execute("SELECT new_value FROM change WHERE entity_id = :i AND field = 'name'",
                         i=rec.id)
    assert [r.new_value for r in names] == [winner]  # exactly one write


def test_two_sessions_in_the_service_layer(live: Live, two_editors: tuple[Staff, Staff]) -> None:
    """The same race one layer down: two ORM sessions on two connections."""
    rec = live.plant("Dorpshuis Laag", "GM0971-meers")
    users = [CurrentUser(s.id, s.email, s.display_name, "editor", frozenset({STEIN}), True, True)
             for s in two_editors]
    with Session(live.engine) as s1, Session(live.engine) as s2:
        first = moderation.edit_form(s1, users[0], rec.id)
        second = moderation.edit_form(s2, users[1], rec.id)
        s1.rollback()
        s2.rollback()
        base = {**first["values"], "name": "Via sessie 1"}
        moderation.save_edit(s1, users[0], rec.id, base, first["version"], first["mark"])
        with pytest.raises(EditConflict) as info:
            moderation.save_edit(s2, users[1], rec.id, {**second["values"], "name": "Via 2"},
                                 second["version"], second["mark"])
    assert [(c["field"], c["new"]) for c in info.value.changes] == [("name", "Via sessie 1")]
    assert name_of(live, rec.id)[0] == "Via sessie 1"


def test_approving_a_suggestion_on_a_changed_record_is_a_conflict(
        live: Live, two_editors: tuple[Staff, Staff]) -> None:
    anna, bert = (live.client(s) for s in two_editors)
    rec = live.plant("Dorpshuis Voorstel", "GM0971-meers")
    resident = live.app.test_client()
    token = form_token(resident.get(f"/initiatief/{rec.id}/wijziging").get_data(True))
    assert resident.post(f"/initiatief/{rec.id}/wijziging", data={
        "csrf_token": token, "name": "Dorpshuis Voorstel", "status": "active",
        "description": "Dorpshuis Voorstel: koffie en ontmoeting",
        "fees_description": "€ 1"}).status_code == 303
    sub = live.execute("SELECT id FROM submission WHERE service_id = :i", i=rec.id)[0].id
    review = bert.get(f"/redactie/aanmelding/{sub}").get_data(True)
    version = re.search(r'name="version" value="(\d+)"', review).group(1)  # type: ignore[union-attr]
    mark = re.search(r'name="mark" value="(\d+)"', review).group(1)  # type: ignore[union-attr]
    form_a = open_form(anna, rec.id)
    anna.post(f"/initiatief/{rec.id}/bewerken", data={**form_a, "fees_description": "€ 5"})
    late = bert.post(f"/redactie/aanmelding/{sub}", data={
        "csrf_token": form_token(review), "version": version, "mark": mark,
        "decision_fees_description": "approved", "reason_fees_description": ""})
    assert late.status_code == 409 and "€ 5" in late.get_data(True)
    assert name_of(live, rec.id)[1] == "€ 5"
    assert live.execute("SELECT status FROM submission WHERE id = :i", i=sub)[0].status == \
        "pending"
