"""The .xlsx store: only the status cells are written, everything else in the
workbook survives; atomic replace; no write over a workbook that changed or is
open in Excel/LibreOffice; broken workbooks and headers are reported in the Rekap
while the other OPDs go on; the master's tabs, chart and formula safety."""
from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import zipfile

import openpyxl
import pytest
from openpyxl.comments import Comment
from openpyxl.formatting.rule import CellIsRule
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.worksheet.datavalidation import DataValidation

from sheets_sync import codes, demo
from sheets_sync.validate.layout import Problem
from sheets_sync.stores import CellWrite, StoreError
from sheets_sync.stores import xlsx as xlsx_store
from sheets_sync.stores.xlsx import XlsxStore
from sheets_sync.fileio import atomic_save
from sheets_sync.cycle.writes import NOTICE_PREFIX

from tests.conftest import (AS_OF, clean_row, clean_rows, kriteria_slots, sheet_rows, status_by_row,
                            table, zip_members)


def wb_text(code: str) -> str:
    """The fixed part of a workbook problem's text (up to its first placeholder)."""
    return codes.WORKBOOK_CODES[code].split("{")[0].strip()


def rekap(dep) -> dict[str, dict]:
    return {r["Kode OPD"]: r for r in table(dep.master, "Rekap", "Kode OPD")}


def listing(path):
    return sorted(p.name for p in path.parent.iterdir())


# ------------------------------------------------- a workbook staff decorated
def rich_workbook(path, forms):
    """A Pegawai tab with title, styles, number formats, a comment, a data validation,
    conditional formatting, merged title, widths, a frozen pane, plus other tabs."""
    wb = openpyxl.Workbook()
    info = wb.active
    info.title = "Petunjuk"
    info["A1"] = "Petunjuk pengisian"
    info["A1"].font = Font(bold=True, size=14, color="FF0000")
    info["A2"] = "=COUNTA(Pegawai!C3:C100)"
    info["B5"] = dt.datetime(2023, 10, 1)
    info["B5"].number_format = "DD MMMM YYYY"
    info.merge_cells("A7:D8")
    info["A7"] = "Kolom berwarna wajib diisi"
    info["A7"].fill = PatternFill("solid", fgColor="FFFF00")

    ws = wb.create_sheet("Pegawai")
    form = forms["pegawai"]
    ws["A1"] = form.title
    ws["A1"].font = Font(bold=True, size=13, name="Arial")
    ws.merge_cells("A1:G1")
    ws["A1"].alignment = Alignment(horizontal="center")
    thin = Side(style="thin", color="000000")
    for j, c in enumerate(form.columns, start=1):
        cell = ws.cell(2, j, c.header)
        cell.font = Font(bold=True, color="FFFFFF")
        cell.fill = PatternFill("solid", fgColor="305496")
        cell.border = Border(left=thin, right=thin, top=thin, bottom=thin)
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    rows = [clean_row("pegawai", 1, tanggal_mulai=dt.datetime(2015, 2, 1)),
            clean_row("pegawai", 2, no_hp="021-5551234"),                       # SALAH
            clean_row("pegawai", 3, email=None),                                # PERIKSA
            {"no": 4},                                                          # prefilled only
            clean_row("pegawai", 5, nama="12345", tanggal_mulai=45000)]         # SALAH
    for i, r in enumerate(rows, start=3):
        for j, key in enumerate(form.keys, start=1):
            cell = ws.cell(i, j, r.get(key))
            cell.font = Font(italic=(i % 2 == 0), name="Calibri", size=10)
            cell.border = Border(bottom=Side(style="dotted"))
            if key == "tanggal_mulai":
                cell.number_format = "DD/MM/YYYY"
            if key == "no_hp":
                cell.number_format = "@"
    ws.cell(3, 3).comment = Comment("Nama lengkap dengan gelar", "Operator")
    ws["E3"].fill = PatternFill("solid", fgColor="C6EFCE")
    dv = DataValidation(type="list", formula1='"Staf,Kepala Seksi,Analis Kebijakan"', allow_blank=True)
    dv.add("E3:E200")
    ws.add_data_validation(dv)
    ws.conditional_formatting.add("G3:G200", CellIsRule(operator="equal", formula=['""'],
                                                        fill=PatternFill("solid", fgColor="FFC7CE")))
    ws.column_dimensions["C"].width = 33
    ws.row_dimensions[2].height = 40
    ws.freeze_panes = "A3"
    ws.cell(20, 2).fill = PatternFill("solid", fgColor="DDDDDD")   # formatted but empty
    wb.create_sheet("Catatan OPD")["A1"] = "catatan internal, jangan diubah"
    wb.save(path)
    return rows


