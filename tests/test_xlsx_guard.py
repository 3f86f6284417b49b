"""Workbooks built to get a far cell or a huge shared-strings count past the check
before calamine (found by an adversarial pass on the first version of the check:
each aborted `validate` with 'memory allocation of … bytes failed'). Each is
refused now; an ordinary workbook written in the same unusual ways passes."""
from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path

import pytest
from openpyxl import Workbook

from sheets_sync.config import Limits
from sheets_sync.stores import StoreError
from sheets_sync.stores.xlsx import check_package

S, R, W, CT = "xl/worksheets/sheet1.xml", "xl/_rels/workbook.xml.rels", "xl/workbook.xml", "[Content_Types].xml"
NS = b'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
FAR = b'<row r="1048576"><c r="XFD1048576"><v>1</v></c></row>'


def _base() -> bytes:
    wb = Workbook()
    wb.active.title, wb.active["A1"] = "Data", "x"
    b = io.BytesIO()
    wb.save(b)
    return b.getvalue()


def build(out: Path, edits=None, rename=None, add=None, method=zipfile.ZIP_DEFLATED) -> Path:
    edits, rename, add = edits or {}, rename or {}, add or {}
    src = zipfile.ZipFile(io.BytesIO(_base()))
    with zipfile.ZipFile(out, "w", method) as z:
        for n in src.namelist():
            d = src.read(n)
            z.writestr(rename.get(n, n), edits[n](d) if n in edits else d)
        for n, d in add.items():
            z.writestr(n, d)
    return out


def far(row: bytes):
    return lambda d: d.replace(b"</sheetData>", row + b"</sheetData>")


def moved(new: bytes) -> dict:
    return dict(edits={S: far(FAR), R: lambda d: d.replace(b"/" + S.encode(), b"/" + new),
                       CT: lambda d: d.replace(b"/" + S.encode(), b"/" + new)}, rename={S: new.decode()})


def strings(head=b"", extra_sheet=b"") -> dict:
    return dict(
        edits={S: lambda d: d.replace(b'<c r="A1" t="inlineStr"><is><t>x</t></is></c>', b'<c r="A1" t="s"><v>0</v></c>'),
               R: lambda d: d.replace(b"</Relationships>", b'<Relationship Type="http://schemas.openxmlformats.org/'
                                      b'officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml" '
                                      b'Id="rId9"/></Relationships>'),
               W: lambda d: d.replace(b"</sheets>", extra_sheet + b"</sheets>")},
        add={"xl/sharedStrings.xml": b'<?xml version="1.0" encoding="UTF-8"?>' + head + b"<sst " + NS
             + b' uniqueCount="4000000000"><si><t>x</t></si></sst>'})


REFLESS = (b'<row><c><v>1</v></c></row>' + b'<row></row>' * 99_998 + b'<row>' + b'<c><v>1</v></c>' * 16_384
           + b'</row>')
