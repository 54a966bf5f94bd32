"""The start page's counts are the database's, and the demo set is marked everywhere and hidden
everywhere when SOCIALMAP_SHOW_DEMO is off."""
from __future__ import annotations

from dataclasses import replace

from flask.testing import FlaskClient
from sqlalchemy import Connection, text

from socialmap import create_app
from socialmap.config import Settings

VISIBLE = "('active', 'temporarily closed')"


def nl_number(n: int) -> str:
    """A count as a Dutch page writes it: 9.167."""
    return f"{n:,}".replace(",", ".")


def _demo_hit(conn: Connection) -> tuple[str, str, str]:
    """A visible demo service with a location in a kern: (service id, name, kern code)."""
    row = conn.execute(text(
        "SELECT s.id, s.name, l.kern_code FROM service s "
        "JOIN service_at_location sal ON sal.service_id = s.id "
        "JOIN location l ON l.id = sal.location_id "
        "WHERE s.is_demo AND s.status = 'active' AND l.kern_code IS NOT NULL "
        "AND l.location_type = 'physical' ORDER BY s.name LIMIT 1")).one()
    return str(row.id), row.name, row.kern_code


def test_start_page_counts_are_the_databases(client: FlaskClient, conn: Connection) -> None:
    gemeenten = conn.execute(text("SELECT count(*) FROM gemeente")).scalar_one()
    kernen = conn.execute(text("SELECT count(*) FROM kern")).scalar_one()
    initiatives, demo = conn.execute(text(
        f"SELECT count(*), count(*) FILTER (WHERE is_demo) FROM service "
        f"WHERE status IN {VISIBLE}")).one()
    page = client.get("/").get_data(as_text=True)
    assert gemeenten == 342 and kernen > 3000 and initiatives > 15
    assert (f"{nl_number(gemeenten)} gemeenten, {nl_number(kernen)} kernen en "
            f"{nl_number(initiatives)} initiatieven") in page
    assert f"waarvan {nl_number(demo)} voorbeelden" in page


def test_demo_records_are_marked(client: FlaskClient, conn: Connection) -> None:
    service_id, name, kern = _demo_hit(conn)
    detail = client.get(f"/initiatief/{service_id}").get_data(as_text=True)
    assert "badge-demo" in detail and "Voorbeeld (demo)" in detail
    listing = client.get(f"/api/v1/initiatives/{service_id}").get_json()
    assert listing["is_demo"] is True
    hits = client.get(f"/api/v1/search?kern={kern}&limit=200").get_json()
    marked = [f for f in hits["features"] if f["properties"]["service_id"] == service_id]
    assert marked and marked[0]["properties"]["is_demo"] is True


def test_show_demo_off_hides_the_demo_set_everywhere(settings: Settings, conn: Connection) -> None:
    service_id, name, kern = _demo_hit(conn)
    client = create_app(replace(settings, show_demo=False), bind=conn).test_client()
    assert client.get(f"/initiatief/{service_id}").status_code == 404
    assert client.get(f"/api/v1/initiatives/{service_id}").status_code == 404
    hits = client.get(f"/api/v1/search?kern={kern}&limit=200").get_json()
    assert all(not f["properties"]["is_demo"] for f in hits["features"])
    assert service_id not in {f["properties"]["service_id"] for f in hits["features"]}
    # Asking for demo records does not bring them back when the site hides them.
    asked = client.get(f"/api/v1/search?kern={kern}&limit=200&demo=true").get_json()
    assert service_id not in {f["properties"]["service_id"] for f in asked["features"]}
    assert name not in client.get(f"/kern/{kern}").get_data(as_text=True)
    start = client.get("/").get_data(as_text=True)
    assert "voorbeelden" not in start
    assert name not in client.get(f"/?kern={kern}").get_data(as_text=True)
    ogc = client.get(f"/ogc/collections/initiatives/items?f=json&limit=1000"
                     f"&kern_code={kern}").get_json()
    assert service_id not in {f["properties"].get("service_id") for f in ogc["features"]}
