"""Shared benchmark helpers: wrk (installed when missing), gunicorn with the production config,
percentiles, and the machine's load while measuring."""
from __future__ import annotations

import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine
from sqlalchemy.pool import NullPool

from socialmap import backup, migrate
from socialmap.config import Settings
from socialmap.db import local_cluster
from socialmap.pgcluster import Cluster, ensure_installed

from .report import ROOT


def ensure_wrk() -> str:
    """The wrk binary; installed with apt-get when missing and we are root."""
    found = shutil.which("wrk")
    if found:
        return found
    if os.geteuid() == 0:
        subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=True)
        return "wrk"
    sys.exit("wrk is missing: apt-get install -y wrk")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pct(values: Sequence[float], p: float) -> float:
    """The p-th percentile, interpolated; 0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    k = (len(ordered) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def load_average() -> str:
    """The 1/5/15-minute load averages and the core count, to judge how quiet the machine was."""
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} / {five:.2f} / {fifteen:.2f} on {os.cpu_count()} cores"


@dataclass
class Server:
    """A gunicorn started with socialmap.gunicorn_conf; logs go to files in `log_dir`."""

    process: subprocess.Popen[bytes]
    port: int
    log_dir: Path

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def error_log(self) -> str:
        path = self.log_dir / "error.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def worker_timeouts(self) -> int:
        """How many workers gunicorn killed as stuck (over its timeout)."""
        return self.error_log().count("WORKER TIMEOUT")

    def booted_workers(self) -> int:
        return self.error_log().count("Booting worker")

    def access_mark(self) -> int:
        """Where the access log ends now: count_cache(mark) reads the lines after it."""
        path = self.log_dir / "access.log"
        return path.stat().st_size if path.exists() else 0

    def count_cache(self, mark: int = 0) -> dict[str, int]:
        """Answers after `mark` by the answer cache's state: 'hit', 'stale' (served while it is
        made again), 'miss', and 'not kept' (answers the cache does not keep: other endpoints,
        cookies, errors, demand counted)."""
        counts = {"hit": 0, "stale": 0, "miss": 0, "not kept": 0}
        path = self.log_dir / "access.log"
        if not path.exists():
            return counts
        with open(path, "rb") as f:
            f.seek(mark)
            for line in f:
                try:
                    record = json.loads(line)
                except ValueError:
                    continue
                if isinstance(record, dict) and record.get("event") == "request":
                    state = record.get("cache")
                    counts[state if state in ("hit", "stale", "miss") else "not kept"] += 1
        return counts

    def warnings(self) -> list[str]:
        """First lines of the app's warnings and errors (e.g. "database unavailable: ...")."""
        out = []
        for line in self.error_log().splitlines():
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if isinstance(record, dict) and record.get("level") in ("warning", "error"):
                out.append(str(record.get("message", "")).splitlines()[0][:200])
        return out

    def tracebacks(self) -> list[str]:
        """Exceptions logged by gunicorn or the app (JSON lines with an `exception` field)."""
        out = []
        for line in self.error_log().splitlines():
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if isinstance(record, dict) and record.get("exception"):
                out.append(f"{record.get('message', '')}\n{record['exception']}")
        return out


def get(port: int, path: str, timeout: float = 10) -> tuple[int, dict[str, str], bytes]:
    """One GET on loopback: status, headers, body."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


def drain(port: int, path: str = "/healthz", fast_ms: float = 100, timeout: float = 60) -> None:
    """Wait until the server answers `path` quickly again: requests queued by an earlier run
    (wrk stops waiting, the workers do not) must not be billed to the next run."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        t0 = time.perf_counter()
        with suppress(OSError):
            get(port, path, timeout=timeout)
        if (time.perf_counter() - t0) * 1000 < fast_ms:
            return
        time.sleep(0.5)