STYLE_ATTRS = ("font", "fill", "border", "alignment", "number_format", "protection")


def snapshot(path, skip: dict[str, set[int]]):
    """Every cell's value and style, sheet by sheet, except the columns in skip."""
    wb = openpyxl.load_workbook(path)
    out = {"sheets": wb.sheetnames}
    for ws in wb.worksheets:
        cells = {}
        for row in ws.iter_rows(min_row=1, max_row=max(ws.max_row, 25), max_col=max(ws.max_column, 12)):
            for c in row:
                if c.column in skip.get(ws.title, set()):
                    continue
                cells[c.coordinate] = (c.value, c.data_type, c.comment.text if c.comment else None,
                                       *[repr(getattr(c, a)) for a in STYLE_ATTRS])
        out[ws.title] = {
            "cells": cells,
            "merged": sorted(str(r) for r in ws.merged_cells.ranges),
            "validations": sorted((dv.type, dv.formula1, str(dv.sqref)) for dv in ws.data_validations.dataValidation),
            "conditional": sorted(str(rng.sqref) for rng in ws.conditional_formatting),
            "widths": {k: d.width for k, d in ws.column_dimensions.items() if k not in "HIJ"},
            "heights": {k: d.height for k, d in ws.row_dimensions.items() if d.height},
            "freeze": ws.freeze_panes,
        }
    wb.close()
    return out


def test_cycle_writes_only_status_cells_and_preserves_everything_else(deployment, forms):
    path = deployment.add_opd("DINKES", form_keys=["pegawai"], write=False)
    rows = rich_workbook(path, forms)
    before = snapshot(path, {"Pegawai": {8, 9, 10}})
    rep = deployment.cycle()
    assert not rep.errors and rep.read == 1 and rep.written_cells > 0
    after = snapshot(path, {"Pegawai": {8, 9, 10}})
    for title in before["sheets"]:
        for coord, cell in before[title]["cells"].items():
            assert after[title]["cells"][coord] == cell, (title, coord)
        assert before[title] == after[title], title
    assert before == after
    st = status_by_row(path, "Pegawai", forms, "pegawai")
    assert {r: v[0] for r, v in st.items()} == {3: "OK", 4: "SALAH", 5: "PERIKSA", 7: "SALAH"}
    assert st[3][1] in (None, "") and st[4][1] and st[7][2]
    assert sheet_rows(path, "Pegawai")[1][7:10] == ("Status", "Keterangan", "Diperiksa")
    assert len(rows) == 5


def test_formula_cells_in_other_tabs_stay_formulas(deployment, forms):
    path = deployment.add_opd("DINKES", form_keys=["pegawai"], write=False)
    rich_workbook(path, forms)
    deployment.cycle()
    wb = openpyxl.load_workbook(path)
    assert wb["Petunjuk"]["A2"].value == "=COUNTA(Pegawai!C3:C100)" and wb["Petunjuk"]["A2"].data_type == "f"


def test_write_is_an_atomic_replace(deployment, forms):
    path = deployment.add_opd("DINKES", {"pegawai": [clean_row("pegawai", 1, no_hp="021-5551234")]})
    inode = path.stat().st_ino
    names = listing(path)
    deployment.cycle()
    assert path.stat().st_ino != inode          # a new file renamed over the old, not rewritten in place
    assert listing(path) == names               # no temporary file left beside it


def test_write_keeps_the_file_mode(deployment):
    path = deployment.add_opd("DINKES", {"pegawai": [clean_row("pegawai", 1, no_hp="021-5551234")]})
    os.chmod(path, 0o640)
    assert deployment.cycle().written_cells
    assert path.stat().st_mode & 0o777 == 0o640


def test_atomic_save_abandoned_leaves_the_original(tmp_path):
    target = tmp_path / "a.xlsx"
    wb = openpyxl.Workbook()
    wb.active["A1"] = "lama"
    wb.save(target)
    original = target.read_bytes()
    wb.active["A1"] = "baru"

    def refuse():
        raise StoreError(Problem("WB_CHANGED"))

    with pytest.raises(StoreError):
        atomic_save(wb, target, before_replace=refuse)
    assert target.read_bytes() == original
    assert listing(target) == ["a.xlsx"]


