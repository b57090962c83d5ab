"""The console's workflow list with many runs recorded, in the local runtime.

Runs one demo courier group, copies its run record ``--runs`` times (new ids, the same stages,
tasks summary and history, as finished runs are), then asks ``GET /api/workflows?limit=50``
(the console's first page) and its second page ``--repeats`` times through the API handler, as
``make run`` serves it, and prints the latency (p50, p99) and the runtime's CPU per request.
Asserts nothing.

Usage: ``.venv/bin/python bench/list_workflows.py [--runs 1000] [--repeats 50]``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
import uuid

os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "ERROR")

from switchyard.data.models import WorkflowModel
from switchyard.local.apigateway import invoke_api
from switchyard.local.runtime import LocalRuntime
from switchyard.local.seed import seed
from switchyard.services.deps import get_deps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1000, help="run records to list among (default 1000)")
    parser.add_argument("--repeats", type=int, default=50, help="requests per page (default 50)")
    args = parser.parse_args()
    with LocalRuntime() as runtime:
        seed(get_deps(), runs=False)
        token = runtime.create_token("bench", "administrator")
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

        def call(method: str, path: str, body: object = None) -> tuple[int, dict[str, object]]:
            raw = None if body is None else json.dumps(body).encode()
            status, _, data = invoke_api(runtime.dispatcher, method, path, headers, raw)
            return status, json.loads(data or b"{}")

        status, run = call("POST", "/api/workflows", {"type": "courier_group", "name": "crm_web"})
        assert status == 201, run
        while call("GET", f"/api/workflows/{run['id']}")[1]["status"] not in ("succeeded", "failed"):
            time.sleep(0.05)
        model = WorkflowModel.get(run["id"])
        for _ in range(args.runs):
            model.workflow_id = str(uuid.uuid4())
            model.save()
        status, first = call("GET", "/api/workflows?limit=50")
        assert status == 200 and len(first["items"]) == 50, first
        cursor = first["next_cursor"]
        for label, path in (
            ("first page", "/api/workflows?limit=50"),
            ("second page", f"/api/workflows?limit=50&cursor={cursor}"),
            ("by status", "/api/workflows?limit=50&status=succeeded"),
        ):
            wall, cpu = [], []
            for _ in range(args.repeats):
                t, c = time.perf_counter(), time.process_time()
                status, _ = call("GET", path)
                wall.append((time.perf_counter() - t) * 1000)
                cpu.append((time.process_time() - c) * 1000)
                assert status == 200
            wall.sort()
            print(
                f"{label:12s} among {args.runs + 1} runs: p50 {statistics.median(wall):6.1f} ms  "
                f"p99 {wall[int(0.99 * (len(wall) - 1))]:6.1f} ms  CPU {statistics.median(cpu):6.1f} ms"
            )
        print(f"load average (1 min): {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
