"""Funding in the registry exchange format: columns funding_source and funding_ends_on are
imported (insert, update, unchanged on a second import), exported, and checked."""
from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest
from sqlalchemy import Connection, text
from sqlalchemy.orm import Session

from socialmap.registry.exporter import read_records

from .test_registry_import import import_csv, reasons, row


@pytest.fixture
def s(conn: Connection) -> Iterator[Session]:
    with Session(bind=conn, join_transaction_mode="create_savepoint") as session:
        yield session


def funding(s: Session, service_id: str) -> list[tuple[str, date | None]]:
    return [tuple(r) for r in s.execute(text(  # type: ignore[misc]
        "SELECT source, ends_on FROM funding WHERE service_id = :s"), {"s": service_id})]


def test_import_and_export_funding(s: Session) -> None:
    first = row(funding_source="Gemeente Stein", funding_ends_on="2027-04-30")
    report = import_csv(s, [first])
    assert not report.rejected, reasons(report)
    assert funding(s, first["id"]) == [("Gemeente Stein", date(2027, 4, 30))]
    changes = s.execute(text("SELECT count(*) FROM change WHERE entity_type = 'funding'")
                        ).scalar_one()
    import_csv(s, [first])  # the same file again changes nothing
    assert s.execute(text("SELECT count(*) FROM change WHERE entity_type = 'funding'")
                     ).scalar_one() == changes
    import_csv(s, [{**first, "funding_ends_on": "2027-12-31"}])
    assert funding(s, first["id"]) == [("Gemeente Stein", date(2027, 12, 31))]
    # A row without a funding source leaves the funding alone.
    import_csv(s, [{**first, "funding_source": "", "funding_ends_on": ""}])
    assert funding(s, first["id"]) == [("Gemeente Stein", date(2027, 12, 31))]
    records = {str(r.id): r for r in read_records(s.connection(), 4326)}
    rec = records[first["id"]]
    assert (rec.funding_source, rec.funding_ends_on) == ("Gemeente Stein", date(2027, 12, 31))
    assert rec.to_properties(typed=False)["funding_ends_on"] == "2027-12-31"


@pytest.mark.parametrize(("fields", "field"), [
    ({"funding_source": "Fonds", "funding_ends_on": "30-04-2027"}, "funding_ends_on"),
    ({"funding_source": "", "funding_ends_on": "2027-04-30"}, "funding_source"),
    ({"funding_source": "x" * 201}, "funding_source"),
])
def test_bad_funding_is_rejected(s: Session, fields: dict[str, str], field: str) -> None:
    bad = row(**fields)
    report = import_csv(s, [bad])
    assert field in reasons(report)["line 2"]
    assert funding(s, bad["id"]) == []
