"""The activities of an interaction design (audiences, offers, controls, exports, delays,
decision offers, waits for events, data processes and transfers), with the constraints a wait or
a trigger counts on; pydantic models that refuse what the product does not allow.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

NAME = r"^[A-Za-z0-9][A-Za-z0-9 _\-]{0,63}$"


KEY = r"^[a-z][a-z0-9_]{0,62}$"


COLUMN = r"^[a-z][a-z0-9_]{0,62}$"


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


Operator = Literal["=", "!=", ">", ">=", "<", "<=", "in", "not_in", "is_null", "not_null", "contains"]


class Rule(Strict):
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


class Join(Strict):
    """Join another warehouse table: ``audience_table.left = table.right``."""

    table: str = Field(pattern=KEY)
    left: str = Field(pattern=COLUMN)
    right: str = Field(pattern=COLUMN)


class BatchAudience(Strict):
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


class Offer(Strict):
    type: Literal["offer"]
    name: str = Field(pattern=NAME)
    offer_code: str = Field(min_length=1, max_length=64)
    channel: str = Field(pattern=KEY)
    # offer-history-meta fields; their types come from the catalog's ``offer_history_meta``
    metadata: dict[str, Any] = Field(default_factory=dict)
    # columns of the audience kept per record in the offer history details table
    detail_columns: list[Annotated[str, Field(pattern=COLUMN)]] = Field(default_factory=list)


class Control(Strict):
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


class Export(Strict):
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


class Delay(Strict):
    type: Literal["delay"]
    name: str = Field(pattern=NAME)
    seconds: int = Field(ge=0, le=365 * 24 * 3600)


class DefaultArm(Strict):
    """What a decision offer gives records that no arm's rules select."""

    name: str = Field(pattern=NAME)
    offer_code: str = Field(min_length=1, max_length=64)
    channel: str = Field(pattern=KEY)
    metadata: dict[str, Any] = Field(default_factory=dict)


class DecisionArm(DefaultArm):
    """One arm of a decision offer: the records its rules select (no rules: every record)."""

    rules: list[Rule] = Field(default_factory=list)
    match: Literal["all", "any"] = "all"


class DecisionOffer(Strict):
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


class WaitForEvent(Strict):
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


class DataProcess(Strict):
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


class DataTransfer(Strict):
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


class Constraint(Strict):
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
