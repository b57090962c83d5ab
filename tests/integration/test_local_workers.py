"""Lambda handlers in worker processes (``make run``'s default): local/workers.py.

A worker is a process of its own; every AWS call its handler makes is answered by the emulated
account of the runtime's process (the one these tests read with boto3), through the same lock,
the same state gate and change tracking as a call made in process.
"""

from __future__ import annotations

import json
import os
import textwrap
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from switchyard import declarations as d
from switchyard.local import state_backends, state_tracking
from switchyard.local.lambdas import Dispatcher
from switchyard.local.runtime import ACCOUNT, REGION, LocalRuntime

HANDLER = textwrap.dedent(
    """
    import json
    import os
    import threading
    import time

    import boto3


    def handler(event, context):
        if event.get("hold"):  # until the object named exists
            s3 = boto3.client("s3", region_name="us-east-1")
            for _ in range(3000):
                if s3.list_objects_v2(Bucket=event["bucket"], Prefix=event["hold"]).get("KeyCount"):
                    return {"held": True}
                time.sleep(0.01)
            return {"held": False}
        if event.get("fail"):
            raise ValueError("asked to fail")
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.put_object(Bucket=event["bucket"], Key=event["key"], Body=event["body"].encode())
        answer = {"pid": os.getpid(), "function": context.function_name}
        answer["read"] = s3.get_object(Bucket=event["bucket"], Key=event["key"])["Body"].read().decode()
        if event.get("table"):
            # from a thread of the handler's own, as a handler's thread pool would
            def put():
                boto3.client("dynamodb", region_name="us-east-1").put_item(
                    TableName=event["table"], Item={"kind": {"S": "worker"}, "name": {"S": event["key"]}}
                )

            thread = threading.Thread(target=put)
            thread.start()
            thread.join()
        if event.get("inner"):
            lam = boto3.client("lambda", region_name="us-east-1")
            reply = lam.invoke(FunctionName=event["inner"], Payload=json.dumps({"n": 1}).encode())
            answer["inner"] = json.loads(reply["Payload"].read())
        return answer
    """
)


@pytest.fixture(scope="module")
def pooled(runtime: LocalRuntime, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dispatcher]:
    """A dispatcher of its own (2 slots) whose one function runs in one worker process."""
    code = tmp_path_factory.mktemp("worker-fn")
    (code / "handler.py").write_text(HANDLER)
    dispatcher = Dispatcher(concurrency=2)
    dispatcher.register("worker-test", Path(code), "handler.handler", 128)
    dispatcher.start_workers(1)
    yield dispatcher
    dispatcher.stop_workers()


