"""The retry ladder of a fire that cannot start an instance: one pure function of the attempt."""

from __future__ import annotations

from datetime import timedelta

from switchyard.domain.interactions.triggers import RETRY_LADDER, retry_offset


def test_the_ladder_is_every_10_s_for_a_minute_every_minute_for_9_then_every_10_for_50() -> None:
    offsets = [retry_offset(n) for n in range(1, 21)]
    seconds = [int(o.total_seconds()) for o in offsets if o is not None]
    assert seconds == [
        10, 20, 30, 40, 50, 60,  # every 10 s for 1 minute
        120, 180, 240, 300, 360, 420, 480, 540, 600,  # every minute for 9 minutes
        1200, 1800, 2400, 3000, 3600,  # every 10 minutes for 50 minutes
    ]  # fmt: skip
    assert list(RETRY_LADDER) == offsets


def test_after_the_last_step_the_fire_is_given_up() -> None:
    assert retry_offset(20) == timedelta(hours=1)
    assert retry_offset(21) is None
    assert retry_offset(0) is None
