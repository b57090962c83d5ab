"""Repositories: the only code that touches DynamoDB. They take and return domain objects."""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import json
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pynamodb.connection import Connection
from pynamodb.exceptions import DeleteError, DoesNotExist, PutError, TransactWriteError, UpdateError
from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action
from pynamodb.transactions import TransactWrite

from switchyard.data.models import (
    ConfigModel,
    IdempotencyModel,
    StageAttribute,
    TaskModel,
    TokenModel,
    WorkflowModel,
)
from switchyard.domain.errors import BadCursor, NotFound
from switchyard.domain.models import (
    ApiToken,
    HistoryEntry,
    Mode,
    Stage,
    Task,
    TaskErrorInfo,
    TaskStatus,
    Workflow,
    WorkflowStatus,
)

SORTABLE = ("started_at", "name")


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="milliseconds")


def _iso_or_none(value: datetime | None) -> str | None:
    return _iso(value) if value else None


def _dt(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _conditional_failed(exc: Exception) -> bool:
    cause = getattr(exc, "cause_response_code", None)
    return cause in ("ConditionalCheckFailedException", "TransactionCanceledException")


class WorkflowRepository:
    """Workflows and their tasks."""

    # --- reading -------------------------------------------------------------------------

    def get(self, workflow_id: str, with_tasks: bool = True) -> Workflow:
        try:
            item = WorkflowModel.get(workflow_id, consistent_read=True)
        except DoesNotExist:
            raise NotFound(f"No workflow with id {workflow_id!r}.", {"workflow_id": workflow_id}) from None
        tasks = list(TaskModel.query(workflow_id, consistent_read=True)) if with_tasks else []
        return _to_workflow(item, tasks)

    def get_task(self, workflow_id: str, task_id: str) -> Task:
        try:
            return _to_task(TaskModel.get(workflow_id, task_id, consistent_read=True))
        except DoesNotExist:
            raise NotFound(f"No task {task_id!r} in workflow {workflow_id!r}.") from None

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
    ) -> tuple[list[Workflow], str | None]:
        """Query the most selective index; remaining filters become filter expressions."""
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
        start_key = _decode_cursor(cursor) if cursor else None
        items: list[WorkflowModel] = []
        last_key: dict[str, Any] | None = None
        results = index.query(
            hash_value,
            filter_condition=condition,
            scan_index_forward=not descending,
            last_evaluated_key=start_key,
            page_size=max(limit, 25),
        )
        for item in results:
            items.append(item)
            if len(items) == limit:
                last_key = _item_key(item, index)
                break
        else:
            last_key = None
        if last_key is not None and not self._has_more(index, hash_value, condition, descending, last_key):
            last_key = None
        return [_to_workflow(i, []) for i in items], (_encode_cursor(last_key) if last_key else None)

    @staticmethod
    def _has_more(index: Any, hash_value: str, condition: Any, descending: bool, key: dict) -> bool:
        more = index.query(
            hash_value,
            filter_condition=condition,
            scan_index_forward=not descending,
            last_evaluated_key=key,
            limit=1,
        )
        return next(iter(more), None) is not None

    # --- writing -------------------------------------------------------------------------

    def create(self, workflow: Workflow, claim: IdempotencyClaim | None = None) -> bool:
        """Write a new run; with ``claim``, its Idempotency-Key in the same transaction: both are
        written or neither is. False, with nothing written, when the key is already held.

        Any other failure (DynamoDB refusing the item, a throttle) raises as it is: it is not
        "the run exists", and nothing was written.
        """
        item = _to_model(workflow)
        if claim is None:
            try:
                item.save(condition=WorkflowModel.workflow_id.does_not_exist())
            except PutError as exc:
                if _conditional_failed(exc):  # pragma: no cover - ids are uuids
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
            with TransactWrite(connection=_connection()) as tx:
                tx.save(key, condition=IdempotencyModel.key.does_not_exist())
                tx.save(item, condition=WorkflowModel.workflow_id.does_not_exist())
        except TransactWriteError as exc:
            if _conditional_failed(exc):
                return False
            raise
        return True

    def delete(self, workflow_id: str) -> None:
        for task in TaskModel.query(workflow_id):
            task.delete()
        WorkflowModel(workflow_id).delete()

    def set_execution(self, workflow_id: str, execution_arn: str) -> None:
        WorkflowModel(workflow_id).update(actions=[WorkflowModel.execution_arn.set(execution_arn)])

    # --- one run over several executions (interactions: docs/interactions.md) --------------

    def add_execution_events(self, workflow_id: str, events: int, types: tuple[str, ...]) -> None:
        """Count ``events`` more history events to the run's current execution, for runs of
        ``types`` only (no write for the others)."""
        try:
            WorkflowModel(workflow_id).update(
                actions=[WorkflowModel.execution_events.add(events)],
                condition=WorkflowModel.workflow_type.is_in(*types),
            )
        except UpdateError as exc:
            if not _conditional_failed(exc):
                raise

    def workflow_type(self, workflow_id: str) -> str:
        try:
            item = WorkflowModel.get(workflow_id, attributes_to_get=["workflow_id", "workflow_type"])
        except DoesNotExist:
            raise NotFound(f"No workflow with id {workflow_id!r}.", {"workflow_id": workflow_id}) from None
        return str(item.workflow_type)

    def execution_events(self, workflow_id: str) -> int:
        item = WorkflowModel.get(
            workflow_id, consistent_read=True, attributes_to_get=["workflow_id", "execution_events"]
        )
        return int(item.execution_events or 0)

    def mark_handing_off(self, workflow_id: str) -> None:
        WorkflowModel(workflow_id).update(actions=[WorkflowModel.handing_off.set(True)])

    def handing_off(self, workflow_id: str) -> bool:
        item = WorkflowModel.get(
            workflow_id, consistent_read=True, attributes_to_get=["workflow_id", "handing_off"]
        )
        return bool(item.handing_off)

    def continue_execution(
        self, workflow: Workflow, previous_arn: str, arn: str, entry: HistoryEntry
    ) -> bool:
        """The new execution ``arn`` carries the run on from ``previous_arn``, once: its events
        count from zero. False when another call recorded it already."""
        history = [h.model_dump(mode="json") for h in workflow.history] + [entry.model_dump(mode="json")]
        try:
            WorkflowModel(workflow.id).update(
                actions=[
                    WorkflowModel.execution_arn.set(arn),
                    WorkflowModel.execution_events.set(0),
                    WorkflowModel.handing_off.remove(),
                    WorkflowModel.history.set(history),
                    WorkflowModel.version.add(1),
                ],
                condition=WorkflowModel.execution_arn == previous_arn,
            )
        except UpdateError as exc:
            if _conditional_failed(exc):
                return False
            raise
        return True

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
                    batch.save(_task_to_model(workflow_id, task))
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
            if not _conditional_failed(exc):
                raise

    def begin_task(self, workflow_id: str, task_id: str, now: datetime) -> bool:
        """Mark a task running, only while its workflow runs. False: the workflow stops."""
        try:
            with TransactWrite(connection=_connection()) as tx:
                tx.condition_check(
                    WorkflowModel, workflow_id, condition=WorkflowModel.status == WorkflowStatus.RUNNING
                )
                tx.update(
                    TaskModel(workflow_id, task_id),
                    actions=[
                        TaskModel.status.set(TaskStatus.RUNNING),
                        TaskModel.attempts.add(1),
                        TaskModel.started_at.set(_iso(now)),
                        TaskModel.ended_at.remove(),
                        TaskModel.error.remove(),
                    ],
                    condition=TaskModel.status.is_in(TaskStatus.PENDING, TaskStatus.FAILED),
                )
        except TransactWriteError as exc:
            if _conditional_failed(exc):
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
        actions: list[Action] = [TaskModel.status.set(status), TaskModel.ended_at.set(_iso(now))]
        if outputs is not None:
            actions.append(TaskModel.outputs.set(outputs))
        if warnings:
            actions.append(TaskModel.warnings.set(warnings))  # type: ignore[arg-type]  # pynamodb types list items as attributes
        try:
            TaskModel(workflow_id, task_id).update(
                actions=actions, condition=TaskModel.status.is_in(*expected)
            )
        except UpdateError as exc:
            if _conditional_failed(exc):
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
            TaskModel.ended_at.set(_iso(now)),
        ]
        try:
            with TransactWrite(connection=_connection()) as tx:
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
            if not _conditional_failed(exc):
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
            if _conditional_failed(exc):
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
            task_actions.append(TaskModel.ended_at.set(_iso(task_changes["ended_at"])))
        if "warnings" in task_changes:
            task_actions.append(TaskModel.warnings.set(task_changes["warnings"]))
        history = [h.model_dump(mode="json") for h in workflow.history] + [entry.model_dump(mode="json")]
        try:
            with TransactWrite(connection=_connection()) as tx:
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
            if _conditional_failed(exc):
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
            if _conditional_failed(exc):
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
            WorkflowModel.ended_at.set(_iso(now)),
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
            if _conditional_failed(exc):
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
                if _conditional_failed(exc):
                    continue
                raise
            return True
        return False

    def _tenant(self, workflow_id: str) -> str:
        return WorkflowModel.get(workflow_id, attributes_to_get=["workflow_id", "tenant"]).tenant


