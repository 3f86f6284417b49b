"""`provision`: OPD workbooks created or repaired from forms.yaml and the registry,
on the .xlsx backend and on Google (the local emulator)."""
from __future__ import annotations

import csv
import datetime as dt
import os
import shutil
import subprocess
import sys
from pathlib import Path

import openpyxl
import pytest
import yaml

from sheets_sync.config import load_settings
from sheets_sync.forms import load_forms
from sheets_sync.provision import provision
from sheets_sync.provision.spec import (PETUNJUK, PILIHAN, ProvisionError, petunjuk_lines, read_registry_csv,
                                        tab_headers)
from tests.google_emulator import start_emulator

ROOT = Path(__file__).resolve().parent.parent
AS_OF = dt.date(2023, 10, 12)
NX = 8          # OPDs of the .xlsx tests: the first 8 rows of opd.example.csv (ITDA has Eksper)
INSPEKTORAT = {"nama": "Inspektorat Daerah (uji)", "email": ["itda@contoh.go.id", "irban@contoh.go.id"],
               "kontak": "telp. (0737) 000000"}


def registry_csv(path: Path, n: int) -> Path:
    rows = list(csv.reader((ROOT / "config" / "opd.example.csv").open(encoding="utf-8")))
    with path.open("w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows(rows[:n + 1])
    return path


def settings_file(folder: Path, **extra) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    raw = {"backend": "xlsx", "tahun": 2023, "data_dir": "data", "state_dir": "state", "deadline": "2023-10-15",
           "inspektorat": INSPEKTORAT}
    raw.update(extra)
    (folder / "settings.yaml").write_text(yaml.safe_dump(raw), encoding="utf-8")
    return folder / "settings.yaml"


def quiet(*a):
    pass


def run(settings, lines=None, **kw):
    out = lines.append if lines is not None else quiet
    return provision(load_settings(settings.path if hasattr(settings, "path") else settings), out=out, **kw)


# ============================================================== the spec
def test_petunjuk_names_every_form_and_whom_to_ask(tmp_path):
    forms = load_forms()
    s = load_settings(settings_file(tmp_path))
    lines = petunjuk_lines(s, forms, ["pegawai", "eksper"])
    text = "\n".join(lines)
    for key in ("pegawai", "eksper"):
        assert forms[key].sheet in text and forms[key].title in text
    assert "Penyedia PBJ" not in text
    assert INSPEKTORAT["kontak"] in text and "itda@contoh.go.id" in text
    for word in ("OK", "PERIKSA", "SALAH", "Status", "Keterangan", "Diperiksa"):
        assert word in text
    assert "Auditor BPK" in text and text.count("– Auditor BPK\n") == 1   # distinct choices
    # a Petunjuk row never reads as a form header row (validate/guess_form ignore it)
    headers = {h for f in forms for h in tab_headers(f, forms)}
    assert not headers & {line.lstrip("# ").strip() for line in lines}


# ============================================================== .xlsx
@pytest.fixture
def xdep(tmp_path):
    cfg = settings_file(tmp_path / "x")
    registry_csv(tmp_path / "opd.csv", NX)
    return cfg, tmp_path / "opd.csv"


def _mtimes(folder: Path) -> dict:
    return {p.name: p.stat().st_mtime_ns for p in sorted(folder.glob("*.xlsx"))}


def test_xlsx_provision_twice_second_changes_nothing(xdep):
    cfg, csv_path = xdep
    lines = []
    rep = run(cfg, lines, registry_csv=csv_path)
    assert rep.count("created") == NX and rep.ok
    assert any("Daftar OPD kosong" in line for line in lines)
    data = cfg.parent / "data"
    before = _mtimes(data)
    assert "master.xlsx" in before and len(before) == NX + 1
    lines = []
    rep = run(cfg, lines)
    assert rep.count("unchanged") == NX and rep.count("created") == rep.count("repaired") == 0
    assert _mtimes(data) == before
    assert len([line for line in lines[:-1] if "tidak diubah" in line]) == NX and lines[-1].startswith("Ringkasan")


def test_xlsx_workbook_layout(xdep):
    cfg, csv_path = xdep
    run(cfg, registry_csv=csv_path)
    forms = load_forms()
    book = openpyxl.load_workbook(cfg.parent / "data" / "SETDA-PBJ.xlsx")
    assert book.sheetnames == [PETUNJUK, "Pegawai", "Pengguna Layanan", "Penyedia PBJ"]
    ws = book["Pengguna Layanan"]
    form = forms["pengguna_layanan"]
    assert ws["A1"].value == form.title
    assert [c.value for c in ws[2]] == tab_headers(form, forms)
    # header rows and the columns up to Nama frozen: at the Status column the name stays in view
    assert ws.freeze_panes == "F3" and form.columns[4].key == "nama" and ws["A2"].font.b
    assert ws.protection.sheet and ws.protection.password is None
    phone = [c.key for c in form.columns].index("no_hp") + 1
    dims = {d.min: d for d in ws.column_dimensions.values()}
    assert dims[phone].number_format == "@" and dims[phone].protection.locked is False
    status = len(form.columns) + 1
    assert status not in dims or dims[status].protection.locked
    # Keterangan wraps, wide enough for a message and its example (~54 characters a line)
    note = dims[status + 1]
    assert note.alignment.wrap_text and note.alignment.vertical == "bottom" and 50 <= note.width <= 60
    assert ws.row_dimensions[2].height >= 30          # long headers wrap onto a second line that shows
    dvs = ws.data_validations.dataValidation
    date_col = openpyxl.utils.get_column_letter([c.key for c in form.columns].index("tanggal_layanan") + 1)
    dv = next(d for d in dvs if f"{date_col}3" in d.sqref)
    assert dv.type == "date" and "dd/mm/yyyy" in dv.prompt and dv.showInputMessage
    rules = [(str(cf.sqref), r.formula) for cf in ws.conditional_formatting for r in cf.rules]
    assert {tuple(f) for _, f in rules} == {('"OK"',), ('"PERIKSA"',), ('"SALAH"',)}
    itda = openpyxl.load_workbook(cfg.parent / "data" / "ITDA.xlsx")
    assert itda.sheetnames[-1] == PILIHAN and itda[PILIHAN].sheet_state == "hidden"
    dv = next(d for d in itda["Eksper"].data_validations.dataValidation if "B3" in d.sqref)
    assert dv.type == "list" and dv.errorStyle == "warning"          # not strict: OCR variants pass
    choices = [c.value for c in itda[PILIHAN]["A"][1:] if c.value]
    assert len(choices) == 12 and choices.count("Auditor BPK") == 1
    master = openpyxl.load_workbook(cfg.parent / "data" / "master.xlsx")
    assert [c.value for c in master["Daftar OPD"]["F"]][1:7] == [f"{r[0]}.xlsx" for r in read_registry_csv(
        csv_path, forms)][:6]  # noqa: E501


def _type_rows(path: Path, tab: str, rows: list[list]) -> None:
    book = openpyxl.load_workbook(path)
    ws = book[tab]
    for r, values in enumerate(rows, start=3):
        for c, v in enumerate(values, start=1):
            ws.cell(r, c).value = v
    book.save(path)


def _inputs(path: Path) -> dict:
    book = openpyxl.load_workbook(path)
    forms = load_forms()
    out = {}
    for ws in book.worksheets:
        form = next((f for f in forms if f.matches_sheet(ws.title)), None)
        if form is None:
            continue
        n = len(form.columns)
        for row in ws.iter_rows(min_row=3):
            for cell in row:
                if cell.value is not None and cell.column <= n:
                    out[(ws.title, cell.coordinate)] = cell.value
    return out


def test_xlsx_provisioned_workbook_goes_through_a_cycle(xdep):
    cfg, csv_path = xdep
    run(cfg, registry_csv=csv_path)
    path = cfg.parent / "data" / "DINKES.xlsx"
    _type_rows(path, "Pegawai", [
        [1, "Dinas Kesehatan", "Budi Santoso", "01/02/2015", "Staf", "0812-3456-7890", "budi@gmail.com"],
        [2, "Dinas Kesehatan", "Siti Aminah", "01/02/2015", "Staf", "0736-21234", ""]])
    from sheets_sync.cycle import open_cycle, run_cycle
    with open_cycle(load_settings(cfg), AS_OF) as ctx:
        rep = run_cycle(ctx)
    assert rep.written_cells > 0
    ws = openpyxl.load_workbook(path)["Pegawai"]
    assert ws["H3"].value == "OK" and ws["H4"].value == "SALAH" and ws["F3"].value == "0812-3456-7890"
    # the worker's own save keeps everything provision put there
    before = _mtimes(cfg.parent / "data")
    assert run(cfg).count("unchanged") == NX
    assert _mtimes(cfg.parent / "data") == before


def test_xlsx_repairs_without_touching_data(xdep):
    cfg, csv_path = xdep
    run(cfg, registry_csv=csv_path)
    path = cfg.parent / "data" / "SETDA-PBJ.xlsx"
    _type_rows(path, "Pengguna Layanan", [[1, "Loket", "KTP", "05/10/2023", "Andi", "0812-1111-2222", "a@b.id"]])
    _type_rows(path, "Pegawai", [[1, "Bagian PBJ", "Rina", "01/02/2015", "Staf", "0812-3333-4444", ""]])
    book = openpyxl.load_workbook(path)
    del book["Penyedia PBJ"]                                   # a deleted tab
    ws = book["Pengguna Layanan"]
    ws.data_validations.dataValidation = []                    # removed validations
    ws.protection.sheet = False                                # lost protection
    book["Pegawai"].conditional_formatting = type(ws.conditional_formatting)()   # lost colours
    book.save(path)
    data = _inputs(path)
    lines = []
    rep = run(cfg, lines)
    line = next(x for x in lines if x.startswith("SETDA-PBJ"))
    assert rep.count("repaired") == 1 and "diperbaiki" in line and "tab Penyedia PBJ dibuat" in line
    assert "validasi" in line and "proteksi" in line and "warna status" in line
    assert _inputs(path) == data
    book = openpyxl.load_workbook(path)
    assert "Penyedia PBJ" in book.sheetnames and book["Pengguna Layanan"].protection.sheet
    assert book["Pengguna Layanan"].data_validations.dataValidation
    assert len(list(book["Pegawai"].conditional_formatting)) >= 1
    assert book["Pengguna Layanan"]["F3"].protection.locked is False   # typed cells stay editable
    before = _mtimes(cfg.parent / "data")
    assert run(cfg).count("unchanged") == NX and _mtimes(cfg.parent / "data") == before


def test_xlsx_partly_cleared_validation_is_replaced_not_overlapped(xdep):
    cfg, csv_path = xdep
    run(cfg, registry_csv=csv_path)
    path = cfg.parent / "data" / "DINKES.xlsx"
    book = openpyxl.load_workbook(path)
    dv = next(d for d in book["Pegawai"].data_validations.dataValidation if "D3" in d.sqref)
    dv.sqref = openpyxl.worksheet.cell_range.MultiCellRange("D101:D1048576")   # rows 3-100 cleared in Excel
    book.save(path)
    assert run(cfg).count("repaired") == 1
    dvs = [str(d.sqref) for d in openpyxl.load_workbook(path)["Pegawai"].data_validations.dataValidation
           if any(r.min_col == 4 for r in d.sqref.ranges)]
    assert dvs == ["D3:D1048576"]


def test_xlsx_existing_demo_workbook_is_completed_in_place(tmp_path, forms, deployment):
    """A workbook made before provisioning (demo layout, data typed, no validation)
    gets validations at its own columns and keeps its rows."""
    from tests.conftest import clean_rows
    path = deployment.add_opd("DINKES", {"pegawai": clean_rows("pegawai", 3)})
    data = _inputs(path)
    rep = run(deployment.config)
    assert rep.count("repaired") == 1 and _inputs(path) == data
    ws = openpyxl.load_workbook(path)["Pegawai"]
    assert ws.protection.sheet and any("D3" in d.sqref for d in ws.data_validations.dataValidation)
    assert all(ws.cell(r, 3).protection.locked is False for r in (3, 4, 5))
    # the view of issue 13: panes frozen up to Nama Pegawai (was rows only), Keterangan wrapped
    assert ws.freeze_panes == "D3"
    assert ws.column_dimensions[openpyxl.utils.get_column_letter(len(forms["pegawai"].columns) + 2)].alignment.wrap_text
    assert deployment.cycle().written_cells > 0


def test_xlsx_renamed_opd_keeps_its_workbook_and_new_opd_gets_one(xdep):
    cfg, csv_path = xdep
    run(cfg, registry_csv=csv_path)
    master = cfg.parent / "data" / "master.xlsx"
    book = openpyxl.load_workbook(master)
    ws = book["Daftar OPD"]
    ws["B3"].value = "Dinas Kesehatan dan Keluarga Berencana"          # DINKES renamed
    ws.append(["DISKAN", "Dinas Perikanan", "diskan@contoh.go.id", "", "pegawai", "", "Ya"])
    book.save(master)
    dinkes = cfg.parent / "data" / "DINKES.xlsx"
    before = dinkes.stat().st_mtime_ns
    lines = []
    rep = run(cfg, lines)
    assert rep.count("created") == 1 and rep.count("unchanged") == NX
    assert dinkes.stat().st_mtime_ns == before
    assert (cfg.parent / "data" / "DISKAN.xlsx").exists()
    ws = openpyxl.load_workbook(master)["Daftar OPD"]
    assert ws.cell(ws.max_row, 6).value == "DISKAN.xlsx"


def test_xlsx_open_workbook_is_skipped(xdep):
    cfg, csv_path = xdep
    run(cfg, registry_csv=csv_path)
    data = cfg.parent / "data"
    book = openpyxl.load_workbook(data / "DINSOS.xlsx")
    book["Pegawai"].protection.sheet = False
    book.save(data / "DINSOS.xlsx")
    (data / ".~lock.DINSOS.xlsx#").write_text("x")
    lines = []
    rep = run(cfg, lines)
    assert rep.count("skipped") == 1 and any("DINSOS" in x and "dibuka" in x for x in lines)
    assert not openpyxl.load_workbook(data / "DINSOS.xlsx")["Pegawai"].protection.sheet


def test_xlsx_dry_run_writes_nothing(xdep):
    cfg, csv_path = xdep
    lines = []
    rep = run(cfg, lines, registry_csv=csv_path, dry_run=True)
    assert rep.count("created") == NX and not (cfg.parent / "data").exists()
    assert any("akan dibuat" in x for x in lines) and "uji coba" in lines[-1]


def test_cli_provision(tmp_path):
    cfg = settings_file(tmp_path / "c")
    csv_path = registry_csv(tmp_path / "opd.csv", 2)
    cmd = [sys.executable, "-m", "sheets_sync", "provision", "--config", str(cfg), "--registry-csv", str(csv_path)]
    p = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert p.returncode == 0, p.stderr
    assert "DISDIKBUD" in p.stdout and "dibuat" in p.stdout and "Ringkasan: 2 OPD" in p.stdout
    p = subprocess.run(cmd[:-2] + ["--dry-run"], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert p.returncode == 0 and "2 tidak diubah" in p.stdout


@pytest.mark.skipif(not shutil.which("soffice"), reason="LibreOffice (soffice) tidak terpasang")
def test_xlsx_opens_in_libreoffice_without_repair(xdep, tmp_path):
    cfg, csv_path = xdep
    run(cfg, registry_csv=csv_path)
    out = tmp_path / "pdf"
    env = dict(os.environ, HOME=str(tmp_path))       # a fresh LibreOffice profile
    for name in ("ITDA.xlsx", "SETDA-PBJ.xlsx"):
        p = subprocess.run(["soffice", "--headless", "--convert-to", "pdf", "--outdir", str(out),
                            str(cfg.parent / "data" / name)], capture_output=True, text=True, timeout=120, env=env)
        assert p.returncode == 0, p.stderr
        pdf = out / name.replace(".xlsx", ".pdf")
        assert pdf.exists() and pdf.stat().st_size > 1000
    # a workbook saved again by LibreOffice (an OPD editing it there) is still complete
    p = subprocess.run(["soffice", "--headless", "--convert-to", "xlsx:Calc MS Excel 2007 XML", "--outdir",
                        str(out), str(cfg.parent / "data" / "ITDA.xlsx")], capture_output=True, text=True,
                       timeout=120, env=env)
    assert p.returncode == 0, p.stderr
    shutil.copy(out / "ITDA.xlsx", cfg.parent / "data" / "ITDA.xlsx")
    lines = []
    rep = run(cfg, lines)
    assert rep.count("unchanged") == NX, lines


def test_xlsx_grouped_column_styles_are_split_not_overlapped(tmp_path):
    from openpyxl.worksheet.dimensions import ColumnDimension

    from sheets_sync.provision.xlsx import _col
    book = openpyxl.Workbook()
    ws = book.active
    ws.column_dimensions["A"] = ColumnDimension(ws, index="A", min=1, max=5, width=20)
    _col(ws, 3).number_format = "@"
    book.save(tmp_path / "g.xlsx")
    dims = sorted((d.min, d.max, d.width, d.number_format)
                  for d in openpyxl.load_workbook(tmp_path / "g.xlsx").active.column_dimensions.values())
    assert dims == [(1, 2, 20, "General"), (3, 3, 20, "@"), (4, 5, 20, "General")]


# ============================================================== Google
@pytest.fixture(scope="module")
def emulator():
    with start_emulator() as emu:
        yield emu


class GDep:
    """A Drive folder with an empty master on the emulator, and a settings file."""

    def __init__(self, folder: Path, emu, monkeypatch):
        monkeypatch.setenv("SHEETS_EMULATOR_HOST", emu.url.replace("http://", ""))
        emu.reset()
        self.emu = emu
        import gspread

        from sheets_sync.stores.google import FOLDER_MIME, SHEET_MIME, create_file
        from sheets_sync.stores.google_http import GoogleSession
        self.http = gspread.Client(auth=None, session=GoogleSession(None)).http_client
        self.folder = create_file(self.http, "SPI 2023", FOLDER_MIME, None)
        self.master = create_file(self.http, "MASTER - SPI 2023", SHEET_MIME, self.folder)
        self.cfg = settings_file(folder, backend="google",
                                 google={"master_id": self.master, "folder_id": self.folder})
        self.csv = registry_csv(folder / "opd.csv", 4)

    def settings(self):
        return load_settings(self.cfg)

    def run(self, lines=None, **kw):
        return run(self.cfg, lines, **kw)

    def requests(self) -> int:
        return self.emu.stats()["requests"]

    def files(self) -> dict[str, str]:
        from sheets_sync.stores.google import SHEET_MIME
        r = self.http.request("get", "https://www.googleapis.com/drive/v3/files", params={
            "q": f"'{self.folder}' in parents and mimeType='{SHEET_MIME}'", "fields": "files(id,name)"}).json()
        return {f["id"]: f["name"] for f in r["files"] if f["id"] != self.master}

    def registry(self) -> list[list]:
        r = self.http.values_get(self.master, "'Daftar OPD'!A1:G100")
        return r.get("values", [])

    def sid(self, code: str) -> str:
        return next(i for i, n in self.files().items() if n.startswith(code + " - "))

    def meta(self, sid: str, fields="properties,sheets(properties,protectedRanges,conditionalFormats)") -> dict:
        return self.http.spreadsheets_get(sid, params={"fields": fields})

    def tab_id(self, sid: str, title: str) -> int:
        return next(s["properties"]["sheetId"] for s in self.meta(sid)["sheets"] if s["properties"]["title"] == title)

    def values(self, sid: str) -> dict:
        titles = [s["properties"]["title"] for s in self.meta(sid)["sheets"]]
        r = self.http.values_batch_get(sid, [f"'{t}'" for t in titles], {"valueRenderOption": "FORMULA"})
        return {t: vr.get("values", []) for t, vr in zip(titles, r["valueRanges"])}

    def type_rows(self, sid: str, tab: str, rows: list[list]) -> None:
        self.http.values_batch_update(sid, {"valueInputOption": "USER_ENTERED",
                                            "data": [{"range": f"'{tab}'!A3", "values": rows}]})

    def permissions(self, sid: str) -> set[str]:
        r = self.http.request("get", f"https://www.googleapis.com/drive/v3/files/{sid}/permissions",
                              params={"fields": "permissions(emailAddress,role)"}).json()
        return {p["emailAddress"] for p in r["permissions"] if p["role"] != "owner"}


@pytest.fixture
def gdep(tmp_path, emulator, monkeypatch):
    return GDep(tmp_path / "g", emulator, monkeypatch)


def test_google_provision_twice_second_costs_one_listing(gdep):
    lines = []
    n = gdep.requests()
    rep = gdep.run(lines, registry_csv=gdep.csv)
    first = gdep.requests() - n
    assert rep.count("created") == 4 and rep.ok, lines
    assert rep.requests == first
    by = gdep.emu.stats()["by_endpoint"]
    # per OPD: one for the tabs, one for locale and time zone on their own; + the master's Daftar OPD tab
    assert by["sheets.spreadsheets.batchUpdate"] == 4 * 2 + 1
    n = gdep.requests()
    lines = []
    rep = gdep.run(lines)
    assert gdep.requests() - n == 1 and rep.requests == 1
    assert rep.count("unchanged") == 4
    assert gdep.emu.stats()["by_endpoint"]["drive.files.list"] == 3   # 2 in the first run, 1 now


def test_google_spreadsheet_layout(gdep):
    gdep.run(registry_csv=gdep.csv)
    forms = load_forms()
    files = gdep.files()
    assert sorted(n.split(" - ")[0] for n in files.values()) == ["DINKES", "DINSOS", "DISDIKBUD", "DPUPR"]
    assert "DINKES - SPI 2023 - Dinas Kesehatan" in files.values()
    sid = gdep.sid("DINKES")
    meta = gdep.meta(sid)
    assert meta["properties"]["locale"] == "id_ID" and meta["properties"]["timeZone"] == "Asia/Jakarta"
    titles = [s["properties"]["title"] for s in meta["sheets"]]
    assert titles == [PETUNJUK, "Pegawai", "Pengguna Layanan"]                 # Sheet1 became Petunjuk
    peg = next(s for s in meta["sheets"] if s["properties"]["title"] == "Pegawai")
    assert peg["properties"]["gridProperties"]["frozenRowCount"] == 2
    assert all(p["warningOnly"] for p in peg["protectedRanges"]) and len(peg["protectedRanges"]) == 2
    cf = [r["booleanRule"]["condition"]["values"][0]["userEnteredValue"] for r in peg["conditionalFormats"]]
    assert sorted(cf) == ["OK", "PERIKSA", "SALAH"]
    vals = gdep.values(sid)
    assert vals["Pegawai"][0] == [forms["pegawai"].title]
    assert vals["Pegawai"][1] == tab_headers(forms["pegawai"], forms)
    assert vals[PETUNJUK][0][0].startswith("Petunjuk pengisian")
    cells = gdep.http.spreadsheets_get(sid, params={
        "ranges": ["'Pegawai'!A3:G3", "'Pegawai'!A2:A2"],
        "fields": "sheets(data(rowData(values(userEnteredFormat(textFormat(bold),numberFormat),dataValidation))))"})
    row3 = cells["sheets"][0]["data"][0]["rowData"][0]["values"]
    assert row3[5]["userEnteredFormat"]["numberFormat"]["type"] == "TEXT"           # No HP
    assert row3[3]["dataValidation"]["condition"]["type"] == "DATE_IS_VALID"        # tanggal mulai
    assert "dd/mm/yyyy" in row3[3]["dataValidation"]["inputMessage"]
    assert cells["sheets"][0]["data"][1]["rowData"][0]["values"][0]["userEnteredFormat"]["textFormat"]["bold"]
    reg = gdep.registry()
    links = {r[0]: r[5] for r in reg[1:]}
    assert links["DINKES"] == f"https://docs.google.com/spreadsheets/d/{sid}/edit"


def test_google_eksper_dropdown_is_not_strict(gdep, tmp_path):
    with (tmp_path / "itda.csv").open("w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows([["Kode OPD", "Nama OPD", "E-mail Kontak", "Formulir"],
                                 ["ITDA", "Inspektorat Daerah", "itda@contoh.go.id", "eksper"]])
    gdep.run(registry_csv=tmp_path / "itda.csv")
    sid = gdep.sid("ITDA")
    cells = gdep.http.spreadsheets_get(sid, params={"ranges": ["'Eksper'!B3"],
                                                    "fields": "sheets(data(rowData(values(dataValidation))))"})
    rule = cells["sheets"][0]["data"][0]["rowData"][0]["values"][0]["dataValidation"]
    values = [v["userEnteredValue"] for v in rule["condition"]["values"]]
    assert rule["condition"]["type"] == "ONE_OF_LIST" and not rule.get("strict") and rule.get("showCustomUi")
    assert len(values) == 12 == len(set(values))


def test_google_provisioned_sheet_goes_through_a_cycle(gdep):
    gdep.run(registry_csv=gdep.csv)
    sid = gdep.sid("DINKES")
    gdep.type_rows(sid, "Pegawai", [
        [1, "Dinas Kesehatan", "Budi Santoso", "01/02/2015", "Staf", "081234567890", "budi@gmail.com"],
        [2, "Dinas Kesehatan", "Siti Aminah", "01/02/2015", "Staf", "0736-21234", ""]])
    raw = gdep.http.values_get(sid, "'Pegawai'!F3", params={"valueRenderOption": "UNFORMATTED_VALUE"})
    assert raw["values"] == [["081234567890"]]                  # TEXT column: the 0 stays
    from sheets_sync.cycle import open_cycle, run_cycle
    with open_cycle(gdep.settings(), AS_OF) as ctx:
        rep = run_cycle(ctx)
    assert rep.written_cells > 0 and not rep.errors
    rows = gdep.values(sid)["Pegawai"]
    assert rows[2][7] == "OK" and rows[3][7] == "SALAH"
    n = gdep.requests()
    assert gdep.run().ok                                         # statuses moved the version: one look
    assert gdep.requests() - n <= 1 + 4                          # listing + one get per moved spreadsheet


def test_google_shared_only_with_own_addresses(gdep):
    gdep.run(registry_csv=gdep.csv)
    forms = load_forms()
    contacts = {r[0]: r[2] for r in read_registry_csv(gdep.csv, forms)}
    for sid, name in gdep.files().items():
        code = name.split(" - ")[0]
        want = {e.strip().lower() for e in contacts[code].replace(";", ",").split(",") if e.strip()}
        assert gdep.permissions(sid) == want, code
    assert gdep.permissions(gdep.master) == set(INSPEKTORAT["email"])


def test_google_repairs_without_touching_data(gdep):
    gdep.run(registry_csv=gdep.csv)
    sid = gdep.sid("DINKES")
    gdep.type_rows(sid, "Pegawai", [[1, "Dinkes", "Budi", "01/02/2015", "Staf", "081234567890", "b@gmail.com"]])
    gdep.type_rows(sid, "Pengguna Layanan", [[1, "Puskesmas", "KTP", "05/10/2023", "Siti", "081298765432", ""]])
    peg = gdep.tab_id(sid, "Pegawai")
    meta = gdep.meta(sid)
    prot = next(s for s in meta["sheets"] if s["properties"]["title"] == "Pegawai")["protectedRanges"]
    gdep.http.batch_update(sid, {"requests": [
        {"deleteSheet": {"sheetId": gdep.tab_id(sid, PETUNJUK)}},                           # a deleted tab
        {"setDataValidation": {"range": {"sheetId": peg, "startRowIndex": 2, "startColumnIndex": 3,
                                         "endColumnIndex": 4}}},                           # removed validation
        *[{"deleteProtectedRange": {"protectedRangeId": p["protectedRangeId"]}} for p in prot],  # lost protection
        {"deleteConditionalFormatRule": {"sheetId": peg, "index": 0}}]})
    before = gdep.values(sid)
    lines = []
    rep = gdep.run(lines)
    line = next(x for x in lines if x.startswith("DINKES"))
    assert rep.count("repaired") == 1 and rep.count("unchanged") == 3, lines
    for word in ("tab Petunjuk dibuat", "validasi kolom", "proteksi kolom status", "proteksi baris judul",
                 "warna status"):
        assert word in line
    after = gdep.values(sid)
    assert {t: v for t, v in after.items() if t != PETUNJUK} == before
    meta = gdep.meta(sid)
    peg_meta = next(s for s in meta["sheets"] if s["properties"]["title"] == "Pegawai")
    assert len(peg_meta["protectedRanges"]) == 2 and len(peg_meta["conditionalFormats"]) == 3
    n = gdep.requests()
    assert gdep.run().count("unchanged") == 4 and gdep.requests() - n == 1


def test_google_renamed_opd_keeps_its_spreadsheet_and_new_opd_gets_one(gdep):
    gdep.run(registry_csv=gdep.csv)
    sid = gdep.sid("DINKES")
    files = gdep.files()
    gdep.http.values_batch_update(gdep.master, {"valueInputOption": "RAW", "data": [
        {"range": "'Daftar OPD'!B3", "values": [["Dinas Kesehatan dan KB"]]},
        {"range": "'Daftar OPD'!A6", "values": [["DISKAN", "Dinas Perikanan", "diskan@contoh.go.id", "",
                                                 "pegawai", "", "Ya"]]}]})
    lines = []
    rep = gdep.run(lines)
    assert rep.count("created") == 1 and rep.count("repaired") == 1, lines
    now = gdep.files()
    assert now[sid] == "DINKES - SPI 2023 - Dinas Kesehatan dan KB"
    assert len(now) == len(files) + 1
    new = gdep.sid("DISKAN")
    assert gdep.permissions(new) == {"diskan@contoh.go.id"}
    assert gdep.registry()[5][5].endswith(f"/d/{new}/edit")
    n = gdep.requests()
    assert gdep.run().count("unchanged") == 5 and gdep.requests() - n == 1


def test_google_found_by_code_after_a_crash_before_the_links(gdep):
    """Spreadsheets created by a run that died before writing links are adopted
    by their code, not created twice; nobody is invited twice."""
    gdep.run(registry_csv=gdep.csv)
    gdep.http.values_batch_update(gdep.master, {"valueInputOption": "RAW", "data": [
        {"range": "'Daftar OPD'!F2:F5", "values": [[""], [""], [""], [""]]}]})
    (gdep.cfg.parent / "state" / "provision.json").unlink()
    perms = gdep.emu.stats()["by_endpoint"]["drive.permissions.create"]
    files = gdep.files()
    rep = gdep.run()
    assert rep.count("created") == 0 and gdep.files() == files
    assert gdep.emu.stats()["by_endpoint"]["drive.permissions.create"] == perms
    assert all(r[5].startswith("https://docs.google.com/") for r in gdep.registry()[1:])


def test_google_dead_link_is_reported_not_replaced(gdep):
    gdep.run(registry_csv=gdep.csv)
    sid = gdep.sid("DINSOS")
    gdep.http.request("delete", f"https://www.googleapis.com/drive/v3/files/{sid}")
    files = gdep.files()
    lines = []
    rep = gdep.run(lines)
    assert rep.count("failed") == 1 and not rep.ok and gdep.files() == files
    assert any(x.startswith("DINSOS") and "Berkas / Tautan" in x for x in lines)


def test_google_one_spreadsheet_serves_one_opd(gdep):
    gdep.run(registry_csv=gdep.csv)
    link = gdep.registry()[1][5]
    gdep.http.values_batch_update(gdep.master, {"valueInputOption": "RAW", "data": [
        {"range": "'Daftar OPD'!F3", "values": [[link]]}]})
    lines = []
    rep = gdep.run(lines)
    # both rows are refused (issue 10): which of the two is right is for the Inspektorat to say
    assert rep.count("failed") == 2 and any(x.startswith("DINKES") and "DISDIKBUD" in x for x in lines)
    assert any(x.startswith("DISDIKBUD") and "DINKES" in x for x in lines)


def test_google_dry_run_writes_nothing(gdep):
    before = dict(gdep.emu.stats()["by_endpoint"])
    lines = []
    rep = gdep.run(lines, registry_csv=gdep.csv, dry_run=True)
    assert rep.count("created") == 4
    after = gdep.emu.stats()["by_endpoint"]
    writes = [k for k in after if after[k] != before.get(k, 0) and not k.endswith(("list", "get", "batchGet"))]
    assert writes == [] and gdep.files() == {}


def test_google_service_account_without_quota_says_what_to_do(gdep, monkeypatch):
    from sheets_sync.provision.google import _why

    class Resp:
        status_code = 403

        def json(self):
            return {"error": {"code": 403, "message": "Service Accounts do not have storage quota.",
                              "errors": [{"reason": "storageQuotaExceeded"}]}}

    class Err(Exception):
        response = Resp()

    text = _why(Err(), "membuat spreadsheet")
    assert "shared drive" in text and "google.oauth_token" in text


def test_google_needs_a_folder(tmp_path, emulator, monkeypatch):
    monkeypatch.setenv("SHEETS_EMULATOR_HOST", emulator.url.replace("http://", ""))
    cfg = settings_file(tmp_path, backend="google", google={"master_id": "x" * 30})
    from sheets_sync.config import ConfigError
    with pytest.raises(ConfigError, match="folder_id"):
        run(cfg)


def test_provision_error_is_an_exception():
    assert issubclass(ProvisionError, Exception)


def test_google_view_of_an_older_spreadsheet_is_repaired(gdep):
    """A spreadsheet provisioned before the view (issue 13): header rows frozen only,
    Keterangan not wrapped. provision freezes up to the name column and wraps it."""
    gdep.run(registry_csv=gdep.csv)
    sid = gdep.sid("DINKES")
    peg = gdep.tab_id(sid, "Pegawai")
    note = len(load_forms()["pegawai"].columns) + 1          # 0-based Keterangan
    gdep.http.batch_update(sid, {"requests": [
        {"updateSheetProperties": {"properties": {"sheetId": peg, "gridProperties": {
            "frozenRowCount": 2, "frozenColumnCount": 0}}, "fields": "gridProperties.frozenColumnCount"}},
        {"repeatCell": {"range": {"sheetId": peg, "startRowIndex": 2, "startColumnIndex": note,
                                  "endColumnIndex": note + 1},
                        "cell": {"userEnteredFormat": {"wrapStrategy": "OVERFLOW_CELL"}},
                        "fields": "userEnteredFormat.wrapStrategy"}}]})
    lines = []
    assert gdep.run(lines).count("repaired") == 1, lines
    line = next(x for x in lines if x.startswith("DINKES"))
    assert "kolom Keterangan dibungkus" in line and "baris judul dan kolom nama dibekukan" in line
    meta = gdep.meta(sid, fields="sheets(properties,data(rowData(values(userEnteredFormat(wrapStrategy)))))")
    sheet = next(s for s in meta["sheets"] if s["properties"]["title"] == "Pegawai")
    assert sheet["properties"]["gridProperties"]["frozenColumnCount"] == 3      # up to Nama Pegawai
    assert gdep.run().count("unchanged") == 4


def test_google_repairs_a_lampiran_iii_b_tab_without_its_contact_columns(gdep):
    """A tab in the circular's exact Lampiran III B columns (no phone/e-mail), typed by
    staff over the provisioned one: provision repairs what it can and never adds or
    moves their columns; the next cycle checks the rows (PERIKSA, KPK cannot reach them)."""
    gdep.run(registry_csv=gdep.csv)
    sid = gdep.sid("DINKES")
    header = [c.header for c in load_forms()["pengguna_layanan"].columns if c.key not in ("no_hp", "email")]
    assert len(header) == 5
    gdep.http.batch_update(sid, {"requests": [
        {"deleteSheet": {"sheetId": gdep.tab_id(sid, "Pengguna Layanan")}},
        {"addSheet": {"properties": {"title": "Pengguna Layanan"}}}]})
    gdep.http.values_batch_update(sid, {"valueInputOption": "RAW", "data": [{
        "range": "'Pengguna Layanan'!A1",
        "values": [header, [1, "Dukcapil", "Perekaman KTP-el", "02/10/2023", "Joko Susilo"]]}]})
    lines = []
    rep = gdep.run(lines)
    assert rep.ok and rep.count("repaired") == 1, lines
    line = next(x for x in lines if x.startswith("DINKES"))
    assert "diperbaiki" in line and "Pengguna Layanan" in line, line
    tab = gdep.values(sid)["Pengguna Layanan"]
    assert tab[0][:5] == header and tab[1][:5] == [1, "Dukcapil", "Perekaman KTP-el", "02/10/2023", "Joko Susilo"]
    assert not any(h in tab[0] for h in ("No HP (WA)", "E-mail"))   # staff's columns as they were
    assert "No HP (WA)" in str(gdep.values(sid)[PETUNJUK])           # the Petunjuk still offers them
    from sheets_sync.cycle import open_cycle, run_cycle
    with open_cycle(gdep.settings(), AS_OF) as ctx:
        assert not run_cycle(ctx).errors
    tab = gdep.values(sid)["Pengguna Layanan"]
    status = dict(zip(tab[0], tab[1]))
    assert status["Status"] == "PERIKSA" and "KPK tidak dapat menghubungi" in status["Keterangan"], tab
    assert gdep.run().count("repaired") == 0                        # repaired once, then left alone
