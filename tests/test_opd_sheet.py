"""Issue 13, points 1-3 through real cycles: what an OPD sees in its own sheet (the
demo's provisioned workbooks, the summary line, a renamed header's message, wrapped
notes) and where it is told to open it (an address, never the server's path; on
Google the first problem cell). openpyxl reopens the .xlsx files; Google runs on the
project's emulator in strict mode."""
from __future__ import annotations

import re

import openpyxl
import pytest
import yaml

from sheets_sync import cli
from sheets_sync.config import load_settings
from sheets_sync.cycle.writes import NOTICE_PREFIX
from sheets_sync.forms import load_forms
from tests.backends import Deployment, rekap
from tests.conftest import clean_rows
from tests.google_emulator import start_emulator

ADDRESS = r"\\inspektorat\SPI"   # a network share, as OPDs open it from their PCs
SUMMARY = re.compile(r"^\d+ baris: \d+ OK, \d+ PERIKSA, \d+ SALAH — diperiksa \d\d/\d\d/\d{4} \d\d:\d\d WIB$")


@pytest.fixture(params=["xlsx", "google"])
def dep(request, tmp_path, monkeypatch):
    if request.param == "xlsx":
        yield Deployment("xlsx", tmp_path, n_opds=3)
        return
    with start_emulator() as emu:
        monkeypatch.setenv("SHEETS_EMULATOR_HOST", emu.url.replace("http://", ""))
        yield Deployment("google", tmp_path, emulator=emu, n_opds=3)


def _status_col(grid, forms) -> tuple[int, int]:
    """(header row, Status column), 1-based."""
    for r, row in enumerate(grid[:10], start=1):
        if forms.status_headers["status"] in row:
            return r, row.index(forms.status_headers["status"]) + 1
    raise AssertionError("no Status header")


def _cell(grid, row, col):
    return grid[row - 1][col - 1] if row <= len(grid) and col <= len(grid[row - 1]) else None


def test_summary_line_and_a_renamed_header_reach_the_opds_own_sheet(dep):
    forms = load_forms()
    opd = next(o for o in dep.opds() if len(o.forms) > 1)
    first, second = (forms[k] for k in opd.forms[:2])
    # the OPD renames a required header of its second form
    grid = dep.grids(opd)[second.sheet]
    hr, _ = _status_col(grid, forms)
    renamed = next(c for c in second.columns if not c.header_optional and c.type != "row_number")
    col = grid[hr - 1].index(renamed.header) + 1
    dep.set_cell(opd, second.sheet, hr, col, renamed.header + " (lama)")
    rep = dep.cycle()
    assert not rep.errors
    grids = dep.grids(opd)
    hr, sc = _status_col(grids[first.sheet], forms)
    line = _cell(grids[first.sheet], hr - 1, sc)
    assert SUMMARY.match(line), line
    written = [r[sc - 1] for r in grids[first.sheet][hr:] if len(r) >= sc and r[sc - 1]]
    assert line.startswith(f"{len(written)} baris: {written.count('OK')} OK, {written.count('PERIKSA')} PERIKSA, "
                           f"{written.count('SALAH')} SALAH")
    hr2, sc2 = _status_col(grids[second.sheet], forms)
    notice = _cell(grids[second.sheet], hr2 - 1, sc2)
    assert notice.startswith(NOTICE_PREFIX) and f"kolom {renamed.header} tidak ditemukan" in notice, notice
    assert "Kembalikan" in notice
    # the header restored: the notice gives way to the tab's summary
    dep.set_cell(opd, second.sheet, hr2, col, renamed.header)
    dep.cycle()
    dep.cycle()
    assert SUMMARY.match(_cell(dep.grids(opd)[second.sheet], hr2 - 1, sc2))


def test_google_link_opens_the_first_problem_cell(tmp_path, monkeypatch):
    with start_emulator() as emu:
        monkeypatch.setenv("SHEETS_EMULATOR_HOST", emu.url.replace("http://", ""))
        dep = Deployment("google", tmp_path, emulator=emu, n_opds=3)
        dep.cycle()
        forms = load_forms()
        found = 0
        for o in dep.opds():
            link = rekap(dep)[o.code][12]
            grids = dep.grids(o)
            salah = []
            for key in o.forms:
                grid = grids[forms[key].sheet]
                hr, sc = _status_col(grid, forms)
                salah += [(key, r) for r, row in enumerate(grid, start=1)
                          if r > hr and _cell(grid, r, sc) == "SALAH"]
            if not salah:
                continue
            m = re.fullmatch(r"https://docs\.google\.com/spreadsheets/d/([\w-]+)/edit#gid=(\d+)&range=([A-Z]+)(\d+)", link)
            assert m, link
            assert (salah[0][0], int(m.group(4))) == salah[0]   # the first SALAH row of the first form with one
            found += 1
        assert found


