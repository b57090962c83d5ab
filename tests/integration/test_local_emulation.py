"""The local runtime's patches to moto (``switchyard.local.lambdas``): faster, and still the same
Step Functions and Lambda behaviour."""

from __future__ import annotations

import json
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from switchyard.local.lambdas import TreeCache
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


def test_a_parse_tree_kept_on_disk_reads_back_as_the_same_tree(runtime: LocalRuntime, tmp_path: Path) -> None:
    # Given a machine's definition parsed, and its tree kept on disk
    from moto.stepfunctions.parser.asl.component.program.program import Program
    from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser
    from moto.stepfunctions.parser.asl.parse.preprocessor import Preprocessor

    definition = runtime.deployed.definitions["courier"]
    _, tree = AmazonStateLanguageParser.parse(definition)
    text = tree.getText()
    TreeCache(tmp_path).put(definition, tree)

    # When another start reads it back
    kept = TreeCache(tmp_path).get(definition)

    # Then it is the same tree, token for token, and makes a program to run
    assert kept is not None and kept is not tree
    assert kept.getText() == text
    assert isinstance(Preprocessor().visit(kept), Program)
    # and another definition is not found there
    assert TreeCache(tmp_path).get(definition + " ") is None


def test_a_damaged_tree_file_means_parsing_afresh(runtime: LocalRuntime, tmp_path: Path) -> None:
    # Given a kept tree cut short (a start killed while writing it elsewhere, a full disk)
    from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser

    definition = runtime.deployed.definitions["database"]
    _, tree = AmazonStateLanguageParser.parse(definition)
    TreeCache(tmp_path).put(definition, tree)
    (kept,) = tmp_path.iterdir()
    kept.write_bytes(kept.read_bytes()[:100])

    # When it is read, Then there is no tree (the definition is parsed again), and no error
    assert TreeCache(tmp_path).get(definition) is None


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


@pytest.fixture
def table(runtime: LocalRuntime) -> Any:
    name = f"t-{uuid.uuid4().hex[:8]}"
    dynamodb = boto3.client("dynamodb", region_name=REGION)
    dynamodb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    yield name
    dynamodb.delete_table(TableName=name)


def _item(table: str, sk: str) -> dict[str, Any] | None:
    reply = boto3.client("dynamodb", region_name=REGION).get_item(
        TableName=table, Key={"pk": {"S": "p"}, "sk": {"S": sk}}, ConsistentRead=True
    )
    return reply.get("Item")  # type: ignore[no-any-return]


