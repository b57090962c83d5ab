"""Control actions people take on interactions (pause, play, rollback, reactivate; an audience's
pause, play and rewind), written into the history of the run they act on, as stops and
resolutions are: the run's page and Users & Activity (``GET /api/activity``) read them there."""

from __future__ import annotations

from typing import Any

from switchyard.domain.models import HistoryEntry, Principal
from switchyard.observability import logger
from switchyard.services.deps import Deps

# the history events of interaction controls (stop is the run's own ``stop_requested``)
PAUSED = "interaction_paused"
PLAYED = "interaction_played"
ROLLED_BACK = "interaction_rolled_back"
REACTIVATED = "interaction_reactivated"
AUDIENCE_PAUSED = "audience_paused"
AUDIENCE_PLAYED = "audience_played"
AUDIENCE_REWOUND = "audience_rewound"


def record_control(
    deps: Deps,
    principal: Principal,
    workflow_id: str | None,
    event: str,
    detail: dict[str, Any] | None = None,
) -> None:
    if not workflow_id:
        return
    entry = HistoryEntry(at=deps.clock(), event=event, by=principal.user, detail=detail or {})
    if not deps.workflows.add_history(workflow_id, entry):
        logger.warning("control action not recorded", extra={"workflow_id": workflow_id, "event": event})