def test_xlsx_address_in_rekap_and_status_never_the_servers_path(tmp_path, capsys):
    dep = Deployment("xlsx", tmp_path, n_opds=3)
    dep.cycle()
    assert all(r[12] == f"{code}.xlsx" for code, r in rekap(dep).items())   # unset: the name only
    cli.main(["status", "--config", str(dep.settings_path)])
    out = capsys.readouterr().out
    assert "alamat_berkas belum diisi" in out and str(tmp_path) not in out
    raw = yaml.safe_load(dep.settings_path.read_text(encoding="utf-8"))
    raw["alamat_berkas"] = ADDRESS
    dep.settings_path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    dep.settings = load_settings(dep.settings_path)
    dep.cycle()
    assert {r[12] for r in rekap(dep).values()} == {ADDRESS + "\\" + f"{c}.xlsx" for c in rekap(dep)}
    master = openpyxl.load_workbook(dep.settings.data_dir / "master.xlsx")["Rekap"]
    col = next(c.column_letter for row in master.iter_rows(max_row=5) for c in row if c.value == "Berkas")
    berkas = [c.value for c in master[col] if c.value and str(c.value).endswith(".xlsx")]
    assert berkas and all(v.startswith(ADDRESS + "\\") for v in berkas)
    cli.main(["status", "--config", str(dep.settings_path)])
    out = capsys.readouterr().out
    assert ADDRESS + "\\DINKES.xlsx" in out and str(tmp_path) not in out
    assert "alamat_berkas belum diisi" not in out
    from sheets_sync.ops import selfcheck
    lines = [x.text for x in selfcheck.run(dep.settings_path).lines]
    assert any(x.startswith(f"Alamat berkas untuk OPD: {ADDRESS}") for x in lines), lines


def test_demo_workbooks_are_the_provisioned_ones(tmp_path):
    dep = Deployment("xlsx", tmp_path, n_opds=3)
    dep.cycle()
    forms = load_forms()
    note_col = len(forms["pegawai"].columns) + 2
    books = [openpyxl.load_workbook(dep.settings.data_dir / o.location) for o in dep.opds() if "pegawai" in o.forms]
    book = next(b for b in books if any(c.value for c in b[forms["pegawai"].sheet][
        openpyxl.utils.get_column_letter(note_col)][2:]))   # an OPD with notes to read
    assert book.sheetnames[0] == "Petunjuk"
    petunjuk = " ".join(str(c.value) for c in book["Petunjuk"]["A"] if c.value)
    assert "tertutup" in petunjuk and "beberapa menit setelah Anda mengetik" not in petunjuk
    ws = book[forms["pegawai"].sheet]
    assert ws.protection.sheet and ws.data_validations.dataValidation and ws.conditional_formatting
    assert ws.freeze_panes == "D3"                     # rows 1-2 and No, Unit Kerja, Nama stay in view
    letter = openpyxl.utils.get_column_letter(note_col)
    assert ws.column_dimensions[letter].width > 50
    _notes_fit(ws, note_col)                           # written by the XML path
    typed = ws.cell(3, 3)                               # a demo row typed in: an unlocked input cell
    assert typed.value and typed.protection.locked is False


def _notes_fit(ws, note_col: int) -> None:
    """Every note wraps (the column's style) and a long one has a row tall enough."""
    notes = [(r, ws.cell(r, note_col)) for r in range(3, ws.max_row + 1) if ws.cell(r, note_col).value]
    assert notes
    for r, cell in notes:
        assert cell.alignment.wrap_text, r
        if len(cell.value) > 70:
            assert (ws.row_dimensions[r].height or 15) >= 30, (r, cell.value)


def test_notes_fit_on_the_openpyxl_write_path_too(tmp_path, monkeypatch):
    from sheets_sync.stores import xlsx_write
    monkeypatch.setattr(xlsx_write, "patch_cells", lambda *a, **k: False)   # a sheet the XML editor leaves alone
    dep = Deployment("xlsx", tmp_path, n_opds=3)
    assert dep.cycle().written_cells
    forms = load_forms()
    note_col = len(forms["pegawai"].columns) + 2
    books = [openpyxl.load_workbook(dep.settings.data_dir / o.location) for o in dep.opds() if "pegawai" in o.forms]
    ws = next(b[forms["pegawai"].sheet] for b in books
              if any(c.value for c in b[forms["pegawai"].sheet][openpyxl.utils.get_column_letter(note_col)][2:]))
    _notes_fit(ws, note_col)
    assert SUMMARY.match(ws.cell(1, note_col - 1).value)


def test_person_text_above_the_header_is_kept(deployment, forms):
    path = deployment.add_opd("DINKES", {"pegawai": clean_rows("pegawai", 2)})
    book = openpyxl.load_workbook(path)
    ws = book["Pegawai"]
    ws.cell(1, 8).value = "Diisi oleh Bu Rina"
    book.save(path)
    deployment.cycle()
    ws = openpyxl.load_workbook(path)["Pegawai"]
    assert ws.cell(1, 8).value == "Diisi oleh Bu Rina" and ws.cell(3, 8).value == "OK"


