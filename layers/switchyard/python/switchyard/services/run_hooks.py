"""What a workflow type may say while its runs go: the engine asks, the type's services answer.

A workflow type (``domain/workflow_types.py``) says how a run is planned; a type whose runs need
more than the task pattern (the ``interaction`` type: audiences, prioritization, interactive
cycles, activity-state triggers) registers its :class:`RunHooks` here from its own services
package (``services/interactions/hooks.py``). The engine and :class:`WorkflowService` only read
this registry, so they import nothing of those services, and the domain stays free of them.

``switchyard.services`` imports the packages that register (``services/__init__.py``), so any
use of the services sees every type's hooks; ``tests/unit/test_run_hooks.py`` checks it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from switchyard.domain.models import Task, Workflow
from switchyard.services.deps import Deps


@dataclass(frozen=True)
class RunHooks:
    # (deps, workflow, task) -> {"wait_seconds": n} to hold the task, {"halt": True} not to run
    # it now, or {"payload": {...}} to add to its inputs; asked before a task of a running run starts
    before_task: Callable[[Deps, Workflow, Task], dict[str, Any]] | None = None
    # (deps, workflow, task id or None for the whole run) -> None; told when a task ends however
    # it ends (succeeded, failed) and when the run finishes or is stopped
    after_task: Callable[[Deps, Workflow, str | None], None] | None = None
    # (deps, workflow, task ids of a sequence none of which is pending) -> the ones to run again
    # (set pending by the hook), or [] when the sequence is done; asked by the engine's ``next``
    again: Callable[[Deps, Workflow, list[str]], list[str]] | None = None
    # (deps, workflow, task about to run or be held) -> True when its sequence may end here for a
    # new execution to carry the run on (the current one nears the history-event limit); the
    # engine counts the events of the types that have it. Asked by ``next`` and ``begin``.
    hand_off: Callable[[Deps, Workflow, Task], bool] | None = None


NONE = RunHooks()
_HOOKS: dict[str, RunHooks] = {}


def register(workflow_type: str, hooks: RunHooks) -> None:
    """Called once, at import, by the services package of the type."""
    if workflow_type in _HOOKS and _HOOKS[workflow_type] != hooks:
        raise ValueError(f"Run hooks for {workflow_type!r} are registered twice.")
    _HOOKS[workflow_type] = hooks


def hooks_for(workflow_type: str) -> RunHooks:
    return _HOOKS.get(workflow_type, NONE)


def registered() -> dict[str, RunHooks]:
    return dict(_HOOKS)


def handing_off_types() -> tuple[str, ...]:
    """The types whose runs may carry on in a new execution: the engine counts their events."""
    return tuple(sorted(name for name, hooks in _HOOKS.items() if hooks.hand_off is not None))