CASES = {
    "a tab stored outside xl/worksheets": moved(b"xl/foo/sheet1.xml"),
    "a tab part named .XML": moved(b"xl/worksheets/sheet1.XML"),
    "spaces around '='": dict(edits={S: far(b'<row><c r = "XFD1048576"><v>1</v></c></row>')}),
    "no space before r": dict(edits={S: far(b'<row><c t="n"r="XFD1048576"><v>1</v></c></row>')}),
    "'/>' inside a value": dict(edits={S: far(b'<row r="1048576"><c r="XFD1048576" x="/>"><v>1</v></c></row>')}),
    "no references at all": dict(edits={S: lambda d: re.sub(rb"<sheetData>.*</sheetData>",
                                                          lambda m: b"<sheetData>" + REFLESS + b"</sheetData>",
                                                          d, flags=re.S)}, method=zipfile.ZIP_STORED),
    "uniqueCount after a long comment": strings(head=b"<!--" + b"a" * 5000 + b"-->"),
    "uniqueCount after 5,000 spaces": strings(head=b" " * 5000),
    "the strings declared as a tab": strings(extra_sheet=b'<sheet xmlns:r="http://schemas.openxmlformats.org/'
                                                        b'officeDocument/2006/relationships" name="Z" sheetId="2" '
                                                        b'r:id="rId9"/>'),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_each_way_round_the_check_is_refused(tmp_path, case):
    path = build(tmp_path / "x.xlsx", **CASES[case])
    with pytest.raises(StoreError) as e:
        check_package(path, Limits())
    want = "WB_UNREADABLE" if case.startswith(("uniqueCount", "the strings", "no space")) else "SHEET_TOO_LARGE"
    assert e.value.problem.code == want, e.value.problem.text()


def test_an_ordinary_tab_written_unusually_still_passes(tmp_path):
    """No references, spaces around '=', a text with ' = ' in it: read with expat, and
    held to the same limits, not refused for its style."""
    rows = b"".join(b'<row><c t = "inlineStr"><is><t>a = b %d</t></is></c><c><v>%d</v></c></row>' % (i, i)
                    for i in range(1, 200))
    path = build(tmp_path / "ok.xlsx", edits={S: lambda d: re.sub(
        rb"<sheetData>.*</sheetData>", lambda m: b"<sheetData>" + rows + b"</sheetData>", d, flags=re.S)})
    check_package(path, Limits())
    with pytest.raises(StoreError) as e:
        check_package(path, Limits(rows=100))
    assert e.value.problem.code == "SHEET_TOO_LARGE"


# ---- a third pass: where calamine finds its parts differs from where the check looked
RNS = b"http://schemas.openxmlformats.org/officeDocument/2006/relationships"


def _bomb() -> bytes:
    return zipfile.ZipFile(io.BytesIO(_base())).read(S).replace(b"</sheetData>", FAR + b"</sheetData>")


def _sheets_sharing_one_part(d: bytes) -> bytes:
    entries = b"".join(b'<sheet xmlns:r="%s" name="T%d" sheetId="%d" r:id="rId1"/>' % (RNS, i, i) for i in range(1, 201))
    return re.sub(rb"<sheets>.*</sheets>", lambda m: b"<sheets>" + entries + b"</sheets>", d)


THIRD = {
    "the workbook found through _rels/.rels": dict(
        edits={"_rels/.rels": lambda d: d.replace(b'Target="xl/workbook.xml"', b'Target="foo/workbook.xml"')},
        add={"foo/workbook.xml": zipfile.ZipFile(io.BytesIO(_base())).read(W),
             "foo/_rels/workbook.xml.rels": zipfile.ZipFile(io.BytesIO(_base())).read(R).replace(
                 b"/xl/worksheets/", b"/foo/worksheets/"),
             "foo/worksheets/sheet1.xml": _bomb()}),
    "r:id bound to another namespace": dict(
        edits={W: lambda d: re.sub(rb"<sheet [^>]*/>", b'<sheet xmlns:r="urn:x" xmlns:x="' + RNS
                                   + b'" name="Data" sheetId="1" x:id="rId1" r:id="rId7"/>', d),
               R: lambda d: d.replace(b"</Relationships>", b'<Relationship Id="rId7" Type="' + RNS
                                      + b'/worksheet" Target="worksheets/sheet2.xml"/></Relationships>')},
        add={"xl/worksheets/sheet2.xml": _bomb()}),
    "a target with ../ used as written": dict(
        edits={R: lambda d: d.replace(b'Target="/xl/worksheets/sheet1.xml"',
                                      b'Target="worksheets/../worksheets/sheet1.xml"')},
        add={"xl/worksheets/../worksheets/sheet1.xml": _bomb()}),
    "200 tabs naming one part": dict(
        edits={W: _sheets_sharing_one_part,
               S: lambda d: d.replace(b"</sheetData>", b'<row r="4000"><c r="ALL4000"><v>1</v></c></row></sheetData>')}),
    "1.5 million merged ranges": dict(   # stored: refused by their count, not by the zip's ratio
        edits={S: lambda d: d.replace(b"</worksheet>", b'<mergeCells>' + b'<mergeCell ref="A302:A303"/>' * 1_500_000
                                      + b"</mergeCells></worksheet>")}, method=zipfile.ZIP_STORED),
}


@pytest.mark.parametrize("case", sorted(THIRD))
def test_parts_are_checked_wherever_calamine_may_find_them(tmp_path, case):
    path = build(tmp_path / "x.xlsx", **THIRD[case])
    with pytest.raises(StoreError) as e:   # (the stored merges: past the file size they would stop there)
        check_package(path, Limits(file_mb=100))
    want = "WB_TOO_LARGE" if case == "200 tabs naming one part" else "SHEET_TOO_LARGE"   # the sum / the tab
    assert e.value.problem.code == want
