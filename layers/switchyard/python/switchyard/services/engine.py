"""What the state machines ask of the engine Lambda: plan, begin, complete, fail, await, finish.

Every action is safe to replay (Step Functions retries Lambda service errors): each write is
conditional on the state it moves from.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Any

from switchyard import declarations as d
from switchyard.adapters.engine import execution_arn, state_machine_arn
from switchyard.destinations.registry import is_exclusive
from switchyard.domain.errors import NotFound, StorageBusy
from switchyard.domain.models import (
    FINISHED,
    HistoryEntry,
    Stage,
    Task,
    TaskErrorInfo,
    TaskStatus,
    Workflow,
    WorkflowStatus,
)
from switchyard.domain.task_errors import TASK_ERRORS
from switchyard.domain.workflow_types import WORKFLOW_TYPES
from switchyard.observability import logger
from switchyard.services.deps import Deps
from switchyard.services.handoff import events_of, next_execution_name
from switchyard.services.run_hooks import handing_off_types, hooks_for

# Finish's answer when a new execution carries the run on (the finish fragment's Continued).
CONTINUED = "continued"
# The resolution token of a failed run whose execution has ended under it (interrupted): a
# resolution carries the run on in a new execution instead of answering a token.
NEW_EXECUTION = "new-execution"
# Workflow id -> type, for counting history events of the types that hand off only.
_TYPES: dict[str, str] = {}


def _next_execution(workflow_id: str, execution: str) -> tuple[str, str, str]:
    """The machine, name and ARN of the execution that carries a run on from ``execution``."""
    machine = state_machine_arn(execution)
    name = next_execution_name(workflow_id, execution.rsplit(":", 1)[-1])
    return machine, name, execution_arn(machine, name)


def task_id_for(workflow_id: str, stage_index: int, task_index: int) -> str:
    return f"t{stage_index:02d}{task_index:03d}-{uuid.uuid5(uuid.NAMESPACE_URL, workflow_id).hex[:6]}"


class EngineService:
    def __init__(self, deps: Deps) -> None:
        self.deps = deps

    # --- plan -------------------------------------------------------------------------------

    def plan(self, workflow_id: str) -> dict[str, Any]:
        """Lay out stages and tasks from the configuration; returns task ids per stage key."""
        workflow = self.deps.workflows.get(workflow_id)
        if workflow.stages:  # replayed: the plan is recorded already
            return _plan_result(workflow.stages)
        wtype = WORKFLOW_TYPES[workflow.type]
        config = {k: v for k, v in (workflow.config or {}).items() if not k.startswith("_")} or None
        planned = wtype.plan(workflow.name, config, workflow.started_at, self.deps.config)
        stages: list[Stage] = []
        for si, stage in enumerate(planned):
            tasks = [
                Task(
                    id=task_id_for(workflow_id, si, ti),
                    name=t.name,
                    kind=t.kind,
                    stage=stage.name,
                    position=ti,
                    stoppable=t.stoppable,
                    inputs=t.inputs,
                )
                for ti, t in enumerate(stage.tasks)
            ]
            stages.append(Stage(key=stage.key, name=stage.name, tasks=tasks))
        self.deps.workflows.record_plan(workflow_id, stages)
        return _plan_result(stages)

    # --- the task pattern -------------------------------------------------------------------

    def begin(self, workflow_id: str, task_id: str) -> dict[str, Any]:
        now = self.deps.clock()
        halt = {
            "go": False,
            "wait": False,
            "wait_seconds": 0,
            "timeout_seconds": d.TASK_TIMEOUT_MARGIN_S,
            "function": "",
            "payload": {},
        }
        workflow = self.deps.workflows.get(workflow_id, with_tasks=False)
        task = self.deps.workflows.get_task(workflow_id, task_id)
        extra, hold, gated = self._gate(workflow, task)
        if hold < 0:  # the type says this task is not to run now (its sequence starts over)
            return halt
        if hold and self._hands_off(self.deps.workflows.get(workflow_id, with_tasks=False), task_id):
            return halt  # held for later, and a new execution takes the run on: not held here
        if hold:
            return {**halt, "wait": True, "wait_seconds": hold}
        if gated:  # the type's gate may have changed the task (its inputs, its attempts)
            task = self.deps.workflows.get_task(workflow_id, task_id)
        lock = _exclusive_lock(task)
        if lock is not None:
            holder = self.deps.locks.acquire(lock, workflow_id, self._is_active)
            if holder is not None:
                if self.deps.workflows.get(workflow_id, with_tasks=False).status != WorkflowStatus.RUNNING:
                    return halt
                self.deps.workflows.add_task_warning(
                    workflow_id,
                    task_id,
                    f"Waited for {lock.split(':', 1)[1]}: it takes one send at a time and run {holder} "
                    "was still sending.",
                )
                return {**halt, "wait": True, "wait_seconds": self.deps.settings.exclusive_wait_seconds}
        if self.deps.workflows.begin_task(workflow_id, task_id, now):
            # What begin_task wrote, without reading it back (the write was conditional on the
            # task being pending or failed, so the rest of what was read stands).
            task = _begun(task, now)
        else:
            begun = self._begun_meanwhile(workflow_id, task_id, now)
            if begun is None:
                logger.info("task not started: workflow is not running", extra={"task_id": task_id})
                if lock is not None:
                    self.deps.locks.release(lock, workflow_id)
                self._after_task(workflow_id, task_id)
                return halt
            task = begun
        self._emit(workflow_id, task, TaskStatus.RUNNING)
        function = self.deps.settings.task_functions[task.kind]
        payload = {**task.inputs, **extra, "_workflow_id": workflow_id, "_mode": str(workflow.mode)}
        return {
            **halt,
            "go": True,
            "timeout_seconds": self.deps.settings.task_timeouts.get(task.kind, d.DEFAULT_TASK_TIMEOUT_S),
            "function": function,
            "payload": payload,
        }

    def _begun_meanwhile(self, workflow_id: str, task_id: str, now: datetime) -> Task | None:
        """The task to run when its conditional begin did not write, or None to halt. A stopped
        or stopping run starts no task (None). In a running run, the task is already running
        when this is a replayed begin (the machine retried the step after an answer it did not
        get, although the write landed): it runs as begun. A task still pending or failed is
        begun again, once; if that does not hold either, the step is retried (StorageBusy)."""
        if self.deps.workflows.get(workflow_id, with_tasks=False).status != WorkflowStatus.RUNNING:
            return None
        current = self.deps.workflows.get_task(workflow_id, task_id)
        if current.status == TaskStatus.RUNNING:
            logger.info("task begun already: a replayed begin runs it", extra={"task_id": task_id})
            return current
        if current.status not in (TaskStatus.PENDING, TaskStatus.FAILED):
            return None  # it ended meanwhile: nothing to run
        if self.deps.workflows.begin_task(workflow_id, task_id, now):
            return _begun(current, now)
        raise StorageBusy(f"Task {task_id} could not be begun: its run changed meanwhile; try again.")

    def _gate(self, workflow: Workflow, task: Task) -> tuple[dict[str, Any], int, bool]:
        """The workflow type's say before a task starts: (inputs to add, seconds to hold; -1:
        do not run it now; whether the type's gate ran)."""
        gate = hooks_for(workflow.type).before_task
        if gate is None or workflow.status != WorkflowStatus.RUNNING:
            return {}, 0, False
        decision = gate(self.deps, workflow, task)
        if decision.get("halt"):
            return {}, -1, True
        return dict(decision.get("payload") or {}), int(decision.get("wait_seconds") or 0), True

    def _after_task(self, workflow_id: str, task_id: str | None, workflow: Workflow | None = None) -> None:
        """The workflow type's say when a task (``task_id``) or the whole run ends (the run is
        read only for the types that have a say)."""
        hook = hooks_for(self._type_of(workflow_id)).after_task
        if hook is not None:
            hook(self.deps, workflow or self.deps.workflows.get(workflow_id, with_tasks=False), task_id)

    def _type_of(self, workflow_id: str) -> str:
        """A run's type, read once per container (it never changes)."""
        if workflow_id not in _TYPES:
            if len(_TYPES) > 1000:
                _TYPES.clear()
            _TYPES[workflow_id] = self.deps.workflows.workflow_type(workflow_id)
        return _TYPES[workflow_id]

    def next_task(self, workflow_id: str, task_ids: list[str]) -> dict[str, Any]:
        """The first task of a sequence still to run, for state machines that loop over a stage
        instead of mapping it once (an interaction's branch: a rewound audience runs its
        activities again). Done once none is pending or the workflow no longer runs."""
        done = {"done": True, "task_ids": []}
        workflow = self.deps.workflows.get(workflow_id)
        if workflow.status != WorkflowStatus.RUNNING:
            return done
        pending = {t.id for t in workflow.all_tasks() if t.status == TaskStatus.PENDING}
        first = next((t for t in task_ids if t in pending), None)
        again = hooks_for(workflow.type).again
        if first is None and again is not None:  # an interactive audience's next cycle
            first = next(iter(again(self.deps, workflow, task_ids)), None)
        if first is not None and self._hands_off(workflow, first):
            return {**done, "handoff": True}  # the sequence carries on in a new execution
        return done if first is None else {"done": False, "task_ids": [first]}

    # --- one run over several executions (services/handoff.py) ------------------------------

    def _hands_off(self, workflow: Workflow, task_id: str) -> bool:
        """The type's say: does the sequence of ``task_id`` (about to run or be held) end here,
        for a new execution to carry the run on? Recorded on the run for Finish."""
        hand_off = hooks_for(workflow.type).hand_off
        if hand_off is None:
            return False
        if not hand_off(self.deps, workflow, self.deps.workflows.get_task(workflow.id, task_id)):
            return False
        self.deps.workflows.mark_handing_off(workflow.id)
        logger.info(
            "sequence hands off to a new execution", extra={"workflow_id": workflow.id, "task_id": task_id}
        )
        return True

    def count_events(self, workflow_id: str, action: str, result: dict[str, Any]) -> None:
        """Add the history events of an engine call to the current execution's estimate, for
        the types that hand off (``RunHooks.hand_off``)."""
        handing_off = handing_off_types()
        if not handing_off or result.get("status") == CONTINUED:
            return
        try:
            wtype = self._type_of(workflow_id)
        except NotFound:
            return
        if wtype in handing_off:
            self.deps.workflows.add_execution_events(workflow_id, events_of(action, result), handing_off)

    def _carries_on(self, workflow: Workflow) -> bool:
        """Every sequence has ended, some by handing off: a new execution carries the run on."""
        return (
            hooks_for(workflow.type).hand_off is not None
            and any(t.status == TaskStatus.PENDING for t in workflow.all_tasks())
            and self.deps.workflows.handing_off(workflow.id)
        )

    def _continue(
        self, workflow: Workflow, execution: str, event: str = "continued", by: str = "switchyard"
    ) -> dict[str, Any]:
        """Make the next execution the run's (stop, resolutions and views act on it; its events
        count from zero), then start it. Both once: its name follows the caller's, so a retried
        Finish records and starts the same one. Also how a run whose execution ended under it
        carries on (``event``: ``resumed``, or ``resolution_applied`` after a resolution)."""
        machine, name, arn = _next_execution(workflow.id, execution)
        entry = HistoryEntry(
            at=self.deps.clock(),
            event=event,
            by=by,
            detail={
                "execution": name,
                "previous_execution_events": self.deps.workflows.execution_events(workflow.id),
            },
        )
        if not self.deps.workflows.continue_execution(workflow, execution, arn, entry):
            now = self.deps.workflows.get(workflow.id, with_tasks=False)
            if now.execution_arn != arn:
                logger.warning(
                    "run not continued: another execution is its own", extra={"workflow_id": workflow.id}
                )
                return {"status": now.status}
        self.deps.engine.start_named(machine, name, {"workflow_id": workflow.id, "failure": None})
        logger.info("run continues in a new execution", extra={"workflow_id": workflow.id, "execution": name})
        return {"status": CONTINUED}

    def carry_on(self, workflow_id: str, event: str, by: str = "switchyard") -> dict[str, Any]:
        """Carry a run on in a new execution after its own ended under it (interrupted): the
        new execution replays the recorded plan and begins what is pending or failed."""
        workflow = self.deps.workflows.get(workflow_id, with_tasks=False)
        execution = workflow.execution_arn or ""
        if not execution:
            return {"status": workflow.status}
        return self._continue(workflow, execution, event, by)

    def _superseded(self, workflow: Workflow, execution: str) -> dict[str, Any]:
        """A Finish retried after it handed the run over: the run is another execution's now.
        Start that one if it is the caller's next (the first try may have stopped short of it);
        the run itself is left alone."""
        machine, name, arn = _next_execution(workflow.id, execution)
        if workflow.execution_arn == arn:
            self.deps.engine.start_named(machine, name, {"workflow_id": workflow.id, "failure": None})
        return {"status": CONTINUED}

    def _is_active(self, workflow_id: str) -> bool:
        try:
            return self.deps.workflows.get(workflow_id, with_tasks=False).status not in FINISHED
        except NotFound:
            return False

    def complete(self, workflow_id: str, task_id: str, output: dict[str, Any]) -> dict[str, Any]:
        warnings = [str(w) for w in output.pop("warnings", [])] if isinstance(output, dict) else []
        task = self.deps.workflows.get_task(workflow_id, task_id)
        warnings = [*task.warnings, *(w for w in warnings if w not in task.warnings)]
        status = TaskStatus.WARNING if warnings else TaskStatus.SUCCEEDED
        lock = _exclusive_lock(task)
        if lock is not None:
            self.deps.locks.release(lock, workflow_id)
        recorded = self.deps.workflows.finish_task(
            workflow_id, task_id, status, self.deps.clock(), outputs=output, warnings=warnings
        )
        if recorded:  # what the event tells (name, stage, no error) is what was read
            self._emit(workflow_id, task, status)
        self._after_task(workflow_id, task_id)
        return {"status": status if recorded else "ignored"}

    def fail(self, workflow_id: str, task_id: str, failure: dict[str, Any]) -> dict[str, Any]:
        error = classify(failure)
        became_failed = self.deps.workflows.fail_task(workflow_id, task_id, error, self.deps.clock())
        task = self.deps.workflows.get_task(workflow_id, task_id)
        self._emit(workflow_id, task, TaskStatus.FAILED)
        workflow = self.deps.workflows.get(workflow_id, with_tasks=False)
        self._after_task(workflow_id, task_id, workflow)
        if became_failed:
            self._emit_workflow(workflow, task)
        # Wait for a resolution only when the failure failed the workflow (not while it stops).
        return {"await": became_failed, "error": error.model_dump()}

    def await_resolution(self, workflow_id: str, task_id: str, token: str) -> dict[str, Any]:
        """Store the task token; a resolution (or a stop) applied through the API sends it back.

        When the workflow was stopped before the token was stored, the stop request has ended
        the execution itself (see ``WorkflowService.stop``): nothing to store.
        """
        return {"stored": self.deps.workflows.store_resolution_token(workflow_id, task_id, token)}

    # --- finish -----------------------------------------------------------------------------

    def finish(
        self, workflow_id: str, failure: dict[str, Any] | None, execution: str | None = None
    ) -> dict[str, Any]:
        workflow = self.deps.workflows.get(workflow_id)
        if execution and workflow.execution_arn and workflow.execution_arn != execution:
            return self._superseded(workflow, execution)
        if workflow.status in FINISHED and workflow.status != WorkflowStatus.FAILED:
            return {"status": workflow.status}
        if (
            workflow.status == WorkflowStatus.RUNNING
            and not failure
            and execution
            and self._carries_on(workflow)
        ):
            return self._continue(workflow, execution)
        now = self.deps.clock()
        if workflow.status == WorkflowStatus.STOPPING:
            self.deps.workflows.stop_open_tasks(workflow_id, now)
            status = WorkflowStatus.STOPPED
            self.deps.workflows.finish(workflow, status, now)
        elif failure:
            status = WorkflowStatus.FAILED
            self.deps.workflows.finish(
                workflow,
                status,
                now,
                error=classify(failure),
                expected=(WorkflowStatus.RUNNING, WorkflowStatus.FAILED),
            )
        else:
            status = WorkflowStatus.SUCCEEDED
            warnings = [f"{t.name}: {w}" for t in workflow.all_tasks() for w in t.warnings]
            self.deps.workflows.finish(workflow, status, now, warnings=warnings)
        self.deps.locks.release_all(workflow_id)
        self._after_task(workflow_id, None, workflow)
        final = self.deps.workflows.get(workflow_id, with_tasks=False)
        self._emit_workflow(final, None)
        return {"status": final.status}

    # --- events -----------------------------------------------------------------------------

    def _emit(self, workflow_id: str, task: Task, status: TaskStatus) -> None:
        self.deps.events.publish(
            "Task Status Changed",
            {
                "workflow_id": workflow_id,
                "task_id": task.id,
                "task": task.name,
                "stage": task.stage,
                "status": status,
                "error": task.error.model_dump() if task.error else None,
            },
        )

    def _emit_workflow(self, workflow: Workflow, task: Task | None) -> None:
        emit_workflow_status(self.deps, workflow, task)


