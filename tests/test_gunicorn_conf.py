"""The production server's settings: the workers' shared answer cache directory (made at start,
emptied on a reload, removed at exit) and the cache state in the JSON access log."""
from __future__ import annotations

import json
import logging
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest

from socialmap import gunicorn_conf
from socialmap.cache import GENERATION_FILE


def test_the_shared_answer_cache_lives_as_long_as_the_server(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SOCIALMAP_ANSWER_CACHE_DIR", raising=False)
    monkeypatch.delenv("_SOCIALMAP_ANSWER_CACHE_MADE", raising=False)
    gunicorn_conf.on_starting(None)
    made = Path(gunicorn_conf.os.environ["SOCIALMAP_ANSWER_CACHE_DIR"])
    assert made.is_dir() and made.name.startswith("socialmap-answers-")
    first = (made / GENERATION_FILE).read_bytes()
    (made / "search").mkdir()
    (made / "search" / "kept").write_bytes(b"x")
    gunicorn_conf.on_reload(None)
    # Emptied, and a new generation: the old code's workers keep nothing more.
    assert made.is_dir() and [p.name for p in made.iterdir()] == [GENERATION_FILE]
    assert len(first) == 16 and (made / GENERATION_FILE).read_bytes() != first
    gunicorn_conf.on_exit(None)
    assert not made.exists()


def test_a_directory_given_by_the_environment_is_used_and_kept(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("SOCIALMAP_ANSWER_CACHE_DIR", str(tmp_path))
    monkeypatch.delenv("_SOCIALMAP_ANSWER_CACHE_MADE", raising=False)
    gunicorn_conf.on_starting(None)
    assert gunicorn_conf.os.environ["SOCIALMAP_ANSWER_CACHE_DIR"] == str(tmp_path)
    gunicorn_conf.on_exit(None)
    assert tmp_path.is_dir()


@pytest.mark.parametrize("state", ["hit", "miss", None])
def test_the_access_line_says_whether_the_answer_came_from_the_cache(
        state: str | None, caplog: pytest.LogCaptureFixture) -> None:
    logger = gunicorn_conf.JsonLogger.__new__(gunicorn_conf.JsonLogger)
    logger.cfg = SimpleNamespace(accesslog="-")
    logger.access_log = logging.getLogger("test.gunicorn.access")
    headers = [("Content-Type", "application/geo+json"), ("X-Request-ID", "r1")]
    if state:
        headers.append(("X-Cache", state))
    resp = SimpleNamespace(headers=headers, status="200 OK", sent=123)
    environ = {"REQUEST_METHOD": "GET", "PATH_INFO": "/api/v1/search",
               "QUERY_STRING": "near=1234AB"}
    with caplog.at_level(logging.INFO, logger="test.gunicorn.access"):
        logger.access(resp, None, environ, timedelta(milliseconds=4))
    (line,) = [json.loads(r.getMessage()) for r in caplog.records]
    assert line["status"] == 200 and line["request_id"] == "r1"
    assert line["path"] == "/api/v1/search" and "1234AB" not in json.dumps(line)
    assert line.get("cache") == state