class ConfigRepository:
    """The tenant's current configuration (couriers, courier groups, ...)."""

    def get(self, kind: str, name: str) -> dict[str, Any] | None:
        try:
            return dict(ConfigModel.get(kind, name, consistent_read=True).body)
        except DoesNotExist:
            return None

    def put(self, kind: str, name: str, body: dict[str, Any]) -> None:
        ConfigModel(kind, name, body=body).save()

    def list_kind(self, kind: str) -> list[dict[str, Any]]:
        return [dict(item.body) for item in ConfigModel.query(kind)]


class LockRepository:
    """Named locks (a destination that accepts one send at a time), held by a workflow."""

    KIND = "lock"

    def acquire(self, name: str, holder: str, is_active: Any) -> str | None:
        """Take the lock for ``holder``; returns the other holder when it is taken.

        A lock whose holder is no longer active (``is_active(holder)`` is False) is taken over.
        """
        for _ in range(3):
            try:
                ConfigModel(self.KIND, name, body={"holder": holder}).save(
                    condition=ConfigModel.kind.does_not_exist()
                )
                return None
            except PutError as exc:
                if not _conditional_failed(exc):
                    raise
            try:
                current = ConfigModel.get(self.KIND, name, consistent_read=True)
            except DoesNotExist:
                continue
            other = str(current.body.get("holder"))
            if other == holder:
                return None
            if is_active(other):
                return other
            self._delete_if(name, other)
        return "unknown"

    def release(self, name: str, holder: str) -> None:
        self._delete_if(name, holder)

    def release_all(self, holder: str) -> None:
        for item in ConfigModel.query(self.KIND):
            if item.body.get("holder") == holder:
                self._delete_if(item.name, holder)

    @staticmethod
    def _delete_if(name: str, holder: str) -> None:
        try:
            ConfigModel(LockRepository.KIND, name).delete(condition=ConfigModel.body == {"holder": holder})
        except DeleteError as exc:
            if not _conditional_failed(exc):
                raise


