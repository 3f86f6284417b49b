"""The Rekap as the Inspektorat reads it (issue 13, point 4) on both backends: Keadaan
in the status colours, the regency's totals, the chart beside the table with fixed
series colours, one landscape page; the Riwayat tab over a multi-day run; the last
reminder of each OPD. The .xlsx master is reopened with openpyxl; the Google master
is the strict emulator's stored spreadsheet."""
from __future__ import annotations

import datetime as dt
import shutil
import subprocess

import openpyxl
import pytest
from openpyxl.utils import get_column_letter

from sheets_sync import remind
from sheets_sync.codes import NO_VERDICT_COLOR, STATUS_COLORS
from sheets_sync.config import WIB
from sheets_sync.stores.google_http import GoogleSession
from tests.backends import AS_OF, Deployment

STATE_FILL = {"LENGKAP": STATUS_COLORS["OK"][0], "BELUM LENGKAP": STATUS_COLORS["PERIKSA"][0],
              "ADA KESALAHAN": STATUS_COLORS["SALAH"][0], "BELUM MENGISI": NO_VERDICT_COLOR[0]}


@pytest.fixture(scope="module")
def xdep(tmp_path_factory):
    """Four demo OPDs (not started, clean, two with mistakes), one cycle with reminders."""
    dep = Deployment("xlsx", tmp_path_factory.mktemp("look"), n_opds=4)
    dep.cycle(hooks=[remind.hook], now=dt.datetime.combine(AS_OF, dt.time(8, 0), tzinfo=WIB))   # frozen clock
    return dep


def _rekap(dep):
    ws = openpyxl.load_workbook(dep.settings.data_dir / "master.xlsx")["Rekap"]
    head = next(r for r in range(1, 10) if ws.cell(r, 1).value == "Kode OPD")
    cols = {ws.cell(head, c).value: c for c in range(1, ws.max_column + 1) if ws.cell(head, c).value}
    return ws, head, cols


def _opd_rows(ws, head):
    r = head + 1
    while ws.cell(r, 1).value:
        yield r
        r += 1


def test_keadaan_is_coloured_like_the_status_cells(xdep):
    ws, head, cols = _rekap(xdep)
    seen = set()
    for r in _opd_rows(ws, head):
        cell = ws.cell(r, cols["Keadaan"])
        assert cell.fill.fgColor.rgb[-6:] == STATE_FILL[cell.value], cell.value
        seen.add(cell.value)
    assert {"BELUM MENGISI", "LENGKAP", "ADA KESALAHAN"} <= seen


def test_totals_row_and_percentages(xdep):
    ws, head, cols = _rekap(xdep)
    rows = list(_opd_rows(ws, head))
    sums = {k: sum(ws.cell(r, cols[k]).value for r in rows) for k in ("Baris", "OK", "PERIKSA", "SALAH")}
    total = rows[-1] + 2                       # under one empty row
    assert ws.cell(total, cols["Nama OPD"]).value == f"JUMLAH KABUPATEN ({len(rows)} OPD)"
    assert {k: ws.cell(total, cols[k]).value for k in sums} == sums
    done = sum(ws.cell(r, cols["Keadaan"]).value == "LENGKAP" for r in rows)
    assert ws.cell(total, cols["Keadaan"]).value == f"OPD LENGKAP: {done} dari 4 ({round(100 * done / 4)}%)"
    share = ws.cell(total + 1, cols["OK"]).value
    assert share == f"{round(100 * sums['OK'] / sums['Baris'])}%"
    assert f"baris OK: {sums['OK']} dari {sums['Baris']} ({share})" in ws["A1"].value


