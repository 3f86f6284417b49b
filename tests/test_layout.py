"""layout.locate_form: the header row found by its texts, sheet row numbers,
status columns right of the form, stray rows skipped, header problems named."""
from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from sheets_sync.validate.layout import Problem, SheetData, content_hash, find_header, locate_form
from sheets_sync.validate.frame import validate_frame

from tests.conftest import AS_OF, clean_row

FORM_KEYS = ["pegawai", "pengguna_layanan", "penyedia_pbj", "eksper"]


def headers(forms, key):
    return [c.header for c in forms[key].columns]


def values(forms, key, row: dict):
    return [row.get(k) for k in forms[key].keys]


def grid_for(forms, key, rows, *, title_rows=1, header=None, extra_header=()):
    g = [[forms[key].title]] + [[] for _ in range(title_rows - 1)] if title_rows else []
    g.append(list(header or headers(forms, key)) + list(extra_header))
    g += [values(forms, key, r) if isinstance(r, dict) else list(r) for r in rows]
    return g


@pytest.mark.parametrize("key", FORM_KEYS)
@pytest.mark.parametrize("title_rows", [0, 1, 4])
def test_header_found_below_title_rows(forms, key, title_rows):
    g = grid_for(forms, key, [clean_row(key, 1), clean_row(key, 2)], title_rows=title_rows)
    s = locate_form(g, forms[key], forms, forms[key].sheet)
    assert isinstance(s, SheetData)
    assert s.header_row == title_rows + 1
    assert list(s.frame.index) == [title_rows + 2, title_rows + 3]
    assert s.columns == {k: i for i, k in enumerate(forms[key].keys, start=1)}
    n = len(forms[key].columns)
    assert s.status_columns == {"status": n + 1, "message": n + 2, "checked": n + 3}


@pytest.mark.parametrize("mangle", [str.upper, str.lower, lambda h: "  " + h.replace(" ", "   ") + " ",
                                    lambda h: h.replace(" ", "\n"), lambda h: h.replace(" ", "\r\n", 1),
                                    lambda h: "\t" + h.title()])
@pytest.mark.parametrize("key", FORM_KEYS)
def test_header_texts_tolerant_of_case_spaces_line_breaks(forms, key, mangle):
    g = grid_for(forms, key, [clean_row(key, 1)], header=[mangle(h) for h in headers(forms, key)])
    s = locate_form(g, forms[key], forms, "x")
    assert isinstance(s, SheetData), s
    assert s.header_row == 2 and list(s.frame.index) == [3]


def test_header_aliases_and_missing_no_header(forms):
    h = ["", "Unit Kerja", "Nama Pegawai", "Tanggal mulai bekerja di unit kerja", "Jabatan", "No HP",
         "Email aktif"]
    s = locate_form(grid_for(forms, "pegawai", [clean_row("pegawai", 1)], header=h), forms["pegawai"],
                    forms, "Pegawai")
    assert isinstance(s, SheetData)
    assert "no" not in s.columns and s.columns["no_hp"] == 6
    res = validate_frame(s.frame, forms["pegawai"], AS_OF)
    assert res.status[3] == "OK"


def test_columns_can_sit_anywhere_in_the_row(forms):
    """Left margin column and a user's own column in between do not matter."""
    h = [None, "Catatan kecil"] + headers(forms, "pegawai")
    row = [None, "abc"] + values(forms, "pegawai", clean_row("pegawai", 1))
    s = locate_form([["judul"], h, row], forms["pegawai"], forms, "Pegawai")
    assert s.columns["no"] == 3 and s.columns["email"] == 9
    assert s.status_columns["status"] == 10
    assert s.frame.at[3, "nama"] == clean_row("pegawai", 1)["nama"]


def test_status_columns_after_a_users_extra_column(forms):
    g = grid_for(forms, "pegawai", [clean_row("pegawai", 1)], extra_header=["Catatan OPD"])
    s = locate_form(g, forms["pegawai"], forms, "Pegawai")
    assert s.status_columns == {"status": 9, "message": 10, "checked": 11}


def test_existing_status_columns_are_reused(forms):
    g = grid_for(forms, "pegawai", [], extra_header=[None, "Catatan", "STATUS", "keterangan", "Diperiksa"])
    g.append(values(forms, "pegawai", clean_row("pegawai", 1)) + [None, "n", "SALAH", "lama", "kemarin"])
    s = locate_form(g, forms["pegawai"], forms, "Pegawai")
    assert s.status_columns == {"status": 10, "message": 11, "checked": 12}
    assert s.current.loc[3].tolist() == ["SALAH", "lama", "kemarin"]
    assert s.status_header_now == {"status": "STATUS", "message": "keterangan", "checked": "Diperiksa"}


