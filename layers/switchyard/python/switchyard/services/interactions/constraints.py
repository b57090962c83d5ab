"""Trigger constraints: a fire waits until every constraint of its trigger holds (a count of
records, or an external call), checked every minute until the trigger stops checking."""

from __future__ import annotations

import contextlib
from datetime import timedelta
from typing import Any

from switchyard import declarations as d
from switchyard.adapters.scheduler import ScheduleExists
from switchyard.domain.errors import SwitchyardError
from switchyard.domain.interactions.activities import CATALOG_KIND, CATALOG_NAME
from switchyard.domain.interactions.design import InteractionWorkflow
from switchyard.domain.interactions.instances import StoredDesign
from switchyard.observability import logger
from switchyard.services.deps import Deps
from switchyard.services.interactions.schedules import TriggerSchedules, constraint_schedule_name
from switchyard.tasks.interactions.audiences import count_records

COMPARE = {
    "=": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
}


class Constraints:
    def __init__(self, deps: Deps) -> None:
        self.deps = deps
        self.designs = deps.interactions.designs
        self.schedules = TriggerSchedules(deps)

    def wait_if_unmet(self, stored: StoredDesign, workflow: InteractionWorkflow) -> dict[str, Any] | None:
        """None when every constraint holds (or there are none); else the fire waits."""
        if not workflow.trigger.constraints:
            return None
        unmet = self.unmet(stored, workflow)
        return self.wait_for(stored, workflow, unmet) if unmet else None

    def unmet(self, stored: StoredDesign, workflow: InteractionWorkflow) -> list[str]:
        """The labels of the constraints that do not hold now."""
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

    def wait_for(
        self, stored: StoredDesign, workflow: InteractionWorkflow, unmet: list[str]
    ) -> dict[str, Any]:
        now = self.deps.clock()
        state = stored.workflow_state(workflow.key)
        until = now + timedelta(minutes=workflow.trigger.stop_checking_after_minutes)
        if state.waiting_since is not None and state.waiting_until is not None and now < state.waiting_until:
            return {"started": False, "waiting_for_constraints": True, "unmet": unmet}  # waiting already
        if state.waiting_since is not None:  # an earlier wait ran out: this fire waits anew
            self.drop_check(stored, workflow.key, "an earlier wait ran out")
            stored = self.designs.get(stored.tenant, stored.id)
            state = stored.workflow_state(workflow.key)
        version = stored.version
        stored.state[workflow.key] = state.model_copy(
            update={"waiting_since": now, "waiting_until": until, "unmet": unmet}
        )
        self.designs.replace(stored, version)
        spec = self.schedules.spec(
            stored,
            workflow,
            constraint_schedule_name(stored.id, workflow.key),
            "rate(1 minute)",
            "UTC",
            {"kind": "interaction_constraints"},
            f"Switchyard: check constraints of {stored.design.name[:50]} / {workflow.name[:50]}",
            end_date=until,
        )
        with contextlib.suppress(ScheduleExists):  # set already (the same trigger fired again)
            self.deps.scheduler.create(spec)
        logger.info(
            "a trigger fired; waiting for its constraints",
            extra={"design_id": stored.id, "workflow": workflow.key, "unmet": unmet},
        )
        return {"started": False, "waiting_for_constraints": True, "unmet": unmet, "until": until.isoformat()}

    def drop_check(self, stored: StoredDesign, key: str, why: str) -> None:
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
