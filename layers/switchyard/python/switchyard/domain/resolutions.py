"""Resolutions: what a person may do about a failed task, chosen from what failed.

Each resolution is an object that knows what it does (docs/architecture.md, "Resolutions"): the
problems of its parameters for this task (:meth:`Resolution.problems`), what to do before the
task is touched (:meth:`Resolution.prepare`: store credentials), and what the task becomes:
run again with :meth:`Resolution.inputs`, or closed with its ``outcome`` status. A new one is a
new object below with the failure codes that offer it; ``ALL`` finds it by itself.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar, Protocol

from pydantic import BaseModel, Field

from switchyard.domain.models import Task


class ResolutionParam(BaseModel):
    name: str
    type: str  # "string" | "object"
    required: bool = False
    description: str


class Effects(Protocol):
    """What a resolution may ask of the services before the task runs again."""

    def store_credentials(self, task: Task, credentials: dict[str, Any] | None) -> None: ...


class Resolution(BaseModel):
    """Closes the failed task with ``outcome`` (``skipped``, ``warning``), or, with outcome
    ``run``, runs it again with the same inputs; subclasses change what it does."""

    id: str
    title: str
    description: str
    # what happens to the task: run it again, or close it with this status
    outcome: str  # "run" | "skipped" | "warning"
    params: list[ResolutionParam] = Field(default_factory=list)

    # parameters that are secrets: never recorded in history or logs
    secret_params: ClassVar[frozenset[str]] = frozenset()

    def problems(self, task: Task, params: dict[str, Any]) -> list[str]:
        """What is wrong with ``params`` for this task (empty when they may be applied)."""
        return validate_params(self, params)

    def prepare(self, task: Task, params: dict[str, Any], effects: Effects) -> None:
        """Done before the task changes (may refuse with a domain error)."""

    def inputs(
        self, task: Task, params: dict[str, Any], configured: Callable[[dict[str, Any]], dict[str, Any]]
    ) -> dict[str, Any]:
        """The inputs the task runs again with; ``configured(inputs)`` reads them again from the
        current configuration."""
        return dict(task.inputs)

    def recorded_params(self, params: dict[str, Any]) -> dict[str, Any]:
        return {k: "<redacted>" if k in self.secret_params else v for k, v in params.items()}


class RetryTask(Resolution):
    """The same inputs, with the overrides given for this run only."""

    def problems(self, task: Task, params: dict[str, Any]) -> list[str]:
        problems = super().problems(task, params)
        if isinstance(params.get("overrides"), dict):
            unknown = sorted(set(params["overrides"]) - set(task.inputs))
            if unknown:
                problems.append(
                    f"overrides may only replace the task's inputs ({', '.join(sorted(task.inputs))}); "
                    f"unknown: {', '.join(unknown)}"
                )
        return problems

    def inputs(
        self, task: Task, params: dict[str, Any], configured: Callable[[dict[str, Any]], dict[str, Any]]
    ) -> dict[str, Any]:
        return {**task.inputs, **(params.get("overrides") or {})}


class FromConfiguration(Resolution):
    """The inputs read again from the current configuration (a fixed courier, path, SQL, list)."""

    def inputs(
        self, task: Task, params: dict[str, Any], configured: Callable[[dict[str, Any]], dict[str, Any]]
    ) -> dict[str, Any]:
        return configured(dict(task.inputs))


class UpdateCredentials(FromConfiguration):
    """New credentials stored for the destination first (or the ones already stored), then
    the task restarts from the current configuration."""

    secret_params: ClassVar[frozenset[str]] = frozenset({"credentials"})

    def prepare(self, task: Task, params: dict[str, Any], effects: Effects) -> None:
        effects.store_credentials(task, params.get("credentials"))


class RaiseThreshold(Resolution):
    """The same inputs with a higher failure threshold (``fail_above``) for this run only."""

    def problems(self, task: Task, params: dict[str, Any]) -> list[str]:
        problems = super().problems(task, params)
        current = task.inputs.get("fail_above")
        if not problems and current is not None and float(params["threshold"]) <= float(current):
            problems.append(f"threshold must be above the current threshold ({float(current):g})")
        return problems

    def inputs(
        self, task: Task, params: dict[str, Any], configured: Callable[[dict[str, Any]], dict[str, Any]]
    ) -> dict[str, Any]:
        return {**task.inputs, "fail_above": params["threshold"]}


class SetsInputs(Resolution):
    """The same inputs with ``sets`` added for this run only."""

    sets: dict[str, Any] = Field(default_factory=dict, exclude=True)

    def inputs(
        self, task: Task, params: dict[str, Any], configured: Callable[[dict[str, Any]], dict[str, Any]]
    ) -> dict[str, Any]:
        return {**task.inputs, **self.sets}


RETRY = RetryTask(
    id="retry_task",
    title="Retry task",
    description=(
        "Runs the failed task again with the same inputs. Optionally override input values for "
        "this run only (the configuration is not changed)."
    ),
    outcome="run",
    params=[
        ResolutionParam(
            name="overrides",
            type="object",
            description='Input values to replace for this run only, e.g. {"pattern": "crm_*.csv"}.',
        )
    ],
)
RESTART = FromConfiguration(
    id="restart_task",
    title="Restart from the failed task with the current configuration",
    description=(
        "Reads the task's inputs again from the current configuration (pick up a fixed courier, "
        "path or rule) and continues the run from this task."
    ),
    outcome="run",
)
SKIP = Resolution(
    id="skip_task",
    title="Skip task",
    description="Marks the task skipped and continues the run with the next task.",
    outcome="skipped",
)
IGNORE_MISSING_FILE = Resolution(
    id="ignore_missing_file",
    title="Ignore missing file",
    description=(
        "Continues without today's file: the task ends with a warning and its table keeps its "
        "previous contents."
    ),
    outcome="warning",
)

RAISE_THRESHOLD = RaiseThreshold(
    id="raise_error_threshold",
    title="Raise the error threshold for this run",
    description=(
        "Runs the query again with a higher failure threshold for this run only; the configured "
        "threshold does not change."
    ),
    outcome="run",
    params=[
        ResolutionParam(
            name="threshold", type="number", required=True, description="The failure threshold for this run."
        )
    ],
)


def _fix_sql(id_: str, title: str, what: str) -> Resolution:
    return FromConfiguration(
        id=id_,
        title=title,
        description=(
            f"{what} Correct the SQL in the database's configuration, then apply this to run the task "
            "again with the corrected SQL (the rest of the run is kept)."
        ),
        outcome="run",
    )


FIX_DATATYPE = _fix_sql(
    "fix_mismatched_datatype",
    "Fix the mismatched datatype",
    "The SQL compares or converts values of different types (for example '=' applied to varchar "
    "and integer): cast one side, e.g. CAST(col AS INTEGER).",
)
FIX_MISSING_TABLE = _fix_sql(
    "fix_missing_table",
    "Fix the missing table",
    "The SQL names a table that does not exist (yet): check its name, or run the courier that "
    "builds it first.",
)
FIX_COLUMN = _fix_sql(
    "fix_unresolved_column",
    "Fix the unresolved column",
    "The SQL names a column the table does not have: check the column's name in the source.",
)

UPDATE_CREDENTIALS = UpdateCredentials(
    id="update_credentials",
    title="Update credentials, then restart the task",
    description=(
        "Stores new credentials for the destination (in Secrets Manager; they are never shown or "
        "logged) and runs the task again with the current configuration. Leave them out when they "
        "were updated on the Credentials page (PUT /api/credentials/{name}): the task restarts "
        "with the stored ones."
    ),
    outcome="run",
    params=[
        ResolutionParam(
            name="credentials",
            type="object",
            required=False,
            description='The destination\'s credential fields, e.g. {"username": ..., "password": ...}.',
        )
    ],
)
FIX_LIST_NAME = FromConfiguration(
    id="fix_list_name",
    title="Fix the list name",
    description=(
        "The destination does not accept this list or audience name. Correct it in the destination's "
        "configuration, then apply this to send again (the rest of the run is kept)."
    ),
    outcome="run",
)

IGNORE_JITTER = SetsInputs(
    id="ignore_jitter",
    title="Ignore ID jitter for this run",
    description=(
        "Accepts the changed customer ids for this run only: Stitch runs again and replaces the "
        "mapping; the allowed share in the configuration does not change."
    ),
    outcome="run",
    sets={"ignore_jitter": True},
)

COMMON = (RETRY, RESTART, SKIP)
BY_ERROR_CODE: dict[str, tuple[Resolution, ...]] = {
    "missing_file": (IGNORE_MISSING_FILE,),
    "query_threshold": (RAISE_THRESHOLD,),
    "mismatched_datatype": (FIX_DATATYPE,),
    "missing_table": (FIX_MISSING_TABLE,),
    "unresolved_column": (FIX_COLUMN,),
    "destination_authorization": (UPDATE_CREDENTIALS,),
    "invalid_credentials": (UPDATE_CREDENTIALS,),
    "invalid_list_name": (FIX_LIST_NAME,),
    "id_jitter": (IGNORE_JITTER,),
}
# Every resolution this module defines, by id: found, not listed by hand (a resolution defined
# above is in it without anyone remembering to add it).
ALL: dict[str, Resolution] = {r.id: r for r in list(globals().values()) if isinstance(r, Resolution)}


def offered(task: Task) -> list[Resolution]:
    """Context resolutions first (they fit the failure best), then the common ones."""
    code = task.error.code if task.error else ""
    return [*BY_ERROR_CODE.get(code, ()), *COMMON]


def validate_params(resolution: Resolution, params: dict[str, Any]) -> list[str]:
    problems = []
    known = {p.name: p for p in resolution.params}
    for name in params:
        if name not in known:
            problems.append(f"{resolution.id} takes no parameter {name!r}")
    for p in resolution.params:
        value = params.get(p.name)
        if value is None:
            if p.required:
                problems.append(f"{p.name} is required")
            continue
        if p.type == "object" and not isinstance(value, dict):
            problems.append(f"{p.name} must be an object")
        if p.type == "string" and not isinstance(value, str):
            problems.append(f"{p.name} must be a string")
        if p.type == "number" and (isinstance(value, bool) or not isinstance(value, int | float)):
            problems.append(f"{p.name} must be a number")
    return problems