def test_rows_with_only_old_status_are_kept_to_be_cleared(forms):
    g = grid_for(forms, "pegawai", [clean_row("pegawai", 1)])
    g.append([None] * 7 + ["SALAH", "dulu salah", "01/10/2023"])
    s = locate_form(g, forms["pegawai"], forms, "Pegawai")
    assert 4 in s.current.index and s.current.at[4, "status"] == "SALAH"
    assert validate_frame(s.frame, forms["pegawai"], AS_OF).status.index.tolist() == [3]


def test_blank_and_ragged_rows(forms):
    g = grid_for(forms, "pegawai", [])
    g += [(), [], [None, None], ["", " "], values(forms, "pegawai", clean_row("pegawai", 1))[:3], (),
          values(forms, "pegawai", clean_row("pegawai", 2))]
    s = locate_form(g, forms["pegawai"], forms, "Pegawai")
    assert list(s.frame.index) == [7, 9]
    assert s.frame.at[7, "email"] is None


def test_stray_header_rows_and_column_number_rows_are_skipped(forms):
    key = "pegawai"
    n = len(forms[key].columns)
    g = grid_for(forms, key, [
        list(range(1, n + 1)),                                  # 1 2 3 ... under the header
        clean_row(key, 1),
        headers(forms, key),                                    # header pasted again
        [h.upper() for h in headers(forms, key)],
        [f"({i})" for i in range(1, n + 1)],
        clean_row(key, 2),
    ])
    s = locate_form(g, forms[key], forms, "Pegawai")
    assert list(s.frame.index) == [4, 8]
    res = validate_frame(s.frame, forms[key], AS_OF)
    assert list(res.status) == ["OK", "OK"]


def test_header_missing_names_the_column(forms):
    h = headers(forms, "pegawai")
    h[5] = "Nomor Telepon"
    p = locate_form(grid_for(forms, "pegawai", [clean_row("pegawai", 1)], header=h), forms["pegawai"],
                    forms, "Pegawai")
    assert isinstance(p, Problem) and p.code == "HEADER_MISSING"
    assert "No HP (W/A) aktif" in p.params["kolom"] and p.params["tab"] == "Pegawai"
    assert "Nama Pegawai" not in p.params["kolom"]


def test_no_header_at_all(forms):
    p = locate_form([["apa saja"], [1, 2, 3], ["x", "y"]], forms["eksper"], forms, "Eksper")
    assert isinstance(p, Problem) and p.code == "HEADER_MISSING"
    p = locate_form([], forms["eksper"], forms, "Eksper")
    assert isinstance(p, Problem) and p.code == "HEADER_MISSING"


def test_header_order(forms):
    h = headers(forms, "pegawai")
    h[2], h[4] = h[4], h[2]      # Nama Pegawai <-> Jabatan
    p = locate_form(grid_for(forms, "pegawai", [clean_row("pegawai", 1)], header=h), forms["pegawai"],
                    forms, "Pegawai")
    assert isinstance(p, Problem) and p.code == "HEADER_ORDER"
    assert "Nama Pegawai" in p.params["kolom"] or "Jabatan" in p.params["kolom"]


def test_header_beyond_the_first_rows_of_notes(forms):
    g = [["Petunjuk"]] * 10 + grid_for(forms, "eksper", [clean_row("eksper", 1)], title_rows=0)
    s = locate_form(g, forms["eksper"], forms, "Eksper")
    assert s.header_row == 11 and list(s.frame.index) == [12]


def test_find_header_prefers_the_row_matching_most(forms):
    h = headers(forms, "pegawai")
    g = [["No", "Nama Pegawai", "catatan"], h, values(forms, "pegawai", clean_row("pegawai", 1))]
    row, cols = find_header(g, forms["pegawai"])
    assert row == 2 and len(cols) == len(h)


def test_values_are_kept_raw(forms):
    """Layout does not convert: the validator sees ints, floats, datetimes as typed."""
    r = clean_row("pegawai", 1, no_hp=81234567890, tanggal_mulai=dt.datetime(2020, 1, 2))
    s = locate_form(grid_for(forms, "pegawai", [r]), forms["pegawai"], forms, "Pegawai")
    assert s.frame.at[3, "no_hp"] == 81234567890
    assert s.frame.at[3, "tanggal_mulai"] == dt.datetime(2020, 1, 2)


