"""EventBridge Scheduler: the schedules that start runs (and anything else Switchyard fires later)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from botocore.exceptions import ClientError

from switchyard.adapters.aws import client
from switchyard.domain.errors import InvalidSchedule

# A late fire is retried for an hour at most: the triggers function is idempotent per fire time.
RETRY_POLICY = {"MaximumEventAgeInSeconds": 3600, "MaximumRetryAttempts": 20}


class ScheduleExists(Exception):
    """``create`` of a schedule whose name is taken in its group (set already: a retried call)."""


@dataclass(frozen=True)
class ScheduleSpec:
    """One EventBridge Scheduler schedule that invokes a Lambda function with a JSON input."""

    group: str
    name: str
    expression: str
    timezone: str
    enabled: bool
    target_arn: str
    role_arn: str
    input: dict[str, Any] = field(default_factory=dict)
    description: str = ""
    # "DELETE" removes a one-time schedule once it has fired
    action_after_completion: str = ""
    # no fire after this time
    end_date: datetime | None = None


class Scheduler(Protocol):
    def create(self, spec: ScheduleSpec) -> None: ...  # ScheduleExists when the name is taken
    def update(self, spec: ScheduleSpec) -> None: ...
    def delete(self, group: str, name: str) -> bool: ...
    def get(self, group: str, name: str) -> dict[str, Any] | None: ...


class EventBridgeScheduler:
    def __init__(self, region: str) -> None:
        self.region = region
        self._groups: set[str] = set()

    def _client(self) -> Any:
        return client("scheduler", self.region)

    def _ensure_group(self, group: str) -> None:
        if group in self._groups:
            return
        try:
            self._client().get_schedule_group(Name=group)
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ResourceNotFoundException":
                raise
            try:
                self._client().create_schedule_group(Name=group)
            except ClientError as again:
                if again.response["Error"]["Code"] != "ConflictException":  # created meanwhile
                    raise
        self._groups.add(group)

    @staticmethod
    def _request(spec: ScheduleSpec) -> dict[str, Any]:
        request: dict[str, Any] = {
            "GroupName": spec.group,
            "Name": spec.name,
            "Description": spec.description[:512],
            "ScheduleExpression": spec.expression,
            "ScheduleExpressionTimezone": spec.timezone,
            "State": "ENABLED" if spec.enabled else "DISABLED",
            "FlexibleTimeWindow": {"Mode": "OFF"},
            "Target": {
                "Arn": spec.target_arn,
                "RoleArn": spec.role_arn,
                "Input": json.dumps(spec.input),
                "RetryPolicy": dict(RETRY_POLICY),
            },
        }
        if spec.action_after_completion:
            request["ActionAfterCompletion"] = spec.action_after_completion
        if spec.end_date is not None:
            request["EndDate"] = spec.end_date
        return request

    def create(self, spec: ScheduleSpec) -> None:
        self._ensure_group(spec.group)
        self._call("create_schedule", self._request(spec))

    def update(self, spec: ScheduleSpec) -> None:
        self._call("update_schedule", self._request(spec))

    def delete(self, group: str, name: str) -> bool:
        try:
            self._client().delete_schedule(GroupName=group, Name=name)
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ResourceNotFoundException":
                return False
            raise
        return True

    def get(self, group: str, name: str) -> dict[str, Any] | None:
        try:
            return dict(self._client().get_schedule(GroupName=group, Name=name))
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ResourceNotFoundException":
                return None
            raise

    def _call(self, operation: str, request: dict[str, Any]) -> None:
        try:
            getattr(self._client(), operation)(**request)
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConflictException":
                raise ScheduleExists(request["Name"]) from exc
            # The Scheduler refused what we validated (a rule we do not know of): say what it said.
            if exc.response["Error"]["Code"] == "ValidationException":
                raise InvalidSchedule(
                    f"EventBridge Scheduler refused the schedule: {exc.response['Error'].get('Message', '')}",
                    {"schedule": request["Name"]},
                ) from exc
            raise