@dataclass(frozen=True)
class IdempotencyClaim:
    """An Idempotency-Key to take with a new run: the tenant-scoped key and the request's hash."""

    key: str
    request_hash: str
    at: datetime


class IdempotencyRepository:
    TTL_SECONDS = 24 * 3600

    def holder(self, key: str) -> tuple[str, str] | None:
        """(workflow id, request hash) of the run that holds ``key``; None when no run does.

        A key is taken with its run, in one transaction (:meth:`WorkflowRepository.create`)."""
        try:
            held = IdempotencyModel.get(key, consistent_read=True)
        except DoesNotExist:
            return None
        return str(held.workflow_id), str(held.request_hash)

    def release(self, key: str) -> None:
        IdempotencyModel(key).delete()


class TokenRepository:
    """API tokens by the SHA-256 digest of the token: the token itself is never stored."""

    @staticmethod
    def digest(token: str) -> str:
        return hashlib.sha256(token.encode()).hexdigest()

    def find(self, token: str) -> ApiToken | None:
        try:
            return _to_token(TokenModel.get(self.digest(token)))
        except DoesNotExist:
            return None

    def put(
        self,
        token: str,
        user: str,
        role: str,
        tenant: str = "default",
        *,
        created_at: datetime | None = None,
        created_by: str | None = None,
        expires_at: datetime | None = None,
    ) -> ApiToken:
        model = TokenModel(
            self.digest(token),
            user=user,
            role=role,
            tenant=tenant,
            token_id=uuid.uuid4().hex[:16],
            created_at=_iso(created_at or datetime.now(UTC)),
            created_by=created_by,
            expires_at=_iso_or_none(expires_at),
        )
        model.save()
        return _to_token(model)

    def list(self, tenant: str) -> list[ApiToken]:
        """The tenant's tokens, newest first (a scan: a tenant holds a handful of tokens)."""
        found = [_to_token(m) for m in TokenModel.scan(TokenModel.tenant == tenant)]
        return sorted(found, key=lambda t: t.created_at or datetime.min.replace(tzinfo=UTC), reverse=True)

    def delete(self, tenant: str, token_id: str) -> bool:
        """Remove the tenant's token with that id; False when there is none."""
        for model in TokenModel.scan(TokenModel.tenant == tenant):
            if _token_id(model) == token_id:
                model.delete()
                return True
        return False

    def revoke(self, token: str) -> None:
        """Forget a token: from then on it is answered 401 like one never issued."""
        TokenModel(self.digest(token)).delete()

    def touch(self, token: str, now: datetime) -> None:
        """Record a use; only when the token still exists (a revoked token is not re-created)."""
        with contextlib.suppress(UpdateError):
            TokenModel(self.digest(token)).update(
                actions=[TokenModel.last_used_at.set(_iso(now))], condition=TokenModel.token_hash.exists()
            )


