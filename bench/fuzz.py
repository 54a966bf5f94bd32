"""A longer schemathesis run than the suite's (tests/test_fuzz.py): every operation of
/api/v1/openapi.json, positive and negative data, over HTTP against gunicorn.

    .venv/bin/python -m bench.fuzz [--source socialmap] [--max-examples 200] [--max-time 300]

Serves a copy of --source (a database of the project's cluster) from a throwaway cluster, runs
`schemathesis run` with the same checks as the suite, and writes the failures it found, each
with the request that reproduces it, to docs/BENCHMARKS.md.
"""
from __future__ import annotations

import argparse
import json
import re
import subprocess
import tempfile
from collections import Counter
from pathlib import Path

from .report import ROOT, write_section
from .tools import gunicorn, load_average, throwaway_copy

# Same reason as in tests/test_fuzz.py: some rules are prose in the document, not schema.
EXCLUDED_CHECKS = ("positive_data_acceptance",)


def reproductions(output: str) -> list[tuple[str, str, str]]:
    """(operation, failure, curl command) for each failure in schemathesis' text output."""
    found = []
    operation = failure = ""
    lines = output.splitlines()
    for i, line in enumerate(lines):
        if m := re.match(r"_{3,} (\w+ \S+) _{3,}$", line):
            operation = m.group(1)
        elif m := re.match(r"- (ST\d+ .+)$", line):
            failure = m.group(1) if not failure else f"{failure}; {m.group(1)}"
        elif line.strip().startswith("curl ") and operation:
            found.append((operation, failure or "error without a check (timeout or network)",
                          lines[i].strip()))
            failure = ""
    return found


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--source", default="socialmap")
    ap.add_argument("--max-examples", type=int, default=200)
    ap.add_argument("--max-time", type=int, default=300, help="seconds for the whole run")
    ap.add_argument("--workers", type=int, default=2, help="schemathesis' concurrent workers")
    ap.add_argument("--seed", type=int, default=None)
    args = ap.parse_args()

    load = load_average()
    with throwaway_copy(args.source) as (_cluster, url), \
            gunicorn(url, access_log=False) as server, \
            tempfile.TemporaryDirectory() as tmp:
        report_path = Path(tmp) / "report.json"
        cmd = [str(ROOT / ".venv" / "bin" / "schemathesis"), "run",
               f"{server.base}/api/v1/openapi.json", "--max-examples", str(args.max_examples),
               "--max-time", str(args.max_time), "--workers", str(args.workers),
               "--exclude-checks", ",".join(EXCLUDED_CHECKS), "--no-color",
               "--report", "json", "--report-json-path", str(report_path)]
        if args.seed is not None:
            cmd += ["--seed", str(args.seed)]
        run = subprocess.run(cmd, capture_output=True, text=True, timeout=args.max_time + 300)
        print(run.stdout[-6000:])
        report = json.loads(report_path.read_text())
        server_errors = server.tracebacks()
        server_warnings = server.warnings()

    cases = report["test_cases"]
    lines = [
        f"`schemathesis run` {report['schemathesis_version']} over HTTP against gunicorn "
        f"(socialmap/gunicorn_conf.py) serving a copy of `{args.source}`; at most "
        f"{args.max_examples} examples per operation and {args.max_time} s in all; checks: all "
        f"but {', '.join(EXCLUDED_CHECKS)}. Seed {report['seed']}. Machine at the start: {load}.",
        "",
        f"- operations tested: {report['operations']['tested']}/{report['operations']['total']};"
        f" test cases: {cases['generated']:,}; with failures: {cases['with_failures']}; "
        f"run time {report['running_time']:.0f} s (stopped by {report['stop_reason']})",
        f"- exceptions logged by the app: {len(server_errors)}",
    ]
    causes = Counter(tb.strip().splitlines()[-1][:200] for tb in server_errors)
    lines += [f"  - ×{n} `{cause}`" for cause, n in causes.most_common()]
    lines.append(f"- warnings and errors logged by the app: {len(server_warnings)}")
    lines += [f"  - ×{n} `{w}`" for w, n in Counter(server_warnings).most_common(10)]
    for failure in report["failures"]:
        lines.append(f"- {failure['code']} {failure['title']} ×{failure['count']}: "
                     f"{', '.join(failure['operations'])}")
    for operation, failure, curl in reproductions(run.stdout):
        short = curl if len(curl) < 400 else curl[:400] + "…'"
        lines.append(f"  - {operation}, {failure}: `{short}`")
    if not report["failures"]:
        lines.append("- no failures: no 500, every answer as documented")
    print("\n".join(lines))
    write_section("fuzz", "API fuzzing (schemathesis)", "\n".join(lines))
    raise SystemExit(run.returncode)


if __name__ == "__main__":
    main()
