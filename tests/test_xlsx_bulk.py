"""A long master tab written as sheet XML (stores/xlsx_bulk.py) reads back cell for
cell like the same tab written by openpyxl: values, types, date style, the quote
prefix of formula-like text; with openpyxl, python-calamine and LibreOffice."""
from __future__ import annotations

import datetime as dt
import shutil
import subprocess

import openpyxl
import pytest
from python_calamine import CalamineWorkbook

from sheets_sync.forms import load_forms
from sheets_sync.stores import SheetSpec
from sheets_sync.stores.xlsx import XlsxStore
from sheets_sync.stores.xlsx_bulk import BULK_ROWS, plan
from tests.backends import Deployment

N = BULK_ROWS + 300


def _spec() -> SheetSpec:
    odd = {5: "=cmd|' /C calc'!A0", 7: "Budi\x01\x1b[31m", 9: "x" * 40_000, 11: "tab\tok"}
    rows = [[f"OPD{i % 7}", odd.get(i, f"Nama <{i}> & \"x\" ✓"), i,
             "OK" if i % 3 else "SALAH", dt.date(2020, 1, 1) + dt.timedelta(days=i % 900), 1.5 * i,
             None if i % 2 else "", dt.datetime(2023, 10, 12, 9, 30), i % 2 == 0]
            for i in range(N)]
    return SheetSpec("Pegawai", ["Kode", "Nama", "Baris", "Status", "Tanggal", "x", "kosong", "waktu", "b"],
                     rows, [10] * 9, colors={4: {"OK": ("C6EFCE", "006100"), "SALAH": ("FFC7CE", "9C0006")}},
                     fit_page="width")


def _write(tmp_path, name: str, bulk: bool, monkeypatch) -> openpyxl.Workbook:
    settings = Deployment("xlsx", tmp_path / name, n_opds=1).settings
    store = XlsxStore(settings.data_dir, load_forms(), settings.master)
    if not bulk:
        monkeypatch.setattr("sheets_sync.stores.xlsx_bulk.BULK_ROWS", 10 ** 9)
    store.write_master([_spec()])
    monkeypatch.undo()
    return settings.data_dir / "master.xlsx"


def test_a_long_tab_reads_back_like_openpyxl_wrote_it(tmp_path, monkeypatch):
    assert plan(_spec(), None) is not None
    fast = _write(tmp_path, "bulk", True, monkeypatch)
    slow = _write(tmp_path, "cells", False, monkeypatch)
    a, b = openpyxl.load_workbook(fast)["Pegawai"], openpyxl.load_workbook(slow)["Pegawai"]
    assert a.max_row == b.max_row == N + 1 and a.dimensions == b.dimensions
    for ra, rb in zip(a.iter_rows(), b.iter_rows()):
        for ca, cb in zip(ra, rb):
            assert (ca.value, ca.data_type, ca.number_format, ca.quotePrefix) == \
                   (cb.value, cb.data_type, cb.number_format, cb.quotePrefix), ca.coordinate
    assert a["B7"].value.startswith("=") and a["B7"].data_type == "s" and a["B7"].quotePrefix
    assert a.freeze_panes == b.freeze_panes and a.page_setup.fitToWidth == 1
    assert len(a.conditional_formatting) == len(b.conditional_formatting) > 0
    assert openpyxl.load_workbook(fast).sheetnames == openpyxl.load_workbook(slow).sheetnames
    cal = CalamineWorkbook.from_path(str(fast)).get_sheet_by_name("Pegawai").to_python()
    assert len(cal) == N + 1 and cal[N][2] == N - 1 and cal[N][4] == dt.date(2020, 1, 1) + dt.timedelta(days=(N - 1) % 900)


@pytest.mark.skipif(not shutil.which("soffice"), reason="LibreOffice (soffice) tidak terpasang")
def test_libreoffice_reads_the_long_tab(tmp_path, monkeypatch):
    path = _write(tmp_path, "lo", True, monkeypatch)
    out = tmp_path / "out"
    p = subprocess.run(["soffice", "--headless", f"-env:UserInstallation=file://{tmp_path}/lo-profile",
                        "--convert-to", "csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,false,false,false,-1",
                        "--outdir", str(out), str(path)], capture_output=True, text=True, timeout=180)
    assert p.returncode == 0, p.stderr
    csv = next(out.glob("master*Pegawai*.csv"), None) or next(out.glob("*.csv"))
    lines = csv.read_text(encoding="utf-8").splitlines()
    assert any(line.startswith(f"OPD{(N - 1) % 7},") and f",{N - 1}," in line for line in lines[-3:]), lines[-3:]
