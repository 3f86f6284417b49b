"""The season rollover's journals (<data_dir>/.sheets_sync/musim/<year>.json, written
by ops/season.py) as the worker sees them: while one is unfinished, no cycle runs.

A cycle on half-rolled data would mix two seasons: service-user forms already
emptied while the old state, ledger and settings still hold, so the old season's
reminders would go out again as "BELUM MENGISI". The fix is always the same
command, run again until it finishes; the message says which.
"""
from __future__ import annotations

import json
from pathlib import Path

from sheets_sync.cycle.state import StateError

MAX_JOURNAL_BYTES = 1_000_000      # ours and small (a few lines per OPD); larger is not ours


class RolloverPending(StateError):
    """A season rollover was started and has not finished; the message (Indonesian)
    names the command that finishes it."""


def journal_dir(settings) -> Path:
    return settings.records_dir / "musim"


def journal_path(settings, year: int) -> Path:
    return journal_dir(settings) / f"{year}.json"


def unfinished_journals(settings) -> list[Path]:
    """Journals of rollovers started and not finished (or unreadable)."""
    folder = journal_dir(settings)
    if not folder.is_dir():
        return []
    return [p for p in sorted(folder.glob("*.json")) if not (_read(p) or {}).get("finished")]


def pending(settings) -> str | None:
    """Why no cycle may run now (an unfinished or unreadable journal), or None."""
    folder = journal_dir(settings)
    if not folder.is_dir():
        return None
    for path in sorted(folder.glob("*.json")):
        year = path.stem if path.stem.isdigit() else "?"
        journal = _read(path)
        if journal is None:
            return (f"Catatan pergantian musim {path} tidak dapat dibaca, jadi tidak diketahui apakah pergantian "
                    f"musim {year} sudah selesai. Siklus tidak dijalankan. Jalankan lagi: python -m sheets_sync "
                    f"season new --year {year} --config {settings.path}")
        if not journal.get("finished"):
            return (f"Pergantian musim {journal.get('from', '?')} → {journal.get('to', year)} belum selesai "
                    f"(terhenti di tengah jalan). Siklus tidak dijalankan agar data dua musim tidak bercampur. "
                    f"Selesaikan dengan menjalankan lagi: python -m sheets_sync season new --year "
                    f"{journal.get('to', year)} --config {settings.path}")
    return None


def refuse_if_pending(settings) -> None:
    why = pending(settings)
    if why:
        raise RolloverPending(why)


def _read(path: Path) -> dict | None:
    try:
        if path.stat().st_size > MAX_JOURNAL_BYTES:
            return None
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None
