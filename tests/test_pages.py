"""The site with the Flask test client: status codes, Dutch messages, privacy, no-JS list,
language cookie and self-hosted assets; and the pure map helpers."""
from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from html.parser import HTMLParser
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import Connection, text

from socialmap import mapview
from socialmap.config import OSM_TILES

TODAY = date.today()
SECRET_STRINGS = ("06-99999999", "Geheime Piet", "piet@prive.example", "06-11112222",
                  "Geheimstraat 12")


@dataclass
class Built:
    name: str
    id: uuid.UUID


def _meers(conn: Connection) -> Any:
    return conn.execute(text(
        "SELECT k.code, k.name, g.name AS gemeente, ST_X(k.point) AS x, ST_Y(k.point) AS y "
        "FROM kern k JOIN gemeente g ON g.code = k.gemeente_code "
        "WHERE k.name = 'Meers' ORDER BY k.inhabitants DESC LIMIT 1")).one()


def _add(conn: Connection, at: tuple[float, float], name: str, kind: str, *,
         categories: tuple[str, ...] = (), audiences: tuple[str, ...] = (),
         slots: tuple[tuple[int, str, str], ...] = (), location_type: str = "physical",
         address: str | None = None, demo: bool = False) -> Built:
    sid = conn.execute(text(
        "INSERT INTO service (name, kind, status, is_demo, description, assured_date, "
        "fees_description) VALUES (:n, :k, 'active', :d, :desc, :a, 'Gratis') RETURNING id"),
        {"n": name, "k": kind, "d": demo, "desc": f"{name}: koffie en hulp",
         "a": TODAY - timedelta(days=40)}).scalar_one()
    lid = conn.execute(text(
        "INSERT INTO location (name, location_type, precision, geom, kern_code, address, is_demo) "
        "SELECT :n, :t, 'address', g, (SELECT code FROM kern WHERE ST_Covers(area, g) "
        "ORDER BY code LIMIT 1), :addr, :d "
        "FROM (SELECT ST_SetSRID(ST_MakePoint(:x, :y), 28992) AS g) p RETURNING id"),
        {"n": name, "t": location_type, "x": at[0], "y": at[1], "addr": address,
         "d": demo}).scalar_one()
    conn.execute(text("INSERT INTO service_at_location (service_id, location_id) VALUES (:s, :l)"),
                 {"s": sid, "l": lid})
    conn.execute(text(
        "INSERT INTO attribute (service_id, taxonomy_term_id) "
        "SELECT :s, id FROM taxonomy_term WHERE code = ANY(:c)"),
        {"s": sid, "c": [*categories, *audiences]})
    for day, opens, closes in slots:
        conn.execute(text("INSERT INTO schedule (service_id, weekday, opens_at, closes_at) "
                          "VALUES (:s, :d, :o, :c)"), {"s": sid, "d": day, "o": opens, "c": closes})
    return Built(name, sid)


@pytest.fixture
def registry(conn: Connection) -> dict[str, Built]:
    """Three initiatives in and near Meers, with public and private contacts."""
    meers = _meers(conn)
    x, y = float(meers.x), float(meers.y)
    week = tuple((day, "09:00", "17:00") for day in range(1, 8))
    built = [
        _add(conn, (x + 150, y), "Testhuis De Linde", "dorpshuis", categories=("inloop",),
             audiences=("ouderen",), slots=week, address="Lindeplein 1"),
        _add(conn, (x + 1500, y + 200), "Testvervoer Meers", "vervoersdienst",
             categories=("vrijwilligersvervoer",), audiences=("mensen-met-een-beperking",)),
        _add(conn, (x - 300, y + 100), "Burenhulp bij Jan thuis", "burenhulp",
             categories=("burenhulp",), audiences=("ouderen",), location_type="private",
             address="Geheimstraat 12"),
    ]
    linde = built[0].id
    conn.execute(text("INSERT INTO phone (service_id, number, is_private) VALUES "
                      "(:s, '046-1234567', false), (:s, '06-99999999', true)"), {"s": linde})
    public = conn.execute(text(
        "INSERT INTO contact (service_id, name, email, is_private) "
        "VALUES (:s, 'Anna Jansen', 'anna@linde.example', false) RETURNING id"),
        {"s": linde}).scalar_one()
    private = conn.execute(text(
        "INSERT INTO contact (service_id, name, email, is_private) "
        "VALUES (:s, 'Geheime Piet', 'piet@prive.example', true) RETURNING id"),
        {"s": linde}).scalar_one()
    conn.execute(text("INSERT INTO phone (contact_id, number, is_private) VALUES "
                      "(:p, '046-7654321', false), (:q, '06-11112222', false)"),
                 {"p": public, "q": private})
    return {b.name: b for b in built}


