"""One run over several executions: what the engine needs to hand a long run over to a new
Step Functions execution before the current one reaches the history-event limit (25,000 events
for a Standard execution; docs/interactions.md, "Interactive audiences").

* :func:`events_of` estimates the history events each engine call stands for in the machine
  (the call's own Task state and the states it leads to until the next call). The engine adds
  them up on the run (``execution_events``), from zero for every new execution.
* :func:`next_execution_name` names the execution that carries a run on: ``<first name>-2``,
  ``-3``, ... derived from the name of the execution that hands over, so that a retried Finish
  asks for the same name (Step Functions starts a name once per machine).
"""

from __future__ import annotations

from typing import Any

# History events of the states around each engine call, as the interaction machine uses them:
# a Lambda Task state is 5 (entered, scheduled, started, succeeded, exited), a Choice, Wait or
# Succeed state 2, an inline Map of one item 6 (entered, started, iteration started and
# succeeded, succeeded, exited).
TASK = 5
CHOICE = WAIT = SUCCEED = 2
MAP_ONE = 6
START = 2  # ExecutionStarted, and the Branches Map's start


def events_of(action: str, result: dict[str, Any]) -> int:
    """The history events an engine ``action`` that answered ``result`` stands for."""
    if action == "plan":
        return START + TASK + MAP_ONE
    if action == "next":  # NextActivity, BranchDone, then the Activity map or BranchEnded
        return TASK + CHOICE + (SUCCEED if result.get("done") else MAP_ONE)
    if action == "begin":  # BeginTask, ShouldRun, then RunTask, WaitForDestination or TaskHalted
        if result.get("go"):
            return TASK + CHOICE + TASK
        return TASK + CHOICE + (WAIT if result.get("wait") else SUCCEED)
    if action == "complete":
        return TASK
    if action == "fail":  # RecordFailure, ShouldAwait
        return TASK + CHOICE
    if action == "await":  # AwaitResolution (its token adds a submitted event), ApplyResolution
        return TASK + 1 + CHOICE
    return TASK + CHOICE + SUCCEED + 1  # finish: Finish, Outcome, the end, the execution's end


def next_execution_name(workflow_id: str, current: str) -> str:
    """``<workflow_id>`` -> ``<workflow_id>-2`` -> ``<workflow_id>-3`` ..."""
    if current.startswith(f"{workflow_id}-"):
        number = current[len(workflow_id) + 1 :]
        if number.isdigit():
            return f"{workflow_id}-{int(number) + 1}"
    return f"{workflow_id}-2"
