"""Progress of long loops (a cold cycle, provisioning, the export).

    for opd in progress(opds, len(opds), "membaca"):
        ...

On a terminal (stderr is a tty) a tqdm progress bar that disappears when the loop
ends; otherwise (systemd, cron, a pipe) plain log lines, at most one every
`every` seconds, so a short loop logs nothing and the journal is not flooded.
SHEETS_SYNC_PROGRESS=bar|log|off forces a mode.
"""
from __future__ import annotations

import logging
import os
import sys
import time
from typing import Iterable, Iterator, TypeVar

T = TypeVar("T")
log = logging.getLogger("sheets_sync.progress")


def mode(stream=None, tty: bool | None = None) -> str:
    """'bar', 'log' or 'off'."""
    forced = os.environ.get("SHEETS_SYNC_PROGRESS", "").strip().lower()
    if forced in ("bar", "log", "off"):
        return forced
    if tty is None:
        stream = stream if stream is not None else sys.stderr
        try:
            tty = bool(stream.isatty())
        except (AttributeError, ValueError):   # closed or not a file
            tty = False
    return "bar" if tty else "log"


def progress(iterable: Iterable[T], total: int | None = None, label: str = "", *, tty: bool | None = None,
             stream=None, every: float = 5.0, unit: str = "OPD") -> Iterator[T]:
    """Iterate over `iterable`, showing how far it got. `tty` forces terminal
    (True) or not (False); None looks at `stream` (default sys.stderr)."""
    if total is None:
        try:
            total = len(iterable)   # type: ignore[arg-type]
        except TypeError:
            total = None
    how = mode(stream, tty)
    if how == "bar":
        try:
            from tqdm import tqdm
        except ImportError:   # no tqdm: log lines will do
            how = "log"
        else:
            return iter(tqdm(iterable, total=total, desc=label or None, unit=unit, leave=False,
                             file=stream if stream is not None else sys.stderr, dynamic_ncols=True,
                             mininterval=0.2))
    if how == "off":
        return iter(iterable)
    return _lines(iterable, total, label, every)


def _lines(iterable, total, label, every) -> Iterator:
    start = last = time.monotonic()
    logged = False
    n = 0
    of = f"/{total}" if total is not None else ""
    for item in iterable:
        yield item
        n += 1
        now = time.monotonic()
        if now - last >= every and (total is None or n < total):
            log.info("%s: %d%s", label or "kemajuan", n, of)
            last, logged = now, True
    if logged:
        log.info("%s: %d%s selesai (%.1f dtk)", label or "kemajuan", n, of, time.monotonic() - start)
