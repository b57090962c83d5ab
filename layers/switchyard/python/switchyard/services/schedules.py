"""Schedules through the API, and what the triggers function does when one fires.

A time-based schedule is written twice: the tenant's schedules table (what the API lists and
shows) and EventBridge Scheduler (what fires it, invoking the triggers function). A run-after
link lives in the table only: the run-after rule on the bus sends every courier group run that
succeeded to the triggers function, which looks the links up there.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from switchyard import declarations as d
from switchyard.adapters.scheduler import ScheduleSpec
from switchyard.domain import expressions
from switchyard.domain.errors import ConfigurationMissing, InvalidSchedule, SwitchyardError
from switchyard.domain.models import Mode, Principal, WorkflowStatus
from switchyard.domain.schedules import Schedule, ScheduleExists, ScheduleNotFound
from switchyard.observability import logger
from switchyard.services.deps import Deps
from switchyard.services.workflows import WorkflowService

AUTOMATED = "automated"
# Fields a schedule is made of, as the API takes them.
FIELDS = ("workflow_type", "target", "expression", "timezone", "enabled", "after_courier_group")
SCHEDULED_TIME = "<aws.scheduler.scheduled-time>"  # filled in by EventBridge Scheduler


class ScheduleService:
    def __init__(self, deps: Deps) -> None:
        self.deps = deps

    # --- read ---------------------------------------------------------------------------------

    def list(self, principal: Principal) -> list[Schedule]:
        return sorted(self.deps.schedules.list(principal.tenant), key=lambda s: s.name)

    def get(self, principal: Principal, name: str) -> Schedule:
        found = self.deps.schedules.get(principal.tenant, name)
        if found is None:
            raise ScheduleNotFound(f"No schedule named {name!r}.", {"name": name})
        return found

    def next_fire(self, schedule: Schedule, now: datetime | None = None) -> datetime | None:
        """When the schedule fires next (None: disabled, run-after, or an at() that has passed)."""
        if not schedule.enabled or schedule.expression is None:
            return None
        now = now or self.deps.clock()
        return expressions.next_fire(schedule.expression, schedule.timezone, now, anchor=schedule.created_at)

    # --- write --------------------------------------------------------------------------------

    def create(self, principal: Principal, name: str, fields: dict[str, Any]) -> Schedule:
        now = self.deps.clock()
        schedule = Schedule(
            name=name,
            tenant=principal.tenant,
            **{k: v for k, v in fields.items() if k in FIELDS and v is not None},
            created_by=principal.user,
            created_at=now,
            updated_by=principal.user,
            updated_at=now,
        )
        self._check(schedule, now, new_expression=True)
        if not self.deps.schedules.create(schedule):
            raise ScheduleExists(
                f"A schedule named {name!r} exists; change it with PUT /api/schedules/{name} "
                "or pick another name.",
                {"name": name},
            )
        if schedule.time_based:
            try:
                self.deps.scheduler.create(self._spec(schedule))
            except Exception:
                self.deps.schedules.delete(schedule.tenant, name)  # nothing half-written
                raise
        logger.info("schedule created", extra={"schedule": name, "by": principal.user})
        return schedule

    def update(self, principal: Principal, name: str, changes: dict[str, Any]) -> Schedule:
        """Change the fields given; the others keep their values.

        Giving ``expression`` turns a run-after link into a time-based schedule and the other way
        round for ``after_courier_group``, unless both are given (which is refused).
        """
        current = self.get(principal, name)
        merged = current.model_dump()
        changes = {k: v for k, v in changes.items() if k in FIELDS}
        for key, other in (("expression", "after_courier_group"), ("after_courier_group", "expression")):
            if changes.get(key) is not None and other not in changes:
                merged[other] = None
        for key, value in changes.items():
            if value is None and key in ("timezone", "enabled", "workflow_type", "target"):
                continue
            merged[key] = value
        now = self.deps.clock()
        updated = Schedule.model_validate({**merged, "updated_by": principal.user, "updated_at": now})
        self._check(updated, now, new_expression=updated.expression != current.expression)
        if current.time_based and updated.time_based:
            self.deps.scheduler.update(self._spec(updated))
        elif updated.time_based:
            self.deps.scheduler.create(self._spec(updated))
        elif current.time_based:
            self.deps.scheduler.delete(d.schedule_group(current.tenant), name)
        self.deps.schedules.replace(updated)
        logger.info("schedule changed", extra={"schedule": name, "by": principal.user})
        return updated

    def delete(self, principal: Principal, name: str) -> None:
        current = self.get(principal, name)
        if current.time_based:
            self.deps.scheduler.delete(d.schedule_group(current.tenant), name)
        self.deps.schedules.delete(current.tenant, name)
        logger.info("schedule removed", extra={"schedule": name, "by": principal.user})

    def _check(self, schedule: Schedule, now: datetime, new_expression: bool) -> None:
        """Everything a schedule needs before anything is written, each problem with its fix."""
        expressions.zone(schedule.timezone)
        if (schedule.expression is None) == (schedule.after_courier_group is None):
            raise InvalidSchedule(
                "Give the schedule either 'expression' (when it runs: at(...), rate(...) or cron(...)) "
                "or 'after_courier_group' (an orchestration group runs after that courier group "
                "succeeds), not both.",
                {"fields": ["expression", "after_courier_group"]},
            )
        if schedule.expression is not None:
            parsed = expressions.parse(schedule.expression)
            if (
                new_expression
                and isinstance(parsed, expressions.At)
                and parsed.next_after(now, expressions.zone(schedule.timezone)) is None
            ):
                raise expressions.InvalidExpression(
                    f"{schedule.expression} in {schedule.timezone} has passed (or falls in a daylight-saving "
                    "gap); give a time in the future.",
                    {"field": "expression", "expression": schedule.expression},
                )
        if schedule.after_courier_group is not None:
            if schedule.workflow_type != "orchestration_group":
                raise InvalidSchedule(
                    "Only an orchestration group can run after a courier group; "
                    "use 'workflow_type': 'orchestration_group'.",
                    {"field": "after_courier_group"},
                )
            self._require_group("courier_group", schedule.after_courier_group, "after_courier_group")
        self._require_group(schedule.workflow_type, schedule.target, "target")

    def _require_group(self, kind: str, name: str, field: str) -> None:
        if self.deps.config.get(kind, name) is None:
            configured = sorted(str(item.get("name")) for item in self.deps.config.list_kind(kind))
            raise ConfigurationMissing(
                f"No {kind.replace('_', ' ')} named {name!r} is configured. "
                f"Configured: {', '.join(configured) or 'none'}.",
                {"field": field, "configured": configured},
            )

    def _spec(self, schedule: Schedule) -> ScheduleSpec:
        settings = self.deps.settings
        if not settings.triggers_function_arn or not settings.scheduler_role_arn:
            raise RuntimeError("the triggers function and the Scheduler's role are not configured")
        assert schedule.expression is not None
        return ScheduleSpec(
            group=d.schedule_group(schedule.tenant),
            name=schedule.name,
            expression=schedule.expression,
            timezone=schedule.timezone,
            enabled=schedule.enabled,
            target_arn=settings.triggers_function_arn,
            role_arn=settings.scheduler_role_arn,
            input={
                "kind": "schedule",
                "tenant": schedule.tenant,
                "schedule": schedule.name,
                "workflow_type": schedule.workflow_type,
                "target": schedule.target,
                "scheduled_time": SCHEDULED_TIME,
            },
            description=f"Switchyard: start the {schedule.workflow_type.replace('_', ' ')} {schedule.target}",
        )

    # --- fired (the triggers function) ----------------------------------------------------------

    def fire(
        self, tenant: str, schedule: str, workflow_type: str, target: str, scheduled_time: str
    ) -> dict[str, Any]:
        """A schedule fired: start its run once per scheduled time (a second delivery is ignored)."""
        trigger = {"kind": "schedule", "schedule": schedule, "scheduled_time": scheduled_time}
        return self._start(tenant, workflow_type, target, f"schedule:{schedule}:{scheduled_time}", trigger)

    def run_after(self, workflow_id: str) -> dict[str, Any]:
        """A courier group run succeeded: start the orchestration groups set to run after it."""
        run = self.deps.workflows.get(workflow_id, with_tasks=False)
        if (
            run.type != "courier_group"
            or run.status != WorkflowStatus.SUCCEEDED
            or run.mode != Mode.PRODUCTION
        ):
            return {"started": []}
        started = []
        for schedule in self.deps.schedules.list(run.tenant):
            if not schedule.enabled or schedule.after_courier_group != run.name:
                continue
            trigger = {
                "kind": "after_courier_group",
                "schedule": schedule.name,
                "courier_group": run.name,
                "courier_group_run": run.id,
            }
            started.append(
                self._start(
                    run.tenant,
                    schedule.workflow_type,
                    schedule.target,
                    f"after:{schedule.name}:{run.id}",
                    trigger,
                )
            )
        return {"started": started}

    def _start(
        self, tenant: str, workflow_type: str, target: str, key: str, trigger: dict[str, Any]
    ) -> dict[str, Any]:
        system = Principal(user=AUTOMATED, role="administrator", tenant=tenant)
        try:
            workflow, created = WorkflowService(self.deps).start(
                system,
                workflow_type,
                target,
                None,
                Mode.PRODUCTION,
                key,
                started_by=AUTOMATED,
                trigger=trigger,
            )
        except SwitchyardError as exc:
            # A configuration problem does not go away by retrying: say so on the bus (alerts
            # listen there) and in the log, and do not make the Scheduler retry.
            logger.error(
                "a trigger could not start its run",
                extra={"trigger": trigger, "code": exc.code, "error": exc.message},
            )
            self.deps.events.publish(
                "Trigger Failed",
                {
                    "tenant": tenant,
                    "type": workflow_type,
                    "name": target,
                    "trigger": trigger,
                    "error": {"code": exc.code, "message": exc.message},
                    "at": self.deps.clock().isoformat(),
                },
            )
            return {"started": False, "trigger": trigger, "error": {"code": exc.code, "message": exc.message}}
        if not created:
            logger.info("trigger delivered again: run already started", extra={"workflow_id": workflow.id})
        return {"started": created, "workflow_id": workflow.id, "trigger": trigger}
