"""Interactions: designs whose workflows select audiences and fulfil offers (docs/interactions.md).

A design holds one or more workflows, executed independently. Each workflow is a trigger
followed by branches; branches run in parallel, the activities of a branch in sequence, and an
activity's input is its predecessor's output. Definitions are JSON, validated by these models
(structure) and by :mod:`switchyard.services.interactions.validation` (the warehouse catalog and
permissions).
"""

from __future__ import annotations

import re
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, ValidationError, model_validator

from switchyard.domain.errors import InvalidRunConfig
from switchyard.domain.interactions.activities import (
    AUDIENCE_TYPES,
    HISTORY_TYPES,
    KEY,
    NAME,
    Activity,
    Constraint,
    Strict,
)
from switchyard.domain.models import PlannedStage, PlannedTask


class InteractionStatus(StrEnum):
    """The documented status set, shown per activity and per workflow (DESIGN.md section 1)."""

    WAITING_FOR_TRIGGER = "Waiting For Trigger"
    TRIGGER_REQUESTED = "Trigger Requested"
    PLAYING = "Playing"
    PAUSE_REQUESTED = "Pause Requested"
    PAUSING = "Pausing"
    PAUSED = "Paused"
    RESUME_PLAY_REQUESTED = "Resume Play Requested"
    STOP_REQUESTED = "Stop Requested"
    STOPPING = "Stopping"
    STOPPED = "Stopped"
    FAILED = "Failed"
    COMPLETED = "Completed"
    WAITING_NEXT_TRIGGER = "Waiting Next Trigger"
    TERMINATED = "Terminated"  # an interactive branch's activities when its workflow is stopped
    COUNTING_DOWN_DELAY = "Counting Down Delay"
    QUEUED = "Queued"
    TEST_MODE = "Test Mode"
    TEST_COMPLETED = "Test Completed"
    TEST_FAILED = "Test Failed"
    ROLLBACK_REQUESTED = "Rollback Requested"
    ROLLING_BACK = "Rolling Back"
    ROLLED_BACK = "Rolled Back"
    ROLLBACK_FAILED = "Rollback Failed"


class WatchedWorkflow(Strict):
    """What an activity-state trigger waits for: an instance of another workflow ending, or,
    with ``activity``, that activity of an instance reaching one of ``states``."""

    design_id: str | None = Field(default=None, max_length=64)  # None: this design
    workflow_key: str = Field(pattern=KEY)
    # one activity of the watched workflow (its name); None: the instance as a whole
    activity: str | None = Field(default=None, pattern=NAME)
    states: list[Literal["Completed", "Failed", "Stopped"]] = Field(default=["Completed"], min_length=1)


class Trigger(Strict):
    """How a workflow is fired (docs/interactions.md).

    ``activity_state``: when an instance of the watched workflow ends in one of ``states``.
    ``manual``: by ``POST .../fire``. ``scheduled``: once, at ``at`` (wall time in ``time_zone``);
    a time already past when the workflow is activated fires at once. ``recurring``: on
    ``expression`` (``rate(...)`` or ``cron(...)``, EventBridge Scheduler syntax) in ``time_zone``,
    a new instance each fire, until ``end_after`` fires or ``end_by`` (never, without either).
    """

    kind: Literal["manual", "scheduled", "recurring", "activity_state"] = "manual"
    at: datetime | None = None
    time_zone: str = Field(default="UTC", max_length=64)
    expression: str | None = Field(default=None, max_length=256)
    end_after: int | None = Field(default=None, ge=1, le=100_000)
    end_by: datetime | None = None
    watch: WatchedWorkflow | None = None
    # all must hold; checked every minute for up to ``stop_checking_after_minutes`` after a fire
    constraints: list[Constraint] = Field(default_factory=list, max_length=10)
    stop_checking_after_minutes: int = Field(default=60, ge=1, le=7 * 24 * 60)
    # recurring: a new instance each fire, or one instance re-run by every fire
    create: Literal["new_instance", "single_instance"] = "new_instance"

    @model_validator(mode="after")
    def _fields(self) -> Trigger:
        if self.kind != "recurring" and self.create != "new_instance":
            raise ValueError("create: 'single_instance' belongs to recurring triggers")
        if self.kind == "scheduled" and self.at is None:
            raise ValueError("a scheduled trigger needs 'at', the date and time it fires")
        if self.kind == "recurring" and not self.expression:
            raise ValueError(
                "a recurring trigger needs 'expression', e.g. 'cron(0 9 ? * MON *)' or 'rate(1 day)'"
            )
        if self.kind != "recurring" and (self.expression or self.end_after or self.end_by):
            raise ValueError("expression, end_after and end_by belong to recurring triggers")
        if self.kind != "scheduled" and self.at is not None:
            raise ValueError("'at' belongs to scheduled triggers")
        if (self.kind == "activity_state") != (self.watch is not None):
            raise ValueError(
                "an activity_state trigger needs 'watch' (workflow_key, states, optional design_id), "
                "and only it has one"
            )
        return self


