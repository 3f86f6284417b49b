"""Any cell content gets a verdict or is ignored as empty; never an exception.
Hostile grids go through layout + validate for every form, and through real
.xlsx workbooks and cycles."""
from __future__ import annotations

import datetime as dt
from pathlib import Path
import json
import math

import openpyxl
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font, PatternFill

from sheets_sync import cli, codes
from sheets_sync.forms import load_forms
from sheets_sync.validate.layout import SheetData, locate_form
from sheets_sync.validate.fields import is_placeholder
from sheets_sync.validate.frame import validate_frame

from tests.conftest import AS_OF, clean_row, status_by_row, table
from tests.test_validate import assert_consistent

FORMS = load_forms()
FORM_KEYS = ["pegawai", "pengguna_layanan", "penyedia_pbj", "eksper"]
LONG = "x" * 50_000
NASTY = ["#REF!", "#N/A", "#VALUE!", "#DIV/0!", "😀👍🏽", "👨‍👩‍👧", LONG, "=SUM(A1:A3)", "Nama Pegawai", "No",
         "Status", " ", "\n", "\u200b", "\u00a0", "NULL", "None", "nan", "-", "0", "1e309", "١٢٣",
         "0812-3456-7890", "budi@gmail.com", "13/10/2023", "31/09/2023", "Auditor BPK"]

CELL = st.one_of(
    st.none(),
    st.text(max_size=40),
    st.text(alphabet=st.characters(categories=["So", "Sk", "Nd", "Zs", "Lo"]), max_size=10),
    st.integers(min_value=-(2 ** 70), max_value=2 ** 70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.datetimes(min_value=dt.datetime(1800, 1, 1), max_value=dt.datetime(9999, 1, 1)),
    st.dates(min_value=dt.date(1800, 1, 1)),
    st.sampled_from(NASTY),
)
HYP = dict(database=None, deadline=None,
           suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                  HealthCheck.function_scoped_fixture])


def hostile_grid(forms, key, rows, header_repeat_at=None):
    form = forms[key]
    header = [c.header for c in form.columns]
    g = [[form.title], header] + [list(r) for r in rows]
    if header_repeat_at is not None:
        g.insert(min(header_repeat_at + 2, len(g)), list(header))
    return g


def verdicts(forms, key, grid):
    s = locate_form(grid, forms[key], forms, forms[key].sheet)
    assert isinstance(s, SheetData)
    return s, validate_frame(s.frame, forms[key], AS_OF)


@settings(max_examples=150, **HYP)
@given(st.sampled_from(FORM_KEYS), st.lists(st.lists(CELL, max_size=12), max_size=10),
       st.one_of(st.none(), st.integers(0, 10)))
def test_hostile_grids_get_a_verdict_per_row(key, rows, header_repeat_at):
    forms = FORMS                       # not a fixture: hypothesis prints its arguments
    grid = hostile_grid(forms, key, rows, header_repeat_at)
    s, res = verdicts(forms, key, grid)
    assert_consistent(res, messages=False)   # texts: test_validate
    assert set(res.status.index) <= set(s.frame.index)
    for row in s.frame.index:
        typed = [s.frame.at[row, c.key] for c in forms[key].columns
                 if not c.prefilled and c.key in s.frame.columns]
        filled = any(not (v is None or (isinstance(v, float) and math.isnan(v)) or
                          (isinstance(v, str) and (not v.strip() or      # "-", "tidak ada": none
                                                   is_placeholder(v.strip(), forms[key].placeholders))))
                     for v in typed)
        assert (row in res.status.index) == filled, (row, typed)
    notes = res.notes()
    assert all(isinstance(n, str) and len(n) <= 1000 for n in notes)
    assert len(res.records()) == len(res.status)


