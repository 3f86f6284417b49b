"""The worker's health file (settings.health_file, state/health.json).

Written atomically after every cycle (a temporary file, fsync, rename), so a
monitor or `python -m sheets_sync status` never reads half a file:

    {
      "version": 1,
      "updated_at": "2023-10-12T10:00:03+07:00",          # WIB, wall clock
      "sync_interval_minutes": 10,
      "last_cycle": {"started_at": ..., "finished_at": ..., "ok": true, "seconds": 0.3,
                     "opds": 8, "read": 8, "validated": 8, "written_cells": 411,
                     "master_written": true, "problems": 0, "errors": []},
      "last_success": {"at": ..., "seconds": 0.3, "opds": 8, "read": 8, "validated": 8,
                       "written_cells": 411},
      "opd_states": {"BELUM MENGISI": 1, "BELUM LENGKAP": 2, "ADA KESALAHAN": 4, "LENGKAP": 1},
      "last_failure": {"at": ..., "message": "..."} | null,
      "consecutive_failures": 0
    }

A cycle that ran to its end is a success, even if some OPD had a problem (those
are in last_cycle.errors and in the Rekap); a cycle that stopped with an error, or
ran without doing its job (CycleReport.fatal: no registry, store unreachable), is a
failure (last_failure), and last_success keeps the time of the last good one.
Every text is masked like a log line (no phone, e-mail or secret).
"""
from __future__ import annotations

import datetime as dt
import json
import logging
from pathlib import Path

from sheets_sync.config import WIB
from sheets_sync.fileio import PRIVATE, atomic_write_text
from sheets_sync.logsafe import mask

log = logging.getLogger("sheets_sync.ops.health")
VERSION = 1
STALE_INTERVALS = 3   # the last success older than this many sync intervals: warn
STATES = ("BELUM MENGISI", "BELUM LENGKAP", "ADA KESALAHAN", "LENGKAP")


def now() -> dt.datetime:
    return dt.datetime.now(WIB)


def _iso(t: dt.datetime) -> str:
    return t.astimezone(WIB).isoformat(timespec="seconds")


def parse_time(text) -> dt.datetime | None:
    try:
        return dt.datetime.fromisoformat(str(text)).astimezone(WIB)
    except (TypeError, ValueError):
        return None


def wib(t: dt.datetime | None) -> str:
    return t.astimezone(WIB).strftime("%d/%m/%Y %H:%M:%S WIB") if t else "-"


