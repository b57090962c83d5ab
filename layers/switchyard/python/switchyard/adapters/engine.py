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
    def start_named(self, state_machine_arn: str, name: str, payload: dict[str, Any]) -> str: ...
    def status(self, execution_arn: str) -> str | None: ...


class StepFunctionsEngine:
    def __init__(self, state_machines: dict[str, str], region: str) -> None:
        self.state_machines = state_machines
        self.region = region

    def start(self, workflow_type: str, name: str, payload: dict[str, Any]) -> str:
        response = client("stepfunctions", self.region).start_execution(
            stateMachineArn=self.state_machines[workflow_type], name=name, input=json.dumps(payload)
        )
        return str(response["executionArn"])

    def start_named(self, state_machine_arn: str, name: str, payload: dict[str, Any]) -> str:
        """Start the execution ``name`` of a machine, once: asked again (a retried call), the
        one already started is answered (execution names are unique per machine)."""
        try:
            response = client("stepfunctions", self.region).start_execution(
                stateMachineArn=state_machine_arn, name=name, input=json.dumps(payload)
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ExecutionAlreadyExists":
                raise
            return execution_arn(state_machine_arn, name)
        return str(response["executionArn"])

    def stop(self, execution_arn: str, cause: str) -> None:
        try:
            client("stepfunctions", self.region).stop_execution(executionArn=execution_arn, cause=cause)
        except ClientError as exc:
            # Already finished: nothing left to stop.
            if exc.response["Error"]["Code"] not in ("ExecutionDoesNotExist", "ValidationException"):
                raise

    def status(self, execution_arn: str) -> str | None:
        """``RUNNING``, ``SUCCEEDED``, ``FAILED``, ``TIMED_OUT``, ``ABORTED``...; None when Step
        Functions no longer knows the execution (expired, or an emulation started afresh)."""
        try:
            response = client("stepfunctions", self.region).describe_execution(executionArn=execution_arn)
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ExecutionDoesNotExist":
                return None
            raise
        return str(response["status"])

    def resume(self, token: str, output: dict[str, Any]) -> None:
        client("stepfunctions", self.region).send_task_success(taskToken=token, output=json.dumps(output))


def execution_arn(state_machine_arn: str, name: str) -> str:
    """``arn:...:stateMachine:<machine>`` and a name -> ``arn:...:execution:<machine>:<name>``."""
    prefix, machine = state_machine_arn.rsplit(":stateMachine:", 1)
    return f"{prefix}:execution:{machine}:{name}"


def state_machine_arn(execution: str) -> str:
    """The machine of an execution ARN (``arn:...:execution:<machine>:<name>``)."""
    prefix, rest = execution.split(":execution:", 1)
    return f"{prefix}:stateMachine:{rest.split(':', 1)[0]}"