def test_content_hash(forms):
    rows = [clean_row("pegawai", 1), clean_row("pegawai", 2)]
    a = locate_form(grid_for(forms, "pegawai", rows), forms["pegawai"], forms, "P")
    b = locate_form(grid_for(forms, "pegawai", rows), forms["pegawai"], forms, "P")
    assert a.content_hash == b.content_hash == content_hash(a.frame)
    changed = [rows[0], dict(rows[1], jabatan="Kepala Seksi")]
    c = locate_form(grid_for(forms, "pegawai", changed), forms["pegawai"], forms, "P")
    assert c.content_hash != a.content_hash
    moved = locate_form(grid_for(forms, "pegawai", [{}] + rows), forms["pegawai"], forms, "P")
    assert moved.content_hash != a.content_hash                   # same values, other rows
    status_only = grid_for(forms, "pegawai", rows)
    status_only[2] = status_only[2] + ["OK", "", "kemarin"]
    d = locate_form(status_only, forms["pegawai"], forms, "P")
    assert d.content_hash == a.content_hash                        # status cells are not input


def test_the_row_loop_and_the_columnar_path_agree(forms):
    """Small tabs go through a plain loop, big ones column at a time: same frames."""
    import random

    from sheets_sync.validate import layout
    from tests.test_bad_input import NASTY
    rng = random.Random(7)
    for key in ("pegawai", "pengguna_layanan", "penyedia_pbj", "eksper"):
        form = forms[key]
        header = [c.header for c in form.columns] + list(forms.status_headers.values())
        pool = NASTY[:-3] + [None, "", " ", 0, 1, 2.0, "3", "(4)", True, 81234567890, "0812-3456-7890",
                             form.columns[1].header, form.columns[2].header,
                             np.str_("  "), np.str_(form.columns[1].header)]   # str subclasses are text
        grid = [[form.title], header]
        for _ in range(300):
            grid.append([rng.choice(pool) for _ in range(rng.randint(0, len(header)))])
        grid.insert(40, [str(i) for i in range(1, len(form.columns) + 1)])     # a numbering row
        grid.insert(80, list(header))                                          # a repeated header
        found = layout.find_header(grid, form)
        status_cols = {k: len(form.columns) + i for i, k in enumerate(layout.STATUS_KEYS, start=1)}
        a = layout._data_rows(grid, found[0], found[1], status_cols, form)
        b = layout._data_columns(grid, found[0], found[1], status_cols, form)
        for x, y in zip(a, b):
            assert x.index.tolist() == y.index.tolist()
            assert x.astype(object).where(x.notna(), None).to_numpy().tolist() == \
                y.astype(object).where(y.notna(), None).to_numpy().tolist()


def _same_frames(a, b):
    for x, y in zip(a, b):
        assert x.index.tolist() == y.index.tolist()
        assert x.astype(object).where(x.notna(), None).to_numpy().tolist() == \
            y.astype(object).where(y.notna(), None).to_numpy().tolist()


# What a CSV gives: only text, '' for an empty cell, rows of any length; whitespace of
# every kind Python's str.strip() knows (tab, NBSP, the \x1c-\x1f separators, U+2003)
CSV_TEXTS = ["", " ", "\t", "\x1c", "\u00a0", "\u2003", " \x1f ", "1", "2", " 3 ", "(4)", "5.0", "1000",
             "Budi Santoso", "0812-3456-7890", "budi@gmail.com", "13/10/2023", "Ça va", "١٢٣", "#N/A"]


