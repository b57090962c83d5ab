"""Interaction designs and activities over in-memory files and history: what each produces."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from switchyard.domain.interactions.activities import BatchAudience, Export, Offer
from switchyard.domain.interactions.design import plan_interaction, structural_problems
from switchyard.domain.interactions.instances import format_count
from switchyard.domain.task_errors import UnauthorisedChannelError
from switchyard.tasks.interactions.audiences import (
    audience_sql,
    batch_limit_message,
    run_batch_audience,
    run_offer,
)
from switchyard.tasks.interactions.exports import run_export

from tests.fakes import MemoryBlobStore, MemoryOfferHistory
from tests.support.activities import BUCKET, context


def test_results_bubbles_are_abbreviated() -> None:
    assert format_count(1_203_492) == "1.2M"
    assert format_count(75_854) == "75.9K"
    assert format_count(999) == "999"
    assert format_count(1_000) == "1K"
    assert format_count(999_960) == "1M"


def test_rules_become_sql_with_bound_values_never_inlined() -> None:
    a = BatchAudience.model_validate(
        {
            "type": "batch_audience",
            "name": "A",
            "rules": [
                {"column": "score", "operator": ">=", "value": 10},
                {"column": "email", "operator": "contains", "value": "'; DROP"},
                {"column": "orders.amount", "operator": "in", "value": [1, 2]},
            ],
            "match": "any",
            "joins": [{"table": "orders", "left": "customer_id", "right": "customer_id"}],
        }
    )
    sql, params = audience_sql(a, "people", "customer_id", exclude=False)
    assert "DROP" not in sql
    assert params == [10, "'; DROP", 1, 2]
    assert " OR " in sql and "JOIN orders ON a.customer_id = orders.customer_id" in sql


def test_a_design_that_does_not_parse_lists_each_problem_with_its_path() -> None:
    _, problems = structural_problems(
        {
            "name": "X",
            "workflows": [{"key": "Main!", "name": "M", "branches": [[{"type": "delay", "name": "d"}]]}],
        }
    )
    paths = {p.path for p in problems}
    assert "workflows.0.key" in paths
    assert "workflows.0.branches.0.0.seconds" in paths


def test_the_plan_lays_branches_out_as_stages_and_activities_as_tasks() -> None:
    workflow = {
        "key": "main",
        "name": "Main",
        "branches": [
            [{"type": "batch_audience", "name": "A"}, {"type": "delay", "name": "D", "seconds": 5}],
            [{"type": "batch_audience", "name": "B"}],
        ],
    }
    stages = plan_interaction(
        "x", {"design_id": "d", "instance_id": 3, "workflow": workflow}, datetime.now(UTC), None
    )
    assert [s.key for s in stages] == ["branch_0", "branch_1"]
    assert [t.name for t in stages[0].tasks] == ["Audience: A", "Delay: D"]
    assert stages[0].tasks[1].inputs["instance_id"] == 3


def test_batch_limits_pause_the_workflow_with_the_documented_message(people: MemoryBlobStore) -> None:
    ctx = context(people)
    a = BatchAudience.model_validate({"type": "batch_audience", "name": "A", "max_batch": 10})
    out = run_batch_audience(a, ctx, {})
    assert out["records"] == 25 and out["paused"] is True
    assert out["warnings"] == [batch_limit_message(25, None, 10)]
    assert ctx.instances.controls[7] == ("paused", out["warnings"][0])  # type: ignore[attr-defined]
    assert "above the maximum batch limit of 10" in out["warnings"][0]


@pytest.mark.parametrize(("chunk", "writes"), [(10, [10, 10, 5]), (0, [25]), (100, [25])])
def test_offer_history_is_written_in_chunks_of_the_insert_batch_limit(
    people: MemoryBlobStore, chunk: int, writes: list[int]
) -> None:
    ctx = context(people, chunk=chunk)
    selected = run_batch_audience(
        BatchAudience.model_validate({"type": "batch_audience", "name": "A"}), ctx, {}
    )
    offer = Offer.model_validate({"type": "offer", "name": "Offer", "offer_code": "O1", "channel": "email"})
    out = run_offer(offer, ctx, selected)
    history: MemoryOfferHistory = ctx.history  # type: ignore[assignment]
    assert history.writes == writes
    assert out["offered"] == 25 and out["location"] == selected["location"]
    assert history.meta("production", 7)[0]["records"] == 25


def test_an_offer_on_an_unauthorised_channel_fails_at_run_time(people: MemoryBlobStore) -> None:
    ctx = context(people)
    selected = run_batch_audience(
        BatchAudience.model_validate({"type": "batch_audience", "name": "A"}), ctx, {}
    )
    offer = Offer.model_validate({"type": "offer", "name": "Offer", "offer_code": "O1", "channel": "fax"})
    with pytest.raises(UnauthorisedChannelError):
        run_offer(offer, ctx, selected)


def test_already_contacted_records_are_left_out(people: MemoryBlobStore) -> None:
    ctx = context(people, exclude_instances=[3])
    ctx.history.write(
        "production", 3, "Offer", ["c1", "c2"], offer_code="O", channel="email", control=False, at=ctx.now
    )
    out = run_batch_audience(BatchAudience.model_validate({"type": "batch_audience", "name": "A"}), ctx, {})
    assert out["records"] == 23 and out["excluded_already_contacted"] == 2


def test_exports_write_the_file_its_summary_and_a_sample(people: MemoryBlobStore) -> None:
    ctx = context(people)
    selected = run_batch_audience(
        BatchAudience.model_validate({"type": "batch_audience", "name": "A", "columns": ["email"]}), ctx, {}
    )
    export = Export.model_validate({"type": "export", "name": "E", "folder": "out", "sample_size": 3})
    out = run_export(export, ctx, selected)
    assert out["files"] == [
        "out/actionExport.txt",
        "out/actionExport.txt_summary.xml",
        "out/actionExport_sample",
    ]
    assert len((people.get(BUCKET, "out/actionExport.txt") or b"").splitlines()) == 26
    assert len((people.get(BUCKET, "out/actionExport_sample") or b"").splitlines()) == 4
    again = run_export(export, ctx, selected)
    assert again["files"][0] == "out/actionExport_1.txt"


def test_test_mode_creates_no_files_unless_asked(people: MemoryBlobStore) -> None:
    ctx = context(people, mode="test")
    selected = run_batch_audience(
        BatchAudience.model_validate({"type": "batch_audience", "name": "A"}), ctx, {}
    )
    export = Export.model_validate({"type": "export", "name": "E", "folder": "out"})
    assert run_export(export, ctx, selected)["exported"] == 0
    assert people.list(BUCKET, "out/") == []
    ctx.create_files_in_test_mode = True
    assert run_export(export, ctx, selected)["exported"] == 25
    assert selected["location"].startswith("interactions/sandbox/")
