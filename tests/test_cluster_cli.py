"""`flask db start|stop|status` on a throwaway cluster: repeating a command is harmless, status
tells running from stopped, and a root install that cannot switch to the postgres system user
says so plainly instead of passing for "not running"."""
from __future__ import annotations

import os
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import Result
from flask import Flask

from socialmap import create_app, pgcluster
from socialmap.config import Settings
from socialmap.db import local_cluster
from socialmap.pgcluster import Cluster, ClusterError, ensure_installed

from .conftest import free_port


def _app(var_dir: Path, port: int) -> Flask:
    return create_app(Settings(var_dir=var_dir, pg_port=port, testing=True))


def db(app: Flask, command: str) -> Result:
    """`flask db COMMAND`, in the app context the flask command would give it."""
    with app.app_context():
        return app.test_cli_runner().invoke(args=["db", command])


@pytest.fixture(scope="module")
def started() -> Iterator[Flask]:
    """One cluster started by `db start`, shared by the idempotence checks (starts cost seconds)."""
    ensure_installed()
    # Not tmp_path: pytest keeps that private to root, and the postgres user must traverse it.
    root = Path(tempfile.mkdtemp(prefix="socialmap-cli-"))
    os.chmod(root, 0o755)
    app = _app(root, free_port())
    try:
        first = db(app, "start")
        assert first.exit_code == 0, first.output
        assert "Created a PostgreSQL cluster" in first.output
        assert "Started PostgreSQL" in first.output
        yield app
    finally:
        app.extensions["socialmap.db"].engine.dispose()
        local_cluster(app.extensions["socialmap.settings"]).destroy()


def test_start_twice_is_harmless_and_status_says_running(started: Flask) -> None:
    again = db(started, "start")
    assert again.exit_code == 0, again.output
    assert "PostgreSQL is already running" in again.output
    assert "Started PostgreSQL" not in again.output and "Created" not in again.output
    status = db(started, "status")
    assert status.exit_code == 0, status.output
    assert ": running (port" in status.output and "Schema revision" in status.output


def test_stop_twice_is_harmless_and_status_says_stopped(started: Flask) -> None:
    first = db(started, "stop")
    assert first.exit_code == 0, first.output
    assert "Stopped PostgreSQL" in first.output
    again = db(started, "stop")
    assert again.exit_code == 0, again.output
    assert "PostgreSQL was not running" in again.output
    status = db(started, "status")
    assert status.exit_code == 3 and ": stopped (port" in status.output
    # Back to running, so that the module's cluster is as the fixture made it.
    restart = db(started, "start")
    assert restart.exit_code == 0 and "Started PostgreSQL" in restart.output


def test_status_of_a_cluster_never_created(tmp_path: Path) -> None:
    status = db(_app(tmp_path, free_port()), "status")
    assert status.exit_code == 3 and ": not created (port" in status.output


@pytest.fixture
def made(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A var dir that looks like an initialised cluster, as seen by root."""
    (tmp_path / "pgdata").mkdir()
    (tmp_path / "pgdata" / "PG_VERSION").write_text("15\n")
    monkeypatch.setattr(pgcluster.os, "geteuid", lambda: 0)
    return tmp_path


def test_every_command_says_when_the_server_user_is_missing(
        made: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pgcluster, "SERVER_USER", "socialmap-no-such-user")
    app = _app(made, free_port())
    for command in ("start", "stop", "status"):
        result = db(app, command)
        assert result.exit_code == 1, (command, result.output)
        assert "Cannot run PostgreSQL as the 'socialmap-no-such-user' system user: there is no " \
               "such user" in result.output, command
        assert "SOCIALMAP_DATABASE_URL" in result.output
        assert "Traceback" not in result.output


def test_a_missing_runuser_is_named(made: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pgcluster.shutil, "which", lambda _name: None)
    with pytest.raises(ClusterError, match="runuser program .* is not installed"):
        Cluster(root=made).running()


def test_runuser_refusing_to_switch_is_not_taken_for_a_stopped_server(
        made: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[list[str]] = []

    def refuse(argv: list[str], **_kw: object) -> subprocess.CompletedProcess[str]:
        calls.append(argv)
        # What runuser prints in a container without the right to change groups.
        return subprocess.CompletedProcess(argv, 1, "", "runuser: cannot set groups: "
                                                        "Operation not permitted\n")

    monkeypatch.setattr(pgcluster.subprocess, "run", refuse)
    monkeypatch.setattr(pgcluster.shutil, "which", lambda name: f"/usr/sbin/{name}")
    stop = db(_app(made, free_port()), "stop")
    assert stop.exit_code == 1 and "PostgreSQL was not running" not in stop.output
    assert "Cannot run PostgreSQL as the 'postgres' system user: runuser: cannot set groups" \
        in stop.output
    assert calls and calls[0][:4] == ["runuser", "-u", "postgres", "--"]


def test_an_ordinary_user_runs_the_server_commands_directly(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pgcluster.os, "geteuid", lambda: 1000)
    monkeypatch.setattr(pgcluster, "SERVER_USER", "socialmap-no-such-user")
    assert pgcluster._as_server_user(["pg_ctl", "status"]) == ["pg_ctl", "status"]
