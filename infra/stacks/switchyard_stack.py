"""The Switchyard stack: wires the constructs together and publishes the outputs."""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Stack
from constructs import Construct

from infra import constants as c
from infra.constructs.alerts import Alerts
from infra.constructs.api import Api
from infra.constructs.data import Data
from infra.constructs.engine import Engine
from infra.constructs.events import Events
from infra.constructs.schedules import Schedules
from infra.constructs.slack import Slack


class SwitchyardStack(Stack):
    def __init__(self, scope: Construct, construct_id: str = c.STACK_ID, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, description=c.STACK_DESCRIPTION, **kwargs)
        self.data = Data(self, "Data")
        self.events = Events(self, "Events")
        self.engine = Engine(self, "Engine", data=self.data, events=self.events)
        self.api = Api(self, "Api", handler=self.engine.functions["api"])
        self.engine.set_console_url(self.api.site_url)
        self.schedules = Schedules(self, "Schedules", engine=self.engine, events_=self.events)
        self.alerts = Alerts(
            self, "Alerts", engine=self.engine, events_=self.events, schedules=self.schedules
        )
        self.slack = Slack(self, "Slack", api_function=self.engine.functions["api"])

        CfnOutput(self, "ApiUrl", value=self.api.api_url, description="Base URL of the REST API (/api)")
        CfnOutput(self, "ConsoleUrl", value=self.api.console_url, description="The console")
        CfnOutput(self, "DataBucketName", value=self.data.bucket.bucket_name)
        CfnOutput(self, "EventBusName", value=self.events.bus.event_bus_name)
        CfnOutput(self, "AlarmTopicArn", value=self.engine.alarm_topic.topic_arn)
        for logical, table in self.data.tables.items():
            CfnOutput(self, f"{logical.title()}TableName", value=table.table_name)
        for workflow_type, machine in self.engine.state_machines.items():
            CfnOutput(
                self,
                f"{''.join(p.title() for p in workflow_type.split('_'))}StateMachineArn",
                value=machine.state_machine_arn,
            )