def test_atomic_save_failing_midway_leaves_the_original(tmp_path, monkeypatch):
    target = tmp_path / "a.xlsx"
    wb = openpyxl.Workbook()
    wb.save(target)
    original = target.read_bytes()

    def broken_save(self, filename):
        with open(filename, "wb") as f:
            f.write(b"PK\x03\x04 half a file")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(openpyxl.Workbook, "save", broken_save)
    with pytest.raises(OSError):
        atomic_save(wb, target)
    assert target.read_bytes() == original and listing(target) == ["a.xlsx"]


# ------------------------------------------------ changed since it was read
def _touch_edit(path, cell="F3", value="0813-9999-0000"):
    wb = openpyxl.load_workbook(path)
    wb.worksheets[0][cell] = value
    wb.save(path)
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 5_000_000_000))


def test_write_cells_refuses_a_workbook_changed_after_reading(deployment, forms):
    path = deployment.add_opd("DINKES", {"pegawai": [clean_row("pegawai", 1)]})
    store = XlsxStore(deployment.data, forms)
    opd = store.read_registry()[0][0]
    wb = store.read_workbook(opd)
    _touch_edit(path)
    edited = path.read_bytes()
    with pytest.raises(StoreError) as e:
        store.write_cells(opd, wb, [CellWrite("Pegawai", 3, 8, "OK")])
    assert e.value.problem.code == "WB_CHANGED"
    assert path.read_bytes() == edited


def test_change_during_the_save_is_detected(deployment, forms, monkeypatch):
    path = deployment.add_opd("DINKES", {"pegawai": [clean_row("pegawai", 1)]})
    store = XlsxStore(deployment.data, forms)
    opd = store.read_registry()[0][0]
    wb = store.read_workbook(opd)
    from sheets_sync.stores import xlsx_write
    real = xlsx_write.atomic_write
    edited = {}

    def racing(target, write, before_replace=None, **kw):
        _touch_edit(path)           # staff press Ctrl+S while the worker saves
        edited["bytes"] = path.read_bytes()
        return real(target, write, before_replace=before_replace, **kw)

    monkeypatch.setattr(xlsx_write, "atomic_write", racing)
    with pytest.raises(StoreError) as e:
        store.write_cells(opd, wb, [CellWrite("Pegawai", 3, 8, "OK")])
    assert e.value.problem.code == "WB_CHANGED"
    assert path.read_bytes() == edited["bytes"]
    assert [n for n in listing(path) if n.endswith(".tmp")] == []


class RacingStore(XlsxStore):
    """Edits the OPD workbook between read_workbook and write_cells, once."""

    armed = True

    def write_cells(self, opd, wb, writes):
        if RacingStore.armed and writes:
            RacingStore.armed = False
            _touch_edit(self.path(opd), "F3", "0813-9999-0000")
        return super().write_cells(opd, wb, writes)


def test_cycle_skips_a_changed_workbook_and_writes_it_next_cycle(deployment, forms):
    path = deployment.add_opd("DINKES", {"pegawai": clean_rows("pegawai", 2)})
    other = deployment.add_opd("DINSOS", {"pegawai": clean_rows("pegawai", 2, start=20)})
    RacingStore.armed = True
    deployment.cycle(store=RacingStore(deployment.data, forms))
    assert status_by_row(other, "Pegawai", forms, "pegawai")          # the others go on
    assert status_by_row(path, "Pegawai", forms, "pegawai") == {}     # nothing written over the edit
    assert sheet_rows(path, "Pegawai")[2][5] == "0813-9999-0000"
    rep = deployment.cycle()
    assert rep.read >= 1
    st = status_by_row(path, "Pegawai", forms, "pegawai")
    assert st[3][0] == "OK" and st[4][0] == "OK"
    assert sheet_rows(path, "Pegawai")[2][5] == "0813-9999-0000"       # the edit survived


# ------------------------------------------------------------------ locks
@pytest.mark.parametrize("lock_name", ["~$DINKES.xlsx", ".~lock.DINKES.xlsx#"])
def test_open_workbook_is_not_written_until_closed(deployment, forms, lock_name):
    path = deployment.add_opd("DINKES", {"pegawai": [clean_row("pegawai", 1, no_hp="021-5551234")]})
    other = deployment.add_opd("DINSOS", {"pegawai": [clean_row("pegawai", 30)]})
    lock = path.parent / lock_name
    lock.write_bytes(b"operator")
    original, mtime = path.read_bytes(), path.stat().st_mtime_ns
    deployment.cycle()
    assert path.read_bytes() == original and path.stat().st_mtime_ns == mtime
    assert status_by_row(other, "Pegawai", forms, "pegawai")[3][0] == "OK"
    assert wb_text("WB_LOCKED") in (rekap(deployment)["DINKES"]["Catatan"] or "")
    deployment.cycle()                                          # still open
    assert path.read_bytes() == original
    lock.unlink()
    deployment.cycle()
    assert status_by_row(path, "Pegawai", forms, "pegawai")[3][0] == "SALAH"
    assert wb_text("WB_LOCKED") not in (rekap(deployment)["DINKES"]["Catatan"] or "")


