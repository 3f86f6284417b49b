"""A store test double: wraps a real store (xlsx or Google on the emulator) and
lets a test act at the moments that matter (a person typing while the worker reads,
a write that fails) through the public Store protocol, instead of patching a
backend's methods."""
from __future__ import annotations

from sheets_sync.stores import StoreError


class ObservedStore:
    """Delegates every Store call to `inner`; `after_read(opd)` runs after each
    read_workbook, `before_write(opd)` before each write_cells; `transform_read(opd, wb)`
    returns the workbook the cycle gets instead of the one read. `fail_read` and
    `fail_write` map OPD codes to what their read / write raises instead: a Problem
    (as the StoreError a backend raises) or any exception (a fault nobody planned for)."""

    def __init__(self, inner, *, after_read=None, before_write=None, fail_read: dict | None = None,
                 fail_write: dict | None = None, transform_read=None):
        self.inner, self.after_read, self.before_write = inner, after_read, before_write
        self.transform_read = transform_read
        self.fail_read = fail_read or {}
        self.fail_write = fail_write or {}
        self.reads: list[str] = []
        self.writes: list[str] = []

    def __getattr__(self, name):        # name, parallel, link, revisions, stale, master_... as the real one
        return getattr(self.inner, name)

    def read_workbook(self, opd):
        self.reads.append(opd.code)
        if opd.code in self.fail_read:
            raise _error(self.fail_read[opd.code])
        wb = self.inner.read_workbook(opd)
        if self.after_read:
            self.after_read(opd)
        return self.transform_read(opd, wb) if self.transform_read else wb

    def write_cells(self, opd, wb, writes):
        self.writes.append(opd.code)
        if self.before_write:
            self.before_write(opd)
        if opd.code in self.fail_write:
            raise _error(self.fail_write[opd.code])
        return self.inner.write_cells(opd, wb, writes)


def _error(what) -> BaseException:
    return what if isinstance(what, BaseException) else StoreError(what)
