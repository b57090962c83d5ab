"""Interactions: designs whose workflows select audiences and fulfil offers (docs/interactions.md).

A design holds one or more workflows, executed independently. Each workflow is a trigger
followed by branches; branches run in parallel, the activities of a branch in sequence, and an
activity's input is its predecessor's output. Definitions are JSON, validated by these models
(structure) and by :mod:`switchyard.services.interaction_validation` (the warehouse catalog and
permissions).
"""

from __future__ import annotations

import re
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from switchyard.domain.interaction_triggers import RetryState
from switchyard.domain.models import PlannedStage, PlannedTask

NAME = r"^[A-Za-z0-9][A-Za-z0-9 _\-]{0,63}$"
KEY = r"^[a-z][a-z0-9_]{0,62}$"
COLUMN = r"^[a-z][a-z0-9_]{0,62}$"


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


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --- activities ----------------------------------------------------------------------------------

Operator = Literal["=", "!=", ">", ">=", "<", "<=", "in", "not_in", "is_null", "not_null", "contains"]


class Rule(_Strict):
    """One condition on a column of the audience's table (or of a joined table: ``table.column``)."""

    column: str = Field(pattern=r"^([a-z][a-z0-9_]{0,62}\.)?[a-z][a-z0-9_]{0,62}$")
    operator: Operator
    value: Any = None

    @model_validator(mode="after")
    def _value_fits(self) -> Rule:
        if self.operator in ("is_null", "not_null"):
            return self
        if self.operator in ("in", "not_in"):
            if not isinstance(self.value, list) or not self.value:
                raise ValueError(f"operator {self.operator!r} needs a non-empty list as value")
        elif self.value is None or isinstance(self.value, (list, dict)):
            raise ValueError(f"operator {self.operator!r} needs one value (a string or a number)")
        return self


class Join(_Strict):
    """Join another warehouse table: ``audience_table.left = table.right``."""

    table: str = Field(pattern=KEY)
    left: str = Field(pattern=COLUMN)
    right: str = Field(pattern=COLUMN)


class BatchAudience(_Strict):
    type: Literal["batch_audience"]
    name: str = Field(pattern=NAME)
    # The resolution level names the table whose key identifies a record (warehouse catalog).
    resolution_level: str = Field(default="customer", pattern=KEY)
    joins: list[Join] = Field(default_factory=list)
    rules: list[Rule] = Field(default_factory=list)
    match: Literal["all", "any"] = "all"
    columns: list[Annotated[str, Field(pattern=COLUMN)]] = Field(default_factory=list)
    min_batch: int | None = Field(default=None, ge=0)
    max_batch: int | None = Field(default=None, ge=1)
    # maximum target limit: a single-instance recurring workflow completes once this audience has
    # targeted this many records over all its fires (docs/interactions.md)
    max_targets: int | None = Field(default=None, ge=1)

    @model_validator(mode="after")
    def _limits(self) -> BatchAudience:
        if self.min_batch is not None and self.max_batch is not None and self.min_batch > self.max_batch:
            raise ValueError("min_batch must not be above max_batch")
        return self


class InteractiveAudience(BatchAudience):
    """An audience that heads its branch and runs again every ``frequency_minutes``: each cycle
    targets the records its rules select that no earlier cycle of this instance targeted, and
    the branch's later activities run on them (docs/interactions.md, "Interactive audience")."""

    type: Literal["interactive_audience"]  # type: ignore[assignment]
    frequency_minutes: int = Field(ge=1, le=31 * 24 * 60)
    run_until: datetime | None = None  # no cycle starts at or after this time
    max_cycles: int | None = Field(default=None, ge=1)

    @model_validator(mode="after")
    def _interactive(self) -> InteractiveAudience:
        if self.max_targets is not None:
            raise ValueError("max_targets belongs to a batch_audience of a single-instance workflow")
        if self.run_until is not None and self.run_until.tzinfo is None:
            raise ValueError("run_until needs a time zone (for example 2026-12-01T00:00:00Z)")
        return self


class Offer(_Strict):
    type: Literal["offer"]
    name: str = Field(pattern=NAME)
    offer_code: str = Field(min_length=1, max_length=64)
    channel: str = Field(pattern=KEY)
    # offer-history-meta fields; their types come from the catalog's ``offer_history_meta``
    metadata: dict[str, Any] = Field(default_factory=dict)
    # columns of the audience kept per record in the offer history details table
    detail_columns: list[Annotated[str, Field(pattern=COLUMN)]] = Field(default_factory=list)


class Control(_Strict):
    """A control group: recorded in offer history, never fulfilled."""

    type: Literal["control"]
    name: str = Field(pattern=NAME)
    offer_code: str = Field(default="CONTROL", min_length=1, max_length=64)


