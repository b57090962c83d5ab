"""Read Switchyard's resources back out of a synthesized CloudFormation template.

The local runtime (and its tests) compare what they "deploy" with what the CDK app declares, so
the two cannot drift. Resources are found by the tags the constructs put on them
(:data:`infra.constants.TAG_TABLE`, ``TAG_WORKFLOW_TYPE``, ``TAG_FUNCTION``), not by logical ids.

This module does not import aws_cdk: it works on a template dict, e.g.
``json.load(open("cdk.out/Switchyard.template.json"))``.
"""

from __future__ import annotations

from typing import Any

from switchyard.declarations import PARTITION_PLACEHOLDER

from infra import constants as c


def tags_of(resource: dict[str, Any]) -> dict[str, str]:
    """A resource's tags, from CloudFormation's ``[{"Key", "Value"}]`` (or map) form."""
    tags = resource.get("Properties", {}).get("Tags") or []
    if isinstance(tags, dict):
        return {str(k): str(v) for k, v in tags.items()}
    return {str(tag["Key"]): str(tag["Value"]) for tag in tags}


def tagged(template: dict[str, Any], resource_type: str, tag: str) -> dict[str, tuple[str, dict[str, Any]]]:
    """``{tag value: (logical id, resource)}`` for the resources of one type that carry ``tag``."""
    found: dict[str, tuple[str, dict[str, Any]]] = {}
    for logical_id, resource in template.get("Resources", {}).items():
        if resource.get("Type") != resource_type:
            continue
        value = tags_of(resource).get(tag)
        if value is None:
            continue
        if value in found:
            raise ValueError(f"two {resource_type} resources tagged {tag}={value}")
        found[value] = (logical_id, resource)
    return found


def table_key_schema(properties: dict[str, Any]) -> dict[str, object]:
    """A table's keys in the format of :func:`switchyard.data.models.key_schema`."""
    indexes = [
        {"IndexName": index["IndexName"], "KeySchema": index["KeySchema"]}
        for index in properties.get("GlobalSecondaryIndexes", [])
    ]
    return {
        "KeySchema": properties["KeySchema"],
        "AttributeTypes": {
            a["AttributeName"]: a["AttributeType"] for a in properties["AttributeDefinitions"]
        },
        "GlobalSecondaryIndexes": sorted(indexes, key=lambda i: str(i["IndexName"])),
    }


PARTITION = {"Ref": "AWS::Partition"}


def literal_string(value: Any) -> str:
    """A template string that holds no reference but the partition (a plain string or a Fn::Join
    of plain strings and ``AWS::Partition``, which reads back as ``${Partition}``)."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and set(value) == {"Fn::Join"}:
        separator, parts = value["Fn::Join"]
        if all(isinstance(part, str) or part == PARTITION for part in parts):
            return str(separator).join(
                part if isinstance(part, str) else "${" + PARTITION_PLACEHOLDER + "}" for part in parts
            )
    raise ValueError(f"not a literal string: {str(value)[:200]}")


def template_resources(template: dict[str, Any]) -> dict[str, Any]:
    """What the local runtime must reproduce, read from a synthesized template.

    Returns::

        {
          "tables": {logical name: key_schema() dict},
          "state_machines": {workflow type: definition with its ${Placeholders} in place},
          "substitutions": {workflow type: {placeholder: function key}},
        }
    """
    functions = {
        logical_id: key
        for key, (logical_id, _) in tagged(template, "AWS::Lambda::Function", c.TAG_FUNCTION).items()
    }
    tables = {
        logical: table_key_schema(resource["Properties"])
        for logical, (_, resource) in tagged(template, "AWS::DynamoDB::Table", c.TAG_TABLE).items()
    }
    state_machines: dict[str, str] = {}
    substitutions: dict[str, dict[str, str]] = {}
    machines = tagged(template, "AWS::StepFunctions::StateMachine", c.TAG_WORKFLOW_TYPE)
    for workflow_type, (_, resource) in machines.items():
        properties = resource["Properties"]
        state_machines[workflow_type] = literal_string(properties["DefinitionString"])
        substitutions[workflow_type] = {}
        for placeholder, value in (properties.get("DefinitionSubstitutions") or {}).items():
            target = value.get("Fn::GetAtt", [None])[0] if isinstance(value, dict) else None
            if target not in functions:
                raise ValueError(
                    f"{workflow_type}: ${{{placeholder}}} is not the ARN of a Switchyard function"
                )
            substitutions[workflow_type][placeholder] = functions[target]
    return {"tables": tables, "state_machines": state_machines, "substitutions": substitutions}
