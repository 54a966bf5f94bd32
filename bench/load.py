"""Sustained load on the production server with the 1M registry: a mix of searches, detail pages,
kern pages and map data (wrk on loopback), then each kind of request alone.

    .venv/bin/python -m bench.load [--database socialmap_bench] [--duration 60] [--connections 16]

Needs the registry of `bench/generate.py --size 1M` in the given database of the local cluster.
Targets on the 2-core machine: the mix, HTML pages included, at least 400 requests/s with p99
under 100 ms and no errors in 60 s at 16 connections. The search API alone is measured by
bench/search.py (its own section); this script shares its search cases and origins.
"""
from __future__ import annotations

import argparse
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from pyproj import Transformer
from sqlalchemy import Connection, create_engine, text
from sqlalchemy.pool import NullPool

from socialmap import migrate
from socialmap.config import Settings
from socialmap.db import local_cluster

from .report import write_section
from .search import RNG_SEED, cases, sample_origins, search_paths
from .tools import (
    WrkResult,
    ask_each,
    cache_summary,
    drain,
    get,
    gunicorn,
    load_average,
    run_paced,
    run_wrk,
)

TO_WGS84 = Transformer.from_crs(28992, 4326, always_xy=True)
MIX_SIZE = 4000  # paths in the round-robin list
TARGET_RPS, TARGET_P99_MS = 400, 100
Origin = tuple[str, float, float]


@dataclass(frozen=True)
class Kind:
    """One kind of request in the mix: its share and how to make its paths."""

    name: str
    share: float
    paths: Callable[[Connection, list[Origin], int], list[str]]


