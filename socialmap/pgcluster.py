"""Lifecycle of a project-owned PostgreSQL/PostGIS cluster: install, init, start, stop, status.

The site's cluster lives in var/ and listens on 127.0.0.1:<port>; the test session makes a
throwaway one with a private socket directory and no TCP listener. PostgreSQL refuses to run as
root, so when we are root every server command runs as the `postgres` system user.
"""
from __future__ import annotations

import os
import pwd
import secrets
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

PG_VERSION = "15"
APT_PACKAGE = f"postgresql-{PG_VERSION}-postgis-3"
INSTALL_COMMAND = f"apt-get update && apt-get install -y {APT_PACKAGE}"
DB_NAME = "socialmap"
DB_USER = "socialmap"
# The system user that runs the server when we are root (the Debian package creates it).
SERVER_USER = "postgres"


class ClusterError(RuntimeError):
    """A step of the cluster lifecycle failed; the message says what to do."""


def bindir() -> Path:
    """The PostgreSQL server binaries."""
    return Path(os.environ.get("SOCIALMAP_PG_BINDIR", f"/usr/lib/postgresql/{PG_VERSION}/bin"))


def postgis_installed() -> bool:
    """True when the server and the PostGIS extension files are on this machine."""
    ext = Path(f"/usr/share/postgresql/{PG_VERSION}/extension/postgis.control")
    return (bindir() / "postgres").exists() and ext.exists()


def ensure_installed(echo=print) -> None:
    """Install PostgreSQL with PostGIS from Debian when missing (root only)."""
    if postgis_installed():
        return
    if os.geteuid() != 0:
        raise ClusterError(f"PostGIS is not installed. Run as root: {INSTALL_COMMAND}")
    echo(f"Installing {APT_PACKAGE} (apt-get) ...")
    # Debian would otherwise create and start a 'main' cluster on port 5432 that we never use.
    conf = Path("/etc/postgresql-common/createcluster.conf")
    if not conf.exists():
        conf.parent.mkdir(parents=True, exist_ok=True)
        conf.write_text("create_main_cluster = false\n")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for cmd in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", APT_PACKAGE]):
        subprocess.run(cmd, check=True, env=env)
    if not postgis_installed():
        raise ClusterError(f"{APT_PACKAGE} installed but PostGIS still not found in {bindir()}")


def _cannot_run_as_server_user(reason: str) -> ClusterError:
    return ClusterError(
        f"Cannot run PostgreSQL as the '{SERVER_USER}' system user: {reason}. PostgreSQL refuses "
        f"to run as root, so as root every server command goes through 'runuser -u {SERVER_USER}'. "
        f"Install {APT_PACKAGE} (it creates that user), run as an ordinary user instead of root, "
        "or set SOCIALMAP_DATABASE_URL to use another PostgreSQL."
    )


def _as_server_user(cmd: list[str]) -> list[str]:
    """`cmd` as the server user when we are root; fails early and plainly when that cannot work."""
    if os.geteuid() != 0:
        return cmd
    try:
        pwd.getpwnam(SERVER_USER)
    except KeyError:
        raise _cannot_run_as_server_user("there is no such user on this machine") from None
    if shutil.which("runuser") is None:
        raise _cannot_run_as_server_user("the runuser program (util-linux) is not installed")
    return ["runuser", "-u", SERVER_USER, "--", *cmd]


def _chown_to_server_user(path: Path) -> None:
    if os.geteuid() == 0:
        shutil.chown(path, SERVER_USER, SERVER_USER)