@contextmanager
def gunicorn(url: str, *, workers: int | None = None, threads: int | None = None,
             access_log: bool = True, env: dict[str, str] | None = None,
             ready_path: str = "/healthz", timeout: float = 60) -> Iterator[Server]:
    """Serve the app on a free loopback port until the block ends (SIGTERM: graceful stop)."""
    port = free_port()
    log_dir = Path(tempfile.mkdtemp(prefix="socialmap-gunicorn-"))
    environ = {**os.environ, "SOCIALMAP_DATABASE_URL": url,
               "SOCIALMAP_BIND": f"127.0.0.1:{port}",
               "SOCIALMAP_ACCESS_LOG": str(log_dir / "access.log") if access_log else "off",
               **(env or {})}
    if workers:
        environ["SOCIALMAP_WORKERS"] = str(workers)
    if threads:
        environ["SOCIALMAP_THREADS"] = str(threads)
    with open(log_dir / "error.log", "wb") as errors:
        proc = subprocess.Popen(
            [str(ROOT / ".venv" / "bin" / "gunicorn"), "-c", "python:socialmap.gunicorn_conf",
             "app:app"], cwd=ROOT, env=environ, stdout=errors, stderr=subprocess.STDOUT)
    server = Server(proc, port, log_dir)
    try:
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited:\n{server.error_log()[-3000:]}")
            try:
                if get(port, ready_path, timeout=5)[0] == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"gunicorn did not come up:\n{server.error_log()[-3000:]}")
            time.sleep(0.2)
        yield server
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


# Each wrk thread walks the list from its own offset; statuses are counted per thread and
# summed in done(), which prints one JSON line.
WRK_LUA = """
local paths = {}
for line in io.lines("%(paths)s") do paths[#paths + 1] = line end
local threads = {}
local counter = 0
function setup(thread)
  counter = counter + 1
  thread:set("id", counter)
  table.insert(threads, thread)
end
function init(args)
  statuses = {}
  i = ((id or 1) * 7919) %% #paths
end
function request()
  i = i %% #paths + 1
  return wrk.format("GET", paths[i])
end
function response(status, headers, body)
  local k = tostring(status)
  statuses[k] = (statuses[k] or 0) + 1
end
function done(summary, latency, requests)
  local counts = {}
  for _, t in ipairs(threads) do
    for k, v in pairs(t:get("statuses")) do counts[k] = (counts[k] or 0) + v end
  end
  local parts = {}
  for k, v in pairs(counts) do parts[#parts + 1] = string.format('"%%s": %%d', k, v) end
  local e = summary.errors
  io.write(string.format('WRK_JSON {"requests": %%d, "duration_us": %%d, "bytes": %%d, ' ..
    '"errors": {"connect": %%d, "read": %%d, "write": %%d, "status": %%d, "timeout": %%d}, ' ..
    '"latency_us": {"p50": %%d, "p90": %%d, "p95": %%d, "p99": %%d, "max": %%d}, ' ..
    '"statuses": {%%s}}\\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status,
    e.timeout, latency:percentile(50), latency:percentile(90), latency:percentile(95),
    latency:percentile(99), latency.max, table.concat(parts, ", ")))
end
"""


def cache_summary(counts: dict[str, int]) -> str:
    """'62% answered from the cache (5,010 hits, 200 stale, 3,190 misses, 1,010 not kept)'
    from Server.count_cache; a stale answer came from the cache too (and was made again)."""
    total = sum(counts.values())
    share = (counts["hit"] + counts.get("stale", 0)) / total if total else 0.0
    return (f"{share:.0%} answered from the cache ({counts['hit']:,} hits, "
            f"{counts.get('stale', 0):,} stale, {counts['miss']:,} misses, "
            f"{counts['not kept']:,} not kept)")


@dataclass
class WrkResult:
    """One wrk run: throughput, latency percentiles (ms), statuses and errors."""

    requests: int
    seconds: float
    latency_ms: dict[str, float]
    statuses: dict[int, int]
    socket_errors: dict[str, int] = field(default_factory=dict)
    # A run held at a rate (run_paced): that rate, and how many requests its schedule held.
    offered_rps: float = 0.0
    scheduled: int = 0

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def server_errors(self) -> int:
        return sum(n for status, n in self.statuses.items() if status >= 500)

    @property
    def errors(self) -> int:
        """Responses other than 2xx/3xx/404, plus socket errors and timeouts."""
        bad = sum(n for status, n in self.statuses.items() if status >= 400 and status != 404)
        return bad + sum(self.socket_errors.values())


def run_wrk(port: int, paths: Sequence[str], duration: int, connections: int,
            threads: int = 2, timeout_s: int = 5) -> WrkResult:
    """Drive GETs over `paths` (round robin) with wrk for `duration` seconds."""
    wrk = ensure_wrk()
    with tempfile.TemporaryDirectory() as tmp:
        plist = Path(tmp) / "paths.txt"
        plist.write_text("\n".join(paths) + "\n")
        script = Path(tmp) / "paths.lua"
        script.write_text(WRK_LUA % {"paths": plist})
        out = subprocess.run(
            [wrk, f"-t{threads}", f"-c{connections}", f"-d{duration}s", f"--timeout={timeout_s}s",
             "-s", str(script), f"http://127.0.0.1:{port}"],
            capture_output=True, text=True, check=True, timeout=duration + 60).stdout
    m = re.search(r"^WRK_JSON (.*)$", out, re.M)
    if not m:
        raise RuntimeError(f"wrk gave no summary:\n{out}")
    data: dict[str, Any] = json.loads(m.group(1))
    errors = {k: v for k, v in data["errors"].items() if k != "status" and v}
    return WrkResult(
        requests=data["requests"], seconds=data["duration_us"] / 1e6,
        latency_ms={k: v / 1000 for k, v in data["latency_us"].items()},
        statuses={int(k): v for k, v in data["statuses"].items()}, socket_errors=errors)