def _search_api(_conn: Connection, origins: list[Origin], n: int) -> list[str]:
    # Every search case of bench/search.py (radius, nearest, kern; text, category, audience,
    # kind and opening-time filters), in equal parts.
    out: list[str] = []
    all_cases = cases()
    for case in all_cases:
        out += search_paths(case, origins, n // len(all_cases) + 1)
    return out[:n]


def _search_page(_conn: Connection, origins: list[Origin], n: int) -> list[str]:
    radii = ("", "3000", "10000")
    return [f"/?{urlencode({'kern': code, **({'radius': r} if r else {})})}"
            for (code, _x, _y), r in zip(origins[:n], radii * n, strict=False)]


def _service_ids(conn: Connection, n: int) -> list[str]:
    return [str(i) for i in conn.execute(text(
        "SELECT id FROM service WHERE status = 'active' ORDER BY md5(id::text) LIMIT :n"),
        {"n": n}).scalars()]


def _detail_api(conn: Connection, _origins: list[Origin], n: int) -> list[str]:
    return [f"/api/v1/initiatives/{i}" for i in _service_ids(conn, n)]


def _detail_page(conn: Connection, _origins: list[Origin], n: int) -> list[str]:
    return [f"/initiatief/{i}" for i in _service_ids(conn, n)]


def _kern_page(_conn: Connection, origins: list[Origin], n: int) -> list[str]:
    return [f"/kern/{code}" for code, _x, _y in origins[:n]]


def _map(_conn: Connection, origins: list[Origin], n: int) -> list[str]:
    # A map view around the place searched, at the zooms a phone shows (town to region).
    out = []
    rng = random.Random(RNG_SEED)
    for _code, x, y in origins[:n]:
        zoom = rng.choice((9, 11, 12, 13, 14))
        half = 0.07 * 2 ** (12 - zoom)  # degrees of longitude: half a phone screen
        lon, lat = TO_WGS84.transform(x, y)
        bbox = f"{lon - half:.4f},{lat - half / 1.6:.4f},{lon + half:.4f},{lat + half / 1.6:.4f}"
        out.append(f"/api/v1/map?{urlencode({'bbox': bbox, 'zoom': zoom})}")
    return out


def _stable(_conn: Connection, _origins: list[Origin], n: int) -> list[str]:
    # What a browser fetches besides the pages; cacheable, so most would never reach us.
    return ["/api/v1/taxonomy", "/static/site.css", "/api/v1/openapi.json"] * (n // 3 + 1)


KINDS = [
    Kind("search API (radius, nearest, kern; with filters)", 0.35, _search_api),
    Kind("search page, HTML (kern or radius, with map)", 0.05, _search_page),
    Kind("initiative detail, API", 0.15, _detail_api),
    Kind("initiative detail page, HTML", 0.15, _detail_page),
    Kind("kern page, HTML", 0.10, _kern_page),
    Kind("map data (/api/v1/map)", 0.15, _map),
    Kind("taxonomy, openapi.json, static", 0.05, _stable),
]


def available(port: int, kinds: list[tuple[Kind, list[str]]]
              ) -> tuple[list[tuple[Kind, list[str]]], list[str]]:
    """The kinds the app serves; the others (no paths, or 404/405: their route has not landed
    yet) are named. A kind that fails otherwise stays in: its failures are errors to count."""
    keep, skipped = [], []
    for kind, paths in kinds:
        statuses = [get(port, p, timeout=60)[0] for p in paths[:3]] if paths else []
        if statuses and not any(s in (404, 405) for s in statuses):
            keep.append((kind, paths))
        else:
            skipped.append(f"{kind.name} (answered {statuses or 'nothing'}: not served yet)")
    return keep, skipped


def build_mix(kinds: list[tuple[Kind, list[str]]], size: int) -> list[str]:
    """`size` paths, each kind by its share (renormalized over the kinds present), shuffled."""
    total = sum(kind.share for kind, _ in kinds)
    mix: list[str] = []
    for kind, paths in kinds:
        n = round(size * kind.share / total)
        mix += [paths[i % len(paths)] for i in range(n)]
    random.Random(RNG_SEED).shuffle(mix)
    return mix


def row(name: str, r: WrkResult) -> str:
    other = {s: n for s, n in sorted(r.statuses.items()) if s != 200}
    errors = (f"{r.errors}" + (f" ({other})" if other else "")
              + (f", socket {r.socket_errors}" if r.socket_errors else ""))
    lat = r.latency_ms
    return (f"| {name} | {r.rps:,.0f} | {lat['p50']:.1f} | {lat['p95']:.1f} | {lat['p99']:.1f} "
            f"| {lat['max']:.0f} | {r.requests:,} | {errors} |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--database", default="socialmap_bench")
    ap.add_argument("--duration", type=int, default=60)
    ap.add_argument("--connections", type=int, default=16)
    ap.add_argument("--workers", type=int, default=None,
                    help="gunicorn workers (default: socialmap/gunicorn_conf.py's)")
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--paced-duration", type=int, default=60,
                    help="seconds of the mix at the target rate, open loop (0: skip)")
    ap.add_argument("--kind-duration", type=int, default=10,
                    help="seconds for each kind alone after the mix (0: skip)")
    args = ap.parse_args()

    url = local_cluster(Settings.from_env()).url(args.database)
    engine = create_engine(url, poolclass=NullPool)
    with engine.connect() as conn:
        migrate.upgrade(conn)
        conn.commit()
        services = conn.execute(text("SELECT count(*) FROM service")).scalar_one()
        origins = sample_origins(conn, 400)
        kinds = [(kind, kind.paths(conn, origins, 400)) for kind in KINDS]
    engine.dispose()
    print(f"{args.database}: {services:,} initiatives")

    mixes: list[tuple[str, WrkResult, str, str, str]] = []
    alone: list[str] = []
    skipped: list[str] = []
    present: list[Any] = []
    workers = 0
    # The search's own cost with the answer cache off; then as served by default, where a page
    # or search asked again within the minute comes from the worker's memory.
    for label, seconds in (("answer cache off", "0"), ("answer cache on (default, 60 s)", "60")):
        with gunicorn(url, workers=args.workers, threads=args.threads,
                      env={"SOCIALMAP_ANSWER_CACHE_SECONDS": seconds}) as server:
            present, skipped = available(server.port, kinds)
            for line in skipped:
                print(f"skipped: {line}")
            mix = build_mix(present, MIX_SIZE)
            run_wrk(server.port, mix, 5, args.connections)  # warm caches and pools
            drain(server.port)
            if seconds != "0":
                # A site past its first minute: every path asked once, so that the run meets
                # kept answers that go stale and are made again, not the first-minute misses.
                ask_each(server.port, mix)
            load_before = load_average()
            mark = server.access_mark()
            result = run_wrk(server.port, mix, args.duration, args.connections)
            cached = cache_summary(server.count_cache(mark))
            mixes.append((label, result, load_before, load_average(), cached))
            print(row(f"mix, {label}", result), cached)
            if seconds != "0" and args.paced_duration:
                # The target rate held steady (open loop), after one request for every path:
                # a site past its first minute, whose kept answers expire and are made again.
                drain(server.port)
                ask_each(server.port, mix)
                load_before = load_average()
                mark = server.access_mark()
                paced = run_paced(server.port, mix, TARGET_RPS, args.paced_duration,
                                  clients=args.connections)
                cached = cache_summary(server.count_cache(mark))
                label = f"{label}, at {TARGET_RPS}/s held steady after a pass over every path"
                mixes.append((label, paced, load_before, load_average(), cached))
                print(row(f"mix, {label}", paced), cached)
            if args.kind_duration and seconds == "0":
                for kind, paths in present:
                    drain(server.port)
                    r = run_wrk(server.port, paths, args.kind_duration, args.connections)
                    alone.append(row(kind.name, r))
                    print(alone[-1])
            workers = server.booted_workers()

    def rate_verdict(result: WrkResult) -> str:
        if result.offered_rps:
            # Held at a rate: met when every request of the schedule was answered (how late
            # is the latency's verdict, counted from each request's moment).
            held = result.offered_rps >= TARGET_RPS and result.requests == result.scheduled
            return ("met" if held else "missed") + (
                f" ({result.requests:,} of {result.scheduled:,} requests sent at "
                f"{result.offered_rps:.0f}/s answered)")
        return "met" if result.rps >= TARGET_RPS else f"missed ({result.rps:.0f}/s)"

    def verdicts(result: WrkResult) -> str:
        lat = result.latency_ms
        return "; ".join([
            f"≥ {TARGET_RPS}/s: " + rate_verdict(result),
            f"p99 < {TARGET_P99_MS} ms: " + ("met" if lat["p99"] < TARGET_P99_MS
                                             else f"missed ({lat['p99']:.0f} ms)"),
            "0 errors: " + ("met" if result.errors == 0 else f"missed ({result.errors})"),
        ])

    total = sum(kind.share for kind, _ in present)
    lines = [
        f"Registry: {services:,} initiatives (`{args.database}`). gunicorn with "
        f"socialmap/gunicorn_conf.py ({workers} workers, gthread, JSON access log to a file), "
        f"PostgreSQL on the same machine; wrk {args.connections} connections, 2 threads, "
        "on loopback, after 5 s of warm-up (with the answer cache on, also one request for "
        "every path: a site past its first minute). Machine (load average) before and after "
        "each mix: "
        + "; ".join(f"{label}: {before} / {after}" for label, _r, before, after, _c in mixes)
        + ".",
        "",
        "The mix (share of requests): "
        + "; ".join(f"{kind.name} {kind.share / total:.0%}" for kind, _ in present) + ". "
        "Each kind draws from 400 paths (places, initiatives) in turn.",
        *([f"Left out: {'; '.join(skipped)}."] if skipped else []),
        "",
        "| kind | req/s | p50 ms | p95 ms | p99 ms | max ms | requests | errors |",
        "|---|---|---|---|---|---|---|---|",
        *[row(f"**mix, {args.duration} s, {label}**", r) for label, r, _b, _a, _c in mixes],
        *alone,
        "",
        *[f"Mix targets, {label}: {verdicts(r)}." for label, r, _b, _a, _c in mixes],
        "",
        *[f"Answers in the mix, {label}: {cached} (from the access log)."
          for label, _r, _b, _a, cached in mixes],
        "",
        f"Each kind alone ran {args.kind_duration} s at the same concurrency, answer cache off. "
        "With the cache on (as `make serve` runs), an anonymous request for the search API, "
        "the search page, a kern page, an initiative's page or API answer or the map data "
        "asked again within the same minute is answered from the cache the workers share "
        "(files in /dev/shm); for a minute after that it is still answered from the cache "
        "(\"stale\") while a worker's background thread makes it again "
        "(socialmap/web/refresh.py). The mix's paths repeat (400 per kind, in turn), so after "
        "the first pass most are hits: that figure is the cache's, the one with the cache off "
        "is the application's own. The run at the target rate sends each request at its "
        f"moment (open loop, {args.connections} connections) and counts its latency from that "
        "moment, so a server that falls behind shows it; wrk's runs (closed loop) measure how "
        "much the server answers when pressed. "
        "The search API alone (target ≥ 1,000/s, p99 < 20 ms) is "
        "measured by bench/search.py: see its section.",
    ]
    write_section("load", "Sustained load: the mix under gunicorn", "\n".join(lines))


if __name__ == "__main__":
    main()