@pytest.mark.parametrize("key", FORM_KEYS)
def test_the_row_loop_and_the_columnar_path_agree_on_text_only_tabs(forms, key):
    """A CSV's cells are all text: the columnar path converts each column to Arrow in one
    go and squeezes spaces without a regex when the column has no other whitespace;
    pasted headers with odd whitespace (tab, \x1c, NBSP, upper case) are still found."""
    import random

    from sheets_sync.validate import layout
    rng = random.Random(11)
    form = forms[key]
    header = [c.header for c in form.columns]
    odd_headers = [h.upper().replace(" ", "  ") for h in header], [h.replace(" ", "\t") for h in header], \
        [h.replace(" ", "\x1c") for h in header], [h.replace(" ", "\u00a0") for h in header]
    pool = CSV_TEXTS + header[1:3]
    for plain in (True, False):   # a column with only ' ' whitespace, and one with any
        texts = [t for t in pool if not plain or not any(ch.isspace() and ch != " " for ch in t)]
        grid = [[form.title] + [""] * (len(header) - 1), list(header)]
        for _ in range(400):
            grid.append([rng.choice(texts) for _ in range(rng.randint(0, len(header) + 4))])
        for at, row in zip((30, 90, 150, 210), odd_headers if not plain else odd_headers[:1]):
            grid.insert(at, list(row))
        grid.insert(60, [str(i) for i in range(1, len(header) + 1)])      # a numbering row
        grid.insert(120, [f"({i})" for i in range(1, len(header) + 1)])
        found = layout.find_header(grid, form)
        status_cols = {k: len(header) + i for i, k in enumerate(layout.STATUS_KEYS, start=1)}
        _same_frames(layout._data_rows(grid, found[0], found[1], status_cols, form),
                     layout._data_columns(grid, found[0], found[1], status_cols, form))


def test_a_big_tab_gives_the_sheet_data_of_the_row_loop(forms):
    """Past COLUMNAR_FROM_ROWS rows locate_form goes column at a time: the SheetData is the
    one the row loop gives (rows of many lengths, numbers, dates, a pasted header)."""
    from sheets_sync.validate import layout
    form = forms["pegawai"]
    rows = [values(forms, "pegawai", clean_row("pegawai", i)) for i in range(1, 6)]
    rows += [[None] * 3, (), [" ", None, ""], headers(forms, "pegawai"),
             [7, "Ani", 198001012005012001, "Staf", "Dinas", 81234567890, None, dt.datetime(2020, 1, 2)]]
    body = [list(r[:n]) for n in range(0, 12) for r in rows] * 20
    assert len(body) > layout.COLUMNAR_FROM_ROWS
    grid = grid_for(forms, "pegawai", body)
    big = locate_form(grid, form, forms, "Pegawai")
    cols, status_cols = big.columns, big.status_columns
    frame, current = layout._data_rows(grid, big.header_row, cols, status_cols, form)
    _same_frames((big.frame, big.current), (frame, current))
    assert big.content_hash == content_hash(frame)
    assert locate_form(grid, form, forms, "Pegawai", hashed=False).content_hash == ""


@pytest.mark.parametrize("renamed, at", [("status", 0), ("message", 1), ("checked", 2)])
def test_a_renamed_status_header_is_taken_back_not_written_over_its_neighbour(forms, renamed, at):
    """Staff rename 'Status' to 'STATUS VERIFIKASI' (or Keterangan, Diperiksa): the column
    is still the worker's, between the two headers it kept; the old layout put the
    missing column onto Keterangan, overwriting that header and dropping the notes."""
    mine = [forms.status_headers[k] for k in ("status", "message", "checked")]
    mine[at] = "STATUS VERIFIKASI"
    g = grid_for(forms, "pegawai", [], extra_header=mine)
    g.append(values(forms, "pegawai", clean_row("pegawai", 1)) + ["OK", None, "kemarin"])
    s = locate_form(g, forms["pegawai"], forms, "Pegawai")
    assert s.status_columns == {"status": 8, "message": 9, "checked": 10}


def test_status_headers_far_apart_get_fresh_columns_clear_of_them(forms):
    g = grid_for(forms, "pegawai", [], extra_header=["Keterangan", "Catatan OPD", "Diperiksa"])
    s = locate_form(g, forms["pegawai"], forms, "Pegawai")
    cols = s.status_columns
    assert len(set(cols.values())) == 3 and cols["status"] not in (8, 9, 10)


@pytest.mark.parametrize("columnar", [False, True])
def test_a_note_right_of_a_broken_status_pair_is_not_free_space(forms, columnar):
    """The OPD deleted the Keterangan column (Status and Diperiksa no longer side by
    side) and typed a note in the first empty column: the 'OK' under the Status header
    does not make the note the worker's; the new columns go after the note."""
    from sheets_sync.validate import layout
    g = grid_for(forms, "pegawai", [], extra_header=["Status", "Diperiksa"])
    g.append(values(forms, "pegawai", clean_row("pegawai", 1)) + ["OK", "12/10/2023 09:00 WIB", "catatan saya"])
    g.append(values(forms, "pegawai", clean_row("pegawai", 2)) + ["OK", "12/10/2023 09:00 WIB"])
    if columnar:
        width = max(map(len, g))
        g = layout.ColumnGrid([np.array([r[c] if c < len(r) else None for r in g], dtype=object)
                               for c in range(width)])
    s = locate_form(g, forms["pegawai"], forms, "Pegawai")
    assert s.status_columns == {"status": 11, "message": 12, "checked": 13}


