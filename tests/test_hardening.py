"""Production hardening: a statement timeout is its own answer (504), the OpenAPI documents
list the database errors, an empty value where the document forbids one is a 400, and the
request-id and caching hooks do what docs/SCALING.md says."""
from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine

from socialmap import create_app, db
from socialmap.config import Settings
from socialmap.pgcluster import Cluster

from .conftest import GEODATA, TEST_DB

# --- 1. statement timeout -------------------------------------------------------------------


@pytest.fixture
def impatient(cluster: Cluster, engine: Engine) -> Iterator[FlaskClient]:
    """An app on its own engine (over the test database) whose statement timeout is 1 ms."""
    app: Flask = create_app(Settings(database_url=cluster.socket_url(TEST_DB), testing=True,
                                     secret_key="x", geodata_dir=GEODATA,
                                     statement_timeout_ms=1))
    yield app.test_client()
    with app.app_context():
        db.get_db().engine.dispose()


# A broad question: everything within 100 km of Meers, with its facets counted.
BROAD = "near=Meers&radius=100000&limit=100"


def test_statement_timeout_is_a_504_query_timeout_in_json(impatient: FlaskClient) -> None:
    resp = impatient.get(f"/api/v1/search?{BROAD}")
    assert resp.status_code == 504
    error = resp.get_json()["error"]
    assert error["code"] == "query_timeout"
    assert "0.001 s" in error["message"] and "smaller radius" in error["message"]
    assert "Retry-After" not in resp.headers
    assert resp.headers["Cache-Control"] == "no-store"


def test_statement_timeout_is_a_dutch_page_saying_how_to_narrow(impatient: FlaskClient) -> None:
    resp = impatient.get(f"/?{BROAD}", headers={"Accept": "text/html"})
    assert resp.status_code == 504
    page = resp.get_data(as_text=True)
    assert "Deze vraag duurde te lang" in page
    assert "kleinere zoekafstand" in page and "één kern" in page
    assert "niet bereikbaar" not in page


def test_the_same_question_within_the_timeout_is_answered(client: FlaskClient) -> None:
    resp = client.get(f"/api/v1/search?{BROAD}")
    assert resp.status_code == 200
    assert resp.get_json()["numberReturned"] > 0


# --- 2. database errors in the OpenAPI documents ----------------------------------------------

DOCUMENTS = ("/api/v1/openapi.json", "/hsds/openapi.json", "/ogc/api")


