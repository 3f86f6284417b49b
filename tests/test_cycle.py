"""The cycle over the registry (sync.run_cycle), its memory between runs, the
worker (jobs.py: --once, the lock, config errors, SIGTERM) and the demo end to end."""
from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import time
from pathlib import Path

import openpyxl
import pytest

from sheets_sync import demo
from sheets_sync.config import WIB
from sheets_sync.forms import norm_header

from tests.conftest import (AS_OF, PYTHON, ROOT, clean_row, clean_rows, sheet_rows, status_by_row,
                            table)

T1 = dt.datetime(2023, 10, 12, 9, 0, tzinfo=WIB)
T2 = dt.datetime(2023, 10, 12, 10, 30, tzinfo=WIB)


def edit(path: Path, title: str, cell: str, value):
    wb = openpyxl.load_workbook(path)
    wb[title][cell] = value
    wb.save(path)


def mtimes(folder: Path) -> dict:
    return {p.name: p.stat().st_mtime_ns for p in sorted(folder.glob("*.xlsx"))}


@pytest.fixture
def three(deployment):
    deployment.add_opd("DINKES", {"pegawai": clean_rows("pegawai", 3, start=1)})
    deployment.add_opd("DINSOS", {"pegawai": clean_rows("pegawai", 2, start=10) +
                                  [clean_row("pegawai", 12, no_hp="021-5551234")]})
    deployment.add_opd("DUKCAPIL", {"pengguna_layanan": clean_rows("pengguna_layanan", 3, start=20)})
    return deployment


# ------------------------------------------------------------- cost follows change
def test_unchanged_workbooks_are_neither_read_nor_validated(three):
    first = three.cycle(now=T1)
    assert (first.opds, first.read, first.validated) == (3, 3, 3)
    assert first.written_cells > 0 and first.master_written
    before = mtimes(three.data)
    second = three.cycle(now=T2)
    assert (second.read, second.validated, second.written_cells) == (0, 0, 0)
    assert not second.master_written
    assert mtimes(three.data) == before


def test_one_edited_cell_reads_only_that_opd(three, forms):
    three.cycle(now=T1)
    before = mtimes(three.data)
    edit(three.path("DINSOS"), "Pegawai", "F5", "0813-7777-1234")        # landline fixed
    rep = three.cycle(now=T2)
    assert (rep.read, rep.validated) == (1, 1)
    after = mtimes(three.data)
    assert after["DINKES.xlsx"] == before["DINKES.xlsx"]
    assert after["DUKCAPIL.xlsx"] == before["DUKCAPIL.xlsx"]
    st = status_by_row(three.path("DINSOS"), "Pegawai", forms, "pegawai")
    assert st[5][0] == "OK" and not st[5][1]
    assert st[5][2] == "12/10/2023 10:30 WIB"            # the edited row is stamped anew
    assert st[3][2] == "12/10/2023 09:00 WIB"            # the untouched rows keep their stamp
    rekap = {r["Kode OPD"]: r for r in table(three.master, "Rekap", "Kode OPD")}
    assert rekap["DINSOS"]["Keadaan"] == "LENGKAP" and rekap["DINSOS"]["SALAH"] == 0


def test_new_row_and_emptied_row(three, forms):
    three.cycle(now=T1)
    path = three.path("DINSOS")
    wb = openpyxl.load_workbook(path)
    ws = wb["Pegawai"]
    for col in range(2, 8):          # staff clear the wrong row (No stays)
        ws.cell(5, col).value = None
    for j, key in enumerate(forms["pegawai"].keys, start=1):
        ws.cell(6, j, clean_row("pegawai", 13, nama="1234").get(key))
    wb.save(path)
    three.cycle(now=T2)
    st = status_by_row(path, "Pegawai", forms, "pegawai")
    assert 5 not in st                                  # old SALAH cleared with the row
    assert st[6][0] == "SALAH" and st[6][2] == "12/10/2023 10:30 WIB"


