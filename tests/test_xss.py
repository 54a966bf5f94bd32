"""Script typed into a record renders inert on every page that shows it: the detail page, the
kern page, the search list and its map, the print list, the editor's form and the history.
Every text is escaped by Jinja and by the map's JSON; no HTML is ever allowed in records."""
from __future__ import annotations

from flask.testing import FlaskClient
from sqlalchemy import Connection, text

from .staff import STEIN, make_user, plant, session_into

KERN = "GM0971-meers"
# Breaks out of an attribute, of an inline script and of a JSON string, if anything is raw.
XSS = "Huis \"'><script>alert(1)</script><img src=x onerror=alert(2)></script><!--"
RAW = ("<script>alert(1)", "<img src=x", "onerror=alert(2)>")


def _inert(html: str) -> None:
    for raw in RAW:
        assert raw not in html, raw


def test_script_in_a_record_is_inert_on_every_page(client: FlaskClient,
                                                   conn: Connection) -> None:
    rec = plant(conn, XSS, KERN, address=XSS)
    conn.execute(text(
        "UPDATE service SET description = :x, fees_description = :x, schedule_note = :x, "
        "eligibility_description = :x WHERE id = :s"), {"x": XSS, "s": rec.id})
    conn.execute(text("INSERT INTO contact (service_id, name, is_private) VALUES (:s, :x, false)"),
                 {"s": rec.id, "x": XSS})
    pages = [f"/initiatief/{rec.id}", f"/kern/{KERN}", "/?near=Meers&radius=3000",
             "/?near=Meers&radius=3000&print=1", f"/?near=Meers&q={XSS[:20]}"]
    for path in pages:
        resp = client.get(path)
        assert resp.status_code == 200, path
        html = resp.get_data(as_text=True)
        _inert(html)
    detail = client.get(f"/initiatief/{rec.id}").get_data(as_text=True)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in detail  # shown as text, not dropped

    editor = make_user(conn, "xss-redactie@stein.example", "editor", (STEIN,))
    session_into(client, conn, editor)
    for path in (f"/initiatief/{rec.id}/bewerken", f"/initiatief/{rec.id}/geschiedenis"):
        resp = client.get(path)
        assert resp.status_code == 200, path
        _inert(resp.get_data(as_text=True))