def _begun(task: Task, now: datetime) -> Task:
    """``task`` as a begin writes it: running, one attempt more, no end or error."""
    return task.model_copy(
        update={
            "status": TaskStatus.RUNNING,
            "attempts": task.attempts + 1,
            "started_at": now,
            "ended_at": None,
            "error": None,
        }
    )


def _exclusive_lock(task: Task) -> str | None:
    """The lock a task takes: a send to a destination that takes one send at a time."""
    destination = task.inputs.get("destination") if task.kind == "deliver" else None
    if isinstance(destination, dict) and is_exclusive(destination):
        return f"destination:{destination['name']}"
    return None


def _plan_result(stages: list[Stage]) -> dict[str, Any]:
    """Task ids per stage key, and per stage in order (``branches``: what runs in parallel)."""
    return {
        "stages": {s.key: [t.id for t in s.tasks] for s in stages},
        "branches": [[t.id for t in s.tasks] for s in stages],
    }


def emit_workflow_status(deps: Deps, workflow: Workflow, task: Task | None = None) -> None:
    console = deps.settings.console_url
    deps.events.publish(
        "Workflow Status Changed",
        {
            "workflow_id": workflow.id,
            "type": workflow.type,
            "name": workflow.name,
            "status": workflow.status,
            "started_by": workflow.started_by,
            "error": workflow.error.model_dump() if workflow.error else None,
            "failed_task": task.name if task else None,
            "url": f"{console}/console/workflows/{workflow.id}"
            if console
            else f"/console/workflows/{workflow.id}",
        },
    )