MAX_PGP_RECIPIENTS = 10


def check_pgp_keys(value: Any) -> Any:
    """An export's (or export template's) ``pgp_key``: one key name, or a list of 1 to 10
    distinct names (docs/interactions.md, "Encrypted exports")."""
    if value is None:
        return None
    names = [value] if isinstance(value, str) else value
    if not isinstance(names, list) or not 1 <= len(names) <= MAX_PGP_RECIPIENTS:
        raise ValueError(f"'pgp_key' is a key name or a list of 1 to {MAX_PGP_RECIPIENTS} key names")
    for name in names:
        if not isinstance(name, str) or not re.match(KEY, name):
            raise ValueError(
                f"{name!r} is not a key name (lower-case letters, digits and '_', starting with a letter)"
            )
    if len(set(names)) != len(names):
        raise ValueError("'pgp_key' names a key more than once")
    return value


class Export(_Strict):
    type: Literal["export"]
    name: str = Field(pattern=NAME)
    template: str | None = Field(default=None, pattern=KEY)
    channel: str | None = Field(default=None, pattern=KEY)
    folder: str = Field(default="exports/interactions", pattern=r"^[A-Za-z0-9_\-][A-Za-z0-9_\-/]{0,200}$")
    columns: list[Annotated[str, Field(pattern=COLUMN)]] = Field(default_factory=list)
    sample_size: int = Field(default=10, ge=0, le=1000)
    # a database-table extract: the exported columns also replace db/<database>/<table>.parquet,
    # or are appended to it (mode "append")
    database: str | None = Field(default=None, pattern=KEY)
    table: str | None = Field(default=None, pattern=KEY)
    mode: Literal["replace", "append"] = "replace"
    # encrypt the data file and the sample for this recipient (secret switchyard/pgp/<pgp_key>),
    # or for each of several (any one of them decrypts); without it, the template's pgp_key, if any
    pgp_key: str | list[str] | None = None
    # sign what is encrypted with our private key (secret switchyard/pgp-signing/<pgp_sign_key>);
    # without it, the template's pgp_sign_key, if any
    pgp_sign_key: str | None = Field(default=None, pattern=KEY)

    _pgp_keys = field_validator("pgp_key", mode="before")(check_pgp_keys)

    @model_validator(mode="after")
    def _extract(self) -> Export:
        if (self.database is None) != (self.table is None):
            raise ValueError("a database-table extract needs both 'database' and 'table'")
        if self.mode != "replace" and self.table is None:
            raise ValueError("'mode' belongs to a database-table extract ('database' and 'table')")
        return self


class Delay(_Strict):
    type: Literal["delay"]
    name: str = Field(pattern=NAME)
    seconds: int = Field(ge=0, le=365 * 24 * 3600)


class DefaultArm(_Strict):
    """What a decision offer gives records that no arm's rules select."""

    name: str = Field(pattern=NAME)
    offer_code: str = Field(min_length=1, max_length=64)
    channel: str = Field(pattern=KEY)
    metadata: dict[str, Any] = Field(default_factory=dict)


class DecisionArm(DefaultArm):
    """One arm of a decision offer: the records its rules select (no rules: every record)."""

    rules: list[Rule] = Field(default_factory=list)
    match: Literal["all", "any"] = "all"


class DecisionOffer(_Strict):
    """Each record gets the offer of the FIRST arm whose rules hold (else the default, if any).

    Rules name columns of the incoming audience, or ``table.column`` of a warehouse table joined
    to it (``joins``: ``left`` is an audience column)."""

    type: Literal["decision_offer"]
    name: str = Field(pattern=NAME)
    arms: list[DecisionArm] = Field(min_length=1, max_length=20)
    default: DefaultArm | None = None
    joins: list[Join] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique_arms(self) -> DecisionOffer:
        names = [a.name for a in self.all_arms()]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"arm names must be unique in a decision offer; repeated: {', '.join(dupes)}")
        return self

    def all_arms(self) -> list[DefaultArm]:
        return [*self.arms, *([self.default] if self.default else [])]


class WaitForEvent(_Strict):
    """Holds its branch until its event: a manual call (``trigger: manual``) or a time
    (``scheduled``: ``at`` as a wall time in ``time_zone``), then until its database-count
    ``constraints`` all hold."""

    type: Literal["wait_for_event"]
    name: str = Field(pattern=NAME)
    trigger: Literal["manual", "scheduled"] = "manual"
    at: datetime | None = None
    time_zone: str = Field(default="UTC", max_length=64)
    constraints: list[Constraint] = Field(default_factory=list, max_length=10)

    @model_validator(mode="after")
    def _fields(self) -> WaitForEvent:
        if self.trigger == "scheduled" and self.at is None:
            raise ValueError("a scheduled wait_for_event needs 'at', the date and time of its event")
        if self.trigger == "manual" and self.at is not None:
            raise ValueError("'at' belongs to a scheduled wait_for_event")
        if any(c.kind != "database_count" for c in self.constraints):
            raise ValueError("a wait_for_event's constraints are database counts (kind 'database_count')")
        return self


