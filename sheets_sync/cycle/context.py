"""One cycle's surroundings: settings, forms, the store, the state database, the
reporting date and the clock, opened together and closed together.

    with open_cycle(settings, as_of=day) as cycle:
        report = run_cycle(cycle)

Every runner (jobs.py, the CLI, tests, benchmarks) opens a cycle this way, so the
state database is always closed, also when the cycle raises.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Callable

from sheets_sync.config import WIB, Settings, today_wib
from sheets_sync.cycle.rollover import refuse_if_pending
from sheets_sync.cycle.state import State
from sheets_sync.forms import FormSet, forms_for
from sheets_sync.stores import Store


def wib_now() -> dt.datetime:
    return dt.datetime.now(WIB)


@dataclass
class Context:
    settings: Settings
    forms: FormSet
    store: Store
    state: State
    as_of: dt.date                 # the reporting date verdicts are computed for
    today: dt.date                 # the calendar day (reminders); as_of may be frozen by settings
    now: Callable[[], dt.datetime] = wib_now
    hooks: list = field(default_factory=list)     # called with (ctx, reports) after a cycle

    def close(self) -> None:
        self.state.close()

    def __enter__(self) -> "Context":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def make_store(settings: Settings, forms: FormSet) -> Store:
    if settings.backend == "google":
        from sheets_sync.stores.google import GoogleStore  # only this module imports gspread
        return GoogleStore(settings, forms)
    from sheets_sync.stores.xlsx import XlsxStore
    return XlsxStore(settings.data_dir, forms, settings.master, settings.limits,
                     address=settings.file_address, lock_hours=settings.lock_hours)


def open_cycle(settings: Settings, as_of: dt.date | None = None, *, store: Store | None = None,
               now: Callable[[], dt.datetime] | dt.datetime | None = None, hooks=(),
               forms: FormSet | None = None) -> Context:
    """A Context to use in a `with` block. as_of: the day the cycle runs for (default
    today, WIB; the settings' tanggal_laporan freezes the reporting date); now: a
    clock, or one fixed moment (tests)."""
    refuse_if_pending(settings)       # RolloverPending: `season new` must finish first
    forms = forms or forms_for(settings)
    today = as_of or today_wib()
    clock = now if callable(now) else (wib_now if now is None else (lambda: now))
    state = State(settings.state_db)
    try:
        store = store or make_store(settings, forms)
    except BaseException:
        state.close()
        raise
    return Context(settings, forms, store, state, as_of or settings.report_date or today, today,
                   clock, list(hooks))


def stamp(t: dt.datetime) -> str:
    return t.astimezone(WIB).strftime("%d/%m/%Y %H:%M WIB")
