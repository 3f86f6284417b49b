"""A store test double: wraps a real store (xlsx or Google on the emulator) and
lets a test act at the moments that matter (a person typing while the worker reads,
a write that fails) through the public Store protocol, instead of patching a
backend's methods."""
from __future__ import annotations

from sheets_sync.stores import StoreError


class ObservedStore:
    """Delegates every Store call to `inner`; `after_read(opd)` runs after each
    read_workbook, `before_write(opd)` before each write_cells; `fail_read` is a set of
    OPD codes whose reads raise the given StoreError."""

    def __init__(self, inner, *, after_read=None, before_write=None, fail_read: dict | None = None):
        self.inner, self.after_read, self.before_write = inner, after_read, before_write
        self.fail_read = fail_read or {}
        self.reads: list[str] = []
        self.writes: list[str] = []

    def __getattr__(self, name):        # name, parallel, link, revisions, stale, master_... as the real one
        return getattr(self.inner, name)

    def read_workbook(self, opd):
        self.reads.append(opd.code)
        if opd.code in self.fail_read:
            raise StoreError(self.fail_read[opd.code])
        wb = self.inner.read_workbook(opd)
        if self.after_read:
            self.after_read(opd)
        return wb

    def write_cells(self, opd, wb, writes):
        self.writes.append(opd.code)
        if self.before_write:
            self.before_write(opd)
        return self.inner.write_cells(opd, wb, writes)