class DataProcess(_Strict):
    """Transforms the audience into a new one (no offer history): warehouse columns joined in
    (``join_columns``: ``table.column``, through ``joins``), computed columns (``add_columns``:
    name -> expression, see :mod:`switchyard.domain.audience_expressions`), then the rows where
    ``rules`` hold (over the resulting columns)."""

    type: Literal["data_process"]
    name: str = Field(pattern=NAME)
    joins: list[Join] = Field(default_factory=list)
    join_columns: list[Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,62}\.[a-z][a-z0-9_]{0,62}$")]] = (
        Field(default_factory=list)
    )
    add_columns: dict[Annotated[str, Field(pattern=COLUMN)], Annotated[str, Field(max_length=1000)]] = Field(
        default_factory=dict, max_length=50
    )
    rules: list[Rule] = Field(default_factory=list)
    match: Literal["all", "any"] = "all"

    @model_validator(mode="after")
    def _plain_rules(self) -> DataProcess:
        if any("." in r.column for r in self.rules):
            raise ValueError(
                "a data_process's rules name columns of its result: join a table's column in with "
                "join_columns, then filter on its name"
            )
        return self


class DataTransfer(_Strict):
    """Fulfilment without offer history: the audience written to a warehouse database table
    (``db/<database>/<table>.parquet``, ``replace`` or ``append``) or to a file in ``folder``."""

    type: Literal["data_transfer"]
    name: str = Field(pattern=NAME)
    target: Literal["table", "file"] = "table"
    database: str | None = Field(default=None, pattern=KEY)
    table: str | None = Field(default=None, pattern=KEY)
    write: Literal["replace", "append"] = "replace"
    folder: str = Field(default="exports/transfers", pattern=r"^[A-Za-z0-9_\-][A-Za-z0-9_\-/]{0,200}$")
    file_format: Literal["csv", "parquet"] = "csv"
    columns: list[Annotated[str, Field(pattern=COLUMN)]] = Field(default_factory=list)

    @model_validator(mode="after")
    def _target(self) -> DataTransfer:
        if self.target == "table" and not (self.database and self.table):
            raise ValueError("a data_transfer to a table needs 'database' and 'table'")
        if self.target == "file" and (self.database or self.table):
            raise ValueError("'database' and 'table' belong to a data_transfer to a table")
        return self


Activity = Annotated[
    BatchAudience
    | InteractiveAudience
    | Offer
    | Control
    | Export
    | Delay
    | DecisionOffer
    | WaitForEvent
    | DataProcess
    | DataTransfer,
    Field(discriminator="type"),
]
AUDIENCE_TYPES = ("batch_audience", "interactive_audience")  # what heads a branch
# the tenant's warehouse catalog: the configuration item designs are checked and run against
CATALOG_KIND, CATALOG_NAME = "warehouse", "catalog"
FULFILMENT = ("offer", "control", "export", "decision_offer", "data_transfer")
# the output that an activity's results bubble counts
COUNTED = {
    "batch_audience": "records",
    "interactive_audience": "targeted",  # over all its cycles
    "offer": "offered",
    "control": "control_group",
    "export": "exported",
    "decision_offer": "offered",
    "data_process": "records",
    "data_transfer": "transferred",
    "wait_for_event": "records",
}
# activities that write offer history (re-contact exclusion reads them back)
HISTORY_TYPES = ("offer", "control", "decision_offer")


# --- triggers and workflows --------------------------------------------------------------------


class WatchedWorkflow(_Strict):
    """What an activity-state trigger waits for: an instance of another workflow ending, or,
    with ``activity``, that activity of an instance reaching one of ``states``."""

    design_id: str | None = Field(default=None, max_length=64)  # None: this design
    workflow_key: str = Field(pattern=KEY)
    # one activity of the watched workflow (its name); None: the instance as a whole
    activity: str | None = Field(default=None, pattern=NAME)
    states: list[Literal["Completed", "Failed", "Stopped"]] = Field(default=["Completed"], min_length=1)


