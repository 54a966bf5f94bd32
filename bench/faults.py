"""Restart PostgreSQL under load: the app answers 503 (with a clear body and Retry-After) while
the database is away, never 500, recovers by itself, and no worker gets stuck; writes cut off
by the restart are complete or absent.

    .venv/bin/python -m bench.faults [--source socialmap] [--after 15] [--down 5]

Runs on a throwaway cluster (a copy of --source from the project's cluster, made with
socialmap.backup), so the shared cluster is never restarted. Figures go to docs/BENCHMARKS.md.
"""
from __future__ import annotations

import argparse
import json
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from socialmap.pgcluster import Cluster

from .report import write_section
from .tools import get, gunicorn, load_average, pct, throwaway_copy

BATCH_ROWS = 5  # services per write batch, plus their organization, in one transaction
JSON_PREFIXES = ("/api/",)


@dataclass
class Sample:
    start: float
    end: float
    path: str
    client: int
    status: int  # 0: no HTTP answer (connection refused, reset or timed out)
    clear: bool = True  # for a 503: Retry-After and a body that says the database is away


@dataclass
class Batch:
    key: str
    outcome: str  # committed, aborted (failed before COMMIT), unknown (failed during COMMIT)


@dataclass
class FaultReport:
    """Everything a drill saw; `problems` lists what breaks the promises."""

    paths: list[str]
    samples: list[Sample]
    down_at: float
    up_at: float
    restart_seconds: float
    batches: list[Batch]
    batch_rows: dict[str, tuple[int, int, int]]  # key -> (organizations, services, changes)
    worker_timeouts: int
    extra_workers: int
    tracebacks: list[str] = field(default_factory=list)
    client_progress_after: dict[int, int] = field(default_factory=dict)

    def count(self, status: int) -> int:
        return sum(1 for s in self.samples if s.status == status)

    @property
    def statuses(self) -> Counter[int]:
        return Counter(s.status for s in self.samples)

    @property
    def unclear_503(self) -> int:
        return sum(1 for s in self.samples if s.status == 503 and not s.clear)

    @property
    def recovered_at(self) -> float:
        """End of the last failed answer; every answer after it was a success."""
        failed = [s.end for s in self.samples if s.status != 200]
        return max(failed, default=self.up_at)

    @property
    def recovery_seconds(self) -> float:
        """From the database accepting connections again to the app answering all requests."""
        return max(0.0, self.recovered_at - self.up_at)

    @property
    def latency_after_ms(self) -> dict[str, float]:
        after = [(s.end - s.start) * 1000 for s in self.samples if s.start > self.recovered_at]
        return {"p50": pct(after, 50), "p99": pct(after, 99), "max": max(after, default=0.0)}

    def causes(self) -> Counter[str]:
        """The logged exceptions behind failed answers, by their last line and where."""
        out: Counter[str] = Counter()
        for tb in self.tracebacks:
            where = " (in the session teardown, socialmap/db.py)" if (
                "do_teardown_appcontext" in tb) else ""
            out[tb.strip().splitlines()[-1][:160] + where] += 1
        return out

    def torn_batches(self) -> list[str]:
        whole = (1, BATCH_ROWS, BATCH_ROWS + 1)
        return [k for k, rows in self.batch_rows.items() if rows not in (whole, (0, 0, 0))]

    def lost_batches(self) -> list[str]:
        return [b.key for b in self.batches
                if b.outcome == "committed" and self.batch_rows[b.key][0] == 0]

    def ghost_batches(self) -> list[str]:
        return [b.key for b in self.batches
                if b.outcome == "aborted" and self.batch_rows[b.key][0] != 0]

    @property
    def problems(self) -> list[str]:
        out = []
        if self.count(500):
            out.append(f"{self.count(500)} answers were 500")
        other = {s: n for s, n in self.statuses.items() if s not in (200, 503)}
        if other:
            out.append(f"unexpected statuses: {other}")
        if self.unclear_503:
            out.append(f"{self.unclear_503} 503 answers lacked Retry-After or a clear body")
        if not self.count(503):
            out.append("no 503 seen: the restart did not reach the app")
        if self.worker_timeouts or self.extra_workers:
            out.append(f"workers stuck: {self.worker_timeouts} timeouts, "
                       f"{self.extra_workers} workers replaced")
        stalled = [c for c, n in self.client_progress_after.items() if n == 0]
        if stalled:
            out.append(f"clients without a success after recovery: {stalled}")
        for name, keys in (("torn", self.torn_batches()), ("lost", self.lost_batches()),
                           ("ghost", self.ghost_batches())):
            if keys:
                out.append(f"{len(keys)} {name} write batches: {keys[:3]}")
        return out


def _clear_503(path: str, headers: dict[str, str], body: bytes) -> bool:
    if "retry-after" not in headers:
        return False
    if path.startswith(JSON_PREFIXES):
        try:
            error = json.loads(body)["error"]
        except (ValueError, KeyError, TypeError):
            return False
        return error.get("code") == "unavailable" and bool(error.get("message"))
    return "niet bereikbaar" in body.decode("utf-8", "replace")


