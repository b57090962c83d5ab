"""Schedules: the Scheduler's role, the schedule group, the run-after rule, and who may manage schedules."""

from __future__ import annotations

from typing import Any

import pytest
from infra_helpers import as_list, functions, grants, render, resources, role_statements
from switchyard import declarations as d


def _logical_id(value: Any) -> str:
    return str(value["Fn::GetAtt"][0]) if "Fn::GetAtt" in value else str(value["Ref"])


def _scheduler_role(template: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    (found,) = [
        (logical_id, role)
        for logical_id, role in resources(template, "AWS::IAM::Role").items()
        if any(
            s["Principal"].get("Service") == "scheduler.amazonaws.com"
            for s in role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
        )
    ]
    return found


def test_the_scheduler_role_may_only_invoke_the_triggers_and_alerts_functions(
    template: dict[str, Any],
) -> None:
    logical_id, role = _scheduler_role(template)
    (trust,) = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Action"] == "sts:AssumeRole"
    assert trust["Condition"] == {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}}
    assert "ManagedPolicyArns" not in role["Properties"]
    statements = role_statements(template, {"Fn::GetAtt": [logical_id, "Arn"]})
    triggers = functions(template)["triggers"][0]
    alerts = functions(template)["alerts"][0]
    granted = [(a, r) for s in statements for a in as_list(s["Action"]) for r in as_list(s["Resource"])]
    assert sorted(granted, key=str) == sorted(
        [
            ("lambda:InvokeFunction", {"Fn::GetAtt": [triggers, "Arn"]}),
            ("lambda:InvokeFunction", {"Fn::GetAtt": [alerts, "Arn"]}),
        ],
        key=str,
    )


def test_only_schedule_managers_may_manage_schedules_and_pass_the_role(template: dict[str, Any]) -> None:
    role_id, _ = _scheduler_role(template)
    triggers = functions(template)["triggers"][0]
    for key, (_, function) in functions(template).items():
        statements = role_statements(template, function["Properties"]["Role"])
        scheduler = grants(statements, "scheduler")
        passes = [
            (s.get("Condition"), r)
            for s in statements
            for a in as_list(s["Action"])
            if a == "iam:PassRole"
            for r in as_list(s["Resource"])
        ]
        env = function["Properties"]["Environment"]["Variables"]
        decl = d.FUNCTIONS[key]
        if not (decl.manage_schedules or decl.manage_interaction_schedules):
            assert scheduler == [] and passes == [], key
            assert d.ENV_SCHEDULER_ROLE_ARN not in env, key
            continue
        # the triggers function (retries of interaction fires, constraint checks) manages the
        # tenants' interaction groups only; the API and the alerts function every Switchyard group
        groups = d.SCHEDULE_GROUP_PREFIX + "*"
        if not decl.manage_schedules:
            groups = d.interaction_schedule_group("*")
        assert set(scheduler) == {
            (action, f"arn:aws:scheduler:REGION:ACCOUNT:schedule/{groups}/*")
            for action in (
                "scheduler:CreateSchedule",
                "scheduler:UpdateSchedule",
                "scheduler:DeleteSchedule",
                "scheduler:GetSchedule",
            )
        } | {
            (action, f"arn:aws:scheduler:REGION:ACCOUNT:schedule-group/{groups}")
            for action in ("scheduler:GetScheduleGroup", "scheduler:CreateScheduleGroup")
        }, key
        assert passes == [
            (
                {"StringEquals": {"iam:PassedToService": "scheduler.amazonaws.com"}},
                {"Fn::GetAtt": [role_id, "Arn"]},
            )
        ]
        assert env[d.ENV_SCHEDULER_ROLE_ARN] == {"Fn::GetAtt": [role_id, "Arn"]}
        if key == "triggers":
            # its own ARN, from the name it is given (a reference to itself would be circular)
            name = function["Properties"]["FunctionName"]
            assert isinstance(name, str) and len(name) <= 64
            assert (
                render(env[d.ENV_TRIGGERS_FUNCTION_ARN]) == f"arn:aws:lambda:REGION:ACCOUNT:function:{name}"
            )
        else:
            assert env[d.ENV_TRIGGERS_FUNCTION_ARN] == {"Fn::GetAtt": [triggers, "Arn"]}


def test_the_default_tenant_has_its_schedule_group(template: dict[str, Any]) -> None:
    groups = resources(template, "AWS::Scheduler::ScheduleGroup")
    assert sorted(g["Properties"]["Name"] for g in groups.values()) == [
        d.schedule_group("default"),
        d.ALERTS_SCHEDULE_GROUP,
    ]


