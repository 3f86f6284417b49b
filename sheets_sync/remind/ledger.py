"""The reminders ledger in the state database: one row per (OPD, kind, slot date)
with its status (sending, sent, failed, skipped, not_needed, uncertain); and its
second copy beside the data, which survives the loss of the state database.

Beside the data (settings.records_dir, <data_dir>/.sheets_sync/):

    sent/<slot date>-<OPD>-<kind>-<hash>.json   one small file per slot handed to the
                                                transport: Message-ID, sending|sent
    install-tag                                 the secret in every Message-ID

A slot's file is created (exclusively, fsynced) before its message leaves, so a
state database that is truncated, deleted, or replaced by another settings file's
never sends that slot again, and the Message-ID stays the one the first send used.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import os
import re
import secrets
from pathlib import Path

from sheets_sync.config import WIB
from sheets_sync.fileio import PRIVATE, atomic_write_text, forget_leftovers, fsync_dir, private_dir
from sheets_sync.remind.plan import COUNTED, DIGEST_OPD

log = logging.getLogger("sheets_sync.remind")

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

    def sent_as(self, key, mark: str) -> str | None:
        """The code under which this slot already went to the same OPD and people
        (`mark`: remind.fingerprint, kept at the end of the masked recipients), if another
        code than key's: the Kode OPD was changed in the registry after the send."""
        code, kind, day = key
        row = self.db.execute("SELECT opd FROM reminders WHERE kind=? AND slot_date=? AND opd<>? AND "
                              "status IN ('sent', 'uncertain', 'sending') AND recipients LIKE ? LIMIT 1",
                              (kind, day, code, f"%#{mark}")).fetchone()
        return row[0] if row else None

    def mark(self, key, status: str, now: dt.datetime | None = None) -> None:
        if now is None:
            self.db.execute("UPDATE reminders SET status=? WHERE opd=? AND kind=? AND slot_date=?",
                            (status, *key))
        else:
            self.db.execute("UPDATE reminders SET status=?, updated_at=? WHERE opd=? AND kind=? "
                            "AND slot_date=?", (status, _stamp(now), *key))

    def restore(self, key, mid: str, status: str, updated_at: str) -> None:
        """A slot known only from the records beside the data (the state was lost)."""
        self.db.execute("INSERT OR IGNORE INTO reminders VALUES (?,?,?,?,?,?,?)",
                        (*key, mid, status, "", updated_at))

    def drop(self, key) -> None:
        self.db.execute("DELETE FROM reminders WHERE opd=? AND kind=? AND slot_date=?", key)

    def last_sent(self) -> dict[str, tuple[str, str]]:
        """OPD code -> (kind, ISO time) of the last reminder handed to the transport
        (the digest excluded), for the Rekap's Pengingat terakhir."""
        rows = self.db.execute("SELECT opd, kind, updated_at FROM reminders WHERE status='sent' "
                               "ORDER BY updated_at").fetchall()
        return {o: (k, at) for o, k, at in rows if o != DIGEST_OPD}

    def sent_on(self, day: dt.date) -> int:
        """Messages handed to the transport on this WIB day (for the daily cap)."""
        marks = ",".join("?" * len(COUNTED))
        return self.db.execute(f"SELECT COUNT(*) FROM reminders WHERE status IN ({marks}) "
                               f"AND substr(updated_at, 1, 10)=?", (*COUNTED, day.isoformat())).fetchone()[0]


def _stamp(now: dt.datetime) -> str:
    return now.astimezone(WIB).isoformat(timespec="seconds")


_TAG = re.compile(r"[0-9a-f]{8,64}")


def install_tag(state, folder=None, create: bool = True) -> str:
    """The installation's secret in every Message-ID. Kept beside the data (folder:
    settings.records_dir) as well as in the state, so that a lost state keeps the
    Message-IDs; the copy beside the data wins."""
    tag = None
    path = Path(folder) / "install-tag" if folder is not None else None
    if path is not None:
        try:
            text = path.read_text(encoding="ascii").strip()
            tag = text if _TAG.fullmatch(text) else None
        except (OSError, UnicodeDecodeError):
            tag = None
    kept = state.get("remind_secret")
    tag = tag or kept
    if tag is None and create:
        tag = secrets.token_hex(8)
    if tag is not None and create:
        if kept != tag:
            state.set("remind_secret", tag)
        if path is not None and not path.is_file():
            try:
                atomic_write_text(path, tag + "\n", mode=PRIVATE)
            except OSError as e:
                log.warning("tanda instalasi tidak dapat disimpan di %s: %s", path.parent, e.strerror or e)
    return tag or "pratinjau"


