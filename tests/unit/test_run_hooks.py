"""The run hooks registry (services/run_hooks.py): every type that needs hooks has them wherever
the engine is imported, and the domain's workflow types know nothing of them."""

from __future__ import annotations

import subprocess
import sys

from switchyard.domain.workflow_types import WORKFLOW_TYPES
from switchyard.services.run_hooks import handing_off_types, hooks_for, registered


def test_importing_the_engine_alone_registers_the_interaction_hooks() -> None:
    # Given a fresh interpreter that imports only the engine (as the engine Lambda does)
    probe = (
        "import switchyard.services.engine\n"
        "from switchyard.services.run_hooks import hooks_for\n"
        "h = hooks_for('interaction')\n"
        "print(all([h.before_task, h.after_task, h.again, h.hand_off]))\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    # Then the interaction type's four hooks are there
    assert out.stdout.strip() == "True"


def test_hooks_are_registered_for_known_types_only() -> None:
    # Given the registry once the services are imported
    types = set(registered())
    # Then each registered type is a workflow type, the interaction type hands off, and a type
    # without hooks gets none
    assert types <= set(WORKFLOW_TYPES)
    assert "interaction" in types
    assert handing_off_types() == ("interaction",)
    assert hooks_for("courier").before_task is None
