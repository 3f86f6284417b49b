"""Google backend specifics: request cost, faults, concurrent edits, the HTTP layer."""
from __future__ import annotations

import json
import logging

import pytest
import requests

from sheets_sync.forms import load_forms
from sheets_sync.stores import CellWrite
from sheets_sync.stores.google import MAX_REQUEST_BYTES, _changed_runs, _chunks, value_ranges, spreadsheet_id
from sheets_sync.stores.google_http import GoogleSession, SlidingWindow
from tests.backends import Deployment, rekap
from tests.doubles import ObservedStore


def no_sleep_session():
    return GoogleSession(None, sleep=lambda s: None, max_attempts=12)


@pytest.fixture
def dep(tmp_path, emu):
    return Deployment("google", tmp_path, emulator=emu, session_factory=no_sleep_session)


# ----------------------------------------------------------------- cost
def test_cost_follows_change(dep, emu):
    dep.cycle()
    dep.cycle()
    n = emu.stats()["requests"]
    dep.cycle()
    assert emu.stats()["requests"] - n <= 1                          # idle: one Drive listing
    opd = next(o for o in dep.opds() if rekap(dep)[o.code][3] > 0 and "pegawai" in o.forms)
    dep.set_cell(opd, "Pegawai", 4, 6, "0736-21234")
    n = emu.stats()["requests"]
    rep = dep.cycle()
    assert rep.written_cells >= 1
    assert emu.stats()["requests"] - n <= 5                          # one edited OPD, master included
    dep.cycle()                                                       # its own write: taken as such, not read
    n = emu.stats()["requests"]
    dep.cycle()
    assert emu.stats()["requests"] - n <= 1


def test_no_metadata_reads_when_tabs_have_their_names(dep, emu):
    def reads():
        by = emu.stats()["by_endpoint"]
        return by.get("sheets.spreadsheets.get", 0) + by.get("sheets.values.batchGet", 0)
    before = reads()
    rep = dep.cycle()
    # one read per OPD (its form tabs with their ids), the registry, and the master's tab
    # list (before and after adding its tabs); no metadata read per OPD
    assert reads() - before <= rep.read + 1 + 2


# --------------------------------------------------------------- faults
def test_cycle_survives_429_and_500(dep, emu, caplog):
    opds = dep.opds()
    inputs = {o.code: dep.grids(o) for o in opds}
    emu.set_faults(rate_429=0.3, rate_500=0.05, seed=7)
    with caplog.at_level(logging.WARNING):
        rep = dep.cycle()
    emu.clear_faults()
    assert not rep.errors, rep.errors
    assert "Traceback" not in caplog.text
    # every status written: a calm cycle finds nothing left to write
    dep.cycle()
    assert dep.cycle().written_cells == 0
    # and no input cell was touched
    forms = load_forms()
    for o in opds:
        after = dep.grids(o)
        for title, grid in inputs[o.code].items():
            form = next(f for f in forms if f.matches_sheet(title))
            width = len(form.columns)
            cut = lambda g: [[None if v == "" else v for v in r[:width]] + [None] * (width - len(r[:width]))  # noqa: E731
                             for r in g]
            assert cut(after[title][:len(grid)]) == cut(grid)


def test_429_with_retry_after_is_honoured_and_bounded(emu, caplog):
    waits = []
    s = GoogleSession(None, emulator=emu.url.replace("http://", ""), sleep=waits.append, retry_budget=5)
    emu.set_faults(rate_429=1.0)
    with caplog.at_level(logging.WARNING):
        r = s.get(emu.url + "/drive/v3/files")
    assert r.status_code == 429 and len(waits) == 5                     # bounded: 5 s of waiting per cycle
    assert all(w == 1.0 for w in waits)                                  # Retry-After of the emulator
    assert "Kuota" in caplog.text and "siklus berikutnya" in caplog.text
    emu.clear_faults()
    assert s.get(emu.url + "/drive/v3/files").status_code == 200