def test_a_new_day_ages_service_dates_without_an_edit(deployment, forms):
    path = deployment.add_opd("DUKCAPIL", {"pengguna_layanan": [
        clean_row("pengguna_layanan", 1, tanggal_layanan="15/09/2023"),
        clean_row("pengguna_layanan", 2, tanggal_layanan="10/10/2023")]})
    deployment.cycle(as_of=dt.date(2023, 10, 12))
    assert {r: v[0] for r, v in status_by_row(path, "Pengguna Layanan", forms, "x").items()} == {3: "OK", 4: "OK"}
    rep = deployment.cycle(as_of=dt.date(2023, 10, 20))
    assert rep.validated == 1
    st = status_by_row(path, "Pengguna Layanan", forms, "x")
    assert st[3][0] == "SALAH" and st[4][0] == "OK"
    rep = deployment.cycle(as_of=dt.date(2023, 10, 20))
    assert (rep.read, rep.validated, rep.written_cells) == (0, 0, 0)


def test_status_header_restored_when_staff_delete_it(three, forms):
    three.cycle(now=T1)
    edit(three.path("DINKES"), "Pegawai", "H2", None)
    rep = three.cycle(now=T2)
    assert rep.read == 1
    assert sheet_rows(three.path("DINKES"), "Pegawai")[1][7] == "Status"


def test_status_cells_overwritten_by_staff_are_put_back(three, forms):
    three.cycle(now=T1)
    edit(three.path("DINSOS"), "Pegawai", "H5", "OK")      # someone "fixes" the verdict by hand
    three.cycle(now=T2)
    assert status_by_row(three.path("DINSOS"), "Pegawai", forms, "pegawai")[5][0] == "SALAH"


def test_registry_changes(three, forms):
    three.cycle(now=T1)
    three.registry = [r for r in three.registry if r["kode"] != "DUKCAPIL"]
    three.registry[0]["formulir"] = "pegawai, pengguna_layanan"
    demo.write_master(three.master, three.registry)
    rep = three.cycle(now=T2)
    rekap = {r["Kode OPD"]: r for r in table(three.master, "Rekap", "Kode OPD")}
    assert set(rekap) == {"DINKES", "DINSOS"}
    assert rep.read == 1                                  # DINKES: its forms changed
    assert "Pengguna Layanan" in rekap["DINKES"]["Catatan"] or rekap["DINKES"]["Keadaan"] == "ADA KESALAHAN"
    peng = table(three.master, "Pengguna Layanan", "Kode OPD")
    assert all(p["Kode OPD"] != "DUKCAPIL" for p in peng)


def test_a_cycle_with_no_registry_does_not_crash(deployment):
    rep = deployment.cycle()
    assert rep.opds == 0 and rep.errors


def test_state_survives_a_new_process_context(three):
    """The memory is in SQLite: a fresh context (a restarted worker) remembers."""
    three.cycle(now=T1)
    from sheets_sync.cycle.state import State
    st = State(three.settings().state_db)
    try:
        assert st.integrity_ok()
        assert st.opd("DINKES").complete and st.opd("DINKES").revision
    finally:
        st.close()
    assert three.cycle(now=T2).read == 0


