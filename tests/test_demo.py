"""Demo data: deterministic, realistic, flawless at flaw_rate 0, and in the workbook layout."""
from __future__ import annotations

import csv
import datetime as dt
import random
import re

import openpyxl
import pytest
import yaml

from sheets_sync import demo
from sheets_sync.validate.fields import SHEETS_EPOCH
from sheets_sync.forms import FORMS_YAML, load_forms

AS_OF = dt.date(2023, 10, 13)
FORMS = load_forms()
FORM_KEYS = list(FORMS.forms)
MONTHS = {m.casefold(): i for i, m in enumerate(demo.MONTHS, 1)}
MONTHS.update({m.casefold(): i for i, m in enumerate(demo.MONTHS_SHORT, 1)})
EMAIL_RE = re.compile(r"[A-Za-z0-9_%+-]+(\.[A-Za-z0-9_%+-]+)*@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+")


def _registry():
    reg = yaml.safe_load(FORMS_YAML.read_text(encoding="utf-8"))["registry"]
    return reg["sheet"], [c["header"] for c in reg["columns"]]


# --- a strict reading of "clean", independent of the validator ------------------------

def _phone(value) -> str | None:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return "0" + str(int(value)) if float(value).is_integer() else None
    if not isinstance(value, str) or not re.fullmatch(r"[+\d\s().-]+", value):
        return None
    digits = re.sub(r"\D", "", value)
    digits = "0" + digits[2:] if digits.startswith("62") else digits
    digits = "0" + digits if digits.startswith("8") else digits
    return digits if digits.startswith("08") and 10 <= len(digits) <= 13 else None


def _date(value) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, int):
        return SHEETS_EPOCH + dt.timedelta(days=value)
    if not isinstance(value, str):
        return None
    m = re.fullmatch(r"(\d{1,2})[/-](\d{1,2})[/-](\d{4})", value) or \
        re.fullmatch(r"(\d{1,2}) ([A-Za-z]+) (\d{4})", value)
    if not m:
        return None
    month = MONTHS.get(m[2].casefold()) if m[2].isalpha() else int(m[2])
    try:
        return dt.date(int(m[3]), month or 0, int(m[1]))
    except ValueError:
        return None


def _text_ok(value) -> bool:
    return (isinstance(value, str) and value == value.strip() and "  " not in value
            and bool(value) and not value.startswith("#"))


def _cell_ok(col, value) -> bool:
    if col.type == "row_number":
        return isinstance(value, int)
    if col.type == "text":
        return _text_ok(value)
    if col.type == "name":
        return _text_ok(value) and bool(re.search(r"[A-Za-z]{2}", value))
    if col.type == "phone":
        return _phone(value) is not None
    if col.type == "email":
        return isinstance(value, str) and EMAIL_RE.fullmatch(value) is not None
    if col.type == "address_email":
        return isinstance(value, str) and EMAIL_RE.search(value) is not None
    if col.type == "choice":
        return value in col.rules["choices"]
    if col.type == "date":
        d = _date(value)
        low = AS_OF - dt.timedelta(days=31) if col.rules.get("max_age_months") else demo.START_MIN
        return d is not None and low <= d <= AS_OF
    raise AssertionError(col.type)


def _contact(col, value):
    """The value that must be unique within a form, normalised."""
    if col.type == "phone":
        return _phone(value)
    if col.type in ("email", "address_email") and isinstance(value, str):
        m = EMAIL_RE.search(value)
        return m.group(0).casefold() if m else None
    return None


def _clean_flags(form, rows) -> list[bool]:
    seen = {c.key: set() for c in form.columns if c.rules.get("unique")}
    flags = []
    for row in rows:
        ok = all(_cell_ok(c, row[c.key]) for c in form.columns)
        for key, values in seen.items():
            v = _contact(form.column(key), row[key])
            ok = ok and v not in values
            values.add(v)
        flags.append(ok)
    return flags


def _rows(form_key, n=300, seed=7, **kw):
    return demo.generate_rows(form_key, n, as_of=AS_OF, rng=random.Random(seed), **kw)


# --- generate_rows ---------------------------------------------------------------------

@pytest.mark.parametrize("form_key", FORM_KEYS)
def test_same_seed_same_rows(form_key):
    assert _rows(form_key, seed=3) == _rows(form_key, seed=3)
    assert _rows(form_key, seed=3) != _rows(form_key, seed=4)


@pytest.mark.parametrize("form_key", FORM_KEYS)
def test_rows_honour_n_keys_and_numbering(form_key):
    rows = _rows(form_key, n=37)
    assert len(rows) == 37
    assert all(list(r) == FORMS[form_key].keys for r in rows)
    assert [r["no"] for r in rows] == list(range(1, 38))
    assert _rows(form_key, n=0) == []


