"""The registry (Daftar OPD) cannot point the worker outside (issue 10, points 3 and 7):
a Berkas / Tautan leading out of the data folder (.., an absolute path, a symlink, a
Kode with ../), the master itself, or one workbook for two OPDs is refused by the
cycle and by provision, on both backends, with a clear problem in the Rekap while
the other OPDs go on; a contact cell is a list of validated addresses (no header
injection, no 'anyone')."""
from __future__ import annotations

import datetime as dt
import email
import hashlib
import os
from email import policy
from pathlib import Path

import openpyxl
import pytest

from sheets_sync import codes, demo, remind
from sheets_sync.cycle import open_cycle, run_cycle
from sheets_sync.cycle.state import State
from sheets_sync.validate.registry import parse_registry
from tests.conftest import AS_OF, Deployment, clean_rows, table


def digest(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def rekap_notes(dep: Deployment) -> dict[str, str]:
    return {r["Kode OPD"]: r["Catatan"] or "" for r in table(dep.master, "Rekap", "Kode OPD")}


def memory(dep: Deployment, code: str):
    with State(dep.settings().state_db) as state:
        return state.opd(code)


@pytest.fixture
def deep(tmp_path, forms):
    """A deployment three folders down, so that ../../../x.xlsx stays inside tmp_path."""
    dep = Deployment(tmp_path / "a" / "b" / "deploy", forms)
    dep.add_opd("DINKES", {"pegawai": clean_rows("pegawai", 3, start=1)})
    return dep


def _point(dep: Deployment, code: str, berkas: str, **more) -> None:
    for row in dep.registry:
        if row["kode"] == code:
            row.update({"berkas": berkas, **more})
    demo.write_master(dep.master, dep.registry)


# ------------------------------------------------------------------ pure parsing
def test_contact_cell_with_a_header_injection_is_one_invalid_address(forms):
    from sheets_sync.validate.registry import parse_addresses
    grid = [["Kode OPD", "Nama OPD", "E-mail Kontak", "E-mail Kepala OPD", "Formulir", "Berkas / Tautan", "Aktif"],
            ["DINKES", "Dinas Kesehatan", "a@x.go.id\r\nBcc: attacker@x", "kepala@x.go.id; b@x.go.id",
             "pegawai", "DINKES.xlsx", "Ya"],
            ["DINSOS", "Dinas Sosial", "anyone", "mukomukokab.go.id", "pegawai", "", "Ya"],
            ["DUKCAPIL", "Dukcapil", "c@x.go.id d@x.go.id", "", "pegawai", "", "Ya"]]
    opds, notes = parse_registry(grid, forms)
    by = {o.code: o for o in opds}
    assert by["DINKES"].contacts == ("a@x.go.id",)
    assert by["DINKES"].heads == ("kepala@x.go.id", "b@x.go.id")
    bad = [p for p in by["DINKES"].problems if p.code == "REG_EMAIL_INVALID"]
    assert len(bad) == 1 and bad[0].params["baris"] == 2 and bad[0].params["kolom"] == "E-mail Kontak"
    assert "attacker@x" not in bad[0].text()            # quoted masked
    assert by["DINSOS"].contacts == () and by["DINSOS"].heads == ()
    assert [p.code for p in by["DINSOS"].problems] == ["REG_EMAIL_INVALID", "REG_EMAIL_INVALID"]
    assert "semua orang" in by["DINSOS"].problems[0].text()
    assert by["DUKCAPIL"].contacts == ("c@x.go.id", "d@x.go.id") and not by["DUKCAPIL"].problems
    # nothing that is not an address survives, whatever the separators
    good, rejected = parse_addresses("x@y.go.id;\nTo: z@evil.example, <w@evil.example>\n\nCc:q@evil.example")
    assert good == ("x@y.go.id",) and len(rejected) == 3


def test_locations_and_file_names_from_codes():
    from sheets_sync.validate.registry import safe_file_name, unsafe_location
    for bad in ("../../../x.xlsx", "/etc/passwd", "\\\\server\\share\\x.xlsx", "C:\\x.xlsx", "sub/../../x.xlsx",
                "~/x.xlsx", "x\x00.xlsx"):
        assert unsafe_location(bad), bad
    for good in ("DINKES.xlsx", "sub/DINKES.xlsx", "Dinas Kesehatan.xlsx", "https://docs.google.com/spreadsheets/d/x"):
        assert not unsafe_location(good), good
    assert safe_file_name("../../EVIL") == "EVIL.xlsx"
    assert safe_file_name("..") == "OPD.xlsx"
    assert "/" not in safe_file_name("a/b\\c:d") and safe_file_name("DINKES") == "DINKES.xlsx"


def test_renamed_or_missing_contact_header_and_empty_registry_are_notes(forms):
    head = ["Kode OPD", "Nama OPD", "Email PIC", "Formulir", "Berkas / Tautan"]
    opds, notes = parse_registry([head, ["DINKES", "Dinas Kesehatan", "a@x.go.id", "", ""]], forms)
    assert opds == [] and "E-mail Kontak" in notes[0]
    opds, notes = parse_registry([["Kode OPD", "Nama OPD", "E-mail Kontak"], [None, None, None]], forms)
    assert opds == [] and notes and "tidak berisi satu baris OPD" in notes[0]


# ------------------------------------------------------------------ the cycle (.xlsx)
@pytest.mark.parametrize("where", ["dotdot", "absolute", "symlink-file", "symlink-folder", "kode"])
def test_a_registry_row_leading_outside_is_refused_and_the_others_go_on(deep, where):
    outside = deep.root.parent.parent / "x.xlsx"          # tmp_path/a/x.xlsx == data/../../../x.xlsx
    demo.write_opd_workbook(outside, ["pegawai"], {"pegawai": clean_rows("pegawai", 2, start=50)}, forms=deep.forms)
    before = digest(outside)
    deep.add_opd("EVIL", write=False)
    code = "EVIL"
    if where == "dotdot":
        _point(deep, "EVIL", "../../../x.xlsx")
    elif where == "absolute":
        _point(deep, "EVIL", str(outside))
    elif where == "symlink-file":
        (deep.data / "EVIL.xlsx").symlink_to(outside)
        _point(deep, "EVIL", "EVIL.xlsx")
    elif where == "symlink-folder":
        (deep.data / "sub").symlink_to(outside.parent, target_is_directory=True)
        _point(deep, "EVIL", "sub/x.xlsx")
    else:                                                  # a Kode with ../ and no Berkas: a name inside
        code = "../../../x"
        _point(deep, "EVIL", "", kode=code)
    rep = deep.cycle()
    assert digest(outside) == before                       # never written
    notes = rekap_notes(deep)
    assert "Dinas Kesehatan" not in notes and "DINKES" in notes and not notes["DINKES"]
    if where == "kode":                                    # looked for data/x.xlsx (there is none)
        assert codes.render("WB_NOT_FOUND", lokasi="x.xlsx") in notes[code]
        assert rep.read == 2
    else:
        assert "menunjuk ke luar folder data" in notes[code], notes[code]
        assert rep.read == 1                               # DINKES only: the outside file was never opened
        assert memory(deep, code).results == {}
    row = next(r for r in table(deep.master, "Rekap", "Kode OPD") if r["Kode OPD"] == code)
    assert row["Baris"] == 0
    assert memory(deep, "DINKES").results                  # the other OPD went on


def test_berkas_set_to_the_master_is_refused_by_cycle_and_provision(deployment):
    from sheets_sync.provision import provision

    deployment.add_opd("DINKES", {"pegawai": clean_rows("pegawai", 2)})
    deployment.add_opd("EVIL", write=False)
    _point(deployment, "EVIL", "master.xlsx")
    rep = deployment.cycle()
    assert rep.read == 1                           # DINKES only: the master is never read as EVIL's
    notes = rekap_notes(deployment)
    assert "workbook master" in notes["EVIL"]
    registry = openpyxl.load_workbook(deployment.master)["Daftar OPD"]
    assert "Status" not in [c.value for c in registry[1]]      # no status columns written into it
    before = digest(deployment.master)
    result = provision(deployment.settings(), out=lambda *a: None)
    evil = next(r for r in result.results if r.code == "EVIL")
    assert evil.action == "failed" and "workbook master" in evil.details[0]
    assert digest(deployment.master) == before    # not given OPD tabs, not saved at all


def test_two_opds_on_one_workbook_are_both_refused(deployment):
    deployment.add_opd("DINKES", {"pegawai": clean_rows("pegawai", 2)})
    deployment.add_opd("DINSOS", {"pegawai": clean_rows("pegawai", 2, start=20)})
    (deployment.data / "alias.xlsx").symlink_to(deployment.path("DINKES"))
    _point(deployment, "DINSOS", "alias.xlsx")     # the same file, by another name
    before = digest(deployment.path("DINKES"))
    for _ in range(2):
        rep = deployment.cycle()
        assert rep.read == 0 and rep.written_cells == 0
    assert digest(deployment.path("DINKES")) == before
    notes = rekap_notes(deployment)
    assert "milik OPD DINSOS" in notes["DINKES"] and "milik OPD DINKES" in notes["DINSOS"]


def _cycle_with_reminders(dep: Deployment):
    with open_cycle(dep.settings(), AS_OF, hooks=[remind.hook]) as ctx:
        return run_cycle(ctx)


def test_a_slip_in_berkas_keeps_the_opds_rows_and_mails_it_nothing(deployment):
    """C:\\SPI\\DINKES.xlsx typed for DINKES.xlsx: the OPD had filled its rows, and the
    slip (the Inspektorat's) told it "Belum ada satu baris pun yang diisi"."""
    deployment.add_opd("DINKES", {"pegawai": clean_rows("pegawai", 3)}, form_keys=["pegawai", "eksper"])
    deployment.add_opd("DINSOS", {"pegawai": clean_rows("pegawai", 2, start=20)}, form_keys=["pegawai", "eksper"])
    deployment.cycle()
    before = {r["Kode OPD"]: r for r in table(deployment.master, "Rekap", "Kode OPD")}
    _point(deployment, "DINKES", "C:\\SPI\\DINKES.xlsx")
    _cycle_with_reminders(deployment)
    rows = {r["Kode OPD"]: r for r in table(deployment.master, "Rekap", "Kode OPD")}
    assert rows["DINKES"]["Baris"] == before["DINKES"]["Baris"] == 3
    assert rows["DINKES"]["Keadaan"].endswith("(Daftar OPD salah)")
    assert "menunjuk ke luar folder data" in rekap_notes(deployment)["DINKES"]
    sent = [email.message_from_bytes(f.read_bytes(), policy=policy.default)
            for f in (deployment.root / "outbox").glob("*.eml")]
    assert sent and all("DINKES" not in m["Message-ID"] for m in sent)      # DINSOS is still reminded
    deployment.cycle(AS_OF + dt.timedelta(days=1))   # a new day moves verdicts: the refused row is still not read
    assert rekap_notes(deployment)["DINKES"].count("menunjuk ke luar folder data") == 1
    _point(deployment, "DINKES", "DINKES")         # fixed, the way Windows shows the name: no .xlsx
    rep = _cycle_with_reminders(deployment)
    assert rep.read == 1 and not rekap_notes(deployment)["DINKES"]
    assert any("DINKES" in email.message_from_bytes(f.read_bytes(), policy=policy.default)["Message-ID"]
               for f in (deployment.root / "outbox").glob("*.eml"))


def test_a_subfolder_typed_with_backslashes_is_found(deployment):
    deployment.add_opd("DINKES", {"pegawai": clean_rows("pegawai", 2)})
    (deployment.data / "dinkes").mkdir()
    deployment.path("DINKES").rename(deployment.data / "dinkes" / "DINKES.xlsx")
    _point(deployment, "DINKES", "dinkes\\DINKES.xlsx")
    rep = deployment.cycle()
    assert rep.read == 1 and not rekap_notes(deployment)["DINKES"]


def test_bcc_injection_in_a_contact_cell_mails_nobody_else(deployment):
    deployment.add_opd("DINKES", {"pegawai": clean_rows("pegawai", 1)}, form_keys=["pegawai", "eksper"])
    deployment.registry[0]["email_kontak"] = "dinkes@contoh.go.id\r\nBcc: attacker@evil.example"
    demo.write_master(deployment.master, deployment.registry)
    with open_cycle(deployment.settings(), AS_OF, hooks=[remind.hook]) as ctx:
        rep = run_cycle(ctx)
    assert not [e for e in rep.errors if "pengingat" in e]
    files = list((deployment.root / "outbox").glob("*.eml"))
    assert len(files) == 1
    raw = files[0].read_bytes()
    msg = email.message_from_bytes(raw, policy=policy.default)
    assert [a.addr_spec for a in msg["To"].addresses] == ["dinkes@contoh.go.id"]
    assert msg["Bcc"] is None and b"attacker" not in raw and b"evil.example" not in raw
    assert "bukan alamat e-mail yang benar" in rekap_notes(deployment)["DINKES"]


# ------------------------------------------------------------------ provision (.xlsx)
def test_provision_refuses_rows_leading_outside_and_sanitises_codes(deep):
    from sheets_sync.provision import provision

    outside = deep.root.parent.parent
    deep.add_opd("EVIL", write=False)
    deep.add_opd("KODE", write=False)
    _point(deep, "EVIL", "../../../baru.xlsx")
    _point(deep, "KODE", "", kode="../../../kode")
    result = provision(deep.settings(), out=lambda *a: None)
    by = {r.code: r for r in result.results}
    assert by["EVIL"].action == "failed" and "luar folder data" in by["EVIL"].details[0]
    assert by["../../../kode"].action == "created"
    assert (deep.data / "kode.xlsx").is_file()
    assert not (outside / "baru.xlsx").exists() and not (outside / "kode.xlsx").exists()
    assert sorted(p.name for p in outside.iterdir()) == ["b"]


# ------------------------------------------------------------------ Google
@pytest.fixture
def gdep(tmp_path, monkeypatch):
    from sheets_sync.stores.google_http import GoogleSession
    from tests.backends import Deployment as Both
    from tests.google_emulator import start_emulator
    with start_emulator() as emu:
        monkeypatch.setenv("SHEETS_EMULATOR_HOST", f"127.0.0.1:{emu.port}")
        yield Both("google", tmp_path, emulator=emu, n_opds=3,
                   session_factory=lambda: GoogleSession(None, sleep=lambda s: None))


def _set_berkas(gdep, row: int, value: str, col: str = "F") -> None:
    store = gdep._google_store()
    store.http.values_batch_update(store.master_id, {"valueInputOption": "RAW", "data": [
        {"range": f"'Daftar OPD'!{col}{row}", "values": [[value]]}]})


def test_google_master_folder_and_shared_spreadsheets_are_refused_by_the_cycle(gdep):
    from tests.backends import rekap

    gdep.cycle()
    opds = gdep.opds()
    before = rekap(gdep)
    master = gdep.settings.google["master_id"]
    _set_berkas(gdep, opds[0].row, f"https://docs.google.com/spreadsheets/d/{master}/edit")
    _set_berkas(gdep, opds[1].row, opds[2].location)       # one spreadsheet, two OPDs
    rep = gdep.cycle()
    assert rep.read == 0 and rep.written_cells == 0
    by = {o.code: o for o in gdep.opds()}
    assert by[opds[0].code].refused.code == "REG_LOCATION_MASTER"
    assert by[opds[1].code].refused.code == by[opds[2].code].refused.code == "REG_LOCATION_SHARED"
    rows = rekap(gdep)
    for o in opds[:3]:   # nothing of the master read as its rows: its own, read while its row was right, stay
        assert rows[o.code][3:7] == before[o.code][3:7]
        assert rows[o.code][7].endswith("(Daftar OPD salah)"), rows[o.code][7]
    store = gdep._google_store()
    header = store.batch_get(store.master_id, ["Daftar OPD"])["Daftar OPD"][0]
    assert "Status" not in header                          # no status columns written into the master


def test_google_spreadsheet_id_past_a_hundred_characters_is_refused(gdep):
    from tests.backends import rekap

    gdep.cycle()
    opd = gdep.opds()[0]
    _set_berkas(gdep, opd.row, f"https://docs.google.com/spreadsheets/d/{'a1B_-' * 30}/edit")   # 150 characters
    n = gdep.requests()
    rep = gdep.cycle()
    assert rep.read == 0 and gdep.requests() - n <= 4        # listing, registry, master: nothing asked of the id
    refused = next(o for o in gdep.opds() if o.code == opd.code).refused
    assert refused.code == "REG_LOCATION_INVALID" and "150 karakter" in refused.text()
    assert rekap(gdep)[opd.code][7].endswith("(Daftar OPD salah)")


def test_google_provision_never_takes_the_master_for_an_opd(tmp_path, monkeypatch):
    from tests.google_emulator import start_emulator
    from tests.test_provision import INSPEKTORAT, GDep

    with start_emulator() as emu:
        g = GDep(tmp_path, emu, monkeypatch)
        g.run(registry_csv=g.csv)
        name_before = g.http.request("get", f"https://www.googleapis.com/drive/v3/files/{g.master}",
                                     params={"fields": "name"}).json()["name"]
        perms_before = g.permissions(g.master)
        g.http.values_batch_update(g.master, {"valueInputOption": "RAW", "data": [
            {"range": "'Daftar OPD'!F3", "values": [[f"https://docs.google.com/spreadsheets/d/{g.master}/edit"]]}]})
        lines = []
        rep = g.run(lines)
        assert rep.count("failed") == 1 and any("workbook master" in x for x in lines)
        name = g.http.request("get", f"https://www.googleapis.com/drive/v3/files/{g.master}",
                              params={"fields": "name"}).json()["name"]
        assert name == name_before and g.permissions(g.master) == perms_before == set(INSPEKTORAT["email"])


def test_google_provision_refuses_anyone_and_keeps_the_old_editor(tmp_path, monkeypatch):
    from tests.google_emulator import start_emulator
    from tests.test_provision import GDep

    with start_emulator() as emu:
        g = GDep(tmp_path, emu, monkeypatch)
        g.run(registry_csv=g.csv)
        code = g.registry()[1][0]
        sid = g.sid(code)
        before = g.permissions(sid)
        assert before
        g.http.values_batch_update(g.master, {"valueInputOption": "RAW", "data": [
            {"range": "'Daftar OPD'!C2", "values": [["anyone"]]}]})
        lines = []
        rep = g.run(lines)
        assert g.permissions(sid) == before                     # nobody revoked, nobody added
        assert any("akses tidak diubah" in x for x in lines) or any(
            "akses tidak diubah" in d for r in rep.results for d in r.details)
        assert any("semua orang" in n for n in rep.notes)


def test_file_modes_of_what_the_worker_writes(deployment):
    deployment.add_opd("DINKES", {"pegawai": clean_rows("pegawai", 1)}, form_keys=["pegawai", "eksper"])
    with open_cycle(deployment.settings(), AS_OF, hooks=[remind.hook]) as ctx:
        run_cycle(ctx)
    import jobs
    from sheets_sync.ops import health
    s = deployment.settings()
    health.write(s, {"version": 1})
    lock = jobs.Lock(s.data_lock_file)
    lock.file.close()
    mode = lambda p: os.stat(p).st_mode & 0o777  # noqa: E731
    assert mode(s.state_db) == 0o600 and mode(s.state_dir) == 0o700
    assert mode(s.health_file) == 0o600
    emls = list(s.outbox_dir.glob("*.eml"))
    assert emls and all(mode(p) == 0o600 for p in emls) and mode(s.outbox_dir) == 0o700
    sent = list((s.records_dir / "sent").glob("*.json"))
    assert sent and all(mode(p) == 0o600 for p in sent)
    assert mode(s.records_dir) == 0o700 and mode(s.records_dir / "install-tag") == 0o600
    assert mode(s.data_lock_file) == 0o600


def test_an_unknown_form_name_is_in_the_opds_own_rekap_row(forms):
    """'pegawai, pengguna' in Formulir: the service-user form goes unchecked; the
    Inspektorat reads that in the OPD's Catatan, not only in the worker's log."""
    grid = [["Kode OPD", "Nama OPD", "E-mail Kontak", "E-mail Kepala OPD", "Formulir", "Berkas / Tautan", "Aktif"],
            ["BARU", "OPD Baru", "a@x.go.id", "", "pegawai, pengguna", "", "Ya"]]
    opds, notes = parse_registry(grid, forms)
    (problem,) = opds[0].problems
    assert problem.code == "REG_FORM_UNKNOWN" and opds[0].forms == ("pegawai",)
    text = problem.text()
    assert '"pengguna" tidak dikenal' in text and "yang diperiksa: Pegawai" in text and "pengguna_layanan" in text
    assert any("formulir tidak dikenal" in n for n in notes)                       # the log keeps its line
    assert "REG_FORM_UNKNOWN" in codes.REGISTRY                                    # never in the OPD's e-mail


@pytest.mark.parametrize("link", [".sheets_sync", ".sheets_sync/sent"])
def test_records_turned_into_a_link_out_stop_the_worker_before_it_writes(deployment, tmp_path, link):
    """The data folder is shared with the OPDs: a .sheets_sync (or its sent/) replaced
    by a symlink had the worker write its lock, install tag and reminder records into
    the folder it points at. The worker refuses to start, and writes nothing there."""
    import jobs
    s = deployment.settings()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (s.records_dir / "sent").mkdir(parents=True, exist_ok=True)
    target = s.data_dir / link
    if target.is_dir():
        target.rename(tmp_path / "moved")
    target.symlink_to(elsewhere, target_is_directory=True)
    locks, code, why = jobs.take_locks(s)
    assert (locks, code) == ([], 2) and "tautan (symlink)" in why
    assert list(elsewhere.iterdir()) == []
    assert jobs.main(["--once", "--config", str(deployment.config)]) == 2
    assert list(elsewhere.iterdir()) == []


def test_a_contact_cell_past_its_limit_keeps_whole_addresses_only():
    """A cell of 500 addresses was cut at 2,000 characters mid-address: the last one
    read could be another valid address (…@mukomukokab.go.id -> …@mukomukokab.go), to
    be mailed. Only whole addresses are read now, and the cut is reported."""
    from sheets_sync.validate.registry import MAX_CELL, parse_addresses
    for pad in range(0, 40):
        cell = "x" * pad + ", " + ", ".join(f"kepala.dinas{i}@mukomukokab.go.id" for i in range(200))
        good, bad = parse_addresses(cell)
        assert good and all(a.endswith("@mukomukokab.go.id") for a in good)
        assert sum(len(a) + 2 for a in good) <= MAX_CELL
        assert any("terlalu panjang" in why for _, why in bad)


def test_a_registry_csv_saved_with_semicolons_is_read(forms):
    """Excel in an Indonesian locale saves CSV with ';': provision said the header columns
    were missing. A contact cell there may hold a comma between two addresses."""
    from sheets_sync.validate.registry import parse_registry_csv, registry_header
    head = registry_header(forms)
    comma = ",".join(head) + "\nDINKES,Dinas Kesehatan,\"a@x.go.id, b@x.go.id\"\n"
    semi = ";".join(head) + "\nDINKES;Dinas Kesehatan;a@x.go.id, b@x.go.id\n"
    tab = "\t".join(head) + "\nDINKES\tDinas Kesehatan\ta@x.go.id, b@x.go.id\n"
    rows = [parse_registry_csv(t, forms) for t in (comma, semi, tab)]
    assert rows[0] == rows[1] == rows[2]
    assert rows[0][0][:3] == ["DINKES", "Dinas Kesehatan", "a@x.go.id, b@x.go.id"]


def test_codes_differing_only_in_case_are_one_opd(forms):
    """dinsos typed beside DINSOS: one file name on a Windows share, two OPDs here."""
    head = ["Kode OPD", "Nama OPD", "E-mail Kontak"]
    opds, notes = parse_registry([head, ["DINSOS", "Dinas Sosial", "a@x.go.id"],
                                  ["dinsos", "Bagian PBJ", "b@x.go.id"]], forms)
    assert [o.code for o in opds] == ["DINSOS"]
    assert "baris 3: Kode OPD dinsos sudah dipakai" in notes[0] and "ditulis DINSOS" in notes[0]


def test_a_kode_changed_after_the_send_does_not_send_the_reminder_again(deployment):
    """The Inspektorat corrected SETDA-PBJ's code after today's H-3 had gone out: the
    OPD (same name, same people) got the same reminder a second time. Two OPDs that
    share a contact address still get one each."""
    deployment.add_opd("DINKES", {"pegawai": clean_rows("pegawai", 1)}, form_keys=["pegawai", "eksper"])
    deployment.add_opd("DINSOS", {"pegawai": clean_rows("pegawai", 1, start=20)}, form_keys=["pegawai", "eksper"])
    for row in deployment.registry:
        row["email_kontak"] = "sekretariat@contoh.go.id"          # one clerk for both
    demo.write_master(deployment.master, deployment.registry)
    _cycle_with_reminders(deployment)
    outbox = deployment.root / "outbox"
    assert len(list(outbox.glob("*.eml"))) == 2
    _point(deployment, "DINKES", "DINKES.xlsx", kode="DINKES-2")
    _cycle_with_reminders(deployment)
    assert len(list(outbox.glob("*.eml"))) == 2                    # not a third
    with State(deployment.settings().state_db) as state:
        assert remind.Ledger(state).status(("DINKES-2", "h-3", AS_OF.isoformat())) \
            == "skipped"


def test_a_problem_said_twice_is_shown_once():
    from sheets_sync.cycle.run import _once
    from sheets_sync.validate.layout import Problem
    a = Problem("REG_LOCATION_MASTER", {"baris": 3})
    assert _once([a, Problem("REG_LOCATION_MASTER", {"baris": 3}), Problem("OPD_NO_FORMS")]) == \
        [a, Problem("OPD_NO_FORMS")]


@pytest.mark.parametrize("typed", ["dinkes", "DINKES.XLSX", "data\\DINKES.xlsx", "Data/dinkes.xlsx"])
def test_a_berkas_typed_as_windows_shows_it_is_found(deployment, typed):
    """Windows ignores case, and staff copy the path from the share with its folder."""
    deployment.add_opd("DINKES", {"pegawai": clean_rows("pegawai", 2)})
    assert deployment.data.name == "data"
    _point(deployment, "DINKES", typed)
    rep = deployment.cycle()
    assert rep.read == 1 and not rekap_notes(deployment)["DINKES"]
