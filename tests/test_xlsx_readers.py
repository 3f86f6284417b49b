"""The two .xlsx readers agree: python-calamine (the fast one the worker reads
with) and openpyxl's read-only reader (what the worker was built and tested on)
give the same verdict, code and normalised value for every row of generated
workbooks of hostile content, including cells whose types the readers return
differently (whole numbers, dates, datetimes, times, error cells, booleans)."""
from __future__ import annotations

import datetime as dt
import zipfile

import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from sheets_sync.forms import load_forms
from sheets_sync.stores import xlsx_read
from sheets_sync.stores.xlsx import read_grids_openpyxl as openpyxl_grids
from sheets_sync.validate.frame import validate_frame
from sheets_sync.validate.layout import SheetData, locate_form
from tests.conftest import AS_OF
from tests.test_bad_input import NASTY

FORMS = load_forms()
FORM_KEYS = ["pegawai", "pengguna_layanan", "penyedia_pbj", "eksper"]
ERRORS = ["#N/A", "#REF!", "#VALUE!", "#DIV/0!", "#NAME?"]

CELL = st.one_of(
    st.none(),
    st.text(max_size=30).map(lambda s: ILLEGAL_CHARACTERS_RE.sub("", s)),
    st.integers(min_value=-(10 ** 15), max_value=10 ** 15),
    st.floats(allow_nan=False, allow_infinity=False, min_value=-1e15, max_value=1e15),
    st.booleans(),
    st.datetimes(min_value=dt.datetime(1901, 1, 1), max_value=dt.datetime(2099, 1, 1)),
    st.dates(min_value=dt.date(1901, 1, 1), max_value=dt.date(2099, 1, 1)),
    st.sampled_from([n for n in NASTY if not n.startswith("=") and len(n) < 1000]),
    st.sampled_from(["0812-3456-7890", "812345678", "6281234567890", "budi@gmail.com", "13/10/2023",
                     "Auditor BPK", "1.99e+17", "0736-21234"]),
    st.sampled_from([("error", e) for e in ERRORS]),
)


def write_book(path, key, rows):
    form = FORMS[key]
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = form.sheet
    ws.append([form.title])
    ws.append([c.header for c in form.columns] + list(FORMS.status_headers.values()))
    errors = {}
    for r, row in enumerate(rows, start=3):
        for c, v in enumerate(row, start=1):
            if isinstance(v, tuple):
                errors[(r, c)] = v[1]
                ws.cell(r, c, 0)
            elif v is not None:
                ws.cell(r, c, v)
    wb.save(path)
    if errors:
        _plant_error_cells(path, errors)


def _plant_error_cells(path, errors):
    """Cells holding a formula's error result, as Excel saves them: <c t="e"><v>#N/A</v></c>."""
    from openpyxl.utils import get_column_letter
    with zipfile.ZipFile(path) as z:
        parts = {n: z.read(n) for n in z.namelist()}
    xml = parts["xl/worksheets/sheet1.xml"].decode()
    for (r, c), text in errors.items():
        ref = f"{get_column_letter(c)}{r}"
        start = xml.index(f'<c r="{ref}"')
        end = xml.index("</c>", start) + 4
        xml = xml[:start] + f'<c r="{ref}" t="e"><f>NA()</f><v>{text}</v></c>' + xml[end:]
    parts["xl/worksheets/sheet1.xml"] = xml.encode()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in parts.items():
            z.writestr(name, data)


def verdicts(grids, key):
    form = FORMS[key]
    found = locate_form(grids[form.sheet], form, FORMS, form.sheet)
    assert isinstance(found, SheetData)
    res = validate_frame(found.frame, form, AS_OF)
    problems = sorted(map(tuple, res.problems[["row", "column", "code"]].astype(str).to_numpy().tolist()))
    normalized = res.normalized.astype(object).where(res.normalized.notna(), None).to_dict("index")
    return res.status.to_dict(), problems, normalized


