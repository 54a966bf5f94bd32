"""Parsing of `near` without a database: examples and hypothesis properties."""
from __future__ import annotations

import string

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from socialmap.errors import InvalidInput
from socialmap.geo import to_rd, to_wgs84
from socialmap.geocode.parse import NameQuery, PointQuery, PostcodeQuery, parse_near
from socialmap.names import name_key

PC4 = st.integers(1000, 9999).map(str)
LETTERS = st.text(string.ascii_letters, min_size=2, max_size=2)
LAT = st.floats(50.6, 53.7)
LON = st.floats(3.2, 7.3)
RD_X = st.floats(0, 300_000)
RD_Y = st.floats(289_000, 629_000)
BLANK = st.sampled_from(["", " ", "  ", "\t"])


def rejects(text: str) -> str:
    """The message of the InvalidInput that parsing `text` raises."""
    with pytest.raises(InvalidInput) as info:
        parse_near(text)
    assert info.value.field == "near"
    body = info.value.to_dict()["error"]
    assert body["code"] == "invalid" and body["field"] == "near" and body["message"]
    return info.value.message


@pytest.mark.parametrize("text, pc4, letters", [
    ("6181", "6181", None),
    ("6181 AB", "6181", "AB"),
    ("6181ab", "6181", "AB"),
    (" 6088  AB ", "6088", "AB"),
    ("6088 AB Roggel", "6088", "AB"),
    ("6088AB, Roggel", "6088", "AB"),
    ("6088 Roggel", "6088", None),
])
def test_postcodes(text: str, pc4: str, letters: str | None) -> None:
    assert parse_near(text) == PostcodeQuery(pc4, letters)


def test_postcode_display() -> None:
    assert PostcodeQuery("6181", "AB").postcode == "6181 AB"
    assert PostcodeQuery("6181").postcode == "6181"


@pytest.mark.parametrize("text, expected", [
    ("0181", "does not start with 0"),
    ("618", "four digits"),
    ("61811", "four digits"),
    ("", "empty"),
    ("   ", "empty"),
    ("x" * 201, "longer than 200"),
    ("Elsloo\x00", "control characters"),
    ("Els\u200bloo", "control characters"),
    ("1,2,3", "not understood"),
    ("---", "not understood"),
    ("12 34 56", "not understood"),
])
def test_invalid_inputs(text: str, expected: str) -> None:
    assert expected in rejects(text)


def test_wgs84_point() -> None:
    q = parse_near("51.17,5.98")
    assert isinstance(q, PointQuery) and q.crs == "wgs84"
    assert (q.lat, q.lon) == (51.17, 5.98)
    assert q.x == pytest.approx(to_rd(5.98, 51.17)[0])
    assert 180_000 < q.x < 200_000 and 340_000 < q.y < 360_000


@pytest.mark.parametrize("text", ["51.17, 5.98", "51.17 5.98", "51,17; 5,98", "51,17 5,98",
                                  "+51.17,+5.98"])
def test_wgs84_spellings(text: str) -> None:
    q = parse_near(text)
    assert isinstance(q, PointQuery) and (q.lat, q.lon) == (51.17, 5.98)


def test_wgs84_errors_explain() -> None:
    assert "latitude first" in rejects("5.98,51.17")
    assert "outside the Netherlands" in rejects("48.85,2.35")
    assert "between -90 and 90" in rejects("95,5")
    assert "between -90 and 90" in rejects("-120.5,5")


def test_rd_point() -> None:
    q = parse_near("190000,330000")
    assert isinstance(q, PointQuery) and q.crs == "rd"
    assert (q.x, q.y) == (190000.0, 330000.0)
    assert 50.6 < q.lat < 53.7 and 3.2 < q.lon < 7.3


def test_rd_errors_explain() -> None:
    assert "swap x and y" in rejects("330000,190000")
    assert "neither latitude,longitude" in rejects("1000,2000")
    assert "neither latitude,longitude" in rejects("6181 12")