def _token_id(model: TokenModel) -> str:
    # tokens issued before ids existed: a prefix of the digest (which the token cannot be
    # recovered from) names them
    return model.token_id or model.token_hash[:16]


def _to_token(model: TokenModel) -> ApiToken:
    def when(value: str | None) -> datetime | None:
        return datetime.fromisoformat(value) if value else None

    return ApiToken(
        id=_token_id(model),
        user=model.user,
        role=model.role,
        tenant=model.tenant,
        created_at=when(model.created_at),
        created_by=model.created_by,
        expires_at=when(model.expires_at),
        last_used_at=when(model.last_used_at),
    )


# --- mapping -----------------------------------------------------------------------------------


def _connection() -> Connection:
    """The connection transactions go through: built once per region, so its botocore client
    (and the service model and endpoint data it loads) is not rebuilt for every transaction."""
    region = getattr(WorkflowModel.Meta, "region", None)
    cached = _CONNECTIONS.get(region)
    if cached is None:
        cached = _CONNECTIONS[region] = Connection(region=region)
    return cached


_CONNECTIONS: dict[str | None, Connection] = {}


def _to_model(w: Workflow) -> WorkflowModel:
    started = _iso(w.started_at)
    return WorkflowModel(
        w.id,
        tenant=w.tenant,
        workflow_type=w.type,
        name=w.name,
        status=w.status,
        mode=w.mode,
        started_by=w.started_by,
        started_at=started,
        ended_at=_iso_or_none(w.ended_at),
        config=w.config,
        warnings=w.warnings or None,
        execution_arn=w.execution_arn,
        history=[h.model_dump(mode="json") for h in w.history],
        started_key=f"{started}#{w.id}",
        name_key=f"{w.name.lower()}#{w.id}",
        search_text=_search_text(w),
        tenant_status=f"{w.tenant}#{w.status}",
        tenant_type=f"{w.tenant}#{w.type}",
        tenant_started_by=f"{w.tenant}#{w.started_by}",
    )


