"""Workflows and their tasks in DynamoDB: runs, their stages and tasks, history, tokens,
listing with filters and cursors (what a run records of its executions: data/executions.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pynamodb.exceptions import DoesNotExist, PutError, TransactWriteError, UpdateError
from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action
from pynamodb.transactions import TransactWrite

from switchyard.data.common import conditional_failed, iso, transactions_connection
from switchyard.data.executions import ExecutionRecords
from switchyard.data.models import (
    IdempotencyModel,
    StageAttribute,
    TaskModel,
    WorkflowModel,
)
from switchyard.data.repository import IdempotencyClaim, IdempotencyRepository
from switchyard.data.workflow_items import (
    item_key,
    task_to_model,
    to_model,
    to_task,
    to_workflow,
    workflows_key,
)
from switchyard.domain.cursors import decode_cursor, encode_cursor
from switchyard.domain.errors import TaskNotFound, WorkflowNotFound
from switchyard.domain.models import (
    HistoryEntry,
    Stage,
    Task,
    TaskErrorInfo,
    TaskStatus,
    Workflow,
    WorkflowStatus,
)

SORTABLE = ("started_at", "name")


class WorkflowRepository(ExecutionRecords):
    """Workflows and their tasks."""

    # --- reading -------------------------------------------------------------------------

    def get(self, workflow_id: str, with_tasks: bool = True) -> Workflow:
        try:
            item = WorkflowModel.get(workflow_id, consistent_read=True)
        except DoesNotExist:
            raise WorkflowNotFound(
                f"No workflow with id {workflow_id!r}.", {"workflow_id": workflow_id}
            ) from None
        tasks = list(TaskModel.query(workflow_id, consistent_read=True)) if with_tasks else []
        return to_workflow(item, tasks)

    def get_task(self, workflow_id: str, task_id: str) -> Task:
        try:
            return to_task(TaskModel.get(workflow_id, task_id, consistent_read=True))
        except DoesNotExist:
            raise TaskNotFound(f"No task {task_id!r} in workflow {workflow_id!r}.") from None

    def unfinished(self) -> list[str]:
        """The ids of every tenant's runs that are running, stopping or failed (a scan: for an
        occasional sweep, not for a request)."""
        open_statuses = (WorkflowStatus.RUNNING, WorkflowStatus.STOPPING, WorkflowStatus.FAILED)
        return [
            str(item.workflow_id)
            for item in WorkflowModel.scan(
                WorkflowModel.status.is_in(*open_statuses), attributes_to_get=["workflow_id", "status"]
            )
        ]

    def query(
        self,
        tenant: str,
        *,
        status: str | None = None,
        workflow_type: str | None = None,
        started_by: str | None = None,
        q: str | None = None,
        sort: str = "started_at",
        descending: bool = True,
        limit: int = 50,
        cursor: str | None = None,
        summary: bool = False,
    ) -> tuple[list[Workflow], str | None]:
        """Query the most selective index; remaining filters become filter expressions.

        ``summary``: read only what a list shows (:data:`SUMMARY_ATTRIBUTES`, and the keys a
        cursor needs); the runs come back without their configuration, stages or history. A run
        item holds its stages and history, so a page of whole items was most of a list's cost,
        in DynamoDB's reply and in reading it."""
        filters: list[Condition] = []
        index: Any
        if sort == "name":
            index, hash_value = WorkflowModel.by_name, tenant
            for attr, value in (
                (WorkflowModel.status, status),
                (WorkflowModel.workflow_type, workflow_type),
                (WorkflowModel.started_by, started_by),
            ):
                if value:
                    filters.append(attr == value)
        elif status:
            index, hash_value = WorkflowModel.by_status, f"{tenant}#{status}"
            if workflow_type:
                filters.append(WorkflowModel.workflow_type == workflow_type)
            if started_by:
                filters.append(WorkflowModel.started_by == started_by)
        elif workflow_type:
            index, hash_value = WorkflowModel.by_type, f"{tenant}#{workflow_type}"
            if started_by:
                filters.append(WorkflowModel.started_by == started_by)
        elif started_by:
            index, hash_value = WorkflowModel.by_started_by, f"{tenant}#{started_by}"
        else:
            index, hash_value = WorkflowModel.by_tenant, tenant
        if q:
            needle = q.strip().lower()
            filters.append(WorkflowModel.search_text.contains(needle) | (WorkflowModel.status == needle))
        condition: Condition | None = None
        for f in filters:
            condition = f if condition is None else condition & f
        start_key = decode_cursor(cursor, workflows_key) if cursor else None
        items: list[WorkflowModel] = []
        last_key: dict[str, Any] | None = None
        # One more than the page: when it comes, there is a next page (no second query to ask).
        results = index.query(
            hash_value,
            filter_condition=condition,
            scan_index_forward=not descending,
            last_evaluated_key=start_key,
            page_size=max(limit + 1, 25),
            attributes_to_get=_summary_attributes(index) if summary else None,
        )
        for item in results:
            if len(items) == limit:
                last_key = item_key(items[-1], index)
                break
            items.append(item)
        return [to_workflow(i, []) for i in items], (encode_cursor(last_key) if last_key else None)

    # --- writing -------------------------------------------------------------------------

    def create(self, workflow: Workflow, claim: IdempotencyClaim | None = None) -> bool:
        """Write a new run; with ``claim``, its Idempotency-Key in the same transaction: both are
        written or neither is. False, with nothing written, when the key is already held.

        Any other failure (DynamoDB refusing the item, a throttle) raises as it is: it is not
        "the run exists", and nothing was written.
        """
        item = to_model(workflow)
        if claim is None:
            try:
                item.save(condition=WorkflowModel.workflow_id.does_not_exist())
            except PutError as exc:
                if conditional_failed(exc):  # pragma: no cover - ids are uuids
                    raise RuntimeError(f"workflow {workflow.id} exists") from exc
                raise
            return True
        key = IdempotencyModel(
            claim.key,
            request_hash=claim.request_hash,
            workflow_id=workflow.id,
            expires_at=int(claim.at.timestamp()) + IdempotencyRepository.TTL_SECONDS,
        )
        try:
            with TransactWrite(connection=transactions_connection()) as tx:
                tx.save(key, condition=IdempotencyModel.key.does_not_exist())
                tx.save(item, condition=WorkflowModel.workflow_id.does_not_exist())
        except TransactWriteError as exc:
            if conditional_failed(exc):
                return False
            raise
        return True

    def delete(self, workflow_id: str) -> None:
        for task in TaskModel.query(workflow_id):
            task.delete()
        WorkflowModel(workflow_id).delete()

    def set_execution(self, workflow_id: str, execution_arn: str) -> None:
        WorkflowModel(workflow_id).update(actions=[WorkflowModel.execution_arn.set(execution_arn)])

    def add_task_warning(self, workflow_id: str, task_id: str, warning: str) -> None:
        task = TaskModel.get(workflow_id, task_id, consistent_read=True)
        current = [str(w) for w in task.warnings or []]
        if warning not in current:
            task.update(actions=[TaskModel.warnings.set([*current, warning])])  # type: ignore[arg-type,list-item]

    def record_plan(self, workflow_id: str, stages: list[Stage]) -> None:
        """Write the planned tasks and the stage layout, once (a replayed Plan changes nothing)."""
        with TaskModel.batch_write() as batch:
            for stage in stages:
                for task in stage.tasks:
                    batch.save(task_to_model(workflow_id, task))
        try:
            WorkflowModel(workflow_id).update(
                actions=[
                    WorkflowModel.stages.set(
                        [
                            StageAttribute(key=s.key, name=s.name, task_ids=[t.id for t in s.tasks])
                            for s in stages
                        ]
                    )
                ],
                condition=WorkflowModel.stages.does_not_exist(),
            )
        except UpdateError as exc:
            if not conditional_failed(exc):
                raise

    def begin_task(self, workflow_id: str, task_id: str, now: datetime) -> bool:
        """Mark a task running, only while its workflow runs. False: the workflow stops."""
        try:
            with TransactWrite(connection=transactions_connection()) as tx:
                tx.condition_check(
                    WorkflowModel, workflow_id, condition=WorkflowModel.status == WorkflowStatus.RUNNING
                )
                tx.update(
                    TaskModel(workflow_id, task_id),
                    actions=[
                        TaskModel.status.set(TaskStatus.RUNNING),
                        TaskModel.attempts.add(1),
                        TaskModel.started_at.set(iso(now)),
                        TaskModel.ended_at.remove(),
                        TaskModel.error.remove(),
                    ],
                    condition=TaskModel.status.is_in(TaskStatus.PENDING, TaskStatus.FAILED),
                )
        except TransactWriteError as exc:
            if conditional_failed(exc):
                return False
            raise
        return True

    def finish_task(
        self,
        workflow_id: str,
        task_id: str,
        status: TaskStatus,
        now: datetime,
        *,
        outputs: dict[str, Any] | None = None,
        warnings: list[str] | None = None,
        expected: tuple[TaskStatus, ...] = (TaskStatus.RUNNING,),
    ) -> bool:
        actions: list[Action] = [TaskModel.status.set(status), TaskModel.ended_at.set(iso(now))]
        if outputs is not None:
            actions.append(TaskModel.outputs.set(outputs))
        if warnings:
            actions.append(TaskModel.warnings.set(warnings))  # type: ignore[arg-type]  # pynamodb types list items as attributes
        try:
            TaskModel(workflow_id, task_id).update(
                actions=actions, condition=TaskModel.status.is_in(*expected)
            )
        except UpdateError as exc:
            if conditional_failed(exc):
                return False
            raise
        return True

    def fail_task(self, workflow_id: str, task_id: str, error: TaskErrorInfo, now: datetime) -> bool:
        """Record the failure; the workflow becomes ``failed`` (waiting for a resolution).

        Returns False when the workflow is no longer running (stopping): the task is still
        recorded as failed, but the workflow keeps its status.
        """
        err = error.model_dump()
        task_actions: list[Action] = [
            TaskModel.status.set(TaskStatus.FAILED),
            TaskModel.error.set(err),
            TaskModel.ended_at.set(iso(now)),
        ]
        try:
            with TransactWrite(connection=transactions_connection()) as tx:
                tx.update(
                    TaskModel(workflow_id, task_id),
                    actions=task_actions,
                    condition=TaskModel.status == TaskStatus.RUNNING,
                )
                tx.update(
                    WorkflowModel(workflow_id),
                    actions=[
                        WorkflowModel.status.set(WorkflowStatus.FAILED),
                        WorkflowModel.tenant_status.set(f"{self._tenant(workflow_id)}#failed"),
                        WorkflowModel.error.set(err),
                        WorkflowModel.resolution_task_id.set(task_id),
                        WorkflowModel.version.add(1),
                    ],
                    condition=WorkflowModel.status == WorkflowStatus.RUNNING,
                )
        except TransactWriteError as exc:
            if not conditional_failed(exc):
                raise
            TaskModel(workflow_id, task_id).update(actions=task_actions)
            return False
        return True

    def store_resolution_token(self, workflow_id: str, task_id: str, token: str) -> bool:
        try:
            WorkflowModel(workflow_id).update(
                actions=[WorkflowModel.resolution_token.set(token)],
                condition=(WorkflowModel.resolution_task_id == task_id)
                & (WorkflowModel.status == WorkflowStatus.FAILED),
            )
        except UpdateError as exc:
            if conditional_failed(exc):
                return False
            raise
        return True

    def apply_resolution(
        self,
        workflow: Workflow,
        task_id: str,
        task_changes: dict[str, Any],
        entry: HistoryEntry,
    ) -> bool:
        """Resume a failed workflow, exactly once: False when another request got there first.

        ``task_changes`` may set the failed task's ``status``, ``inputs``, ``ended_at``, ``warnings``.
        """
        task_actions: list[Action] = []
        if "status" in task_changes:
            task_actions.append(TaskModel.status.set(task_changes["status"]))
        if "inputs" in task_changes:
            task_actions.append(TaskModel.inputs.set(task_changes["inputs"]))
        if "ended_at" in task_changes:
            task_actions.append(TaskModel.ended_at.set(iso(task_changes["ended_at"])))
        if "warnings" in task_changes:
            task_actions.append(TaskModel.warnings.set(task_changes["warnings"]))
        history = [h.model_dump(mode="json") for h in workflow.history] + [entry.model_dump(mode="json")]
        try:
            with TransactWrite(connection=transactions_connection()) as tx:
                tx.update(
                    WorkflowModel(workflow.id),
                    actions=[
                        WorkflowModel.status.set(WorkflowStatus.RUNNING),
                        WorkflowModel.tenant_status.set(f"{workflow.tenant}#running"),
                        WorkflowModel.error.remove(),
                        WorkflowModel.resolution_task_id.remove(),
                        WorkflowModel.resolution_token.remove(),
                        WorkflowModel.history.set(history),
                        WorkflowModel.version.add(1),
                    ],
                    condition=(WorkflowModel.status == WorkflowStatus.FAILED)
                    & (WorkflowModel.resolution_task_id == task_id),
                )
                tx.update(TaskModel(workflow.id, task_id), actions=task_actions)
        except TransactWriteError as exc:
            if conditional_failed(exc):
                return False
            raise
        return True

    def resolution_token(self, workflow_id: str) -> str | None:
        item = WorkflowModel.get(
            workflow_id, consistent_read=True, attributes_to_get=["workflow_id", "resolution_token"]
        )
        return item.resolution_token

    def request_stop(self, workflow: Workflow, entry: HistoryEntry) -> bool:
        history = [h.model_dump(mode="json") for h in workflow.history] + [entry.model_dump(mode="json")]
        try:
            WorkflowModel(workflow.id).update(
                actions=[
                    WorkflowModel.status.set(WorkflowStatus.STOPPING),
                    WorkflowModel.tenant_status.set(f"{workflow.tenant}#stopping"),
                    WorkflowModel.history.set(history),
                    WorkflowModel.version.add(1),
                ],
                condition=WorkflowModel.status.is_in(WorkflowStatus.RUNNING, WorkflowStatus.FAILED),
            )
        except UpdateError as exc:
            if conditional_failed(exc):
                return False
            raise
        return True

    def finish(
        self,
        workflow: Workflow,
        status: WorkflowStatus,
        now: datetime,
        *,
        error: TaskErrorInfo | None = None,
        warnings: list[str] | None = None,
        expected: tuple[WorkflowStatus, ...] = (WorkflowStatus.RUNNING, WorkflowStatus.STOPPING),
    ) -> bool:
        actions: list[Action] = [
            WorkflowModel.status.set(status),
            WorkflowModel.tenant_status.set(f"{workflow.tenant}#{status}"),
            WorkflowModel.ended_at.set(iso(now)),
            WorkflowModel.resolution_token.remove(),
            WorkflowModel.version.add(1),
        ]
        if error is not None:
            actions.append(WorkflowModel.error.set(error.model_dump()))
        if warnings:
            actions.append(WorkflowModel.warnings.set(warnings))  # type: ignore[arg-type]  # pynamodb types list items as attributes
        try:
            WorkflowModel(workflow.id).update(
                actions=actions, condition=WorkflowModel.status.is_in(*expected)
            )
        except UpdateError as exc:
            if conditional_failed(exc):
                return False
            raise
        return True

    def stop_open_tasks(self, workflow_id: str, now: datetime) -> list[str]:
        """Mark running or failed tasks ``stopped`` (the run was stopped while they were open)."""
        stopped = []
        for task in TaskModel.query(workflow_id, consistent_read=True):
            if task.status in (TaskStatus.RUNNING, TaskStatus.FAILED) and self.finish_task(
                workflow_id,
                task.task_id,
                TaskStatus.STOPPED,
                now,
                expected=(TaskStatus.RUNNING, TaskStatus.FAILED),
            ):
                stopped.append(task.task_id)
        return stopped

    def add_history(self, workflow_id: str, entry: HistoryEntry) -> bool:
        """Append ``entry`` to the run's history (a control action taken on it); False when the run
        does not exist. Conditional on the version read, so a concurrent change is never lost."""
        for _ in range(5):
            try:
                item = WorkflowModel.get(
                    workflow_id, consistent_read=True, attributes_to_get=["workflow_id", "history", "version"]
                )
            except DoesNotExist:
                return False
            history = [*(item.history or []), entry.model_dump(mode="json")]
            try:
                WorkflowModel(workflow_id).update(
                    actions=[WorkflowModel.history.set(history), WorkflowModel.version.add(1)],
                    condition=WorkflowModel.version == item.version
                    if item.version is not None
                    else WorkflowModel.version.does_not_exist(),
                )
            except UpdateError as exc:
                if conditional_failed(exc):
                    continue
                raise
            return True
        return False

    def _tenant(self, workflow_id: str) -> str:
        return WorkflowModel.get(workflow_id, attributes_to_get=["workflow_id", "tenant"]).tenant


# What a list of runs shows (api.schemas.WorkflowSummary), by attribute name.
SUMMARY_ATTRIBUTES = (
    "workflow_id",
    "tenant",
    "workflow_type",
    "name",
    "status",
    "mode",
    "started_by",
    "started_at",
    "ended_at",
    "warnings",
    "error",
)


def _summary_attributes(index: Any) -> list[str]:
    """:data:`SUMMARY_ATTRIBUTES` and the index's keys (a page's cursor is its last item's key)."""
    keys = [attr.attr_name for attr in index.Meta.attributes.values()]
    return list(dict.fromkeys([*SUMMARY_ATTRIBUTES, *keys]))
