"""Schedule expressions: what EventBridge Scheduler accepts, and when each one fires."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from switchyard.domain.errors import ValidationFailed
from switchyard.domain.expressions import InvalidExpression, InvalidTimezone, next_fire, parse, zone


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


def fires(expression: str, timezone: str, after: datetime, count: int) -> list[datetime]:
    out: list[datetime] = []
    for _ in range(count):
        when = next_fire(expression, timezone, after)
        assert when is not None
        out.append(when)
        after = when
    return out


# --- cron ----------------------------------------------------------------------------------------


def test_a_daily_cron_fires_at_the_wall_clock_time_of_its_zone() -> None:
    # Given 06:00 every day in Paris (UTC+1 in winter, UTC+2 in summer)
    # Then it fires at 05:00 UTC in January and 04:00 UTC in July
    assert next_fire("cron(0 6 * * ? *)", "Europe/Paris", utc(2026, 1, 10, 12)) == utc(2026, 1, 11, 5)
    assert next_fire("cron(0 6 * * ? *)", "Europe/Paris", utc(2026, 7, 10, 12)) == utc(2026, 7, 11, 4)


def test_a_time_skipped_by_daylight_saving_does_not_fire_that_day() -> None:
    # London skips 01:00-02:00 on 2026-03-29: a 01:30 schedule fires on the 28th, then the 30th
    days = fires("cron(30 1 * * ? *)", "Europe/London", utc(2026, 3, 27, 12), 3)
    assert days == [utc(2026, 3, 28, 1, 30), utc(2026, 3, 30, 0, 30), utc(2026, 3, 31, 0, 30)]


def test_a_time_repeated_by_daylight_saving_fires_once_at_its_first_occurrence() -> None:
    # New York repeats 01:00-02:00 on 2026-11-01: 01:30 EDT (05:30 UTC) fires, 01:30 EST does not
    days = fires("cron(30 1 * * ? *)", "America/New_York", utc(2026, 10, 31, 12), 2)
    assert days == [utc(2026, 11, 1, 5, 30), utc(2026, 11, 2, 6, 30)]


def test_every_fifteen_minutes_on_weekday_office_hours() -> None:
    # 2026-01-09 is a Friday: after its last slot (17:45) comes Monday 08:00
    expression = "cron(0/15 8-17 ? * MON-FRI *)"
    assert next_fire(expression, "UTC", utc(2026, 1, 9, 17, 44)) == utc(2026, 1, 9, 17, 45)
    assert next_fire(expression, "UTC", utc(2026, 1, 9, 17, 45)) == utc(2026, 1, 12, 8, 0)


@pytest.mark.parametrize(
    ("expression", "after", "expected"),
    [
        ("cron(0 10 L * ? *)", utc(2026, 2, 1), utc(2026, 2, 28, 10)),  # last day of the month
        ("cron(0 10 LW * ? *)", utc(2026, 5, 1), utc(2026, 5, 29, 10)),  # last weekday: 31st is a Sunday
        ("cron(0 10 15W * ? *)", utc(2026, 3, 1), utc(2026, 3, 16, 10)),  # 15th is a Sunday: Monday
        ("cron(0 10 1W * ? *)", utc(2026, 8, 1), utc(2026, 8, 3, 10)),  # 1st a Saturday: Monday 3rd
        ("cron(0 10 ? * 2#1 *)", utc(2026, 6, 2), utc(2026, 7, 6, 10)),  # first Monday
        ("cron(0 10 ? * 6L *)", utc(2026, 1, 1), utc(2026, 1, 30, 10)),  # last Friday
        ("cron(0 10 ? * 1 *)", utc(2026, 1, 1), utc(2026, 1, 4, 10)),  # 1 is Sunday
        ("cron(0 10 ? * SAT *)", utc(2026, 1, 1), utc(2026, 1, 3, 10)),
        ("cron(0 0 1 JAN,JUL ? *)", utc(2026, 1, 2), utc(2026, 7, 1)),
        ("cron(0 0 29 2 ? *)", utc(2026, 1, 1), utc(2028, 2, 29)),  # the next leap day
        ("cron(0 12 * * ? 2027)", utc(2026, 6, 1), utc(2027, 1, 1, 12)),
    ],
)
def test_cron_wildcards(expression: str, after: datetime, expected: datetime) -> None:
    assert next_fire(expression, "UTC", after) == expected


def test_a_cron_limited_to_past_years_never_fires_again() -> None:
    assert next_fire("cron(0 12 * * ? 2020)", "UTC", utc(2026, 1, 1)) is None


# --- rate and at ---------------------------------------------------------------------------------


def test_a_rate_counts_from_its_start_and_a_day_is_24_hours_across_daylight_saving() -> None:
    start = utc(2026, 3, 28, 6)
    assert next_fire("rate(1 day)", "Europe/London", utc(2026, 3, 29, 7), anchor=start) == utc(2026, 3, 30, 6)
    assert next_fire("rate(15 minutes)", "UTC", start - timedelta(hours=1), anchor=start) == start
    assert next_fire("rate(15 minutes)", "UTC", start, anchor=start) == start + timedelta(minutes=15)


def test_at_fires_once_in_its_zone() -> None:
    expression = "at(2026-04-01T09:00:00)"
    assert next_fire(expression, "Asia/Tokyo", utc(2026, 3, 1)) == utc(2026, 4, 1, 0)
    assert next_fire(expression, "Asia/Tokyo", utc(2026, 4, 1, 0)) is None


# --- what is refused -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expression", "says"),
    [
        ("every day at six", "is not a schedule expression"),
        ("cron(0 6 * *)", "has 4 fields"),
        ("cron(0 6 * * * *)", "exactly one of day-of-month and day-of-week must be '?'"),
        ("cron(0 6 ? * ? *)", "exactly one of day-of-month and day-of-week must be '?'"),
        ("cron(0 24 * * ? *)", "hours has 24, outside 0-23"),
        ("cron(0 6 * 13 ? *)", "month has 13"),
        ("cron(0 6 ? * 8 *)", "day-of-week has 8"),
        ("cron(0 6 ? * MON#6 *)", "after '#' comes 1 to 5"),
        ("cron(0/0 6 * * ? *)", "a step is a positive number"),
        ("cron(0 9-5 * * ? *)", "runs backwards"),
        ("rate(0 minutes)", "positive whole number"),
        ("rate(1 minutes)", "write rate(1 minute)"),
        ("rate(5 minute)", "write rate(5 minutes)"),
        ("rate(5 weeks)", "minute(s), hour(s) or day(s)"),
        ("rate(5 Minutes)", "minute(s), hour(s) or day(s)"),
        ("at(2026-02-30T06:00:00)", "at() takes a date and time"),
        ("at(tomorrow)", "at() takes a date and time"),
    ],
)
def test_a_bad_expression_is_refused_with_what_a_good_one_looks_like(expression: str, says: str) -> None:
    with pytest.raises(InvalidExpression) as caught:
        parse(expression)
    assert says in caught.value.message
    assert isinstance(caught.value, ValidationFailed)  # a 400 through the API
    assert caught.value.details["field"] == "expression"
    # every message shows a valid example to copy
    assert "cron(0 6 * * ? *)" in caught.value.message


@pytest.mark.parametrize("name", ["Europe/Pariss", "CEST", "../../etc/passwd", ""])
def test_only_iana_time_zones_are_accepted(name: str) -> None:
    with pytest.raises(InvalidTimezone) as caught:
        zone(name)
    assert "IANA time zone" in caught.value.message


def test_utc_and_iana_zones_are_accepted() -> None:
    assert str(zone("UTC")) == "UTC"
    assert str(zone("Europe/Paris")) == "Europe/Paris"
