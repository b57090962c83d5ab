"""Engine Lambda: the steps of the task pattern that the state machines call."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from switchyard.handlers import engine_event
from switchyard.observability import logger, tracer


@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return engine_event(event)
