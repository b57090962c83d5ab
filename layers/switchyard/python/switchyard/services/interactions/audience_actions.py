"""The API's actions on one audience of an instance: pause, play, and stop (rewind)."""

from __future__ import annotations

from typing import Any

from switchyard.domain import errors
from switchyard.domain.errors import AudienceNotFound
from switchyard.domain.interactions.activities import HISTORY_TYPES
from switchyard.domain.interactions.instances import space_for
from switchyard.domain.models import Principal, Stage, Workflow, WorkflowStatus
from switchyard.services.control_history import (
    AUDIENCE_PAUSED,
    AUDIENCE_PLAYED,
    AUDIENCE_REWOUND,
    record_control,
)
from switchyard.services.deps import Deps
from switchyard.services.interactions.audiences import (
    DONE,
    HELD,
    PAUSE_REQUESTED,
    PAUSED,
    REWOUND,
    audience_names,
)
from switchyard.services.interactions.views import InstanceViews
from switchyard.tasks.interactions.context import RUN_PARTS
from switchyard.tasks.interactions.interactive import cycle_folder


class AudienceService:
    def __init__(self, deps: Deps) -> None:
        self.deps = deps
        self.controls = deps.interactions.controls
        self.views = InstanceViews(deps)

    def _find(
        self, principal: Principal, design_id: str, key: str, instance_id: int, audience: str
    ) -> tuple[Workflow, int, Stage]:
        """The instance's run, the audience's branch number and stage (an empty one before the
        run has laid its activities out: the audiences are the workflow's, fired with it)."""
        self.views.instance(principal, design_id, key, instance_id)  # 404s
        instance = self.deps.interactions.instances.get(instance_id)
        run = self.deps.workflows.get(instance.workflow_id) if instance.workflow_id else None
        names = audience_names(run) if run else []
        if run is None or audience not in names:
            raise AudienceNotFound(
                f"Instance {instance_id} has no audience {audience!r} "
                f"(it has: {', '.join(repr(n) for n in names) or 'none yet'}).",
                {"audience": audience},
            )
        index = names.index(audience)
        stage = run.stages[index] if index < len(run.stages) else Stage(name=audience)
        return run, index + 1, stage

    def _playing(self, run: Workflow, instance_id: int, action: str) -> None:
        if run.status != WorkflowStatus.RUNNING:
            status = self.views.instance_view(self.deps.interactions.instances.get(instance_id))["status"]
            raise errors.InstanceNotPlaying(
                f"Instance {instance_id} is {status}: only an audience of a playing instance can {action}.",
                {"status": status},
            )

    def _state(self, instance_id: int, branch: int) -> dict[str, Any]:
        return self.controls.audiences(instance_id).get(str(branch)) or {}

    def _view(self, instance_id: int) -> dict[str, Any]:
        return self.views.instance_view(self.deps.interactions.instances.get(instance_id))

    def pause(
        self, principal: Principal, design_id: str, key: str, instance_id: int, audience: str
    ) -> dict[str, Any]:
        run, branch, stage = self._find(principal, design_id, key, instance_id, audience)
        self._playing(run, instance_id, "be paused")
        if stage.tasks and all(t.status in DONE for t in stage.tasks):
            raise errors.AudienceStateConflict(
                f"Audience {audience!r} has completed: there is nothing left to pause."
            )
        control = self._state(instance_id, branch).get("control")
        if not self.controls.move(
            instance_id, branch, {"control": PAUSE_REQUESTED, "by": principal.user}, expected=(None,)
        ):
            why = "stopped and rewound: play it to run it again" if control == REWOUND else "already paused"
            raise errors.AudienceStateConflict(f"Audience {audience!r} is {why}.", {"audience": audience})
        record_control(self.deps, principal, run.id, AUDIENCE_PAUSED, {"audience": audience})
        return self._view(instance_id)

    def play(
        self, principal: Principal, design_id: str, key: str, instance_id: int, audience: str
    ) -> dict[str, Any]:
        run, branch, _ = self._find(principal, design_id, key, instance_id, audience)
        self._playing(run, instance_id, "play")
        if not self.controls.move(
            instance_id, branch, {"control": None, "by": principal.user}, expected=HELD
        ):
            raise errors.AudienceStateConflict(
                f"Audience {audience!r} is neither paused nor rewound.", {"audience": audience}
            )
        record_control(self.deps, principal, run.id, AUDIENCE_PLAYED, {"audience": audience})
        return self._view(instance_id)

    def rewind(
        self, principal: Principal, design_id: str, key: str, instance_id: int, audience: str
    ) -> dict[str, Any]:
        """Stop a paused audience and erase what it wrote for this instance; play runs it again."""
        run, branch, stage = self._find(principal, design_id, key, instance_id, audience)
        self._playing(run, instance_id, "be rewound")
        state = self._state(instance_id, branch)
        if state.get("control") != PAUSED:
            now = "rewound already" if state.get("control") == REWOUND else "still playing an activity"
            if state.get("control") is None:
                now = "playing"
            raise errors.AudienceStateConflict(
                f"Audience {audience!r} is {now}: pause it, and rewind it once it shows Paused.",
                {"audience": audience},
            )
        if not self.controls.move(
            instance_id,
            branch,
            {"control": REWOUND, "rewinds": int(state.get("rewinds") or 0) + 1, "by": principal.user},
            expected=(PAUSED,),
        ):
            raise errors.ChangedMeanwhile(
                f"Audience {audience!r} changed meanwhile; read the instance again."
            )
        instance = self.deps.interactions.instances.get(instance_id)
        space = space_for(instance.mode)
        recorded = [
            str(a.get("name"))
            for a in (t.inputs.get("activity") or {} for t in stage.tasks)
            if a.get("type") in HISTORY_TYPES
        ]
        number = int((run.config or {}).get("run") or 0)  # a re-run single instance: this run only
        parts: tuple[int, int] | None = (number * RUN_PARTS, (number + 1) * RUN_PARTS)
        head = (stage.tasks[0].inputs.get("activity") or {}) if stage.tasks else {}
        if head.get("type") == "interactive_audience":
            parts = None  # all its cycles (an interactive audience is never a re-run single instance)
        removed = self.deps.interactions.records.erase_audience(space, instance_id, recorded, audience, parts)
        files: list[str] = []
        for task in stage.tasks:
            outputs = task.outputs or {}
            files.extend(str(f) for f in outputs.get("files") or [])
            if (task.inputs.get("activity") or {}).get("type") == "batch_audience" and outputs.get(
                "location"
            ):
                files.append(str(outputs["location"]))
            if (task.inputs.get("activity") or {}).get("type") == "interactive_audience":
                # every cycle's audience and the records it targeted: the replay starts afresh
                folder = cycle_folder(space, instance_id, audience)
                files.extend(self.deps.blobs.list(self.deps.settings.data_bucket, folder + "/"))
        bucket = self.deps.settings.data_bucket
        for file_key in files:
            self.deps.blobs.delete(bucket, file_key)
        task_ids = [t.id for t in stage.tasks]
        self.controls.forget(instance_id, task_ids, files)
        self.controls.reset_tasks(run.id, task_ids)
        detail = {"offer_history_removed": removed, "files_removed": files, "by": principal.user}
        self.controls.move(instance_id, branch, {"rewound": detail}, expected=(REWOUND,))
        record_control(
            self.deps, principal, run.id, AUDIENCE_REWOUND, {"audience": audience, "records_removed": removed}
        )
        return self._view(instance_id)
