"""infra.describe reads back from the template what the local runtime must reproduce."""

from __future__ import annotations

import json
from typing import Any

import pytest
from switchyard import declarations as d
from switchyard.data.models import TABLE_MODELS, key_schema
from switchyard.statemachines import load_definition

from infra.describe import literal_string, template_resources


def test_tables_read_back_equal_the_models_key_schemas(template: dict[str, Any]) -> None:
    described = template_resources(template)
    assert described["tables"] == {logical: key_schema(model) for logical, model in TABLE_MODELS.items()}


def test_state_machines_read_back_equal_the_loaded_definitions(template: dict[str, Any]) -> None:
    described = template_resources(template)
    assert set(described["state_machines"]) == set(d.STATE_MACHINES)
    for workflow_type, definition in described["state_machines"].items():
        assert json.loads(definition) == json.loads(load_definition(workflow_type))
    assert described["substitutions"] == {t: m.function_substitutions for t, m in d.STATE_MACHINES.items()}


def test_describe_notices_a_changed_key(template: dict[str, Any]) -> None:
    # Given a template whose workflows table lost its range-less hash key name
    changed = json.loads(json.dumps(template))
    for resource in changed["Resources"].values():
        if resource["Type"] == "AWS::DynamoDB::Table":
            resource["Properties"]["KeySchema"][0]["AttributeName"] = "renamed"
    # Then what describe reads no longer equals the models
    described = template_resources(changed)
    assert described["tables"] != {logical: key_schema(model) for logical, model in TABLE_MODELS.items()}


def test_a_definition_with_references_is_refused() -> None:
    with pytest.raises(ValueError):
        literal_string({"Fn::Join": ["", ["{", {"Ref": "X"}, "}"]]})
