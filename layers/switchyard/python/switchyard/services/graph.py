"""A run as a graph: every task a node, an edge from each task to the task that runs after it.

Every workflow type's state machine plans its stages, then runs each stage as a ``Map`` with
``MaxConcurrency`` 1 (``statemachines/fragments/stage.asl.json``): the tasks of a stage run in order, and
a stage starts when the one before it has finished. So each task leads to the next one in its
stage, and the last task of a stage leads to the first task of the next stage that has tasks.
"""

from __future__ import annotations

from typing import Any

from switchyard.domain.models import Workflow


def workflow_graph(workflow: Workflow) -> dict[str, list[dict[str, Any]]]:
    nodes: list[dict[str, Any]] = []
    edges: list[dict[str, str]] = []
    previous: str | None = None
    for stage in workflow.stages:
        for task in stage.tasks:
            nodes.append(
                {
                    "id": task.id,
                    "label": task.name,
                    "stage": stage.name,
                    "status": str(task.status),
                    "kind": task.kind,
                }
            )
            if previous is not None:
                edges.append({"source": previous, "target": task.id})
            previous = task.id
    return {"nodes": nodes, "edges": edges}
