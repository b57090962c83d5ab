"""Courier group runs in the local runtime: throughput and the engine's per-task overhead.

Prints figures; asserts nothing. Usage: ``make bench`` or
``.venv/bin/python bench/courier_group.py --runs 10``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")

from switchyard.domain.models import Mode, Principal
from switchyard.handlers import TASKS
from switchyard.local.runtime import LocalRuntime
from switchyard.local.seed import seed
from switchyard.services.deps import get_deps
from switchyard.services.workflows import WorkflowService


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=8)
    parser.add_argument("--timeout", type=float, default=300)
    args = parser.parse_args()

    with LocalRuntime():
        deps = get_deps()
        seed(deps, runs=False)
        service = WorkflowService(deps)
        who = Principal(user="bench", role="administrator")

        t0 = time.perf_counter()
        ids = [
            service.start(who, "courier_group", "crm_web", None, Mode.PRODUCTION)[0].id
            for _ in range(args.runs)
        ]
        finished: dict[str, str] = {}
        deadline = time.monotonic() + args.timeout
        while len(finished) < len(ids) and time.monotonic() < deadline:
            for wid in ids:
                if wid not in finished:
                    status = deps.workflows.get(wid, with_tasks=False).status
                    if status in ("succeeded", "failed", "stopped"):
                        finished[wid] = status
            time.sleep(0.05)
        wall = time.perf_counter() - t0

        runs = [deps.workflows.get(wid) for wid in ids]
        task_seconds = []
        run_seconds = []
        for run in runs:
            if run.duration_seconds:
                run_seconds.append(run.duration_seconds)
            for task in run.all_tasks():
                if task.started_at and task.ended_at:
                    task_seconds.append((task.ended_at - task.started_at).total_seconds())

        # The same task work called directly, without the engine around it.
        sample = runs[0]
        direct = []
        for task in sample.all_tasks():
            t = time.perf_counter()
            TASKS[task.kind](dict(task.inputs), deps.blobs, deps.settings.data_bucket)
            direct.append(time.perf_counter() - t)

        tasks_per_run = len(sample.all_tasks())
        succeeded = sum(1 for s in finished.values() if s == "succeeded")
        print(f"runs started        {len(ids)}")
        print(f"runs succeeded      {succeeded}")
        print(f"runs lost/unfinished {len(ids) - len(finished)}")
        print(f"wall time           {wall:.2f} s  ({len(ids) / wall:.2f} runs/s, {tasks_per_run} tasks each)")
        if run_seconds:
            median, longest = statistics.median(run_seconds), max(run_seconds)
            print(f"run duration        median {median:.2f} s, max {longest:.2f} s")
        if task_seconds:
            print(f"task (recorded)     median {statistics.median(task_seconds) * 1000:.0f} ms")
        print(f"task work, direct   total {sum(direct) * 1000:.0f} ms for {tasks_per_run} tasks")
        if run_seconds:
            overhead = (statistics.median(run_seconds) - sum(direct)) / tasks_per_run
            print(f"engine overhead     {overhead * 1000:.0f} ms per task (run duration minus direct work)")


if __name__ == "__main__":
    main()
