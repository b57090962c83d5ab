"""The run hooks registry (services/run_hooks.py): importing the services registers nothing, every
entry point registers every type's hooks (services/wiring.py) before it serves, a process whose
entry point did not is refused, and the domain's workflow types know nothing of them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from switchyard.domain.workflow_types import WORKFLOW_TYPES
from switchyard.services.run_hooks import handing_off_types, hooks_for, registered
from switchyard.services.wiring import register_run_hooks

ROOT = Path(__file__).resolve().parents[2]

# Loads one Lambda function's module from functions/ as the Lambda runtime (and the local
# runtime's dispatcher) does, then prints what the registry holds for the interaction type.
LOAD_FUNCTION = """
import importlib.util, sys
spec = importlib.util.spec_from_file_location("handler", sys.argv[1])
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
{serve}
from switchyard.services.run_hooks import hooks_for
h = hooks_for("interaction")
print(all([h.before_task, h.after_task, h.again, h.hand_off]))
"""

# The API's first request (the console's redirect: no AWS call): its app is built then.
SERVE_API = """
from types import SimpleNamespace
context = SimpleNamespace(
    function_name="api", memory_limit_in_mb=512, aws_request_id="r-1",
    invoked_function_arn="arn:aws:lambda:us-east-1:000000000000:function:api",
)
event = {"path": "/", "httpMethod": "GET", "headers": {}, "requestContext": {"stage": "api"}}
assert module.lambda_handler(event, context)["statusCode"] == 302
"""


def _python(code: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "POWERTOOLS_TRACE_DISABLED": "1", "POWERTOOLS_LOG_LEVEL": "ERROR"}
    return subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, env=env, cwd=ROOT
    )


@pytest.mark.parametrize(
    ("function", "serve"),
    [("engine", ""), ("tasks", ""), ("triggers", ""), ("api", SERVE_API)],
)
def test_each_entry_point_registers_the_interaction_hooks(function: str, serve: str) -> None:
    # Given a fresh interpreter that loads one function's entry point, and nothing else
    out = _python(LOAD_FUNCTION.format(serve=serve), str(ROOT / "functions" / function / "handler.py"))
    # Then the interaction type's four hooks are there
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "True"


def test_importing_the_services_registers_nothing_and_the_engine_refuses_to_go_without() -> None:
    # Given a fresh interpreter that imports every module of the services, and no entry point
    probe = (
        "import pkgutil, switchyard.services as s\n"
        "for m in pkgutil.walk_packages(s.__path__, 'switchyard.services.'):\n"
        "    __import__(m.name)\n"
        "from switchyard.services.run_hooks import HooksNotRegistered, hooks_for, registered\n"
        "print(registered())\n"
        "try:\n"
        "    hooks_for('courier')\n"
        "except HooksNotRegistered as exc:\n"
        "    print(exc)\n"
    )
    out = _python(probe)
    assert out.returncode == 0, out.stderr
    # Then nothing is registered, and asking for a type's hooks says which call is missing
    empty, refusal = out.stdout.strip().splitlines()
    assert empty == "{}"
    assert "register_run_hooks()" in refusal


def test_hooks_are_registered_for_known_types_only() -> None:
    # Given the registry once an entry point registered it (twice: the second changes nothing)
    register_run_hooks()
    register_run_hooks()
    types = set(registered())
    # Then each registered type is a workflow type, the interaction type hands off, and a type
    # without hooks gets none
    assert types <= set(WORKFLOW_TYPES)
    assert "interaction" in types
    assert handing_off_types() == ("interaction",)
    assert hooks_for("courier").before_task is None
