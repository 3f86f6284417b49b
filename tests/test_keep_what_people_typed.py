"""Things people put in their workbooks that the worker must keep: a note in a
column without a header, a logo, and a master whose tab someone deleted."""
from __future__ import annotations

import openpyxl
from openpyxl.drawing.image import Image

from sheets_sync import cli
from tests.conftest import clean_rows


def _without_status_headers(deployment, rows: int, typed: dict):
    """DINKES with `rows` pegawai rows, the worker's three status headers (H2:J2) emptied,
    and {(row, col): value} typed in."""
    path = deployment.add_opd("DINKES", {"pegawai": clean_rows("pegawai", rows)})
    wb = openpyxl.load_workbook(path)
    ws = wb["Pegawai"]
    for c in range(8, 11):
        ws.cell(row=2, column=c).value = None
    for (r, c), value in typed.items():
        ws.cell(row=r, column=c).value = value
    wb.save(path)
    return path


def test_note_in_a_headerless_column_is_never_overwritten(deployment, forms):
    # our status headers removed, and a staff note where they would go
    path = _without_status_headers(deployment, 3, {(4, 8): "catatan: konfirmasi ke yang bersangkutan"})
    deployment.cycle()
    ws = openpyxl.load_workbook(path)["Pegawai"]
    assert ws.cell(row=4, column=8).value == "catatan: konfirmasi ke yang bersangkutan"
    assert ws.cell(row=2, column=9).value == forms.status_headers["status"]
    assert ws.cell(row=3, column=9).value == "OK"


def test_an_opds_own_keterangan_column_is_never_taken_for_ours(deployment, forms):
    """An OPD built its tab from its own template: the form's columns, then a column it
    calls 'Keterangan' with its own notes, and no Status/Diperiksa. The worker took that
    column for its own: the first note was replaced by its message, the others emptied.
    Its three columns now go after the OPD's, and stay there."""
    notes = {r: f"catatan OPD {r}" for r in range(3, 7)}
    path = _without_status_headers(deployment, 4, {(2, 8): "Keterangan", **{(r, 8): t for r, t in notes.items()}})
    for _ in range(2):
        deployment.cycle()
        ws = openpyxl.load_workbook(path)["Pegawai"]
        assert {r: ws.cell(row=r, column=8).value for r in notes} == notes
        assert [ws.cell(row=2, column=c).value for c in (9, 10, 11)] == \
            [forms.status_headers[k] for k in ("status", "message", "checked")]
        assert ws.cell(row=3, column=9).value == "OK"
        assert ws.cell(row=2, column=12).value is None      # not a second triple


def test_note_typed_after_deleting_keterangan_is_not_overwritten(deployment, forms):
    """The OPD deletes the worker's Keterangan column (Status and Diperiksa are no longer
    side by side), types a note in the first empty column and edits a row: the new
    status columns go after the note, never onto it."""
    path = deployment.add_opd("DINKES", {"pegawai": clean_rows("pegawai", 3)})
    deployment.cycle()
    wb = openpyxl.load_workbook(path)
    ws = wb["Pegawai"]
    assert [ws.cell(row=2, column=c).value for c in (8, 9, 10)] == ["Status", "Keterangan", "Diperiksa"]
    ws.delete_cols(9)
    ws.cell(row=3, column=10).value = "catatan saya: sudah dikonfirmasi"
    ws.cell(row=4, column=6).value = "021-555123"          # an edit: statuses are due
    wb.save(path)
    deployment.cycle()
    ws = openpyxl.load_workbook(path)["Pegawai"]
    assert ws.cell(row=3, column=10).value == "catatan saya: sudah dikonfirmasi"
    assert [ws.cell(row=2, column=c).value for c in (11, 12, 13)] == \
        [forms.status_headers[k] for k in ("status", "message", "checked")]
    assert ws.cell(row=4, column=11).value == "SALAH"


def test_status_columns_moved_to_column_a_stay_the_workers(deployment, forms):
    """The OPD moves the worker's three columns to A:C (cut, insert): they keep being
    written there, and no second triple appears right of the form with the old one stale."""
    path = deployment.add_opd("DINKES", {"pegawai": clean_rows("pegawai", 3)})
    deployment.cycle()
    wb = openpyxl.load_workbook(path)
    ws = wb["Pegawai"]
    for r in range(2, ws.max_row + 1):
        row = [ws.cell(row=r, column=c).value for c in range(1, 11)]
        for c, value in enumerate(row[7:10] + row[:7], start=1):
            ws.cell(row=r, column=c).value = value
    ws.cell(row=4, column=9).value = "021-555123"          # No HP, now in I: an edit
    wb.save(path)
    deployment.cycle()
    ws = openpyxl.load_workbook(path)["Pegawai"]
    assert [ws.cell(row=2, column=c).value for c in (1, 2, 3)] == \
        [forms.status_headers[k] for k in ("status", "message", "checked")]
    assert ws.cell(row=4, column=1).value == "SALAH" and ws.cell(row=3, column=1).value == "OK"
    assert ws.max_column == 10 and ws.cell(row=2, column=11).value is None