@pytest.mark.parametrize("key", FORM_KEYS)
@pytest.mark.parametrize("value", [LONG, "😀👍🏽", "#REF!", True, 10 ** 30, -5.5, 0, float("inf"), float("nan"),
                                   dt.datetime(2023, 10, 1), dt.date(2023, 10, 1), dt.time(8, 0),
                                   dt.timedelta(days=3), "=A1", "   ", "Status", ("tuple",), b"bytes"])
def test_every_column_takes_any_value(forms, key, value):
    """The value in each column in turn of an otherwise clean row."""
    for col in forms[key].columns:
        row = clean_row(key, 1, **{col.key: value})
        grid = hostile_grid(forms, key, [[row.get(k) for k in forms[key].keys]])
        s, res = verdicts(forms, key, grid)
        assert_consistent(res, messages=False)   # texts: test_validate
        if col.prefilled or (isinstance(value, float) and math.isnan(value)) or value == "   ":
            continue
        assert list(res.status.index) == [3], (col.key, value)


@pytest.mark.parametrize("value", [dt.time(8, 0), dt.timedelta(hours=2), float("inf"), float("nan"),
                                   dt.datetime(2023, 1, 1), 10 ** 30],
                         ids=["time", "timedelta", "inf", "nan", "datetime", "huge-int"])
def test_records_are_strict_json_whatever_the_no_column_holds(forms, value):
    """`validate --json` promises a JSON array: the raw No value must serialise too."""
    res = validate_frame(pd.DataFrame([clean_row("pegawai", 1, no=value)], index=pd.Index([3], name="row"),
                                      dtype=object), forms["pegawai"], AS_OF)
    text = json.dumps(res.records(), allow_nan=False)
    assert json.loads(text)[0]["row"] == 3


def test_cli_validate_json_is_valid_json_with_odd_no_cells(tmp_path, forms, capsys):
    path = tmp_path / "odd.xlsx"
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Pegawai"
    ws.append([c.header for c in forms["pegawai"].columns])
    for no in (dt.time(1, 30), dt.timedelta(days=2), 1.5):
        ws.append([clean_row("pegawai", 1, no=no).get(k) if k == "no" else clean_row("pegawai", 1).get(k)
                   for k in forms["pegawai"].keys])
    wb.save(path)
    code = cli.main(["validate", str(path), "--json", "--as-of", "2023-10-12"])
    out = capsys.readouterr().out
    assert code == 0
    recs = json.loads(out, parse_constant=lambda c: pytest.fail(f"not JSON: {c}"))
    assert [r["row"] for r in recs] == [2, 3, 4]


# ------------------------------------------------------- real workbooks
def hostile_workbook(path, forms):
    """A Pegawai tab with the things real sheets hold."""
    form = forms["pegawai"]
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Pegawai"
    fill = PatternFill("solid", fgColor="FFF2CC")
    for r in range(1, 5001):                              # thousands of empty formatted rows
        for c in (1, 3, 6):
            ws.cell(r, c).fill = fill
        ws.row_dimensions[r].height = 15
    ws["A1"] = "  PEGAWAI (INTERNAL)  "
    ws.merge_cells("A1:G1")
    for j, c in enumerate(form.columns, start=1):
        ws.cell(2, j, c.header.upper().replace(" ", "\n", 1)).font = Font(bold=True)
    data = [
        clean_row("pegawai", 1),                                            # 3 OK
        clean_row("pegawai", 2, nama=12345, jabatan=3.5),                   # 4 numbers where text belongs
        clean_row("pegawai", 3, unit_kerja="#REF!", no_hp="#N/A"),          # 5 formula errors
        clean_row("pegawai", 4, nama=LONG),                                 # 6 50,000 characters
        clean_row("pegawai", 5, nama="Budi 😀👍🏽", jabatan="Staf ✨"),      # 7 emoji
        [c.header for c in form.columns],                                   # 8 stray header row
        clean_row("pegawai", 6, no_hp=True, email=False),                   # 9 booleans
        clean_row("pegawai", 7, no_hp=dt.datetime(2023, 1, 1)),             # 10 datetime in a phone column
        clean_row("pegawai", 8, no_hp=10 ** 30, tanggal_mulai=-5),          # 11 huge int, negative date
        clean_row("pegawai", 9, no_hp=-81230000009),                        # 12 negative number
        clean_row("pegawai", 10, nama="=CONCAT(\"a\",\"b\")"),              # 13 a live formula, no cached value
        clean_row("pegawai", 11, tanggal_mulai=dt.time(8, 0)),              # 14 a time
        {"no": 12},                                                         # 15 only No
        clean_row("pegawai", 13),                                           # 16 merged over two rows
        {},                                                                 # 17 (merged)
        clean_row("pegawai", 15, nama=dt.timedelta(hours=3)),               # 18 a duration as a name
    ]
    for i, r in enumerate(data, start=3):
        values = r if isinstance(r, list) else [r.get(k) for k in form.keys]
        for j, v in enumerate(values, start=1):
            if v is not None:
                ws.cell(i, j, v)
    ws.merge_cells("B16:B17")
    ws.merge_cells("E16:E17")
    wb.create_sheet("Lain")["A1"] = "=1/0"
    wb.save(path)


