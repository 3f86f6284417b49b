"""The reminders ledger in the state database: one row per (OPD, kind, slot date)
with its status (sending, sent, failed, skipped, not_needed, uncertain)."""
from __future__ import annotations

import datetime as dt
import secrets

from sheets_sync.config import WIB
from sheets_sync.remind.plan import COUNTED




# ================================================================== ledger
class Ledger:
    """The `reminders` table of the state database (schema in state.py). Every
    call is one committed statement (the connection is in autocommit mode)."""

    def __init__(self, state):
        self.state = state
        self.db = state.db

    def statuses(self) -> dict:
        rows = self.db.execute("SELECT opd, kind, slot_date, status FROM reminders").fetchall()
        return {(o, k, d): s for o, k, d, s in rows}

    def status(self, key) -> str | None:
        row = self.db.execute("SELECT status FROM reminders WHERE opd=? AND kind=? AND slot_date=?",
                              key).fetchone()
        return row[0] if row else None

    def rows(self, status: str) -> list[tuple]:
        return self.db.execute("SELECT opd, kind, slot_date, message_id FROM reminders WHERE status=? "
                               "ORDER BY updated_at", (status,)).fetchall()

    def record(self, key, mid: str, status: str, now: dt.datetime, recipients: str = "") -> None:
        """A final status (skipped, not_needed) for a slot that has none yet or failed."""
        self.db.execute("INSERT INTO reminders VALUES (?,?,?,?,?,?,?) "
                        "ON CONFLICT(opd, kind, slot_date) DO UPDATE SET status=excluded.status, "
                        "updated_at=excluded.updated_at WHERE reminders.status='failed'",
                        (*key, mid, status, recipients, _stamp(now)))

    def claim(self, key, mid: str, recipients: str, now: dt.datetime) -> bool:
        """'sending', committed before the message leaves. False if the slot is
        already taken (only a new or failed slot can be claimed)."""
        cur = self.db.execute(
            "INSERT INTO reminders VALUES (?,?,?,?,'sending',?,?) "
            "ON CONFLICT(opd, kind, slot_date) DO UPDATE SET status='sending', "
            "message_id=excluded.message_id, recipients=excluded.recipients, "
            "updated_at=excluded.updated_at WHERE reminders.status='failed'",
            (*key, mid, recipients, _stamp(now)))
        return cur.rowcount == 1

    def mark(self, key, status: str, now: dt.datetime | None = None) -> None:
        if now is None:
            self.db.execute("UPDATE reminders SET status=? WHERE opd=? AND kind=? AND slot_date=?",
                            (status, *key))
        else:
            self.db.execute("UPDATE reminders SET status=?, updated_at=? WHERE opd=? AND kind=? "
                            "AND slot_date=?", (status, _stamp(now), *key))

    def drop(self, key) -> None:
        self.db.execute("DELETE FROM reminders WHERE opd=? AND kind=? AND slot_date=?", key)

    def sent_on(self, day: dt.date) -> int:
        """Messages handed to the transport on this WIB day (for the daily cap)."""
        marks = ",".join("?" * len(COUNTED))
        return self.db.execute(f"SELECT COUNT(*) FROM reminders WHERE status IN ({marks}) "
                               f"AND substr(updated_at, 1, 10)=?", (*COUNTED, day.isoformat())).fetchone()[0]


def _stamp(now: dt.datetime) -> str:
    return now.astimezone(WIB).isoformat(timespec="seconds")


def install_tag(state, create: bool = True) -> str:
    tag = state.get("remind_secret")
    if tag is None and create:
        tag = secrets.token_hex(8)
        state.set("remind_secret", tag)
    return tag or "pratinjau"