def test_a_cancelled_transaction_leaves_every_item_as_it_was(table: str) -> None:
    # Given an item, and many others in the same table
    dynamodb = boto3.client("dynamodb", region_name=REGION)
    dynamodb.put_item(TableName=table, Item={"pk": {"S": "p"}, "sk": {"S": "a"}, "n": {"N": "1"}})
    for i in range(20):
        dynamodb.put_item(TableName=table, Item={"pk": {"S": "p"}, "sk": {"S": f"o{i}"}})

    # When a transaction updates it, puts a new one, deletes another, then fails a condition
    with pytest.raises(ClientError) as cancelled:
        dynamodb.transact_write_items(
            TransactItems=[
                {
                    "Update": {
                        "TableName": table,
                        "Key": {"pk": {"S": "p"}, "sk": {"S": "a"}},
                        "UpdateExpression": "SET n = :two",
                        "ExpressionAttributeValues": {":two": {"N": "2"}},
                    }
                },
                {"Put": {"TableName": table, "Item": {"pk": {"S": "p"}, "sk": {"S": "new"}}}},
                {"Delete": {"TableName": table, "Key": {"pk": {"S": "p"}, "sk": {"S": "o1"}}}},
                {
                    "ConditionCheck": {
                        "TableName": table,
                        "Key": {"pk": {"S": "p"}, "sk": {"S": "o2"}},
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                },
            ]
        )

    # Then it is cancelled and nothing it wrote stays
    assert cancelled.value.response["Error"]["Code"] == "TransactionCanceledException"
    assert _item(table, "a") == {"pk": {"S": "p"}, "sk": {"S": "a"}, "n": {"N": "1"}}
    assert _item(table, "new") is None
    assert _item(table, "o1") is not None
    assert len(dynamodb.scan(TableName=table)["Items"]) == 21


def test_a_transaction_whose_conditions_hold_writes_every_item(table: str) -> None:
    # Given an item
    dynamodb = boto3.client("dynamodb", region_name=REGION)
    dynamodb.put_item(TableName=table, Item={"pk": {"S": "p"}, "sk": {"S": "a"}, "n": {"N": "1"}})

    # When a transaction checks it and writes two more
    dynamodb.transact_write_items(
        TransactItems=[
            {
                "ConditionCheck": {
                    "TableName": table,
                    "Key": {"pk": {"S": "p"}, "sk": {"S": "a"}},
                    "ConditionExpression": "n = :one",
                    "ExpressionAttributeValues": {":one": {"N": "1"}},
                }
            },
            {"Put": {"TableName": table, "Item": {"pk": {"S": "p"}, "sk": {"S": "b"}}}},
            {
                "Update": {
                    "TableName": table,
                    "Key": {"pk": {"S": "p"}, "sk": {"S": "c"}},
                    "UpdateExpression": "SET n = :two",
                    "ExpressionAttributeValues": {":two": {"N": "2"}},
                }
            },
        ]
    )

    # Then both are written
    assert _item(table, "b") == {"pk": {"S": "p"}, "sk": {"S": "b"}}
    assert _item(table, "c") == {"pk": {"S": "p"}, "sk": {"S": "c"}, "n": {"N": "2"}}


def test_a_transaction_backs_up_the_items_it_names_not_their_tables(table: str) -> None:
    # Given moto's DynamoDB backend, with a table of many items
    from moto.dynamodb.models import dynamodb_backends

    dynamodb = boto3.client("dynamodb", region_name=REGION)
    for i in range(20):
        dynamodb.put_item(TableName=table, Item={"pk": {"S": "p"}, "sk": {"S": f"o{i}"}})
    backend = dynamodb_backends[ACCOUNT][REGION]
    before = backend.tables[table]

    # When a transaction is cancelled
    with pytest.raises(ClientError):
        dynamodb.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": table, "Item": {"pk": {"S": "p"}, "sk": {"S": "x"}}}},
                {
                    "ConditionCheck": {
                        "TableName": table,
                        "Key": {"pk": {"S": "p"}, "sk": {"S": "o0"}},
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                },
            ]
        )

    # Then the table is the same table, not a copy put back in its place
    assert backend.tables[table] is before


def test_at_most_the_concurrency_limit_of_invocations_run_at_once() -> None:
    # Given a dispatcher with 2 slots and a function that waits until it is let go
    from switchyard.local.lambdas import Dispatcher

    dispatcher = Dispatcher(concurrency=2)
    running: list[int] = []
    gate = threading.Event()

    def slow(event: dict[str, Any], context: Any) -> dict[str, Any]:
        running.append(event["n"])
        gate.wait(30)
        return {"n": event["n"]}

    dispatcher.add("slow", slow, 128)

    # When five invocations are made at once
    results: list[bytes] = []
    threads = [
        threading.Thread(
            target=lambda n=n: results.append(dispatcher.invoke("slow", json.dumps({"n": n}), {}))
        )
        for n in range(5)
    ]
    for thread in threads:
        thread.start()

    # Then two run and three wait for a slot; once let go, every one of them runs
    deadline = time.monotonic() + 10
    while not (len(running) == 2 and dispatcher.waiting == 3):
        assert time.monotonic() < deadline, (running, dispatcher.waiting)
        time.sleep(0.01)
    gate.set()
    for thread in threads:
        thread.join(10)
    assert sorted(json.loads(r)["n"] for r in results) == [0, 1, 2, 3, 4]
    assert dispatcher.waiting == 0