def test_hostile_workbook_through_a_real_cycle(deployment, forms):
    path = deployment.add_opd("DINKES", form_keys=["pegawai"], write=False)
    hostile_workbook(path, forms)
    deployment.add_opd("DINSOS", {"pegawai": [clean_row("pegawai", 40)]})
    rep = deployment.cycle()
    assert not rep.errors, rep.errors
    st = {r: v[0] for r, v in status_by_row(path, "Pegawai", forms, "pegawai").items()}
    assert st[3] == "OK"
    for row in (4, 5, 6, 9, 10, 11, 14, 18):
        assert st[row] == "SALAH", (row, st.get(row))
    assert st[7] == "OK"                                  # emoji in a name is still a name
    assert 8 not in st and 15 not in st and 17 not in st
    assert st[12] in ("OK", "SALAH") and st[16] == "OK"
    assert st[13] in ("OK", "SALAH")                      # a formula left no value: REQUIRED or OK
    assert set(st) <= set(range(3, 19))
    wb = openpyxl.load_workbook(path)
    assert wb["Lain"]["A1"].value == "=1/0"               # other tabs untouched
    assert wb["Pegawai"]["B16"].value == "Dinas Kesehatan" and "B16:B17" in str(wb["Pegawai"].merged_cells)
    rekap = {r["Kode OPD"]: r for r in table(deployment.master, "Rekap", "Kode OPD")}
    assert rekap["DINKES"]["Keadaan"] == "ADA KESALAHAN" and rekap["DINSOS"]["Keadaan"] == "LENGKAP"
    again = deployment.cycle()
    assert (again.read, again.written_cells) == (0, 0)


XLSX_CELL = st.one_of(
    st.none(),
    st.text(max_size=25).map(lambda s: ILLEGAL_CHARACTERS_RE.sub("", s)),
    st.integers(min_value=-(10 ** 15), max_value=10 ** 15),
    st.floats(allow_nan=True, allow_infinity=True, width=64),
    st.booleans(),
    st.datetimes(min_value=dt.datetime(1900, 3, 1), max_value=dt.datetime(2100, 1, 1)),
    st.sampled_from(NASTY[:-3]),
)