def test_logo_survives_the_status_write(deployment, tmp_path):
    from PIL import Image as PILImage
    path = deployment.add_opd("DINKES", {"pegawai": clean_rows("pegawai", 2)})
    logo = tmp_path / "logo.png"
    PILImage.new("RGB", (20, 20), (200, 30, 30)).save(logo)
    wb = openpyxl.load_workbook(path)
    ws = wb.create_sheet("Kop")
    ws.add_image(Image(str(logo)), "A1")
    wb.save(path)
    assert deployment.cycle().written_cells > 0
    assert len(openpyxl.load_workbook(path)["Kop"]._images) == 1


def test_master_tab_deleted_by_a_person_is_written_again(deployment):
    deployment.add_opd("DINKES", {"pegawai": clean_rows("pegawai", 2)})
    deployment.cycle()
    wb = openpyxl.load_workbook(deployment.master)
    del wb["Rekap"]
    wb.save(deployment.master)
    rep = deployment.cycle()
    assert rep.master_written
    assert "Rekap" in openpyxl.load_workbook(deployment.master).sheetnames
    assert not deployment.cycle().master_written      # and then it settles


def test_csv_saved_by_windows_excel_is_read(tmp_path, forms, capsys):
    header = ";".join(c.header for c in forms["pegawai"].columns)
    row = "1;Dinas Kesehatan;Sité Nurhaliza;13/10/2020;Staf;0812-3456-7890;siti@gmail.com"
    path = tmp_path / "pegawai.csv"
    path.write_bytes((header + "\r\n" + row + "\r\n").encode("cp1252"))
    assert cli.main(["validate", str(path), "--json", "--as-of", "2023-10-12"]) == 0
    import json
    recs = json.loads(capsys.readouterr().out)
    assert recs[0]["status"] == "OK" and recs[0]["normalized"]["nama"] == "Sité Nurhaliza"


def test_a_diperiksa_only_write_is_also_checked_for_a_save_in_between(deployment, forms):
    """An edit that keeps the verdict still rewrites 'Diperiksa'; that write too must
    wait if the workbook changed since it was read. (With the Diperiksa cell cleared,
    the old double planning missed this write in the check but made it anyway.)"""
    from sheets_sync.cycle.context import make_store

    import datetime as dt

    from sheets_sync.config import WIB
    t = dt.datetime(2023, 10, 12, 8, 0, tzinfo=WIB)
    path = deployment.add_opd("DINKES", {"pegawai": clean_rows("pegawai", 2)})
    deployment.cycle(now=t)
    wb = openpyxl.load_workbook(path)
    wb["Pegawai"].cell(row=3, column=3).value = "Budi Santoso Saputra"   # still a valid name
    wb["Pegawai"].cell(row=3, column=10).value = None                    # Diperiksa cleared
    wb.save(path)
    store = make_store(deployment.settings(), forms)
    asked = []
    store.stale = lambda read: asked.append([o.code for o, _ in read]) or {"DINKES"}   # saved meanwhile
    rep = deployment.cycle(store=store, now=t + dt.timedelta(minutes=10))
    assert asked == [["DINKES"]] and rep.written_cells == 0
    # next cycle: only the Diperiksa of that row, and with it the tab's summary line
    assert deployment.cycle(now=t + dt.timedelta(minutes=20)).written_cells == 2


def test_a_pasted_internal_tab_before_pegawai_does_not_take_its_place(deployment, forms):
    """The circular's table pasted as a tab 'Internal' (a form alias) in front of
    'Pegawai': it was read instead, and every row typed in 'Pegawai' left the master
    with nothing said. The form's own tab is read; the other is named in the Rekap."""
    from tests.conftest import table

    deployment.add_opd("DINKES", {"pegawai": clean_rows("pegawai", 4)})
    deployment.cycle()
    path = deployment.path("DINKES")
    wb = openpyxl.load_workbook(path)
    extra = wb.copy_worksheet(wb["Pegawai"])
    extra.title = "Internal"
    extra.delete_rows(5, 10)          # two rows of its own
    wb.move_sheet("Internal", offset=-wb.sheetnames.index("Internal"))
    wb.save(path)
    deployment.cycle()
    rows = [r for r in table(deployment.master, "Pegawai", "Kode OPD") if r["Kode OPD"] == "DINKES"]
    assert len(rows) == 4
    rekap = {r["Kode OPD"]: r for r in table(deployment.master, "Rekap", "Kode OPD")}["DINKES"]
    assert "Tab 'Internal' juga tampak seperti formulir" in rekap["Catatan"] and rekap["Keadaan"] != "LENGKAP"