def test_an_invocation_from_inside_a_handler_runs_in_its_callers_slot() -> None:
    # Given a dispatcher with one slot, and a function that invokes another synchronously
    from switchyard.local.lambdas import Dispatcher

    dispatcher = Dispatcher(concurrency=1)
    dispatcher.add("inner", lambda event, context: {"inner": True}, 128)
    dispatcher.add("outer", lambda event, context: json.loads(dispatcher.invoke("inner", "{}", {})), 128)

    # When the outer one is invoked, Then it gets the inner one's answer (no wait for a second slot)
    assert json.loads(dispatcher.invoke("outer", "{}", {})) == {"inner": True}


def test_the_api_takes_no_slot() -> None:
    # Given a dispatcher whose only slot is held by a running invocation
    from switchyard.local.lambdas import Dispatcher

    dispatcher = Dispatcher(concurrency=1)
    gate, busy = threading.Event(), threading.Event()

    def hold(event: dict[str, Any], context: Any) -> dict[str, Any]:
        busy.set()
        gate.wait(30)
        return {}

    dispatcher.add("hold", hold, 128)
    dispatcher.add("switchyard-api", lambda event, context: {"statusCode": 200}, 128)
    holder = threading.Thread(target=dispatcher.invoke, args=("hold", "{}", {}))
    holder.start()
    assert busy.wait(10)

    # When the API is invoked, Then it answers while the slot is still held
    try:
        assert json.loads(dispatcher.invoke("switchyard-api", "{}", {})) == {"statusCode": 200}
        assert holder.is_alive()
    finally:
        gate.set()
        holder.join(10)


def test_items_of_every_attribute_type_read_back_as_written(table: str) -> None:
    # Given an item with every DynamoDB attribute type (answers written without moto's serializer
    # when they hold only JSON values; a binary value goes through it)
    dynamodb = boto3.client("dynamodb", region_name=REGION)
    item = {
        "pk": {"S": "p"},
        "sk": {"S": "all"},
        "s": {"S": "text é"},
        "n": {"N": "12.5"},
        "t": {"BOOL": True},
        "z": {"NULL": True},
        "l": {"L": [{"S": "a"}, {"N": "1"}, {"M": {"k": {"S": "v"}}}]},
        "m": {"M": {"inner": {"L": []}, "flag": {"BOOL": False}}},
        "ss": {"SS": ["x", "y"]},
        "ns": {"NS": ["1", "2"]},
        "b": {"B": b"\x00\x01binary"},
        "bs": {"BS": [b"\x02", b"\x03"]},
    }
    dynamodb.put_item(TableName=table, Item=item)
    plain = {k: v for k, v in item.items() if k not in ("b", "bs")}
    dynamodb.put_item(TableName=table, Item={**plain, "sk": {"S": "json"}})

    # When they are read back by GetItem, Query and Scan
    got = _item(table, "all")
    queried = dynamodb.query(
        TableName=table,
        KeyConditionExpression="pk = :p",
        ExpressionAttributeValues={":p": {"S": "p"}},
        ConsistentRead=True,
    )
    scanned = dynamodb.scan(TableName=table)

    # Then every value is what was written
    def normal(found: dict[str, Any]) -> dict[str, Any]:
        return {
            k: ({"SS": sorted(v["SS"])} if "SS" in v else {"NS": sorted(v["NS"])} if "NS" in v else v)
            for k, v in found.items()
        }

    assert got is not None and normal(got) == normal(item)
    assert {i["sk"]["S"]: normal(i) for i in queried["Items"]} == {
        "all": normal(item),
        "json": normal({**plain, "sk": {"S": "json"}}),
    }
    assert queried["Count"] == 2 and len(scanned["Items"]) == 2