def test_master_open_in_excel_is_written_after_it_closes(deployment, forms):
    deployment.add_opd("DINKES", {"pegawai": [clean_row("pegawai", 1)]})
    lock = deployment.data / "~$master.xlsx"
    lock.write_bytes(b"x")
    rep = deployment.cycle()
    assert not rep.master_written and rep.errors
    # said for the admin (status shows the cycle's errors): the master is open, in words
    assert any(e.startswith("master belum ditulis: master sedang dibuka di Excel/LibreOffice") for e in rep.errors)
    assert "Rekap" not in openpyxl.load_workbook(deployment.master).sheetnames
    lock.unlink()
    rep = deployment.cycle()
    assert rep.master_written
    assert "DINKES" in rekap(deployment)


# --------------------------------------------- broken headers, tabs, files
def _rewrite_header(path, title, fn):
    wb = openpyxl.load_workbook(path)
    fn(wb[title])
    wb.save(path)


def test_a_renamed_no_hp_header_is_reported_while_the_rows_are_still_checked(deployment, forms):
    """Pengguna Layanan's No HP column is optional (the circular's table lacks it): renamed
    'Nomor WA', it was not found and every phone was dropped without a word, the OPD
    LENGKAP. Now the Rekap and the e-mail name the column, the OPD is not LENGKAP, and
    the tab's rows are still checked and counted."""
    from sheets_sync import remind
    from sheets_sync.forms import forms_for
    key = "pengguna_layanan"
    path = deployment.add_opd("DINSOS", {key: clean_rows(key, 3)})
    good = deployment.add_opd("GOOD", {key: clean_rows(key, 3, start=10)})
    _rewrite_header(path, "Pengguna Layanan", lambda ws: setattr(ws["F2"], "value", "Nomor WA"))

    rep = deployment.cycle()
    r = rekap(deployment)
    said = codes.render("HEADER_UNKNOWN", tab="Pengguna Layanan", judul="Nomor WA", kolom="No HP (WA)")
    assert said in r["DINSOS"]["Catatan"]
    assert r["DINSOS"]["Keadaan"] == "ADA KESALAHAN" and r["DINSOS"]["Baris"] == 3
    assert r["GOOD"]["Keadaan"] == "LENGKAP" and not r["GOOD"]["Catatan"]
    assert set(status_by_row(path, "Pengguna Layanan", forms, key)) == {3, 4, 5}   # checked all the same
    ws = openpyxl.load_workbook(path)["Pengguna Layanan"]
    status = next(c.column for c in ws[2] if c.value == "Status")
    line = ws.cell(row=1, column=status).value            # the OPD reads it in its own tab too
    assert line.startswith("3 baris:") and \
        "PERHATIAN: ganti judul 'Nomor WA' menjadi 'No HP (WA)'." in line
    rep_again = deployment.cycle()                         # said once, not rewritten every cycle
    assert rep_again.written_cells == 0
    settings = deployment.settings()
    rcfg = remind.reminder_config(settings)
    slot = remind.season(rcfg, settings.deadline)[0]
    mine = next(x for x in rep.reports if x.opd.code == "DINSOS")
    ctx = remind.opd_context(mine, forms_for(settings), settings, rcfg, slot, slot.date)
    assert said in ctx["file_problems"] and ctx["forms"][0]["tab_faults"] == [said]


