"""Shared pieces of the fault suite: the soak switch, a warm worker launcher, and
what an outside observer can see of a deployment (status cells, Rekap, outbox,
ledger), for both backends."""
from __future__ import annotations

import dataclasses
import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import openpyxl

ROOT = Path(__file__).resolve().parents[2]
SOAK = os.environ.get("SOAK", "").strip() not in ("", "0", "false", "no")
REKAP_KEEP = ("Kode OPD", "Formulir", "Baris", "OK", "PERIKSA", "SALAH", "Keadaan", "Slot Ahli", "Catatan")


def scaled(default: int, soak: int) -> int:
    return soak if SOAK else default


# ------------------------------------------------------------------ launcher
class Forker:
    """tests/reliability/forker.py as a subprocess: jobs.main in warm forked children."""

    def __init__(self, env: dict | None = None):
        self.proc = subprocess.Popen([sys.executable, "-m", "tests.reliability.forker"], cwd=ROOT,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                                     env={**os.environ, **(env or {})})
        assert json.loads(self.proc.stdout.readline()) == {"ready": True}

    def start(self, argv: list[str], log: Path, entry: str = "jobs") -> int:
        """entry "cli": the child runs python -m sheets_sync argv instead of jobs.py."""
        req = {"argv": [str(a) for a in argv], "log": str(log), "entry": entry}
        self.proc.stdin.write(json.dumps(req) + "\n")
        self.proc.stdin.flush()
        return json.loads(self.proc.stdout.readline())["pid"]

    def wait(self) -> dict:
        return json.loads(self.proc.stdout.readline())

    def run(self, argv: list[str], log: Path, entry: str = "jobs") -> dict:
        self.start(argv, log, entry)
        return self.wait()

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait(timeout=30)


def kill_after(forker, argv: list, log: Path, delay: float, entry: str = "jobs") -> tuple[dict, bool]:
    """Start `argv` in a warm child, SIGKILL it after `delay` seconds; (its status,
    whether the kill landed before it ended on its own)."""
    pid = forker.start(argv, log, entry=entry)
    time.sleep(delay)
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    status = forker.wait()
    return status, status.get("signal") == signal.SIGKILL


# ------------------------------------------------------------------ looking
def quiet_settings(settings, folder: Path):
    """The same deployment seen by an observer whose Google cache lives elsewhere,
    so that looking never changes what the worker remembers."""
    return dataclasses.replace(settings, state_dir=Path(folder))


def store_for(settings):
    from sheets_sync.forms import load_forms
    from sheets_sync.cycle.context import make_store
    forms = load_forms(str(settings.forms_file) if settings.forms_file else None)
    return make_store(quiet_settings(settings, tempfile.mkdtemp(prefix="observer-")), forms), forms


def _sheets(settings):
    """(opd, form key, SheetData) for every form tab of every OPD, read afresh."""
    store, _ = store_for(settings)
    opds, _ = store.read_registry()
    for o in opds:
        for key, sheet in store.read_workbook(o).sheets.items():
            yield o, key, sheet


def status_cells(settings) -> dict:
    """{(opd, form, row): (Status, Keterangan, Diperiksa filled?)} for every row that
    shows a status or has input."""
    out = {}
    for o, key, sheet in _sheets(settings):
        cur = sheet.current
        for row, vals in zip(cur.index.tolist(), cur.to_numpy(dtype=object).tolist()):
            s, n, c = (_text(v) for v in vals)
            if s or n or c:
                out[(o.code, key, int(row))] = (s, n, bool(c))
    return out


def inputs(settings) -> dict:
    """{(opd, tab title, row): tuple of the form's input cells} as they are now."""
    out = {}
    for o, _, sheet in _sheets(settings):
        for row, vals in zip(sheet.frame.index.tolist(), sheet.frame.to_numpy(dtype=object).tolist()):
            out[(o.code, sheet.title, int(row))] = tuple(_text(v) for v in vals)
    return out