class Assets(HTMLParser):
    """Collects the URLs a page loads (scripts, stylesheets, images) and inline scripts."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.scripts: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "script":
            self._in_script = a.get("src") is None
            if a.get("src"):
                self.urls.append(a["src"] or "")
        elif tag == "link" and a.get("rel") == "stylesheet" or tag in ("img", "iframe"):
            self.urls.append(a.get("href") or a.get("src") or "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script:
            self.scripts.append(data)


def assets_of(html: str) -> Assets:
    parser = Assets()
    parser.feed(html)
    return parser


def page(client: FlaskClient, url: str, status: int = 200) -> str:
    resp = client.get(url)
    assert resp.status_code == status, (url, resp.status_code, resp.data[:500])
    assert resp.mimetype == "text/html"
    return resp.get_data(as_text=True)


def hit_names(html: str) -> list[str]:
    """Names in the result list, in order, as a browser without JavaScript shows them."""
    return [re.sub(r"^\d+\.\s*", "", re.sub(r"<[^>]+>", "", m)).strip()
            for m in re.findall(r'<h[34] class="hit-name"[^>]*><a [^>]*>(.*?)</a>', html, re.S)]


def map_data(html: str) -> dict[str, Any]:
    m = re.search(r"SocialMap\.addHits\([^,]+, (\{.*?\}), \{\"numbered\"", html, re.S)
    assert m, "no marker data on the page"
    return json.loads(m.group(1))["data"]


# --- the search page ---------------------------------------------------------------------

def test_start_page_is_a_dutch_form(client: FlaskClient) -> None:
    html = page(client, "/")
    assert '<html lang="nl">' in html
    assert '<label for="near">Plaats, postcode of adres</label>' in html
    assert 'role="search"' in html and 'class="skip-link" href="#main"' in html
    assert "gemeenten" in html and "kernen" in html  # the modest counts in the footer


def test_search_lists_results_without_javascript(client: FlaskClient, registry) -> None:
    html = page(client, "/?near=Meers&radius=2000&demo=false")
    names = hit_names(html)
    ours = [n for n in names if n in registry]
    # The burenhulp at a volunteer's home is listed by its published point, the kern point.
    assert ours == ["Burenhulp bij Jan thuis", "Testhuis De Linde", "Testvervoer Meers"]
    assert 'role="status"' in html and "initiatieven binnen 2 km van Meers" in html
    assert "Gecontroleerd op" in html
    # Open every day 09:00-17:00: which of the two depends on the time the test runs.
    assert re.search(r"Nu open tot 17:00|Open (vandaag|morgen) 09:00", html)
    # The map agrees with the list: the same names, numbered as in the list.
    markers = map_data(html)["features"]
    assert [f["properties"]["name"] for f in markers] == names
    assert [f["properties"]["n"] for f in markers] == list(range(1, len(names) + 1))


def test_kern_search_shows_the_kern_outline(client: FlaskClient, registry) -> None:
    html = page(client, "/?near=Meers&demo=false")
    assert "in of voor Meers" in html
    assert "Testhuis De Linde" in hit_names(html)
    assert '"kind": "focus"' in html


def test_facet_counts_ignore_their_own_filter(client: FlaskClient, registry) -> None:
    base = "/?near=Meers&radius=2000&demo=false"

    def count(html: str, facet: str, code: str) -> int:
        m = re.search(rf'id="{facet}-{code}"[^>]*>\s*<label[^>]*>[^<]*<span class="count">'
                      r"\((\d+)\)", html)
        assert m, (facet, code)
        return int(m.group(1))

    html = page(client, base)
    assert count(html, "category", "vervoer") >= 1
    ontmoeting = count(html, "category", "ontmoeting")
    filtered = page(client, base + "&category=vervoer")
    assert hit_names(filtered) == ["Testvervoer Meers"]
    assert [f["properties"]["name"] for f in map_data(filtered)["features"]] == \
        ["Testvervoer Meers"]
    assert 'id="category-vervoer" checked' in filtered
    # Category counts stay those of the unfiltered category facet; audiences follow the filter.
    assert count(filtered, "category", "ontmoeting") == ontmoeting
    assert count(filtered, "audience", "ouderen") == 0
    assert count(filtered, "audience", "mensen-met-een-beperking") == 1


def test_paging_links_keep_the_search(client: FlaskClient, registry) -> None:
    everything = hit_names(page(client, "/?near=Meers&radius=2000&demo=false"))
    html = page(client, "/?near=Meers&radius=2000&demo=false&limit=1")
    assert hit_names(html) == everything[:1]
    nxt = re.search(r'href="([^"]+)" rel="next"', html)
    assert nxt and "offset=1" in nxt.group(1) and "radius=2000" in nxt.group(1)
    second = page(client, nxt.group(1).replace("&amp;", "&"))
    assert hit_names(second) == everything[1:2]
    assert 'rel="prev"' in second


@pytest.mark.parametrize(("url", "status", "message"), [
    ("/?near=Xyzzyvillezzz", 404, "Deze plaats hebben we niet gevonden"),
    ("/?near=Meers&radius=abc", 400, "Kies een zoekafstand"),
    ("/?near=Meers&radius=0", 400, "Kies een zoekafstand"),
    ("/?near=Meers&foo=1", 400, "De link bevat een onderdeel dat we niet kennen"),
    ("/?near=Meers&limit=1000", 400, "tussen 1 en 100 resultaten"),
    ("/?near=Meers&mode=kern&radius=500", 400, "past niet bij zoeken in één kern"),
    ("/?near=Meers&mode=overal", 400, "andere manieren kennen we niet"),
    ("/?near=Meers&open_now=misschien", 400, "Nu open"),
    ("/?near=Meers&category=onzin", 400, "Deze soort hulp kennen we niet"),
    ("/?near=Meers&audience=onzin", 400, "Deze doelgroep kennen we niet"),
    ("/?near=0123", 400, "begint niet met een 0"),
    ("/?near=12", 400, "vier cijfers"),
    ("/?near=Meers&kern=GM0971-meers", 400, "niet op allebei"),
    ("/?near=Meers&q=%21%21%21", 400, "Zoek op een of meer woorden"),
    ("/?open_now=1", 400, "Vul een plaats, postcode of adres in"),
    ("/?near=Meers&near=Elsloo", 400, "komt twee keer voor"),
    ("/?near=Meers&print=vandaag", 400, "afdrukversie"),
])
def test_bad_input_is_a_dutch_message_on_the_page(client: FlaskClient, url: str, status: int,
                                                  message: str) -> None:
    html = page(client, url, status)
    assert 'class="error-summary"' in html and 'role="alert"' in html
    assert message in html
    assert '<label for="near">' in html  # the form is still there to try again


def test_ambiguous_place_offers_its_choices_as_links(client: FlaskClient) -> None:
    html = page(client, "/?near=Beek&radius=5000", 400)
    assert "Er zijn meerdere plaatsen met deze naam" in html
    links = re.findall(r'<ul class="place-help">(.*?)</ul>', html, re.S)[0]
    hrefs = re.findall(r'href="([^"]+)"', links)
    assert len(hrefs) >= 2
    assert all("near=Beek%2C+" in h and "radius=5000" in h for h in hrefs)
    assert page(client, hrefs[0].replace("&amp;", "&"))  # each choice is a working search


def test_unknown_place_suggests_similar_kernen(client: FlaskClient) -> None:
    html = page(client, "/?near=Meerz", 404)
    links = re.findall(r'<ul class="place-help">(.*?)</ul>', html, re.S)
    assert links and "Meers" in links[0]


def test_fuzzed_places_never_fail(client: FlaskClient) -> None:
    for near in ("'; DROP TABLE kern;--", "%", "_", "<script>", "9999 ZZ", "52.1,4.3",
                 "190000,330000", "0,0", "Meers, Nergenshuizen", "\u00e9\u00e9n", "a" * 200,
                 "a" * 201, "Den Haag", "'s-Hertogenbosch", "  "):
        resp = client.get("/", query_string={"near": near})
        assert resp.status_code < 500, near
        assert 'value="<script>' not in resp.get_data(as_text=True)


# --- detail, kern and print pages --------------------------------------------------------

def test_detail_page_shows_public_contacts_only(client: FlaskClient, registry) -> None:
    linde = registry["Testhuis De Linde"]
    html = page(client, f"/initiatief/{linde.id}")
    for expected in ("<h1>Testhuis De Linde</h1>", "Dorpshuis", "046-1234567", "Anna Jansen",
                     "anna@linde.example", "046-7654321", "Gratis", "maandag 09:00",
                     "Laatst gecontroleerd", "geleden", "Kaart met de plek"):
        assert expected in html, expected
    for secret in SECRET_STRINGS:
        assert secret not in html, secret


def test_private_locations_never_show_their_address(client: FlaskClient, registry) -> None:
    jan = registry["Burenhulp bij Jan thuis"]
    pages = [page(client, f"/initiatief/{jan.id}"),
             page(client, "/?near=Meers&radius=2000&demo=false"),
             page(client, "/?near=Meers&radius=2000&demo=false&print=1")]
    for html in pages:
        assert "Geheimstraat" not in html
    assert "Bij een vrijwilliger thuis" in pages[0]


def test_detail_page_errors(client: FlaskClient) -> None:
    assert "geen geldige verwijzing" in page(client, "/initiatief/not-a-uuid", 400)
    html = page(client, f"/initiatief/{uuid.uuid4()}", 404)
    assert "bestaat niet" in html
    page(client, f"/initiatief/{uuid.uuid4()}?x=1", 400)
    html = page(client, "/bestaat-niet", 404)
    assert "<h1>Niet gevonden</h1>" in html and "Deze pagina bestaat niet" in html
    client.set_cookie("lang", "en")
    assert "<h1>Not found</h1>" in page(client, "/bestaat-niet", 404)


def test_kern_page_groups_what_is_there(client: FlaskClient, conn: Connection,
                                        registry) -> None:
    meers = _meers(conn)
    html = page(client, f"/kern/{meers.code}")
    assert "<h1>Meers" in html and "Inwoners" in html and "65 jaar en ouder" in html
    assert "75 jaar en ouder" in html
    assert re.search(r'<h3 class="group-heading">Ontmoeting <span class="count">\(\d+\)', html)
    assert "Testhuis De Linde" in hit_names(html)
    assert '"kind": "focus"' in html  # the kern's own area on the map
    page(client, "/kern/GM0000-nergens", 404)
    assert "Niet gevonden" in page(client, "/kern/%00", 404)  # stopped before any route
    page(client, f"/kern/{meers.code}?offset=-1", 400)


def test_kern_page_shows_a_hit_under_each_of_its_categories(client: FlaskClient,
                                                             conn: Connection) -> None:
    """A hit in two categories has the same card (its number, name, details) in both groups."""
    meers = _meers(conn)
    _add(conn, (float(meers.x) + 100, float(meers.y)), "Tafel en busje", "dorpshuis",
         categories=("samen-eten", "buurtbus"))
    html = page(client, f"/kern/{meers.code}")
    cards = re.findall(r'<article class="hit-card".*?</article>', html, re.S)
    ours = [card for card in cards if "Tafel en busje" in card]
    assert len(ours) == 2 and ours[0] == ours[1]
    groups = re.findall(r'<h3 class="group-heading">([^<]*) <span', html)
    assert "Maaltijden" in groups and "Vervoer" in groups


@pytest.mark.parametrize("kind", ["search", "kern"])
def test_print_views(client: FlaskClient, conn: Connection, registry, kind: str) -> None:
    url = ("/?near=Meers&radius=2000&demo=false&print=1" if kind == "search"
           else f"/kern/{_meers(conn).code}?print=1")
    html = page(client, url)
    assert "print.css" in html and 'media="print"' in html
    assert "Afgedrukt op" in html
    assert "Testhuis De Linde" in html and "046-1234567" in html and "Anna Jansen" in html
    assert "maandag 09:00–17:00" in html
    assert "folium-map" not in html
    for secret in SECRET_STRINGS:
        assert secret not in html, secret


# --- language ----------------------------------------------------------------------------

def test_language_is_chosen_by_link_and_remembered(client: FlaskClient) -> None:
    resp = client.get("/taal/en?next=/%3Fnear%3DMeers")
    assert resp.status_code == 303
    assert resp.headers["Location"] == "/?near=Meers"
    cookie = resp.headers["Set-Cookie"]
    assert cookie.startswith("lang=en;") and "Max-Age=" in cookie and "SameSite=Lax" in cookie
    html = page(client, "/")
    assert '<html lang="en">' in html
    assert '<label for="near">Place, postcode or address</label>' in html
    assert 'hreflang="nl"' in html  # the way back to Dutch
    assert client.get("/taal/nl").status_code == 303
    assert '<html lang="nl">' in page(client, "/")


def test_english_error_messages(client: FlaskClient) -> None:
    client.set_cookie("lang", "en")
    assert "Choose a search distance" in page(client, "/?near=Meers&radius=abc", 400)


def test_language_switch_is_safe(client: FlaskClient) -> None:
    page(client, "/taal/xx", 404)
    for target in ("//evil.example/", "https://evil.example/", "javascript:alert(1)"):
        resp = client.get("/taal/en", query_string={"next": target})
        assert resp.headers["Location"] == "/"


# --- assets --------------------------------------------------------------------------------

def test_pages_load_no_external_assets(client: FlaskClient, conn: Connection,
                                       registry) -> None:
    linde = registry["Testhuis De Linde"]
    urls = ["/", "/?near=Meers&demo=false", "/?near=Meers&radius=2000&demo=false&print=1",
            f"/initiatief/{linde.id}", f"/kern/{_meers(conn).code}", "/?near=Xyzzyvillezzz"]
    # The tile URL and the attribution's links are the only addresses in the map scripts.
    allowed = {OSM_TILES, "https://leafletjs.com", "https://www.openstreetmap.org/copyright"}
    for url in urls:
        html = client.get(url).get_data(as_text=True)
        assets = assets_of(html)
        for asset in assets.urls:
            assert asset.startswith("/static/"), (url, asset)
        for script in assets.scripts:
            for found in re.findall(r"https?://[^\s\"'<>\\]+", script):
                assert found in allowed, (url, found)
        assert "cdn" not in html.lower() and "jquery" not in html.lower()


def test_vendor_files_are_served(client: FlaskClient) -> None:
    for path in ("vendor/leaflet/leaflet.js", "vendor/leaflet/leaflet.css",
                 "vendor/markercluster/leaflet.markercluster.js", "map.js", "search.js",
                 "site.css", "print.css"):
        assert client.get(f"/static/{path}").status_code == 200, path


# --- the pure map helpers --------------------------------------------------------------------

SQUARE = {"type": "Polygon", "coordinates": [[[5.78, 50.95], [5.80, 50.95], [5.80, 50.97],
                                              [5.78, 50.97], [5.78, 50.95]]]}


def _spec(**changes: Any) -> mapview.MapSpec:
    values: dict[str, Any] = {
        "assets_url": "/static", "tiles": mapview.Tiles(None, ""),
        "data_attribution": "Bron: CBS", "texts": mapview.MapTexts(
            "Kaart", "Zoekpunt", "Meer", "initiatieven", "Sluiten", "In", "Uit"),
        "outlines": [mapview.Outline("focus", SQUARE, "Meers", (50.96, 5.79)),
                     mapview.Outline("gemeente", SQUARE, "Stein")],
        "origin": mapview.Origin(50.96, 5.79, "Meers"),
    }
    values.update(changes)
    return mapview.MapSpec(**values)


def test_mapview_without_tiles_draws_outlines_and_labels() -> None:
    embed = mapview.embed(mapview.build_map(_spec()))
    assert "L.tileLayer" not in embed.script
    assert embed.script.count("L.geoJson(") == 2
    assert "area-label" in embed.script  # kern names, since there is no background map
    assert '"tiles":false' in embed.script
    assert re.findall(r"https?://", embed.assets + embed.script + embed.html) == []
    assert "/static/vendor/leaflet/leaflet.js" in embed.assets


def test_mapview_with_tiles_and_hits() -> None:
    hits = mapview.hit_features([
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [5.79, 50.96]},
         "properties": {"service_id": "abc", "name": "A </script><b>", "lines": ["x", ""]}},
        {"type": "Feature", "geometry": None,
         "properties": {"service_id": "def", "name": "Komt aan huis"}},
    ], first_number=21, detail_url="/initiatief/{id}")
    assert [f["properties"]["n"] for f in hits["features"]] == [21]
    assert hits["features"][0]["properties"]["url"] == "/initiatief/abc"
    embed = mapview.embed(mapview.build_map(_spec(tiles=mapview.Tiles(OSM_TILES, "OSM"),
                                                  hits=hits, radius_m=2000)))
    assert OSM_TILES in embed.script and "L.circle(" in embed.script
    assert "</script>" not in embed.script  # user text cannot end the script element
    assert "markercluster" in embed.assets
    bounds = mapview.bounds_of(_spec(radius_m=2000))
    assert bounds is not None and bounds[0][0] < 50.95 and bounds[1][0] > 50.97


def test_privacy_page_in_dutch_and_english(client: FlaskClient) -> None:
    home = client.get("/").get_data(as_text=True)
    assert 'href="/privacy"' in home  # linked from every page's footer
    nl = client.get("/privacy").get_data(as_text=True)
    assert "Privacy: wat deze kaart bewaart" in nl and "IP-adres" in nl and "AVG" in nl
    client.set_cookie("lang", "en")
    en = client.get("/privacy").get_data(as_text=True)
    assert "Privacy: what this map keeps" in en