# ------------------------------------------------------------------ reading
def read(settings) -> dict | None:
    """The health file, or None if there is none (or it is not JSON)."""
    try:
        data = json.loads(Path(settings.health_file).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def opd_states(state) -> dict[str, int]:
    """How many OPDs are in each state, from the last Rekap in the state database."""
    counts = {s: 0 for s in STATES}
    for row in state.get("rekap") or []:
        if len(row) > 7 and row[7]:
            key = str(row[7]).split(" (")[0]   # "LENGKAP (data lama, 12/10)" counts as LENGKAP
            counts[key] = counts.get(key, 0) + 1
    return counts


# ------------------------------------------------------------------ writing
def write(settings, data: dict) -> None:
    """Atomically replace the health file (never raises: health must not stop a cycle)."""
    path = Path(settings.health_file)
    try:
        atomic_write_text(path, json.dumps(data, ensure_ascii=False, indent=1), mode=PRIVATE)
    except OSError as e:
        log.warning("berkas kesehatan %s tidak dapat ditulis: %s", path, e.strerror or e)


def _base(settings) -> dict:
    old = read(settings) or {}
    return {"version": VERSION, "updated_at": None,
            "sync_interval_minutes": settings.sync_minutes,
            "last_cycle": old.get("last_cycle"), "last_success": old.get("last_success"),
            "opd_states": old.get("opd_states") or {}, "last_failure": old.get("last_failure"),
            "consecutive_failures": int(old.get("consecutive_failures") or 0)}


def record_success(settings, rep, *, started: dt.datetime, finished: dt.datetime | None = None,
                   states: dict | None = None) -> dict:
    """After a cycle that ran to its end (rep: sync.CycleReport)."""
    finished = finished or now()
    data = _base(settings)
    counts = {"opds": rep.opds, "read": rep.read, "validated": rep.validated,
              "written_cells": rep.written_cells}
    data["updated_at"] = _iso(finished)
    data["last_cycle"] = {"started_at": _iso(started), "finished_at": _iso(finished), "ok": not rep.errors,
                          "seconds": round(rep.seconds, 3), **counts, "master_written": rep.master_written,
                          "problems": rep.problems, "errors": [mask(str(e)) for e in rep.errors[:50]]}
    data["last_success"] = {"at": _iso(finished), "seconds": round(rep.seconds, 3), **counts}
    if states is not None:
        data["opd_states"] = states
    data["consecutive_failures"] = 0
    write(settings, data)
    return data


def record_failure(settings, message: str, *, started: dt.datetime, finished: dt.datetime | None = None) -> dict:
    """After a cycle that stopped with an error."""
    finished = finished or now()
    data = _base(settings)
    text = mask(str(message))[:1000]
    data["updated_at"] = _iso(finished)
    data["last_cycle"] = {"started_at": _iso(started), "finished_at": _iso(finished), "ok": False,
                          "failed": True, "errors": [text]}
    data["last_failure"] = {"at": _iso(finished), "message": text}
    data["consecutive_failures"] += 1
    write(settings, data)
    return data


# ------------------------------------------------------------------ judging
def stale(data: dict | None, settings, at: dt.datetime | None = None) -> str | None:
    """An Indonesian warning when the last success is older than three sync
    intervals (or there has been none while failures are recorded); else None."""
    at = at or now()
    limit = dt.timedelta(minutes=STALE_INTERVALS * settings.sync_minutes)
    if not data:
        return None
    last = parse_time((data.get("last_success") or {}).get("at"))
    if last is None:
        if data.get("last_failure"):
            return ("PERINGATAN: belum pernah ada siklus yang berhasil; siklus terakhir gagal. "
                    "Periksa: journalctl -u sheets-sync, dan python jobs.py --check.")
        return None
    age = at - last
    if age <= limit:
        return None
    return (f"PERINGATAN: siklus terakhir yang berhasil {_ago(age)} lalu ({wib(last)}), lebih lama dari "
            f"{STALE_INTERVALS} × interval sinkron ({STALE_INTERVALS * settings.sync_minutes} menit). "
            f"Pekerja mungkin berhenti atau gagal terus. Periksa: systemctl status sheets-sync; "
            f"journalctl -u sheets-sync; python jobs.py --check.")


def _ago(age: dt.timedelta) -> str:
    minutes = int(age.total_seconds() // 60)
    if minutes < 120:
        return f"{minutes} menit"
    hours = minutes // 60
    if hours < 48:
        return f"{hours} jam"
    return f"{hours // 24} hari"


def lines(data: dict | None, settings, at: dt.datetime | None = None) -> list[str]:
    """The health file in a few Indonesian lines (for `status` and `--check`)."""
    if not data:
        return ["Kesehatan: belum ada berkas kesehatan (belum ada siklus pekerja sejak dipasang)."]
    out = []
    last = data.get("last_cycle") or {}
    if last.get("failed"):   # first, so that nobody reads the last success below as today's
        out.append(f"SIKLUS TERAKHIR GAGAL ({wib(parse_time(last.get('finished_at')))}): "
                   f"{(last.get('errors') or ['?'])[0]}")
    ok = data.get("last_success") or {}
    if ok:
        out.append(f"Siklus berhasil terakhir: {wib(parse_time(ok.get('at')))} ({ok.get('seconds', 0):.1f} dtk; "
                   f"{ok.get('opds', 0)} OPD, {ok.get('read', 0)} dibaca, {ok.get('validated', 0)} divalidasi, "
                   f"{ok.get('written_cells', 0)} sel status ditulis)")
    else:
        out.append("Siklus berhasil terakhir: belum ada")
    states = data.get("opd_states") or {}
    if states:
        out.append("Keadaan OPD: " + ", ".join(f"{k} {v}" for k, v in states.items()))
    for err in ([] if last.get("failed") else last.get("errors") or [])[:10]:
        out.append(f"  galat siklus terakhir: {err}")
    fail = data.get("last_failure")
    if fail:
        n = data.get("consecutive_failures") or 0
        tail = f" ({n} kali berturut-turut)" if n > 1 else ""
        out.append(f"Kegagalan terakhir: {wib(parse_time(fail.get('at')))}{tail}: {fail.get('message')}")
    warning = stale(data, settings, at)
    if warning:
        out.append(warning)
    return out