@settings(max_examples=15, **HYP)
@given(st.sampled_from(FORM_KEYS), st.lists(st.lists(XLSX_CELL, min_size=1, max_size=7), min_size=1, max_size=6))
def test_random_workbooks_through_a_real_cycle(tmp_path_factory, key, rows):
    from tests.conftest import Deployment

    forms = FORMS

    dep = Deployment(tmp_path_factory.mktemp("rnd"), forms)
    path = dep.add_opd("ACAK", form_keys=[key], write=False)
    form = forms[key]
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = form.sheet
    ws.append([form.title])
    ws.append([c.header for c in form.columns])
    for r in rows:                      # only inside the form: the columns right of it are the worker's
        ws.append(r[:len(form.columns)])
    wb.save(path)
    rep = dep.cycle()
    assert not rep.errors, rep.errors
    assert rep.read == 1
    rekap = {r["Kode OPD"]: r for r in table(dep.master, "Rekap", "Kode OPD")}
    assert rekap["ACAK"]["Keadaan"] in ("BELUM MENGISI", "BELUM LENGKAP", "ADA KESALAHAN", "LENGKAP")
    assert not rekap["ACAK"]["Catatan"]
    st_ = status_by_row(path, form.sheet, forms, key)
    assert {v[0] for v in st_.values()} <= {"OK", "PERIKSA", "SALAH"}
    assert rekap["ACAK"]["Baris"] == len(st_)
    for v in st_.values():
        assert v[2]                                    # Diperiksa stamped
        assert (v[0] == "OK") == (not v[1])            # a message exactly when not OK
    assert dep.cycle().written_cells == 0


def test_records_of_a_date_column_and_of_mixed_numbers(forms):
    """records() makes a date column JSON-ready once per distinct date; a column mixing 1,
    1.0 and True (equal under ==) keeps each value as it was."""
    from sheets_sync.validate.frame import FormResult
    days = [dt.date(2023, 1, 2), None, dt.date(2023, 1, 2), dt.date(2022, 5, 6)]
    index = pd.Index([3, 4, 5, 6], name="row")
    res = FormResult("pegawai", pd.Series(["OK"] * 4, index=index), pd.DataFrame(columns=["row", "column", "code",
                     "severity", "message"]),
                     pd.DataFrame({"mulai": days, "no": [1, 1.0, True, None],
                                   "waktu": [dt.datetime(2023, 1, 2, 8), dt.date(2023, 1, 2), None, "x"]},
                                  index=index, dtype=object))
    got = [r["normalized"] for r in res.records()]
    assert [g["mulai"] for g in got] == ["2023-01-02", None, "2023-01-02", "2022-05-06"]
    assert [repr(g["no"]) for g in got] == ["1", "1.0", "True", "None"]
    assert [g["waktu"] for g in got] == ["2023-01-02T08:00:00", "2023-01-02", None, "x"]


def test_a_csv_cell_over_the_csv_modules_limit_is_named_with_its_line(tmp_path):
    """A 200,000-character cell stopped `validate` with "galat tak terduga"."""
    from sheets_sync.ops.offline import read_grids
    path = tmp_path / "panjang.csv"
    path.write_text("No,Nama Pegawai\n1,Budi\n2," + "A" * 200_000 + "\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"baris 3 berkas CSV tidak bisa dibaca: ada sel lebih panjang dari 131\.072"):
        read_grids(path)


def test_validate_refuses_a_far_cell_before_calamine_parses(tmp_path):
    """`validate FILE` reads an .xlsx in a thread started early; a value at XFD1048576
    aborted the process from inside calamine (a Rust backtrace, exit 134). The file is
    now held to the limits first: exit 2 and an Indonesian sentence."""
    import subprocess
    import sys

    from sheets_sync import demo
    from tests.reliability import hostile
    path = demo.write_opd_workbook(tmp_path / "jauh.xlsx", ["pegawai"], {"pegawai": [clean_row("pegawai", 1)]})
    hostile.far_cell(path, "Pegawai", "XFD1048576", 1_048_576, text="x")
    p = subprocess.run([sys.executable, "-m", "sheets_sync", "validate", str(path)], capture_output=True,
                       text=True, timeout=120, cwd=Path(__file__).resolve().parents[1])
    assert p.returncode == 2, p.stderr[-2000:]
    assert "melewati batas 100.000 baris (ada sel di baris ke-1.048.576)" in p.stderr
    assert "Traceback" not in p.stderr and "panicked" not in p.stderr
