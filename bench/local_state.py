"""What the local runtime's snapshots cost (docs/operations.md, "Local state").

Prints, for the demo tenant and then with ``--runs`` more recorded runs (each with the tasks of
a courier_group run, written through the repository: the data of that many runs, not their
executions), the time a snapshot holds the emulation (no emulated call runs meanwhile), the
time it takes to write the file outside the gate, and the file's size; and how long the restore
takes at start-up. Asserts nothing. Usage: ``.venv/bin/python bench/local_state.py --runs 1000``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
import uuid
from pathlib import Path

os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")

from switchyard.domain.models import HistoryEntry, Mode, Stage, Task, Workflow, WorkflowStatus
from switchyard.local import state_backends, state_file
from switchyard.local.runtime import ACCOUNT, LocalRuntime
from switchyard.local.seed import seed
from switchyard.services.deps import get_deps
from switchyard.services.engine import task_id_for


def measure(runtime: LocalRuntime, label: str, times: int = 5) -> None:
    """Full snapshots (every item copied: the first one, and after a table changes), then the
    usual ones: what a second of 5 runs/s writes (100 task and run updates) copied again."""
    assert runtime.snapshots is not None
    stats = runtime.snapshots.stats
    for kind in ("full", "one second of writes"):
        copies, writes = [], []
        for _ in range(times):
            if kind == "full":
                runtime.snapshots.snapshot(force=True)
            else:
                touch(100)
                runtime.snapshots.snapshot()
            copies.append(stats.last_copy_ms)
            writes.append(stats.last_write_ms)
        print(
            f"{label:<22} {kind:<22} gate held {statistics.median(copies):7.1f} ms (max {max(copies):6.1f})"
            f"   write {statistics.median(writes):6.1f} ms   file {stats.last_bytes / 1e6:5.2f} MB",
            flush=True,
        )


RUNS: list[str] = []


def touch(writes: int) -> None:
    """``writes`` updates of recorded runs, as the engine makes them (a warning added)."""
    deps = get_deps()
    for i in range(writes):
        wid = RUNS[i % len(RUNS)] if RUNS else None
        if wid is None:
            deps.config.put("bench", f"item-{i}", {"name": f"item-{i}", "n": i})
            continue
        deps.workflows.add_task_warning(wid, task_id_for(wid, 0, 0), f"bench {time.time()}")


def add_runs(count: int) -> None:
    """``count`` finished courier_group runs with their tasks, as the engine records them."""
    deps = get_deps()
    now = deps.clock()
    for _ in range(count):
        wid = str(uuid.uuid4())
        deps.workflows.create(
            Workflow(
                id=wid,
                tenant="default",
                type="courier_group",
                name="crm_web",
                status=WorkflowStatus.RUNNING,
                mode=Mode.PRODUCTION,
                started_by="bench",
                started_at=now,
                history=[HistoryEntry(at=now, event="started", by="bench")],
            )
        )
        stages = [
            Stage(
                key=key,
                name=name,
                tasks=[
                    Task(
                        id=task_id_for(wid, si, ti),
                        name=f"{name} {ti}",
                        kind="courier",
                        stage=name,
                        position=ti,
                        inputs={"courier": f"c{ti}", "pattern": "crm_*.csv", "bucket": "switchyard-data"},
                    )
                    for ti in range(tasks)
                ],
            )
            for si, (key, name, tasks) in enumerate(
                [("sources", "Sources", 2), ("stitch", "Stitch", 1), ("c360", "Customer 360", 1)]
            )
        ]
        deps.workflows.record_plan(wid, stages)
        RUNS.append(wid)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=1000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        directory = Path(folder)
        runtime = LocalRuntime(state_dir=directory).start()
        try:
            seed(get_deps())
            measure(runtime, "demo tenant")
            add_runs(args.runs)
            measure(runtime, f"demo + {args.runs} runs")
        finally:
            runtime.stop()
        t0 = time.perf_counter()
        loaded = state_file.load(directory)
        assert loaded is not None
        read = time.perf_counter() - t0
        from moto import mock_aws

        with mock_aws():
            t1 = time.perf_counter()
            for group, data in loaded.groups.items():
                state_backends.restore_group(group, data, ACCOUNT)
            print(
                f"restore at start-up: read {read * 1000:.0f} ms, unpickle and put back "
                f"{(time.perf_counter() - t1) * 1000:.0f} ms",
                flush=True,
            )


if __name__ == "__main__":
    main()
