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

from switchyard.data import audience_controls as controls
from switchyard.data.offer_history_reads import erase_audience
from switchyard.domain import errors
from switchyard.domain.errors import NotFound
from switchyard.domain.interactions import HISTORY_TYPES, InteractionStatus, space_for
from switchyard.domain.models import Principal, Stage, Task, TaskStatus, Workflow, WorkflowStatus
from switchyard.services.control_history import (
    AUDIENCE_PAUSED,
    AUDIENCE_PLAYED,
    AUDIENCE_REWOUND,
    record_control,
)
from switchyard.services.deps import Deps
from switchyard.tasks.interaction import RUN_PARTS
from switchyard.tasks.interaction_interactive import cycle_folder

S = InteractionStatus
PAUSE_REQUESTED, PAUSED, REWOUND = "pause_requested", "paused", "rewound"
HELD = (PAUSE_REQUESTED, PAUSED, REWOUND)
DONE = (TaskStatus.SUCCEEDED, TaskStatus.WARNING, TaskStatus.SKIPPED)


def _branch(run: Workflow, task_id: str) -> tuple[int, Stage] | None:
    for index, stage in enumerate(run.stages, start=1):
        if any(t.id == task_id for t in stage.tasks):
            return index, stage
    return None


# --- the gate ----------------------------------------------------------------------------------


def audience_gate(deps: Deps, workflow: Workflow, task: Task, instance_id: int) -> dict[str, Any] | None:
    """Hold (``wait_seconds``) an activity of a paused or rewound audience; halt one whose branch
    runs again from an earlier activity; None: the audience has no say."""
    states = controls.audiences(instance_id)
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
            controls.move(instance_id, branch, {"control": PAUSED}, expected=(PAUSE_REQUESTED,))
        return {"wait_seconds": max(1, deps.settings.interaction_poll_seconds)}
    if any(t.status == TaskStatus.PENDING for t in stage.tasks[: task.position]):
        return {"halt": True}  # replayed: the branch starts again from its first activity
    return None


# --- views -------------------------------------------------------------------------------------


