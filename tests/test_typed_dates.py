"""Dates as Indonesian staff type them: weekday in front, time behind, month names,
year first, spaces; all the same day, and impossible ones still named."""
from __future__ import annotations

import datetime as dt

import pytest

from sheets_sync.validate.fields import parse_date

DAY = dt.date(2023, 10, 13)


@pytest.mark.parametrize("typed", [
    "Senin, 13 Oktober 2023", "Jumat 13-10-2023", "13 Oktober 2023 pukul 10.00",
    "13 Oktober 2023, pukul 10.00 WIB", "13-Okt-2023", "13-Oct-23", "13 okt. 2023",
    "Oktober 13, 2023", "October 13 2023", "2023/10/13", "2023-10-13 00:00:00", "2023.10.13",
    "13 10 2023", "13/10/23", "\u202a13-10-2023\u202c", "  13 / 10 / 2023 ",
])
def test_the_same_day_however_it_is_typed(typed):
    assert parse_date(typed).value == DAY


@pytest.mark.parametrize("typed,code", [
    ("31/09/2023", "DATE_IMPOSSIBLE"), ("10/13/2023", "DATE_IMPOSSIBLE"),  # US order: month 13
    ("13 Oktober", "DATE_NO_YEAR"), ("2023", "DATE_INCOMPLETE"), ("kemarin", "DATE_INVALID"), ("13 Okto 2023", "DATE_INVALID"),
])
def test_what_is_not_a_date_is_named(typed, code):
    assert parse_date(typed).code == code