def test_chart_beside_the_table_in_the_status_colours(xdep):
    ws, head, cols = _rekap(xdep)
    [chart] = ws._charts
    anchor_col = chart.anchor._from.col + 1            # 0-based in the drawing
    assert cols["Pengingat terakhir"] < anchor_col < cols["Catatan"]
    assert chart.anchor._from.row + 1 == head + 1       # level with the first OPD: the first screen,
    #                                                    below the frozen header rows
    fills = [s.graphicalProperties.solidFill.srgbClr for s in chart.series]   # as reread: hex text
    assert fills == [STATUS_COLORS[k][0] for k in ("OK", "PERIKSA", "SALAH")]
    # nothing of the table under the chart: it is no wider than the columns left empty for it
    gap_cm = sum(ws.column_dimensions[get_column_letter(c)].width for c in range(anchor_col, cols["Perubahan terakhir"]))
    assert chart.anchor.ext.width / 360000 <= gap_cm * 0.19 + 0.05          # EMU -> cm
    for c in range(anchor_col, cols["Perubahan terakhir"]):
        assert all(ws.cell(r, c).value in (None, "") for r in range(head, head + 6))


def test_rekap_prints_on_one_landscape_page(xdep):
    ws, head, cols = _rekap(xdep)
    assert ws.page_setup.orientation == "landscape"
    assert ws.sheet_properties.pageSetUpPr.fitToPage is True
    assert (ws.page_setup.fitToWidth, ws.page_setup.fitToHeight) == (1, 1)
    last_col = get_column_letter(max(cols.values()))
    assert ws.print_area.startswith(f"'Rekap'!$A$1:${last_col}$")          # every column, from the note
    assert int(ws.print_area.rsplit("$", 1)[1]) >= head + 4 + 3             # rows, totals (and chart)
    assert ws.print_title_rows == f"${head}:${head}"


def test_names_wrap_instead_of_being_cut(xdep):
    ws, head, cols = _rekap(xdep)
    assert ws.freeze_panes == f"C{head + 1}"                          # header and code + name stay in view
    for r in _opd_rows(ws, head):
        assert ws.cell(r, cols["Nama OPD"]).alignment.wrap_text
        name = ws.cell(r, cols["Nama OPD"]).value
        if len(name) > ws.column_dimensions[get_column_letter(cols["Nama OPD"])].width * 1.1:
            assert ws.row_dimensions[r].height >= 30, name


def test_a_masalah_row_is_as_tall_as_its_message(xdep):
    """A message that fits the Keterangan column on one line keeps a one-line row (the
    estimate once doubled them, leaving gaps down the printed tab); a longer one wraps
    into a row tall enough for it."""
    ws = openpyxl.load_workbook(xdep.settings.data_dir / "master.xlsx")["Masalah"]
    col = next(c for c in range(1, ws.max_column + 1) if ws.cell(1, c).value == "Keterangan")
    width = ws.column_dimensions[get_column_letter(col)].width
    short = long = 0
    for r in range(2, ws.max_row + 1):
        text = ws.cell(r, col).value or ""
        height = ws.row_dimensions[r].height
        if len(text) <= width:
            assert height is None, (r, text)
            short += 1
        elif len(text) > width * 1.2:
            assert height >= 30, (r, text)
            long += 1
    assert short and long


def test_last_reminder_column(xdep):
    ws, head, cols = _rekap(xdep)
    got = {ws.cell(r, 1).value: ws.cell(r, cols["Pengingat terakhir"]).value for r in _opd_rows(ws, head)}
    assert got["DINKES"] in (None, "")                              # clean: no reminder
    assert got["DISDIKBUD"] == f"H-3, {AS_OF:%d/%m/%Y}"             # sent in this very cycle


@pytest.mark.skipif(not (shutil.which("soffice") and shutil.which("pdftotext")),
                    reason="LibreOffice (soffice) dan pdftotext tidak terpasang")
