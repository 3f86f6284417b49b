"""Shared pieces of Google fault tests (tests/test_google_unread_reminders.py):
a demo deployment on the strict emulator, a person's raw HTTP access to an OPD
spreadsheet, one cycle with reminders due (H-3), and what an observer can see."""
from __future__ import annotations

import datetime as dt
import logging

import pytest

from sheets_sync import remind
from sheets_sync.config import WIB
from sheets_sync.cycle import run_cycle
from sheets_sync.cycle.state import State
from sheets_sync.stores.google import col_letter, quote, spreadsheet_id
from sheets_sync.stores.google_http import GoogleSession
from tests.backends import AS_OF, Deployment, rekap

NOW = dt.datetime(2023, 10, 12, 9, 0, tzinfo=WIB)   # H-3: a reminder slot is due


def no_sleep():
    return GoogleSession(None, sleep=lambda s: None, max_attempts=3)


@pytest.fixture
def gemu(monkeypatch):
    from tests.google_emulator import start_emulator
    with start_emulator() as e:
        monkeypatch.setenv("SHEETS_EMULATOR_HOST", e.url.replace("http://", ""))
        yield e


@pytest.fixture
def gdep(tmp_path, gemu):
    return Deployment("google", tmp_path, emulator=gemu, n_opds=3, session_factory=no_sleep)


def cycle(dep, hooks=True, store_wrap=None):
    with dep.context(AS_OF) as ctx:
        ctx.hooks = [remind.hook] if hooks else []
        ctx.now = lambda: NOW
        if store_wrap:
            ctx.store = store_wrap(ctx.store)
        return run_cycle(ctx)


def staff(dep):
    """gspread's HTTP client acting as a person at the OPD."""
    return dep._google_store(staff=True).http


def sid(opd) -> str:
    return spreadsheet_id(opd.location)


def tabs(dep, opd) -> dict[str, dict]:
    meta = staff(dep).spreadsheets_get(sid(opd), params={"fields": "sheets.properties"})
    return {s["properties"]["title"]: s["properties"] for s in meta["sheets"]}


def batch(dep, opd, reqs):
    return staff(dep).batch_update(sid(opd), {"requests": reqs})


def put(dep, opd, tab: str, row: int, col: int, values: list[list], how="RAW"):
    staff(dep).values_batch_update(sid(opd), {"valueInputOption": how, "data": [
        {"range": f"{quote(tab)}!{col_letter(col)}{row}", "values": values}]})


def formulas(dep, opd, tab: str) -> list[list]:
    return staff(dep).values_get(sid(opd), quote(tab), params={"valueRenderOption": "FORMULA"}).get("values", [])


def problems(dep, code) -> list[str]:
    with State(dep.settings.state_db) as state:
        return [p.code for p in state.opd(code).problems]


def outbox(dep) -> list:
    return sorted(dep.settings.outbox_dir.rglob("*.eml"))


def statuses(dep, opd, tab="Pegawai") -> list:
    """The Status column's values under its header in an OPD tab."""
    grid = dep.grids(opd)[tab]
    for i, row in enumerate(grid):
        if "Status" in row:
            c = row.index("Status")
            return [r[c] if len(r) > c else "" for r in grid[i + 1:] if any(v not in ("", None) for v in r[:c])]
    return []


__all__ = ["AS_OF", "NOW", "Deployment", "rekap", "cycle", "staff", "sid", "tabs", "batch", "put", "formulas",
           "problems", "outbox", "statuses", "gemu", "gdep", "no_sleep", "logging"]