def _operations(doc: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [(f"{method} {path}", op) for path, item in doc["paths"].items()
            for method, op in item.items()]


@pytest.mark.parametrize("address", DOCUMENTS)
def test_every_operation_documents_503_and_504_with_the_error_body(client: FlaskClient,
                                                                   address: str) -> None:
    doc = client.get(address, headers={"Accept": "application/json"}).get_json()
    responses = doc["components"]["responses"]
    assert responses["Unavailable"]["headers"]["Retry-After"]
    for name in ("Unavailable", "QueryTimeout"):
        schema = responses[name]["content"]["application/json"]["schema"]
        assert schema == {"$ref": "#/components/schemas/Error"}
    error = doc["components"]["schemas"]["Error"]
    assert error["properties"]["error"]["required"] == ["code", "message", "field"]
    operations = _operations(doc)
    assert len(operations) > 5
    for name, op in operations:
        assert op["responses"]["503"] == {"$ref": "#/components/responses/Unavailable"}, name
        assert op["responses"]["504"] == {"$ref": "#/components/responses/QueryTimeout"}, name


# --- 3. empty values where the document forbids them -----------------------------------------

@pytest.mark.parametrize(("path", "field"), [
    ("/api/v1/kernen?q=me&gemeente=", "gemeente"),
    ("/api/v1/kernen?q=me&gemeente=%20", "gemeente"),
    ("/api/v1/places/resolve?near=", "near"),
    ("/hsds/services?gemeente=", "gemeente"),
    ("/hsds/services?taxonomy_term_id=", "taxonomy_term_id"),
    ("/hsds/services?modified_after=", "modified_after"),
    ("/hsds/services?lat=&lon=5.9", "lat"),
    ("/hsds/services?page=", "page"),
    ("/hsds/services?format=", "format"),
    ("/hsds/services?open_now=", "open_now"),
    ("/hsds/service_at_locations?proximity=&postcode=6171", "proximity"),
    ("/hsds/organizations?full=", "full"),
    ("/hsds/taxonomy_terms?parent_id=", "parent_id"),
    ("/ogc/collections?f=", "f"),
    ("/ogc/collections/initiatives/items?limit=", "limit"),
    ("/ogc/collections/initiatives/items?bbox=", "bbox"),
    ("/ogc/collections/initiatives/items?bbox-crs=&bbox=5,51,6,52", "bbox-crs"),
    ("/ogc/collections/kernen/items?crs=", "crs"),
])
def test_an_empty_value_the_document_forbids_is_a_400_naming_it(client: FlaskClient, path: str,
                                                                field: str) -> None:
    resp = client.get(path)
    assert resp.status_code == 400, resp.get_data(as_text=True)
    assert resp.get_json()["error"]["field"] == field


@pytest.mark.parametrize("path", [
    "/api/v1/kernen?q=me",
    "/hsds/services?search=",          # free text: the empty string is a valid value
    "/hsds/services?kern=",
    "/hsds/organizations?search=",
])
def test_free_text_may_be_empty(client: FlaskClient, path: str) -> None:
    assert client.get(path).status_code == 200


def test_form_parameters_are_documented_as_allowing_empty_values(client: FlaskClient) -> None:
    """The search's parameters come from the site's form too, which sends empty fields."""
    doc = client.get("/api/v1/openapi.json").get_json()
    search = {p["name"]: p for p in doc["paths"]["/search"]["get"]["parameters"]}
    assert search["gemeente"]["allowEmptyValue"] is True
    assert client.get("/api/v1/search?near=Meers&gemeente=&radius=").status_code == 200
    kernen = {p["name"]: p for p in doc["paths"]["/kernen"]["get"]["parameters"]}
    assert "allowEmptyValue" not in kernen["gemeente"]
    resolve = doc["paths"]["/places/resolve"]["get"]["parameters"][0]
    assert resolve["schema"]["minLength"] == 1 and resolve["allowEmptyValue"] is False
    # The at-risk list page's form sends its parameters to the same reader.
    at_risk = {p["name"]: p for p in doc["paths"]["/gaps/at-risk"]["get"]["parameters"]}
    assert all(p["allowEmptyValue"] is True for p in at_risk.values())
    assert client.get("/api/v1/gaps/at-risk?gemeente=GM1883&provincie=&category=&demo="
                      ).status_code == 200


# --- 4. request ids and caching ---------------------------------------------------------------

def test_a_request_id_is_generated_when_none_is_given(client: FlaskClient) -> None:
    first = client.get("/api/v1/taxonomy").headers["X-Request-Id"]
    second = client.get("/api/v1/taxonomy").headers["X-Request-Id"]
    assert re.fullmatch(r"[0-9a-f]{32}", first) and first != second


def test_a_plain_request_id_is_echoed(client: FlaskClient) -> None:
    resp = client.get("/api/v1/kernen?q=me", headers={"X-Request-Id": "lb-7f3a:42.1"})
    assert resp.headers["X-Request-Id"] == "lb-7f3a:42.1"
    missing = client.get("/api/v1/initiatives/00000000-0000-0000-0000-000000000000",
                         headers={"X-Request-Id": "abc-123"})
    assert missing.status_code == 404 and missing.headers["X-Request-Id"] == "abc-123"


@pytest.mark.parametrize("given", ["two words", "x" * 129, "a\"b", "naïve"])
def test_a_request_id_that_could_forge_a_log_line_is_replaced(client: FlaskClient,
                                                              given: str) -> None:
    resp = client.get("/api/v1/taxonomy", headers={"X-Request-Id": given})
    assert re.fullmatch(r"[0-9a-f]{32}", resp.headers["X-Request-Id"])


def test_a_stable_answer_has_an_etag_and_revalidates_with_a_304(client: FlaskClient) -> None:
    first = client.get("/api/v1/taxonomy")
    assert first.status_code == 200
    assert first.headers["Cache-Control"] == "public, max-age=300"
    etag = first.headers["ETag"]
    again = client.get("/api/v1/taxonomy", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.data == b""
    assert again.headers["ETag"] == etag
    other = client.get("/api/v1/taxonomy", headers={"If-None-Match": '"something-else"'})
    assert other.status_code == 200 and other.get_json() == first.get_json()


def test_the_etag_follows_the_content(client: FlaskClient) -> None:
    meers = client.get("/api/v1/kernen?q=mee").headers["ETag"]
    elsloo = client.get("/api/v1/kernen?q=els").headers["ETag"]
    assert meers != elsloo
    assert client.get("/api/v1/kernen?q=mee").headers["ETag"] == meers


def test_searches_and_pages_are_not_marked_cacheable(client: FlaskClient) -> None:
    for path in ("/api/v1/search?near=Meers", "/?near=Meers"):
        resp = client.get(path)
        assert resp.status_code == 200
        assert "public" not in resp.headers.get("Cache-Control", "")
        assert "ETag" not in resp.headers


def test_errors_are_never_cacheable(client: FlaskClient) -> None:
    resp = client.get("/api/v1/kernen?q=me&gemeente=XX")
    assert resp.status_code == 400
    assert "public" not in resp.headers.get("Cache-Control", "")
    assert "ETag" not in resp.headers


def test_versioned_static_files_are_immutable_and_others_revalidate(
        app: Flask, client: FlaskClient) -> None:
    with app.test_request_context():
        from flask import url_for
        versioned = url_for("static", filename="site.css")
    assert "?v=" in versioned
    resp = client.get(versioned)
    assert resp.status_code == 200
    assert resp.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    plain = client.get("/static/site.css")
    assert plain.headers["Cache-Control"] == "public, max-age=300"
    stale = client.get("/static/site.css?v=000000000000")
    assert stale.headers["Cache-Control"] == "public, max-age=300"
    etag = plain.headers["ETag"]
    assert client.get("/static/site.css", headers={"If-None-Match": etag}).status_code == 304
