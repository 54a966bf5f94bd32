"""Funding in HSDS: an import stores a service's funding with its end date from the profile
attribute `kenmerk/financiering-tot`; a bad date rejects the row, naming it."""
from __future__ import annotations

import json
import uuid
from datetime import date
from pathlib import Path

from sqlalchemy import Connection, text
from sqlalchemy.orm import Session

from socialmap.hsds import mapping as m
from socialmap.hsds.importer import import_path
from socialmap.hsds.profile import FEATURE

from .staff import plant

TERM = FEATURE["financiering-tot"]


def doc(service: uuid.UUID, funding: str, ends: str | None) -> dict[str, object]:
    attributes = [] if ends is None else [{
        "id": str(uuid.uuid4()), "link_id": funding, "link_type": "feature",
        "link_entity": "funding", "taxonomy_term_id": TERM.id, "value": ends}]
    return {"funding": [{"id": funding, "service_id": str(service), "source": "Oranje Fonds"}],
            "attribute": attributes}


def run(conn: Connection, tmp_path: Path, body: dict[str, object]) -> object:
    path = tmp_path / "funding.json"
    path.write_text(json.dumps(body))
    return import_path(Session(bind=conn, join_transaction_mode="create_savepoint"), path,
                       "test")


def test_import_funding_with_end_date(conn: Connection, tmp_path: Path) -> None:
    rec = plant(conn, "Fondsenhuis", "GM0971-meers")
    funding = str(uuid.uuid4())
    report = run(conn, tmp_path, doc(rec.id, funding, "2027-03-31"))
    assert not report.rejected, report.rejected  # type: ignore[attr-defined]
    row = conn.execute(text("SELECT service_id, source, ends_on FROM funding WHERE id = :i"),
                       {"i": funding}).one()
    assert tuple(row) == (rec.id, "Oranje Fonds", date(2027, 3, 31))
    # Not kept a second time as a verbatim HSDS record.
    assert conn.execute(text("SELECT count(*) FROM hsds_record WHERE id = :i"),
                        {"i": funding}).scalar_one() == 0
    # Importing again changes nothing; a new date updates the row.
    again = run(conn, tmp_path, doc(rec.id, funding, "2027-03-31"))
    assert again.counts[("funding", "unchanged")] == 1  # type: ignore[attr-defined]
    run(conn, tmp_path, doc(rec.id, funding, "2027-06-30"))
    assert conn.execute(text("SELECT ends_on FROM funding WHERE id = :i"),
                        {"i": funding}).scalar_one() == date(2027, 6, 30)


def test_import_funding_bad_date_is_rejected(conn: Connection, tmp_path: Path) -> None:
    rec = plant(conn, "Fondsenhuis", "GM0971-meers")
    funding = str(uuid.uuid4())
    report = run(conn, tmp_path, doc(rec.id, funding, "31 maart"))
    # The funding row is refused, naming the field, and so its attribute describes nothing.
    rejected = {r.where: r.reasons for r in report.rejected}  # type: ignore[attr-defined]
    assert set(rejected) == {"funding[0]", "attribute[0]"}
    assert "ends_on" in rejected["funding[0]"][0]
    assert conn.execute(text("SELECT count(*) FROM funding WHERE id = :i"),
                        {"i": funding}).scalar_one() == 0


def test_export_mapping_carries_end_date() -> None:
    sid, fid = uuid.uuid4(), uuid.uuid4()
    row = {"id": fid, "service_id": sid, "source": "Gemeente Stein", "ends_on": date(2027, 1, 31)}
    assert m.funding_out(row) == {"id": str(fid), "service_id": str(sid),
                                  "source": "Gemeente Stein"}
    [attr] = m.profile_attributes("funding", row)
    assert attr["link_entity"] == "funding" and attr["link_id"] == str(fid)
    assert attr["taxonomy_term_id"] == TERM.id and attr["value"] == "2027-01-31"
    features = m.profile_features([attr])
    assert m.funding_in(m.funding_out(row), features[str(fid)])["ends_on"] == date(2027, 1, 31)


def test_export_then_import_round_trip(conn: Connection, tmp_path: Path) -> None:
    """The HSDS export carries the funding and its end date; importing it gives them back."""
    from socialmap.hsds.export import collect
    from socialmap.queries.hsds import Scope

    rec = plant(conn, "Fondsenhuis", "GM0971-meers")
    conn.execute(text("INSERT INTO funding (service_id, source, ends_on) VALUES "
                      "(:s, 'Provincie Limburg', '2027-02-28'), (:s, 'Eigen bijdragen', NULL)"),
                 {"s": rec.id})
    tables = collect(conn, Scope(service_ids=[rec.id]))
    funding = {r["source"]: r for r in tables["funding"]}
    assert set(funding) == {"Provincie Limburg", "Eigen bijdragen"}
    ends = [a for a in tables["attribute"] if a["taxonomy_term_id"] == TERM.id]
    assert [(a["link_id"], a["value"]) for a in ends] == [
        (funding["Provincie Limburg"]["id"], "2027-02-28")]
    body = {"funding": tables["funding"], "attribute": ends}
    conn.execute(text("UPDATE funding SET ends_on = NULL WHERE service_id = :s"), {"s": rec.id})
    report = run(conn, tmp_path, body)
    assert not report.rejected, report.rejected  # type: ignore[attr-defined]
    rows = dict(conn.execute(text("SELECT source, ends_on FROM funding WHERE service_id = :s"),
                             {"s": rec.id}).all())
    assert rows == {"Provincie Limburg": date(2027, 2, 28), "Eigen bijdragen": None}