def test_libreoffice_prints_the_rekap_on_one_page(xdep, tmp_path):
    shutil.copy(xdep.settings.data_dir / "master.xlsx", tmp_path / "master.xlsx")
    subprocess.run(["soffice", "--headless", f"-env:UserInstallation=file://{tmp_path}/lo", "--convert-to", "pdf",
                    "--outdir", str(tmp_path), str(tmp_path / "master.xlsx")], check=True, timeout=120,
                   capture_output=True)
    text = subprocess.run(["pdftotext", str(tmp_path / "master.pdf"), "-"], check=True, capture_output=True,
                          text=True).stdout
    pages = text.split("\f")
    first = next(i for i, p in enumerate(pages) if "Rekap calon responden SPI" in p)
    assert "JUMLAH KABUPATEN" in pages[first] and "Persentase baris" in pages[first]
    assert "Pengingat" in pages[first] and "Berkas" in pages[first]          # every column on that page
    assert "Kemajuan pengisian" in pages[first]                               # and the chart


# ------------------------------------------------------------------ Riwayat
def test_riwayat_one_row_per_day_per_opd_the_days_last_cycle_wins(tmp_path):
    dep = Deployment("xlsx", tmp_path, n_opds=4)
    day1, day2 = AS_OF - dt.timedelta(days=1), AS_OF
    def at(day, hour):   # frozen clock: the WIB day and time of each cycle
        return dt.datetime.combine(day, dt.time(hour), tzinfo=WIB)

    dep.cycle(as_of=day1, now=at(day1, 8))
    [opd] = [o for o in dep.opds() if o.code == "DISDIKBUD"]           # not started yet
    dep.set_cell(opd, "Pegawai", 3, 2, "Budi Santoso")                  # a first row, same day
    dep.cycle(as_of=day1, now=at(day1, 15))
    dep.cycle(as_of=day2, now=at(day2, 8))
    ws = openpyxl.load_workbook(dep.settings.data_dir / "master.xlsx")["Riwayat"]
    rows = [r for r in ws.iter_rows(min_row=4, max_col=8, values_only=True) if r[0]]
    assert len(rows) == 2 * 4
    assert [r[0].date() for r in rows] == [day2] * 4 + [day1] * 4      # newest day first
    day1_rows = {r[1]: r for r in rows if r[0].date() == day1}
    assert day1_rows["DISDIKBUD"][3] == 1                               # the later cycle of day 1
    progress = [r for r in ws.iter_rows(min_row=4, min_col=10, max_col=17, values_only=True) if r[0]]
    assert [r[0].date() for r in progress] == [day1, day2]             # oldest first: the line chart's x axis
    [chart] = ws._charts
    assert chart.tagname == "lineChart"


# ------------------------------------------------------------------ Google
def _master_sheets(dep, emu):
    store = dep._google_store()
    ss = emu.state.spreadsheets[store.master_id]
    return {s.props["title"]: s for s in ss.sheets}