def audience_views(
    instance_id: int, mode: str, run: Workflow | None, activities: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Each audience's status (and its held activity's ``Paused``/``Pausing``/``Stopped``, set on
    ``activities``, the instance view's rows)."""
    if run is None:
        return []
    states = controls.audiences(instance_id)
    test = mode == "test"
    out = []
    for branch, name in enumerate(_audience_names(run), start=1):
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


def _audience_names(run: Workflow) -> list[str]:
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


# --- the API's actions -------------------------------------------------------------------------


class AudienceService:
    def __init__(self, deps: Deps) -> None:
        from switchyard.services.interactions import InteractionService

        self.deps = deps
        self.interactions = InteractionService(deps)

    def _find(
        self, principal: Principal, design_id: str, key: str, instance_id: int, audience: str
    ) -> tuple[Workflow, int, Stage]:
        """The instance's run, the audience's branch number and stage (an empty one before the
        run has laid its activities out: the audiences are the workflow's, fired with it)."""
        self.interactions.instance(principal, design_id, key, instance_id)  # 404s
        instance = self.deps.interactions.instances.get(instance_id)
        run = self.deps.workflows.get(instance.workflow_id) if instance.workflow_id else None
        names = _audience_names(run) if run else []
        if run is None or audience not in names:
            raise NotFound(
                f"Instance {instance_id} has no audience {audience!r} "
                f"(it has: {', '.join(repr(n) for n in names) or 'none yet'}).",
                {"audience": audience},
            )
        index = names.index(audience)
        stage = run.stages[index] if index < len(run.stages) else Stage(name=audience)
        return run, index + 1, stage

    def _playing(self, run: Workflow, instance_id: int, action: str) -> None:
        if run.status != WorkflowStatus.RUNNING:
            status = self.interactions.instance_view(self.deps.interactions.instances.get(instance_id))[
                "status"
            ]
            raise errors.InstanceNotPlaying(
                f"Instance {instance_id} is {status}: only an audience of a playing instance can {action}.",
                {"status": status},
            )

    def _state(self, instance_id: int, branch: int) -> dict[str, Any]:
        return controls.audiences(instance_id).get(str(branch)) or {}

    def _view(self, instance_id: int) -> dict[str, Any]:
        return self.interactions.instance_view(self.deps.interactions.instances.get(instance_id))

    def pause(
        self, principal: Principal, design_id: str, key: str, instance_id: int, audience: str
    ) -> dict[str, Any]:
        run, branch, stage = self._find(principal, design_id, key, instance_id, audience)
        self._playing(run, instance_id, "be paused")
        if stage.tasks and all(t.status in DONE for t in stage.tasks):
            raise errors.AudienceStateConflict(
                f"Audience {audience!r} has completed: there is nothing left to pause."
            )
        control = self._state(instance_id, branch).get("control")
        if not controls.move(
            instance_id, branch, {"control": PAUSE_REQUESTED, "by": principal.user}, expected=(None,)
        ):
            why = "stopped and rewound: play it to run it again" if control == REWOUND else "already paused"
            raise errors.AudienceStateConflict(f"Audience {audience!r} is {why}.", {"audience": audience})
        record_control(self.deps, principal, run.id, AUDIENCE_PAUSED, {"audience": audience})
        return self._view(instance_id)

    def play(
        self, principal: Principal, design_id: str, key: str, instance_id: int, audience: str
    ) -> dict[str, Any]:
        run, branch, _ = self._find(principal, design_id, key, instance_id, audience)
        self._playing(run, instance_id, "play")
        if not controls.move(instance_id, branch, {"control": None, "by": principal.user}, expected=HELD):
            raise errors.AudienceStateConflict(
                f"Audience {audience!r} is neither paused nor rewound.", {"audience": audience}
            )
        record_control(self.deps, principal, run.id, AUDIENCE_PLAYED, {"audience": audience})
        return self._view(instance_id)

    def rewind(
        self, principal: Principal, design_id: str, key: str, instance_id: int, audience: str
    ) -> dict[str, Any]:
        """Stop a paused audience and erase what it wrote for this instance; play runs it again."""
        run, branch, stage = self._find(principal, design_id, key, instance_id, audience)
        self._playing(run, instance_id, "be rewound")
        state = self._state(instance_id, branch)
        if state.get("control") != PAUSED:
            now = "rewound already" if state.get("control") == REWOUND else "still playing an activity"
            if state.get("control") is None:
                now = "playing"
            raise errors.AudienceStateConflict(
                f"Audience {audience!r} is {now}: pause it, and rewind it once it shows Paused.",
                {"audience": audience},
            )
        if not controls.move(
            instance_id,
            branch,
            {"control": REWOUND, "rewinds": int(state.get("rewinds") or 0) + 1, "by": principal.user},
            expected=(PAUSED,),
        ):
            raise errors.ChangedMeanwhile(
                f"Audience {audience!r} changed meanwhile; read the instance again."
            )
        instance = self.deps.interactions.instances.get(instance_id)
        space = space_for(instance.mode)
        recorded = [
            str(a.get("name"))
            for a in (t.inputs.get("activity") or {} for t in stage.tasks)
            if a.get("type") in HISTORY_TYPES
        ]
        number = int((run.config or {}).get("run") or 0)  # a re-run single instance: this run only
        parts: tuple[int, int] | None = (number * RUN_PARTS, (number + 1) * RUN_PARTS)
        head = (stage.tasks[0].inputs.get("activity") or {}) if stage.tasks else {}
        if head.get("type") == "interactive_audience":
            parts = None  # all its cycles (an interactive audience is never a re-run single instance)
        removed = erase_audience(
            self.deps.interactions.history, space, instance_id, recorded, audience, parts
        )
        files: list[str] = []
        for task in stage.tasks:
            outputs = task.outputs or {}
            files.extend(str(f) for f in outputs.get("files") or [])
            if (task.inputs.get("activity") or {}).get("type") == "batch_audience" and outputs.get(
                "location"
            ):
                files.append(str(outputs["location"]))
            if (task.inputs.get("activity") or {}).get("type") == "interactive_audience":
                # every cycle's audience and the records it targeted: the replay starts afresh
                folder = cycle_folder(space, instance_id, audience)
                files.extend(self.deps.blobs.list(self.deps.settings.data_bucket, folder + "/"))
        bucket = self.deps.settings.data_bucket
        for file_key in files:
            self.deps.blobs.delete(bucket, file_key)
        task_ids = [t.id for t in stage.tasks]
        controls.forget(instance_id, task_ids, files)
        controls.reset_tasks(run.id, task_ids)
        detail = {"offer_history_removed": removed, "files_removed": files, "by": principal.user}
        controls.move(instance_id, branch, {"rewound": detail}, expected=(REWOUND,))
        record_control(
            self.deps, principal, run.id, AUDIENCE_REWOUND, {"audience": audience, "records_removed": removed}
        )
        return self._view(instance_id)
