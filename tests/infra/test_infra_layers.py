"""The two layers: the shared package, and the runtime dependencies built by pip for Lambda."""

from __future__ import annotations

import tomllib
from typing import Any

from infra_helpers import functions, resources
from switchyard import declarations as d

from infra import constants as c
from infra.constructs.engine import layer_requirements, pip_command


def test_the_dependencies_layer_ships_pyprojects_runtime_dependencies_except_boto3() -> None:
    declared = tomllib.loads(c.PYPROJECT.read_text())["project"]["dependencies"]
    requirements = layer_requirements()
    assert [r for r in declared if not r.startswith("boto3")] == requirements
    assert not any(r.startswith("boto3") for r in requirements)


def test_pip_picks_lambdas_wheels_whatever_the_build_machine() -> None:
    command = pip_command(["pydantic==2.14.3"], "/out/python")
    assert command[1:4] == ["-m", "pip", "install"]
    platforms = [command[i + 1] for i, arg in enumerate(command) if arg == "--platform"]
    assert "manylinux2014_x86_64" in platforms
    assert command[command.index("--python-version") + 1] == d.LAMBDA_RUNTIME.removeprefix("python")
    assert command[command.index("--implementation") + 1] == "cp"
    assert "--only-binary=:all:" in command
    assert command[command.index("--target") + 1] == "/out/python"
    assert command[-1] == "pydantic==2.14.3"


def test_every_function_uses_both_layers_built_for_its_runtime(template: dict[str, Any]) -> None:
    layers = resources(template, "AWS::Lambda::LayerVersion")
    assert len(layers) == 2
    for layer in layers.values():
        assert layer["Properties"]["CompatibleRuntimes"] == [d.LAMBDA_RUNTIME]
    for key, (_, function) in functions(template).items():
        assert sorted(ref["Ref"] for ref in function["Properties"]["Layers"]) == sorted(layers), key
