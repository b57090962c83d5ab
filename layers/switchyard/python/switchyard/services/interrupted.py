"""Runs whose Step Functions execution ended under them: resumed, stopped, or failed ``interrupted``.

A run is ``running``, ``stopping`` or ``failed`` (waiting for a resolution) only while its
execution runs. On AWS an execution can end under a run (stopped by hand in the console, timed
out, aborted by a redeploy); in the local runtime every execution ends with the process that ran
it (its interpreter threads cannot be kept), so the runtime sweeps at every start. For each run
whose execution is no longer running, :meth:`InterruptedRuns.sweep`:

* ``stopping``: ends it ``stopped``, as the execution would have;
* ``running`` with a task running: fails that task (and the run) with the ``interrupted`` error
  (whether the task finished is not known: it may have sent, so nothing is run again unasked).
  The run offers ``retry_task``, ``restart_task`` and ``skip_task``; applying one carries the
  run on in a new execution;
* ``running`` between tasks (waiting for a destination, an interaction counting a delay down or
  waiting for its event, held while paused): carries it on in a new execution at once. Timers
  are recorded as deadlines (``Instance.delays``), so the new execution waits out what remains;
* ``failed`` waiting for a resolution: its task token died with the execution; a resolution
  now carries the run on in a new execution (``NEW_EXECUTION``).

On AWS nothing restarts, so nothing sweeps: Step Functions' own "Execution Status Change" event
(an execution ``ABORTED``, ``TIMED_OUT`` or ``FAILED``) reaches the triggers function through an
EventBridge rule on the default bus, and :meth:`InterruptedRuns.settle` reconciles that one run.

Every step is a conditional write: a sweep run twice, or next to the execution that ends, does
nothing twice.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from switchyard.domain.errors import NotFound
from switchyard.domain.models import TaskStatus, WorkflowStatus
from switchyard.domain.task_errors import ExecutionInterruptedError
from switchyard.observability import logger
from switchyard.services.deps import Deps
from switchyard.services.engine import NEW_EXECUTION, EngineService

# Runs no execution drives any more (a failed run waits for a resolution: it is not among them).
ENDED = frozenset({WorkflowStatus.STOPPED, WorkflowStatus.SUCCEEDED})

INTERRUPTED_MESSAGE = (
    "The run's execution ended while this task ran (the runtime stopped, or the execution was "
    "aborted or timed out), so whether the task finished is not known. Retry it, restart it "
    "with the current configuration, or skip it."
)


@dataclass
class Swept:
    resumed: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    stopped: list[str] = field(default_factory=list)
    # failed runs waiting for a resolution, which now carries them on in a new execution
    rearmed: list[str] = field(default_factory=list)

    def total(self) -> int:
        return len(self.resumed) + len(self.failed) + len(self.stopped) + len(self.rearmed)


class InterruptedRuns:
    def __init__(self, deps: Deps) -> None:
        self.deps = deps
        self.engine = EngineService(deps)

    def sweep(self) -> Swept:
        swept = Swept()
        for workflow_id in self.deps.workflows.unfinished():
            try:
                self.reconcile(workflow_id, swept)
            except NotFound:
                continue
        if swept.total():
            logger.info("runs interrupted under their execution", extra={"swept": swept.__dict__})
        return swept

    def settle(self, execution_arn: str, workflow_ids: list[str]) -> Swept:
        """Reconcile the run that ``execution_arn`` drove, once that execution has ended.

        ``workflow_ids`` are the candidates the event names (its input's ``workflow_id``, its
        execution's name); only a run whose current execution is ``execution_arn`` is touched: an
        execution a run has already left (it carries on in a newer one) changes nothing."""
        swept = Swept()
        for workflow_id in dict.fromkeys(workflow_ids):
            try:
                workflow = self.deps.workflows.get(workflow_id, with_tasks=False)
            except NotFound:
                continue
            if workflow.execution_arn != execution_arn or workflow.status in ENDED:
                continue
            self.reconcile(workflow_id, swept)
            break
        if swept.total():
            logger.info("run settled after its execution ended", extra={"swept": swept.__dict__})
        return swept

    def reconcile(self, workflow_id: str, swept: Swept) -> None:
        workflow = self.deps.workflows.get(workflow_id)
        if not workflow.execution_arn or self.deps.engine.status(workflow.execution_arn) == "RUNNING":
            return  # not started yet, or its execution still drives it
        if workflow.status == WorkflowStatus.STOPPING:
            self.engine.finish(workflow_id, None)
            swept.stopped.append(workflow_id)
        elif workflow.status == WorkflowStatus.FAILED:
            waiting = workflow.resolution_task_id
            if (
                waiting
                and self.deps.workflows.resolution_token(workflow_id) != NEW_EXECUTION
                and self.deps.workflows.store_resolution_token(workflow_id, waiting, NEW_EXECUTION)
            ):
                swept.rearmed.append(workflow_id)
        elif workflow.status == WorkflowStatus.RUNNING:
            running = [t for t in workflow.all_tasks() if t.status == TaskStatus.RUNNING]
            if not running:
                self.engine.carry_on(workflow_id, "resumed")
                swept.resumed.append(workflow_id)
                return
            failure = {
                "Error": ExecutionInterruptedError.__name__,
                "Cause": json.dumps(
                    {"errorType": ExecutionInterruptedError.__name__, "errorMessage": INTERRUPTED_MESSAGE}
                ),
            }
            # The first one fails the run and holds its resolutions; the others fail with it.
            for task in running:
                self.engine.fail(workflow_id, task.id, failure)
            failed = self.deps.workflows.get(workflow_id, with_tasks=False)
            if failed.resolution_task_id:
                self.deps.workflows.store_resolution_token(
                    workflow_id, failed.resolution_task_id, NEW_EXECUTION
                )
            swept.failed.append(workflow_id)