def test_header_problems_are_reported_and_the_others_go_on(deployment, forms):
    renamed = deployment.add_opd("RENAMED", {"pegawai": [clean_row("pegawai", 1)]})
    moved = deployment.add_opd("MOVED", {"pegawai": [clean_row("pegawai", 2)]})
    deleted = deployment.add_opd("DELETED", {"pegawai": [clean_row("pegawai", 3)]})
    notab = deployment.add_opd("NOTAB", {"pegawai": [clean_row("pegawai", 4)]})
    good = deployment.add_opd("GOOD", {"pegawai": [clean_row("pegawai", 5)]})

    _rewrite_header(renamed, "Pegawai", lambda ws: setattr(ws["F2"], "value", "Nomor WA"))

    def swap(ws):
        ws["C2"], ws["E2"] = ws["E2"].value, ws["C2"].value
    _rewrite_header(moved, "Pegawai", swap)
    _rewrite_header(deleted, "Pegawai", lambda ws: ws.delete_cols(3))
    _rewrite_header(notab, "Pegawai", lambda ws: setattr(ws, "title", "Sheet1"))
    before = {p: p.read_bytes() for p in (renamed, moved, deleted, notab)}
    cells_before = {p: sheet_rows(p, "Pegawai") for p in (renamed, moved, deleted)}

    rep = deployment.cycle()
    r = rekap(deployment)
    assert codes.render("HEADER_MISSING", tab="Pegawai", kolom="No HP (W/A) aktif") in r["RENAMED"]["Catatan"]
    assert wb_text("HEADER_ORDER").replace("'{tab}'", "") in r["MOVED"]["Catatan"] or \
        codes.render("HEADER_ORDER", tab="Pegawai", kolom="")[:20] in r["MOVED"]["Catatan"]
    assert "Pegawai" in r["MOVED"]["Catatan"]
    assert codes.render("HEADER_MISSING", tab="Pegawai", kolom="Nama Pegawai") in r["DELETED"]["Catatan"]
    assert codes.render("SHEET_MISSING", tab="Pegawai", formulir=forms["pegawai"].title) in r["NOTAB"]["Catatan"]
    for code in ("RENAMED", "MOVED", "DELETED", "NOTAB"):
        assert r[code]["Keadaan"] == "ADA KESALAHAN", code
    assert r["GOOD"]["Keadaan"] == "LENGKAP" and not r["GOOD"]["Catatan"]
    assert status_by_row(good, "Pegawai", forms, "pegawai")[3][0] == "OK"
    assert notab.read_bytes() == before[notab]          # no tab to tell: the file is untouched
    for p in (renamed, moved, deleted):                  # the broken tab says so in its own sheet,
        now, was = sheet_rows(p, "Pegawai"), cells_before[p]   # in one cell above the header
        changed = [(r, c) for r, row in enumerate(now) for c, v in enumerate(row)
                   if v != (was[r][c] if r < len(was) and c < len(was[r]) else None)]
        assert len(changed) == 1 and changed[0][0] == 0, (p.name, changed)
        text = now[0][changed[0][1]]
        assert text.startswith(NOTICE_PREFIX) and text.endswith(r[p.stem]["Catatan"]), (p.name, text)
    masalah = table(deployment.master, "Masalah", "Kode OPD")
    assert {m["Kode OPD"] for m in masalah if m["Status"] == "BERKAS"} == {"RENAMED", "MOVED", "DELETED", "NOTAB"}
    assert rep.problems == 4


def test_header_order_problem_code(deployment, forms):
    path = deployment.add_opd("MOVED", {"pegawai": [clean_row("pegawai", 2)]})

    def swap(ws):
        ws["C2"], ws["E2"] = ws["E2"].value, ws["C2"].value
    _rewrite_header(path, "Pegawai", swap)
    store = XlsxStore(deployment.data, forms)
    wb = store.read_workbook(store.read_registry()[0][0])
    assert [p.code for p in wb.problems] == ["HEADER_ORDER"] and not wb.sheets


@pytest.mark.parametrize("content", [
    os.urandom(2048),
    bytes.fromhex("D0CF11E0A1B11AE1") + os.urandom(4096),          # encrypted workbooks are OLE/CFB
    b"PK\x03\x04" + os.urandom(500),                                # a truncated zip
    b"",
], ids=["random", "ole-password", "truncated-zip", "empty"])
def test_unreadable_workbook_is_reported_and_the_others_go_on(deployment, forms, content):
    bad = deployment.add_opd("RUSAK", {"pegawai": [clean_row("pegawai", 1)]})
    good = deployment.add_opd("BAIK", {"pegawai": [clean_row("pegawai", 2, no_hp="021-5551234")]})
    bad.write_bytes(content)
    rep = deployment.cycle()
    assert not rep.errors, rep.errors
    r = rekap(deployment)
    assert wb_text("WB_UNREADABLE") in r["RUSAK"]["Catatan"]
    assert r["RUSAK"]["Keadaan"] == "ADA KESALAHAN (berkas tidak terbaca)"   # never read: no counts to show
    assert status_by_row(good, "Pegawai", forms, "pegawai")[3][0] == "SALAH"
    assert bad.read_bytes() == content
    rep = deployment.cycle()              # not re-read while it stays the same
    assert rep.read == 0
    demo_rows = {"pegawai": [clean_row("pegawai", 1)]}
    from sheets_sync import demo
    demo.write_opd_workbook(bad, ["pegawai"], demo_rows, forms=forms)   # saved again properly
    deployment.cycle()
    assert status_by_row(bad, "Pegawai", forms, "pegawai")[3][0] == "OK"
    assert not rekap(deployment)["RUSAK"]["Catatan"]