def test_names() -> None:
    assert parse_near("Elsloo, Stein") == NameQuery("Elsloo, Stein", "Elsloo", "Stein")
    assert parse_near("  Meers ") == NameQuery("Meers", "Meers", None)
    assert parse_near("Elsloo,") == NameQuery("Elsloo,", "Elsloo", None)
    q = parse_near("Hoofdstraat 1, Stein (L.)")
    assert isinstance(q, NameQuery)
    assert (q.name, q.gemeente, q.gemeente_key) == ("Hoofdstraat 1", "Stein (L.)", "stein l")
    assert parse_near("Westerhaar-Vriezenveensewijk").key == "westerhaar vriezenveensewijk"
    assert parse_near("'s-Hertogenbosch").key == "s hertogenbosch"


def test_name_errors_explain() -> None:
    assert "after the last comma comes the gemeente" in rejects("Elsloo, 12")
    assert "needs letters" in rejects(", Stein")
    assert "needs letters" in rejects("12 - 3, Stein")


@given(PC4, LETTERS, st.sampled_from(["", " "]), BLANK, BLANK, st.booleans())
def test_every_postcode_spelling_gives_its_pc4(pc4: str, letters: str, gap: str, before: str,
                                                after: str, with_letters: bool) -> None:
    text = f"{before}{pc4}{gap}{letters if with_letters else ''}{after}"
    q = parse_near(text)
    assert isinstance(q, PostcodeQuery)
    assert q.pc4 == pc4
    assert q.letters == (letters.upper() if with_letters else None)


@given(LAT, LON, st.sampled_from(["{},{}", "{}, {}", "{} {}", "{};{}"]),
       st.integers(1, 12) | st.none())
def test_nl_lat_lon_parses_and_round_trips(lat: float, lon: float, form: str,
                                          decimals: int | None) -> None:
    if decimals is not None:
        lat, lon = round(lat, decimals), round(lon, decimals)
        assume(50.6 <= lat <= 53.7 and 3.2 <= lon <= 7.3)
    q = parse_near(form.format(lat, lon))
    assert isinstance(q, PointQuery) and q.crs == "wgs84"
    assert (q.lat, q.lon) == (lat, lon)
    back_lon, back_lat = to_wgs84(q.x, q.y)
    assert back_lon == pytest.approx(lon, abs=1e-8)  # about a millimetre
    assert back_lat == pytest.approx(lat, abs=1e-8)  # about a millimetre


@given(RD_X, RD_Y)
def test_rd_point_round_trips_through_wgs84_within_a_millimetre(x: float, y: float) -> None:
    q = parse_near(f"{x:.3f},{y:.3f}")
    assert isinstance(q, PointQuery) and q.crs == "rd"
    assert (q.x, q.y) == (round(x, 3), round(y, 3))
    back_x, back_y = to_rd(q.lon, q.lat)
    assert abs(back_x - q.x) < 0.001 and abs(back_y - q.y) < 0.001


@given(st.text(max_size=300))
def test_random_text_is_a_query_or_invalid_input(text: str) -> None:
    try:
        q = parse_near(text)
    except InvalidInput as err:
        assert err.field == "near" and err.message
        return
    assert isinstance(q, NameQuery | PostcodeQuery | PointQuery)
    if isinstance(q, NameQuery):
        assert any(c.isalpha() for c in q.key)
        assert q.gemeente is None or any(c.isalpha() for c in q.gemeente_key or "")


@given(st.text(string.ascii_letters + string.digits + " ,.;-'", max_size=40))
def test_near_alphabet_text_is_a_query_or_invalid_input(text: str) -> None:
    try:
        parse_near(text)
    except InvalidInput as err:
        assert err.field == "near"


@given(st.text(string.ascii_letters + "-' ", min_size=1, max_size=30).filter(
    lambda s: any(c.isalpha() for c in s)))
def test_letters_only_text_is_a_name(text: str) -> None:
    q = parse_near(text)
    assert isinstance(q, NameQuery)
    assert q.key == name_key(" ".join(text.split()))