def test_an_answer_of_items_is_written_without_motos_serializer(
    table: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given moto's shape-by-shape serializer, counted
    from moto.core.serialize import ResponseSerializer

    serialized: list[str] = []
    original = ResponseSerializer.serialize

    def counted(self: Any, result: Any) -> Any:
        serialized.append(self.operation_model.name)
        return original(self, result)

    monkeypatch.setattr(ResponseSerializer, "serialize", counted)
    dynamodb = boto3.client("dynamodb", region_name=REGION)
    dynamodb.put_item(TableName=table, Item={"pk": {"S": "p"}, "sk": {"S": "j"}, "n": {"N": "1"}})

    # When an item is read, and the table described (its answer holds timestamps)
    assert _item(table, "j") == {"pk": {"S": "p"}, "sk": {"S": "j"}, "n": {"N": "1"}}
    dynamodb.describe_table(TableName=table)

    # Then only the description went through moto's serializer
    assert "GetItem" not in serialized and "PutItem" not in serialized
    assert "DescribeTable" in serialized


def test_a_query_finds_its_partitions_items_in_order_among_many_others(table: str) -> None:
    # Given a table of many partitions (queried through the partition alone: local/dynamodb.py)
    dynamodb = boto3.client("dynamodb", region_name=REGION)
    for p in range(30):
        for s in (3, 1, 2):
            item = {"pk": {"S": f"p{p}"}, "sk": {"S": f"s{s}"}, "n": {"N": str(p * 10 + s)}}
            dynamodb.put_item(TableName=table, Item=item)

    def query(**kwargs: Any) -> list[str]:
        reply = dynamodb.query(
            TableName=table,
            KeyConditionExpression=kwargs.pop("key", "pk = :p"),
            ExpressionAttributeValues={":p": {"S": "p7"}, **kwargs.pop("values", {})},
            **kwargs,
        )
        return [i["sk"]["S"] for i in reply["Items"]]

    # When it is queried, Then each answer has only that partition's items, in key order
    assert query() == ["s1", "s2", "s3"]
    assert query(ScanIndexForward=False) == ["s3", "s2", "s1"]
    assert query(key="pk = :p AND sk > :s", values={":s": {"S": "s1"}}) == ["s2", "s3"]
    assert query(FilterExpression="n > :n", values={":n": {"N": "71"}}) == ["s2", "s3"]
    first = dynamodb.query(
        TableName=table,
        KeyConditionExpression="pk = :p",
        ExpressionAttributeValues={":p": {"S": "p7"}},
        Limit=2,
    )
    assert [i["sk"]["S"] for i in first["Items"]] == ["s1", "s2"]
    rest = dynamodb.query(
        TableName=table,
        KeyConditionExpression="pk = :p",
        ExpressionAttributeValues={":p": {"S": "p7"}},
        ExclusiveStartKey=first["LastEvaluatedKey"],
    )
    assert [i["sk"]["S"] for i in rest["Items"]] == ["s3"]
    assert query(values={":p": {"S": "nowhere"}}) == []


def test_a_query_on_an_index_finds_every_match_in_index_order(runtime: LocalRuntime) -> None:
    # Given a table with an index whose key many items share
    name = f"t-{uuid.uuid4().hex[:8]}"
    dynamodb = boto3.client("dynamodb", region_name=REGION)
    dynamodb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": n, "AttributeType": "S"} for n in ("pk", "sk", "status", "at")
        ],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "by_status",
                "KeySchema": [
                    {"AttributeName": "status", "KeyType": "HASH"},
                    {"AttributeName": "at", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    try:
        for i in (5, 2, 9, 1, 7, 3):
            dynamodb.put_item(
                TableName=name,
                Item={
                    "pk": {"S": f"w{i}"},
                    "sk": {"S": "run"},
                    "status": {"S": "running" if i % 2 else "done"},
                    "at": {"S": f"2026-01-0{i}"},
                },
            )
        # When the index is queried, newest first, a page at a time
        pages = dynamodb.get_paginator("query").paginate(
            TableName=name,
            IndexName="by_status",
            KeyConditionExpression="#s = :s",
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues={":s": {"S": "running"}},
            ScanIndexForward=False,
            PaginationConfig={"PageSize": 2},
        )
        # Then every running item comes, in the index's order
        assert [i["pk"]["S"] for page in pages for i in page["Items"]] == ["w9", "w7", "w5", "w3", "w1"]
    finally:
        dynamodb.delete_table(TableName=name)
