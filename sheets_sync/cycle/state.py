"""The worker's memory, in one SQLite file: runs, each OPD workbook's revision and
content hash with the verdicts computed from it, reminders sent, small settings.

Every write is one short transaction in WAL mode, so a process killed at any
moment leaves a database that opens and passes integrity_check.
"""
from __future__ import annotations

import json
import pickle
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
  id INTEGER PRIMARY KEY, started TEXT NOT NULL, finished TEXT, ok INTEGER, summary TEXT);
CREATE TABLE IF NOT EXISTS workbooks (
  opd TEXT PRIMARY KEY, revision TEXT, content_hash TEXT, changed_at TEXT,
  checked_at TEXT, payload BLOB);
CREATE TABLE IF NOT EXISTS reminders (
  opd TEXT NOT NULL, kind TEXT NOT NULL, slot_date TEXT NOT NULL, message_id TEXT NOT NULL,
  status TEXT NOT NULL, recipients TEXT, updated_at TEXT NOT NULL,
  PRIMARY KEY (opd, kind, slot_date));
CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY, value TEXT);
"""


@dataclass
class OpdMemory:
    """What the last cycle learnt about one OPD's workbook."""
    revision: str | None = None
    content_hash: str | None = None
    changed_at: str | None = None     # WIB text: when its content last changed
    checked_at: str | None = None     # WIB text: when it was last read and validated
    results: dict = field(default_factory=dict)     # form key -> FormResult (own rows)
    shown: dict = field(default_factory=dict)       # form key -> {row: (status, note)} in the sheet
    row_hashes: dict = field(default_factory=dict)  # form key -> set of row content hashes
    problems: list = field(default_factory=list)    # layout.Problem
    complete: bool = False            # False: read again next cycle (a write is pending)
    forms: tuple = ()                 # the forms that applied when it was read
    as_of: object = None              # the reporting date the verdicts were computed for
    frames: dict = field(default_factory=dict)      # form key -> raw input DataFrame


class State:
    def __init__(self, path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=FULL")
        self.db.executescript(SCHEMA)

    def close(self):
        self.db.close()

    def __enter__(self) -> "State":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # ----------------------------------------------------------- workbooks
    def opd(self, code: str) -> OpdMemory:
        row = self.db.execute(
            "SELECT revision, content_hash, changed_at, checked_at, payload FROM workbooks WHERE opd=?",
            (code,)).fetchone()
        if row is None:
            return OpdMemory()
        mem = pickle.loads(row[4]) if row[4] else OpdMemory()
        mem.revision, mem.content_hash, mem.changed_at, mem.checked_at = row[:4]
        return mem

    def save_opd(self, code: str, mem: OpdMemory) -> None:
        self.db.execute(
            "INSERT OR REPLACE INTO workbooks VALUES (?,?,?,?,?,?)",
            (code, mem.revision, mem.content_hash, mem.changed_at, mem.checked_at,
             pickle.dumps(mem, protocol=pickle.HIGHEST_PROTOCOL)))

    def forget_others(self, keep: set[str]) -> None:
        """Drop OPDs removed from the registry."""
        for (code,) in self.db.execute("SELECT opd FROM workbooks").fetchall():
            if code not in keep:
                self.db.execute("DELETE FROM workbooks WHERE opd=?", (code,))

    # ---------------------------------------------------------------- runs
    def start_run(self, started: str) -> int:
        return self.db.execute("INSERT INTO runs(started) VALUES (?)", (started,)).lastrowid

    def finish_run(self, run_id: int, finished: str, ok: bool, summary: dict) -> None:
        self.db.execute("UPDATE runs SET finished=?, ok=?, summary=? WHERE id=?",
                        (finished, int(ok), json.dumps(summary, ensure_ascii=False), run_id))

    def last_runs(self, n: int = 5) -> list[tuple]:
        return self.db.execute(
            "SELECT id, started, finished, ok, summary FROM runs ORDER BY id DESC LIMIT ?", (n,)).fetchall()

    # ------------------------------------------------------------------ kv
    def get(self, key: str, default=None):
        row = self.db.execute("SELECT value FROM kv WHERE key=?", (key,)).fetchone()
        return json.loads(row[0]) if row else default

    def set(self, key: str, value) -> None:
        self.db.execute("INSERT OR REPLACE INTO kv VALUES (?,?)", (key, json.dumps(value)))

    def integrity_ok(self) -> bool:
        return self.db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