def _search_text(w: Workflow) -> str:
    """What ``q`` matches besides the name: type, status, starter, month and date of the start."""
    at = w.started_at.astimezone(UTC)
    return " ".join(
        [w.name.lower(), w.type.replace("_", " "), w.started_by, at.strftime("%b %B %Y-%m-%d").lower()]
    )


def _to_workflow(item: WorkflowModel, tasks: list[TaskModel]) -> Workflow:
    by_id: dict[str, Task] = {str(t.task_id): _to_task(t) for t in tasks}
    layout: list[Any] = list(item.stages or [])
    stages = [
        Stage(key=s.key, name=s.name, tasks=[by_id[tid] for tid in s.task_ids if tid in by_id])
        for s in layout
    ]
    return Workflow(
        id=item.workflow_id,
        tenant=item.tenant,
        type=item.workflow_type,
        name=item.name,
        status=WorkflowStatus(item.status),
        mode=Mode(item.mode),
        started_by=item.started_by,
        started_at=datetime.fromisoformat(item.started_at),
        ended_at=_dt(item.ended_at),
        config=item.config,
        warnings=[str(w) for w in item.warnings or []],
        error=TaskErrorInfo(**item.error) if item.error else None,
        stages=stages,
        execution_arn=item.execution_arn,
        resolution_task_id=item.resolution_task_id,
        history=[HistoryEntry(**h) for h in (item.history or [])],
    )


def _to_task(t: TaskModel) -> Task:
    return Task(
        id=t.task_id,
        name=t.name,
        kind=t.kind,
        stage=t.stage,
        position=int(t.position),
        status=TaskStatus(t.status),
        stoppable=t.stoppable == "yes",
        inputs=dict(t.inputs or {}),
        outputs=t.outputs,
        warnings=[str(w) for w in t.warnings or []],
        error=TaskErrorInfo(**t.error) if t.error else None,
        attempts=int(t.attempts or 0),
        started_at=_dt(t.started_at),
        ended_at=_dt(t.ended_at),
    )


def _task_to_model(workflow_id: str, t: Task) -> TaskModel:
    return TaskModel(
        workflow_id,
        t.id,
        stage=t.stage,
        position=t.position,
        name=t.name,
        kind=t.kind,
        status=t.status,
        stoppable="yes" if t.stoppable else "no",
        inputs=t.inputs,
        attempts=0,
    )


def _item_key(item: WorkflowModel, index: Any) -> dict[str, Any]:
    key = {"workflow_id": {"S": item.workflow_id}}
    for attr in index.Meta.attributes.values():
        key[attr.attr_name] = {"S": getattr(item, attr.attr_name)}
    return key


def _encode_cursor(key: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(key, separators=(",", ":")).encode()).decode()


def _decode_cursor(cursor: str, looks_right: Callable[[Any], bool] | None = None) -> dict[str, Any]:
    """A cursor this API returned, or a 400; ``looks_right`` checks the key's shape (default:
    the workflows index's DynamoDB key)."""
    try:
        key = json.loads(base64.urlsafe_b64decode(cursor.encode()))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        key = None
    if not isinstance(key, dict) or not (looks_right or _workflows_key)(key):
        raise BadCursor(
            "The cursor is not one this API returned; pass next_cursor from the previous page.",
            {"cursor": cursor},
        )
    return key


def _workflows_key(key: dict[str, Any]) -> bool:
    return "workflow_id" in key and all(isinstance(v, dict) and set(v) == {"S"} for v in key.values())


def iter_chunks(items: list[Any], size: int) -> Iterator[list[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]