def test_a_headerless_triple_of_ours_is_still_taken_back(forms):
    """All three status headers deleted, the values left: the same columns are ours again."""
    g = grid_for(forms, "pegawai", [])
    g.append(values(forms, "pegawai", clean_row("pegawai", 1)) + ["SALAH", "alasan", "12/10/2023 09:00 WIB"])
    s = locate_form(g, forms["pegawai"], forms, "Pegawai")
    assert s.status_columns == {"status": 8, "message": 9, "checked": 10}


@pytest.mark.parametrize("named", [2, 6])
@pytest.mark.parametrize("seed", range(6))
def test_free_space_found_column_at_a_time_is_the_row_loops(forms, seed, named):
    """Where no status headers exist, they go right of the last column a person typed in,
    not counting a trailing triple of ours. Column at a time, rows are taken by their
    last column and a thousand at a time (one row that does not move ends the search):
    the answer is the row loop's, also when the first thousand rows all move."""
    import random

    from sheets_sync.validate import layout
    rng = random.Random(seed)
    pool = ["OK", " PERIKSA ", "SALAH", "ok", "OKE", "SALAH\x1c", "catatan", "", " ", None, 5, "PERIKSA x"]
    width = 12
    rows = []
    for i in range(2600):
        row = [rng.choice(pool) for _ in range(rng.randint(0, width))]
        if i < 1500 and seed % 2:   # the first rows fill every column, ending in a status triple
            row = [rng.choice(pool) for _ in range(width - 3)] + [rng.choice(["OK", "SALAH"]), "alasan", "kemarin"]
        rows.append(row)
    grid = [["Judul"], ["No", "Nama", None, None, None, "Status"][:named]] + rows
    columns = [np.array([r[c] if c < len(r) else None for r in grid], dtype=object) for c in range(width)]
    assert layout._free_from(layout.ColumnGrid(columns), 2, forms) == layout._free_from(grid, 2, forms)


def test_a_long_text_column_that_repeats_shares_one_object_per_distinct_text():
    """A CSV's unit and job-title columns repeat a few texts 300,000 times: each distinct
    text becomes one Python str, shared (memory a VM faults in page by page); a column
    of names, or a short one, is converted as it is. The values are the same either way."""
    import pyarrow as pa

    from sheets_sync.validate import layout
    units = pa.array(["Dinas Kesehatan", "", "Bagian Umum", " Dinas  Kesehatan"] * 3_000)
    cells = layout._Cells.of_texts(units)
    assert cells.values.tolist() == units.to_pylist()
    assert len({id(v) for v in cells.values}) == 4
    names = pa.array([f"Budi {i}" for i in range(12_000)])
    assert layout._Cells.of_texts(names).values.tolist() == names.to_pylist()
    short = pa.array(["Dinas"] * 100)
    assert len({id(v) for v in layout._Cells.of_texts(short).values}) == 100


# ------------------------------------------------ a renamed optional column
def _renamed(forms, key, rename: dict, rows, extra_header=(), extra=()):
    """A grid of `key` with some headers renamed ({column key: new text})."""
    form = forms[key]
    h = [rename.get(c.key, c.header) for c in form.columns] + list(extra_header)
    return grid_for(forms, key, [values(forms, key, r) + list(extra) for r in rows], header=h)


@pytest.mark.parametrize("columnar", [False, True])
@pytest.mark.parametrize("column, text", [("no_hp", "Nomor WA"), ("email", "Surel")])
def test_an_optional_column_renamed_is_reported_and_the_tab_still_checked(forms, column, text, columnar):
    """Pengguna Layanan's No HP and E-mail may be absent (the circular's table lacks them);
    renamed, they were absent too and their cells dropped without a word. A header the
    form does not know over cells that look like phones / e-mails is named, and the tab's
    rows are still checked (they count in the totals)."""
    from sheets_sync.validate import layout
    key = "pengguna_layanan"
    g = _renamed(forms, key, {column: text}, [clean_row(key, i) for i in range(1, 5)])
    if columnar:
        width = max(map(len, g))
        g = layout.ColumnGrid([np.array([r[c] if c < len(r) else None for r in g], dtype=object)
                               for c in range(width)])
    s = locate_form(g, forms[key], forms, "Pengguna Layanan")
    assert isinstance(s, SheetData)
    assert column not in s.columns and list(s.frame.index) == [3, 4, 5, 6]
    assert [(p.code, p.params) for p in s.problems] == \
        [("HEADER_UNKNOWN", {"tab": "Pengguna Layanan", "judul": text, "kolom": forms[key].column(column).header})]