class InteractionWorkflow(Strict):
    key: str = Field(pattern=KEY)
    name: str = Field(pattern=NAME)
    trigger: Trigger = Field(default_factory=Trigger)
    branches: list[Annotated[list[Activity], Field(min_length=1)]] = Field(min_length=1, max_length=20)
    create_files_in_test_mode: bool = False
    # Offer history rows written per chunk; 0 writes the whole audience through one bulk path.
    database_insert_batch_limit: int = Field(default=10_000, ge=0, le=1_000_000)
    # inactivity expiry: an active workflow that has not fired for this many days is deactivated
    expire_after_days_inactive: int | None = Field(default=None, ge=1, le=3650)
    # Prioritization (docs/interactions.md): the queue order of its activities when the tenant's
    # slots are all taken, and how long one may queue (default: the tenant's max_queue_minutes).
    priority: Literal["urgent", "normal", "low"] = "normal"
    max_queue_minutes: int | None = Field(default=None, ge=1, le=7 * 24 * 60)

    @model_validator(mode="after")
    def _shape(self) -> InteractionWorkflow:
        names = [a.name for branch in self.branches for a in branch]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"activity names must be unique in a workflow; repeated: {', '.join(dupes)}")
        for bi, branch in enumerate(self.branches):
            if branch[0].type not in AUDIENCE_TYPES:
                raise ValueError(
                    f"branch {bi + 1} must start with a batch_audience or an interactive_audience "
                    f"(it starts with {branch[0].type})"
                )
            later = [a.name for a in branch[1:] if a.type == "interactive_audience"]
            if later:
                raise ValueError(f"an interactive_audience must head its branch; not: {', '.join(later)}")
            if branch[0].type == "interactive_audience" and self.trigger.create == "single_instance":
                raise ValueError(
                    "an interactive_audience runs on its own frequency: its workflow's trigger "
                    "cannot be recurring with create: 'single_instance'"
                )
        if self.trigger.create != "single_instance":
            limited = [a.name for _, _, a in self.activities() if getattr(a, "max_targets", None)]
            if limited:
                raise ValueError(
                    "max_targets (the maximum target limit) needs a recurring trigger with "
                    f"create: 'single_instance'; set on: {', '.join(limited)}"
                )
        return self

    @property
    def single_instance(self) -> bool:
        """Every fire re-runs one instance (a recurring trigger with create: single_instance)."""
        return self.trigger.kind == "recurring" and self.trigger.create == "single_instance"

    def activities(self) -> list[tuple[int, int, Any]]:
        return [(bi, ai, a) for bi, branch in enumerate(self.branches) for ai, a in enumerate(branch)]


class InteractionDesign(Strict):
    name: str = Field(pattern=NAME)
    description: str = Field(default="", max_length=2000)
    workflows: list[InteractionWorkflow] = Field(min_length=1, max_length=50)

    @model_validator(mode="after")
    def _unique_keys(self) -> InteractionDesign:
        keys = [w.key for w in self.workflows]
        dupes = sorted({k for k in keys if keys.count(k) > 1})
        if dupes:
            raise ValueError(f"workflow keys must be unique; repeated: {', '.join(dupes)}")
        return self

    def workflow(self, key: str) -> InteractionWorkflow | None:
        return next((w for w in self.workflows if w.key == key), None)


class Problem(BaseModel):
    """One finding of validation: an error blocks saving and activation, a warning does not."""

    severity: Literal["error", "warning"] = "error"
    code: str
    path: str
    message: str


def structural_problems(body: Any) -> tuple[InteractionDesign | None, list[Problem]]:
    """Parse a design; on failure, every structural error as a :class:`Problem`."""
    try:
        return InteractionDesign.model_validate(body), []
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = [str(p) for p in err.get("loc", ()) if not is_union_tag(p)]
            message = str(err.get("msg", "invalid")).removeprefix("Value error, ")
            problems.append(Problem(code="invalid_definition", path=".".join(loc) or "body", message=message))
        return None, problems


def is_union_tag(part: Any) -> bool:
    return isinstance(part, str) and part in (
        "batch_audience",
        "interactive_audience",
        "offer",
        "control",
        "export",
        "delay",
        "decision_offer",
        "wait_for_event",
        "data_process",
        "data_transfer",
    )


def activity_title(activity: Any) -> str:
    kind = {
        "batch_audience": "Audience",
        "interactive_audience": "Interactive audience",
        "offer": "Offer",
        "control": "Control",
        "export": "Export",
        "delay": "Delay",
        "decision_offer": "Decision offer",
        "wait_for_event": "Wait for event",
        "data_process": "Data process",
        "data_transfer": "Data transfer",
    }[activity.type]
    return f"{kind}: {activity.name}"


def branch_key(index: int) -> str:
    return f"branch_{index}"


def plan_interaction(
    name: str, override: dict[str, Any] | None, now: datetime, config: Any
) -> list[PlannedStage]:
    """Branches become stages (run in parallel), activities their tasks (run in sequence).

    The run's config carries a snapshot of the workflow's definition, so editing a design never
    changes an instance that already runs.
    """
    override = override or {}
    if "workflow" not in override or "instance_id" not in override:
        raise InvalidRunConfig(
            "Interaction runs are started through /api/interactions (fire), not /api/workflows.",
            {"type": "interaction"},
        )
    workflow = InteractionWorkflow.model_validate(override["workflow"])
    context = {
        "design_id": override["design_id"],
        "workflow_key": workflow.key,
        "instance_id": int(override["instance_id"]),
        "insert_batch_limit": workflow.database_insert_batch_limit,
        "create_files_in_test_mode": workflow.create_files_in_test_mode,
        "exclude_instances": list(override.get("exclude_instances") or []),
        "history_activities": [a.name for _, _, a in workflow.activities() if a.type in HISTORY_TYPES],
        # single-instance recurring: which run of the instance, and what each audience may still target
        "run": int(override.get("run") or 0),
        "target_limits": dict(override.get("target_limits") or {}),
    }
    return [
        PlannedStage(
            key=branch_key(bi),
            name=f"Branch {bi + 1}",
            tasks=[
                PlannedTask(
                    name=activity_title(a),
                    kind="activity",
                    inputs={**context, "branch": bi, "activity": a.model_dump(mode="json")},
                )
                for a in branch
            ],
        )
        for bi, branch in enumerate(workflow.branches)
    ]


SAFE_FILE = re.compile(r"[^A-Za-z0-9_\-]")
