"""What people do with interactions through the API: design, activate, fire, pause, play, stop,
reactivate, roll back, and read instances with their statuses.

:class:`InteractionService` is the public surface the API routes and the triggers function call;
each capability lives in its own module and reaches the others only through their public methods:

- ``designs.py``: validate, create, update and read designs (``DesignService``)
- ``activation.py``: activate, deactivate, and the inactivity expiry coming due
- ``firing.py``: scheduled, recurring, manual and external fires, and constraint checks
  (``constraints.py``), with the retry ladder (``retries.py``) and the inactivity expiry
  (``expiry.py``) they move on
- ``launch.py``, ``starts.py``, ``single.py``: an instance and its engine run
- ``controls.py``: pause, play, stop, reactivate; ``rollback.py``: roll back
- ``views.py``: what the API shows of a design and an instance
- ``activity_triggers.py``: activity-state triggers (an instance ending, one of its activities)
"""

from __future__ import annotations

from typing import Any

from switchyard.domain.interactions.design import InteractionDesign, Problem
from switchyard.domain.interactions.instances import Instance, StoredDesign
from switchyard.domain.models import Mode, Principal
from switchyard.services.deps import Deps
from switchyard.services.interactions.activation import Activation
from switchyard.services.interactions.activity_triggers import ActivityTriggers
from switchyard.services.interactions.controls import Controls
from switchyard.services.interactions.designs import DesignService
from switchyard.services.interactions.firing import Firing
from switchyard.services.interactions.rollback import Rollback
from switchyard.services.interactions.views import InstanceViews


class InteractionService:
    def __init__(self, deps: Deps) -> None:
        self.deps = deps
        self.designs = DesignService(deps)
        self.activation = Activation(deps)
        self.firing = Firing(deps)
        self.controls = Controls(deps)
        self.rollbacks = Rollback(deps)
        self.views = InstanceViews(deps)
        self.activity_triggers = ActivityTriggers(deps)

    # --- designs ----------------------------------------------------------------------------

    def validate(self, principal: Principal, body: Any) -> tuple[InteractionDesign, list[Problem]]:
        return self.designs.validate(principal, body)

    def create(self, principal: Principal, body: Any) -> tuple[StoredDesign, list[Problem]]:
        return self.designs.create(principal, body)

    def update(self, principal: Principal, design_id: str, body: Any) -> tuple[StoredDesign, list[Problem]]:
        return self.designs.update(principal, design_id, body)

    def get(self, principal: Principal, design_id: str) -> StoredDesign:
        return self.designs.get(principal, design_id)

    def all(self, principal: Principal) -> list[StoredDesign]:
        return self.designs.all(principal)

    # --- activation -------------------------------------------------------------------------

    def activate(self, principal: Principal, design_id: str, key: str, mode: Mode) -> StoredDesign:
        return self.activation.activate(principal, design_id, key, mode)

    def deactivate(self, principal: Principal, design_id: str, key: str) -> StoredDesign:
        return self.activation.deactivate(principal, design_id, key)

    def expire(self, tenant: str, design_id: str, key: str, expires_at: str) -> dict[str, Any]:
        return self.activation.expire(tenant, design_id, key, expires_at)

    # --- fires (the triggers function and the API) -------------------------------------------

    def fire(self, principal: Principal, design_id: str, key: str) -> dict[str, Any]:
        return self.firing.fire(principal, design_id, key)

    def fire_scheduled(self, tenant: str, design_id: str, key: str, scheduled_time: str) -> dict[str, Any]:
        return self.firing.fire_scheduled(tenant, design_id, key, scheduled_time)

    def retry_fire(self, tenant: str, design_id: str, key: str, attempt: int, fire: str) -> dict[str, Any]:
        return self.firing.retry_fire(tenant, design_id, key, attempt, fire)

    def check_constraints(self, tenant: str, design_id: str, key: str) -> dict[str, Any]:
        return self.firing.check_constraints(tenant, design_id, key)

    def external_call(self, principal: Principal, guid: str) -> dict[str, Any]:
        return self.firing.external_call(principal, guid)

    def on_instance_ended(self, workflow_id: str) -> dict[str, Any]:
        return self.activity_triggers.on_instance_ended(workflow_id)

    # --- a playing instance -------------------------------------------------------------------

    def pause(self, principal: Principal, design_id: str, key: str) -> dict[str, Any]:
        return self.controls.pause(principal, design_id, key)

    def play(self, principal: Principal, design_id: str, key: str) -> dict[str, Any]:
        return self.controls.play(principal, design_id, key)

    def stop(self, principal: Principal, design_id: str, key: str) -> dict[str, Any]:
        return self.controls.stop(principal, design_id, key)

    def reactivate(self, principal: Principal, design_id: str, key: str) -> dict[str, Any]:
        return self.controls.reactivate(principal, design_id, key)

    def rollback(self, principal: Principal, design_id: str, key: str, instance_id: int) -> dict[str, Any]:
        return self.rollbacks.rollback(principal, design_id, key, instance_id)

    # --- views ------------------------------------------------------------------------------

    def instances_of(self, principal: Principal, design_id: str, key: str) -> list[dict[str, Any]]:
        return self.views.instances_of(principal, design_id, key)

    def instance(self, principal: Principal, design_id: str, key: str, instance_id: int) -> dict[str, Any]:
        return self.views.instance(principal, design_id, key, instance_id)

    def instance_view(self, instance: Instance) -> dict[str, Any]:
        return self.views.instance_view(instance)

    def design_view(self, stored: StoredDesign, warnings: list[Problem] | None = None) -> dict[str, Any]:
        return self.views.design_view(stored, warnings)