def test_phones_typed_as_numbers_or_with_marks_look_like_phones(forms):
    key = "pengguna_layanan"
    phones = [81234567890.0, 6281234567891, "+62 (812) 3456-7892", "0812.3456.7893", "tidak ada"]
    rows = [clean_row(key, i, no_hp=p) for i, p in enumerate(phones, start=1)]
    s = locate_form(_renamed(forms, key, {"no_hp": "HP / WA responden"}, rows), forms[key], forms, "PL")
    assert [p.params["kolom"] for p in s.problems] == ["No HP (WA)"]


@pytest.mark.parametrize("header, cells", [
    ("Alamat", ["Jl. Merdeka 1, Mukomuko", "Desa Lubuk Pinang", "Jl. Sudirman No. 12"]),
    ("NIK", ["1706010101900001", "1706010101900002", "1706010101900003"]),   # 16 digits: no phone
    ("Umur", [34, 51, 27]),
    ("Catatan", ["hubungi 0812-3456-7890", "sudah", "belum"]),
])
def test_an_opds_own_column_that_does_not_look_like_phones_or_emails_is_not_reported(forms, header, cells):
    key = "pengguna_layanan"
    form = forms[key]
    h = [c.header for c in form.columns if c.key not in ("no_hp", "email")] + [header]
    rows = [[v for k, v in clean_row(key, i).items() if k not in ("no_hp", "email")] + [cell]
            for i, cell in enumerate(cells, start=1)]
    s = locate_form(grid_for(forms, key, rows, header=h), form, forms, "Pengguna Layanan")
    assert isinstance(s, SheetData) and s.problems == []


def test_the_circulars_table_without_contact_columns_is_not_reported(forms):
    key = "pengguna_layanan"
    form = forms[key]
    h = [c.header for c in form.columns if c.key not in ("no_hp", "email")]
    rows = [[v for k, v in clean_row(key, i).items() if k not in ("no_hp", "email")] for i in (1, 2)]
    s = locate_form(grid_for(forms, key, rows, header=h), form, forms, "Pengguna Layanan")
    assert s.problems == []


def test_the_workers_own_columns_are_not_taken_for_a_renamed_one(forms):
    """Keterangan messages quote e-mail addresses ('contoh nama@gmail.com'), and an OPD's
    own 'Keterangan' is a status header text too: neither is a renamed E-mail column."""
    key = "pengguna_layanan"
    form = forms[key]
    h = [c.header for c in form.columns if c.key != "email"] + ["Status", "Keterangan", "Diperiksa"]
    rows = [[v for k, v in clean_row(key, i).items() if k != "email"]
            + ["SALAH", "E-mail tidak valid; contoh nama@gmail.com.", "12/10/2023 09:00 WIB"] for i in (1, 2)]
    s = locate_form(grid_for(forms, key, rows, header=h), form, forms, "Pengguna Layanan")
    assert s.problems == [] and s.status_columns == {"status": 7, "message": 8, "checked": 9}


# ------------------------------------------------ status columns moved left
def test_status_columns_moved_to_column_a_are_reused(forms):
    """The OPD cut Status | Keterangan | Diperiksa and inserted them at column A: they are
    still the worker's (kept up to date), not left stale beside three new ones."""
    key = "pegawai"
    h = ["Status", "Keterangan", "Diperiksa"] + headers(forms, key)
    row = ["SALAH", "lama", "kemarin"] + values(forms, key, clean_row(key, 1))
    s = locate_form([["judul"], h, row], forms[key], forms, "Pegawai")
    assert s.status_columns == {"status": 1, "message": 2, "checked": 3}
    assert s.columns["no"] == 4 and s.current.loc[3].tolist() == ["SALAH", "lama", "kemarin"]


def test_status_headers_left_of_the_form_but_not_our_block_are_not_taken(forms):
    """An OPD's own 'Keterangan' (or a lone 'Status') left of the form is the OPD's."""
    key = "pegawai"
    h = ["Keterangan", "Status"] + headers(forms, key)
    s = locate_form([["judul"], h, ["x", "y"] + values(forms, key, clean_row(key, 1))], forms[key], forms, "P")
    assert s.status_columns == {"status": 10, "message": 11, "checked": 12}