# Step Functions' and Lambda's own errors a user can act on, by name: what the task error says.
PLATFORM_ERRORS = {
    "States.Timeout": (
        "task_timed_out",
        "The task did not answer within its time limit (its function's timeout and a margin).",
    ),
    "Lambda.TooManyRequestsException": (
        "task_throttled",
        "Lambda refused the task for lack of concurrency, still after the retries.",
    ),
}


def classify(failure: dict[str, Any]) -> TaskErrorInfo:
    """Turn a Step Functions failure (``Error`` + ``Cause``) into a classified task error.

    The class of the error raised by the task travels as ``errorType``: classification is by
    that type, never by the message text.
    """
    error_type = str(failure.get("Error") or "Exception")
    cause_raw = failure.get("Cause") or ""
    message: str = str(cause_raw)
    detail: dict[str, Any] = {}
    try:
        cause = json.loads(cause_raw)
        if isinstance(cause, dict):
            error_type = str(cause.get("errorType") or error_type)
            message = str(cause.get("errorMessage") or "")
            found = cause.get("detail")
            detail = found if isinstance(found, dict) else {}
    except (TypeError, ValueError):
        pass
    known = TASK_ERRORS.get(error_type)
    if known is not None:
        return TaskErrorInfo(code=known.code, category=known.category, message=message, detail=detail)
    if error_type in PLATFORM_ERRORS:
        code, words = PLATFORM_ERRORS[error_type]
        return TaskErrorInfo(
            code=code, category="platform", message=message or words, detail={"error": error_type}
        )
    if error_type.startswith("States.") or error_type.startswith("Lambda."):
        return TaskErrorInfo(
            code="platform_error",
            category="platform",
            message=message or error_type,
            detail={"error": error_type},
        )
    return TaskErrorInfo(
        code="unexpected_error",
        category="internal",
        message=message or error_type,
        detail={"error": error_type},
    )
