"""Prioritization rules: the order of the queue, queue time, maintenance windows, the settings."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from switchyard.domain.errors import ValidationFailed
from switchyard.domain.interactions.design import InteractionWorkflow
from switchyard.domain.interactions.priority import (
    PrioritySettings,
    Waiter,
    ahead_of,
    may_take_slot,
    parse_settings,
    queued_seconds,
)

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def test_urgent_goes_before_normal_before_low_then_first_come_first_served() -> None:
    low = Waiter("low", "low", at(0))
    normal_early = Waiter("normal-early", "normal", at(1))
    normal_late = Waiter("normal-late", "normal", at(2))
    urgent = Waiter("urgent", "urgent", at(3))
    everyone = [low, normal_late, urgent, normal_early]
    order = sorted(everyone, key=Waiter.key)
    assert [w.task_id for w in order] == ["urgent", "normal-early", "normal-late", "low"]
    assert ahead_of(urgent, everyone) == 0
    assert ahead_of(normal_late, everyone) == 2
    assert ahead_of(low, everyone) == 3


def test_an_activity_starts_only_when_a_slot_is_free_for_it_and_every_better_waiter() -> None:
    urgent = Waiter("urgent", "urgent", at(5))
    normal = Waiter("normal", "normal", at(0))
    waiters = [urgent, normal]
    # no free slot: nobody starts
    assert not may_take_slot(urgent, waiters, 0)
    # one free slot: the urgent one, though it came later
    assert may_take_slot(urgent, waiters, 1)
    assert not may_take_slot(normal, waiters, 1)
    # two free slots: both
    assert may_take_slot(normal, waiters, 2)
    # a newcomer with nobody ahead takes a free slot at once
    assert may_take_slot(Waiter("new", "low", at(9)), [], 1)


def test_maintenance_and_its_buffer_do_not_count_as_queue_time() -> None:
    settings = PrioritySettings(
        maintenance_windows=[{"start": at(30), "end": at(60)}],  # type: ignore[list-item]
        maintenance_buffer_minutes=10,
    )
    held = settings.held_periods()
    assert held == [(at(20), at(60))]
    assert queued_seconds(at(0), at(15), held) == 15 * 60
    assert queued_seconds(at(0), at(40), held) == 20 * 60  # 20:00 to 40:00 held
    assert queued_seconds(at(0), at(70), held) == 30 * 60
    assert queued_seconds(at(25), at(50), held) == 0
    # overlapping windows are not subtracted twice
    assert queued_seconds(at(0), at(70), [(at(10), at(30)), (at(20), at(40))]) == 40 * 60


def test_nothing_starts_within_the_buffer_before_a_window_or_during_it() -> None:
    settings = PrioritySettings(
        maintenance_windows=[{"start": at(30), "end": at(60), "reason": "warehouse upgrade"}],  # type: ignore[list-item]
        maintenance_buffer_minutes=15,
    )
    assert settings.maintenance_at(at(14)) is None
    assert settings.maintenance_at(at(15)) is not None  # the buffer
    window = settings.maintenance_at(at(59))
    assert window is not None and window.reason == "warehouse upgrade"
    assert settings.maintenance_at(at(60)) is None


def test_settings_default_and_bad_settings_say_what_to_fix() -> None:
    assert parse_settings({}).model_dump() == {
        "max_concurrent_activities": 20,
        "max_queue_minutes": 240,
        "urgent_deadline_minutes": 30,
        "maintenance_windows": [],
        "maintenance_buffer_minutes": 15,
    }
    with pytest.raises(ValidationFailed) as raised:
        parse_settings(
            {
                "max_concurrent_activities": 0,
                "maintenance_windows": [{"start": "2026-11-24T04:00:00Z", "end": "2026-11-24T02:00:00Z"}],
                "queue": 3,
            }
        )
    paths = [p["path"] for p in raised.value.details["problems"]]
    assert paths == ["max_concurrent_activities", "maintenance_windows.0", "queue"]
    assert "'end' must be after 'start'" in raised.value.message
    with pytest.raises(ValidationFailed) as naive:
        parse_settings(
            {"maintenance_windows": [{"start": "2026-11-24T02:00:00", "end": "2026-11-24T04:00:00"}]}
        )
    assert "UTC offset" in naive.value.message


def test_a_workflow_is_normal_by_default_and_may_be_urgent_or_low_with_its_own_queue_time() -> None:
    base = {"key": "main", "name": "Main", "branches": [[{"type": "batch_audience", "name": "All"}]]}
    assert InteractionWorkflow.model_validate(base).priority == "normal"
    urgent = InteractionWorkflow.model_validate({**base, "priority": "urgent", "max_queue_minutes": 5})
    assert (urgent.priority, urgent.max_queue_minutes) == ("urgent", 5)
    with pytest.raises(ValueError):
        InteractionWorkflow.model_validate({**base, "priority": "high"})
    with pytest.raises(ValueError):
        InteractionWorkflow.model_validate({**base, "max_queue_minutes": 0})
