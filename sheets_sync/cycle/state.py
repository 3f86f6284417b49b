"""The worker's memory, in one SQLite file: runs, each OPD workbook's revision and
content hash with the verdicts computed from it, reminders sent, small settings.

Every write is one short transaction in WAL mode, so a process killed at any
moment leaves a database that opens and passes integrity_check.

What an OPD's memory holds is stored as plain values (JSON, schema-versioned:
{"v": 2, ...}), never as pickles: loading it cannot run code, and a payload that
does not load (corrupt, an old pickle, an unknown version) only means "read this
OPD again" (an empty OpdMemory, one log line), never a failed cycle. DataFrames
are stored column by column with their dtypes, so a memory loads back to frames
that hash the same (layout.content_hash) as the ones read from the workbook.

The file is created readable by the worker's user only (0600, its folder 0700):
it holds the rows the master is compiled from (see README, Keandalan).
"""
from __future__ import annotations

import datetime as dt
import functools
import json
import logging
import math
import os
import re
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import orjson
import pandas as pd
from pandas.api.types import pandas_dtype

from sheets_sync.fileio import PRIVATE, private_dir
from sheets_sync.jsonvalue import decode as _dec, encode as _enc
from sheets_sync.validate.frame import FormResult
from sheets_sync.validate.layout import Problem

