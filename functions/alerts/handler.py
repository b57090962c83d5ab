"""Alerts Lambda: the bus's status changes, and Scheduler's delivery retries and duration checks."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from switchyard.observability import logger, tracer
from switchyard.services.alerts import alert_event


@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return alert_event(event, context.invoked_function_arn)