def invoke(dispatcher: Dispatcher, event: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    headers: dict[str, Any] = {}
    return json.loads(dispatcher.invoke("worker-test", json.dumps(event), headers)), headers


def test_a_handler_in_a_worker_writes_to_and_reads_from_the_runtimes_account(pooled: Dispatcher) -> None:
    # When the function is invoked with an object to write
    key = f"worker/{uuid.uuid4().hex}"
    answer, headers = invoke(pooled, {"bucket": d.LOCAL_DATA_BUCKET, "key": key, "body": "from a worker"})

    # Then it ran in another process, read back what it wrote, and the object is in the account
    assert "x-amz-function-error" not in headers, answer
    assert answer["pid"] != os.getpid() and answer["pid"] in pooled.pool.pids
    assert answer["function"] == "worker-test" and answer["read"] == "from a worker"
    body = boto3.client("s3", region_name=REGION).get_object(Bucket=d.LOCAL_DATA_BUCKET, Key=key)["Body"]
    assert body.read() == b"from a worker"


def test_a_handlers_error_is_reported_as_lambda_reports_it(pooled: Dispatcher) -> None:
    # When the handler raises
    answer, headers = invoke(pooled, {"fail": True})
    # Then the invocation answers an unhandled function error with the exception's type and message
    assert headers["x-amz-function-error"] == "Unhandled"
    assert answer["errorType"] == "ValueError" and answer["errorMessage"] == "asked to fail"


def test_a_workers_writes_pass_the_state_gate_and_are_tracked_for_the_snapshot(pooled: Dispatcher) -> None:
    # Given the emulated calls watched for the snapshot
    tracker = state_tracking.Tracker()
    uninstall = state_tracking.install(tracker)
    key = f"worker-{uuid.uuid4().hex}"
    try:
        # When the handler writes an object, and an item from a thread of its own
        invoke(
            pooled,
            {"bucket": d.LOCAL_DATA_BUCKET, "key": key, "body": "x", "table": d.TABLE_NAMES["config"]},
        )
    finally:
        uninstall()
    # Then both writes were tracked (S3 in the account group, the item by its key)
    dirty, items = tracker.take()
    assert {"account", "dynamodb"} <= dirty
    assert items is not None and any(
        table == d.TABLE_NAMES["config"] and item["name"] == {"S": key} for table, item in items
    )
    # and the snapshot copy of the tables has the item
    copy = state_backends.DynamoDBCopy(ACCOUNT)
    copy.refresh(None)
    assert key.encode() in copy.data()


def test_a_worker_handler_that_invokes_a_function_gets_its_answer(
    runtime: LocalRuntime, pooled: Dispatcher
) -> None:
    # Given a function of the runtime (run in its process) that answers with its input
    name = f"inner-{uuid.uuid4().hex[:8]}"
    runtime.dispatcher.add(name, lambda event, context: {"inner": event}, 128)
    boto3.client("lambda", region_name=REGION).create_function(
        FunctionName=name,
        Runtime=d.LAMBDA_RUNTIME,
        Role=f"arn:aws:iam::{ACCOUNT}:role/switchyard-local",
        Handler="inner.handler",
        Code={"ZipFile": b"local"},
    )
    # When the worker's handler invokes it through the Lambda API
    answer, headers = invoke(
        pooled, {"bucket": d.LOCAL_DATA_BUCKET, "key": f"w/{name}", "body": "x", "inner": name}
    )
    # Then it gets the inner function's answer
    assert "x-amz-function-error" not in headers, answer
    assert answer["inner"] == {"inner": {"n": 1}}


def test_the_api_runs_in_a_worker_and_takes_no_slot(runtime: LocalRuntime, tmp_path: Path) -> None:
    # Given a pool with one slot, held by a running invocation, and an unlimited function (the API)
    import threading

    (tmp_path / "handler.py").write_text(HANDLER)
    dispatcher = Dispatcher(concurrency=1, unlimited=("worker-api",))
    for name in ("worker-slot", "worker-api"):
        dispatcher.register(name, tmp_path, "handler.handler", 128)
    dispatcher.start_workers(1, unlimited_threads=1)
    release = f"release/{uuid.uuid4().hex}"
    held: list[bytes] = []
    holder = threading.Thread(
        target=lambda: held.append(
            dispatcher.invoke("worker-slot", json.dumps({"bucket": d.LOCAL_DATA_BUCKET, "hold": release}), {})
        )
    )
    try:
        holder.start()
        deadline = time.monotonic() + 30
        while dispatcher.invocations.get("worker-slot") != 1:
            assert time.monotonic() < deadline
            time.sleep(0.01)
        # When the unlimited function is invoked
        headers: dict[str, Any] = {}
        key = f"api/{uuid.uuid4().hex}"
        event = {"bucket": d.LOCAL_DATA_BUCKET, "key": key, "body": "api"}
        answer = json.loads(dispatcher.invoke("worker-api", json.dumps(event), headers))
        # Then it answers from the worker while the slot is still held
        assert "x-amz-function-error" not in headers, answer
        assert answer["pid"] in dispatcher.pool.pids and answer["function"] == "worker-api"
        assert holder.is_alive() and not held
    finally:
        boto3.client("s3", region_name=REGION).put_object(Bucket=d.LOCAL_DATA_BUCKET, Key=release, Body=b"")
        holder.join(30)
        dispatcher.stop_workers()
    # and the held one ends once let go
    assert json.loads(held[0]) == {"held": True}


def test_the_workers_exit_when_the_pool_stops(runtime: LocalRuntime, tmp_path: Path) -> None:
    # Given a pool of two workers
    (tmp_path / "handler.py").write_text(HANDLER)
    dispatcher = Dispatcher(concurrency=2)
    dispatcher.register("worker-stop", tmp_path, "handler.handler", 128)
    dispatcher.start_workers(2)
    pids = list(dispatcher.pool.pids)
    assert len(pids) == 2
    # When it stops, Then every worker process has exited
    dispatcher.stop_workers()
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
