"""The local runtime's patches to moto (``switchyard.local.lambdas``): faster, and still the same
Step Functions and Lambda behaviour."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from switchyard.local.runtime import ACCOUNT, REGION, LocalRuntime

ROLE = f"arn:aws:iam::{ACCOUNT}:role/switchyard-local"


def echo_function(runtime: LocalRuntime, handler: Any) -> str:
    """A Lambda function dispatched to ``handler``; returns its ARN."""
    name = f"test-{uuid.uuid4().hex[:8]}"
    runtime.dispatcher.add(name, handler, 128)
    boto3.client("lambda", region_name=REGION).create_function(
        FunctionName=name, Runtime="python3.12", Role=ROLE, Handler="x.handler", Code={"ZipFile": b"x"}
    )
    return f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}"


def run(machine: str, payload: dict[str, Any], timeout: float = 30) -> dict[str, Any]:
    sfn = boto3.client("stepfunctions", region_name=REGION)
    arn = sfn.start_execution(stateMachineArn=machine, name=uuid.uuid4().hex, input=json.dumps(payload))[
        "executionArn"
    ]
    deadline = time.monotonic() + timeout
    while True:
        described = sfn.describe_execution(executionArn=arn)
        if described["status"] != "RUNNING":
            return described  # type: ignore[no-any-return]
        assert time.monotonic() < deadline, "the execution did not end"
        time.sleep(0.02)


def test_every_execution_of_a_machine_evaluates_its_own_input(runtime: LocalRuntime) -> None:
    # Given a machine that maps a Lambda over its items (its definition parsed once, kept)
    double = echo_function(runtime, lambda event, context: {"v": event["v"] * 2})
    definition = {
        "StartAt": "Each",
        "States": {
            "Each": {
                "Type": "Map",
                "ItemsPath": "$.items",
                "ItemSelector": {"v.$": "$$.Map.Item.Value"},
                "ItemProcessor": {
                    "ProcessorConfig": {"Mode": "INLINE"},
                    "StartAt": "Double",
                    "States": {
                        "Double": {
                            "Type": "Task",
                            "Resource": "arn:aws:states:::lambda:invoke",
                            "Parameters": {"FunctionName": double, "Payload.$": "$"},
                            "OutputPath": "$.Payload.v",
                            "End": True,
                        }
                    },
                },
                "End": True,
            }
        },
    }
    machine = boto3.client("stepfunctions", region_name=REGION).create_state_machine(
        name=f"m-{uuid.uuid4().hex[:8]}", definition=json.dumps(definition), roleArn=ROLE
    )["stateMachineArn"]

    # When it runs twice, with different items
    first = run(machine, {"items": [1, 2, 3]})
    second = run(machine, {"items": [10, 20]})

    # Then each execution's output is its own
    assert first["status"] == second["status"] == "SUCCEEDED"
    assert json.loads(first["output"]) == [2, 4, 6]
    assert json.loads(second["output"]) == [20, 40]


def test_a_definition_that_does_not_parse_is_refused_every_time(runtime: LocalRuntime) -> None:
    # Given a definition whose state names a state that does not exist
    sfn = boto3.client("stepfunctions", region_name=REGION)
    bad = json.dumps({"StartAt": "A", "States": {"A": {"Type": "Pass", "Nexx": "B"}}})

    # When it is deployed twice, Then it is refused twice (a refusal is not remembered as a parse)
    for _ in range(2):
        with pytest.raises(ClientError) as refused:
            sfn.create_state_machine(name=f"bad-{uuid.uuid4().hex[:8]}", definition=bad, roleArn=ROLE)
        assert "ASLParserException" in str(refused.value)


def test_a_parsed_definition_is_parsed_once(runtime: LocalRuntime) -> None:
    # Given a definition the interpreter has parsed
    from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser

    definition = json.dumps({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}})
    first_program, first_tree = AmazonStateLanguageParser.parse(definition)

    # When the next execution asks for it
    program, tree = AmazonStateLanguageParser.parse(definition)

    # Then it gets the same parse tree and evaluation components of its own
    assert tree is first_tree
    assert program is not first_program


def test_the_interpreter_calls_lambda_through_one_client(runtime: LocalRuntime) -> None:
    # Given the interpreter's Lambda integration
    from moto.stepfunctions.parser.asl.component.state.exec.state_task import lambda_eval_utils

    # When it asks for a client for two tasks, Then both get the same one
    first = lambda_eval_utils.boto_client_for(region=REGION, service="lambda", state_credentials=None)
    second = lambda_eval_utils.boto_client_for(region=REGION, service="lambda", state_credentials=None)
    assert first is second


def test_a_json_path_is_parsed_once_and_finds_each_inputs_values(runtime: LocalRuntime) -> None:
    # Given the interpreter's JSONPath extraction
    from moto.stepfunctions.parser.asl.utils import json_path

    # When the same path is evaluated against two inputs
    first = json_path.extract_json("$.call.go", {"call": {"go": True}})
    second = json_path.extract_json("$.call.go", {"call": {"go": False}})

    # Then each finds its own input's value, from one parsed path
    assert (first, second) == (True, False)
    assert json_path.parse("$.call.go") is json_path.parse("$.call.go")
