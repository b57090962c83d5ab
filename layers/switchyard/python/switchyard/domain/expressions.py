"""EventBridge Scheduler expressions: ``at(...)``, ``rate(...)`` and ``cron(...)``, and when they fire.

The same rules as EventBridge Scheduler, so that what the API accepts, what the local clock fires
and what AWS fires agree:

* ``at(yyyy-mm-ddThh:mm:ss)``: once, at that wall-clock time in the schedule's time zone;
* ``rate(value unit)``: every ``value`` minutes, hours or days (1 takes the singular unit), from
  the schedule's start (its StartDate, else when it was created); a day is 24 hours, whatever the
  time zone;
* ``cron(minutes hours day-of-month month day-of-week year)``: six fields, evaluated in the
  schedule's time zone. Day-of-week counts 1 (SUN) to 7 (SAT). One of day-of-month and
  day-of-week must be ``?``. Wildcards ``* , - /``, ``L`` (last day of the month; ``5L`` the
  last Thursday), ``W`` (``15W`` the weekday nearest the 15th, ``LW`` the last weekday) and
  ``#`` (``2#1`` the first Monday).

Daylight saving time, as EventBridge Scheduler handles it: a wall-clock time that does not exist
(the hour skipped in spring) is skipped; a time that happens twice (the hour repeated in autumn)
fires once, at its first occurrence.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from switchyard.domain.errors import ValidationFailed

EXPRESSION_HELP = (
    "Use at(yyyy-mm-ddThh:mm:ss) for one run, rate(value unit) with a unit of minute(s), hour(s) "
    "or day(s), e.g. rate(15 minutes), or cron(minutes hours day-of-month month day-of-week year), "
    "e.g. cron(0 6 * * ? *) for 06:00 every day or cron(30 22 ? * MON-FRI *) for 22:30 on weekdays."
)
CRON_HELP = (
    "A cron expression has six fields: cron(minutes hours day-of-month month day-of-week year), "
    "and one of day-of-month and day-of-week must be '?'; e.g. cron(0 6 * * ? *)."
)
LAST_YEAR = 2199
MONTHS = {name: i for i, name in enumerate(calendar.month_abbr) if name}  # Jan -> 1
MONTH_NAMES = {name.upper(): i for name, i in MONTHS.items()}
DAY_NAMES = {"SUN": 1, "MON": 2, "TUE": 3, "WED": 4, "THU": 5, "FRI": 6, "SAT": 7}
RATE_UNITS = {"minute": 60, "hour": 3600, "day": 86400}


class InvalidExpression(ValidationFailed):
    code = "invalid_expression"


class InvalidTimezone(ValidationFailed):
    code = "invalid_timezone"


@lru_cache(maxsize=1)
def _zones() -> frozenset[str]:
    return frozenset(available_timezones() | {"UTC"})


def zone(name: str) -> ZoneInfo:
    """The IANA time zone ``name`` (e.g. ``Europe/Paris``), or a 400 saying what is accepted."""
    if name not in _zones():
        raise InvalidTimezone(
            f"Unknown time zone {name!r}. Use an IANA time zone name such as 'UTC', 'Europe/Paris' "
            "or 'America/New_York'.",
            {"field": "timezone", "timezone": name},
        )
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):  # pragma: no cover - listed zones load
        raise InvalidTimezone(f"Unknown time zone {name!r}.", {"field": "timezone"}) from None


def _bad(message: str, expression: str, help_text: str = EXPRESSION_HELP) -> InvalidExpression:
    return InvalidExpression(f"{message} {help_text}", {"field": "expression", "expression": expression})


# --- the three kinds -----------------------------------------------------------------------------


@dataclass(frozen=True)
class At:
    when: datetime  # naive wall-clock time in the schedule's zone

    def fire_time(self, tz: ZoneInfo) -> datetime | None:
        """The one fire time (UTC); None when it falls in a daylight-saving gap."""
        return _localize(self.when, tz)

    def next_after(self, after: datetime, tz: ZoneInfo, anchor: datetime | None = None) -> datetime | None:
        fire = _localize(self.when, tz)
        if fire is None:  # in a daylight-saving gap: skipped
            return None
        return fire if fire > after else None


@dataclass(frozen=True)
class Rate:
    seconds: int

    def next_after(self, after: datetime, tz: ZoneInfo, anchor: datetime | None = None) -> datetime | None:
        """The first ``anchor + k * rate`` (k >= 0) after ``after``; the anchor is the schedule's start."""
        start = anchor or after
        if start > after:
            return start
        elapsed = (after - start).total_seconds()
        steps = int(elapsed // self.seconds) + 1
        return start + timedelta(seconds=steps * self.seconds)


@dataclass(frozen=True)
class Cron:
    minutes: tuple[int, ...]
    hours: tuple[int, ...]
    months: frozenset[int]
    years: frozenset[int]
    # day-of-month rule (when day-of-week is '?')
    days: frozenset[int] | None = None
    last_day: bool = False  # L
    last_weekday: bool = False  # LW
    nearest_weekday: frozenset[int] = frozenset()  # 15W
    # day-of-week rule (when day-of-month is '?'); 1 = Sunday ... 7 = Saturday
    weekdays: frozenset[int] | None = None
    last_of_weekday: frozenset[int] = frozenset()  # 5L: the last Thursday
    nth_weekday: frozenset[tuple[int, int]] = frozenset()  # 2#1: the first Monday

    def matches_day(self, day: date) -> bool:
        if day.month not in self.months or day.year not in self.years:
            return False
        if self.weekdays is None:
            last = calendar.monthrange(day.year, day.month)[1]
            if self.days is not None and day.day in self.days:
                return True
            if self.last_day and day.day == last:
                return True
            if self.last_weekday and day == _nearest_weekday(day.year, day.month, last):
                return True
            return any(
                day == _nearest_weekday(day.year, day.month, n) for n in self.nearest_weekday if n <= last
            )
        dow = day.isoweekday() % 7 + 1  # Sunday 1 ... Saturday 7
        if dow in self.weekdays:
            return True
        last = calendar.monthrange(day.year, day.month)[1]
        if dow in self.last_of_weekday and day.day + 7 > last:
            return True
        return (dow, (day.day - 1) // 7 + 1) in self.nth_weekday

    def next_after(self, after: datetime, tz: ZoneInfo, anchor: datetime | None = None) -> datetime | None:
        local = after.astimezone(tz)
        day = local.date()
        limit = date(min(max(self.years), LAST_YEAR), 12, 31)
        while day <= limit:
            if day.year not in self.years:
                day = date(day.year + 1, 1, 1)
                continue
            if day.month not in self.months:
                day = date(day.year + 1, 1, 1) if day.month == 12 else date(day.year, day.month + 1, 1)
                continue
            if self.matches_day(day):
                for hour in self.hours:
                    for minute in self.minutes:
                        fire = _localize(datetime(day.year, day.month, day.day, hour, minute), tz)
                        if fire is not None and fire > after:
                            return fire
            day += timedelta(days=1)
        return None


Expression = At | Rate | Cron


def _localize(wall: datetime, tz: ZoneInfo) -> datetime | None:
    """``wall`` in ``tz`` as a UTC time; None when the zone skips it; its first occurrence when repeated."""
    aware = wall.replace(tzinfo=tz, fold=0)
    utc = aware.astimezone(UTC)
    if utc.astimezone(tz).replace(tzinfo=None) != wall:
        return None
    return utc


def _nearest_weekday(year: int, month: int, day: int) -> date:
    """Quartz's ``W``: the Monday-to-Friday day nearest ``day``, without leaving the month."""
    target = date(year, month, day)
    weekday = target.weekday()  # Monday 0 ... Sunday 6
    last = calendar.monthrange(year, month)[1]
    if weekday == 5:  # Saturday: Friday, or Monday when the 1st is a Saturday
        return target - timedelta(days=1) if day > 1 else target + timedelta(days=2)
    if weekday == 6:  # Sunday: Monday, or Friday when it is the month's last day
        return target + timedelta(days=1) if day < last else target - timedelta(days=2)
    return target


# --- parsing -------------------------------------------------------------------------------------


def parse(expression: str) -> Expression:
    """Parse a schedule expression, or raise a 400 saying what a valid one looks like."""
    text = (expression or "").strip()
    match = re.fullmatch(r"(at|rate|cron)\((.*)\)", text)
    if match is None:
        raise _bad(f"{expression!r} is not a schedule expression.", expression)
    kind, body = match.group(1), match.group(2).strip()
    if kind == "at":
        try:
            when = datetime.strptime(body, "%Y-%m-%dT%H:%M:%S")
        except ValueError:
            raise _bad(
                f"{expression!r}: at() takes a date and time like 2030-01-31T06:00:00.", expression
            ) from None
        return At(when)
    if kind == "rate":
        return _parse_rate(body, expression)
    return _parse_cron(body, expression)


def _parse_rate(body: str, expression: str) -> Rate:
    parts = body.split()
    if len(parts) != 2 or not parts[0].isdigit() or int(parts[0]) < 1:
        raise _bad(f"{expression!r}: rate() takes a positive whole number and a unit.", expression)
    value, unit = int(parts[0]), parts[1]
    singular = unit.removesuffix("s")
    if singular not in RATE_UNITS:
        raise _bad(f"{expression!r}: the unit must be minute(s), hour(s) or day(s).", expression)
    if (value == 1) != (unit == singular):
        wanted = singular if value == 1 else singular + "s"
        raise _bad(f"{expression!r}: write rate({value} {wanted}).", expression)
    return Rate(value * RATE_UNITS[singular])


def _parse_cron(body: str, expression: str) -> Cron:
    fields = body.split()
    if len(fields) != 6:
        raise _bad(f"{expression!r} has {len(fields)} fields.", expression, CRON_HELP)
    minute_f, hour_f, dom_f, month_f, dow_f, year_f = fields
    if (dom_f == "?") == (dow_f == "?"):
        raise _bad(
            f"{expression!r}: exactly one of day-of-month and day-of-week must be '?'.", expression, CRON_HELP
        )
    try:
        cron = Cron(
            minutes=tuple(sorted(_values(minute_f, 0, 59, "minutes"))),
            hours=tuple(sorted(_values(hour_f, 0, 23, "hours"))),
            months=frozenset(_values(month_f, 1, 12, "month", MONTH_NAMES)),
            years=frozenset(_values(year_f, 1970, LAST_YEAR, "year")),
            **(_day_of_month(dom_f) if dow_f == "?" else _day_of_week(dow_f)),
        )
    except ValueError as exc:
        raise _bad(f"{expression!r}: {exc}.", expression, CRON_HELP) from None
    return cron


def _number(text: str, lo: int, hi: int, what: str, names: dict[str, int] | None) -> int:
    if names and text.upper() in names:
        return names[text.upper()]
    if not text.isdigit():
        raise ValueError(f"{what} has {text!r}, not a number from {lo} to {hi}")
    value = int(text)
    if not lo <= value <= hi:
        raise ValueError(f"{what} has {value}, outside {lo}-{hi}")
    return value


def _values(field: str, lo: int, hi: int, what: str, names: dict[str, int] | None = None) -> set[int]:
    """``*``, ``5``, ``1-5``, ``*/15``, ``10/5``, ``1-30/2`` and comma lists of them."""
    out: set[int] = set()
    for part in field.split(","):
        base, _, step_text = part.partition("/")
        step = 1
        if step_text:
            if not step_text.isdigit() or int(step_text) < 1:
                raise ValueError(f"{what} has the step {step_text!r}; a step is a positive number")
            step = int(step_text)
        if base == "*":
            start, end = lo, hi
        elif "-" in base:
            a, _, b = base.partition("-")
            start, end = _number(a, lo, hi, what, names), _number(b, lo, hi, what, names)
            if start > end:
                raise ValueError(f"{what} has the range {base!r}, which runs backwards")
        else:
            start = _number(base, lo, hi, what, names)
            end = hi if step_text else start
        out.update(range(start, end + 1, step))
    return out


def _day_of_month(field: str) -> dict[str, Any]:
    days: set[int] = set()
    rules: dict[str, Any] = {"last_day": False, "last_weekday": False}
    nearest: set[int] = set()
    for part in field.split(","):
        upper = part.upper()
        if upper == "L":
            rules["last_day"] = True
        elif upper == "LW":
            rules["last_weekday"] = True
        elif upper.endswith("W"):
            nearest.add(_number(upper[:-1], 1, 31, "day-of-month", None))
        else:
            days.update(_values(part, 1, 31, "day-of-month"))
    return {**rules, "days": frozenset(days), "nearest_weekday": frozenset(nearest)}


def _day_of_week(field: str) -> dict[str, Any]:
    weekdays: set[int] = set()
    last_of: set[int] = set()
    nth: set[tuple[int, int]] = set()
    for part in field.split(","):
        upper = part.upper()
        if upper == "L":
            weekdays.add(7)  # the last day of the week: Saturday
        elif "#" in upper:
            dow, _, n = upper.partition("#")
            if not n.isdigit() or not 1 <= int(n) <= 5:
                raise ValueError(f"day-of-week has {part!r}; after '#' comes 1 to 5 (the 1st to 5th)")
            nth.add((_number(dow, 1, 7, "day-of-week", DAY_NAMES), int(n)))
        elif upper.endswith("L") and len(upper) > 1:
            last_of.add(_number(upper[:-1], 1, 7, "day-of-week", DAY_NAMES))
        else:
            weekdays.update(_values(upper, 1, 7, "day-of-week", DAY_NAMES))
    return {
        "weekdays": frozenset(weekdays),
        "last_of_weekday": frozenset(last_of),
        "nth_weekday": frozenset(nth),
    }


# --- helpers for callers -------------------------------------------------------------------------


def validate(expression: str, timezone: str) -> Expression:
    """Both checked, or a 400 naming the one to fix."""
    zone(timezone)
    return parse(expression)


def next_fire(
    expression: str, timezone: str, after: datetime, anchor: datetime | None = None
) -> datetime | None:
    """When ``expression`` fires next after ``after`` (UTC), or None when it never will."""
    return parse(expression).next_after(after.astimezone(UTC), zone(timezone), anchor)