# ================================================================== beside the data
class SentRecords:
    """One file per slot handed to the transport, in <records_dir>/sent/."""

    def __init__(self, folder):
        self.folder = Path(folder) / "sent"

    def sweep(self) -> None:
        """Remove the temporary files of a worker killed while writing a record (one
        worker per data folder holds the lock, so any .tmp here is a leftover)."""
        try:
            for p in self.folder.glob(".*.tmp"):
                p.unlink(missing_ok=True)
        except OSError:
            pass

    def path(self, key) -> Path:
        opd, kind, day = (str(k) for k in key)
        safe = re.sub(r"[^A-Za-z0-9-]", "_", opd)[:40]
        kind_safe = re.sub(r"[^A-Za-z0-9+-]", "_", kind)[:20]
        digest = hashlib.sha256("|".join((opd, kind, day)).encode("utf-8")).hexdigest()[:12]
        return self.folder / f"{re.sub(r'[^0-9-]', '_', day)[:10]}-{safe}-{kind_safe}-{digest}.json"

    def get(self, key) -> dict | None:
        """The record of a slot; a record that does not parse still counts as 'sending'."""
        path = self.path(key)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError):
            return {"status": "sending", "message_id": ""}
        return data if isinstance(data, dict) else {"status": "sending", "message_id": ""}

    def claim(self, key, mid: str, now: dt.datetime) -> bool:
        """Create the slot's record before the message leaves; False if it exists (the
        slot was handed over before, whatever the state database says)."""
        private_dir(self.folder)
        path = self.path(key)
        forget_leftovers(path)          # of a claim killed halfway
        tmp = path.with_name(f".{path.stem}.{secrets.token_hex(4)}.tmp")   # fileio's temporary name
        body = json.dumps({"opd": key[0], "kind": key[1], "slot_date": key[2], "message_id": mid,
                           "status": "sending", "at": _stamp(now)}, ensure_ascii=False)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(body)
                f.flush()
                os.fsync(f.fileno())
            try:
                os.link(tmp, path)          # atomic, and fails if the record exists
            except FileExistsError:
                return False
        finally:
            tmp.unlink(missing_ok=True)
        fsync_dir(self.folder)
        return True

    def mark_sent(self, key, mid: str, now: dt.datetime) -> None:
        atomic_write_text(self.path(key), json.dumps(
            {"opd": key[0], "kind": key[1], "slot_date": key[2], "message_id": mid, "status": "sent",
             "at": _stamp(now)}, ensure_ascii=False), mode=PRIVATE)

    def release(self, key) -> None:
        """The transport refused the message: the slot is due again."""
        self.path(key).unlink(missing_ok=True)
        forget_leftovers(self.path(key))
        fsync_dir(self.folder)

    def all(self) -> list[dict]:
        out = []
        try:
            paths = sorted(self.folder.glob("*.json"))
        except OSError:
            return out
        for p in paths:
            try:
                data = json.loads(p.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue
            if isinstance(data, dict) and all(isinstance(data.get(k), str) for k in
                                              ("opd", "kind", "slot_date", "message_id", "status")):
                out.append(data)
        return out

    def statuses(self) -> dict:
        """{(opd, kind, slot date): 'sent' | 'sending'} of every record."""
        return {(r["opd"], r["kind"], r["slot_date"]): r["status"] for r in self.all()}


def restore_ledger(ledger: Ledger, records: SentRecords) -> int:
    """Slots the records beside the data know and the state database does not (it
    was lost or replaced): back into the ledger, so they are not planned again."""
    known = ledger.statuses()
    n = 0
    for r in records.all():
        key = (r["opd"], r["kind"], r["slot_date"])
        if key in known:
            continue
        status = "sent" if r["status"] == "sent" else "sending"
        ledger.restore(key, r["message_id"], status, str(r.get("at") or ""))
        n += 1
    if n:
        log.warning("%d pengingat tercatat terkirim di folder data tetapi tidak di state (state hilang atau "
                    "diganti?); tidak dikirim ulang", n)
    return n

