"""What EventBridge routes: the rules on the buses and their targets, and the Scheduler's groups."""

from __future__ import annotations

from switchyard.declarations.resources import EVENT_SOURCE

# --- schedules ---------------------------------------------------------------------------------

# Each tenant's schedules live in the EventBridge Scheduler schedule group ``switchyard-<tenant>``.
SCHEDULE_GROUP_PREFIX = "switchyard-"
# The EventBridge rule on the bus that starts "run after" orchestration groups: a courier group
# run that succeeded goes to the triggers function, which starts the groups set to follow it.
RUN_AFTER_RULE_NAME = "switchyard-run-after-courier-group"
RUN_AFTER_PATTERN: dict[str, object] = {
    "source": [EVENT_SOURCE],
    "detail-type": ["Workflow Status Changed"],
    "detail": {"type": ["courier_group"], "status": ["succeeded"]},
}
RUN_AFTER_TARGET = "triggers"  # the function key the rule invokes
# Step Functions' own status changes, on the account's default bus: an execution of one of
# Switchyard's machines that ended under its run (aborted by hand, timed out, failed) goes to the
# triggers function, which settles that run (services/interrupted.py). The CDK app adds the
# machines' ARNs (``detail.stateMachineArn``); locally the runtime sweeps at start instead.
EXECUTION_ENDED_RULE_NAME = "switchyard-execution-ended"
EXECUTION_ENDED_STATUSES = ("ABORTED", "TIMED_OUT", "FAILED")
EXECUTION_ENDED_PATTERN: dict[str, object] = {
    "source": ["aws.states"],
    "detail-type": ["Step Functions Execution Status Change"],
    "detail": {"status": list(EXECUTION_ENDED_STATUSES)},
}
EXECUTION_ENDED_TARGET = "triggers"
# Interaction instances that end go to the triggers function too: activity-state triggers.
INSTANCE_ENDED_RULE_NAME = "switchyard-interaction-instance-ended"
INSTANCE_ENDED_PATTERN: dict[str, object] = {
    "source": [EVENT_SOURCE],
    "detail-type": ["Workflow Status Changed"],
    "detail": {"type": ["interaction"], "status": ["succeeded", "failed", "stopped"]},
}
# An interaction activity that completed or failed goes to the triggers function: activity-state
# triggers that watch one activity (services/interactions/activity_triggers.py).
ACTIVITY_STATE_DETAIL_TYPE = "Interaction Activity State Changed"
ACTIVITY_STATE_RULE_NAME = "switchyard-interaction-activity-state"
ACTIVITY_STATE_PATTERN: dict[str, object] = {
    "source": [EVENT_SOURCE],
    "detail-type": [ACTIVITY_STATE_DETAIL_TYPE],
    "detail": {"type": ["interaction"], "state": ["Completed", "Failed"]},
}


def schedule_group(tenant: str) -> str:
    return f"{SCHEDULE_GROUP_PREFIX}{tenant}"


def interaction_schedule_group(tenant: str) -> str:
    """Where the scheduled and recurring triggers of a tenant's interactions live."""
    return f"{SCHEDULE_GROUP_PREFIX}{tenant}-interactions"


# --- alerts ------------------------------------------------------------------------------------

# The rule on the bus that sends every run's status change to the alerts function.
ALERTS_RULE_NAME = "switchyard-alerts"
ALERTS_PATTERN: dict[str, object] = {
    "source": [EVENT_SOURCE],
    "detail-type": ["Workflow Status Changed"],
    "detail": {"status": ["running", "failed", "succeeded", "stopped"]},
}
ALERTS_TARGET = "alerts"
# Retries of a delivery and duration checks are one-time Scheduler schedules in this group.
ALERTS_SCHEDULE_GROUP = "switchyard-system-alerts"
