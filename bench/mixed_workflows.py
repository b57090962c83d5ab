"""N workflows of mixed demo types, started concurrently over HTTP in the local runtime.

Prints, side by side:

- **alone**: each type run on its own (``--repeats`` times): the orchestration overhead per task,
  (run duration - the same tasks' handlers called directly, one after the other) / tasks, and the
  issue's measure, (run duration - the tasks' own recorded durations) / tasks;
- **at once**: ``--n`` workflows started by ``--clients`` concurrent HTTP clients: accepted,
  completed, failed as expected (the demo's ``daily`` courier group waits for a missing file),
  unexpected, lost (no final status within ``--timeout``), workflows/s (overall and sustained:
  between 10% and 90% of the runs finished) and the latency of ``GET /api/workflows?limit=50``
  asked every ``--list-every`` seconds while they run (p50, p99, max);
- **the floor**: the same task handlers called directly (seconds per workflow; workflows/s on one
  core), and the bare interpreter: a chain of ``--chain`` ``lambda:invoke`` tasks of a function
  that returns its input, in moto's interpreter, no Switchyard (ms per task).

Asserts nothing. ``make bench`` runs it with ``--n 100``; the issue's figure is ``--n 1000``:
``.venv/bin/python bench/mixed_workflows.py --n 1000 --timeout 900``.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import socket
import statistics
import threading
import time
import urllib.error
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "ERROR")

from switchyard import declarations as d
from switchyard.handlers import task_event
from switchyard.local.http import ApiServer
from switchyard.local.runtime import ACCOUNT, REGION, LocalRuntime
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

    def call(self, method: str, path: str, body: Any = None, key: str | None = None) -> tuple[int, Any]:
        """One request; a connection refused or reset is tried again (with ``key`` as the
        ``Idempotency-Key``, a start tried again starts one workflow)."""
        data = json.dumps(body).encode() if body is not None else None
        for attempt in range(10):
            request = urllib.request.Request(self.base + path, data=data, method=method)
            request.add_header("Authorization", f"Bearer {self.token}")
            if data is not None:
                request.add_header("Content-Type", "application/json")
            if key:
                request.add_header("Idempotency-Key", key)
            try:
                with urllib.request.urlopen(request, timeout=300) as response:
                    return response.status, json.loads(response.read() or b"null")
            except urllib.error.HTTPError as exc:
                return exc.code, json.loads(exc.read() or b"null")
            except (ConnectionError, TimeoutError, urllib.error.URLError):
                time.sleep(0.2 * (attempt + 1))
        raise RuntimeError(f"{method} {path}: no answer after 10 tries")


def process_cpu(pid: int) -> float:
    """CPU seconds (user and system) a process has used so far, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def client_process(
    base: str,
    token: str,
    plan: list[tuple[str, str, str]],
    clients: int,
    list_every: float,
    results: Any,
    stop_listing: Any,
) -> None:
    """The users: ``clients`` threads start ``plan``'s workflows (each with an Idempotency-Key),
    one more asks the list every ``list_every`` s until ``stop_listing``. Puts (replies, seconds
    to accept them all), then the list's latencies in ms, then this process's CPU seconds."""
    api = Client(base, token)
    list_ms: list[float] = []

    def lister() -> None:
        while not stop_listing.is_set():
            t = time.perf_counter()
            code, _ = api.call("GET", "/api/workflows?limit=50")
            if code == 200:
                list_ms.append((time.perf_counter() - t) * 1000)
            stop_listing.wait(list_every)

    listing = threading.Thread(target=lister, daemon=True)
    listing.start()
    t0 = time.perf_counter()
    with ThreadPoolExecutor(max_workers=clients) as pool:
        replies = list(
            pool.map(
                lambda item: api.call(
                    "POST", "/api/workflows", {"type": item[0], "name": item[1]}, key=str(uuid.uuid4())
                ),
                plan,
            )
        )
    results.put((replies, time.perf_counter() - t0))
    listing.join()
    results.put(list_ms)
    results.put(time.process_time())


