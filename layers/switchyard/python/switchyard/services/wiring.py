"""What every entry point calls where it wires its dependencies: each workflow type's run hooks.

The engine and :class:`WorkflowService` read the run hooks registry (services/run_hooks.py);
importing the services puts nothing in it. Each composition root calls
:func:`register_run_hooks` once, before it serves: the engine and task handlers
(``switchyard.handlers``), the triggers (``switchyard.triggers``), the API (``switchyard.api.app``)
and the local runtime (``LocalRuntime.start``). ``tests/unit/test_run_hooks.py`` loads each entry
point in a fresh interpreter and checks that the hooks are there.
"""

from __future__ import annotations

from switchyard.services import run_hooks
from switchyard.services.interactions.hooks import HOOKS as INTERACTION_HOOKS

# workflow type -> its run hooks: the types whose runs need more than the task pattern
RUN_HOOKS = {"interaction": INTERACTION_HOOKS}


def register_run_hooks() -> None:
    """Register every type's run hooks; calling it again changes nothing."""
    run_hooks.register(RUN_HOOKS)
