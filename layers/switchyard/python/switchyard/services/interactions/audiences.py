"""Per-audience controls of an interaction instance: pause and play one audience (branch), and
stop-and-rewind it (docs/interactions.md, "One audience: pause, play, stop and rewind").

How it runs without Step Functions going backwards: a branch of the state machine asks the
engine for *its first activity still to run* (``next``), runs it through the task pattern, and
asks again. :func:`audience_gate` (called from the instance's gate, ``before_activity``) holds
an activity while its audience is paused or rewound. Rewinding a paused audience erases what its
activities wrote for this instance (offer history, details, its meta row, exported files, its
audience file) and puts its activities back to pending; playing it lets the held activity's
gate halt that activity (an earlier one of its branch is pending again), so the branch asks
``next`` and runs again from its first activity. The other branches never wait on it.
"""

from __future__ import annotations

from typing import Any

from switchyard.domain.interactions.design import InteractionStatus
from switchyard.domain.models import Stage, Task, TaskStatus, Workflow, WorkflowStatus
from switchyard.services.deps import Deps

S = InteractionStatus


PAUSE_REQUESTED, PAUSED, REWOUND = "pause_requested", "paused", "rewound"


HELD = (PAUSE_REQUESTED, PAUSED, REWOUND)


DONE = (TaskStatus.SUCCEEDED, TaskStatus.WARNING, TaskStatus.SKIPPED)


def _branch(run: Workflow, task_id: str) -> tuple[int, Stage] | None:
    for index, stage in enumerate(run.stages, start=1):
        if any(t.id == task_id for t in stage.tasks):
            return index, stage
    return None


def audience_gate(deps: Deps, workflow: Workflow, task: Task, instance_id: int) -> dict[str, Any] | None:
    """Hold (``wait_seconds``) an activity of a paused or rewound audience; halt one whose branch
    runs again from an earlier activity; None: the audience has no say."""
    states = deps.interactions.controls.audiences(instance_id)
    if not states:
        return None
    run = deps.workflows.get(workflow.id)
    found = _branch(run, task.id)
    if found is None:
        return None
    branch, stage = found
    control = (states.get(str(branch)) or {}).get("control")
    if control in HELD:
        if control == PAUSE_REQUESTED:
            deps.interactions.controls.move(
                instance_id, branch, {"control": PAUSED}, expected=(PAUSE_REQUESTED,)
            )
        return {"wait_seconds": max(1, deps.settings.interaction_poll_seconds)}
    if any(t.status == TaskStatus.PENDING for t in stage.tasks[: task.position]):
        return {"halt": True}  # replayed: the branch starts again from its first activity
    return None


def audience_views(
    deps: Deps, instance_id: int, mode: str, run: Workflow | None, activities: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Each audience's status (and its held activity's ``Paused``/``Pausing``/``Stopped``, set on
    ``activities``, the instance view's rows)."""
    if run is None:
        return []
    states = deps.interactions.controls.audiences(instance_id)
    test = mode == "test"
    out = []
    for branch, name in enumerate(audience_names(run), start=1):
        stage = run.stages[branch - 1] if branch <= len(run.stages) else Stage(name=name)
        state = states.get(str(branch)) or {}
        control = state.get("control")
        rows = [a for a in activities if a["branch"] == branch]
        running = any(t.status == TaskStatus.RUNNING for t in stage.tasks)
        status: str
        if control == REWOUND:
            for row in rows:
                row["status"] = S.STOPPED
            status = S.STOPPED
        elif control in (PAUSE_REQUESTED, PAUSED) and run.status == WorkflowStatus.RUNNING:
            for row, task in zip(rows, stage.tasks, strict=True):
                if task.status == TaskStatus.RUNNING:
                    row["status"] = S.PAUSING
                elif control == PAUSED and _ready(stage, task):
                    row["status"] = S.PAUSED
            status = S.PAUSING if running else S.PAUSED if control == PAUSED else S.PAUSE_REQUESTED
        else:
            status = _overall(rows, test) if rows else S.PAUSE_REQUESTED if control else S.PLAYING
        out.append(
            {
                "branch": branch,
                "audience": name,
                "status": status,
                "rewinds": int(state.get("rewinds") or 0),
                "rewound": state.get("rewound"),
            }
        )
    return out


def audience_names(run: Workflow) -> list[str]:
    """The fired workflow's audiences (each branch's first activity), known before the run has
    laid its activities out."""
    branches = ((run.config or {}).get("workflow") or {}).get("branches") or []
    return [str((b[0] if b else {}).get("name")) for b in branches]


def _ready(stage: Stage, task: Task) -> bool:
    if task.status != TaskStatus.PENDING:
        return False
    return all(t.status in DONE for t in stage.tasks[: task.position])


def _overall(rows: list[dict[str, Any]], test: bool) -> str:
    statuses = [r["status"] for r in rows]
    completed = S.TEST_COMPLETED if test else S.COMPLETED
    if statuses and all(s == completed for s in statuses):
        return completed
    for s in (S.TEST_FAILED, S.FAILED, S.PAUSING, S.PAUSED, S.STOPPED, S.COUNTING_DOWN_DELAY, S.PLAYING):
        if s in statuses:
            return s
    return S.PLAYING if any(s == completed for s in statuses) else statuses[0] if statuses else S.PLAYING