def test_missing_workbook(deployment, forms):
    deployment.add_opd("HILANG", {"pegawai": [clean_row("pegawai", 1)]})
    deployment.add_opd("ADA", {"pegawai": [clean_row("pegawai", 2)]})
    deployment.path("HILANG").unlink()
    deployment.cycle()
    r = rekap(deployment)
    assert codes.render("WB_NOT_FOUND", lokasi="HILANG.xlsx") in r["HILANG"]["Catatan"]
    assert r["ADA"]["Keadaan"] == "LENGKAP"


# ------------------------------------------------------------------ master
def test_master_tabs_states_counts_and_chart(deployment, forms):
    deployment.add_opd("LENGKAP1", {"pegawai": clean_rows("pegawai", 2, start=1)})
    deployment.add_opd("SALAH1", {"pegawai": [clean_row("pegawai", 10), clean_row("pegawai", 11, nama="123"),
                                               clean_row("pegawai", 12, email=None)]})
    deployment.add_opd("KOSONG", {"pegawai": [{"no": 1}, {"no": 2}], "pengguna_layanan": [{"no": 1}]})
    deployment.add_opd("SEBAGIAN", {"pegawai": clean_rows("pegawai", 2, start=20), "pengguna_layanan": []})
    slots = kriteria_slots(forms)
    deployment.add_opd("AHLI", {"eksper": [clean_row("eksper", 40 + i, kriteria=slots[i]) for i in range(12)]
                                + [{"no": 13, "kriteria": slots[12]}]})
    rep = deployment.cycle()
    assert rep.master_written
    book = openpyxl.load_workbook(deployment.master)
    for title in ["Daftar OPD", "Rekap", "Masalah", "Pegawai", "Pengguna Layanan", "Penyedia PBJ", "Eksper",
                  "Slot Ahli", "Lintas OPD"]:
        assert title in book.sheetnames, title
    r = rekap(deployment)
    assert list(r) == ["LENGKAP1", "SALAH1", "KOSONG", "SEBAGIAN", "AHLI"]          # registry order
    assert r["LENGKAP1"]["Keadaan"] == "LENGKAP"
    assert r["SALAH1"]["Keadaan"] == "ADA KESALAHAN"
    assert (r["SALAH1"]["Baris"], r["SALAH1"]["OK"], r["SALAH1"]["PERIKSA"], r["SALAH1"]["SALAH"]) == (3, 1, 1, 1)
    assert r["KOSONG"]["Keadaan"] == "BELUM MENGISI" and r["KOSONG"]["Baris"] == 0
    assert r["SEBAGIAN"]["Keadaan"] == "BELUM LENGKAP"
    assert r["AHLI"]["Keadaan"] == "BELUM LENGKAP" and r["AHLI"]["Slot Ahli"] == "12/13"
    # the bar chart of the Rekap
    assert book["Rekap"]._charts, "Rekap has no chart"
    assert any(re.fullmatch(r"xl/charts/chart\d+\.xml", n) for n in zip_members(deployment.master))
    # Masalah: every flagged row
    masalah = table(deployment.master, "Masalah", "Kode OPD")
    assert {(m["Kode OPD"], m["Baris"], m["Status"]) for m in masalah} == {("SALAH1", 4, "SALAH"),
                                                                           ("SALAH1", 5, "PERIKSA")}
    # one tab per form with the accepted rows and their OPD
    peg = table(deployment.master, "Pegawai", "Kode OPD")
    assert sorted((p["Kode OPD"], p["Baris"]) for p in peg) == sorted(
        [("LENGKAP1", 3), ("LENGKAP1", 4), ("SALAH1", 3), ("SALAH1", 5), ("SEBAGIAN", 3), ("SEBAGIAN", 4)])
    assert {p["No HP (W/A) aktif"] for p in peg if p["Kode OPD"] == "LENGKAP1"} == {"+6281230000001", "+6281230000002"}
    # Slot Ahli: 13 slots, 12 filled by AHLI
    slot = table(deployment.master, "Slot Ahli", "Slot")
    assert sum(s["Slot"] for s in slot) == 13
    assert sum(s["Terisi"] for s in slot) == 12
    assert {s["Kriteria Ahli"] for s in slot} == set(slots)


