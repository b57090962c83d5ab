"""N workflows of mixed types, started concurrently over HTTP in the local runtime.

Prints how many completed, failed as expected (the demo's ``daily`` courier group waits for a
missing file) or were lost (no final status within the timeout, or no record), the wall time and
throughput, and the orchestration overhead per task: (run duration - the same tasks' handlers
called directly, one after the other) / tasks. Asserts nothing.

Usage: ``make bench`` or ``.venv/bin/python bench/mixed_workflows.py --n 24 --timeout 300``.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any

os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "ERROR")

from switchyard.handlers import task_event
from switchyard.local.http import ApiServer
from switchyard.local.runtime import LocalRuntime
from switchyard.local.seed import seed
from switchyard.services.deps import get_deps

# What the demo tenant can run: (type, name, expected final status).
MIX: list[tuple[str, str, str]] = [
    ("courier_group", "crm_web", "succeeded"),
    ("database", "marketing", "succeeded"),
    ("campaign_send", "welcome", "succeeded"),
    ("orchestration", "reactivation", "succeeded"),
    ("courier_group", "daily", "failed"),  # the pos courier's file never arrives
    ("orchestration_group", "nightly", "succeeded"),
    ("input_validation_report", "daily_inputs", "succeeded"),
    ("manual_index_run", "indexes", "succeeded"),
    ("data_refresh", "marketing", "succeeded"),
]
FINAL = {"succeeded", "failed", "stopped"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Client:
    def __init__(self, base: str, token: str) -> None:
        self.base, self.token = base, token

    def call(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.base + path, data=data, method=method)
        request.add_header("Authorization", f"Bearer {self.token}")
        if data is not None:
            request.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return response.status, json.loads(response.read() or b"null")
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read() or b"null")


def seconds(run: dict[str, Any]) -> float | None:
    if not run.get("ended_at"):
        return None
    started = datetime.fromisoformat(run["started_at"])
    return (datetime.fromisoformat(run["ended_at"]) - started).total_seconds()


def direct_seconds(run: dict[str, Any]) -> float:
    """The run's task handlers called directly, in order, with the inputs the run recorded."""
    total = 0.0
    for stage in run["stages"]:
        for task in stage["tasks"]:
            raw = {**task["inputs"], "_workflow_id": run["id"], "_mode": run["mode"]}
            t = time.perf_counter()
            task_event(task["kind"], raw)
            total += time.perf_counter() - t
    return total