def test_google_rekap_chart_added_once_and_kept(tmp_path, emu):
    dep = Deployment("google", tmp_path, emulator=emu, n_opds=4,
                     session_factory=lambda: GoogleSession(None, sleep=lambda s: None, max_attempts=12))
    dep.cycle()
    tabs = _master_sheets(dep, emu)
    [chart] = tabs["Rekap"].charts
    spec = chart["spec"]["basicChart"]
    assert spec["chartType"] == "BAR" and spec["stackedType"] == "STACKED"
    colours = [s["colorStyle"]["rgbColor"] for s in spec["series"]]
    assert colours[0]["green"] > colours[0]["red"] and colours[2]["red"] > colours[2]["green"]   # OK green, SALAH red
    anchor = chart["position"]["overlayPosition"]["anchorCell"]
    assert (anchor["columnIndex"], anchor["rowIndex"]) == (10, 3)      # K4: beside the table, under the header
    rules = len(tabs["Rekap"].cond)
    grid = dep._google_store().batch_get(dep._google_store().master_id, ["Rekap"])["Rekap"]
    total = next(i for i, r in enumerate(grid) if len(r) > 1 and str(r[1]).startswith("JUMLAH KABUPATEN"))
    assert grid[total - 1] == [] or not any(grid[total - 1])          # after one empty row, as in .xlsx
    assert grid[total][3] == sum(int(r[3]) for r in grid[3:total - 1])
    assert rules == 4                                                                  # one per Keadaan
    assert len(tabs["Riwayat"].charts) == 1
    assert tabs["Rekap"].props["gridProperties"]["frozenColumnCount"] == 2

    [opd] = [o for o in dep.opds() if o.code == "DISDIKBUD"]
    dep.set_cell(opd, "Pegawai", 3, 2, "Budi Santoso")                  # the master is written again
    batches = emu.stats()["by_endpoint"]["sheets.spreadsheets.batchUpdate"]
    rep = dep.cycle()
    assert rep.master_written
    # the OPD's statuses, and the master's new rows inserted where they belong; no look
    assert emu.stats()["by_endpoint"]["sheets.spreadsheets.batchUpdate"] - batches <= 2
    tabs = _master_sheets(dep, emu)
    assert [c["chartId"] for c in tabs["Rekap"].charts] == [chart["chartId"]]
    assert len(tabs["Rekap"].cond) == rules and len(tabs["Riwayat"].charts) == 1
    dep.cycle()                                                         # its own write: taken as such, not read
    n = emu.stats()["requests"]
    dep.cycle()
    assert emu.stats()["requests"] - n == 1                             # idle: the Drive listing only

    (dep.settings.state_dir / "google_cache.json").unlink()             # the store's memory lost
    dep.cycle(as_of=AS_OF + dt.timedelta(days=1))                       # a new day: Riwayat's ranges grow
    tabs = _master_sheets(dep, emu)
    assert len(tabs["Riwayat"].charts) == 1 and [c["chartId"] for c in tabs["Rekap"].charts] == [chart["chartId"]]
    assert len(tabs["Rekap"].cond) == rules                             # found by title, not added again
    series = tabs["Riwayat"].charts[0]["spec"]["basicChart"]["series"][0]["series"]["sourceRange"]["sources"][0]
    assert series["endRowIndex"] - series["startRowIndex"] == 1 + 2    # header + two days


def test_every_tab_prints_one_page_wide(xdep):
    """Not a page per column: the master's tabs and an OPD's provisioned tabs are set to
    one page wide (landscape, Petunjuk portrait), and the Petunjuk's wrapped lines get
    row heights so that LibreOffice does not draw them over each other."""
    master = openpyxl.load_workbook(xdep.settings.data_dir / "master.xlsx")
    opd = openpyxl.load_workbook(xdep.settings.data_dir / f"{xdep.opds()[1].code}.xlsx")
    for ws in list(master.worksheets) + list(opd.worksheets):
        if ws.sheet_state != "visible":
            continue
        assert ws.sheet_properties.pageSetUpPr.fitToPage and ws.page_setup.fitToWidth == 1, ws.title
        assert ws.page_setup.orientation == ("portrait" if ws.title == "Petunjuk" else "landscape"), ws.title
    guide = opd["Petunjuk"]
    long_lines = [r for r in range(1, guide.max_row + 1) if len(str(guide.cell(r, 1).value or "")) > 120]
    assert long_lines and all((guide.row_dimensions[r].height or 0) > 15 for r in long_lines)


def test_master_opens_on_the_rekap(xdep):
    """The Inspektorat opening master.xlsx sees the Rekap first, not the registry; only
    that tab is selected (two selected tabs are edited together in Excel)."""
    book = openpyxl.load_workbook(xdep.settings.data_dir / "master.xlsx")
    assert book.sheetnames[0] == "Daftar OPD" and book.active.title == "Rekap"
    assert [ws.title for ws in book.worksheets if ws.sheet_view.tabSelected] == ["Rekap"]


def test_times_are_not_cut(xdep):
    """'02/12/2026 18:01 WIB' fits its column (LibreOffice cut it at 'WI' before)."""
    ws, head, cols = _rekap(xdep)
    for title in ("Perubahan terakhir", "Diperiksa terakhir"):
        width = ws.column_dimensions[get_column_letter(cols[title])].width
        longest = max(len(str(ws.cell(r, cols[title]).value or "")) for r in _opd_rows(ws, head))
        assert longest >= 20 and width >= longest + 1, (title, width, longest)