@pytest.mark.parametrize(
    ("rule_name", "pattern"),
    [
        (d.RUN_AFTER_RULE_NAME, d.RUN_AFTER_PATTERN),
        (d.INSTANCE_ENDED_RULE_NAME, d.INSTANCE_ENDED_PATTERN),
        (d.ACTIVITY_STATE_RULE_NAME, d.ACTIVITY_STATE_PATTERN),
    ],
)
def test_the_run_after_and_instance_ended_rules_send_their_events_to_the_triggers_function(
    template: dict[str, Any], rule_name: str, pattern: dict[str, Any]
) -> None:
    (rule,) = [
        r for r in resources(template, "AWS::Events::Rule").values() if r["Properties"]["Name"] == rule_name
    ]
    properties = rule["Properties"]
    assert properties["EventPattern"] == pattern
    (bus,) = resources(template, "AWS::Events::EventBus")
    assert _logical_id(properties["EventBusName"]) == bus
    (target,) = properties["Targets"]
    triggers = functions(template)["triggers"][0]
    assert target["Arn"] == {"Fn::GetAtt": [triggers, "Arn"]}
    # EventBridge may invoke the function, for this rule only
    rule_id = next(k for k, v in resources(template, "AWS::Events::Rule").items() if v is rule)
    permissions = [
        p["Properties"]
        for p in resources(template, "AWS::Lambda::Permission").values()
        if p["Properties"]["Principal"] == "events.amazonaws.com"
        and render(p["Properties"]["FunctionName"]) == f"<{triggers}.Arn>"
        and p["Properties"]["SourceArn"] == {"Fn::GetAtt": [rule_id, "Arn"]}
    ]
    assert len(permissions) == 1


def test_the_triggers_function_schedules_retries_in_the_interaction_groups_only(
    template: dict[str, Any],
) -> None:
    _, function = functions(template)["triggers"]
    scheduler = grants(role_statements(template, function["Properties"]["Role"]), "scheduler")
    interactions = f"arn:aws:scheduler:REGION:ACCOUNT:schedule/{d.interaction_schedule_group('*')}/*"
    assert ("scheduler:CreateSchedule", interactions) in scheduler
    assert {resource for _, resource in scheduler} == {
        interactions,
        f"arn:aws:scheduler:REGION:ACCOUNT:schedule-group/{d.interaction_schedule_group('*')}",
    }


def test_executions_of_switchyard_machines_that_end_under_their_run_go_to_the_triggers_function(
    template: dict[str, Any],
) -> None:
    # Given the rule on Step Functions' own status changes
    (rule_id, rule) = next(
        (k, r)
        for k, r in resources(template, "AWS::Events::Rule").items()
        if r["Properties"]["Name"] == d.EXECUTION_ENDED_RULE_NAME
    )
    properties = rule["Properties"]
    pattern = properties["EventPattern"]
    # Then it listens on the account's default bus (where Step Functions sends them), not Switchyard's
    assert "EventBusName" not in properties
    assert pattern["source"] == ["aws.states"]
    assert pattern["detail-type"] == ["Step Functions Execution Status Change"]
    # And only to the endings that leave a run unsettled (a success or a run's own stop finishes it)
    assert sorted(pattern["detail"]["status"]) == ["ABORTED", "FAILED", "TIMED_OUT"]
    # And only for Switchyard's machines, every one of them
    deployed = {
        v["Properties"]["StateMachineName"]
        for v in resources(template, "AWS::StepFunctions::StateMachine").values()
    }
    assert deployed == {d.state_machine_name(t) for t in d.STATE_MACHINES}
    assert sorted(render(arn) for arn in pattern["detail"]["stateMachineArn"]) == sorted(
        f"arn:aws:states:REGION:ACCOUNT:stateMachine:{name}" for name in deployed
    )
    # And its one target is the triggers function, which EventBridge may invoke for this rule only
    (target,) = properties["Targets"]
    triggers, function = functions(template)[d.EXECUTION_ENDED_TARGET]
    assert target["Arn"] == {"Fn::GetAtt": [triggers, "Arn"]}
    assert target["RetryPolicy"]["MaximumRetryAttempts"] > 0
    permissions = [
        p["Properties"]
        for p in resources(template, "AWS::Lambda::Permission").values()
        if p["Properties"]["Principal"] == "events.amazonaws.com"
        and p["Properties"].get("SourceArn") == {"Fn::GetAtt": [rule_id, "Arn"]}
    ]
    assert [render(p["FunctionName"]) for p in permissions] == [f"<{triggers}.Arn>"]
    # And the function may read an execution's status and start the one that carries a run on
    states = grants(role_statements(template, function["Properties"]["Role"]), "states")
    for machine in d.STATE_MACHINES:
        name = d.state_machine_name(machine)
        execution = f"arn:aws:states:REGION:ACCOUNT:execution:{name}:*"
        assert ("states:DescribeExecution", execution) in states, name
        assert any(a == "states:StartExecution" and name in r for a, r in states), name
