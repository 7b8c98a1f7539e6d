"""Calendar of a run: step t happens at start + t step lengths (step 0 is the initial state)."""

from __future__ import annotations

import bisect
import calendar
import datetime as dt

STEP_UNITS = ("day", "week", "month")


def add_months(day: dt.date, months: int) -> dt.date:
    """The same day-of-month `months` later, clamped to the month's last day."""
    total = day.year * 12 + day.month - 1 + months
    year, month = divmod(total, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return dt.date(year, month + 1, min(day.day, last))


def step_dates(start: dt.date, unit: str, steps: int) -> tuple[dt.date, ...]:
    """Dates of steps 0..steps inclusive."""
    if unit == "day":
        return tuple(start + dt.timedelta(days=t) for t in range(steps + 1))
    if unit == "week":
        return tuple(start + dt.timedelta(weeks=t) for t in range(steps + 1))
    if unit == "month":
        return tuple(add_months(start, t) for t in range(steps + 1))
    raise ValueError(f"unknown step unit {unit!r}")


def last_date(start: dt.date, unit: str, steps: int) -> dt.date:
    """The date of the last step; OverflowError or ValueError past the year 9999."""
    if unit == "month":
        return add_months(start, steps)
    return start + dt.timedelta(days=steps if unit == "day" else 7 * steps)


def step_of_date(dates: tuple[dt.date, ...], day: dt.date) -> int:
    """The first step whose date is on or after `day` (events on the start date fall in step 1)."""
    return max(1, bisect.bisect_left(dates, day))