def test_cross_opd_duplicates_in_both_and_listed(deployment, forms):
    a = deployment.add_opd("DINKES", {"pegawai": [clean_row("pegawai", 1), clean_row("pegawai", 2)]})
    b = deployment.add_opd("DINSOS", {"pengguna_layanan": [
        clean_row("pengguna_layanan", 60, no_hp="+62 812-3000-0002"), clean_row("pengguna_layanan", 61)]})
    deployment.cycle()
    assert status_by_row(a, "Pegawai", forms, "pegawai")[4][0] == "PERIKSA"
    assert status_by_row(a, "Pegawai", forms, "pegawai")[3][0] == "OK"
    assert status_by_row(b, "Pengguna Layanan", forms, "pengguna_layanan")[3][0] == "PERIKSA"
    assert "OPD lain" in status_by_row(a, "Pegawai", forms, "pegawai")[4][1]
    assert "DINSOS" not in status_by_row(a, "Pegawai", forms, "pegawai")[4][1]   # the other OPD's data
    lintas = table(deployment.master, "Lintas OPD", "Jenis")
    assert len(lintas) == 1
    assert lintas[0]["Nilai"] == "+6281230000002"
    assert "DINKES" in lintas[0]["OPD"] and "DINSOS" in lintas[0]["OPD"]
    # the duplicate goes away when one OPD fixes it: both back to OK
    from sheets_sync import demo
    demo.write_opd_workbook(b, ["pengguna_layanan"], {"pengguna_layanan": [
        clean_row("pengguna_layanan", 62), clean_row("pengguna_layanan", 61)]}, forms=forms)
    deployment.cycle()
    assert status_by_row(a, "Pegawai", forms, "pegawai")[4][0] == "OK"
    assert table(deployment.master, "Lintas OPD", "Jenis") == []


INJECTIONS = ['=HYPERLINK("http://x")', "=1+1", "+62 812", "-", "-5", "@foo", "=cmd|' /C calc'!A0"]


def _no_formulas_anywhere(path):
    book = openpyxl.load_workbook(path)
    for ws in book.worksheets:
        for row in ws.iter_rows():
            for c in row:
                assert c.data_type != "f", (path.name, ws.title, c.coordinate, c.value)
    for name, data in zip_members(path).items():
        if name.startswith("xl/worksheets/") and name.endswith(".xml"):
            assert b"<f>" not in data and b"<f " not in data, (path.name, name)


def test_text_from_opds_never_becomes_a_formula(deployment, forms):
    rows = [clean_row("pegawai", i, nama=v, unit_kerja=v, jabatan=v) for i, v in enumerate(INJECTIONS, start=1)]
    rows.append(clean_row("pegawai", 20, unit_kerja="@Dinas", jabatan="+Kepala", nama="-Budi"))
    deployment.add_opd("DINKES", {"pegawai": rows}, name="@Dinas Kesehatan")
    deployment.add_opd("DINSOS", {"penyedia_pbj": [clean_row("penyedia_pbj", 1, nama_usaha="=SUM(A1:A9)",
                                                             alamat_email="=Jl. A; +cv@gmail.com")]},
                       name="-Dinas Sosial")
    deployment.cycle()
    _no_formulas_anywhere(deployment.master)
    peg = table(deployment.master, "Pegawai", "Kode OPD")
    # names without letters ("-", "=1+1") are SALAH and stay out; the rest is there as text
    assert {p["Unit Kerja/ SKPD/ OPD"] for p in peg} == {'=HYPERLINK("http://x")', "@foo", "@Dinas",
                                                          "=cmd|' /C calc'!A0"}
    assert {p["Nama OPD"] for p in peg} == {"@Dinas Kesehatan"}
    _no_formulas_anywhere(deployment.path("DINKES"))
    # OPD input stays text in the OPD's own workbook after the write too
    assert sheet_rows(deployment.path("DINKES"), "Pegawai")[2][1] == '=HYPERLINK("http://x")'


def _with_dimension(path, ref: bytes):
    """Rewrite every sheet's <dimension> as some producers write it (wrongly)."""
    members = zip_members(path)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in members.items():
            if name.startswith("xl/worksheets/sheet"):
                dim = b'<dimension ref="' + ref + b'"/>'
                data, n = re.subn(rb'<dimension ref="[^"]*"\s*/>', dim, data)
                if not n:                                   # write-only workbooks have none
                    data = data.replace(b"<sheetViews>", dim + b"<sheetViews>", 1)
                assert dim in data
            z.writestr(name, data)


