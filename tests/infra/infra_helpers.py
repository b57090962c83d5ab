"""Reading a synthesized template in the infra tests (kept out of conftest so tests can import it)."""

from __future__ import annotations

from typing import Any

from infra import constants as c
from infra.describe import tagged

# Synthesize without running asset bundling (no pip): what the tests use to stay fast.
SKIP_BUNDLING: dict[str, Any] = {"aws:cdk:bundling-stacks": []}
PSEUDO = {
    "AWS::Partition": "aws",
    "AWS::Region": "REGION",
    "AWS::AccountId": "ACCOUNT",
    "AWS::URLSuffix": "amazonaws.com",
}


def render(value: Any) -> str:
    """An intrinsic as one comparable string: Ref X -> <X>, GetAtt X.Arn -> <X.Arn>, joins joined."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and len(value) == 1:
        ((fn, arg),) = value.items()
        if fn == "Ref":
            return PSEUDO.get(arg, f"<{arg}>")
        if fn == "Fn::GetAtt":
            return f"<{arg[0]}.{arg[1]}>"
        if fn == "Fn::Join":
            return str(arg[0]).join(render(part) for part in arg[1])
    raise ValueError(f"cannot render {value!r}")


def resources(template: dict[str, Any], resource_type: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == resource_type}


def functions(template: dict[str, Any]) -> dict[str, tuple[str, dict[str, Any]]]:
    """function key -> (logical id, resource)."""
    return tagged(template, "AWS::Lambda::Function", c.TAG_FUNCTION)


def tables(template: dict[str, Any]) -> dict[str, tuple[str, dict[str, Any]]]:
    return tagged(template, "AWS::DynamoDB::Table", c.TAG_TABLE)


def machines(template: dict[str, Any]) -> dict[str, tuple[str, dict[str, Any]]]:
    return tagged(template, "AWS::StepFunctions::StateMachine", c.TAG_WORKFLOW_TYPE)


def role_statements(template: dict[str, Any], role_arn: Any) -> list[dict[str, Any]]:
    """Every Allow statement of the policies attached to the role a resource uses (inline, and the
    managed "overflow" policy CDK adds when a role's grants outgrow one inline policy)."""
    role_logical_id = role_arn["Fn::GetAtt"][0]
    statements = []
    attached = [*resources(template, "AWS::IAM::Policy").values()]
    attached += resources(template, "AWS::IAM::ManagedPolicy").values()
    for policy in attached:
        if {"Ref": role_logical_id} in policy["Properties"].get("Roles", []):
            statements.extend(policy["Properties"]["PolicyDocument"]["Statement"])
    role = template["Resources"][role_logical_id]["Properties"]
    for policy in role.get("Policies", []):
        statements.extend(policy["PolicyDocument"]["Statement"])
    return statements


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def grants(statements: list[dict[str, Any]], service: str, effect: str = "Allow") -> list[tuple[str, str]]:
    """(action, rendered resource) for every action of one service (e.g. "dynamodb") that the
    statements allow (or, with ``effect="Deny"``, deny)."""
    found: list[tuple[str, str]] = []
    for statement in statements:
        assert statement["Effect"] in ("Allow", "Deny")
        if statement["Effect"] != effect:
            continue
        for action in as_list(statement["Action"]):
            if action.split(":")[0] == service or action == "*":
                found.extend((action, render(resource)) for resource in as_list(statement["Resource"]))
    return found
