"""A trigger fires: scheduled and recurring fires, the manual fire, an external call, and the
constraint checks a fire may wait on; an instance that cannot start goes on the retry ladder."""

from __future__ import annotations

import secrets
from typing import Any

from switchyard.domain import errors
from switchyard.domain.errors import NotFound, TriggerNotFound
from switchyard.domain.interactions.design import InteractionWorkflow
from switchyard.domain.models import Mode, Principal
from switchyard.observability import logger
from switchyard.services.deps import Deps
from switchyard.services.interactions.constraints import Constraints
from switchyard.services.interactions.designs import DesignService
from switchyard.services.interactions.expiry import InactivityExpiry
from switchyard.services.interactions.launch import Launcher
from switchyard.services.interactions.retries import FireRetries, fire_time, revalidate
from switchyard.services.interactions.schedules import TriggerSchedules

AUTOMATED = "automated"


class Firing:
    def __init__(self, deps: Deps) -> None:
        self.deps = deps
        self.designs = deps.interactions.designs
        self.design_service = DesignService(deps)
        self.schedules = TriggerSchedules(deps)
        self.constraints = Constraints(deps)
        self.expiry = InactivityExpiry(deps)
        self.retries = FireRetries(deps)
        self.launcher = Launcher(deps)

    def fire_scheduled(self, tenant: str, design_id: str, key: str, scheduled_time: str) -> dict[str, Any]:
        """A scheduled or recurring trigger fired: a new instance, once per scheduled time."""
        system = Principal(user=AUTOMATED, role="administrator", tenant=tenant)
        try:
            stored = self.design_service.get(system, design_id)
            workflow = self.design_service.workflow(stored, key)
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
            self.schedules.disarm(tenant, design_id, key)
        return self.fired(system, design_id, workflow, Mode(state.mode), fire=scheduled_time)

    def fired(
        self,
        principal: Principal,
        design_id: str,
        workflow: InteractionWorkflow,
        mode: Mode,
        check_constraints: bool = True,
        fire: str | None = None,
    ) -> dict[str, Any]:
        """A trigger fired: start an instance, or wait until the trigger's constraints hold.
        An instance that cannot start is retried on the ladder (services/interactions/retries.py)."""

        if check_constraints:  # a fire (not a wait's constraints coming to hold): expiry moves on
            since = fire_time(fire or "") or self.deps.clock()
            self.expiry.arm(self.design_service.get(principal, design_id), workflow, since, fired=True)
        stored = self.design_service.get(principal, design_id)
        waiting = self.constraints.wait_if_unmet(stored, workflow) if check_constraints else None
        if waiting is not None:
            return waiting
        fire = fire or self.deps.clock().isoformat()
        return self.retries.start(principal, stored, workflow, mode, fire)

    def retry_fire(self, tenant: str, design_id: str, key: str, attempt: int, fire: str) -> dict[str, Any]:
        """A retry of a fire that could not start an instance is due (the triggers function)."""
        return self.retries.retry(tenant, design_id, key, attempt, fire)

    def check_constraints(self, tenant: str, design_id: str, key: str) -> dict[str, Any]:
        """Every minute while a fire waits (and on an external call): start once all hold."""
        system = Principal(user=AUTOMATED, role="administrator", tenant=tenant)
        stored = self.design_service.get(system, design_id)
        workflow = self.design_service.workflow(stored, key)
        state = stored.workflow_state(key)
        if state.waiting_since is None or not state.active:
            self.constraints.drop_check(stored, key, "nothing waits")
            return {"started": False, "reason": "nothing waits for these constraints"}
        now = self.deps.clock()
        unmet = self.constraints.unmet(stored, workflow)
        if unmet and state.waiting_until is not None and now >= state.waiting_until:
            self.constraints.drop_check(stored, key, "stopped checking")
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
        self.constraints.drop_check(stored, key, "constraints hold")
        fire = f"constraints held (waiting since {state.waiting_since.isoformat()})"
        return self.fired(system, design_id, workflow, Mode(state.mode), check_constraints=False, fire=fire)

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
        raise TriggerNotFound("No active workflow has this trigger GUID.", {"guid": guid})

    def fire(self, principal: Principal, design_id: str, key: str) -> dict[str, Any]:
        """The manual trigger: a new instance with a unique integer id, run by the engine."""
        stored = self.design_service.get(principal, design_id)
        workflow = self.design_service.workflow(stored, key)
        state = stored.workflow_state(key)
        if not state.active:
            raise errors.WorkflowNotActive(f"Activate workflow {key!r} before firing it.", {"workflow": key})
        if workflow.trigger.kind != "manual":
            raise errors.TriggerNotManual(
                f"Workflow {key!r} has a {workflow.trigger.kind} trigger, not a manual one."
            )
        self.expiry.arm(stored, workflow, self.deps.clock(), fired=True)
        stored = self.design_service.get(principal, design_id)
        waiting = self.constraints.wait_if_unmet(stored, workflow)
        if waiting is not None:
            return waiting
        revalidate(
            self.design_service, stored, workflow
        )  # a manual fire is not retried: the caller gets the errors
        return self.launcher.start(principal, stored, workflow, Mode(state.mode), exclude=[])
