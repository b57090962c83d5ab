"""What a workflow type may say while its runs go: the engine asks, the type's services answer.

A workflow type (``domain/workflow_types.py``) says how a run is planned; a type whose runs need
more than the task pattern (the ``interaction`` type: audiences, prioritization, interactive
cycles, activity-state triggers) has its :class:`RunHooks` in its own services package
(``services/interactions/hooks.py``). The engine and :class:`WorkflowService` only read this
registry, so they import nothing of those services, and the domain stays free of them.

Nothing registers at import: every entry point calls
:func:`switchyard.services.wiring.register_run_hooks` where it wires its dependencies, and a
process whose entry point did not is refused (:class:`HooksNotRegistered`) rather than running
the types' runs without their hooks; ``tests/unit/test_run_hooks.py`` checks each entry point.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
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


class HooksNotRegistered(RuntimeError):
    """A service asked for a type's hooks in a process whose entry point never registered them."""


class _Registry:
    def __init__(self) -> None:
        self.hooks: dict[str, RunHooks] = {}
        self.registered = False  # by the entry point (even when no type has hooks)


_REGISTRY = _Registry()


def register(hooks: Mapping[str, RunHooks]) -> None:
    """Every type's hooks, by workflow type: called by
    :func:`switchyard.services.wiring.register_run_hooks` (again, with the same: no change)."""
    for workflow_type, value in hooks.items():
        if _REGISTRY.hooks.get(workflow_type, value) != value:
            raise ValueError(f"Run hooks for {workflow_type!r} are registered twice.")
    _REGISTRY.hooks.update(hooks)
    _REGISTRY.registered = True


def _hooks() -> dict[str, RunHooks]:
    """The registry, refused until the process's entry point has registered it: a type's runs
    going without their hooks (an interaction's audience controls, prioritization and cycles
    ignored) would be wrong silently."""
    if not _REGISTRY.registered:
        raise HooksNotRegistered(
            "No run hooks are registered in this process: its entry point must call "
            "switchyard.services.wiring.register_run_hooks() before it serves."
        )
    return _REGISTRY.hooks


def hooks_for(workflow_type: str) -> RunHooks:
    return _hooks().get(workflow_type, NONE)


def registered() -> dict[str, RunHooks]:
    """What is registered (empty before the entry point registers)."""
    return dict(_REGISTRY.hooks)


def handing_off_types() -> tuple[str, ...]:
    """The types whose runs may carry on in a new execution: the engine counts their events."""
    return tuple(sorted(name for name, hooks in _hooks().items() if hooks.hand_off is not None))