class Constraint(_Strict):
    """A condition that must hold before a fired trigger starts an instance.

    ``database_count``: the number of records of ``resolution_level`` matching ``rules``
    (as a batch audience selects them) compared with ``operator`` and ``value``.
    ``external``: a call to ``POST /api/triggers/{guid}`` (the workflow's GUID, made at
    activation) after the trigger fired.
    """

    kind: Literal["database_count", "external"]
    name: str = Field(default="", max_length=64)
    resolution_level: str = Field(default="customer", pattern=KEY)
    rules: list[Rule] = Field(default_factory=list)
    match: Literal["all", "any"] = "all"
    operator: Literal["=", "!=", ">", ">=", "<", "<="] = ">="
    value: int = Field(default=1, ge=0)

    def audience(self, name: str = "Constraint") -> BatchAudience:
        """What a database count counts: the records a batch audience with these rules selects."""
        return BatchAudience(
            type="batch_audience",
            name=name,
            resolution_level=self.resolution_level,
            rules=self.rules,
            match=self.match,
        )

    def label(self) -> str:
        if self.name:
            return self.name
        if self.kind == "external":
            return "external call"
        return f"count of {self.resolution_level} {self.operator} {self.value}"


WaitForEvent.model_rebuild()  # its constraints are declared above


class Trigger(_Strict):
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


class InteractionWorkflow(_Strict):
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


class InteractionDesign(_Strict):
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


# --- run-time shapes -----------------------------------------------------------------------------


class Space(StrEnum):
    """Where an instance's offer history goes: test mode writes the sandbox."""

    PRODUCTION = "production"
    SANDBOX = "sandbox"


def space_for(mode: str) -> Space:
    return Space.SANDBOX if mode == "test" else Space.PRODUCTION


def format_count(n: int) -> str:
    """Results bubbles: 1,203,492 -> 1.2M, 75,854 -> 75.9K, 999 -> 999."""
    if n < 1000:
        return str(n)
    for value, suffix in ((1_000, "K"), (1_000_000, "M"), (1_000_000_000, "B")):
        shown = round(n / value, 1)
        if shown < 1000 or suffix == "B":
            return f"{shown:g}{suffix}"
    return str(n)  # pragma: no cover


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
    from switchyard.domain.errors import InvalidRunConfig

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


# --- stored state ----------------------------------------------------------------------------------


class WorkflowState(BaseModel):
    """The state of one workflow of a design (activation, mode, its latest instance)."""

    active: bool = False
    mode: Literal["production", "test"] = "test"
    production_activated: bool = False
    last_instance_id: int | None = None
    activated_at: datetime | None = None
    activated_by: str | None = None
    # scheduled and recurring triggers: how often it fired, and the last scheduled time handled
    fires: int = 0
    last_scheduled_time: str | None = None
    # constraints: the GUID external systems call, the last call, a fire waiting for them to hold
    external_guid: str | None = None
    external_called_at: datetime | None = None
    waiting_since: datetime | None = None
    waiting_until: datetime | None = None
    unmet: list[str] = Field(default_factory=list)
    # a fire that could not start an instance, retried on the ladder (domain/interaction_triggers.py)
    retry: RetryState | None = None
    # single-instance recurring: the instance every fire re-runs; why the workflow completed
    single_instance_id: int | None = None
    completed_reason: str | None = None
    # inactivity expiry: the last fire, when the workflow expires unless it fires, why it was
    # deactivated automatically
    last_fired_at: datetime | None = None
    expires_at: datetime | None = None
    deactivated_reason: str | None = None


class StoredDesign(BaseModel):
    id: str
    tenant: str
    design: InteractionDesign
    state: dict[str, WorkflowState] = Field(default_factory=dict)
    version: int = 0
    created_by: str
    created_at: datetime
    updated_at: datetime

    def workflow_state(self, key: str) -> WorkflowState:
        return self.state.get(key) or WorkflowState()


class PlayControl(StrEnum):
    PAUSE_REQUESTED = "pause_requested"
    PAUSED = "paused"
    RESUME_REQUESTED = "resume_requested"


class Instance(BaseModel):
    instance_id: int
    tenant: str
    design_id: str
    workflow_key: str
    mode: Literal["production", "test"]
    workflow_id: str | None = None
    started_by: str
    created_at: datetime
    control: str | None = None
    control_reason: str | None = None
    delays: dict[str, str] = Field(default_factory=dict)
    rollback_status: str | None = None
    rollback_detail: dict[str, Any] | None = None
    exported: list[str] = Field(default_factory=list)
    # wait for event activities: task id -> waiting_since, at, how, by
    events: dict[str, dict[str, Any]] = Field(default_factory=dict)
    # single-instance recurring: earlier runs of this instance (one per fire), and whether more
    # fires will re-run it (it shows Waiting Next Trigger between fires)
    runs: list[str] = Field(default_factory=list)
    single_open: bool = False

    @property
    def space(self) -> Space:
        return space_for(self.mode)
