"""The REST resolver, with each request's state kept in the thread that serves it.

Powertools' resolver keeps the request it is resolving in shared places: ``resolve`` sets the
event and the Lambda context as attributes of the ``BaseRouter`` *class* (so every resolver and
router in the process sees the last one set), and ``context`` (the principal, the matched
route and its arguments) is a dict on the app instance. On Lambda that is harmless: a container
serves one request at a time. The local server serves several at once from a pool of threads,
as several warm containers would; there two requests read each other's event. This subclass
keeps the three in a thread-local slot shared by every instance and every router that reads
them through the app, so a thread sees only the request it is serving; each thread also builds
its own app (:func:`switchyard.api.app.get_app`), so the routes' lazily built middleware stacks
are never built by two threads at once. On Lambda it behaves as the base class, except that it
decodes path parameters (:meth:`ThreadLocalRestResolver._convert_matches_into_route_keys`).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote

from aws_lambda_powertools.event_handler import APIGatewayRestResolver
from aws_lambda_powertools.utilities.data_classes.common import BaseProxyEvent
from aws_lambda_powertools.utilities.typing import LambdaContext


class _RequestState(threading.local):
    def __init__(self) -> None:
        self.event: BaseProxyEvent | None = None
        self.lambda_context: Any = None
        self.context: dict[str, Any] = {}


_state = _RequestState()


class ThreadLocalRestResolver(APIGatewayRestResolver):
    @property  # type: ignore[override]
    def current_event(self) -> BaseProxyEvent:
        if _state.event is None:
            raise RuntimeError("no request is being resolved in this thread")
        return _state.event

    @current_event.setter
    def current_event(self, value: BaseProxyEvent) -> None:
        _state.event = value

    @property  # type: ignore[override]
    def lambda_context(self) -> LambdaContext:
        return _state.lambda_context  # type: ignore[no-any-return]

    @lambda_context.setter
    def lambda_context(self, value: LambdaContext) -> None:
        _state.lambda_context = value

    @property  # type: ignore[override]
    def context(self) -> dict[str, Any]:
        return _state.context

    @context.setter
    def context(self, value: dict[str, Any]) -> None:
        _state.context = value

    def _convert_matches_into_route_keys(self, match: re.Match[str]) -> dict[str, str]:
        """Path parameters as the client meant them: the path is matched as sent (percent-encoded,
        so an encoded ``/`` stays inside one parameter), each parameter is then decoded once, as
        API Gateway decodes ``pathParameters``. Their declared limits (``max_length``) apply to
        the decoded value, which is what the OpenAPI document describes."""
        return {name: unquote(value) for name, value in match.groupdict().items()}

    def resolve(self, event: Mapping[str, Any], context: LambdaContext) -> dict[str, Any]:
        # The base class stores the event on BaseRouter (shared by every thread), then reads
        # it back through ``self.current_event``: here, this thread's slot.
        _state.event = self._to_proxy_event(dict(event))
        _state.lambda_context = context
        try:
            return super().resolve(event, context)
        finally:
            _state.event = None
            _state.lambda_context = None
