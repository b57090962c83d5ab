"""Resolutions: what a person may do about a failed task, chosen from what failed."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from switchyard.domain.models import Task


class ResolutionParam(BaseModel):
    name: str
    type: str  # "string" | "object"
    required: bool = False
    description: str


class Resolution(BaseModel):
    id: str
    title: str
    description: str
    # what happens to the task: run it again, or close it with this status
    outcome: str  # "run" | "skipped" | "warning"
    params: list[ResolutionParam] = Field(default_factory=list)


RETRY = Resolution(
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
RESTART = Resolution(
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

COMMON = (RETRY, RESTART, SKIP)
BY_ERROR_CODE: dict[str, tuple[Resolution, ...]] = {
    "missing_file": (IGNORE_MISSING_FILE,),
}
ALL: dict[str, Resolution] = {r.id: r for r in (*COMMON, IGNORE_MISSING_FILE)}


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
    return problems
