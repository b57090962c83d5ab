"""The local state module against the real emulation: moto's backends captured and restored,
and the clock's catch-up after a restart."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import boto3
from moto.backends import get_backend
from switchyard import declarations as d
from switchyard.local import state, state_backends, state_file, state_tracking
from switchyard.local.runtime import ACCOUNT, REGION, LocalRuntime
from switchyard.local.scheduler import SchedulerClock
from switchyard.services.deps import Deps

OTHER_ACCOUNT = "000000000042"  # a fresh account to restore into: the session's is left alone


def test_the_kept_services_are_captured_and_restored_whole(
    runtime: LocalRuntime, deps: Deps, tmp_path: Path
) -> None:
    # Given an item, an object, a secret and a schedule in the emulated account
    mark = uuid.uuid4().hex[:8]
    deps.config.put("courier", f"kept-{mark}", {"name": f"kept-{mark}", "format": "csv"})
    deps.blobs.put(d.LOCAL_DATA_BUCKET, f"kept/{mark}.txt", b"kept bytes")
    deps.secrets.put(f"switchyard/kept/{mark}", {"token": mark})
    scheduler = boto3.client("scheduler", region_name=REGION)
    scheduler.create_schedule(
        Name=f"kept-{mark}",
        ScheduleExpression="rate(1 hour)",
        FlexibleTimeWindow={"Mode": "OFF"},
        Target={"Arn": "arn:aws:sqs:us-east-1:123456789012:nowhere", "RoleArn": "arn:aws:iam::1:role/x"},
        State="DISABLED",
    )
    created = scheduler.get_schedule(Name=f"kept-{mark}")["CreationDate"]
    try:
        # When they are captured, written, read back and restored into a fresh account
        tables = state_backends.DynamoDBCopy(ACCOUNT)
        tables.refresh(None)
        snapshot = state_file.Snapshot(
            groups={"dynamodb": tables.data(), "account": state_backends.capture("account", ACCOUNT)},
            extras={},
            saved_at=0,
        )
        state_file.write(tmp_path, snapshot)
        loaded = state_file.load(tmp_path)
        assert loaded is not None
        for group, data in loaded.groups.items():
            state_backends.restore_group(group, data, OTHER_ACCOUNT)

        # Then the fresh account holds the same data
        table = get_backend("dynamodb")[OTHER_ACCOUNT][REGION].get_table(d.TABLE_NAMES["config"])
        names = {item.attrs["name"].value for item in table.all_items()}
        assert f"kept-{mark}" in names
        bucket = get_backend("s3")[OTHER_ACCOUNT]["aws"].get_bucket(d.LOCAL_DATA_BUCKET)
        assert bucket.keys[f"kept/{mark}.txt"].value == b"kept bytes"
        secret = get_backend("secretsmanager")[OTHER_ACCOUNT][REGION].get_secret_value(
            f"switchyard/kept/{mark}", None, None
        )
        assert json.loads(secret["SecretString"]) == {"token": mark}
        schedule = get_backend("scheduler")[OTHER_ACCOUNT][REGION].get_schedule(None, f"kept-{mark}")
        # (a rate counts from its creation: kept, not the time of the restore)
        assert abs(schedule.creation_date - created.timestamp()) < 1
    finally:
        scheduler.delete_schedule(Name=f"kept-{mark}")


def test_restoring_keeps_what_the_new_deployment_added(runtime: LocalRuntime, deps: Deps) -> None:
    # Given a snapshot of the tables taken before a table was added to the code
    data = state_backends.capture("dynamodb", ACCOUNT)
    fresh = get_backend("dynamodb")[OTHER_ACCOUNT + "1"][REGION]
    fresh.tables.clear()
    from moto.dynamodb.models import Table

    fresh.tables["added-since"] = Table(
        "added-since",
        account_id=OTHER_ACCOUNT + "1",
        region=REGION,
        schema=[{"AttributeName": "k", "KeyType": "HASH"}],
        attr=[{"AttributeName": "k", "AttributeType": "S"}],
    )
    # When the snapshot is restored over that deployment
    state_backends.restore("dynamodb", data, OTHER_ACCOUNT + "1")
    # Then both the kept tables and the new one are there
    restored = get_backend("dynamodb")[OTHER_ACCOUNT + "1"][REGION]
    assert "added-since" in restored.tables
    assert d.TABLE_NAMES["workflows"] in restored.tables


def test_a_schedule_due_many_times_while_down_fires_once_when_the_clock_resumes(
    runtime: LocalRuntime,
) -> None:
    sqs = boto3.client("sqs", region_name=REGION)
    queue = sqs.create_queue(QueueName=f"catch-up-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    name = f"every-minute-{uuid.uuid4().hex[:8]}"
    scheduler = boto3.client("scheduler", region_name=REGION)
    scheduler.create_schedule(
        Name=name,
        ScheduleExpression="cron(* * * * ? *)",
        FlexibleTimeWindow={"Mode": "OFF"},
        Target={"Arn": arn, "RoleArn": "arn:aws:iam::123456789012:role/x", "Input": "{}"},
    )
    try:
        # Given a clock that ticked at 10:00 and was then stopped, its memory kept
        stopped_at = datetime(2030, 1, 15, 10, 0, tzinfo=UTC)
        before = SchedulerClock(REGION, start_at=stopped_at - timedelta(seconds=1))
        assert [f.at for f in before.tick(stopped_at) if f.name == name] == [stopped_at]
        kept = before.state()
        # When a new clock resumes from it three hours later (180 fire times missed)
        back_at = stopped_at + timedelta(hours=3, seconds=20)
        after = SchedulerClock(REGION, start_at=back_at)
        after.resume(kept)
        caught_up = [f for f in after.tick(back_at) if f.name == name]
        # Then the schedule fires once, at its latest missed time
        assert [f.at for f in caught_up] == [stopped_at + timedelta(hours=3)]
        assert caught_up[0].ok
        # and then on as usual, every minute
        assert [f.at for f in after.tick(back_at + timedelta(minutes=1)) if f.name == name] == [
            stopped_at + timedelta(hours=3, minutes=1)
        ]
    finally:
        scheduler.delete_schedule(Name=name)
        sqs.delete_queue(QueueUrl=queue)


def test_copying_only_the_items_written_keeps_the_same_tables_as_copying_all(
    runtime: LocalRuntime, deps: Deps
) -> None:
    # Given a full copy of the tables, and the calls watched from then on
    copy = state_backends.DynamoDBCopy(ACCOUNT)
    copy.refresh(None)
    tracker = state_tracking.Tracker()
    uninstall = state_tracking.install(tracker)
    mark = uuid.uuid4().hex[:8]
    try:
        # When items are put, updated, batch-written, written in a transaction and deleted
        for i in range(5):
            deps.config.put("courier", f"inc-{mark}-{i}", {"name": f"inc-{mark}-{i}", "n": i})
        deps.config.put("courier", f"inc-{mark}-0", {"name": f"inc-{mark}-0", "n": 100})
        run = runtime_run(deps, mark)
        deps.workflows.add_task_warning(run, "t-0", "changed in place")  # UpdateItem
        ddb = boto3.client("dynamodb", region_name=REGION)
        ddb.delete_item(
            TableName=d.TABLE_NAMES["config"], Key={"kind": {"S": "courier"}, "name": {"S": f"inc-{mark}-4"}}
        )
    finally:
        uninstall()
    # and only those items are copied again
    _, touched = tracker.take()
    assert touched is not None and len(touched) >= 8
    copy.refresh(touched)
    state_backends.restore_group("dynamodb", copy.data(), OTHER_ACCOUNT + "2")
    # Then the copy holds what the live tables hold, item for item
    live = get_backend("dynamodb")[ACCOUNT][REGION]
    kept = get_backend("dynamodb")[OTHER_ACCOUNT + "2"][REGION]
    for name in (d.TABLE_NAMES["config"], d.TABLE_NAMES["tasks"], d.TABLE_NAMES["workflows"]):
        want = {json.dumps(i.to_json(), sort_keys=True) for i in live.get_table(name).all_items()}
        got = {json.dumps(i.to_json(), sort_keys=True) for i in kept.get_table(name).all_items()}
        mine = {g for g in got if mark in g}
        assert mine and mine == {w for w in want if mark in w}, name


def runtime_run(deps: Deps, mark: str) -> str:
    """A recorded run with two tasks (a transaction and a batch write, as the engine writes them)."""
    from switchyard.domain.models import HistoryEntry, Mode, Stage, Task, Workflow, WorkflowStatus

    now = deps.clock()
    wid = f"inc-{mark}"
    deps.workflows.create(
        Workflow(
            id=wid,
            tenant="default",
            type="courier_group",
            name=f"inc-{mark}",
            status=WorkflowStatus.RUNNING,
            mode=Mode.PRODUCTION,
            started_by="test",
            started_at=now,
            history=[HistoryEntry(at=now, event="started", by="test")],
        )
    )
    tasks = [
        Task(id=f"t-{i}", name=f"task {i}", kind="courier", stage="Sources", position=i) for i in range(2)
    ]
    deps.workflows.record_plan(wid, [Stage(key="sources", name="Sources", tasks=tasks)])  # BatchWriteItem
    deps.workflows.begin_task(wid, "t-0", now)  # TransactWriteItems
    return wid


def test_a_snapshot_after_a_write_holds_it_and_keeps_the_previous_one(
    runtime: LocalRuntime, deps: Deps, tmp_path: Path
) -> None:
    tracker = state_tracking.Tracker()
    uninstall = state_tracking.install(tracker)
    try:
        snapshots = state.Snapshotter(tmp_path, tracker, ACCOUNT, extras=lambda: {"note": "kept"})
        # Given a first snapshot
        assert snapshots.snapshot() is True
        first = (tmp_path / state_file.FILE).read_bytes()
        # When an item is written, Then the next snapshot has it, and the previous one is kept
        mark = uuid.uuid4().hex[:8]
        deps.config.put("courier", f"snap-{mark}", {"name": f"snap-{mark}"})
        assert snapshots.snapshot() is True
        assert (tmp_path / state_file.PREVIOUS).read_bytes() == first
        loaded = state_file.load(tmp_path)
        assert loaded is not None and loaded.extras == {"note": "kept"}
        state_backends.restore_group("dynamodb", loaded.groups["dynamodb"], OTHER_ACCOUNT + "3")
        table = get_backend("dynamodb")[OTHER_ACCOUNT + "3"][REGION].get_table(d.TABLE_NAMES["config"])
        assert f"snap-{mark}" in {i.attrs["name"].value for i in table.all_items()}
        assert snapshots.stats.last_copy_ms > 0
    finally:
        uninstall()
