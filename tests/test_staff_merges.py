"""Merged cells in data columns (issue 14, point 1): staff merge "Unit Kerja" over a
block of rows; every row it covers gets the merge's value, whichever reader ran
(python-calamine, openpyxl) and on Google (the `merges` of the spreadsheet)."""
from __future__ import annotations

import openpyxl
import pytest

from sheets_sync.stores import CellWrite, workbook_from_grids
from sheets_sync.stores.xlsx import read_grids, read_grids_openpyxl
from sheets_sync.validate.frame import validate_frame
from sheets_sync.validate.registry import Opd
from tests.conftest import AS_OF, clean_row, status_by_row

ROWS = [clean_row("pegawai", i) for i in (1, 2, 3)]


def merged_workbook(path, forms):
    """A Pegawai tab (title row 1, header row 2) whose B3:B5 is one merged cell."""
    from sheets_sync import demo
    rows = [dict(r) for r in ROWS]
    rows[0]["unit_kerja"] = "Dinas Pendidikan dan Kebudayaan"
    rows[1]["unit_kerja"] = rows[2]["unit_kerja"] = None
    demo.write_opd_workbook(path, ["pegawai"], {"pegawai": rows}, forms=forms)
    book = openpyxl.load_workbook(path)
    book["Pegawai"].merge_cells("B3:B5")
    book.save(path)
    return path


@pytest.mark.parametrize("reader", [read_grids, read_grids_openpyxl])
def test_both_xlsx_readers_fill_merged_rows(tmp_path, forms, reader):
    path = merged_workbook(tmp_path / "DIKBUD.xlsx", forms)
    merges: dict = {}
    grids = reader(path, merges=merges)
    assert merges["Pegawai"] == [(3, 2, 5, 2)]
    wb = workbook_from_grids(Opd("DIKBUD", "Dikbud", forms=("pegawai",)), "r1", grids, forms, merges)
    frame = wb.sheets["pegawai"].frame
    assert frame["unit_kerja"].tolist() == ["Dinas Pendidikan dan Kebudayaan"] * 3
    res = validate_frame(frame, forms["pegawai"], AS_OF)
    assert res.status.tolist() == ["OK"] * 3


def test_a_cycle_writes_ok_beside_every_merged_row(deployment, forms):
    deployment.add_opd("DIKBUD", {"pegawai": ROWS})
    merged_workbook(deployment.path("DIKBUD"), forms)
    deployment.cycle()
    status = status_by_row(deployment.path("DIKBUD"), "Pegawai", forms, "pegawai")
    assert {r: s[0] for r, s in status.items()} == {3: "OK", 4: "OK", 5: "OK"}
    # the merge is left as staff made it, and the next cycle has nothing to write
    book = openpyxl.load_workbook(deployment.path("DIKBUD"))
    assert [str(r) for r in book["Pegawai"].merged_cells.ranges] == ["B3:B5"]
    assert deployment.cycle().written_cells == 0


def test_google_store_reads_merges(tmp_path, forms, monkeypatch):
    from sheets_sync.config import load_settings
    from sheets_sync.stores.google import GoogleStore, create_file, fill_tabs, raw_http, SHEET_MIME
    from sheets_sync.stores.google_http import GoogleSession
    from tests.google_emulator import start_emulator

    with start_emulator() as emu:
        monkeypatch.setenv("SHEETS_EMULATOR_HOST", emu.url.replace("http://", ""))
        http = raw_http()
        sid = create_file(http, "DIKBUD", SHEET_MIME, None)
        header = [c.header for c in forms["pegawai"].columns]
        body = [[r[k] for k in forms["pegawai"].keys] for r in ROWS]
        body[1][1] = body[2][1] = ""
        fill_tabs(http, sid, {"Pegawai": [["Pegawai (Internal)"], header] + body})
        sheet_id = http.spreadsheets_get(sid, params={"fields": "sheets.properties"})["sheets"][0]["properties"]["sheetId"]
        http.batch_update(sid, {"requests": [{"mergeCells": {"mergeType": "MERGE_ALL", "range": {
            "sheetId": sheet_id, "startRowIndex": 2, "endRowIndex": 5, "startColumnIndex": 1, "endColumnIndex": 2}}}]})
        cfg = tmp_path / "settings.yaml"
        cfg.write_text("backend: google\ngoogle: {master_id: x0000000000}\n", encoding="utf-8")
        store = GoogleStore(load_settings(cfg), forms, session=GoogleSession(None))
        opd = Opd("DIKBUD", "Dikbud", forms=("pegawai",), location=sid)
        wb = store.read_workbook(opd)
        frame = wb.sheets["pegawai"].frame
        assert frame["unit_kerja"].tolist() == ["Dinas Kesehatan"] * 3
        assert validate_frame(frame, forms["pegawai"], AS_OF).status.tolist() == ["OK"] * 3
        # the write's answer holds only the written rows: the merge's value is put back,
        # so the covered rows are not taken for rows edited meanwhile (no WB_CHANGED)
        col = wb.sheets["pegawai"].status_columns["status"]
        store.write_cells(opd, wb, [CellWrite("Pegawai", r, col, "OK") for r in (4, 5)])
        assert [row[col - 1] for row in store.batch_get(sid, ["Pegawai"])["Pegawai"][3:5]] == ["OK", "OK"]


def test_provision_repairs_a_lampiran_iii_b_tab_without_adding_columns(deployment, forms):
    """A tab in the circular's exact columns (no phone/e-mail): provision repairs what it
    can (formats, dropdowns) and never crashes on the columns it lacks."""
    from sheets_sync.provision.run import provision
    deployment.add_opd("DUKCAPIL", form_keys=["pengguna_layanan"], write=False)
    book = openpyxl.Workbook()
    ws = book.active
    ws.title = "Pengguna Layanan"
    header = [c.header for c in forms["pengguna_layanan"].columns if c.key not in ("no_hp", "email")]
    ws.append(header)
    ws.append([1, "Dukcapil", "Perekaman KTP-el", "02/10/2023", "Joko Susilo"])
    book.save(deployment.path("DUKCAPIL"))
    lines: list[str] = []
    provision(deployment.settings(), out=lines.append)     # before: KeyError on the absent columns
    assert any(line.startswith("DUKCAPIL") and "diperbaiki" in line for line in lines), lines
    after = openpyxl.load_workbook(deployment.path("DUKCAPIL"))["Pengguna Layanan"]
    assert [c.value for c in after[1]][:5] == header                  # staff's columns as they were
    deployment.cycle()
    status = status_by_row(deployment.path("DUKCAPIL"), "Pengguna Layanan", forms, "pengguna_layanan")
    assert status[2][0] == "PERIKSA" and "KPK tidak dapat menghubungi" in status[2][1]