@dataclass
class Cluster:
    """One PostgreSQL cluster in a directory we own."""

    root: Path
    port: int = 55432
    listen: str = "127.0.0.1"

    @property
    def datadir(self) -> Path:
        return self.root / "pgdata"

    @property
    def socket_dir(self) -> Path:
        return self.root / "run"

    @property
    def logfile(self) -> Path:
        return self.root / "log" / "postgresql.log"

    @property
    def password_file(self) -> Path:
        return self.root / "db-password"

    def _run(self, cmd: list[str], check: bool = True) -> subprocess.CompletedProcess[str]:
        argv = _as_server_user(cmd)
        result = subprocess.run(argv, check=False, capture_output=True, text=True, cwd="/")
        # runuser's own failure (e.g. no right to switch user in a container) would otherwise
        # read as the command's answer: 'pg_ctl status' failing means "not running".
        if argv[0] == "runuser" and result.returncode != 0 \
                and result.stderr.lstrip().startswith("runuser:"):
            raise _cannot_run_as_server_user(result.stderr.strip())
        if check:
            result.check_returncode()
        return result

    def _bin(self, name: str) -> str:
        return str(bindir() / name)

    def initialized(self) -> bool:
        return (self.datadir / "PG_VERSION").exists()

    def init(self) -> bool:
        """Create the cluster when it does not exist; returns True when it made one."""
        if self.initialized():
            return False
        for d in (self.root, self.datadir, self.socket_dir, self.logfile.parent):
            d.mkdir(parents=True, exist_ok=True)
        for d in (self.datadir, self.socket_dir, self.logfile.parent):
            _chown_to_server_user(d)
        os.chmod(self.datadir, 0o700)
        probe = self._run(["test", "-w", str(self.datadir)], check=False)
        if probe.returncode != 0:
            raise ClusterError(
                f"The postgres user cannot reach {self.datadir}; move the project to a directory "
                "every user can traverse, or set SOCIALMAP_DATABASE_URL."
            )
        result = self._run(
            [self._bin("initdb"), "-D", str(self.datadir), "-U", "postgres", "-E", "UTF8",
             "--locale=C.UTF-8", "--auth-local=trust", "--auth-host=scram-sha-256"],
            check=False,
        )
        if result.returncode != 0:
            raise ClusterError(f"initdb failed:\n{result.stderr}")
        with open(self.datadir / "postgresql.conf", "a") as conf:
            conf.write(
                "\n# socialmap\n"
                f"listen_addresses = '{self.listen}'\nport = {self.port}\n"
                f"unix_socket_directories = '{self.socket_dir}'\n"
                "max_connections = 100\nshared_buffers = 512MB\nwork_mem = 16MB\n"
                "maintenance_work_mem = 256MB\neffective_cache_size = 4GB\n"
                "random_page_cost = 1.1\njit = off\nfsync = on\n"
                "max_parallel_workers_per_gather = 0\n"
                "timezone = 'Europe/Amsterdam'\nlog_timezone = 'UTC'\n"
            )
        return True

    def running(self) -> bool:
        if not self.initialized():
            return False
        result = self._run([self._bin("pg_ctl"), "status", "-D", str(self.datadir)], check=False)
        return result.returncode == 0

    def start(self, timeout: float = 60) -> bool:
        """Start the server when it is not running; returns True when it started it."""
        if self.running():
            return False
        (self.datadir / "postmaster.pid").unlink(missing_ok=True)  # stale after a crash
        result = self._run(
            [self._bin("pg_ctl"), "start", "-D", str(self.datadir), "-l", str(self.logfile),
             "-w", "-t", str(int(timeout))],
            check=False,
        )
        if result.returncode != 0:
            tail = self.logfile.read_text()[-2000:] if self.logfile.exists() else ""
            raise ClusterError(f"PostgreSQL did not start:\n{result.stderr}\n{tail}")
        return True

    def stop(self, mode: str = "fast") -> bool:
        """Stop the server; returns True when it was running."""
        if not self.running():
            return False
        self._run([self._bin("pg_ctl"), "stop", "-D", str(self.datadir), "-m", mode, "-w"])
        return True

    def psql(self, sql: str, db: str = "postgres") -> str:
        """Run SQL as the superuser over the private socket; returns stdout."""
        result = self._run(
            [self._bin("psql"), "-h", str(self.socket_dir), "-p", str(self.port), "-U",
             "postgres", "-d", db, "-v", "ON_ERROR_STOP=1", "-qAtc", sql],
            check=False,
        )
        if result.returncode != 0:
            raise ClusterError(f"psql failed: {result.stderr.strip()}")
        return result.stdout.strip()

    def password(self) -> str:
        if not self.password_file.exists():
            self.password_file.write_text(secrets.token_urlsafe(24))
            os.chmod(self.password_file, 0o600)
        return self.password_file.read_text().strip()

    def ensure_database(self, name: str = DB_NAME, owner: str = DB_USER) -> bool:
        """Create the role, database and extensions when missing; returns True when created."""
        pw = self.password().replace("'", "''")
        role_exists = self.psql(f"SELECT 1 FROM pg_roles WHERE rolname = '{owner}'")
        if not role_exists:
            self.psql(f"CREATE ROLE {owner} LOGIN PASSWORD '{pw}'")
        created = False
        if not self.psql(f"SELECT 1 FROM pg_database WHERE datname = '{name}'"):
            self.psql(f"CREATE DATABASE {name} OWNER {owner}")
            created = True
        # Extensions need a superuser; the migrations only check that they are there.
        self.psql(
            "CREATE EXTENSION IF NOT EXISTS postgis; CREATE EXTENSION IF NOT EXISTS unaccent; "
            "CREATE EXTENSION IF NOT EXISTS pg_trgm;",
            db=name,
        )
        return created

    def url(self, name: str = DB_NAME, user: str = DB_USER) -> str:
        """SQLAlchemy URL for a database in this cluster, over TCP with the stored password."""
        return f"postgresql+psycopg://{user}:{self.password()}@{self.listen}:{self.port}/{name}"

    def socket_url(self, name: str, user: str = "postgres") -> str:
        """SQLAlchemy URL over the private socket directory (trusted, no TCP)."""
        return f"postgresql+psycopg://{user}@/{name}?host={self.socket_dir}&port={self.port}"

    def wait_ready(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            result = self._run(
                [self._bin("pg_isready"), "-h", str(self.socket_dir), "-p", str(self.port)],
                check=False,
            )
            if result.returncode == 0:
                return
            time.sleep(0.2)
        raise ClusterError("PostgreSQL did not become ready in time")

    def destroy(self) -> None:
        """Stop the server and remove the whole directory (throwaway clusters only)."""
        self.stop(mode="immediate")
        shutil.rmtree(self.root, ignore_errors=True)