def test_timeouts_are_retried_then_reported():
    calls = []
    s = GoogleSession(None, emulator="127.0.0.1:9", sleep=calls.append, max_attempts=2, timeout=0.5)
    with pytest.raises(requests.ConnectionError):
        s.get("https://sheets.googleapis.com/v4/spreadsheets/x")
    assert len(calls) == 1


def test_edit_between_read_and_write_is_not_overwritten_with_old_statuses(dep, emu):
    dep.cycle()
    dep.cycle()
    opd = next(o for o in dep.opds() if rekap(dep)[o.code][3] > 0 and "pegawai" in o.forms)
    dep.set_cell(opd, "Pegawai", 3, 6, "0736-21234")          # makes a status change due
    def someone_types(o):
        if o.code == opd.code:
            dep.set_cell(opd, "Pegawai", 3, 6, "0813-1111-2222")   # typed while we validated

    from sheets_sync.cycle import run_cycle
    with dep.context() as ctx:
        ctx.store = ObservedStore(ctx.store, after_read=someone_types)
        rep = run_cycle(ctx)
    assert any(p.code == "WB_CHANGED" for r in rep.reports if r.opd.code == opd.code for p in r.problems)
    row = dep.grids(opd)["Pegawai"][2] + [""] * 8     # a blanked status trims the row's tail
    assert row[7] != "SALAH"                  # the landline verdict was not written over the fix
    dep.cycle()
    grid = dep.grids(opd)["Pegawai"]
    assert grid[2][5] == "0813-1111-2222" and grid[2][7] == "OK"


def test_deleted_spreadsheet_costs_one_lookup_a_cycle_after_it_is_reported(dep, emu):
    dep.cycle()
    dep.cycle()
    gone = dep.opds()[0]
    dep.delete(gone)
    dep.cycle()
    assert "tidak" in rekap(dep)[gone.code][11]
    dep.cycle()
    n = emu.stats()["by_endpoint"]
    dep.cycle()
    after = emu.stats()["by_endpoint"]
    spent = {k: after[k] - n.get(k, 0) for k in after if after[k] != n.get(k, 0)}
    # the listing, and the registered spreadsheet missing from it looked up on its own
    assert spent == {"drive.files.list": 1, "drive.files.get": 1}
    assert "tidak" in rekap(dep)[gone.code][11]


# ------------------------------------------------------- HTTP layer units
def test_emulator_host_rewrites_every_google_url():
    s = GoogleSession(None, emulator="127.0.0.1:8765")
    assert s._url("https://sheets.googleapis.com/v4/spreadsheets/a") == "http://127.0.0.1:8765/v4/spreadsheets/a"
    assert s._url("https://www.googleapis.com/drive/v3/files") == "http://127.0.0.1:8765/drive/v3/files"


def test_sliding_window_keeps_to_the_quota():
    now = [0.0]
    slept = []

    def sleep(s):
        slept.append(s)
        now[0] += s

    b = SlidingWindow(60, clock=lambda: now[0], sleep=sleep)
    for _ in range(60):
        b.take()
    assert not slept                       # a burst of 60 is allowed
    b.take()
    assert slept and slept[0] >= 60.0      # the 61st waits until the first leaves the window


def test_spreadsheet_id_from_link_or_id():
    assert spreadsheet_id("https://docs.google.com/spreadsheets/d/1AbCdEfGhIjKlMnOp/edit#gid=0") == "1AbCdEfGhIjKlMnOp"
    assert spreadsheet_id(" 1AbCdEfGhIjKlMnOp ") == "1AbCdEfGhIjKlMnOp"