log = logging.getLogger("sheets_sync")
PAYLOAD_VERSION = 2

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
CREATE TABLE IF NOT EXISTS heads (opd TEXT PRIMARY KEY, head TEXT NOT NULL, size INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS contacts (opd TEXT PRIMARY KEY, body TEXT NOT NULL, size INTEGER NOT NULL);
"""
HEAD_VERSION = 1


class StateError(Exception):
    """The state database cannot be opened or used; the message (Indonesian) says
    what to do."""


@dataclass
class OpdMemory:
    """What the last cycle learnt about one OPD's workbook."""
    revision: str | None = None
    content_hash: str | None = None
    changed_at: str | None = None     # WIB text: when its content last changed
    checked_at: str | None = None     # WIB text: when it was last read and validated
    results: dict = field(default_factory=dict)     # form key -> FormResult (own rows)
    shown: str = ""                   # digest of what the status cells show (writes.shown)
    row_hashes: dict = field(default_factory=dict)  # form key -> set of row content hashes
    problems: list = field(default_factory=list)    # layout.Problem
    complete: bool = False            # False: read again next cycle (a write is pending)
    forms: tuple = ()                 # the forms that applied when it was read
    as_of: object = None              # the reporting date the verdicts were computed for
    frames: dict = field(default_factory=dict)      # form key -> raw input DataFrame
    # The worker's own status write (Google, cycle/run.py _own_write): the workbook it
    # wrote into since its last read (its Berkas / Tautan), whether the revision above
    # was taken as that write without reading, and when it was last really read (UTC ISO).
    wrote: str | None = None
    taken_as_own: bool = False
    read_at: str | None = None

    @property
    def partial(self) -> bool:
        """Only the head was loaded (State.opd_head): no verdicts, rows or row hashes."""
        return isinstance(self.results, HeadOnly)


def state_error(e: BaseException, path: Path) -> StateError:
    """An error opening or writing the state database, as the administrator can act on it."""
    folder = Path(path).parent
    text = str(e).lower()
    if isinstance(e, sqlite3.DatabaseError) and ("not a database" in text or "malformed" in text):
        return StateError(
            f"basis data state {path} rusak (bukan basis data SQLite yang utuh). Hentikan layanan "
            f"(systemctl stop sheets-sync), pindahkan berkasnya (mv {path} {path}.rusak) atau pulihkan "
            f"cadangan, lalu jalankan lagi: siklus berikutnya membaca ulang semua OPD, dan pengingat yang "
            f"sudah terkirim tetap tercatat di folder data (.sheets_sync/sent) sehingga tidak dikirim dua kali.")
    if isinstance(e, PermissionError) or "readonly" in text or "read-only" in text or "unable to open" in text \
            or (isinstance(e, OSError) and e.errno in (13, 1, 30)):
        return StateError(
            f"folder state {folder} tidak dapat ditulis (atau berkas {Path(path).name} hanya-baca). Berikan "
            f"foldernya kepada pengguna layanan: sudo chown -R sheets-sync: {folder}; sudo chmod 700 {folder} "
            f"(dan cantumkan di ReadWritePaths= layanan systemd).")
    if "disk" in text and "full" in text or (isinstance(e, OSError) and e.errno == 28):
        return StateError(f"disk penuh: basis data state {path} tidak dapat ditulis. Kosongkan ruang disk.")
    if "locked" in text:
        return StateError(f"basis data state {path} sedang dikunci proses lain terlalu lama; jalankan lagi.")
    if isinstance(e, FileNotFoundError):
        return StateError(f"basis data state {path} belum ada: belum pernah ada siklus dengan pengaturan ini. "
                          f"Jalankan dulu satu siklus: python jobs.py --once --config BERKAS_PENGATURAN.")
    if "no such table" in text:
        return StateError(
            f"basis data state {path} kosong atau tidak lengkap (mungkin sisa disk penuh). Pindahkan berkasnya "
            f"(mv {path} {path}.kosong); siklus berikutnya membuatnya lagi dan membaca ulang semua OPD.")
    return StateError(f"basis data state {path} tidak dapat dipakai ({type(e).__name__}: {e}).")


class State:
    def __init__(self, path, *, read_only: bool = False):
        self.path = Path(path)
        self.read_only = read_only
        try:
            if read_only:
                if not self.path.exists():
                    raise FileNotFoundError(2, "tidak ditemukan", str(self.path))
                self.db = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, timeout=30,
                                          isolation_level=None)
                self.db.execute("SELECT count(*) FROM sqlite_master").fetchone()
            else:
                private_dir(self.path.parent)
                _create_private(self.path)
                self.db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
                self.db.execute("PRAGMA journal_mode=WAL")
                self.db.execute("PRAGMA synchronous=FULL")
                self.db.executescript(SCHEMA)
        except (OSError, sqlite3.Error) as e:
            raise state_error(e, self.path) from None

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
        try:
            mem = decode_memory(row[4]) if row[4] else OpdMemory()
        except ValueError as e:
            log.warning("memori OPD %s di state tidak terbaca (%s); OPD ini dibaca ulang", code, e)
            if not self.read_only:   # its head would still say "nothing to read": the next cycle reads it
                self.db.execute("DELETE FROM heads WHERE opd=?", (code,))
            return OpdMemory(changed_at=row[2], checked_at=row[3])
        mem.revision, mem.content_hash, mem.changed_at, mem.checked_at = row[:4]
        return mem

    def opd_head(self, code: str) -> OpdMemory:
        """An OPD's memory without its verdicts, rows and row hashes (mem.partial; only
        their form keys), from the small head saved beside the payload: what a cycle
        needs to know that nothing is to be read. The whole memory (State.opd) when
        there is no head (a state from before heads), or when the payload is not the
        size it had when the head was written (replaced or truncated behind our back:
        the whole memory then says whether it still loads)."""
        row = self.db.execute(
            "SELECT w.revision, w.content_hash, w.changed_at, w.checked_at, h.head, h.size, length(w.payload) "
            "FROM workbooks w LEFT JOIN heads h ON h.opd = w.opd WHERE w.opd=?", (code,)).fetchone()
        if row is None:
            return OpdMemory()
        if row[4] is None or row[5] != row[6]:
            mem = self.opd(code)
            if row[4] is None and row[6] is not None and mem.revision is not None and not self.read_only:
                # a state from before heads: the next cycle needs only this one
                self.db.execute("INSERT OR REPLACE INTO heads VALUES (?,?,?)", (code, encode_head(mem), row[6]))
            return mem
        try:
            mem = decode_head(row[4])
        except ValueError:
            return self.opd(code)
        mem.revision, mem.content_hash, mem.changed_at, mem.checked_at = row[:4]
        return mem

    def save_opd(self, code: str, mem: OpdMemory, contacts: str | None = None) -> None:
        """The payload, its head and its contacts (cross_opd.contacts_json) in one
        transaction, so that they always match."""
        payload = encode_memory(mem)
        self.db.execute("BEGIN IMMEDIATE")
        try:
            self.db.execute("INSERT OR REPLACE INTO workbooks VALUES (?,?,?,?,?,?)",
                            (code, mem.revision, mem.content_hash, mem.changed_at, mem.checked_at, payload))
            self.db.execute("INSERT OR REPLACE INTO heads VALUES (?,?,?)", (code, encode_head(mem), len(payload)))
            if contacts is None:
                self.db.execute("DELETE FROM contacts WHERE opd=?", (code,))
            else:
                self.db.execute("INSERT OR REPLACE INTO contacts VALUES (?,?,?)", (code, contacts, len(payload)))
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    def opd_contacts(self, code: str) -> str | None:
        """The contacts saved with the OPD's memory, if they are of the payload now
        stored (same size as when saved), else None."""
        row = self.db.execute("SELECT c.body, c.size, length(w.payload) FROM contacts c JOIN workbooks w "
                              "ON w.opd = c.opd WHERE c.opd=?", (code,)).fetchone()
        return row[0] if row is not None and row[1] == row[2] else None

    def forget_others(self, keep: set[str]) -> None:
        """Drop OPDs removed from the registry."""
        for (code,) in self.db.execute("SELECT opd FROM workbooks").fetchall():
            if code not in keep:
                self.db.execute("DELETE FROM workbooks WHERE opd=?", (code,))
                self.db.execute("DELETE FROM heads WHERE opd=?", (code,))
                self.db.execute("DELETE FROM contacts WHERE opd=?", (code,))

    def unreadable_payloads(self) -> list[str]:
        """Codes of the OPDs whose memory does not load (for `jobs.py --check`)."""
        bad = []
        for code, payload in self.db.execute("SELECT opd, payload FROM workbooks"):
            try:
                if payload:
                    decode_memory(payload).frames.items()   # the stored rows too, not only their shape
            except ValueError:
                bad.append(code)
        return bad

    # ---------------------------------------------------------------- runs
    def start_run(self, started: str) -> int:
        return self.db.execute("INSERT INTO runs(started) VALUES (?)", (started,)).lastrowid

    def finish_run(self, run_id: int, finished: str, ok: bool, summary: dict) -> None:
        self.db.execute("UPDATE runs SET finished=?, ok=?, summary=? WHERE id=?",
                        (finished, int(ok), json.dumps(summary, ensure_ascii=False, default=str), run_id))

    def last_runs(self, n: int = 5) -> list[tuple]:
        return self.db.execute(
            "SELECT id, started, finished, ok, summary FROM runs ORDER BY id DESC LIMIT ?", (n,)).fetchall()

    # ------------------------------------------------------------------ kv
    def get(self, key: str, default=None):
        row = self.db.execute("SELECT value FROM kv WHERE key=?", (key,)).fetchone()
        if not row:
            return default
        try:
            return json.loads(row[0])
        except (TypeError, ValueError):
            log.warning("nilai '%s' di state tidak terbaca; dianggap kosong", key)
            return default

    def set(self, key: str, value) -> None:
        self.db.execute("INSERT OR REPLACE INTO kv VALUES (?,?)", (key, json.dumps(value)))

    def integrity_ok(self) -> bool:
        return self.db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def _create_private(path: Path) -> None:
    """The database file, created 0600 (SQLite gives its -wal and -shm files the
    same mode); an older file of ours is narrowed to 0600 too."""
    fd = os.open(path, os.O_CREAT | os.O_RDWR, PRIVATE)
    try:
        if os.fstat(fd).st_mode & 0o077 and os.fstat(fd).st_uid == os.geteuid():
            os.fchmod(fd, PRIVATE)
    finally:
        os.close(fd)


