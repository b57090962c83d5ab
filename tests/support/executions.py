"""A run's Step Functions executions in the emulated account: what tests wait on instead of sleeping.

A run is one or more executions of its type's machine (``<workflow id>`` then ``<workflow id>-2``,
... when it carries on in a new execution). "Nothing happened" is asserted after the event that
would have made it happen: every execution has ended, or the run has looked again (its Wait
states have come round) since the clock moved.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import boto3
from switchyard.local.runtime import REGION
from switchyard.services.deps import Deps


def executions(deps: Deps, workflow_id: str, workflow_type: str = "interaction") -> list[dict[str, Any]]:
    """The run's executions of its machine, first to last."""
    sfn = boto3.client("stepfunctions", region_name=REGION)
    machine = deps.settings.state_machines[workflow_type]
    found = [
        e
        for page in sfn.get_paginator("list_executions").paginate(stateMachineArn=machine)
        for e in page["executions"]
        if e["name"] == workflow_id or e["name"].startswith(f"{workflow_id}-")
    ]
    return sorted(found, key=lambda e: 1 if e["name"] == workflow_id else int(e["name"].rsplit("-", 1)[1]))


def history(execution: str) -> list[dict[str, Any]]:
    sfn = boto3.client("stepfunctions", region_name=REGION)
    pages = sfn.get_paginator("get_execution_history").paginate(executionArn=execution)
    return [event for page in pages for event in page["events"]]


def history_events(execution: str) -> int:
    return len(history(execution))


def all_events(deps: Deps, workflow_id: str) -> int:
    """The history events of all the run's executions (grows with every look)."""
    return sum(history_events(e["executionArn"]) for e in executions(deps, workflow_id))


def waits_ended(deps: Deps, workflow_id: str) -> int:
    """How many Wait states the run's executions have come out of: one per look while it waits."""
    return sum(
        1
        for e in executions(deps, workflow_id)
        for event in history(e["executionArn"])
        if event["type"] == "WaitStateExited"
    )


def wait_until(condition: Callable[[], Any], timeout: float = 60, every: float = 0.05) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(every)


def wait_for_looks(deps: Deps, workflow_id: str, looks: int = 2, timeout: float = 60) -> None:
    """Return once the run has come out of ``looks`` more Wait states: it has looked again at
    least once after the moment this was called (the first may have begun before)."""
    before = waits_ended(deps, workflow_id)
    wait_until(lambda: waits_ended(deps, workflow_id) >= before + looks, timeout=timeout, every=0.1)


def wait_all_ended(deps: Deps, workflow_id: str, timeout: float = 60) -> None:
    """Return once none of the run's executions is running: nothing more can happen in it."""
    wait_until(
        lambda: (runs := executions(deps, workflow_id)) and all(e["status"] != "RUNNING" for e in runs),
        timeout=timeout,
    )
