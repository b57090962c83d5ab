"""The Step Functions side of a run: start, stop, and answer a waiting task token."""

from __future__ import annotations

import json
from typing import Any, Protocol

from botocore.exceptions import ClientError

from switchyard.adapters.aws import client


class ExecutionEngine(Protocol):
    def start(self, workflow_type: str, name: str, payload: dict[str, Any]) -> str: ...
    def stop(self, execution_arn: str, cause: str) -> None: ...
    def resume(self, token: str, output: dict[str, Any]) -> None: ...


class StepFunctionsEngine:
    def __init__(self, state_machines: dict[str, str], region: str) -> None:
        self.state_machines = state_machines
        self.region = region

    def start(self, workflow_type: str, name: str, payload: dict[str, Any]) -> str:
        response = client("stepfunctions", self.region).start_execution(
            stateMachineArn=self.state_machines[workflow_type], name=name, input=json.dumps(payload)
        )
        return str(response["executionArn"])

    def stop(self, execution_arn: str, cause: str) -> None:
        try:
            client("stepfunctions", self.region).stop_execution(executionArn=execution_arn, cause=cause)
        except ClientError as exc:
            # Already finished: nothing left to stop.
            if exc.response["Error"]["Code"] not in ("ExecutionDoesNotExist", "ValidationException"):
                raise

    def resume(self, token: str, output: dict[str, Any]) -> None:
        client("stepfunctions", self.region).send_task_success(taskToken=token, output=json.dumps(output))
