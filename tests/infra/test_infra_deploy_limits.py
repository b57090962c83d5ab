"""What CloudFormation and Lambda would refuse at deploy time, checked on the synthesized template.

cfn-lint and cdk-nag do not see these: a Lambda environment over 4 KB once the references are
real names, and a resource with a fixed name kept after the deploy that created it rolled back
(the retry then fails with "already exists").
"""

from __future__ import annotations

from typing import Any

from infra_helpers import functions, resources
from switchyard import declarations as d

from infra import constants as c

# The longest values a real deployment may give the pseudo parameters.
LONGEST = {
    "AWS::Partition": "aws-us-gov",
    "AWS::Region": "ap-southeast-7",
    "AWS::AccountId": "123456789012",
    "AWS::URLSuffix": "amazonaws.com.cn",
    "AWS::StackName": c.STACK_ID,
}
NAME_PROPERTIES = (
    "FunctionName",
    "TableName",
    "BucketName",
    "Name",
    "RoleName",
    "LogGroupName",
    "StateMachineName",
    "TopicName",
)
SERVICES = {
    "AWS::Lambda::Function": ("lambda", "function:"),
    "AWS::IAM::Role": ("iam", "role/"),
    "AWS::DynamoDB::Table": ("dynamodb", "table/"),
    "AWS::S3::Bucket": ("s3", ""),
    "AWS::SNS::Topic": ("sns", ""),
    "AWS::StepFunctions::StateMachine": ("states", "stateMachine:"),
    "AWS::Events::EventBus": ("events", "event-bus/"),
    "AWS::Logs::LogGroup": ("logs", "log-group:"),
    "AWS::SecretsManager::Secret": ("secretsmanager", "secret:"),
}


def physical_name(template: dict[str, Any], logical_id: str) -> str:
    """The resource's name: its own when the template fixes it, else the longest CloudFormation
    generates (``<stack>-<logical id>-<13 characters>``, cut to the service's limit)."""
    resource = template["Resources"][logical_id]
    for prop in NAME_PROPERTIES:
        value = resource.get("Properties", {}).get(prop)
        if isinstance(value, str):
            return value
    generated = f"{c.STACK_ID}-{logical_id}-ABCDEFGHIJKLM"
    if resource["Type"] == "AWS::S3::Bucket":
        return generated.lower()[:63]
    return generated[:64] if resource["Type"] in ("AWS::Lambda::Function", "AWS::IAM::Role") else generated


def arn(template: dict[str, Any], logical_id: str) -> str:
    kind = template["Resources"][logical_id]["Type"]
    service, resource = SERVICES.get(kind, (kind.split("::")[1].lower(), ""))
    region, account = ("", "") if service in ("iam", "s3") else (LONGEST["AWS::Region"], "123456789012")
    if service == "iam":
        account = "123456789012"
    partition = LONGEST["AWS::Partition"]
    return f"arn:{partition}:{service}:{region}:{account}:{resource}{physical_name(template, logical_id)}"


def realistic(template: dict[str, Any], value: Any) -> str:
    """A template value as the longest string a real deployment would make of it."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and len(value) == 1:
        ((fn, arg),) = value.items()
        if fn == "Ref":
            return LONGEST.get(arg) or physical_name(template, arg)
        if fn == "Fn::GetAtt":
            logical_id, attribute = arg
            if attribute == "Arn":
                return arn(template, logical_id)
            return physical_name(template, logical_id) + "-" + attribute
        if fn == "Fn::Join":
            return str(arg[0]).join(realistic(template, part) for part in arg[1])
        if fn == "Fn::Select":
            index, items = arg
            return realistic(template, items[index]) if isinstance(items, list) else "x" * 20
        if fn == "Fn::Split":
            return realistic(template, arg[1])
    raise ValueError(f"cannot render {value!r}")


def environment_bytes(variables: dict[str, str]) -> int:
    """What Lambda counts against its 4 KB limit: every key and value."""
    return sum(len(k.encode()) + len(v.encode()) for k, v in variables.items())


def test_every_function_environment_fits_in_lambdas_4_kb_with_real_names(template: dict[str, Any]) -> None:
    for key, (_, function) in functions(template).items():
        raw = function["Properties"].get("Environment", {}).get("Variables", {})
        variables = {name: realistic(template, value) for name, value in raw.items()}
        size = environment_bytes(variables)
        largest = sorted(variables, key=lambda n: -len(variables[n]))[:3]
        # and room to spare: a deployment adds its own (the console URL, tuning context)
        assert size <= 3 * 1024, f"{key}: {size} bytes of environment; largest: {largest}"


def test_no_resource_with_a_fixed_name_outlives_the_deploy_that_created_it(template: dict[str, Any]) -> None:
    # Given a first deploy that fails and rolls back, a retained resource with a fixed name makes
    # every later deploy fail ("already exists"); RetainExceptOnCreate removes it on that rollback
    for logical_id, resource in template["Resources"].items():
        fixed = [p for p in NAME_PROPERTIES if isinstance(resource.get("Properties", {}).get(p), str)]
        if fixed and resource.get("DeletionPolicy") in ("Retain", "Snapshot"):
            raise AssertionError(
                f"{logical_id} ({resource['Type']}) has a fixed {fixed[0]} and DeletionPolicy "
                f"{resource['DeletionPolicy']}: use RetainExceptOnCreate or a generated name"
            )


def test_state_machine_log_groups_are_kept_except_when_their_create_rolls_back(
    template: dict[str, Any],
) -> None:
    groups = [
        r
        for r in resources(template, "AWS::Logs::LogGroup").values()
        if str(r["Properties"].get("LogGroupName", "")).startswith(c.STATE_MACHINE_LOG_GROUP_PREFIX)
    ]
    assert len(groups) == len(d.STATE_MACHINES)
    assert {g["DeletionPolicy"] for g in groups} == {"RetainExceptOnCreate"}


def test_functions_have_the_declared_names_scratch_space_and_timeouts(template: dict[str, Any]) -> None:
    for key, (_, function) in functions(template).items():
        props = function["Properties"]
        decl = d.FUNCTIONS[key]
        # a fixed name: the task functions are called by it, with no ARN in any environment
        assert props["FunctionName"] == d.function_name(key)
        assert props["EphemeralStorage"]["Size"] == decl.scratch_mb
        if key in d.TASK_FUNCTIONS:
            # every task works through DuckDB, which spills to /tmp and downloads its tables there
            assert decl.scratch_mb >= 2048, key
    # the API answers before API Gateway's 29 s integration timeout cuts it off
    assert functions(template)["api"][1]["Properties"]["Timeout"] < 29
