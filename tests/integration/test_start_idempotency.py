"""A start is all or nothing, and a start retried with its Idempotency-Key makes one run."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from switchyard.data.models import IdempotencyModel, WorkflowModel
from switchyard.services.deps import Deps

from tests.integration.conftest import Api

START = {"type": "courier_group", "name": "crm_web"}


def runs_named(name_key: str) -> list[str]:
    """Ids of the runs started with the Idempotency-Key ``name_key`` (by the key's record)."""
    return [i.workflow_id for i in IdempotencyModel.scan() if i.key.endswith(f":{name_key}")]


def run_count() -> int:
    return sum(1 for _ in WorkflowModel.scan(attributes_to_get=["workflow_id"]))


def test_a_start_that_fails_after_its_writes_leaves_no_run_and_no_key(
    api: Api, deps: Deps, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the engine refuses to start the execution (a throttle, an outage)
    before = run_count()

    def refuse(*args: Any, **kwargs: Any) -> str:
        raise ConnectionError("Step Functions is unreachable")

    monkeypatch.setattr(deps.engine, "start", refuse)
    # When a start with a key is sent
    failed = api.post("/api/workflows", START, headers={"Idempotency-Key": "engine-down"})
    # Then it fails without a stack trace and nothing is left: no run, no key
    assert failed.status == 500
    assert "Traceback" not in str(failed.body)
    assert run_count() == before
    assert runs_named("engine-down") == []
    # And once the engine is back, the same retried request starts the run
    monkeypatch.undo()
    retried = api.post("/api/workflows", START, headers={"Idempotency-Key": "engine-down"})
    assert retried.status == 201, retried.body
    assert runs_named("engine-down") == [retried.body["id"]]
    assert run_count() == before + 1


def test_the_same_start_sent_at_once_from_many_clients_makes_one_run(api: Api) -> None:
    # Given eight clients that retry the same start with the same key at the same moment
    before = run_count()
    with ThreadPoolExecutor(max_workers=8) as pool:
        replies = list(
            pool.map(
                lambda _: api.post("/api/workflows", START, headers={"Idempotency-Key": "retry-storm"}),
                range(8),
            )
        )
    # Then one of them created the run, the others were answered with it
    assert sorted(r.status for r in replies) == [200] * 7 + [201], [r.body for r in replies]
    assert len({r.body["id"] for r in replies}) == 1
    assert run_count() == before + 1
    api.wait(replies[0].body["id"], "succeeded")
