"""Interactive audiences: a branch that runs again on its audience's frequency
(docs/interactions.md, "Interactive audience").

* :func:`cycle_gate` (asked by the instance's gate, ``before_activity``) holds the interactive
  audience until its next cycle is due, then hands it its earlier cycles. A cycle is due
  ``frequency_minutes`` after the last one started; after an outage that missed several due
  times, one cycle runs at once (it selects everything new since) and the next is due a
  frequency after it: no burst of missed cycles.
* :func:`next_cycle` (asked by the engine's ``next`` once none of a branch's activities is
  pending) puts the interactive audience back to pending, keeping its output (its cycles);
  when its next cycle is due, the gate puts the branch's later activities back to pending too
  (until then they show their last cycle). Not so when the workflow no longer runs, an activity
  failed, or ``max_cycles``/``run_until`` is reached: then the branch completes.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import Any

from switchyard.domain.interactions.activities import COUNTED, InteractiveAudience
from switchyard.domain.models import Task, Workflow, WorkflowStatus
from switchyard.services.deps import Deps
from switchyard.services.interactions.audiences import DONE

INTERACTIVE = "interactive_audience"


def is_interactive(task: Task) -> bool:
    return (task.inputs.get("activity") or {}).get("type") == INTERACTIVE


def next_due(task: Task) -> datetime | None:
    """When the interactive audience's next cycle is due (None: its first has not run)."""
    cycles = (task.outputs or {}).get("cycles") or []
    if not cycles:
        return None
    activity = InteractiveAudience.model_validate(task.inputs["activity"])
    return datetime.fromisoformat(str(cycles[-1]["at"])) + timedelta(minutes=activity.frequency_minutes)


def cycle_gate(deps: Deps, workflow: Workflow, task: Task, now: datetime) -> dict[str, Any]:
    """``{"wait_seconds": n}`` until the next cycle is due (asked again at least every
    ``interactive_check_seconds``: a stop ends the execution at once, a pause is seen when the
    cycle falls due, a rewound audience's replay starts at the next look), else
    ``{"_cycle": {...}}`` for the activity. A due cycle puts the branch's later activities back
    to pending: until then they show what they did in the last cycle."""
    due = next_due(task)
    if due is not None and due > now:
        check = max(1, deps.settings.interactive_check_seconds)
        return {"wait_seconds": max(1, min(check, math.ceil((due - now).total_seconds())))}
    outputs = task.outputs or {}
    cycles = list(outputs.get("cycles") or [])
    totals = {str(k): int(v) for k, v in (outputs.get("branch_totals") or {}).items()}
    if cycles:
        run = deps.workflows.get(workflow.id)
        stage = run.stage_of(task.id)
        later = [t for t in (stage.tasks if stage else []) if t.position > task.position]
        for t in later:  # what the last cycle's activities counted joins the branch's totals
            totals[t.id] = totals.get(t.id, 0) + (own_count(t) or 0)
        ids = [t.id for t in later]
        deps.interactions.controls.forget(
            int((run.config or {})["instance_id"]), ids, []
        )  # delays count anew
        deps.interactions.controls.reset_tasks(run.id, ids)
    return {
        "_cycle": {
            "number": int(outputs.get("cycle") or len(cycles)) + 1,
            "cycles": cycles,
            "targeted": int(outputs.get("targeted") or 0),
            "targeted_location": outputs.get("targeted_location"),
            "branch_totals": totals,
        }
    }


def own_count(task: Task) -> int | None:
    """What the activity's results bubble counts in its own output (this cycle's, in an
    interactive branch)."""
    field = COUNTED.get(str((task.inputs.get("activity") or {}).get("type", "")))
    count = (task.outputs or {}).get(field) if field else None
    return int(count) if isinstance(count, (int, float)) else None


def cumulative_count(run: Workflow, task: Task) -> int | None:
    """The activity's count over every cycle of its interactive branch (its own count when its
    branch is not interactive)."""
    own = own_count(task)
    if task.position == 0:
        return own
    stage = run.stage_of(task.id)
    head = stage.tasks[0] if stage and stage.tasks else None
    if head is None or not is_interactive(head):
        return own
    earlier = (head.outputs or {}).get("branch_totals") or {}
    if task.id not in earlier:
        return own
    return int(earlier[task.id]) + (own or 0)


def in_interactive_branch(run: Workflow, task: Task) -> bool:
    stage = run.stage_of(task.id)
    return bool(stage and stage.tasks and is_interactive(stage.tasks[0]))


def next_cycle(deps: Deps, workflow: Workflow, task_ids: list[str]) -> list[str]:
    """The branch ``task_ids`` has nothing pending: its interactive audience to run again, or []."""
    run = deps.workflows.get(workflow.id)
    if run.status != WorkflowStatus.RUNNING:
        return []
    tasks = {t.id: t for t in run.all_tasks()}
    branch = [tasks[t] for t in task_ids if t in tasks]
    if not branch or not is_interactive(branch[0]) or any(t.status not in DONE for t in branch):
        return []
    head = branch[0]
    activity = InteractiveAudience.model_validate(head.inputs["activity"])
    cycles = (head.outputs or {}).get("cycles") or []
    due = next_due(head)
    if not cycles or due is None:
        return []
    if activity.max_cycles is not None and len(cycles) >= activity.max_cycles:
        return []
    if activity.run_until is not None and due >= activity.run_until:
        return []
    deps.interactions.controls.again(run.id, head.id)  # pending again, its output (the cycles so far) kept
    return [head.id]
