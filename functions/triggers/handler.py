"""Triggers Lambda: EventBridge Scheduler schedules and the run-after rule start runs here."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from switchyard.observability import logger, tracer
from switchyard.triggers import trigger_event


@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return trigger_event(event)
