"""Schedules: EventBridge Scheduler's role and schedule group, and the run-after rule.

* The **Scheduler's execution role** is assumed by ``scheduler.amazonaws.com`` (this account only)
  and may invoke the triggers function, nothing else.
* Functions declared with ``manage_schedules`` (the API) may create, change, read and remove
  schedules in Switchyard's schedule groups (``switchyard-<tenant>``) and pass that role to the
  Scheduler; they learn the role's and the triggers function's ARNs from their environment.
  Functions declared with ``manage_interaction_schedules`` (the triggers function: retries of
  interaction fires, constraint checks) may do the same in the interaction groups only
  (``switchyard-<tenant>-interactions``).
* The default tenant's **schedule group** is created here; a new tenant's group is created by the
  API on its first schedule.
* The **run-after rule** on the bus sends each courier group run that succeeded to the triggers
  function (pattern and target from :mod:`switchyard.declarations`, as the local runtime).
* The **execution-ended rule** on the account's default bus sends Step Functions' own status
  changes of Switchyard's machines (ABORTED, TIMED_OUT, FAILED) to the triggers function, which
  settles the run whose execution ended under it (locally the runtime sweeps at start instead).
"""

from __future__ import annotations

from typing import Any

from aws_cdk import ArnFormat, Aws, Stack
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_scheduler as scheduler
from constructs import Construct
from switchyard import declarations as d

from infra import nag
from infra.constructs.engine import Engine
from infra.constructs.events import Events

# What a schedule manager may do with schedules and their groups (nothing account-wide).
SCHEDULE_ACTIONS = [
    "scheduler:CreateSchedule",
    "scheduler:UpdateSchedule",
    "scheduler:DeleteSchedule",
    "scheduler:GetSchedule",
]
GROUP_ACTIONS = ["scheduler:GetScheduleGroup", "scheduler:CreateScheduleGroup"]
# The tenants' interaction schedule groups (d.interaction_schedule_group): all the triggers
# function manages.
INTERACTION_GROUPS = d.interaction_schedule_group("*")


class Schedules(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, engine: Engine, events_: Events) -> None:
        super().__init__(scope, construct_id)
        triggers = engine.functions[d.RUN_AFTER_TARGET]
        self.group = scheduler.CfnScheduleGroup(self, "DefaultGroup", name=d.schedule_group("default"))

        self.role = iam.Role(
            self,
            "SchedulerRole",
            description="EventBridge Scheduler invokes the Switchyard triggers function with this role",
            assumed_by=iam.ServicePrincipal(
                "scheduler.amazonaws.com", conditions={"StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID}}
            ),
        )
        self.role.add_to_policy(
            iam.PolicyStatement(actions=["lambda:InvokeFunction"], resources=[triggers.function_arn])
        )

        self.run_after_rule = events_.rule_to(
            self,
            "RunAfterRule",
            name=d.RUN_AFTER_RULE_NAME,
            description="A courier group run succeeded: start the orchestration groups set to run after it",
            pattern=d.RUN_AFTER_PATTERN,
            function=triggers,
        )
        self.instance_ended_rule = events_.rule_to(
            self,
            "InstanceEndedRule",
            name=d.INSTANCE_ENDED_RULE_NAME,
            description="An interaction instance ended: fire the activity-state triggers that watch it",
            pattern=d.INSTANCE_ENDED_PATTERN,
            function=triggers,
        )
        self.activity_state_rule = events_.rule_to(
            self,
            "ActivityStateRule",
            name=d.ACTIVITY_STATE_RULE_NAME,
            description="An interaction activity completed or failed: fire the triggers that watch it",
            pattern=d.ACTIVITY_STATE_PATTERN,
            function=triggers,
        )

        # Step Functions' own events arrive on the default bus, not Switchyard's
        ended: dict[str, Any] = d.EXECUTION_ENDED_PATTERN
        self.execution_ended_rule = events.Rule(
            self,
            "ExecutionEndedRule",
            rule_name=d.EXECUTION_ENDED_RULE_NAME,
            description="An execution of a Switchyard machine ended under its run: settle that run",
            event_pattern=events.EventPattern(
                source=list(ended["source"]),
                detail_type=list(ended["detail-type"]),
                detail={
                    **ended["detail"],
                    "stateMachineArn": [engine.state_machine_arns[t] for t in d.STATE_MACHINES],
                },
            ),
            targets=[targets.LambdaFunction(engine.functions[d.EXECUTION_ENDED_TARGET], retry_attempts=8)],
        )

        for key, decl in d.FUNCTIONS.items():
            if decl.manage_schedules:
                self._grant_manage(engine, key, triggers.function_arn)
            elif decl.manage_interaction_schedules:
                self._grant_manage(engine, key, triggers.function_arn, groups=INTERACTION_GROUPS)

    def _grant_manage(
        self, engine: Engine, key: str, triggers_arn: str, groups: str = f"{d.SCHEDULE_GROUP_PREFIX}*"
    ) -> None:
        """Manage schedules in the groups named like ``groups`` (all Switchyard groups, or the
        tenants' interaction groups only), and pass the Scheduler's role."""
        function = engine.functions[key]
        stack = Stack.of(self)
        if key == d.RUN_AFTER_TARGET:
            # The triggers function schedules calls to itself: its own ARN cannot come from a
            # reference to itself (a circular dependency); it is made from its fixed name.
            name = d.function_name(key)
            triggers_arn = stack.format_arn(
                service="lambda",
                resource="function",
                resource_name=name,
                arn_format=ArnFormat.COLON_RESOURCE_NAME,
            )
        function.add_environment(d.ENV_SCHEDULER_ROLE_ARN, self.role.role_arn)
        function.add_environment(d.ENV_TRIGGERS_FUNCTION_ARN, triggers_arn)
        schedules = stack.format_arn(
            service="scheduler",
            resource="schedule",
            resource_name=f"{groups}/*",
            arn_format=ArnFormat.SLASH_RESOURCE_NAME,
        )
        group_arns = stack.format_arn(
            service="scheduler",
            resource="schedule-group",
            resource_name=groups,
            arn_format=ArnFormat.SLASH_RESOURCE_NAME,
        )
        function.add_to_role_policy(iam.PolicyStatement(actions=SCHEDULE_ACTIONS, resources=[schedules]))
        function.add_to_role_policy(iam.PolicyStatement(actions=GROUP_ACTIONS, resources=[group_arns]))
        function.add_to_role_policy(
            iam.PolicyStatement(
                actions=["iam:PassRole"],
                resources=[self.role.role_arn],
                conditions={"StringEquals": {"iam:PassedToService": "scheduler.amazonaws.com"}},
            )
        )
        role = function.role
        assert role is not None
        nag.acknowledge(
            role,
            "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:scheduler:<AWS::Region>:<AWS::AccountId>:"
            f"schedule/{groups}/*]",
            "Schedules are named by users at run time, in the tenants' Switchyard schedule groups only.",
        )
        nag.acknowledge(
            role,
            "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:scheduler:<AWS::Region>:<AWS::AccountId>:"
            f"schedule-group/{groups}]",
            "One schedule group per tenant (switchyard-<tenant>), created on the tenant's first schedule.",
        )