def discover_paths(port: int, url: str) -> list[str]:
    """Read paths the app answers with 200 on this database (routes still landing are left out)."""
    engine = create_engine(url, poolclass=NullPool)
    with engine.connect() as conn:
        kern = conn.execute(text("SELECT code FROM kern ORDER BY inhabitants DESC, code "
                                 "LIMIT 1")).scalar()
        service = conn.execute(text("SELECT id FROM service ORDER BY id LIMIT 1")).scalar()
    engine.dispose()
    candidates = ["/api/v1/taxonomy"]
    if kern:
        candidates += [f"/api/v1/search?kern={kern}", f"/api/v1/kernen/{kern}", f"/kern/{kern}",
                       f"/?near={kern}"]
    if service:
        candidates += [f"/api/v1/initiatives/{service}", f"/initiatief/{service}"]
    return [p for p in candidates if get(port, p)[0] == 200]


def _client(port: int, paths: list[str], client: int, stop: threading.Event,
            out: list[Sample], t0: float) -> None:
    i = client
    while not stop.is_set():
        path = paths[i % len(paths)]
        i += 1
        start = time.monotonic() - t0
        try:
            status, headers, body = get(port, path, timeout=15)
        except OSError:
            out.append(Sample(start, time.monotonic() - t0, path, client, 0))
            time.sleep(0.05)
            continue
        clear = status != 503 or _clear_503(path, headers, body)
        out.append(Sample(start, time.monotonic() - t0, path, client, status, clear))


def _writer(url: str, run: str, stop: threading.Event, out: list[Batch]) -> None:
    """Multi-row writes, one transaction each, slowed so that the restart cuts some."""
    engine = create_engine(url, poolclass=NullPool, connect_args={"connect_timeout": 3})
    k = 0
    while not stop.is_set():
        key = f"fault-{run}-{k:05d}"
        k += 1
        stage = "connect"
        try:
            with engine.connect() as conn:
                trans = conn.begin()
                stage = "write"
                org = conn.execute(text("INSERT INTO organization (name) VALUES (:n) "
                                        "RETURNING id"), {"n": key}).scalar_one()
                for i in range(BATCH_ROWS):
                    conn.execute(text("INSERT INTO service (organization_id, name, kind) "
                                      "VALUES (:o, :n, 'overig')"), {"o": org, "n": f"{key}-{i}"})
                    conn.execute(text("SELECT pg_sleep(0.01)"))
                stage = "commit"
                trans.commit()
            out.append(Batch(key, "committed"))
        except Exception:  # noqa: BLE001 - every failure is an outcome to check afterwards
            out.append(Batch(key, "unknown" if stage == "commit" else "aborted"))
            time.sleep(0.1)
    engine.dispose()


def count_batches(url: str, run: str) -> dict[str, tuple[int, int, int]]:
    """Per batch: its organizations, services and change-log rows now in the database."""
    engine = create_engine(url, poolclass=NullPool)
    with engine.connect() as conn:
        rows = conn.execute(text("""
            SELECT substring(name from '^fault-[^-]+-[0-9]+') AS key,
                   count(*) FILTER (WHERE kind = 'o'), count(*) FILTER (WHERE kind = 's'),
                   count(*) FILTER (WHERE kind = 'c')
              FROM (SELECT name, 'o' AS kind FROM organization WHERE name LIKE :p
                    UNION ALL SELECT name, 's' FROM service WHERE name LIKE :p
                    UNION ALL SELECT coalesce(new_value->>'name', ''), 'c' FROM change
                     WHERE entity_type IN ('organization', 'service')
                       AND new_value->>'name' LIKE :p AND action = 'create') t
             GROUP BY 1"""), {"p": f"fault-{run}-%"}).all()
    engine.dispose()
    return {r[0]: (r[1], r[2], r[3]) for r in rows}


