"""`validate FILE.csv` reads a plain CSV with Arrow's C++ reader into columns
(layout.ColumnGrid) and anything else with the csv module: the two give the same
cells, and the layout finds the same header, status columns and rows in both."""
from __future__ import annotations

import csv
import io

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sheets_sync.forms import load_forms
from sheets_sync.ops import offline
from sheets_sync.validate import layout
from sheets_sync.validate.layout import ColumnGrid, locate_form

FORMS = load_forms()
TEXT = st.one_of(st.text(alphabet=list('ab ,;"\t\r\n\x1c\u00a0é1'), max_size=8),
                 st.sampled_from(["OK", " SALAH ", "PERIKSA", ""]))


def module_rows(text: str) -> list[list]:
    return list(csv.reader(io.StringIO(text), offline._dialect(text)))


@settings(max_examples=300, database=None, deadline=None)
@given(st.text(alphabet=list('ab ,;"\t\r\n\x00é'), max_size=60))
def test_arrow_reads_what_the_csv_module_reads(text):
    """Any text: either Arrow declines, or its cells are the csv module's (a blank line
    is a row of '' there and [] here)."""
    try:
        want = module_rows(text)
    except csv.Error:
        want = None
    columns = offline._arrow_columns(text, offline._dialect(text)) if text.strip() else None
    if columns is None:
        return
    blank_as_empty = lambda rows: [r if any(r) else [] for r in rows]   # noqa: E731
    assert want is not None
    assert blank_as_empty(ColumnGrid(columns)) == blank_as_empty(want)


@settings(max_examples=300, database=None, deadline=None)
@given(st.lists(st.lists(TEXT, min_size=3, max_size=3), min_size=1, max_size=6), st.sampled_from([",", ";"]))
def test_written_csv_cells_are_read_back_by_arrow(rows, delimiter):
    buf = io.StringIO()
    csv.writer(buf, delimiter=delimiter).writerows([["x", "y", "z"]] + rows)
    text = buf.getvalue()
    columns = offline._arrow_columns(text, offline._dialect(text))
    if columns is not None:
        assert list(ColumnGrid(columns)) == module_rows(text)


def _rows(key, rng, n):
    """n data rows of hostile-ish text, some with status words in and after the form."""
    form = FORMS[key]
    pool = ["", " ", "Budi", "0812-3456-7890", "budi@gmail.com", "13/10/2023", "OK", " PERIKSA", "SALAH ",
            "1", "(2)", form.columns[1].header, "a\nb", 'q"r', "x;y"]
    width = len(form.columns) + rng.integers(0, 4)
    return [[pool[i] for i in rng.integers(0, len(pool), width)] for _ in range(n)]


@pytest.mark.parametrize("key", ["pegawai", "pengguna_layanan"])
@pytest.mark.parametrize("status_header", [True, False])
def test_a_column_grid_gives_the_sheet_data_of_the_rows(key, status_header):
    """A big tab (the columnar path) read as columns and as rows: the same header row,
    status columns (found, or placed after the last typed column) and rows."""
    form = FORMS[key]
    rng = np.random.default_rng(7)
    header = [c.header for c in form.columns] + (list(FORMS.status_headers.values()) if status_header else [])
    body = _rows(key, rng, layout.COLUMNAR_FROM_ROWS + 50)
    width = max(len(header), max(map(len, body)))
    rows = [r + [""] * (width - len(r)) for r in [header] + body]
    buf = io.StringIO()
    csv.writer(buf).writerows(rows)
    text = buf.getvalue()
    columns = offline._arrow_columns(text, offline._dialect(text))
    assert columns is not None
    want = locate_form(module_rows(text), form, FORMS, "t", hashed=False)
    got = locate_form(ColumnGrid(columns), form, FORMS, "t", hashed=False)
    assert (got.header_row, got.columns, got.status_columns) == (want.header_row, want.columns, want.status_columns)
    pd.testing.assert_frame_equal(got.frame, want.frame)
    pd.testing.assert_frame_equal(got.current, want.current)


def test_a_title_line_or_a_nul_leaves_the_file_to_the_csv_module(tmp_path):
    titled = tmp_path / "judul.csv"
    titled.write_text("Daftar pegawai\nNo,Nama\n1,Budi\n", encoding="utf-8")
    assert isinstance(offline.read_grids(titled)["judul"], list)
    plain = tmp_path / "polos.csv"
    plain.write_text("No,Nama\n1,Budi\n", encoding="utf-8")
    assert isinstance(offline.read_grids(plain)["polos"], ColumnGrid)
    assert offline._arrow_columns("a,b\n1,\x002\n", csv.excel) is None
    assert offline._arrow_columns("a,b\r1,2\r", csv.excel) is None   # the csv module refuses it


def test_free_columns_of_a_column_grid_as_the_row_loop(forms=FORMS):
    """Where new status columns go when the header has none: after the last typed
    column, not counting a trailing OK/PERIKSA/SALAH triple of ours."""
    rng = np.random.default_rng(3)
    pool = ["", " ", "x", "OK", " SALAH", "PERIKSA ", "\x1cOK"]
    for _ in range(200):
        width = int(rng.integers(1, 7))
        rows = [[pool[i] for i in rng.integers(0, len(pool), width)] for _ in range(int(rng.integers(1, 6)))]
        grid = ColumnGrid([__import__("pyarrow").array(c, type="string") for c in zip(*rows)])
        assert layout._free_from(grid, 0, forms) == layout._free_from(rows, 0, forms), rows


def test_reading_ahead_gives_the_same_table_and_the_same_error(tmp_path):
    """`validate FILE` starts reading before pandas is loaded (offline.read_ahead): the
    same cells, and a broken CSV still fails where it is read, with its line named."""
    good = tmp_path / "baik.csv"
    good.write_text("No;Nama\n1;Budi\n2;Sari\n", encoding="utf-8")
    ahead = offline.read_grids(good, ahead=offline.read_ahead(good))["baik"]
    assert list(ahead) == list(offline.read_grids(good)["baik"]) == [["No", "Nama"], ["1", "Budi"], ["2", "Sari"]]
    broken = tmp_path / "rusak.csv"
    broken.write_text("No,Nama\n1,Budi\n2," + "x" * (csv.field_size_limit() + 1) + "\n", encoding="utf-8")
    with pytest.raises(ValueError, match="baris 3 berkas CSV"):
        offline.read_grids(broken, ahead=offline.read_ahead(broken))