def aware(text: str) -> datetime:
    at = datetime.fromisoformat(text)
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def seconds(run: dict[str, Any]) -> float | None:
    if not run.get("ended_at"):
        return None
    started = datetime.fromisoformat(run["started_at"])
    return (datetime.fromisoformat(run["ended_at"]) - started).total_seconds()


def tasks_of(run: dict[str, Any]) -> list[dict[str, Any]]:
    return [t for s in run["stages"] for t in s["tasks"]]


def recorded_seconds(run: dict[str, Any]) -> float:
    """The tasks' own recorded durations (started_at to ended_at), summed."""
    total = 0.0
    for task in tasks_of(run):
        if task.get("started_at") and task.get("ended_at"):
            total += (
                datetime.fromisoformat(task["ended_at"]) - datetime.fromisoformat(task["started_at"])
            ).total_seconds()
    return total


def direct_seconds(run: dict[str, Any]) -> float:
    """The run's task handlers called directly, in order, with the inputs the run recorded."""
    total = 0.0
    for task in tasks_of(run):
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
        time.sleep(0.02)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def bare_chain(runtime: LocalRuntime, length: int) -> float:
    """ms per task of a chain of ``length`` ``lambda:invoke`` tasks of a function that returns
    its input: moto's interpreter and its Lambda API, no Switchyard."""
    import boto3

    name = "bench-echo"
    runtime.dispatcher.add(name, lambda event, context: event, 128)
    lam = boto3.client("lambda", region_name=REGION)
    lam.create_function(
        FunctionName=name,
        Runtime="python3.12",
        Role=f"arn:aws:iam::{ACCOUNT}:role/switchyard-local",
        Handler="echo.handler",
        Code={"ZipFile": b"local"},
    )
    arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}"
    states = {
        f"T{i}": {
            "Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke",
            "Parameters": {"FunctionName": arn, "Payload.$": "$"},
            "OutputPath": "$.Payload",
            **({"Next": f"T{i + 1}"} if i + 1 < length else {"End": True}),
        }
        for i in range(length)
    }
    sfn = boto3.client("stepfunctions", region_name=REGION)
    machine = sfn.create_state_machine(
        name="bench-chain",
        definition=json.dumps({"StartAt": "T0", "States": states}),
        roleArn=f"arn:aws:iam::{ACCOUNT}:role/switchyard-local",
    )["stateMachineArn"]
    timings = []
    for i in range(3):
        t = time.perf_counter()
        execution = sfn.start_execution(stateMachineArn=machine, name=f"chain-{i}", input='{"n": 1}')
        while sfn.describe_execution(executionArn=execution["executionArn"])["status"] == "RUNNING":
            time.sleep(0.005)
        timings.append((time.perf_counter() - t) / length * 1000)
    return statistics.median(timings)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100, help="workflows to start at once (default 100)")
    parser.add_argument("--clients", type=int, default=32, help="concurrent HTTP clients (default 32)")
    parser.add_argument("--timeout", type=float, default=600, help="seconds to wait for final statuses")
    parser.add_argument("--repeats", type=int, default=3, help="runs of each type alone (default 3)")
    parser.add_argument("--no-alone", action="store_true", help="skip the runs alone")
    parser.add_argument("--chain", type=int, default=50, help="tasks in the bare interpreter chain")
    parser.add_argument("--list-every", type=float, default=0.25, help="seconds between list requests")
    parser.add_argument("--watch-every", type=float, default=5, help="seconds between looks at what ended")
    parser.add_argument(
        "--workers",
        type=int,
        default=int(os.environ.get("SWITCHYARD_LOCAL_WORKERS") or 2),
        help="Lambda worker processes, as make run (default 2; 0: handlers in the runtime's process)",
    )
    args = parser.parse_args()

    with LocalRuntime(workers=args.workers) as runtime:
        deps = get_deps()
        seed(deps, runs=False)
        token = runtime.create_token("bench", "administrator")
        server = ApiServer(runtime.dispatcher, "127.0.0.1", free_port())
        server.start()
        api = Client(f"http://127.0.0.1:{server.port}", token)
        try:
            chain_ms = bare_chain(runtime, args.chain)
            # Warm up: one courier group builds the customer table the other types read.
            run_alone(api, "courier_group", "crm_web")
            alone: dict[tuple[str, str], tuple[float, float, int]] = {}
            for wtype, name, expected in [] if args.no_alone else MIX:
                if expected != "succeeded":
                    continue
                by_direct, by_recorded = [], []
                for _ in range(args.repeats):
                    run = run_alone(api, wtype, name)
                    duration = seconds(run)
                    if run["status"] != "succeeded" or duration is None:
                        continue
                    tasks = len(tasks_of(run))
                    by_direct.append((duration - direct_seconds(run)) / tasks)
                    by_recorded.append((duration - recorded_seconds(run)) / tasks)
                if by_direct:
                    alone[(wtype, name)] = (
                        statistics.median(by_direct),
                        statistics.median(by_recorded),
                        tasks,
                    )

            # At once: N starts from the clients, the list asked meanwhile, from another process
            # (as users' clients are: 32 client threads in this one would share its interpreter
            # lock with the runtime they measure).
            plan = [MIX[i % len(MIX)] for i in range(args.n)]
            spawn = multiprocessing.get_context("spawn")
            results: Any = spawn.Queue()
            stop_listing = spawn.Event()
            clients = spawn.Process(
                target=client_process,
                args=(api.base, token, plan, args.clients, args.list_every, results, stop_listing),
                daemon=True,
            )
            load = os.getloadavg()[0]
            worker_pids = list(runtime.dispatcher.pool.pids) if runtime.dispatcher.pool else []
            cpu0 = time.process_time(), {pid: process_cpu(pid) for pid in worker_pids}
            t0 = time.perf_counter()
            t0_at = datetime.now(UTC)
            clients.start()
            replies, accepted_in = results.get()
            started = [
                (item, body["id"]) for item, (code, body) in zip(plan, replies, strict=True) if code == 201
            ]
            refused = len(plan) - len(started)

            # Watch in process, every --watch-every s, with one query of the ids of the runs still
            # running (not one request per run, nor whole items: watching must not load what it
            # measures; the query still reads every open run, so not too often either). When each
            # run ended is taken from its own ended_at, not from when the watch saw it.
            import boto3

            dynamodb = boto3.client("dynamodb", region_name=REGION)
            ids = {wid for _, wid in started}
            finished_at: dict[str, float] = {}
            deadline = time.monotonic() + args.timeout
            while len(finished_at) < len(ids) and time.monotonic() < deadline:
                open_ids: set[str] = set()
                for status in ("running", "stopping"):
                    pages = dynamodb.get_paginator("query").paginate(
                        TableName=d.TABLE_NAMES["workflows"],
                        IndexName="by_status",
                        KeyConditionExpression="tenant_status = :s",
                        ExpressionAttributeValues={":s": {"S": f"default#{status}"}},
                        ProjectionExpression="workflow_id",
                    )
                    open_ids.update(i["workflow_id"]["S"] for page in pages for i in page["Items"])
                now = time.perf_counter() - t0
                for wid in ids - open_ids - finished_at.keys():
                    finished_at[wid] = now
                time.sleep(args.watch_every)
            stop_listing.set()
            list_ms: list[float] = results.get()
            clients.join()
            cpu_runtime = time.process_time() - cpu0[0]
            cpu_workers = sum(process_cpu(pid) - cpu0[1][pid] for pid in worker_pids)
            cpu_clients = float(results.get())
            wall = time.perf_counter() - t0

            final: dict[str, dict[str, Any]] = {}
            for _, wid in started:
                code, body = api.call("GET", f"/api/workflows/{wid}")
                if code == 200 and body["status"] in FINAL:
                    final[wid] = body
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
                    if unexpected <= 10:
                        print(f"  unexpected: {wtype} {name} ended {run['status']}: {run.get('error')}")
            lost = len(started) - len(final)
            ended = [aware(r["ended_at"]) for r in final.values() if r.get("ended_at")]
            if ended and len(final) == len(started):  # from the first start to the last end
                wall = (max(ended) - t0_at).total_seconds()
            # When each run ended (its own ended_at), from the first start: the throughput between
            # 10% and 90% of them finished is what the runtime sustains.
            first = min((datetime.fromisoformat(r["started_at"]) for r in final.values()), default=None)
            times = sorted(
                (datetime.fromisoformat(r["ended_at"]) - first).total_seconds()
                for r in final.values()
                if first is not None and r.get("ended_at")
            )
            sustained = 0.0
            if len(times) >= 10:
                lo, hi = times[len(times) // 10], times[(len(times) * 9) // 10]
                sustained = (len(times) * 8 / 10) / (hi - lo) if hi > lo else 0.0

            # Per type: runs at once, runs alone, the handlers called directly.
            rows = []
            direct_per_workflow: list[float] = []
            by_type: dict[tuple[str, str], list[dict[str, Any]]] = {}
            for (wtype, name, _), wid in started:
                run = final.get(wid)
                if run and run["status"] == "succeeded":
                    by_type.setdefault((wtype, name), []).append(run)
            for (wtype, name), runs in by_type.items():
                tasks = len(tasks_of(runs[0]))
                direct = direct_seconds(runs[0])
                direct_per_workflow.extend([direct] * len(runs))
                durations = [d for d in (seconds(r) for r in runs) if d is not None]
                rows.append((wtype, name, len(runs), tasks, statistics.median(durations), direct))
        finally:
            server.stop()

    print(
        f"load average (1 min) at the start of the runs at once: {load:.1f} on {os.cpu_count()} cores; "
        f"{args.workers} Lambda worker processes, {runtime.dispatcher.concurrency} invocations at once"
    )
    print()
    if alone:
        print(f"ALONE (each type {args.repeats} times, nothing else running): overhead per task")
        print(f"{'type':<24}{'name':<13}{'tasks':>6}{'vs direct':>11}{'vs recorded':>13}")
        for (wtype, name), (by_direct, by_recorded, tasks) in sorted(alone.items()):
            print(f"{wtype:<24}{name:<13}{tasks:>6}{by_direct * 1000:>8.0f} ms{by_recorded * 1000:>10.0f} ms")
        print(
            f"{'median':<43}{statistics.median(v[0] for v in alone.values()) * 1000:>8.0f} ms"
            f"{statistics.median(v[1] for v in alone.values()) * 1000:>10.0f} ms"
        )
        print()
    print(f"AT ONCE ({args.n} started by {args.clients} HTTP clients)")
    print(f"accepted              {len(started)} of {args.n} ({refused} refused) in {accepted_in:.1f} s")
    print(f"completed             {completed}")
    print(f"failed as expected    {failed_expected}")
    print(f"unexpected outcome    {unexpected}")
    print(f"lost                  {lost}  (no final status within {args.timeout:.0f} s, or no record)")
    print(f"wall time             {wall:.1f} s  ({len(final) / wall:.2f} workflows/s overall)")
    print(f"sustained             {sustained:.2f} workflows/s (from 10% to 90% of the runs finished)")
    if list_ms:
        print(
            f"GET /api/workflows?limit=50 while they run: p50 {percentile(list_ms, 0.5):.0f} ms, "
            f"p99 {percentile(list_ms, 0.99):.0f} ms, max {max(list_ms):.0f} ms ({len(list_ms)} requests)"
        )
    if started:
        n = len(started)
        print(
            f"CPU per workflow      {cpu_runtime / n:.3f} s in the runtime's process, "
            f"{cpu_workers / n:.3f} s in its {len(worker_pids)} Lambda workers, "
            f"{cpu_clients / n:.3f} s in the clients' process"
        )
    print()
    print(f"{'type':<24}{'name':<13}{'runs':>5}{'tasks':>6}{'run (median)':>14}{'direct':>9}")
    for wtype, name, count, tasks, median, direct in sorted(rows):
        print(f"{wtype:<24}{name:<13}{count:>5}{tasks:>6}{median:>12.2f} s{direct:>7.2f} s")
    print()
    if direct_per_workflow:
        mean = statistics.mean(direct_per_workflow)
        print(
            f"FLOOR: the handlers called directly: {mean:.3f} s per succeeded workflow "
            f"({1 / mean:.1f} workflows/s on one core)"
        )
    print(
        f"       the bare interpreter, a chain of {args.chain} lambda:invoke tasks: "
        f"{chain_ms:.1f} ms per task"
    )
    print(f"load average (1 min) at the end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
