"""Status cells written by editing the sheet XML: the cells read back as written
(openpyxl and calamine), styles stay, every other part of the file keeps its
content byte for byte, rows and cells that did not exist are created in order,
and odd XML falls back to openpyxl instead of guessing."""
from __future__ import annotations

import datetime as dt
import zipfile

import openpyxl
from openpyxl.styles import PatternFill

from sheets_sync.stores import xlsx_read, xlsx_write


def book(path, rows=5):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Pegawai"
    ws.append(["Judul"])
    ws.append(["No", "Nama", "HP", "Status", "Keterangan", "Diperiksa"])
    for i in range(1, rows + 1):
        ws.append([i, f"Orang {i}", f"0812345678{i:02d}"])
    ws["D3"].fill = PatternFill("solid", start_color="C6EFCE")
    ws["D3"] = "lama"
    ws["G1"] = "=1+1"
    other = wb.create_sheet("Petunjuk")
    other["A1"] = "Baca ini"
    wb.defined_names["Pilihan"] = openpyxl.workbook.defined_name.DefinedName("Pilihan", attr_text="Petunjuk!$A$1")
    wb.save(path)
    return path


def parts(path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as z:
        return {n: z.read(n) for n in z.namelist()}


def test_cells_read_back_and_other_parts_are_unchanged(tmp_path):
    path = book(tmp_path / "opd.xlsx")
    before = parts(path)
    ok = xlsx_write.patch_cells(path, {"Pegawai": {(3, 4): "OK", (3, 5): "Nomor <benar> & lengkap",
                                                    (4, 4): "SALAH", (2, 4): "Status"}})
    assert ok
    after = parts(path)
    changed = {n for n in before if before[n] != after.get(n)}
    assert changed == {"xl/worksheets/sheet1.xml"} and set(after) == set(before)
    ws = openpyxl.load_workbook(path)["Pegawai"]
    assert [ws["D3"].value, ws["E3"].value, ws["D4"].value] == ["OK", "Nomor <benar> & lengkap", "SALAH"]
    assert ws["D3"].fill.start_color.rgb.endswith("C6EFCE")        # the cell's style stays
    assert ws["B5"].value == "Orang 3" and ws["G1"].value == "=1+1"   # input and formulas untouched
    grid = xlsx_read.read_grids(path)["Pegawai"]
    assert grid[2][3:5] == ["OK", "Nomor <benar> & lengkap"]


def test_emptying_a_cell_keeps_its_style(tmp_path):
    path = book(tmp_path / "opd.xlsx")
    assert xlsx_write.patch_cells(path, {"Pegawai": {(3, 4): ""}})
    ws = openpyxl.load_workbook(path)["Pegawai"]
    assert ws["D3"].value is None and ws["D3"].fill.start_color.rgb.endswith("C6EFCE")


def test_new_rows_and_columns_are_inserted_in_order(tmp_path):
    path = book(tmp_path / "opd.xlsx", rows=2)
    assert xlsx_write.patch_cells(path, {"Pegawai": {(9, 6): "baru", (3, 6): "x", (3, 2): "y", (12, 1): "z"}})
    ws = openpyxl.load_workbook(path)["Pegawai"]
    assert (ws["F9"].value, ws["F3"].value, ws["B3"].value, ws["A12"].value) == ("baru", "x", "y", "z")
    xml = parts(path)["xl/worksheets/sheet1.xml"].decode()
    rows = [int(x) for x in __import__("re").findall(r'<row r="(\d+)"', xml)]
    assert rows == sorted(rows)
    assert ws.max_row == 12


def test_twenty_thousand_rows_one_cell(tmp_path):
    """The edit touches one row; the rest of the sheet is copied as is."""
    path = tmp_path / "big.xlsx"
    wb = openpyxl.Workbook(write_only=True)
    ws = wb.create_sheet("Pegawai")
    for i in range(1, 20_001):
        ws.append([i, f"Orang {i}", "081234567890", "OK", "", "01/10/2023 08:00 WIB"])
    wb.save(path)
    before = parts(path)["xl/worksheets/sheet1.xml"]
    assert xlsx_write.patch_cells(path, {"Pegawai": {(15_000, 4): "SALAH"}})
    after = parts(path)["xl/worksheets/sheet1.xml"]
    i = before.index(b'<row r="15000"')
    assert after[:i] == before[:i]
    j = before.index(b'<row r="15001"')
    assert after[-(len(before) - j):] == before[j:]


def test_odd_xml_is_left_to_openpyxl(tmp_path):
    path = book(tmp_path / "opd.xlsx")
    files = parts(path)
    files["xl/worksheets/sheet1.xml"] = files["xl/worksheets/sheet1.xml"].replace(b'<row r="3"', b"<row")
    with zipfile.ZipFile(path, "w") as z:
        for n, d in files.items():
            z.writestr(n, d)
    assert not xlsx_write.patch_cells(path, {"Pegawai": {(3, 4): "OK"}})
    assert not xlsx_write.patch_cells(path, {"Pegawai": {(3, 4): 5}})        # not text
    assert not xlsx_write.patch_cells(path, {"Tidak ada": {(3, 4): "OK"}})   # no such tab


def test_a_merged_cell_to_write_is_left_to_openpyxl(tmp_path):
    path = tmp_path / "m.xlsx"
    wb = openpyxl.Workbook()
    wb.active.title = "Pegawai"
    wb.active.merge_cells("D4:F6")
    wb.save(path)
    assert not xlsx_write.patch_cells(path, {"Pegawai": {(5, 5): "OK"}})
    assert xlsx_write.patch_cells(path, {"Pegawai": {(8, 5): "OK"}})       # outside the merge: fine


def test_a_failed_check_before_replace_leaves_the_file(tmp_path):
    path = book(tmp_path / "opd.xlsx")
    before = path.read_bytes()

    def changed():
        raise RuntimeError("berubah")

    try:
        xlsx_write.patch_cells(path, {"Pegawai": {(3, 4): "OK"}}, before_replace=changed)
    except RuntimeError:
        pass
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["opd.xlsx"]      # no temporary file left


def test_libreoffice_reads_the_patched_workbook(tmp_path):
    import shutil
    import subprocess

    import pytest
    if not shutil.which("soffice"):
        pytest.skip("LibreOffice (soffice) tidak terpasang")
    path = book(tmp_path / "opd.xlsx")
    assert xlsx_write.patch_cells(path, {"Pegawai": {(3, 4): "OK", (3, 5): "Keterangan ✓ & <x>"}})
    p = subprocess.run(["soffice", "--headless", "--convert-to", "csv:Text - txt - csv (StarCalc):44,34,76", "--outdir", str(tmp_path / "out"), str(path)],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    text = (tmp_path / "out" / "opd.csv").read_text(encoding="utf-8", errors="replace")
    assert "OK" in text and "Keterangan ✓ & <x>" in text


def test_rows_to_write_are_found_as_the_full_scan_finds_them():
    """The forward lookup of the rows to write (xlsx_write._rows_written) gives what
    the scan of every row gives, also for rows out of order, 'r' not first, self-closed
    rows and rows that do not exist yet (those fall back to the scan)."""
    import random
    rng, fell_back = random.Random(7), 0
    for _ in range(200):
        numbers = rng.sample(range(1, 60), rng.randint(1, 25))
        if rng.random() < 0.7:
            numbers.sort()
        body = []
        for n in numbers:
            attrs = [f'r="{n}"', 'spans="1:3"'] if rng.random() < 0.9 else ['spans="1:3"', f'r="{n}"']
            inner = "" if rng.random() < 0.2 else f'<c r="A{n}" t="inlineStr"><is><t>&lt;row r="{n + 1}"</t></is></c>'
            body.append(f"<row {' '.join(attrs)}/>" if not inner else f"<row {' '.join(attrs)}>{inner}</row>")
        xml = ("<worksheet><sheetData>" + "".join(body) + "</sheetData></worksheet>").encode()
        start, end = xml.find(b"<sheetData"), xml.find(b"</sheetData>")
        everything = xlsx_write._rows(xml, start, end)
        wanted = sorted(rng.sample(range(1, 62), rng.randint(1, 6)))
        got = xlsx_write._rows_written(xml, start, end, wanted)
        assert {r: got.get(r) for r in wanted} == {r: everything.get(r) for r in wanted}
        fell_back += got == everything and len(everything) > len(wanted)
    assert fell_back   # the cases above did reach the scan of every row