@pytest.mark.parametrize("ref", [b"A1", b"A1:C2"])
def test_a_wrong_dimension_record_does_not_hide_rows(deployment, forms, ref):
    """Some tools write <dimension ref="A1"/> whatever the sheet holds; openpyxl's
    read-only mode trusts it unless told not to."""
    path = deployment.add_opd("DINKES", {"pegawai": [clean_row("pegawai", 1),
                                                     clean_row("pegawai", 2, no_hp="021-5551234")]})
    _with_dimension(path, ref)
    rep = deployment.cycle()
    assert not rep.problems
    st = status_by_row(path, "Pegawai", forms, "pegawai")
    assert {r: v[0] for r, v in st.items()} == {3: "OK", 4: "SALAH"}


def test_workbook_appearing_later_is_read(deployment, forms):
    deployment.add_opd("BARU", {"pegawai": [clean_row("pegawai", 1)]})
    path = deployment.path("BARU")
    keep = path.read_bytes()
    path.unlink()
    deployment.cycle()
    assert "BARU.xlsx" in rekap(deployment)["BARU"]["Catatan"]
    path.write_bytes(keep)
    rep = deployment.cycle()
    assert rep.read == 1
    assert status_by_row(path, "Pegawai", forms, "pegawai")[3][0] == "OK"
    assert not rekap(deployment)["BARU"]["Catatan"]


def _with_cached_formula(path, sheet_xml: str, coord: str, formula: str, cached: str):
    """Turn one cell into a formula with a cached result, as Excel saves it."""
    members = zip_members(path)
    data = members[sheet_xml]
    cell = re.compile(rb'<c r="' + coord.encode() + rb'"[^>]*?(/>|>.*?</c>)', re.S)
    new = (f'<c r="{coord}" t="str"><f>{formula}</f><v>{cached}</v></c>').encode()
    data, n = cell.subn(new, data)
    assert n == 1
    members[sheet_xml] = data
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, d in members.items():
            z.writestr(name, d)


def test_formula_inputs_keep_their_verdict_after_the_workers_own_write(deployment, forms):
    """Staff fill Unit Kerja with a formula (=Petunjuk!B1); Excel stores its result.
    openpyxl drops that result when the worker saves the status cells, so reading
    the worker's own file back must not turn those rows into 'Unit Kerja wajib diisi'."""
    path = deployment.add_opd("DINKES", {"pegawai": [clean_row("pegawai", 1), clean_row("pegawai", 2)]})
    _with_cached_formula(path, "xl/worksheets/sheet1.xml", "B3", "Pegawai!A1", "Dinas Kesehatan")
    other = deployment.add_opd("DINSOS", {"pegawai": [clean_row("pegawai", 30)]})
    deployment.cycle()
    assert status_by_row(path, "Pegawai", forms, "pegawai")[3][0] == "OK"
    # another OPD registers the same phone: DINKES's verdicts change without an edit there
    demo.write_opd_workbook(other, ["pegawai"], {"pegawai": [clean_row("pegawai", 30, no_hp="0812-3000-0001")]},
                            forms=forms)
    deployment.cycle()
    st = status_by_row(path, "Pegawai", forms, "pegawai")
    assert st[3][0] == "PERIKSA", st[3]                   # the cross-OPD duplicate, not REQUIRED
    assert "wajib" not in (st[3][1] or "")
    deployment.cycle(as_of=AS_OF + dt.timedelta(days=1))  # a new day re-checks without an edit
    assert status_by_row(path, "Pegawai", forms, "pegawai")[3][0] == "PERIKSA"


def test_the_log_says_why_in_words_not_only_a_code(deployment, caplog):
    """journalctl is what the admin reads: an open workbook and a missing one are said
    in words, not only as WB_LOCKED / WB_NOT_FOUND."""
    import logging

    path = deployment.add_opd("DINKES", {"pegawai": [clean_row("pegawai", 1)]})
    gone = deployment.add_opd("DINSOS", {"pegawai": [clean_row("pegawai", 30)]})
    (path.parent / ("~$" + path.name)).write_bytes(b"operator")
    gone.unlink()
    with caplog.at_level(logging.WARNING):
        deployment.cycle()
    assert f"OPD DINKES: status belum ditulis: {wb_text('WB_LOCKED')}" in caplog.text
    assert f"OPD DINSOS: {wb_text('WB_NOT_FOUND')}" in caplog.text and "(WB_NOT_FOUND)" in caplog.text
