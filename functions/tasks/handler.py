"""Task Lambdas: one entry point per task kind, all in this module.

Each task function's declaration (``switchyard.declarations.TASK_FUNCTIONS``) names its entry
point here as ``handler.<kind>``; every entry point parses nothing itself and makes one call,
:func:`switchyard.handlers.task_event`, with its kind.
"""

from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from switchyard.handlers import task_event
from switchyard.observability import logger, tracer

Handler = Callable[[dict[str, Any], LambdaContext], dict[str, Any]]


def _entry_point(kind: str) -> Handler:
    @logger.inject_lambda_context(log_event=False)
    @tracer.capture_lambda_handler
    def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        return task_event(kind, event)

    return lambda_handler  # type: ignore[no-any-return]


courier = _entry_point("courier")
stitch = _entry_point("stitch")
customer_360 = _entry_point("customer_360")
database = _entry_point("database")
ingest = _entry_point("ingest")
ccpa = _entry_point("ccpa")
validation = _entry_point("validation")
index = _entry_point("index")
audience = _entry_point("audience")
deliver = _entry_point("deliver")
# interaction activities: batch audience, offer, control, export, delay
activity = _entry_point("activity")
