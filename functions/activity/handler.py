"""Task Lambda: interaction activity (batch audience, offer, control, export, delay)."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from switchyard.handlers import task_event
from switchyard.observability import logger, tracer


@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return task_event("activity", event)
