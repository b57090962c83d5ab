"""Concurrent starts over real sockets: what a client sees when many start runs at once.

Starts the local runtime and its HTTP server on a free port, then sends ``--n`` starts
(``POST /api/workflows``, each on a new connection, as a script without a session does) from
``--threads`` threads. Prints the answer times (p50, p95, max), how many connections were reset
or timed out, and whether every acknowledged start is a run and no other run was created.

    .venv/bin/python bench/concurrent_starts.py --n 100 --threads 20
"""

from __future__ import annotations

import argparse
import http.client
import json
import socket
import statistics
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from switchyard.data.models import WorkflowModel
from switchyard.local.http import ApiServer
from switchyard.local.runtime import LocalRuntime
from switchyard.local.seed import seed
from switchyard.services.deps import get_deps


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start(port: int, token: str, i: int, timeout: float) -> tuple[str, float, dict[str, Any] | None]:
    body = json.dumps({"type": "courier_group", "name": "crm_web"})
    t0 = time.perf_counter()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(
            "POST",
            "/api/workflows",
            body,
            {"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        )
        reply = conn.getresponse()
        data = json.loads(reply.read() or b"null")
        outcome = str(reply.status)
    except ConnectionResetError:
        outcome, data = "reset", None
    except TimeoutError:
        outcome, data = "timeout", None
    except OSError as exc:
        outcome, data = type(exc).__name__, None
    finally:
        conn.close()
    return outcome, time.perf_counter() - t0, data


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100)
    parser.add_argument("--threads", type=int, default=20)
    parser.add_argument("--timeout", type=float, default=60, help="client timeout per request (s)")
    args = parser.parse_args()
    with LocalRuntime() as runtime:
        seed(get_deps(), runs=False)
        token = runtime.create_token("bench", "administrator")
        server = ApiServer(runtime.dispatcher, "127.0.0.1", free_port())
        server.start()
        before = {w.workflow_id for w in WorkflowModel.scan(attributes_to_get=["workflow_id"])}
        try:
            with ThreadPoolExecutor(max_workers=args.threads) as pool:
                results = list(pool.map(lambda i: start(server.port, token, i, args.timeout), range(args.n)))
            acknowledged = {d["id"] for o, _, d in results if o == "201" and d}
            time.sleep(2)  # let any start still being written land before counting
            after = {w.workflow_id for w in WorkflowModel.scan(attributes_to_get=["workflow_id"])}
        finally:
            server.stop()
    created = after - before
    times = sorted(t for _, t, _ in results)
    outcomes: dict[str, int] = {}
    for o, _, _ in results:
        outcomes[o] = outcomes.get(o, 0) + 1
    print(f"{args.n} starts from {args.threads} threads")
    print(f"  answers: {dict(sorted(outcomes.items()))}")
    print(
        f"  time to answer: p50 {statistics.median(times):.2f} s, "
        f"p95 {times[int(len(times) * 0.95) - 1]:.2f} s, max {times[-1]:.2f} s"
    )
    print(f"  runs created: {len(created)}, acknowledged: {len(acknowledged)}, ")
    print(f"  created but never acknowledged (ghost runs): {len(created - acknowledged)}")
    print(f"  acknowledged but not created: {len(acknowledged - created)}")


if __name__ == "__main__":
    main()
