"""The local runtime deploys what the CDK app declares: same tables, machines, substitutions, handlers."""

from __future__ import annotations

import json
from typing import Any

from switchyard.local.runtime import local_resources

from infra import constants as c
from infra.describe import tagged, template_resources


def test_local_tables_have_the_template_key_schemas(template: dict[str, Any]) -> None:
    assert local_resources()["tables"] == template_resources(template)["tables"]


def test_local_machines_run_the_template_definitions_with_the_same_substitutions(
    template: dict[str, Any],
) -> None:
    deployed = template_resources(template)
    local = local_resources()
    assert set(local["state_machines"]) == set(deployed["state_machines"])
    for wtype, definition in local["state_machines"].items():
        assert json.loads(definition) == json.loads(deployed["state_machines"][wtype]), wtype
    assert local["substitutions"] == deployed["substitutions"]


def test_local_functions_use_the_template_handlers(template: dict[str, Any]) -> None:
    functions = tagged(template, "AWS::Lambda::Function", c.TAG_FUNCTION)
    handlers = {key: resource["Properties"]["Handler"] for key, (_, resource) in functions.items()}
    assert local_resources()["functions"] == handlers
