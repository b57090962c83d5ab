"""What people do with interactions through the API: design, activate, fire, pause, play, stop,
reactivate, roll back, and read instances with their statuses."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from switchyard import declarations as d
from switchyard.adapters.scheduler import ScheduleSpec
from switchyard.domain import errors, expressions
from switchyard.domain.errors import (
    DesignInvalid,
    NotFound,
    PermissionDenied,
    SwitchyardError,
    ValidationFailed,
)
from switchyard.domain.interactions import (
    FULFILMENT,
    Instance,
    InteractionDesign,
    InteractionStatus,
    InteractionWorkflow,
    PlayControl,
    Problem,
    StoredDesign,
    WatchedWorkflow,
    WorkflowState,
    format_count,
    structural_problems,
)
from switchyard.domain.models import FINISHED, Mode, Principal, TaskStatus, Workflow, WorkflowStatus
from switchyard.observability import logger
from switchyard.services import control_history as controls_log
from switchyard.services.deps import Deps
from switchyard.services.engine import emit_workflow_status
from switchyard.services.interaction_audiences import audience_views
from switchyard.services.interaction_events import event_view
from switchyard.services.interaction_priority import queued, release
from switchyard.services.interaction_runs import activity_status, instance_status
from switchyard.services.interaction_validation import (
    CATALOG_KIND,
    CATALOG_NAME,
    WarehouseCatalog,
    validate_design,
)
from switchyard.services.workflows import WorkflowService
from switchyard.tasks.interaction_activities import undo_write

S = InteractionStatus
AUTOMATED = "automated"
SCHEDULED_TIME = "<aws.scheduler.scheduled-time>"  # filled in by EventBridge Scheduler


COMPARE = {
    "=": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
}


def constraint_schedule_name(design_id: str, key: str) -> str:
    digest = hashlib.sha256(f"{design_id}/{key}".encode()).hexdigest()[:24]
    return f"ixc-{key[:30]}-{digest}"


def trigger_schedule_name(design_id: str, key: str) -> str:
    digest = hashlib.sha256(f"{design_id}/{key}".encode()).hexdigest()[:24]
    return f"ix-{key[:30]}-{digest}"


ROLLBACK_FROM = (S.COMPLETED, S.FAILED, S.STOPPED)


class InteractionService:
    def __init__(self, deps: Deps) -> None:
        self.deps = deps
        self.designs = deps.interactions.designs
        self.instances = deps.interactions.instances
        self.history = deps.interactions.history

    # --- designs ----------------------------------------------------------------------------

    def validate(self, principal: Principal, body: Any) -> tuple[InteractionDesign, list[Problem]]:
        """Parse and validate; raises with every error, returns the design and its warnings."""
        design, problems = structural_problems(body)
        if design is not None:
            catalog = WarehouseCatalog.load(
                self.deps.blobs, self.deps.settings.data_bucket, self.deps.config, self.deps.secrets
            )
            problems = validate_design(design, principal, catalog) + self._watch_problems(principal, design)
        refusal = design_refusal(problems)
        if refusal is not None:
            raise refusal
        assert design is not None
        return design, problems

    def _watch_problems(self, principal: Principal, design: InteractionDesign) -> list[Problem]:
        """An activity-state trigger must watch a workflow that exists, and not itself."""
        problems = []
        for wi, workflow in enumerate(design.workflows):
            watch = workflow.trigger.watch
            if watch is None:
                continue
            path = f"workflows.{wi}.trigger.watch"
            watched: InteractionDesign | None = design
            if watch.design_id:
                try:
                    watched = self.designs.get(principal.tenant, watch.design_id).design
                except NotFound:
                    watched = None
                    problems.append(
                        Problem(
                            severity="error",
                            code="unknown_design",
                            path=f"{path}.design_id",
                            message=f"No interaction {watch.design_id!r} to watch.",
                        )
                    )
            if watched is not None and watched.workflow(watch.workflow_key) is None:
                problems.append(
                    Problem(
                        severity="error",
                        code="unknown_workflow",
                        path=f"{path}.workflow_key",
                        message=f"Interaction {watched.name!r} has no workflow {watch.workflow_key!r} "
                        f"(it has: {', '.join(w.key for w in watched.workflows)}).",
                    )
                )
            elif watched is design and watch.workflow_key == workflow.key:
                problems.append(
                    Problem(
                        severity="error",
                        code="invalid_definition",
                        path=f"{path}.workflow_key",
                        message="A workflow cannot be triggered by its own instances.",
                    )
                )
            if watch.activity is not None and watched is not None:
                from switchyard.services.interaction_activity_triggers import watched_activity_problems

                problems += watched_activity_problems(path, watched, watch)
        return problems

    def create(self, principal: Principal, body: Any) -> tuple[StoredDesign, list[Problem]]:
        design, warnings = self.validate(principal, body)
        now = self.deps.clock()
        stored = StoredDesign(
            id=str(uuid.uuid4()),
            tenant=principal.tenant,
            design=design,
            state={w.key: WorkflowState() for w in design.workflows},
            created_by=principal.user,
            created_at=now,
            updated_at=now,
        )
        self.designs.create(stored)
        return stored, warnings

    def update(self, principal: Principal, design_id: str, body: Any) -> tuple[StoredDesign, list[Problem]]:
        stored = self.get(principal, design_id)
        active = sorted(k for k, s in stored.state.items() if s.active)
        if active:
            raise errors.DesignActive(
                f"Deactivate the workflow(s) {', '.join(active)} before changing the design.",
                {"active": active},
            )
        design, warnings = self.validate(principal, body)
        version = stored.version
        stored.design = design
        stored.state = {w.key: stored.state.get(w.key) or WorkflowState() for w in design.workflows}
        stored.updated_at = self.deps.clock()
        self.designs.replace(stored, version)
        return stored, warnings

    def get(self, principal: Principal, design_id: str) -> StoredDesign:
        return self.designs.get(principal.tenant, design_id)

    def all(self, principal: Principal) -> list[StoredDesign]:
        return self.designs.list(principal.tenant)

    def _workflow(self, stored: StoredDesign, key: str) -> InteractionWorkflow:
        found = stored.design.workflow(key)
        if found is None:
            raise NotFound(
                f"Interaction {stored.design.name!r} has no workflow {key!r} "
                f"(it has: {', '.join(w.key for w in stored.design.workflows)}).",
                {"workflow": key},
            )
        return found

    # --- activation -------------------------------------------------------------------------

    def activate(self, principal: Principal, design_id: str, key: str, mode: Mode) -> StoredDesign:
        stored = self.get(principal, design_id)
        self._workflow(stored, key)
        state = stored.workflow_state(key)
        if state.active:
            raise errors.WorkflowAlreadyActive(
                f"Workflow {key!r} is already active ({state.mode} mode).", {"mode": state.mode}
            )
        if state.production_activated:
            raise errors.RanInProduction(
                f"Workflow {key!r} ran in production: it cannot be activated again. Stop it and use "
                "reactivate, which restarts it from the beginning without contacting anyone twice.",
                {"workflow": key},
            )
        # validated again: the warehouse or the permissions may have changed since it was saved
        self.validate(principal, stored.design.model_dump(mode="json"))
        version = stored.version
        stored.state[key] = state.model_copy(
            update={
                "active": True,
                "mode": str(mode),
                "production_activated": mode == Mode.PRODUCTION,
                "activated_at": self.deps.clock(),
                "activated_by": principal.user,
                "fires": 0,
                "last_scheduled_time": None,
                "waiting_since": None,
                "waiting_until": None,
                "unmet": [],
                "retry": None,
                "single_instance_id": None,
                "completed_reason": None,
                "last_fired_at": None,
                "expires_at": None,
                "deactivated_reason": None,
                "external_guid": state.external_guid or str(uuid.uuid4()),
            }
        )
        self.designs.replace(stored, version)
        workflow = self._workflow(stored, key)
        from switchyard.services.interaction_expiry import InactivityExpiry

        InactivityExpiry(self).arm(stored, workflow, self.deps.clock(), fired=False)
        if workflow.trigger.kind in ("scheduled", "recurring"):
            due_now = self._arm(stored, workflow)
            if due_now:  # a scheduled time already past fires at once
                self.fire_scheduled(stored.tenant, stored.id, key, due_now)
                stored = self.get(principal, design_id)
        return stored

    def deactivate(self, principal: Principal, design_id: str, key: str) -> StoredDesign:
        stored = self.get(principal, design_id)
        self._workflow(stored, key)
        state = stored.workflow_state(key)
        if not state.active:
            raise errors.WorkflowNotActive(f"Workflow {key!r} is not active.", {"workflow": key})
        version = stored.version
        stored.state[key] = state.model_copy(update={"active": False, "expires_at": None})
        self.designs.replace(stored, version)
        self._disarm(stored.tenant, stored.id, key)
        from switchyard.services.interaction_expiry import InactivityExpiry

        InactivityExpiry(self).disarm(stored.tenant, stored.id, key)
        self._drop_check(stored, key, "deactivated")
        from switchyard.services.interaction_retries import FireRetries

        FireRetries(self).cancel(stored.tenant, stored.id, key, "deactivated")
        if state.single_instance_id is not None:  # no more fires re-run it
            self.instances.close_single(state.single_instance_id)
        return self.get(principal, design_id)

    # --- scheduled and recurring triggers (EventBridge Scheduler -> the triggers function) ---

    def _arm(self, stored: StoredDesign, workflow: InteractionWorkflow) -> str | None:
        """Create the workflow's schedule; a one-time time already past is returned to fire now."""
        trigger = workflow.trigger
        tz = expressions.zone(trigger.time_zone)
        end_by = None
        if trigger.kind == "scheduled":
            assert trigger.at is not None
            wall = trigger.at.astimezone(tz).replace(tzinfo=None) if trigger.at.tzinfo else trigger.at
            fire_at = wall.replace(tzinfo=tz)
            if fire_at <= self.deps.clock():
                return fire_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            expression = f"at({wall:%Y-%m-%dT%H:%M:%S})"
        else:
            expression = str(trigger.expression)
            if trigger.end_by is not None:
                end_by = trigger.end_by if trigger.end_by.tzinfo else trigger.end_by.replace(tzinfo=tz)
        spec = self._spec(
            stored,
            workflow,
            trigger_schedule_name(stored.id, workflow.key),
            expression,
            trigger.time_zone,
            {"kind": "interaction", "scheduled_time": SCHEDULED_TIME},
            f"Switchyard: fire {stored.design.name[:60]} / {workflow.name[:60]}",
            action_after_completion="DELETE" if trigger.kind == "scheduled" else "",
            end_date=end_by,
        )
        self._disarm(stored.tenant, stored.id, workflow.key)
        self.deps.scheduler.create(spec)
        return None

    def _spec(
        self,
        stored: StoredDesign,
        workflow: InteractionWorkflow,
        name: str,
        expression: str,
        timezone: str,
        payload: dict[str, Any],
        description: str,
        action_after_completion: str = "",
        end_date: datetime | None = None,
    ) -> ScheduleSpec:
        """A schedule in the tenant's interaction group that calls the triggers function."""
        settings = self.deps.settings
        if not settings.triggers_function_arn or not settings.scheduler_role_arn:
            raise RuntimeError("the triggers function and the Scheduler's role are not configured")
        return ScheduleSpec(
            group=d.interaction_schedule_group(stored.tenant),
            name=name,
            expression=expression,
            timezone=timezone,
            enabled=True,
            target_arn=settings.triggers_function_arn,
            role_arn=settings.scheduler_role_arn,
            input={**payload, "tenant": stored.tenant, "design_id": stored.id, "workflow_key": workflow.key},
            description=description,
            action_after_completion=action_after_completion,
            end_date=end_date,
        )

    def _disarm(self, tenant: str, design_id: str, key: str) -> None:
        self.deps.scheduler.delete(
            d.interaction_schedule_group(tenant), trigger_schedule_name(design_id, key)
        )

    def watchers(
        self, run: Workflow
    ) -> Iterator[tuple[StoredDesign, InteractionWorkflow, WorkflowState, WatchedWorkflow]]:
        """The active workflows, in the run's mode, whose activity-state trigger watches the
        run's workflow (its instance ending, or one of its activities): each with its design,
        state and watch. A test instance never fires a production workflow."""
        config = run.config or {}
        for stored in self.designs.list(run.tenant):
            for workflow in stored.design.workflows:
                watch = workflow.trigger.watch
                wstate = stored.workflow_state(workflow.key)
                if (
                    watch is None
                    or not wstate.active
                    or wstate.mode != str(run.mode)
                    or (watch.design_id or stored.id) != config["design_id"]
                    or watch.workflow_key != config["workflow_key"]
                ):
                    continue
                yield stored, workflow, wstate, watch

    def on_instance_ended(self, workflow_id: str) -> dict[str, Any]:
        """An interaction instance ended: fire the active workflows whose activity-state trigger
        watches its workflow and state (same mode only: a test never starts production)."""
        run = self.deps.workflows.get(workflow_id, with_tasks=False)
        config = run.config or {}
        if run.type != "interaction" or "design_id" not in config:
            return {"started": []}
        state = {
            WorkflowStatus.SUCCEEDED: "Completed",
            WorkflowStatus.FAILED: "Failed",
            WorkflowStatus.STOPPED: "Stopped",
        }.get(run.status)
        if state is None:
            return {"started": []}
        if "run" in config:  # a run of a single-instance recurring workflow: completed yet?
            from switchyard.services.interaction_single import SingleInstances

            SingleInstances(self).on_run_ended(run)
        system = Principal(user=AUTOMATED, role="administrator", tenant=run.tenant)
        cause = f"instance:{config['instance_id']}:{state}"
        if config.get("run"):  # a later run of a single instance ends: a watcher fires again
            cause += f":run:{config['run']}"
        started = []
        for stored, workflow, wstate, watch in self.watchers(run):
            if watch.activity is not None or state not in watch.states:
                continue  # watches one activity (interaction_activity_triggers), or another state
            if wstate.last_scheduled_time == cause:
                continue  # this ending was handled already (the event came twice)
            version = stored.version
            stored.state[workflow.key] = wstate.model_copy(
                update={"fires": wstate.fires + 1, "last_scheduled_time": cause}
            )
            self.designs.replace(stored, version)
            fired = self._fired(system, stored.id, workflow, Mode(wstate.mode), fire=cause)
            started.append({"design_id": stored.id, "workflow_key": workflow.key, **fired})
        if state == "Stopped":  # triggers watching one of its activities: those not done are Stopped
            from switchyard.services.interaction_activity_triggers import ActivityTriggers

            started += ActivityTriggers(self).on_instance_stopped(run)
        return {"started": started}

    def fire_scheduled(self, tenant: str, design_id: str, key: str, scheduled_time: str) -> dict[str, Any]:
        """A scheduled or recurring trigger fired: a new instance, once per scheduled time."""
        system = Principal(user=AUTOMATED, role="administrator", tenant=tenant)
        try:
            stored = self.get(system, design_id)
            workflow = self._workflow(stored, key)
        except NotFound as exc:
            logger.warning("a trigger fired for a design that is gone", extra={"design_id": design_id})
            return {"started": False, "reason": exc.message}
        state = stored.workflow_state(key)
        if not state.active or workflow.trigger.kind not in ("scheduled", "recurring"):
            return {"started": False, "reason": f"workflow {key!r} is not active with a scheduled trigger"}
        if state.last_scheduled_time == scheduled_time:
            return {"started": False, "reason": f"the fire at {scheduled_time} was handled already"}
        trigger = workflow.trigger
        if trigger.end_after is not None and state.fires >= trigger.end_after:
            return {"started": False, "reason": f"it fired its {trigger.end_after} times"}
        # Count the fire first (conditional on the version): a second delivery cannot start twice.
        fires = state.fires + 1
        last = trigger.kind == "scheduled" or (trigger.end_after is not None and fires >= trigger.end_after)
        version = stored.version
        stored.state[key] = state.model_copy(update={"fires": fires, "last_scheduled_time": scheduled_time})
        self.designs.replace(stored, version)
        if last:  # the trigger has done its work; the workflow stays active until deactivated
            self._disarm(tenant, design_id, key)
        return self._fired(system, design_id, workflow, Mode(state.mode), fire=scheduled_time)

    # --- trigger constraints ------------------------------------------------------------------

    def _fired(
        self,
        principal: Principal,
        design_id: str,
        workflow: InteractionWorkflow,
        mode: Mode,
        check_constraints: bool = True,
        fire: str | None = None,
    ) -> dict[str, Any]:
        """A trigger fired: start an instance, or wait until the trigger's constraints hold.
        An instance that cannot start is retried on the ladder (services/interaction_retries.py)."""
        from switchyard.services.interaction_expiry import InactivityExpiry
        from switchyard.services.interaction_retries import FireRetries, fire_time

        if check_constraints:  # a fire (not a wait's constraints coming to hold): expiry moves on
            since = fire_time(fire or "") or self.deps.clock()
            InactivityExpiry(self).arm(self.get(principal, design_id), workflow, since, fired=True)
        stored = self.get(principal, design_id)
        waiting = self._wait_if_unmet(stored, workflow) if check_constraints else None
        if waiting is not None:
            return waiting
        fire = fire or self.deps.clock().isoformat()
        return FireRetries(self).start(principal, stored, workflow, mode, fire)

    def expire(self, tenant: str, design_id: str, key: str, expires_at: str) -> dict[str, Any]:
        """The inactivity expiry of a workflow is due (the triggers function)."""
        from switchyard.services.interaction_expiry import InactivityExpiry

        return InactivityExpiry(self).expire(tenant, design_id, key, expires_at)

    def retry_fire(self, tenant: str, design_id: str, key: str, attempt: int, fire: str) -> dict[str, Any]:
        """A retry of a fire that could not start an instance is due (the triggers function)."""
        from switchyard.services.interaction_retries import FireRetries

        return FireRetries(self).retry(tenant, design_id, key, attempt, fire)

    def _wait_if_unmet(self, stored: StoredDesign, workflow: InteractionWorkflow) -> dict[str, Any] | None:
        """None when every constraint holds (or there are none); else the fire waits."""
        if not workflow.trigger.constraints:
            return None
        unmet = self._unmet(stored, workflow)
        return self._wait_for_constraints(stored, workflow, unmet) if unmet else None

    def _unmet(self, stored: StoredDesign, workflow: InteractionWorkflow) -> list[str]:
        """The labels of the constraints that do not hold now."""
        from switchyard.tasks.interaction import count_records

        state = stored.workflow_state(workflow.key)
        catalog = self.deps.config.get(CATALOG_KIND, CATALOG_NAME) or {}
        unmet = []
        for constraint in workflow.trigger.constraints:
            if constraint.kind == "external":
                since = state.waiting_since or self.deps.clock()
                if state.external_called_at is None or state.external_called_at < since:
                    unmet.append(constraint.label())
                continue
            try:
                n = count_records(
                    self.deps.blobs, self.deps.settings.data_bucket, catalog, constraint.audience()
                )
            except SwitchyardError as exc:
                unmet.append(f"{constraint.label()} ({exc.message})")
                continue
            if not COMPARE[constraint.operator](n, constraint.value):
                unmet.append(f"{constraint.label()} (the count is {n})")
        return unmet

    def _wait_for_constraints(
        self, stored: StoredDesign, workflow: InteractionWorkflow, unmet: list[str]
    ) -> dict[str, Any]:
        now = self.deps.clock()
        state = stored.workflow_state(workflow.key)
        until = now + timedelta(minutes=workflow.trigger.stop_checking_after_minutes)
        if state.waiting_since is not None and state.waiting_until is not None and now < state.waiting_until:
            return {"started": False, "waiting_for_constraints": True, "unmet": unmet}  # waiting already
        if state.waiting_since is not None:  # an earlier wait ran out: this fire waits anew
            self._drop_check(stored, workflow.key, "an earlier wait ran out")
            stored = self.designs.get(stored.tenant, stored.id)
            state = stored.workflow_state(workflow.key)
        version = stored.version
        stored.state[workflow.key] = state.model_copy(
            update={"waiting_since": now, "waiting_until": until, "unmet": unmet}
        )
        self.designs.replace(stored, version)
        spec = self._spec(
            stored,
            workflow,
            constraint_schedule_name(stored.id, workflow.key),
            "rate(1 minute)",
            "UTC",
            {"kind": "interaction_constraints"},
            f"Switchyard: check constraints of {stored.design.name[:50]} / {workflow.name[:50]}",
            end_date=until,
        )
        try:
            self.deps.scheduler.create(spec)
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ConflictException":
                raise
        logger.info(
            "a trigger fired; waiting for its constraints",
            extra={"design_id": stored.id, "workflow": workflow.key, "unmet": unmet},
        )
        return {"started": False, "waiting_for_constraints": True, "unmet": unmet, "until": until.isoformat()}

    def check_constraints(self, tenant: str, design_id: str, key: str) -> dict[str, Any]:
        """Every minute while a fire waits (and on an external call): start once all hold."""
        system = Principal(user=AUTOMATED, role="administrator", tenant=tenant)
        stored = self.get(system, design_id)
        workflow = self._workflow(stored, key)
        state = stored.workflow_state(key)
        if state.waiting_since is None or not state.active:
            self._drop_check(stored, key, "nothing waits")
            return {"started": False, "reason": "nothing waits for these constraints"}
        now = self.deps.clock()
        unmet = self._unmet(stored, workflow)
        if unmet and state.waiting_until is not None and now >= state.waiting_until:
            self._drop_check(stored, key, "stopped checking")
            logger.warning(
                "trigger constraints did not hold in time: the fire is dropped",
                extra={"design_id": design_id, "workflow": key, "unmet": unmet},
            )
            return {"started": False, "reason": "the constraints did not hold in time", "unmet": unmet}
        if unmet:
            version = stored.version
            stored.state[key] = state.model_copy(update={"unmet": unmet})
            self.designs.replace(stored, version)
            return {"started": False, "waiting_for_constraints": True, "unmet": unmet}
        self._drop_check(stored, key, "constraints hold")
        fire = f"constraints held (waiting since {state.waiting_since.isoformat()})"
        return self._fired(system, design_id, workflow, Mode(state.mode), check_constraints=False, fire=fire)

    def _drop_check(self, stored: StoredDesign, key: str, why: str) -> None:
        state = stored.workflow_state(key)
        if state.waiting_since is not None:
            version = stored.version
            stored.state[key] = state.model_copy(
                update={"waiting_since": None, "waiting_until": None, "unmet": []}
            )
            self.designs.replace(stored, version)
        self.deps.scheduler.delete(
            d.interaction_schedule_group(stored.tenant), constraint_schedule_name(stored.id, key)
        )
        logger.info("constraint checks end", extra={"design_id": stored.id, "workflow": key, "why": why})

    def external_call(self, principal: Principal, guid: str) -> dict[str, Any]:
        """``POST /api/triggers/{guid}``: an external system says its condition holds."""
        for stored in self.designs.list(principal.tenant):
            for key, state in stored.state.items():
                if state.external_guid and secrets.compare_digest(
                    state.external_guid.encode(), guid.encode()
                ):
                    version = stored.version
                    stored.state[key] = state.model_copy(update={"external_called_at": self.deps.clock()})
                    self.designs.replace(stored, version)
                    result: dict[str, Any] = {"design_id": stored.id, "workflow_key": key, "recorded": True}
                    if state.waiting_since is not None:
                        result.update(self.check_constraints(stored.tenant, stored.id, key))
                    return result
        raise NotFound("No active workflow has this trigger GUID.", {"guid": guid})

    # --- instances --------------------------------------------------------------------------

    def fire(self, principal: Principal, design_id: str, key: str) -> dict[str, Any]:
        """The manual trigger: a new instance with a unique integer id, run by the engine."""
        stored = self.get(principal, design_id)
        workflow = self._workflow(stored, key)
        state = stored.workflow_state(key)
        if not state.active:
            raise errors.WorkflowNotActive(f"Activate workflow {key!r} before firing it.", {"workflow": key})
        if workflow.trigger.kind != "manual":
            raise errors.TriggerNotManual(
                f"Workflow {key!r} has a {workflow.trigger.kind} trigger, not a manual one."
            )
        from switchyard.services.interaction_expiry import InactivityExpiry

        InactivityExpiry(self).arm(stored, workflow, self.deps.clock(), fired=True)
        stored = self.get(principal, design_id)
        waiting = self._wait_if_unmet(stored, workflow)
        if waiting is not None:
            return waiting
        from switchyard.services.interaction_retries import revalidate

        revalidate(self, stored, workflow)  # a manual fire is not retried: the caller gets the errors
        return self._start_instance(principal, stored, workflow, Mode(state.mode), exclude=[])

    def _start_instance(
        self,
        principal: Principal,
        stored: StoredDesign,
        workflow: InteractionWorkflow,
        mode: Mode,
        exclude: list[int],
    ) -> dict[str, Any]:
        latest = self._latest(stored.id, workflow.key)
        if latest is not None and latest.workflow_id:
            run = self.deps.workflows.get(latest.workflow_id, with_tasks=False)
            if run.status not in FINISHED:
                raise errors.InstanceStillRunning(
                    f"Instance {latest.instance_id} of {workflow.key!r} is still {run.status}; "
                    "stop it or wait for it to end.",
                    {"instance_id": latest.instance_id},
                )
        if workflow.single_instance:
            from switchyard.services.interaction_single import SingleInstances

            return SingleInstances(self).fire(principal, stored, workflow, mode, latest)
        return self._new_instance(principal, stored, workflow, mode, exclude)

    def _new_instance(
        self,
        principal: Principal,
        stored: StoredDesign,
        workflow: InteractionWorkflow,
        mode: Mode,
        exclude: list[int],
        single_open: bool = False,
        extra_config: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        now = self.deps.clock()
        instance = Instance(
            instance_id=self.designs.next_instance_id(),
            tenant=principal.tenant,
            design_id=stored.id,
            workflow_key=workflow.key,
            mode=str(mode),  # type: ignore[arg-type]
            started_by=principal.user,
            created_at=now,
            single_open=single_open,
        )
        self.instances.create(instance)
        try:
            run = self._start_run(
                principal, stored, workflow, mode, instance.instance_id, exclude, extra_config
            )
        except Exception:
            self.instances.delete(instance.instance_id)
            raise
        self.instances.set_run(instance.instance_id, run.id)
        stored = self.designs.get(principal.tenant, stored.id)
        version = stored.version
        stored.state[workflow.key] = stored.workflow_state(workflow.key).model_copy(
            update={"last_instance_id": instance.instance_id}
        )
        self.designs.replace(stored, version)
        logger.info("interaction fired", extra={"instance_id": instance.instance_id, "workflow_id": run.id})
        return self.instance_view(self.instances.get(instance.instance_id))

    def _start_run(
        self,
        principal: Principal,
        stored: StoredDesign,
        workflow: InteractionWorkflow,
        mode: Mode,
        instance_id: int,
        exclude: list[int],
        extra_config: dict[str, Any] | None = None,
    ) -> Workflow:
        """The engine run of an instance (a single instance gets one per fire)."""
        run, _ = WorkflowService(self.deps).start(
            principal,
            "interaction",
            f"{stored.design.name}: {workflow.name} #{instance_id}",
            {
                "design_id": stored.id,
                "workflow_key": workflow.key,
                "instance_id": instance_id,
                "workflow": workflow.model_dump(mode="json"),
                "exclude_instances": exclude,
                **(extra_config or {}),
            },
            mode,
        )
        return run

    def _latest(self, design_id: str, key: str) -> Instance | None:
        return next(iter(self.instances.of_workflow(design_id, key)), None)

    def _running(self, principal: Principal, design_id: str, key: str) -> tuple[Instance, Workflow]:
        stored = self.get(principal, design_id)
        self._workflow(stored, key)
        latest = self._latest(design_id, key)
        run = self.deps.workflows.get(latest.workflow_id) if latest and latest.workflow_id else None
        if latest is None or run is None or run.status in FINISHED:
            raise errors.InstanceNotPlaying(f"Workflow {key!r} has no instance playing.", {"workflow": key})
        return latest, run

    def pause(self, principal: Principal, design_id: str, key: str) -> dict[str, Any]:
        instance, run = self._running(principal, design_id, key)
        if run.status != WorkflowStatus.RUNNING:
            raise errors.InstanceNotPlaying(
                f"Instance {instance.instance_id} is {run.status}; only a playing one pauses."
            )
        if not self.instances.set_control(
            instance.instance_id,
            PlayControl.PAUSE_REQUESTED,
            f"Paused by {principal.user}",
            expected=(None, PlayControl.RESUME_REQUESTED),
        ):
            raise errors.InstanceAlreadyPaused(f"Instance {instance.instance_id} is already paused.")
        controls_log.record_control(self.deps, principal, run.id, controls_log.PAUSED)
        return self.instance_view(self.instances.get(instance.instance_id))

    def play(self, principal: Principal, design_id: str, key: str) -> dict[str, Any]:
        instance, run = self._running(principal, design_id, key)
        if not self.instances.set_control(
            instance.instance_id,
            PlayControl.RESUME_REQUESTED,
            expected=(PlayControl.PAUSE_REQUESTED, PlayControl.PAUSED),
        ):
            raise errors.InstanceNotPaused(f"Instance {instance.instance_id} is not paused.")
        controls_log.record_control(self.deps, principal, run.id, controls_log.PLAYED)
        return self.instance_view(self.instances.get(instance.instance_id))

    def stop(self, principal: Principal, design_id: str, key: str) -> dict[str, Any]:
        instance, run = self._running(principal, design_id, key)
        WorkflowService(self.deps).stop(principal, run.id)
        self._end_if_idle(principal, run.id)
        return self.instance_view(self.instances.get(instance.instance_id))

    def _end_if_idle(self, principal: Principal, workflow_id: str) -> None:
        """A stopping instance with no activity running (paused, counting a delay down) ends now,
        instead of when its Wait state would next ask."""
        run = self.deps.workflows.get(workflow_id)
        if run.status != WorkflowStatus.STOPPING:
            return
        if any(t.status == TaskStatus.RUNNING for t in run.all_tasks()):
            return  # it ends when the running activity completes
        now = self.deps.clock()
        if run.execution_arn:
            self.deps.engine.stop(run.execution_arn, cause=f"Stopped by {principal.user}")
        self.deps.workflows.stop_open_tasks(workflow_id, now)
        self.deps.workflows.finish(run, WorkflowStatus.STOPPED, now)
        release(self.deps, workflow_id)  # its queue places (prioritization)
        emit_workflow_status(self.deps, self.deps.workflows.get(workflow_id, with_tasks=False))

    def reactivate(self, principal: Principal, design_id: str, key: str) -> dict[str, Any]:
        """Restart a stopped production workflow from the beginning; nobody is contacted twice."""
        stored = self.get(principal, design_id)
        workflow = self._workflow(stored, key)
        state = stored.workflow_state(key)
        latest = self._latest(design_id, key)
        if not state.production_activated or latest is None or latest.mode != "production":
            raise errors.NeverRanInProduction(
                f"Workflow {key!r} never ran in production: activate it instead."
            )
        status = self.instance_view(latest)["status"]
        if status != S.STOPPED:
            raise errors.WorkflowNotStopped(
                f"Only a stopped production workflow is reactivated; {key!r} is {status}.", {"status": status}
            )
        earlier = [
            i.instance_id
            for i in self.instances.of_workflow(design_id, key)
            if i.mode == "production" and i.rollback_status != S.ROLLED_BACK
        ]
        version = stored.version
        stored.state[key] = state.model_copy(update={"active": True, "activated_by": principal.user})
        self.designs.replace(stored, version)
        controls_log.record_control(self.deps, principal, latest.workflow_id, controls_log.REACTIVATED)
        return self._start_instance(principal, stored, workflow, Mode.PRODUCTION, exclude=earlier)

    # --- rollback ---------------------------------------------------------------------------

    def rollback(self, principal: Principal, design_id: str, key: str, instance_id: int) -> dict[str, Any]:
        """Remove a production instance's offer history, meta, details and exported files."""
        stored = self.get(principal, design_id)
        workflow = self._workflow(stored, key)
        instance = self.instances.get(instance_id)
        if instance.design_id != design_id or instance.workflow_key != key:
            raise NotFound(f"Workflow {key!r} has no instance {instance_id}.", {"instance_id": instance_id})
        if instance.mode != "production":
            raise errors.RollbackNotAllowed(
                "Only production instances are rolled back (test mode writes the sandbox)."
            )
        latest = self._latest(design_id, key)
        if workflow.trigger.kind == "recurring" and latest is not None and latest.instance_id != instance_id:
            raise errors.RollbackNotAllowed(
                f"Only the latest instance of a recurring workflow is rolled back: {latest.instance_id}.",
                {"latest_instance_id": latest.instance_id},
            )
        status = self.instance_view(instance)["status"]
        if status not in ROLLBACK_FROM:
            raise errors.RollbackNotAllowed(
                f"Instance {instance_id} is {status}: only a Completed, Failed or Stopped instance is "
                "rolled back.",
                {"status": status},
            )
        if not self.instances.set_rollback(instance_id, S.ROLLBACK_REQUESTED, expected=None):
            raise errors.AlreadyRolledBack(
                f"Instance {instance_id} was already rolled back (or is rolling back)."
            )
        assert instance.workflow_id
        run = self.deps.workflows.get(instance.workflow_id)
        if run.status == WorkflowStatus.FAILED:
            # a failed run waits for a resolution: end it so nothing is written after the rollback
            WorkflowService(self.deps).stop(principal, run.id)
        self.instances.set_rollback(instance_id, S.ROLLING_BACK, expected=S.ROLLBACK_REQUESTED)
        activities = [a.name for _, _, a in workflow.activities() if a.type in FULFILMENT]
        removed_files: list[str] = []
        not_recalled = _delivered(self.deps, instance)  # sent to destinations: out of our reach
        try:
            removed = self.history.delete_instance(instance.space, instance_id, activities)
            for file_key in self.instances.get(instance_id).exported:
                # a data transfer's table gets its earlier content back; any other file goes
                undo_write(
                    self.deps.blobs, self.deps.settings.data_bucket, instance.space, instance_id, file_key
                )
                removed_files.append(file_key)
        except Exception as exc:
            logger.exception("rollback failed", extra={"instance_id": instance_id})
            self.instances.set_rollback(
                instance_id,
                S.ROLLBACK_FAILED,
                {
                    "error": f"{type(exc).__name__}: {exc}",
                    "files_removed": removed_files,
                    **not_recalled,
                    "by": principal.user,
                },
            )
            return self.instance_view(self.instances.get(instance_id))
        self.instances.set_rollback(
            instance_id,
            S.ROLLED_BACK,
            {
                "offer_history_removed": removed,
                "files_removed": removed_files,
                **not_recalled,
                "by": principal.user,
            },
        )
        controls_log.record_control(
            self.deps, principal, instance.workflow_id, controls_log.ROLLED_BACK, {"records_removed": removed}
        )
        return self.instance_view(self.instances.get(instance_id))

    # --- views ------------------------------------------------------------------------------

    def instances_of(self, principal: Principal, design_id: str, key: str) -> list[dict[str, Any]]:
        stored = self.get(principal, design_id)
        self._workflow(stored, key)
        return [self.instance_view(i) for i in self.instances.of_workflow(design_id, key)]

    def instance(self, principal: Principal, design_id: str, key: str, instance_id: int) -> dict[str, Any]:
        self._workflow(self.get(principal, design_id), key)
        instance = self.instances.get(instance_id)
        if instance.design_id != design_id or instance.workflow_key != key:
            raise NotFound(f"Workflow {key!r} has no instance {instance_id}.", {"instance_id": instance_id})
        return self.instance_view(instance)

    def instance_view(self, instance: Instance) -> dict[str, Any]:
        now = self.deps.clock()
        run = self.deps.workflows.get(instance.workflow_id) if instance.workflow_id else None
        waiting = queued(self.deps, run.id) if run and run.status == WorkflowStatus.RUNNING else {}
        activities = []
        for stage_index, stage in enumerate(run.stages if run else []):
            for task in stage.tasks:
                shown = activity_status(instance, run, task, now, waiting)  # type: ignore[arg-type]
                activity = task.inputs.get("activity") or {}
                activities.append(
                    {
                        "branch": stage_index + 1,
                        "name": activity.get("name", task.name),
                        "type": activity.get("type", ""),
                        "status": shown["status"],
                        "remaining_seconds": shown["remaining_seconds"],
                        "count": shown["count"],
                        "bubble": format_count(shown["count"]) if shown["count"] is not None else None,
                        "warnings": task.warnings,
                        "error": task.error.model_dump() if task.error else None,
                        "task_id": task.id,
                        "queued_reason": shown.get("queued_reason"),
                        "event": event_view(instance, task),  # a wait for event's event
                        **{str(k): shown[k] for k in ("cycles", "last_cycle_count") if k in shown},
                    }
                )
        audiences = audience_views(instance.instance_id, instance.mode, run, activities)
        return {
            "instance_id": instance.instance_id,
            "design_id": instance.design_id,
            "workflow_key": instance.workflow_key,
            "mode": instance.mode,
            "status": S.WAITING_NEXT_TRIGGER
            if instance.single_open and instance_status(instance, run, now) in (S.COMPLETED, S.TEST_COMPLETED)
            else instance_status(instance, run, now, waiting),
            "runs": [*instance.runs, *([instance.workflow_id] if instance.workflow_id else [])],
            "workflow_id": instance.workflow_id,
            "started_by": instance.started_by,
            "created_at": instance.created_at,
            "ended_at": run.ended_at if run else None,
            "paused_reason": instance.control_reason
            if instance.control in (PlayControl.PAUSE_REQUESTED, PlayControl.PAUSED)
            else None,
            "rollback": instance.rollback_detail,
            "exported_files": instance.exported,
            "activities": activities,
            "audiences": audiences,
        }

    def design_view(self, stored: StoredDesign, warnings: list[Problem] | None = None) -> dict[str, Any]:
        workflows = []
        for w in stored.design.workflows:
            state = stored.workflow_state(w.key)
            latest = self.instances.get(state.last_instance_id) if state.last_instance_id else None
            latest_status = self.instance_view(latest)["status"] if latest else None
            status: str | None = latest_status
            idle = latest_status is None or latest_status in (
                S.COMPLETED,
                S.TEST_COMPLETED,
                S.FAILED,
                S.TEST_FAILED,
                S.STOPPED,
                S.ROLLED_BACK,
                S.ROLLBACK_FAILED,
            )
            if state.active and idle and not state.completed_reason:
                status = S.WAITING_FOR_TRIGGER if state.mode == "production" else S.TEST_MODE
            workflows.append(
                {
                    **w.model_dump(mode="json"),
                    "active": state.active,
                    "mode": state.mode,
                    "status": status,
                    "last_instance_id": state.last_instance_id,
                    "trigger_fires": state.fires,
                    "last_scheduled_time": state.last_scheduled_time,
                    "trigger_guid": state.external_guid
                    if any(c.kind == "external" for c in w.trigger.constraints)
                    else None,
                    "waiting_for_constraints": {
                        "since": state.waiting_since,
                        "until": state.waiting_until,
                        "unmet": state.unmet,
                    }
                    if state.waiting_since
                    else None,
                    "trigger_retry": state.retry.model_dump(mode="json") if state.retry else None,
                    "single_instance_id": state.single_instance_id,
                    "completed_reason": state.completed_reason,
                    "last_fired_at": state.last_fired_at,
                    "expires_at": state.expires_at,
                    "deactivated_reason": state.deactivated_reason,
                }
            )
        return {
            "id": stored.id,
            "name": stored.design.name,
            "description": stored.design.description,
            "workflows": workflows,
            # the design exactly as saved, without state: what PUT takes back
            "definition": stored.design.model_dump(mode="json", exclude_none=True),
            "version": stored.version,
            "created_by": stored.created_by,
            "created_at": stored.created_at,
            "updated_at": stored.updated_at,
            "warnings": [p.model_dump() for p in warnings or []],
        }


def design_refusal(problems: list[Problem]) -> SwitchyardError | None:
    """What a design with these findings is answered (422 with every finding by path, 403 when
    one is a permission), or None when none is an error. The API answers a body that its
    declared model refuses the same way (``switchyard.api.contract``)."""
    errors = [p for p in problems if p.severity == "error"]
    if not errors:
        return None
    listed = [p.model_dump() for p in problems]
    summary = "; ".join(f"{p.path}: {p.message}" for p in errors[:5])
    more = f" (and {len(errors) - 5} more)" if len(errors) > 5 else ""
    if any(p.code == "permission_denied" for p in errors):
        return PermissionDenied(f"Permission Denied. {summary}{more}", {"problems": listed})
    return DesignInvalid(f"The interaction has {len(errors)} error(s): {summary}{more}", {"problems": listed})


def parse_mode(value: str | None) -> Mode:
    try:
        return Mode(value or "test")
    except ValueError:
        raise ValidationFailed("mode must be 'test' or 'production'.", {"field": "mode"}) from None


def _delivered(deps: Deps, instance: Instance) -> dict[str, Any]:
    """What a rollback reports of the instance's deliveries: they cannot be recalled."""
    from switchyard.tasks.interaction_delivery import delivered_locations

    delivered = delivered_locations(
        deps.blobs, deps.settings.data_bucket, instance.space, instance.instance_id
    )
    if not delivered:
        return {}
    return {
        "delivered_not_recalled": delivered,
        "note": "Files delivered to destinations cannot be recalled; ask their recipients to discard them.",
    }
