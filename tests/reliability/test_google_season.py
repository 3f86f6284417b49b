"""A season on an emulator as strict as Google: requests checked against the
discovery documents, 60 requests a minute per group, a service account with no
Drive storage working in a shared drive, and Drive showing versions 30 s late.
Staff sort and delete rows mid-season, also between the worker's read and write.

Every cycle: zero 400s and zero 429s (by_status). Once the lag has passed (and, for a
sort between the worker's read and its write, its safety read after baca_ulang_jam):
every status belongs to its row, and no input cell was ever written by the worker."""
from __future__ import annotations

import datetime as dt

import pytest

from sheets_sync.config import WIB
from sheets_sync.stores.google import spreadsheet_id
from sheets_sync.stores.google_http import GoogleSession
from tests.backends import AS_OF, Deployment
from tests.doubles import ObservedStore
from tests.google_emulator import start_emulator
from tests.reliability.helpers import verdicts_misaligned
from tests.reliability.test_staff_edits import TAB, change_cell, input_cells, sheet_of, sort_rows

LAG = 30
SWITCHES = dict(strict=True, quota_per_minute=60, service_account=True, drive_lag_s=LAG)


@pytest.fixture
def season(tmp_path, monkeypatch):
    with start_emulator(strict=True) as emu:
        monkeypatch.setenv("SHEETS_EMULATOR_HOST", f"127.0.0.1:{emu.port}")
        emu.set_faults(strict=True, service_account=True)
        from sheets_sync.stores.google import raw_http
        drive = raw_http().request("post", "https://www.googleapis.com/drive/v3/drives",
                                   params={"requestId": "musim"}, json={"name": "SPI 2023"}).json()["id"]
        dep = Deployment("google", tmp_path, emulator=emu, n_opds=4, parent=drive,
                         session_factory=lambda: GoogleSession(None, sleep=lambda s: None))
        emu.set_faults(**SWITCHES)
        yield dep, emu


def cycle(dep, emu, store_wrap=None, now=None):
    """One cycle a sync interval after the last; returns the answers it got by status."""
    emu.advance_clock(600)
    before = dict(emu.stats()["by_status"])
    if store_wrap is None:
        rep = dep.cycle(now=now)
    else:
        from sheets_sync.cycle import run_cycle
        with dep.context() as ctx:
            ctx.store = store_wrap(ctx.store)
            rep = run_cycle(ctx)
    after = emu.stats()["by_status"]
    got = {k: after[k] - before.get(k, 0) for k in after if after[k] != before.get(k, 0)}
    assert not rep.errors, rep.errors
    return got


def look(emu):
    """Observers and staff are other users of the same quota: give them a fresh minute."""
    emu.advance_clock(61)


def delete_rows(dep, opd, sheet, n: int = 2):
    """Staff delete whole rows (deleteDimension): everything below moves up."""
    http = dep._google_store(staff=True).http   # a person at the OPD
    sid = spreadsheet_id(opd.location)
    meta = http.spreadsheets_get(sid, params={"fields": "sheets.properties(sheetId,title)"})
    tab = next(s["properties"]["sheetId"] for s in meta["sheets"] if s["properties"]["title"] == TAB)
    first = sheet.header_row + 1                    # 0-based index of the second data row
    http.batch_update(sid, {"requests": [{"deleteDimension": {"range": {
        "sheetId": tab, "dimension": "ROWS", "startIndex": first, "endIndex": first + n}}}]})


def test_a_strict_season_with_staff_sorting_and_deleting_rows(season):
    dep, emu = season
    clean = {"200", "204"}
    assert set(cycle(dep, emu)) <= clean                   # cold
    assert set(cycle(dep, emu)) <= clean                   # its own writes: taken as such, not read
    look(emu)
    opds = sorted((o for o in dep.opds() if "pegawai" in o.forms), key=lambda o: -len(sheet_of(dep, o).frame))
    a, b = opds[0], opds[1]
    assert len(sheet_of(dep, a).frame) >= 5 and len(sheet_of(dep, b).frame) >= 4

    # between two cycles: a whole-row sort in A, two rows deleted in B, inside Drive's lag
    look(emu)
    sort_rows(dep, a, sheet_of(dep, a), inputs_only=False)
    delete_rows(dep, b, sheet_of(dep, b))
    emu.advance_clock(LAG + 1)
    assert set(cycle(dep, emu)) <= clean

    # between the worker's read and its write: staff sort only the form's columns of B
    look(emu)
    sheet = sheet_of(dep, b)
    change_cell(dep, b, sheet)                              # a status change is due on B
    emu.advance_clock(LAG + 1)
    done = []

    def sort_after_read(o):
        if o.code == b.code and not done:
            done.append(True)
            sort_rows(dep, b, sheet_of(dep, b), inputs_only=True)

    got = cycle(dep, emu, lambda s: ObservedStore(s, after_read=sort_after_read))
    assert done and set(got) <= clean, got
    look(emu)
    edited = input_cells(dep)

    # the lag passes; two ordinary cycles, then one past baca_ulang_jam, put every status on
    # its row: the rows the sort moved between the worker's read and its write, whose statuses
    # were not written, are the one window the listing cannot show (the last change is the
    # worker's own write, taken as such); its safety read finds them
    emu.advance_clock(LAG + 1)
    assert set(cycle(dep, emu)) <= clean
    assert set(cycle(dep, emu)) <= clean
    later = dt.datetime.now(WIB) + dt.timedelta(hours=dep.settings.reread_hours, minutes=1)
    assert set(cycle(dep, emu, now=later)) <= clean
    look(emu)
    assert input_cells(dep) == edited                       # the worker never wrote an input cell
    look(emu)
    assert verdicts_misaligned(dep.settings, AS_OF) == []