@pytest.mark.parametrize("form_key", FORM_KEYS)
def test_flaw_rate_zero_is_clean(form_key):
    form = FORMS[form_key]
    rows = _rows(form_key, n=5000 if form_key == "pegawai" else 1500, flaw_rate=0.0)
    bad = [r for r, ok in zip(rows, _clean_flags(form, rows)) if not ok]
    assert bad == []


@pytest.mark.parametrize("form_key", FORM_KEYS)
def test_flaw_rate_one_flaws_every_row(form_key):
    form = FORMS[form_key]
    rows = _rows(form_key, n=800, flaw_rate=1.0)
    flags = _clean_flags(form, rows)
    assert not any(flags), [r for r, ok in zip(rows, flags) if ok][:3]


def test_default_flaw_rate_is_about_ten_percent():
    form = FORMS["pegawai"]
    rows = _rows("pegawai", n=3000)
    share = 1 - sum(_clean_flags(form, rows)) / len(rows)
    assert 0.06 < share < 0.14


def test_phones_come_in_the_ways_people_type_them():
    phones = [r["no_hp"] for r in _rows("pegawai", n=2000, flaw_rate=0.0)]
    kinds = {type(p) for p in phones}
    assert {str, int, float} <= kinds
    strs = [p for p in phones if isinstance(p, str)]
    assert any(p.startswith("+62 ") for p in strs) and any("-" in p for p in strs)
    assert any(" " in p and not p.startswith("+") for p in strs)
    assert any(re.fullmatch(r"08\d+", p) for p in strs) and any(p.startswith("628") for p in strs)


def test_eksper_walks_the_criterion_slots_in_order():
    choices = FORMS["eksper"].column("kriteria").rules["choices"]
    rows = _rows("eksper", n=len(choices), flaw_rate=0.0)
    assert [r["kriteria"] for r in rows] == choices


def test_pegawai_unit_and_service_dates():
    rows = _rows("pengguna_layanan", n=500, flaw_rate=0.0, unit="Kecamatan Lubuk Pinang")
    assert {r["unit_kerja"] for r in rows} == {"Kecamatan Lubuk Pinang"}
    assert all(AS_OF - dt.timedelta(days=30) <= _date(r["tanggal_layanan"]) <= AS_OF for r in rows)


def test_generate_frame():
    df = demo.generate_frame("pegawai", 5000, as_of=AS_OF, rng=random.Random(1))
    assert list(df.columns) == FORMS["pegawai"].keys
    assert len(df) == 5000 and all(str(t) == "object" for t in df.dtypes)


# --- workbooks -------------------------------------------------------------------------

def _assert_layout(ws, form):
    status = list(FORMS.status_headers.values())
    headers = [c.header for c in form.columns] + status
    assert ws.cell(1, 1).value == form.title and ws.cell(1, 1).font.b
    assert [ws.cell(2, j).value for j in range(1, len(headers) + 1)] == headers
    assert all(ws.cell(2, j).font.b for j in range(1, len(headers) + 1))
    assert ws.freeze_panes == "A3"
    first_status = len(form.columns) + 1
    for row in ws.iter_rows(min_row=3):
        assert all(c.value is None for c in row[first_status - 1:])
    assert [ws.cell(r, 1).value for r in range(3, ws.max_row + 1)] == list(range(1, ws.max_row - 1))


def _no_formulas(wb):
    return all(c.data_type != "f" for ws in wb.worksheets for row in ws.iter_rows() for c in row)


def test_write_opd_workbook_keeps_values_as_given(tmp_path):
    when = dt.datetime(2023, 10, 2)
    rows = {"pegawai": [{"no": 1, "unit_kerja": "=SUM(A1)", "nama": "Budi", "tanggal_mulai": when,
                         "jabatan": "#REF!", "no_hp": 81234567890, "email": None},
                        {"no_hp": "0812-3456-7890"}]}
    path = demo.write_opd_workbook(tmp_path / "x.xlsx", ["pegawai"], rows)
    wb = openpyxl.load_workbook(path)
    ws = wb[FORMS["pegawai"].sheet]
    _assert_layout(ws, FORMS["pegawai"])
    keys = FORMS["pegawai"].keys
    cell = {k: ws.cell(3, j) for j, k in enumerate(keys, 1)}
    assert cell["unit_kerja"].value == "=SUM(A1)" and cell["unit_kerja"].data_type == "s"
    assert cell["tanggal_mulai"].value == when and cell["tanggal_mulai"].number_format == demo.DATE_FORMAT
    assert cell["no_hp"].value == 81234567890 and cell["email"].value is None
    assert ws.cell(4, 1).value == 2  # a row without `no` gets its pre-numbered value
    assert _no_formulas(wb)


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    return out, demo.generate_demo(out, 8, as_of=AS_OF, seed=2023)


