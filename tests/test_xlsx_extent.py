"""xlsx_read.extent: the farthest cell calamine would place, read from the sheet XML's
references before it parses (a far cell made it allocate a dense rectangle and abort).
Held here to calamine itself on small workbooks."""
from __future__ import annotations

import io
import zipfile

import openpyxl
import pytest
import python_calamine

from sheets_sync.stores.xlsx_guard import extent, parsed_extent

pytestmark = pytest.mark.unit


@pytest.mark.parametrize("xml,want", [
    (b'<row r="3"><c r="A3"><v>1</v></c><c r="XFD1048576"><v>1</v></c></row>', (1_048_576, 16_384)),
    (b'<row r="12" spans="1:3"><c s="1" r="AB12"><v>1</v></c></row>', (12, 28)),
    (b'<row r="2"><c r="xfd2"><v>1</v></c></row>', (2, 16_384)),            # lower case, as calamine
    (b'<row r="2"><c r="C000030"><v>1</v></c><c r="B9"><v>1</v></c></row>', (30, 3)),   # leading zeros
    (b"<row r='5'><c\nr='ALL99999'><v>1</v></c></row>", (99_999, 1_000)),
    (b'<row r="40"><c r="XFD40" s="3"/></row>', (0, 0)),                   # a format only: not placed
    (b'<row r="40"><c r="XFD40" s="3"></c></row>', (0, 0)),
    (b'<row r="1048576" s="2" customFormat="1"/>', (0, 0)),
    (b'<row r="900"><c t="inlineStr"><is><t>x</t></is></c></row>', (900, 1)),   # no reference: its row
    (b'<x:row r="4"><x:c r="D4"><x:v>1</x:v></x:c></x:row>', (4, 4)),
    (b'<row r="100"><c s="0"/><c s="0"/></row>' * 3, (0, 0)),              # a formatted block
    (b'<row r="3"><c r="D3"><v>1</v></c><c><v>1</v></c><c><v>2</v></c></row>', (3, 6)),   # F3 at most
    (b'<dimension ref="A1:XFD1048576"/><c r="A1"><v>1</v></c>', (1, 1)),   # the dimension is not a cell
    (b'<c r="A' + b"0" * 30 + b'1"><v>1</v></c>', (1 << 40, 1 << 40)),    # too long to read: huge
])
def test_extent_of_pieces(xml, want):
    assert farthest(xml) == want


def farthest(xml: bytes) -> tuple[int, int]:
    """As check_package finds it: the byte scan for a plainly written piece, else expat."""
    got = extent(xml)
    if got is not None:
        return got
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("s.xml", b"<sheetData>" + xml + b"</sheetData>")
    with zipfile.ZipFile(buf) as z:
        _, _, row, col = parsed_extent(z, "s.xml", lambda *a: False)
    return row, col


def _calamine_extent(path) -> tuple[int, int]:
    book = python_calamine.CalamineWorkbook.from_path(str(path))
    try:
        sheet = book.get_sheet_by_index(0)
        return (sheet.end[0] + 1, sheet.end[1] + 1) if sheet.height else (0, 0)
    finally:
        book.close()


@pytest.mark.parametrize("extra", [
    b'<row r="40"><c r="Z40" t="inlineStr"><is><t>x</t></is></c></row>',
    b'<row r="70"><c r="c70"><v>2</v></c></row>',
    b'<row r="50"><c r="AB50" s="0"/></row>',
    b'<row r="90"><c t="inlineStr"><is><t>x</t></is></c></row>',
    b'<row r="1048576" s="0" customFormat="1"/>',
    b'<row r="3"><c r="D3"><v>1</v></c><c><v>1</v></c><c><v>2</v></c></row>',
])
def test_extent_agrees_with_calamine(tmp_path, extra):
    base = tmp_path / "base.xlsx"
    wb = openpyxl.Workbook()
    wb.active["A1"], wb.active["B2"] = "x", "y"
    wb.save(base)
    out = tmp_path / "t.xlsx"
    with zipfile.ZipFile(base) as z, zipfile.ZipFile(out, "w") as w:
        for info in z.infolist():
            data = z.read(info.filename)
            if info.filename == "xl/worksheets/sheet1.xml":
                data = data.replace(b"</sheetData>", extra + b"</sheetData>")
                xml = data
            w.writestr(info.filename, data)
    got = farthest(xml)
    row, col = _calamine_extent(out)
    assert got[0] >= row and got[1] >= col          # never less than calamine places
    assert got[0] * max(got[1], 1) <= 2 * max(row * col, 2)   # nor much more


def test_excels_own_prefixed_tags_keep_a_sheet_on_the_byte_scan():
    """Excel writes x14ac:dyDescent on rows and <x14:…> tags in extLst: no cells there,
    so the piece stays on the fast scan; a prefix on c, row or sheetData sends it to expat."""
    excel = (b'<row r="3" spans="1:2" x14ac:dyDescent="0.25"><c r="A3" s="1" t="s"><v>0</v></c></row>'
             b'<extLst><ext uri="{CCE6A557}"><x14:dataValidations count="1"><x14:dataValidation/>'
             b'</x14:dataValidations></ext></extLst>')
    assert extent(excel) == (3, 1)
    assert extent(b'<x:sheetData><row r="1"><c r="A1"><v>1</v></c></row></x:sheetData>') is None
    assert extent(b'<row r="1"><x:c r="A1"><v>1</v></x:c></row>') is None