def ask_each(port: int, paths: Sequence[str], clients: int = 8) -> None:
    """Ask every distinct path once (a warm cache, as a site has after its first minute)."""
    todo = iter(dict.fromkeys(paths))
    lock = threading.Lock()

    def client() -> None:
        while True:
            with lock:
                path = next(todo, None)
            if path is None:
                return
            with suppress(OSError, http.client.HTTPException):
                get(port, path, timeout=30)

    workers = [threading.Thread(target=client, daemon=True) for _ in range(clients)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()


def run_paced(port: int, paths: Sequence[str], rate: float, duration: int,
              clients: int = 48, timeout_s: float = 5.0) -> WrkResult:
    """GETs over `paths` at a fixed `rate` per second for `duration` seconds (open loop): each
    request has its moment, and its latency counts from that moment, so a server that falls
    behind shows it (wrk, closed loop, would send less and measure only the answers it got).
    `clients` threads with keep-alive connections share the schedule."""
    total = int(rate * duration)
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    failures: dict[str, int] = {}
    lock = threading.Lock()
    counter = iter(range(total))
    start = time.perf_counter() + 0.5

    def client() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout_s)
        while True:
            with lock:
                i = next(counter, None)
            if i is None:
                break
            at = start + i / rate
            wait = at - time.perf_counter()
            if wait > 0:
                time.sleep(wait)
            status = 0
            try:
                conn.request("GET", paths[i % len(paths)])
                resp = conn.getresponse()
                resp.read()
                status = resp.status
            except (OSError, http.client.HTTPException) as exc:
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout_s)
                with lock:
                    failures[type(exc).__name__] = failures.get(type(exc).__name__, 0) + 1
            elapsed = (time.perf_counter() - at) * 1000
            with lock:
                latencies.append(elapsed)
                if status:
                    statuses[status] = statuses.get(status, 0) + 1
        conn.close()

    workers = [threading.Thread(target=client, daemon=True) for _ in range(clients)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    seconds = time.perf_counter() - start
    latencies.sort()

    def pct(q: float) -> float:
        return latencies[min(len(latencies) - 1, int(q / 100 * len(latencies)))]

    # `seconds` runs to the last answer, so rps is a little under the rate held even when every
    # request was answered at its moment: the verdict on the rate reads offered_rps/scheduled.
    return WrkResult(requests=len(latencies), seconds=seconds,
                     latency_ms={"p50": pct(50), "p90": pct(90), "p95": pct(95),
                                 "p99": pct(99), "max": latencies[-1]},
                     statuses=statuses, socket_errors=failures, offered_rps=rate,
                     scheduled=total)


@contextmanager
def throwaway_copy(source: str, name: str = "copy") -> Iterator[tuple[Cluster, str]]:
    """A copy of database `source` of the project's cluster, migrated to head, on a throwaway
    cluster (private socket, no TCP) that a benchmark may restart or break; removed after."""
    ensure_installed()
    root = Path(tempfile.mkdtemp(prefix="socialmap-bench-"))
    os.chmod(root, 0o755)
    cluster = Cluster(root=root, port=free_port(), listen="")
    try:
        cluster.init()
        cluster.start()
        archive = root / "source.dump"
        backup.dump(local_cluster(Settings.from_env()).url(source), archive)
        cluster.psql(f"CREATE DATABASE {name}")
        url = cluster.socket_url(name)
        restored = backup.restore(archive, url)
        backup.rebuild_deferred(url, restored)
        archive.unlink()
        engine = create_engine(url, poolclass=NullPool)
        with engine.connect() as conn:  # the copy may be behind this code's schema
            migrate.upgrade(conn)
            conn.commit()
        engine.dispose()
        print(f"copied {source} to a throwaway cluster in {restored.restore_seconds:.1f} s")
        yield cluster, url
    finally:
        cluster.destroy()