@settings(max_examples=60, database=None, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(st.sampled_from(FORM_KEYS), st.lists(st.lists(CELL, min_size=1, max_size=9), min_size=1, max_size=8))
def test_both_readers_give_the_same_verdicts(tmp_path_factory, key, rows):
    path = tmp_path_factory.mktemp("r") / "opd.xlsx"
    write_book(path, key, rows)
    assert verdicts(xlsx_read.read_grids(path), key) == verdicts(openpyxl_grids(path), key)


def test_types_are_mapped_as_openpyxl_gives_them(tmp_path):
    path = tmp_path / "t.xlsx"
    write_book(path, "pegawai", [[1, "Dinkes", "Budi", dt.date(2015, 2, 1), "Staf", 81234567890, ("error", "#N/A")],
                                 [2.5, None, dt.datetime(2015, 2, 1, 10, 30), dt.time(9, 5), True, "", "x"]])
    got = xlsx_read.read_grids(path)[FORMS["pegawai"].sheet]
    want = openpyxl_grids(path)[FORMS["pegawai"].sheet]
    assert got == want
    assert got[2][:7] == [1, "Dinkes", "Budi", dt.datetime(2015, 2, 1), "Staf", 81234567890, "#N/A"]


def test_blank_rows_and_trailing_rows_as_openpyxl(tmp_path):
    path = tmp_path / "b.xlsx"
    wb = openpyxl.Workbook()
    ws = wb.active
    ws["A1"], ws["A4"], ws["C4"] = "judul", "x", 3
    ws["B9"] = ""            # an empty string at the end is no data
    wb.save(path)
    assert xlsx_read.read_grids(path)[ws.title] == openpyxl_grids(path)[ws.title]


def test_merged_ranges_are_reported(tmp_path):
    path = tmp_path / "m.xlsx"
    wb = openpyxl.Workbook()
    wb.active.merge_cells("B4:B6")
    wb.active["B4"] = "Dinas Kesehatan"
    wb.save(path)
    assert xlsx_read.merged_ranges(path, wb.active.title) == [(4, 2, 6, 2)]


def test_a_file_that_is_not_xlsx_is_a_read_error(tmp_path):
    path = tmp_path / "x.xlsx"
    path.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(xlsx_read.ReadError):
        xlsx_read.read_grids(path)


CALAMINE_CELL = st.one_of(
    st.just(""), st.text(max_size=5), st.floats(allow_nan=True, allow_infinity=True), st.booleans(),
    st.integers(min_value=-(2 ** 60), max_value=2 ** 60).map(float),
    st.sampled_from([2.0 ** 53, -(2.0 ** 53) + 1, -0.0, 1e300]),
    st.dates(min_value=dt.date(1901, 1, 1)), st.datetimes(min_value=dt.datetime(1901, 1, 1)),
    st.times(), st.timedeltas(min_value=dt.timedelta(0), max_value=dt.timedelta(days=9)))


@settings(max_examples=80, database=None, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(min_value=1, max_value=6).flatmap(
    lambda w: st.lists(st.lists(CALAMINE_CELL, min_size=w, max_size=w), min_size=1, max_size=12)))
def test_a_big_tab_is_mapped_column_at_a_time_as_row_by_row(rows):
    """Past COLUMNAR_FROM_ROWS rows calamine's rectangle is mapped column at a time
    (whole floats to int, dates to datetimes, '' to None, rows cut after their last
    cell, blank rows as ()): the grid is the one the row loop gives, types included."""
    big = rows * (xlsx_read.COLUMNAR_FROM_ROWS // len(rows) + 1) + [[""] * len(rows[0])] * 3
    want = xlsx_read._mapped_rows(big)
    got = xlsx_read._mapped_columns(big)
    assert [[(type(v), v) for v in r] for r in got] == [[(type(v), v) for v in r] for r in want]
    assert [r is xlsx_read._EMPTY for r in got] == [r is xlsx_read._EMPTY for r in want]


def test_error_cells_are_found_across_the_chunks_of_the_streamed_scan(tmp_path, monkeypatch):
    """The sheet XML is scanned for error cells a chunk at a time: a cell whose tag or
    value straddles a chunk's end is found once, like the scan of the whole XML."""
    path = tmp_path / "e.xlsx"
    rows = [[r, "Dinkes", "Budi", dt.date(2015, 2, 1), "Staf", 81234567890, ("error", ERRORS[r % len(ERRORS)])]
            for r in range(1, 120)]
    write_book(path, "pegawai", rows)
    with zipfile.ZipFile(path) as z:
        whole = xlsx_read._errors_in(z.read("xl/worksheets/sheet1.xml"))
    assert len(whole) == 119 and whole[(3, 7)] == ERRORS[1]
    for chunk in (97, 1000, 4096, 5000):   # chunks shorter and longer than the kept tail
        monkeypatch.setattr(xlsx_read, "_CHUNK", chunk)
        with zipfile.ZipFile(path) as z:
            assert xlsx_read._errors_streamed(z, "xl/worksheets/sheet1.xml") == whole, chunk


def test_reading_ahead_gives_the_same_grids_error_cells_included(tmp_path):
    """`validate FILE` starts the parse and the error scan in the background
    (xlsx_read.Parsing): the grids and merged ranges are those of a plain read."""
    path = tmp_path / "a.xlsx"
    write_book(path, "pegawai", [[1, "Dinkes", "Budi", dt.date(2015, 2, 1), "Staf", ("error", "#N/A")],
                                 [2, None, ("error", "#REF!"), 5.5]])
    plain, ahead = {}, {}
    want = xlsx_read.read_grids(path, merges=plain)
    got = xlsx_read.read_grids(path, merges=ahead, ahead=xlsx_read.Parsing(path))
    assert got == want and ahead == plain
    assert got[FORMS["pegawai"].sheet][2][5] == "#N/A" and got[FORMS["pegawai"].sheet][3][2] == "#REF!"


def test_reading_ahead_a_broken_file_is_a_read_error(tmp_path):
    path = tmp_path / "x.xlsx"
    path.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(xlsx_read.ReadError):
        xlsx_read.read_grids(path, ahead=xlsx_read.Parsing(path))


@settings(max_examples=40, database=None, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(min_value=7, max_value=11).flatmap(
    lambda w: st.lists(st.lists(CALAMINE_CELL, min_size=w, max_size=w), min_size=1, max_size=6)),
    st.dictionaries(st.tuples(st.integers(3, 40), st.integers(1, 12)), st.sampled_from(ERRORS), max_size=3))
def test_a_big_tab_as_columns_gives_the_sheet_data_of_its_rows(rows, errors):
    """`validate FILE` takes a big tab as a layout.ColumnGrid: the same extent (rows,
    width, cells) for the limits, and the same header, status columns, rows and values
    as the row grid (error cells included), or no ColumnGrid at all."""
    form = FORMS["pegawai"]
    width = len(rows[0])
    header = ([c.header for c in form.columns] + list(FORMS.status_headers.values()) + [""] * width)[:width]
    body = rows * (xlsx_read.COLUMNAR_FROM_ROWS // len(rows) + 1)
    tab = [[form.title] + [""] * (width - 1), header] + body + [[""] * width] * 2
    want = xlsx_read._grid(tab, errors)
    got = xlsx_read._column_grid(tab, errors)
    if got is None:
        assert any(c > width for _, c in errors)
        return
    assert (len(got), got.extent) == (len(want), (max(map(len, want)), sum(map(len, want))))
    a = locate_form(want, form, FORMS, form.sheet, hashed=False)
    b = locate_form(got, form, FORMS, form.sheet, hashed=False)
    assert (a.header_row, a.columns, a.status_columns) == (b.header_row, b.columns, b.status_columns)
    assert a.frame.index.equals(b.frame.index)
    for frame_a, frame_b in ((a.frame, b.frame), (a.current, b.current)):
        assert [[(type(v), v) for v in r] for r in frame_a.to_numpy().tolist()] == \
            [[(type(v), v) for v in r] for r in frame_b.to_numpy().tolist()]