def test_status_writes_group_into_row_ranges():
    writes = [CellWrite("Pegawai", 5, 8, "OK"), CellWrite("Pegawai", 5, 9, ""), CellWrite("Pegawai", 5, 10, "t"),
              CellWrite("Pegawai", 7, 8, "SALAH"), CellWrite("Pengguna Layanan", 3, 10, "t")]
    got = list(value_ranges(writes))
    assert got[0] == ("'Pegawai'!H5:J5", [["OK", "", "t"]])
    assert got[1] == ("'Pegawai'!H7:H7", [["SALAH"]])
    assert got[2][0] == "'Pengguna Layanan'!J3:J3"


def test_big_writes_are_chunked_under_two_megabytes():
    rows = [["x" * 100] * 10 for _ in range(5000)]      # ~5 MB of values
    chunks = list(_chunks([{"range": "'Pegawai'!A1", "values": rows}]))
    assert len(chunks) >= 3
    assert all(len(json.dumps(c)) <= MAX_REQUEST_BYTES for c in chunks)
    assert sum(len(i["values"]) for c in chunks for i in c) == 5000


def test_master_rows_rewritten_only_where_they_changed():
    rows = [["a"], ["b"], ["c"], ["d"]]
    hashes = ["1", "2", "3", "4"]
    assert _changed_runs("T", rows, hashes, hashes, 1) == []
    runs = _changed_runs("T", rows[:3], ["1", "9", "3"], hashes, 1)
    assert [r["range"] for r in runs] == ["'T'!A2", "'T'!A4"]
    assert runs[1]["values"] == [[""]]                # a row that disappeared is blanked


def test_master_rows_are_keyed_inserts_and_deletes_where_they_happened():
    from sheets_sync.stores.google import keyed_rows
    old = [["h"]] + [[f"r{i}"] for i in range(10)]
    new = old[:4] + [["baru"]] + old[4:7] + old[8:]           # one row in, one row out
    h = lambda rows: [r[0] for r in rows]                      # noqa: E731 - the row is its hash here
    moves, runs = keyed_rows("T", 7, new, h(new), h(old), 1)
    assert moves == [{"deleteDimension": {"range": {"sheetId": 7, "dimension": "ROWS", "startIndex": 7, "endIndex": 8}}},
                     {"insertDimension": {"range": {"sheetId": 7, "dimension": "ROWS", "startIndex": 4, "endIndex": 5},
                                          "inheritFromBefore": True}}]
    assert runs == [{"range": "'T'!A5", "values": [["baru"]]}]  # the rows below are not rewritten
    assert keyed_rows("T", 7, new, h(new), h(new), 1) == ([], [])
    assert keyed_rows("T", 7, new, h(new), [], 1)[0] == []     # nothing known: rows in place


def test_one_row_more_in_a_long_master_tab_costs_one_row(dep, emu):
    from sheets_sync.stores import SheetSpec
    from sheets_sync.stores.google import _table
    rows = [[f"OPD{i % 9}", i, "SALAH" if i % 4 else "PERIKSA", f"Keterangan {i}"] for i in range(3000)]
    spec = lambda rs: SheetSpec("Masalah", ["Kode", "Baris", "Status", "Keterangan"], rs, [10] * 4)  # noqa: E731
    later = rows[:1200] + [["OPD1", 99999, "SALAH", "baru"]] + rows[1200:2500] + rows[2501:]
    later[10] = ["OPD0", 10, "OK", "diubah"]
    with dep.context() as ctx:
        ctx.store.write_master([spec(rows)])
        sent, send = [], ctx.store.http.values_batch_update
        ctx.store.http.values_batch_update = lambda sid, body: sent.append(json.dumps(body)) or send(sid, body)
        before = emu.stats()
        ctx.store.write_master([spec(later)])
        after = emu.stats()
        got = ctx.store.http.values_get(ctx.store.master_id, "'Masalah'!A1:D4000",
                                        params={"valueRenderOption": "UNFORMATTED_VALUE"})["values"]
    assert after["requests"] - before["requests"] == 2          # the row moves, then the values
    assert sum(map(len, sent)) < 1000                           # two rows of values, not 1,800
    assert got == [[c for c in r] for r in _table(spec(later))]
