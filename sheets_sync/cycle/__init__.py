"""One cycle over the registry.

    context.py  open_cycle(): settings, forms, store, state and clock, closed together
    run.py      run_cycle(): registry -> changed workbooks -> validate -> write statuses
                -> compile the master -> hooks (reminders) -> record the run
    writes.py   the write plan: which status cells must change
    state.py    the worker's memory (SQLite)
    cross_cache.py  cross-OPD duplicates kept between cycles under a hash of their inputs
"""
from sheets_sync.cycle.context import Context, open_cycle
from sheets_sync.cycle.run import CycleReport, run_cycle

__all__ = ["Context", "CycleReport", "open_cycle", "run_cycle"]