def test_demo_command_names_the_files_to_open(tmp_path, capsys):
    assert cli.main(["demo", "--opds", "2", "--config-out", str(tmp_path / "d" / "settings.yaml"),
                     "--as-of", "2023-10-12"]) == 0
    out = capsys.readouterr().out
    assert "master.xlsx" in out and "Petunjuk" in out and "outbox" in out
    named = re.findall(r"(\S+\.xlsx):", out)
    assert named and all((tmp_path / "d" / "data").joinpath(n.rsplit("/", 1)[-1]).exists() for n in named)


def test_google_title_merged_over_the_summary_cell_settles(tmp_path, monkeypatch):
    """A title merged across the columns covers the cell above Status: no summary there,
    and the OPD is not written again every cycle for a line that cannot read back."""
    with start_emulator() as emu:
        monkeypatch.setenv("SHEETS_EMULATOR_HOST", emu.url.replace("http://", ""))
        dep = Deployment("google", tmp_path, emulator=emu, n_opds=1)
        forms = load_forms()
        [opd] = dep.opds()
        store, sid = dep._google_store(), dep._sid(opd)
        meta = store.http.spreadsheets_get(sid, params={"fields": "sheets.properties"})
        reqs = [{"mergeCells": {"range": {"sheetId": s["properties"]["sheetId"], "startRowIndex": 0,
                                          "endRowIndex": 1, "startColumnIndex": 0, "endColumnIndex": 12},
                                "mergeType": "MERGE_ALL"}} for s in meta["sheets"]]
        store.http.batch_update(sid, {"requests": reqs})
        dep.cycle()
        dep.cycle()
        n = dep.requests()
        rep = dep.cycle()
        assert (rep.read, rep.written_cells) == (0, 0) and dep.requests() - n <= 1
        for key in opd.forms:
            grid = dep.grids(opd)[forms[key].sheet]
            hr, sc = _status_col(grid, forms)
            assert not _cell(grid, hr - 1, sc)
            assert any(_cell(grid, r, sc) in ("OK", "PERIKSA", "SALAH") for r in range(hr + 1, len(grid) + 1))


def test_status_names_an_opds_file_problem_not_only_the_rekap(tmp_path, capsys):
    """A renamed header leaves that tab unchecked: the admin's `status` says so under the
    OPD's line, as the Rekap's Catatan does."""
    dep = Deployment("xlsx", tmp_path, n_opds=3)
    forms = load_forms()
    opd = dep.opds()[1]
    form = forms[opd.forms[0]]
    grid = dep.grids(opd)[form.sheet]
    hr, _ = _status_col(grid, forms)
    renamed = next(c for c in form.columns if not c.header_optional and c.type != "row_number")
    dep.set_cell(opd, form.sheet, hr, grid[hr - 1].index(renamed.header) + 1, "Judul lain")
    dep.cycle()
    capsys.readouterr()
    cli.main(["status", "--config", str(dep.settings_path)])
    lines = capsys.readouterr().out.splitlines()
    at = next(i for i, x in enumerate(lines) if x.startswith(opd.code + " "))
    assert f"kolom {renamed.header} tidak ditemukan" in lines[at + 1] and "!" in lines[at + 1], lines


def test_demo_never_overwrites_a_deployment_or_an_older_demo(tmp_path, capsys):
    """Pointed by mistake at real settings (or at a folder whose data/ holds a master),
    the demo writes nothing; over an older demo it says to remove it first."""
    real = tmp_path / "srv" / "settings.yaml"
    real.parent.mkdir()
    real.write_text("backend: xlsx\n# milik Inspektorat\n", encoding="utf-8")
    assert cli.main(["demo", "--opds", "2", "--config-out", str(real), "--as-of", "2023-10-12"]) == 2
    assert "bukan demo" in capsys.readouterr().err
    assert real.read_text(encoding="utf-8").endswith("# milik Inspektorat\n") and not (real.parent / "data").exists()
    (tmp_path / "x" / "data").mkdir(parents=True)
    (tmp_path / "x" / "data" / "master.xlsx").write_bytes(b"registry")
    assert cli.main(["demo", "--config-out", str(tmp_path / "x" / "s.yaml"), "--as-of", "2023-10-12"]) == 2
    assert (tmp_path / "x" / "data" / "master.xlsx").read_bytes() == b"registry"
    capsys.readouterr()
    cfg = tmp_path / "d" / "settings.yaml"
    assert cli.main(["demo", "--opds", "1", "--config-out", str(cfg), "--as-of", "2023-10-12"]) == 0
    assert "Data demo dibuat: 1 OPD." in capsys.readouterr().out
    assert cli.main(["demo", "--opds", "2", "--config-out", str(cfg), "--as-of", "2023-10-12"]) == 2
    assert "demo lama" in capsys.readouterr().err
    assert cli.main(["demo", "--opds", "0", "--config-out", str(tmp_path / "z" / "s.yaml")]) == 2
    assert "--opds harus 1 sampai" in capsys.readouterr().err
