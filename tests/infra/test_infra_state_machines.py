"""State machines: definitions from the ASL files, substitutions, roles, logging, alarms."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from infra_helpers import functions, machines, render, resources, role_statements
from switchyard import declarations as d
from switchyard.statemachines import load_definition, machines_dir, placeholders, state_names, substitute

from infra.describe import literal_string

UNRESOLVED = re.compile(r"\$\{[^}]*\}")
TYPES = sorted(d.STATE_MACHINES)


def _substituted(properties: dict[str, Any]) -> str:
    """The definition as Step Functions will see it, each ARN rendered as <LogicalId.Arn>."""
    values = {k: render(v) for k, v in (properties.get("DefinitionSubstitutions") or {}).items()}
    # (the partition is a reference in the definition itself, rendered "aws")
    text = render(properties["DefinitionString"])
    return UNRESOLVED.sub(lambda m: values.get(m.group(0)[2:-1], m.group(0)), text)


def _item_processors(node: Any) -> list[dict[str, Any]]:
    """The innermost item processors (an interaction's branch Map holds its activities' Map)."""
    found = []
    if isinstance(node, dict):
        if "ItemProcessor" in node:
            inner = _item_processors(node["ItemProcessor"])
            found.extend(inner or [node["ItemProcessor"]])
        for key, value in node.items():
            if key != "ItemProcessor":
                found.extend(_item_processors(value))
    elif isinstance(node, list):
        for value in node:
            found.extend(_item_processors(value))
    return found


def test_one_standard_machine_per_workflow_type_with_its_declared_name(template: dict[str, Any]) -> None:
    found = machines(template)
    assert set(found) == set(d.STATE_MACHINES)
    assert len(resources(template, "AWS::StepFunctions::StateMachine")) == len(d.STATE_MACHINES)
    for workflow_type, (_, machine) in found.items():
        assert machine["Properties"]["StateMachineName"] == d.state_machine_name(workflow_type)
        assert machine["Properties"]["StateMachineType"] == "STANDARD"


@pytest.mark.parametrize("workflow_type", TYPES)
def test_the_definition_is_the_machine_file_with_every_placeholder_substituted(
    template: dict[str, Any], workflow_type: str
) -> None:
    properties = machines(template)[workflow_type][1]["Properties"]
    definition = load_definition(workflow_type)
    # The template holds the loaded file as it is, placeholders included (the partition as the
    # stack's AWS::Partition, joined into the string)
    assert json.loads(literal_string(properties["DefinitionString"])) == json.loads(definition)
    assert {"Ref": "AWS::Partition"} in properties["DefinitionString"]["Fn::Join"][1]
    # Every other placeholder has a substitution, and there is none without a placeholder
    assert set(properties["DefinitionSubstitutions"]) == placeholders(definition) - {d.PARTITION_PLACEHOLDER}
    assert placeholders(definition), "a machine that invokes no function is suspicious"
    # After substitution nothing unresolved is left
    assert UNRESOLVED.findall(_substituted(properties)) == []


@pytest.mark.parametrize("workflow_type", TYPES)
def test_each_placeholder_is_filled_with_the_declared_functions_arn(
    template: dict[str, Any], workflow_type: str
) -> None:
    found = functions(template)
    substitutions = machines(template)[workflow_type][1]["Properties"]["DefinitionSubstitutions"]
    for placeholder, key in d.STATE_MACHINES[workflow_type].function_substitutions.items():
        assert substitutions[placeholder] == {"Fn::GetAtt": [found[key][0], "Arn"]}


@pytest.mark.parametrize("workflow_type", TYPES)
def test_every_item_processor_runs_the_task_pattern_fragment(
    template: dict[str, Any], workflow_type: str
) -> None:
    fragment = json.loads((machines_dir() / "fragments" / "task.asl.json").read_text())
    properties = machines(template)[workflow_type][1]["Properties"]
    definition = json.loads(_substituted(properties))
    processors = _item_processors(definition)
    assert processors, "no Map state runs the task pattern"
    engine_arn = f"<{functions(template)['engine'][0]}.Arn>"
    for processor in processors:
        # the fragment's states, named after their Map state (names are unique machine-wide)
        prefix = processor["StartAt"].removesuffix("." + fragment["StartAt"])
        assert prefix and processor["StartAt"] == f"{prefix}.{fragment['StartAt']}"
        assert set(processor["States"]) == {f"{prefix}.{name}" for name in fragment["States"]}
        unprefixed = json.loads(json.dumps(processor["States"]).replace(f'"{prefix}.', '"'))
        # and the fragment's engine calls go to the engine function
        expected = json.loads(
            substitute(json.dumps(fragment["States"]), {"EngineFunctionArn": engine_arn, "Partition": "aws"})
        )
        assert unprefixed == expected


@pytest.mark.parametrize("workflow_type", TYPES)
def test_a_machine_may_invoke_only_the_engine_and_its_task_functions(
    template: dict[str, Any], workflow_type: str
) -> None:
    found = functions(template)
    machine = machines(template)[workflow_type][1]
    statements = role_statements(template, machine["Properties"]["RoleArn"])
    invoke = [
        (action, render(resource))
        for s in statements
        for action in (s["Action"] if isinstance(s["Action"], list) else [s["Action"]])
        if action.startswith("lambda:")
        for resource in (s["Resource"] if isinstance(s["Resource"], list) else [s["Resource"]])
    ]
    expected = {"engine", *d.STATE_MACHINES[workflow_type].task_kinds}
    assert set(invoke) == {("lambda:InvokeFunction", f"<{found[key][0]}.Arn>") for key in expected}
    assert all(not action.startswith(("dynamodb:", "s3:", "states:")) for action, _ in invoke)


@pytest.mark.parametrize("workflow_type", TYPES)
def test_a_machine_logs_all_events_without_execution_data_and_is_traced(
    template: dict[str, Any], workflow_type: str
) -> None:
    properties = machines(template)[workflow_type][1]["Properties"]
    logging = properties["LoggingConfiguration"]
    assert logging["Level"] == "ALL"
    assert logging["IncludeExecutionData"] is False
    (destination,) = logging["Destinations"]
    log_group_id = destination["CloudWatchLogsLogGroup"]["LogGroupArn"]["Fn::GetAtt"][0]
    log_group = template["Resources"][log_group_id]
    assert log_group["Type"] == "AWS::Logs::LogGroup"
    assert log_group["Properties"]["LogGroupName"].endswith(d.state_machine_name(workflow_type))
    assert log_group["Properties"]["RetentionInDays"] > 0
    assert properties["TracingConfiguration"] == {"Enabled": True}


@pytest.mark.parametrize("workflow_type", TYPES)
def test_a_machine_has_alarms_on_failed_throttled_and_aborted_executions(
    template: dict[str, Any], workflow_type: str
) -> None:
    machine_id = machines(template)[workflow_type][0]
    (topic_id,) = resources(template, "AWS::SNS::Topic")
    alarms = [
        a["Properties"]
        for a in resources(template, "AWS::CloudWatch::Alarm").values()
        if {"Name": "StateMachineArn", "Value": {"Ref": machine_id}} in a["Properties"].get("Dimensions", [])
    ]
    # CloudWatch spells the throttling metric ExecutionThrottled (singular)
    assert sorted(a["MetricName"] for a in alarms) == [
        "ExecutionThrottled",
        "ExecutionsAborted",
        "ExecutionsFailed",
    ]
    for alarm in alarms:
        assert alarm["Namespace"] == "AWS/States"
        assert alarm["Threshold"] == 1
        assert alarm["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
        assert alarm["AlarmActions"] == [{"Ref": topic_id}]


def test_the_alarm_topic_is_encrypted_with_a_key_cloudwatch_may_use(template: dict[str, Any]) -> None:
    (topic,) = resources(template, "AWS::SNS::Topic").values()
    key_id = topic["Properties"]["KmsMasterKeyId"]["Fn::GetAtt"][0]
    key = template["Resources"][key_id]["Properties"]
    assert key["EnableKeyRotation"] is True
    principals = [s.get("Principal", {}).get("Service") for s in key["KeyPolicy"]["Statement"]]
    assert "cloudwatch.amazonaws.com" in principals


def test_no_deployed_machine_repeats_a_state_name(template: dict[str, Any]) -> None:
    """Step Functions refuses a definition that repeats a state name anywhere in it, nested
    processors included (DUPLICATE_STATE_NAME): checked on what the template deploys."""
    for workflow_type, (_, machine) in machines(template).items():
        definition = json.loads(_substituted(machine["Properties"]))
        names = state_names(definition)
        repeated = sorted({n for n in names if names.count(n) > 1})
        assert not repeated, f"{workflow_type}: {repeated}"
        assert all(len(n) <= 80 for n in names), workflow_type  # the service's limit
