"""Every status change is published on the EventBridge bus (alerts and integrations listen there)."""

from __future__ import annotations

import json
import time

import boto3
from switchyard import declarations as d

from tests.integration.conftest import Api


def test_status_changes_of_a_run_are_published_on_the_bus(api: Api) -> None:
    # Given a queue subscribed to Switchyard's bus
    sqs = boto3.client("sqs", region_name="us-east-1")
    events = boto3.client("events", region_name="us-east-1")
    queue = sqs.create_queue(QueueName="bus-listener")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(
        Name="listen", EventBusName=d.EVENT_BUS_NAME, EventPattern=json.dumps({"source": [d.EVENT_SOURCE]})
    )
    events.put_targets(Rule="listen", EventBusName=d.EVENT_BUS_NAME, Targets=[{"Id": "q", "Arn": arn}])
    try:
        # When a run fails on its missing file
        run = api.wait_waiting(api.start("daily")["id"])
        seen: list[dict] = []
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            for m in sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", []):
                body = json.loads(m["Body"])
                if body["detail"]["workflow_id"] == run["id"]:
                    seen.append(body)
            if any(
                e["detail-type"] == "Workflow Status Changed" and e["detail"]["status"] == "failed"
                for e in seen
            ):
                break
            time.sleep(0.1)
    finally:
        events.remove_targets(Rule="listen", EventBusName=d.EVENT_BUS_NAME, Ids=["q"])
        events.delete_rule(Name="listen", EventBusName=d.EVENT_BUS_NAME)
        api.post(f"/api/workflows/{run['id']}/stop")
    # Then the bus carried the run's start, each task's changes and the failure with its link
    workflow_statuses = [e["detail"]["status"] for e in seen if e["detail-type"] == "Workflow Status Changed"]
    assert workflow_statuses[0] == "running"
    assert "failed" in workflow_statuses
    failed = next(
        e for e in seen if e["detail-type"] == "Workflow Status Changed" and e["detail"]["status"] == "failed"
    )
    assert failed["detail"]["failed_task"] == "Courier: pos"
    assert failed["detail"]["error"]["code"] == "missing_file"
    assert failed["detail"]["url"].endswith(f"/console/workflows/{run['id']}")
    task_changes = [
        (e["detail"]["task"], e["detail"]["status"])
        for e in seen
        if e["detail-type"] == "Task Status Changed"
    ]
    assert ("Courier: crm", "running") in task_changes
    assert ("Courier: crm", "succeeded") in task_changes
    assert ("Courier: pos", "failed") in task_changes