def run_alone(api: Client, wtype: str, name: str) -> dict[str, Any]:
    status, body = api.call("POST", "/api/workflows", {"type": wtype, "name": name})
    assert status == 201, body
    while True:
        run = api.call("GET", f"/api/workflows/{body['id']}")[1]
        if run["status"] in FINAL:
            return run  # type: ignore[no-any-return]
        time.sleep(0.1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=24, help="workflows to start (default 24)")
    parser.add_argument("--timeout", type=float, default=300, help="seconds to wait for final statuses")
    parser.add_argument(
        "--no-alone", action="store_true", help="skip the baseline: each type run once, on its own, first"
    )
    args = parser.parse_args()

    with LocalRuntime() as runtime:
        seed(get_deps(), runs=False)
        token = runtime.create_token("bench", "administrator")
        server = ApiServer(runtime.dispatcher, "127.0.0.1", free_port())
        server.start()
        api = Client(f"http://127.0.0.1:{server.port}", token)
        try:
            # Warm up: one courier group builds the customer table the other types read.
            run_alone(api, "courier_group", "crm_web")
            # Baseline: each type on its own (no other run competing for the two cores).
            alone: dict[tuple[str, str], float] = {}
            for wtype, name, expected in [] if args.no_alone else MIX:
                run = run_alone(api, wtype, name)
                duration = seconds(run)
                if expected == "succeeded" and run["status"] == "succeeded" and duration is not None:
                    tasks = sum(len(s["tasks"]) for s in run["stages"])
                    alone[(wtype, name)] = (duration - direct_seconds(run)) / tasks

            plan = [MIX[i % len(MIX)] for i in range(args.n)]
            t0 = time.perf_counter()
            with ThreadPoolExecutor(max_workers=8) as pool:
                replies = list(
                    pool.map(
                        lambda item: api.call("POST", "/api/workflows", {"type": item[0], "name": item[1]}),
                        plan,
                    )
                )
            started = [
                (item, body["id"]) for item, (code, body) in zip(plan, replies, strict=True) if code == 201
            ]
            refused = len(plan) - len(started)

            final: dict[str, dict[str, Any]] = {}
            deadline = time.monotonic() + args.timeout
            while len(final) < len(started) and time.monotonic() < deadline:
                for _, wid in started:
                    if wid in final:
                        continue
                    code, body = api.call("GET", f"/api/workflows/{wid}")
                    if code == 200 and body["status"] in FINAL:
                        final[wid] = body
                time.sleep(0.2)
            wall = time.perf_counter() - t0

            completed = failed_expected = unexpected = 0
            for (wtype, name, expected), wid in started:
                run = final.get(wid)
                if run is None:
                    continue
                if run["status"] == expected == "succeeded":
                    completed += 1
                elif run["status"] == expected:
                    failed_expected += 1
                else:
                    unexpected += 1
                    print(f"  unexpected: {wtype} {name} ended {run['status']}: {run.get('error')}")
            lost = len(started) - len(final)

            # Overhead: each type's succeeded runs against one of them replayed directly.
            rows = []
            overheads: list[float] = []
            by_type: dict[tuple[str, str], list[dict[str, Any]]] = {}
            for (wtype, name, _), wid in started:
                run = final.get(wid)
                if run and run["status"] == "succeeded":
                    by_type.setdefault((wtype, name), []).append(run)
            for (wtype, name), runs in by_type.items():
                tasks = sum(len(s["tasks"]) for s in runs[0]["stages"])
                direct = direct_seconds(runs[0])
                durations = [d for d in (seconds(r) for r in runs) if d is not None]
                per_task = [(d - direct) / tasks for d in durations]
                overheads.extend(per_task)
                rows.append(
                    (
                        wtype,
                        name,
                        len(runs),
                        tasks,
                        statistics.median(durations),
                        direct,
                        per_task,
                        alone.get((wtype, name)),
                    )
                )
        finally:
            server.stop()

    print(f"workflows started     {len(started)} of {args.n} ({refused} refused at start)")
    print(f"completed             {completed}")
    print(f"failed as expected    {failed_expected}")
    print(f"unexpected outcome    {unexpected}")
    print(f"lost                  {lost}  (no final status within {args.timeout:.0f} s, or no record)")
    print(f"wall time             {wall:.1f} s  ({len(final) / wall:.2f} workflows/s)")
    print()
    header = f"{'type':<24}{'name':<13}{'runs':>5}{'tasks':>6}{'run (median)':>14}{'direct':>9}"
    print(f"{header}{'overhead/task':>15}{'alone':>10}")
    for wtype, name, count, tasks, median, direct, per_task, by_itself in sorted(rows):
        print(
            f"{wtype:<24}{name:<13}{count:>5}{tasks:>6}{median:>12.2f} s{direct:>7.2f} s"
            f"{statistics.median(per_task) * 1000:>12.0f} ms"
            + (f"{by_itself * 1000:>7.0f} ms" if by_itself is not None else "")
        )
    if overheads:
        print()
        print(
            f"orchestration overhead per task: median {statistics.median(overheads) * 1000:.0f} ms, "
            f"max {max(overheads) * 1000:.0f} ms ({len(overheads)} runs, {args.n} started concurrently)"
        )
    if alone:
        print(
            f"                       alone: median {statistics.median(alone.values()) * 1000:.0f} ms "
            f"(each type once, nothing else running)"
        )
    print(f"load average (1 min) at the end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
