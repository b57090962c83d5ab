"""The ``interaction`` workflow type's run hooks (services/run_hooks.py), registered by the
entry points through :func:`switchyard.services.wiring.register_run_hooks`.

Before an activity starts: the audience's controls, prioritization and wait-for-event gates
(:func:`runs.before_activity`); after it ends: its activity slot is released and its state
announced to activity-state triggers; an interactive audience's next cycle; and whether a branch
hands its run on to a new execution (:func:`handoff.may_hand_off`).
"""

from __future__ import annotations

from switchyard.domain.models import Workflow
from switchyard.services import run_hooks
from switchyard.services.deps import Deps
from switchyard.services.interactions.activity_triggers import publish_activity_state
from switchyard.services.interactions.handoff import may_hand_off
from switchyard.services.interactions.interactive import next_cycle
from switchyard.services.interactions.priority import release
from switchyard.services.interactions.runs import before_activity


def after_activity(deps: Deps, workflow: Workflow, task_id: str | None) -> None:
    release(deps, workflow.id, task_id)
    publish_activity_state(deps, workflow, task_id)  # activity-state triggers on one activity


HOOKS = run_hooks.RunHooks(
    before_task=before_activity,
    after_task=after_activity,
    again=next_cycle,
    hand_off=may_hand_off,
)