# ====================================================================== payload
def encode_memory(mem: OpdMemory) -> bytes:
    """An OpdMemory as JSON of plain values (the columns of the row hold revision,
    content hash and times)."""
    body = {
        "v": PAYLOAD_VERSION,
        "results": {k: _result(r) for k, r in mem.results.items()},
        "shown": str(mem.shown or ""),
        "row_hashes": {k: sorted(v) for k, v in mem.row_hashes.items()},
        "problems": _problems(mem.problems),
        "complete": bool(mem.complete),
        "forms": list(mem.forms),
        "as_of": _enc(mem.as_of),
        **_own_marks(mem),
        "frames": mem.frames.raw() if isinstance(mem.frames, LazyFrames) and not mem.frames.loaded
        else {k: _frame(f) for k, f in mem.frames.items()},   # untouched rows: stored as they came
    }
    try:   # orjson: C speed for the city's 300,000 rows; the same JSON text up to spacing
        return orjson.dumps(body)
    except TypeError:   # what orjson does not take (an int beyond 64 bits): the standard encoder
        return json.dumps(body, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode("utf-8")


def _own_marks(mem: OpdMemory) -> dict:
    """The own-write bookkeeping (cycle/run.py _own_write), in the payload and the head alike."""
    return {"wrote": mem.wrote, "taken_as_own": bool(mem.taken_as_own), "read_at": mem.read_at}


def _own_marks_of(body: dict) -> dict:
    return {"wrote": _text_or_none(body.get("wrote")), "taken_as_own": body.get("taken_as_own") is True,
            "read_at": _text_or_none(body.get("read_at"))}


def _problems(problems) -> list:
    return [[p.code, {str(a): _enc(b) for a, b in p.params.items()}] for p in problems]


def _unproblems(body) -> list[Problem]:
    return [Problem(str(c), {str(a): _dec(b) for a, b in dict(p).items()}) for c, p in body]


def encode_head(mem: OpdMemory) -> str:
    """What a cycle needs of an OPD's memory when nothing is to be read: the payload
    without the verdicts, rows and row hashes (their form keys only)."""
    return json.dumps({
        "v": HEAD_VERSION, "shown": str(mem.shown or ""), "complete": bool(mem.complete), "forms": list(mem.forms),
        "as_of": _enc(mem.as_of), "results": list(mem.results), "frames": _names(mem.frames),
        "row_hashes": list(mem.row_hashes),
        "problems": _problems(mem.problems),
        **_own_marks(mem)}, ensure_ascii=False)


def _names(frames) -> list[str]:
    """The form keys of stored rows, without turning them into DataFrames."""
    return list(frames.raw()) if isinstance(frames, LazyFrames) and not frames.loaded else list(frames)


def decode_head(text) -> OpdMemory:
    """The inverse of encode_head: a partial OpdMemory; ValueError for anything else."""
    try:
        body = json.loads(text)
        if not isinstance(body, dict) or body.get("v") != HEAD_VERSION:
            raise ValueError("versi tidak dikenal")
        return OpdMemory(
            results=HeadOnly(body["results"]), shown=str(body["shown"]), row_hashes=HeadOnly(body["row_hashes"]),
            problems=_unproblems(body["problems"]),
            complete=bool(body["complete"]), forms=tuple(str(f) for f in body["forms"]),
            as_of=_dec(body["as_of"]), frames=HeadOnly(body["frames"]), **_own_marks_of(body))
    except (KeyError, TypeError, ValueError, AttributeError) as e:
        raise ValueError(f"kepala memori tidak sesuai ({type(e).__name__})") from None


class HeadOnly:
    """The form keys of a memory's verdicts, rows or row hashes, without them: a partial
    memory (State.opd_head) answers which forms it holds; anything more is a mistake
    in the cycle, which must load the whole memory (State.opd) first, and says so."""

    def __init__(self, keys):
        if not isinstance(keys, list):
            raise ValueError("bukan daftar formulir")
        self._keys = tuple(str(k) for k in keys)

    def __len__(self):
        return len(self._keys)

    def __iter__(self):
        return iter(self._keys)

    def __contains__(self, key):
        return key in self._keys

    def keys(self):
        return self._keys

    def __getattr__(self, name):
        raise AttributeError(f"memori OPD belum dimuat utuh (State.opd): .{name} tidak tersedia")

    def __getitem__(self, key):
        raise KeyError(f"memori OPD belum dimuat utuh (State.opd): [{key!r}] tidak tersedia")


def decode_memory(payload) -> OpdMemory:
    """The inverse of encode_memory; ValueError for anything else (a pickle is never
    unpickled: it is not JSON)."""
    if isinstance(payload, str):
        payload = payload.encode("utf-8")
    if not isinstance(payload, (bytes, bytearray, memoryview)):
        raise ValueError("isi bukan teks")
    raw = bytes(payload)
    if raw[:1] == b"\x80":
        raise ValueError("format lama (pickle), tidak dimuat")
    try:
        body = orjson.loads(raw)
    except ValueError:   # invalid UTF-8, or what only the standard parser takes (NaN, huge ints)
        try:
            body = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            raise ValueError("bukan JSON yang utuh") from None
    if not isinstance(body, dict) or body.get("v") != PAYLOAD_VERSION:
        raise ValueError(f"versi tidak dikenal ({body.get('v') if isinstance(body, dict) else '?'})")
    try:
        return OpdMemory(
            results={str(k): _unresult(v) for k, v in body["results"].items()},
            shown=str(body["shown"]),
            row_hashes={str(k): {str(h) for h in v} for k, v in body["row_hashes"].items()},
            problems=_unproblems(body["problems"]),
            complete=bool(body["complete"]),
            forms=tuple(str(f) for f in body["forms"]),
            as_of=_dec(body["as_of"]),
            frames=LazyFrames(_checked_frames(body["frames"])),
            # absent in memories saved before these existed: no write pending, none taken as ours
            **_own_marks_of(body),
        )
    except (KeyError, TypeError, ValueError, AttributeError) as e:
        raise ValueError(f"isi tidak sesuai ({type(e).__name__})") from None


def _text_or_none(v) -> str | None:
    if v is not None and not isinstance(v, str):
        raise ValueError("bukan teks")
    return v


def _checked_frames(raw) -> dict:
    """The stored input rows, checked for shape only: they become DataFrames when first
    used (LazyFrames), which an idle cycle never does."""
    if not isinstance(raw, dict) or not all(isinstance(v, dict) and isinstance(v.get("columns"), list)
                                            and isinstance(v.get("index"), dict) for v in raw.values()):
        raise ValueError("bingkai baris tidak sesuai")
    return {str(k): v for k, v in raw.items()}


class LazyFrames(dict):
    """form key -> input DataFrame, decoded on first use. Only re-validation (a new
    reporting date) and a re-read of an unchanged workbook look at an OPD's stored
    rows; an idle cycle loads 60 OPDs' memories without turning 300,000 rows into
    DataFrames. A payload whose rows do not decode raises ValueError at first use,
    inside the per-OPD fault handling of the cycle."""

    def __init__(self, raw: dict):
        super().__init__()
        self._raw = raw

    @property
    def loaded(self) -> bool:
        return self._raw is None

    def raw(self) -> dict:
        return self._raw

    def _load(self) -> None:
        if self._raw is not None:
            try:
                decoded = {k: _unframe(v) for k, v in self._raw.items()}
            except (KeyError, TypeError, ValueError, AttributeError) as e:
                raise ValueError(f"baris tersimpan tidak terbaca ({type(e).__name__})") from None
            self._raw = None
            dict.update(self, decoded)

    def __len__(self):
        return len(self._raw) if self._raw is not None else dict.__len__(self)

    def __contains__(self, key):
        return key in self._raw if self._raw is not None else dict.__contains__(self, key)


def _lazy(fn):
    def method(self, *args, **kwargs):
        self._load()
        return fn(self, *args, **kwargs)
    method.__name__ = fn.__name__
    return method


for _name in ("__getitem__", "__iter__", "__eq__", "__repr__", "get", "items", "keys", "values", "copy",
              "__setitem__", "__delitem__", "pop", "update", "setdefault"):   # every way in loads first
    setattr(LazyFrames, _name, _lazy(vars(dict)[_name]))
LazyFrames.__hash__ = None


_NATIVE = {str, int, bool, type(None)}   # JSON keeps these as they are (1 stays int, 1.0 float)
_DTYPES = {"object", "str", "string", "int64", "int32", "int16", "int8", "float64", "float32", "bool",
           "boolean"}


def _result(r: FormResult) -> dict:
    return {"form": r.form, "status": _series(r.status), "problems": _frame(r.problems),
            "normalized": _frame(r.normalized), "headers": {str(k): _enc(v) for k, v in r.headers.items()}}


def _unresult(d: dict) -> FormResult:
    return FormResult(str(d["form"]), _unseries(d["status"]), _unframe(d["problems"]),
                      _unframe(d["normalized"]), {str(k): _dec(v) for k, v in d["headers"].items()})


def _values(values: list) -> dict:
    """A list of cell values as JSON, by kind so that loading is one pass of C code in
    the usual cases: "plain" (JSON's own types), "date" and "datetime" (ISO texts),
    else "tagged" (value by value, see _enc)."""
    types = set(map(type, values))
    if types <= _NATIVE or (types <= _NATIVE | {float}
                            and all(math.isfinite(v) for v in values if type(v) is float)):
        return {"k": "plain", "v": values}
    if types <= {dt.date, type(None)}:
        return {"k": "date", "v": [None if v is None else v.isoformat() for v in values]}
    if types <= {dt.datetime, type(None)}:
        return {"k": "datetime", "v": [None if v is None else v.isoformat() for v in values]}
    if types <= {pd.Timestamp, type(pd.NaT)}:
        return {"k": "timestamp", "v": [None if v is pd.NaT else v.isoformat() for v in values]}
    return {"k": "tagged", "v": [_enc(v) for v in values]}


def _unvalues(d) -> list:
    kind, values = d["k"], d["v"]
    if not isinstance(values, list):
        raise ValueError("bukan daftar nilai")
    if kind == "plain":
        return values
    if kind == "date":
        return [None if v is None else dt.date.fromisoformat(v) for v in values]
    if kind == "datetime":
        return [None if v is None else dt.datetime.fromisoformat(v) for v in values]
    if kind == "timestamp":
        return [pd.NaT if v is None else pd.Timestamp(v) for v in values]
    if kind == "tagged":
        return [_dec(v) for v in values]
    raise ValueError(f"jenis nilai tidak dikenal: {str(kind)[:20]}")


def _index(ix: pd.Index) -> dict:
    return {"name": _enc(ix.name), "dtype": str(ix.dtype), "values": _values(ix.tolist())}


def _unindex(d: dict) -> pd.Index:
    return pd.Index(_array(_unvalues(d["values"])), dtype=_dtype(d["dtype"]), name=_dec(d["name"]))


def _series(s: pd.Series) -> dict:
    return {"name": _enc(s.name), "dtype": str(s.dtype), "index": _index(s.index), "values": _values(s.tolist())}


def _unseries(d: dict) -> pd.Series:
    return pd.Series(_array(_unvalues(d["values"])), index=_unindex(d["index"]),
                     dtype=_dtype(d["dtype"]), name=_dec(d["name"]))


def _frame(f: pd.DataFrame) -> dict:
    return {"index": _index(f.index),
            "columns": [{"name": _enc(c), "dtype": str(f[c].dtype), "values": _values(f[c].tolist())}
                        for c in f.columns]}


def _unframe(d: dict) -> pd.DataFrame:
    index = _unindex(d["index"])
    cols = {}
    for c in d["columns"]:
        values = _unvalues(c["values"])
        if len(values) != len(index):
            raise ValueError("panjang kolom tidak sama dengan indeks")
        cols[_dec(c["name"])] = pd.Series(_array(values), index=index, dtype=_dtype(c["dtype"]))
    if not cols:
        return pd.DataFrame(index=index)
    return pd.DataFrame(cols, index=index)


def _dtype(name):
    """The dtype a stored name stands for (anything unknown: object). Resolved once per
    name: pandas looks a dtype name up in its registry of every extension type, which
    was most of the time of loading an OPD's small memory."""
    if isinstance(name, str) and re.fullmatch(r"datetime64\[(s|ms|us|ns)\]", name):
        return _resolved(name)
    return _resolved(name if name in _DTYPES else "object")


@functools.lru_cache(maxsize=32)
def _resolved(name: str):
    return pandas_dtype(name)


def _array(values: list) -> np.ndarray:
    """Values as a 1-d object array (np.array would turn a list of tuples into 2-d)."""
    out = np.empty(len(values), dtype=object)
    try:
        out[:] = values
    except (ValueError, TypeError):
        for i, v in enumerate(values):
            out[i] = v
    return out


# ------------------------------------------------------- frames for other modules
def frame_to_json(f: pd.DataFrame) -> dict:
    """A DataFrame as plain JSON values (the payload's own encoding), for caches kept
    in the kv table (cycle/cross_cache.py)."""
    return _frame(f)


def frame_from_json(d: dict) -> pd.DataFrame:
    """The inverse of frame_to_json; ValueError (or KeyError/TypeError) when it is not one."""
    return _unframe(d)
