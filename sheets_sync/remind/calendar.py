"""The office calendar reminders follow: Saturdays, Sundays, Indonesian public
holidays and cuti bersama are not working days.

Holidays come from the `holidays` package (country ID, its `public` and
`government` categories: the national holidays and the cuti bersama of the
joint ministerial decree), plus the extra days off an installation lists in its
settings (`reminders.cuti_bersama`), e.g. a regional holiday or a cuti bersama
decreed after the package was released. Pure: the package ships its tables,
nothing is fetched. The only module that imports `holidays`.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from functools import lru_cache

import holidays

WEEKEND = {5: "Sabtu", 6: "Minggu"}
EXTRA = "cuti bersama (pengaturan)"
_MAX_SHIFT = 60     # no run of days off is this long; a guard against a loop


class OfficeCalendar:
    """Working days of an Indonesian government office."""

    def __init__(self, days_off: Iterable[dt.date] = (), *, weekend: Iterable[int] = tuple(WEEKEND),
                 national: bool = True):
        self.days_off = tuple(sorted(set(days_off)))
        self.extra = set(self.days_off)
        self.weekend = frozenset(weekend)       # weekday numbers, Monday 0
        self.national = national                # the holidays package's days off

    def closed(self, day: dt.date) -> str:
        """Why `day` is not a working day ("Minggu", "Hari Kemerdekaan Republik
        Indonesia", ...), or "" for a working day."""
        if day in self.extra:
            return EXTRA
        holiday = _holidays(day.year).get(day) if self.national else None
        if holiday:
            return str(holiday)
        return WEEKEND[day.weekday()] if day.weekday() in self.weekend else ""

    def is_workday(self, day: dt.date) -> bool:
        return not self.closed(day)

    def on_or_before(self, day: dt.date) -> dt.date:
        """`day` if it is a working day, else the working day before it."""
        return self._walk(day, -1)

    def on_or_after(self, day: dt.date) -> dt.date:
        """`day` if it is a working day, else the working day after it."""
        return self._walk(day, 1)

    def _walk(self, day: dt.date, step: int) -> dt.date:
        start = day
        while self.closed(day):
            day += dt.timedelta(days=step)
            if abs((day - start).days) > _MAX_SHIFT:
                return start
        return day


@lru_cache(maxsize=16)
def _holidays(year: int) -> dict:
    table = holidays.country_holidays("ID", years=year, language="id", categories=("public", "government"))
    return dict(table.items())


@lru_cache(maxsize=8)
def office_calendar(days_off: tuple[dt.date, ...] = ()) -> OfficeCalendar:
    return OfficeCalendar(days_off)