# ------------------------------------------------------------------ jobs.py
def run_jobs(*args, timeout=60, **kw):
    return subprocess.run([PYTHON, "jobs.py", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout, **kw)


def test_jobs_once_exit_0_and_second_instance_refused(three):
    r = run_jobs("--once", "--config", str(three.config), "--as-of", "2023-10-12")
    assert r.returncode == 0, r.stderr
    assert "siklus selesai" in r.stderr
    import jobs
    lock = jobs.Lock(three.settings().lock_file)
    assert lock.acquire()
    try:
        r = run_jobs("--once", "--config", str(three.config), "--as-of", "2023-10-12")
    finally:
        lock.file.close()
    assert r.returncode != 0
    assert "Traceback" not in r.stderr
    assert "pekerja lain sudah berjalan" in r.stderr


@pytest.mark.parametrize("settings_text,args", [
    ("backend: excel\n", []),
    ("sync_interval_minutes: 0\n", []),
    ("kunci_aneh: 1\n", []),
    ("reminder_time: '25:00'\n", []),
    ("deadline: besok\n", []),
    ("backend: [xlsx\n", []),
    ("- a\n- b\n", []),
    ("backend: xlsx\n", ["--as-of", "12-10-2023"]),
    (None, []),
], ids=["backend", "interval", "unknown-key", "time", "deadline", "yaml", "not-a-mapping", "as-of", "missing"])
def test_jobs_config_errors_exit_2_in_indonesian(tmp_path, settings_text, args):
    cfg = tmp_path / "settings.yaml"
    if settings_text is not None:
        cfg.write_text(settings_text, encoding="utf-8")
    r = run_jobs("--once", "--config", str(cfg), *args)
    assert r.returncode == 2, (r.returncode, r.stderr)
    assert "Traceback" not in r.stderr
    assert "pengaturan salah" in r.stderr or "bukan tanggal" in r.stderr


def test_jobs_loop_stops_cleanly_on_sigterm(three):
    p = subprocess.Popen([PYTHON, "jobs.py", "--config", str(three.config)], cwd=ROOT,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines = []
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            line = p.stderr.readline()
            if not line:
                break
            lines.append(line)
            if "siklus selesai" in line:
                break
        assert any("siklus selesai" in x for x in lines), "".join(lines)
        started = time.monotonic()
        p.send_signal(signal.SIGTERM)
        code = p.wait(timeout=10)
        assert code == 0
        assert time.monotonic() - started < 5
        rest = p.stderr.read()
        assert "Traceback" not in rest and "pekerja berhenti" in rest
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()


# --------------------------------------------------------------- end to end
def _form_tabs(book, forms):
    for ws in book.worksheets:
        form = next((f for f in forms if f.matches_sheet(ws.title)), None)
        if form:
            yield ws, form


def test_demo_end_to_end(tmp_path, forms):
    cfg = tmp_path / "demo" / "settings.yaml"
    r = subprocess.run([PYTHON, "-m", "sheets_sync", "demo", "--opds", "6", "--config-out", str(cfg),
                        "--as-of", "2023-10-12"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    r = run_jobs("--once", "--config", str(cfg), "--as-of", "2023-10-12", timeout=120)
    assert r.returncode == 0, r.stderr
    assert "Traceback" not in r.stderr
    data = cfg.parent / "data"
    workbooks = sorted(p for p in data.glob("*.xlsx") if p.name != "master.xlsx")
    assert len(workbooks) == 6
    statuses = {"OK": 0, "PERIKSA": 0, "SALAH": 0}
    for path in workbooks:
        book = openpyxl.load_workbook(path)
        tabs = list(_form_tabs(book, forms))
        assert tabs, path.name
        for ws, form in tabs:
            rows = [list(r) for r in ws.iter_rows(values_only=True)]
            hdr_i = next(i for i, r in enumerate(rows) if sum(isinstance(v, str) and any(
                c.matches(v) for c in form.columns) for v in r) >= 3)
            header = [norm_header(v) for v in rows[hdr_i]]
            col = {c.key: next(j for j, h in enumerate(header) if c.matches(rows[hdr_i][j] or ""))
                   for c in form.columns}
            s_col = header.index(norm_header("Status"))
            typed = [col[c.key] for c in form.columns if not c.prefilled]
            for i, r in enumerate(rows[hdr_i + 1:], start=hdr_i + 2):
                r = r + [None] * (len(header) - len(r))
                filled = any(r[j] not in (None, "") and str(r[j]).strip() for j in typed)
                if filled:
                    assert r[s_col] in statuses, (path.name, ws.title, i, r)
                    statuses[r[s_col]] += 1
                else:
                    assert r[s_col] in (None, ""), (path.name, ws.title, i, r)
    assert all(statuses.values()), statuses          # the demo has all three verdicts
    master = openpyxl.load_workbook(data / "master.xlsx")
    for title in ("Daftar OPD", "Rekap", "Masalah", "Pegawai", "Pengguna Layanan", "Penyedia PBJ", "Eksper"):
        assert title in master.sheetnames
    rekap = table(data / "master.xlsx", "Rekap", "Kode OPD")
    assert len(rekap) == 6
    assert sum(r["SALAH"] for r in rekap) == statuses["SALAH"]
    assert sum(r["OK"] for r in rekap) == statuses["OK"]
    before = {p.name: p.stat().st_mtime_ns for p in data.glob("*.xlsx")}
    r = run_jobs("--once", "--config", str(cfg), "--as-of", "2023-10-12", timeout=120)
    assert r.returncode == 0, r.stderr
    assert "0 dibaca" in r.stderr
    assert {p.name: p.stat().st_mtime_ns for p in data.glob("*.xlsx")} == before


def test_a_failing_hook_does_not_fail_the_cycle(three, caplog):
    from sheets_sync.config import ConfigError
    from sheets_sync.cycle.run import run_cycle

    def broken_settings(ctx, reports):
        raise ConfigError("mail.sender: alamat pengirim belum diisi")

    def crashing(ctx, reports):
        raise RuntimeError("boom")

    with three.context(now=T1) as ctx, caplog.at_level("INFO", logger="sheets_sync"):
        ctx.hooks = [broken_settings, crashing]
        rep = run_cycle(ctx)
    assert rep.master_written and rep.read == 3
    assert any("mail.sender" in e for e in rep.errors) and any("boom" in e for e in rep.errors)
    # a settings mistake is a message for the operator, not a Python traceback
    mine = [r for r in caplog.records if "broken_settings" in r.getMessage()]
    assert mine and all(r.exc_info is None for r in mine)
    assert any("mail.sender" in r.getMessage() for r in mine)


# ------------------------------------------------------------------ registry
def test_registry_parsing(forms):
    from sheets_sync.validate.registry import parse_registry, registry_header

    grid = [["Daftar OPD Kabupaten"], registry_header(forms),
            ["A", "Dinas A", "a@x.id; b@x.id", "", "", "A.xlsx", "Ya"],
            ["B", "Dinas B", "", "", "Pegawai, eksper", "", None],
            ["C", "Dinas C", "", "", "pegawai", "", False],          # an unticked checkbox
            ["D", "Dinas D", "", "", "pegawai", "", 0],
            ["E", "Dinas E", "", "", "pegawai", "", " Tidak "],
            ["F", "Dinas F", "", "", "pegawai", "", "nonaktif"],
            ["G", None, "", "", "", "", "Ya"],                          # no name: skipped with a note
            ["A", "Dinas A lagi", "", "", "", "", "Ya"],                 # duplicate code
            ["H", "Dinas H", "", "", "pegawai; formulir_aneh", "", True],
            [None, None, None],
            ["I", "Dinas I", "", "", "", "", 1]]
    opds, notes = parse_registry(grid, forms)
    assert [o.code for o in opds] == ["A", "B", "H", "I"]
    a, b, h, i = opds
    assert a.contacts == ("a@x.id", "b@x.id") and a.location == "A.xlsx" and a.row == 3
    assert a.forms == tuple(forms.forms) == i.forms
    assert b.forms == ("pegawai", "eksper")
    assert h.forms == ("pegawai",)
    assert len(notes) == 3
    assert any("baris 9" in n for n in notes) and any("baris 10" in n for n in notes)
    assert any("formulir_aneh" in n for n in notes)


def test_inactive_opd_leaves_the_rekap(three):
    three.cycle(now=T1)
    three.registry[1]["aktif"] = False
    demo.write_master(three.master, three.registry)
    three.cycle(now=T2)
    assert [r["Kode OPD"] for r in table(three.master, "Rekap", "Kode OPD")] == ["DINKES", "DUKCAPIL"]


def test_opd_without_any_known_form_is_explained_in_the_rekap(deployment):
    from sheets_sync import codes

    deployment.add_opd("ANEH", {"pegawai": [clean_row("pegawai", 1)]})
    deployment.registry[0]["formulir"] = "formulir_x"
    demo.write_master(deployment.master, deployment.registry)
    rep = deployment.cycle()
    assert any("formulir_x" in e for e in rep.errors)
    row = table(deployment.master, "Rekap", "Kode OPD")[0]
    assert codes.render("OPD_NO_FORMS") in (row["Catatan"] or "")


def test_jobs_with_an_unreadable_master_fails_with_a_message(three):
    three.master.write_bytes(bytes.fromhex("D0CF11E0A1B11AE1") + b"\0" * 2000)
    r = run_jobs("--once", "--config", str(three.config), "--as-of", "2023-10-12")
    assert r.returncode == 1
    assert "Traceback" not in r.stderr
    assert "master.xlsx" in r.stderr and "tidak bisa dibuka" in r.stderr