def test_generate_demo_writes_every_opd_in_layout(demo_dir):
    out, summary = demo_dir
    assert len(summary["opds"]) == 8
    regs = {r["kode"]: r for r in demo.registry_rows(8)}
    for kode in summary["opds"]:
        path = out / "data" / f"{kode}.xlsx"
        wb = openpyxl.load_workbook(path)
        keys = demo.form_keys_of(regs[kode])
        assert wb.sheetnames == [FORMS[k].sheet for k in keys]
        for k in keys:
            _assert_layout(wb[FORMS[k].sheet], FORMS[k])
        assert _no_formulas(wb)
        assert set(summary["rows"][kode]) == set(keys)


def test_generate_demo_spread_of_progress(demo_dir):
    out, summary = demo_dir
    progress = summary["progress"]
    assert sorted(progress.values()).count("not_started") == 1
    assert list(progress.values()).count("clean") == 1
    for kode, state in progress.items():
        counts = summary["rows"][kode].values()
        if state == "not_started":
            assert set(counts) == {0}
        else:
            assert all(c > 0 for c in counts)
    eksper_opd = next(k for k in summary["opds"] if "eksper" in summary["rows"][k])
    ws = openpyxl.load_workbook(out / "data" / f"{eksper_opd}.xlsx")[FORMS["eksper"].sheet]
    choices = FORMS["eksper"].column("kriteria").rules["choices"]
    kriteria = [ws.cell(r, 2).value for r in range(3, ws.max_row + 1)]
    assert len(kriteria) == len(choices)  # one row per slot, filled or prefilled


def test_generate_demo_is_deterministic(tmp_path, demo_dir):
    _, summary = demo_dir
    again = demo.generate_demo(tmp_path, 8, as_of=AS_OF, seed=2023)
    assert again["rows"] == summary["rows"] and again["progress"] == summary["progress"]


def test_master_has_the_registry(demo_dir):
    out, summary = demo_dir
    sheet, headers = _registry()
    wb = openpyxl.load_workbook(summary["master"])
    ws = wb[sheet]
    assert [c.value for c in ws[1]] == headers
    body = [[c.value for c in row] for row in ws.iter_rows(min_row=2)]
    assert [r[0] for r in body] == summary["opds"]
    assert all(r[headers.index("Berkas / Tautan")] == f"{r[0]}.xlsx" for r in body)
    assert _no_formulas(wb)


# --- the OPD list ----------------------------------------------------------------------

def test_csv_header_and_rows():
    _, headers = _registry()
    with open(demo.OPD_CSV, encoding="utf-8", newline="") as f:
        lines = list(csv.reader(f))
    # the obligation columns (filled by the Inspektorat later) are optional in the CSV
    tracked = {k for ob in yaml.safe_load(FORMS_YAML.read_text(encoding="utf-8"))["obligations"]
               for k in (ob["done"], ob.get("evidence")) if k}
    reg = yaml.safe_load(FORMS_YAML.read_text(encoding="utf-8"))["registry"]["columns"]
    assert lines[0] == [c["header"] for c in reg if c["key"] not in tracked] and len(headers) == len(reg)
    rows = demo.registry_rows()
    assert len(rows) == len(lines) - 1 >= 30
    codes = [r["kode"] for r in rows]
    assert len(set(codes)) == len(codes)
    for r in rows:
        assert re.fullmatch(r"[A-Z0-9-]+", r["kode"]) and r["berkas"] == f"{r['kode']}.xlsx"
        named = [t for t in re.split(r"[,;]", r["formulir"]) if t.strip()]
        assert named and len(demo.form_keys_of(r)) == len(named)
        assert r["aktif"] == "Ya" and "@" in r["email_kontak"] and "@" in r["email_kepala"]


@pytest.mark.parametrize("n", [1, 2, 4, 8, 12])
def test_registry_rows_always_carry_the_rare_forms(n):
    rows = demo.registry_rows(n)
    assert len(rows) == n
    forms = {k for r in rows for k in demo.form_keys_of(r)}
    assert "eksper" in forms
    assert ("penyedia_pbj" in forms) == (n >= 4)


def test_template_rows():
    assert demo.template_rows("pegawai", 3) == [{"no": 1}, {"no": 2}, {"no": 3}]
    slots = demo.template_rows("eksper")
    assert [r["kriteria"] for r in slots] == FORMS["eksper"].column("kriteria").rules["choices"]