def rekap(settings) -> dict:
    """The Rekap tab of the master as the Inspektorat sees it: code -> kept columns."""
    store, _ = store_for(settings)
    if settings.backend == "xlsx":
        from sheets_sync.stores.xlsx import read_grids
        grid = read_grids(store.master_path, only="Rekap").get("Rekap") or []
    else:
        grid = store.batch_get(store.master_id, ["Rekap"])["Rekap"]
    head = next(i for i, r in enumerate(grid) if r and "Kode OPD" in r)
    header = list(grid[head])
    cols = [header.index(h) for h in REKAP_KEEP]
    out = {}
    for r in grid[head + 1:]:
        r = list(r) + [None] * (len(header) - len(r))
        if r and _text(r[0]):
            out[_text(r[0])] = tuple(_text(r[c]) for c in cols)
    return out


def _text(v) -> str:
    if v is None or (isinstance(v, float) and v != v):
        return ""
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    return str(v).strip()


def result(settings) -> dict:
    return {"cells": status_cells(settings), "rekap": rekap(settings)}


def verdicts_misaligned(settings, as_of) -> list:
    """Rows whose Status/Keterangan differ from the verdict recomputed from the
    workbooks as they are now (and status cells on rows without input)."""
    from sheets_sync.validate import cross_opd as cross_opd_mod
    from sheets_sync.validate.frame import validate_frame

    store, forms = store_for(settings)
    opds, _ = store.read_registry()
    results, shown = {}, {}
    for o in opds:
        wb = store.read_workbook(o)
        results[o.code] = {k: validate_frame(s.frame, forms[k], as_of) for k, s in wb.sheets.items()}
        shown[o.code] = {k: s.current for k, s in wb.sheets.items()}
    cross, _ = cross_opd_mod.cross_opd(results, forms)
    bad = []
    for code, per in results.items():
        for key, res in per.items():
            res = res.with_problems(cross.get((code, key)))
            want = dict(zip(res.status.index.tolist(), zip(res.status.tolist(), res.notes().tolist())))
            cur = shown[code][key]
            have = {int(r): (_text(v[0]), _text(v[1])) for r, v in zip(cur.index.tolist(), cur.to_numpy(dtype=object).tolist())}
            for row in sorted(set(want) | set(have)):
                w = want.get(row, ("", ""))
                if have.get(row, ("", "")) != w:
                    bad.append((code, key, row, have.get(row), w))
    return bad


# ------------------------------------------------------------------ integrity
def open_every_workbook(folder: Path) -> list[str]:
    """Names of the .xlsx files in a folder; each must open with openpyxl."""
    names = []
    for path in sorted(Path(folder).glob("*.xlsx")):
        wb = openpyxl.load_workbook(path, read_only=True)
        for ws in wb.worksheets:          # every tab's XML parsed to its last cell
            for _ in ws.iter_rows(values_only=True):
                pass
        wb.close()
        names.append(path.name)
    return names


def integrity(db: Path) -> str:
    if not Path(db).exists():
        return "ok"
    con = sqlite3.connect(db, timeout=30)
    try:
        return con.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        con.close()


SLOT = re.compile(r"^(spi-\d{4}-.+-(?:h[+-]?\d*|digest)-\d{8})\.[0-9a-f]+\.eml$")


def outbox_slots(outbox: Path) -> Counter:
    """Reminder .eml files per slot (the Message-ID without its per-installation digest)."""
    out = Counter()
    for p in Path(outbox).glob("*.eml"):
        m = SLOT.match(p.name)
        out[m.group(1) if m else p.name] += 1
    return out


def ledger(db: Path) -> dict:
    con = sqlite3.connect(db, timeout=30)
    try:
        return {(o, k, d): s for o, k, d, s in con.execute("SELECT opd, kind, slot_date, status FROM reminders")}
    finally:
        con.close()