def drill(cluster: Cluster, url: str, *, after: float = 10, down: float = 3,
          restart_after: float = 5, clients: int = 8, workers: int | None = 2,
          threads: int = 4,
          mode: str = "fast", echo: Callable[[str], None] = print) -> FaultReport:
    """Serve `url` with gunicorn and load it; stop the cluster after `restart_after` seconds for
    `down` seconds, keep loading for `after` seconds once it is back, and measure."""
    run = uuid.uuid4().hex[:8]
    samples: list[Sample] = []
    batches: list[Batch] = []
    stop = threading.Event()
    # The answer cache off: every request must reach the database, so that each one shows how
    # the app meets its absence (with the cache on, answers kept in the last minute are still
    # served while the database is away).
    with gunicorn(url, workers=workers, threads=threads, access_log=False,
                  env={"SOCIALMAP_ANSWER_CACHE_SECONDS": "0"}) as server:
        paths = discover_paths(server.port, url)
        if not paths:
            raise RuntimeError("the app answers none of the drill's paths with 200")
        echo(f"drill over {len(paths)} paths: {', '.join(paths)}")
        booted = server.booted_workers()
        t0 = time.monotonic()
        workers_ = [threading.Thread(target=_client, args=(server.port, paths, i, stop, samples,
                                                           t0), daemon=True)
                    for i in range(clients)]
        workers_.append(threading.Thread(target=_writer, args=(url, run, stop, batches),
                                         daemon=True))
        for w in workers_:
            w.start()
        time.sleep(restart_after)
        down_at = time.monotonic() - t0
        echo(f"{down_at:.1f} s: stopping PostgreSQL ({mode})")
        cluster.stop(mode=mode)
        time.sleep(down)
        started = time.monotonic()
        cluster.start()
        up_at = time.monotonic() - t0
        echo(f"{up_at:.1f} s: PostgreSQL accepts connections again "
             f"(start took {up_at - (started - t0):.1f} s)")
        time.sleep(after)
        stop.set()
        for w in workers_:
            w.join(timeout=30)
        report = FaultReport(
            paths=paths, samples=sorted(samples, key=lambda s: s.start), down_at=down_at,
            up_at=up_at, restart_seconds=up_at - down_at, batches=batches,
            batch_rows={}, worker_timeouts=server.worker_timeouts(),
            extra_workers=server.booted_workers() - booted, tracebacks=server.tracebacks())
    counted = count_batches(url, run)
    report.batch_rows = {b.key: counted.get(b.key, (0, 0, 0)) for b in batches}
    after = Counter(s.client for s in report.samples if s.start > report.recovered_at)
    report.client_progress_after = {c: after[c] for c in range(clients)}
    return report


def summary(report: FaultReport) -> list[str]:
    """Markdown lines with the figures."""
    outcomes = Counter(b.outcome for b in report.batches)
    present = sum(1 for rows in report.batch_rows.values() if rows[0])
    first_503 = min((s.start for s in report.samples if s.status == 503), default=None)
    lat = report.latency_after_ms
    return [
        f"- requests: {len(report.samples):,}; statuses: "
        + ", ".join(f"{s or 'no answer'}: {n:,}" for s, n in sorted(report.statuses.items())),
        f"- 503 while the database was away: {report.count(503):,} "
        f"({report.unclear_503} without Retry-After or a clear body); 500: {report.count(500)}",
        f"- database away for {report.restart_seconds:.1f} s (stopped at "
        f"{report.down_at:.1f} s, accepting again at {report.up_at:.1f} s); first 503 at "
        + (f"{first_503:.1f} s" if first_503 is not None else "–")
        + f"; every answer a success again {report.recovery_seconds:.2f} s after the database "
          "was back",
        f"- after recovery: p50 {lat['p50']:.1f} ms, p99 {lat['p99']:.1f} ms, max "
        f"{lat['max']:.1f} ms; worker timeouts {report.worker_timeouts}, workers replaced "
        f"{report.extra_workers}",
        *(f"- logged exception ×{n}: `{cause}`" for cause, n in report.causes().items()),
        f"- write batches (1 organization + {BATCH_ROWS} services in one transaction): "
        f"{outcomes['committed']} committed, {outcomes['aborted']} failed before COMMIT, "
        f"{outcomes['unknown']} failed during COMMIT; present afterwards {present}; torn "
        f"{len(report.torn_batches())}, lost {len(report.lost_batches())}, appeared though "
        f"failed {len(report.ghost_batches())}",
        "- verdict: " + ("; ".join(report.problems) if report.problems else
                         "all promises kept (no 500, clear 503s, recovery by itself, "
                         "no stuck workers, every write whole or absent)"),
    ]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--source", default="socialmap",
                    help="database of the project's cluster to copy into the throwaway cluster")
    ap.add_argument("--after", type=float, default=15,
                    help="seconds of load after the database is back")
    ap.add_argument("--down", type=float, default=5, help="seconds the database stays away")
    ap.add_argument("--restart-after", type=float, default=8)
    ap.add_argument("--clients", type=int, default=16)
    ap.add_argument("--workers", type=int, default=None)
    ap.add_argument("--mode", choices=("fast", "immediate"), default="fast",
                    help="pg_ctl stop mode: fast (a restart) or immediate (a crash)")
    args = ap.parse_args()

    with throwaway_copy(args.source) as (cluster, url):
        load = load_average()
        report = drill(cluster, url, after=args.after, down=args.down,
                       restart_after=args.restart_after, clients=args.clients,
                       workers=args.workers, mode=args.mode)
    lines = summary(report)
    print("\n".join(lines))
    write_section("faults", "PostgreSQL restart under load", "\n".join([
        f"A copy of `{args.source}` on a throwaway cluster, served by gunicorn "
        f"(socialmap/gunicorn_conf.py), {args.clients} client threads reading "
        f"{len(report.paths)} paths ({', '.join(f'`{p}`' for p in report.paths)}) and one "
        f"writer; PostgreSQL stopped ({args.mode}) after {args.restart_after:.0f} s for "
        f"{args.down:.0f} s, then {args.after:.0f} s more once it was back. Machine at the "
        f"start: {load}.",
        "", *lines]))
    raise SystemExit(1 if report.problems else 0)


if __name__ == "__main__":
    main()
