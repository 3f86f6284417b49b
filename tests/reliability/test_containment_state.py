"""State that cannot run code or lose the ledger, faults that degrade instead of
aborting, and errors staff can read (issue 10, points 4-7):

- an OPD's memory is JSON of plain values: a corrupt payload means "read it again",
  a pickle is never unpickled (one is planted that would create a file);
- the reminders sent are recorded beside the data too: a state file deleted,
  truncated or replaced (a second settings file) mid-season sends no slot twice, and
  the lock is the data's, not the state folder's;
- a full disk on the master write, a Google 429/5xx storm, an empty registry or a
  renamed "E-mail Kontak" header never fail a cycle whole nor wipe memories;
- every command says what is wrong in Indonesian, without a traceback."""
from __future__ import annotations

import datetime as dt
import errno
import io
import json
import logging
import os
import pickle
import sqlite3
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
import yaml

from sheets_sync import demo, mail, remind
from sheets_sync.config import WIB, load_settings
from sheets_sync.cycle import open_cycle, run_cycle
from sheets_sync.cycle.state import OpdMemory, State
from sheets_sync.validate.layout import Problem, content_hash
from tests.conftest import AS_OF, clean_row, clean_rows
from tests.doubles import ObservedStore
from tests.smtp_server import smtp_server

# deadline Sunday 15/10/2023 (the fixtures'): H-3 goes on Thursday 12/10, and H-1 and H on
# Friday 13/10, the last working day before it (office calendar)
H3, H1 = dt.date(2023, 10, 12), dt.date(2023, 10, 13)


@pytest.fixture
def three(deployment):
    deployment.add_opd("DINKES", {"pegawai": clean_rows("pegawai", 3, start=1)})
    deployment.add_opd("DINSOS", {"pegawai": clean_rows("pegawai", 2, start=10) +
                                  [clean_row("pegawai", 12, no_hp="021-5551234")]})
    deployment.add_opd("DUKCAPIL", {"pengguna_layanan": clean_rows("pengguna_layanan", 3, start=20)})
    return deployment


def _count(db: Path, table: str) -> int:
    con = sqlite3.connect(db)
    try:
        return con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    finally:
        con.close()


def _remind_cycle(settings, day: dt.date, store=None):
    now = dt.datetime.combine(day, dt.time(8, 30), WIB)
    with open_cycle(settings, day, now=now, hooks=[remind.hook], store=store) as ctx:
        return run_cycle(ctx)


# ------------------------------------------------------------------ the payload
class _Planted:
    """Unpickling this creates the file `path`: proof that a payload was unpickled."""

    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        return (open, (self.path, "w"))


def test_memory_round_trips_as_plain_values_with_the_same_hashes(forms):
    from sheets_sync.cycle.state import decode_memory, encode_memory
    from sheets_sync.validate.frame import validate_frame

    rows = clean_rows("pengguna_layanan", 4) + [clean_row("pengguna_layanan", 9, tanggal_layanan=dt.datetime(
        2023, 10, 2, 13, 5), no_hp=float("nan"), email=None, nama=dt.time(8, 30), no=dt.timedelta(days=1))]
    frame = pd.DataFrame(rows, columns=forms["pengguna_layanan"].keys, dtype=object,
                         index=pd.Index(range(3, 8), name="row", dtype="int64"))
    res = validate_frame(frame, forms["pengguna_layanan"], AS_OF)
    mem = OpdMemory("rev", "hash", "01/10/2023 08:00 WIB", "02/10/2023", {"pengguna_layanan": res}, "digest",
                    {"pengguna_layanan": {"ab", "cd"}}, [Problem("WB_UNREADABLE", {"alasan": "x", "n": 3})],
                    True, ("pengguna_layanan",), AS_OF, {"pengguna_layanan": frame})
    payload = encode_memory(mem)
    assert payload[:1] == b"{" and json.loads(payload)["v"] == 2
    back = decode_memory(payload)
    assert content_hash(back.frames["pengguna_layanan"]) == content_hash(frame)
    pd.testing.assert_frame_equal(back.frames["pengguna_layanan"], frame)
    got = back.results["pengguna_layanan"]
    pd.testing.assert_series_equal(got.status, res.status)
    pd.testing.assert_frame_equal(got.problems, res.problems)
    pd.testing.assert_frame_equal(got.normalized, res.normalized)
    assert got.notes().tolist() == res.notes().tolist() and got.headers == res.headers
    assert (back.problems, back.as_of, back.forms, back.complete, back.row_hashes, back.shown) == \
        (mem.problems, mem.as_of, mem.forms, True, mem.row_hashes, "digest")
    for bad in (b"\x80\x04K\x01.", b"{", b'{"v": 99}', b'{"v": 2}', "ä".encode("latin-1"), b""):
        with pytest.raises(ValueError):
            decode_memory(bad if bad else b" ")


def _plant(db: Path, payloads: dict) -> None:
    con = sqlite3.connect(db)
    for code, payload in payloads.items():
        con.execute("UPDATE workbooks SET payload=? WHERE opd=?", (payload, code))
    con.commit()
    con.close()


def test_a_pickled_payload_is_never_unpickled(three, tmp_path):
    from sheets_sync.ops import offline

    three.cycle()
    settings = three.settings()
    marker = tmp_path / "dijalankan"
    _plant(settings.state_db, {"DINKES": pickle.dumps(_Planted(marker))})
    rep = three.cycle()
    assert not marker.exists()
    assert rep.read == 1 and not rep.errors                      # DINKES read again, nothing else
    _plant(settings.state_db, {"DINKES": pickle.dumps(_Planted(marker))})
    offline.export_kpk(settings, tmp_path / "kpk.xlsx")          # the CLI's reading path
    assert not marker.exists()


def test_corrupt_payloads_are_read_again_and_checked(three, caplog):
    from sheets_sync.ops import selfcheck

    three.cycle()
    settings = three.settings()
    _plant(settings.state_db, {"DINKES": pickle.dumps({"lama": 1}), "DINSOS": b'{"v": 2, "results": {"pegawai": ',
                               "DUKCAPIL": b'{"v": 7}'})
    out = io.StringIO()
    selfcheck.run(three.config, out)
    assert "Memori 3 dari 3 OPD di state tidak terbaca" in out.getvalue()
    caplog.set_level(logging.WARNING)
    rep = three.cycle()
    assert rep.read == 3 and not rep.errors
    assert caplog.text.count("dibaca ulang") >= 3
    rep = three.cycle()
    assert rep.read == 0                                         # memories are good again
    out = io.StringIO()
    selfcheck.run(three.config, out)
    assert "Memori OPD di state terbaca: 3 OPD" in out.getvalue()


# ------------------------------------------------------------------ the ledger beside the data
@pytest.fixture
def smtp():
    with smtp_server() as server:
        yield server


def _smtp(dep, port: int) -> Path:
    raw = yaml.safe_load(dep.config.read_text(encoding="utf-8"))
    raw["mail"].update({"transport": "smtp", "host": "127.0.0.1", "port": port, "security": "none",
                        "pause_seconds": 0})
    dep.config.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return dep.config


def test_lost_or_replaced_state_never_sends_a_slot_twice(three, smtp, monkeypatch):
    for var in ("MAIL_TRANSPORT", "SMTP_HOST", "SMTP_PORT", "SMTP_SECURITY", "SMTP_USER", "SMTP_PASSWORD"):
        monkeypatch.delenv(var, raising=False)
    three.add_opd("DISDIK", {}, form_keys=["pegawai"])           # not started: late too
    path = _smtp(three, smtp.port)
    settings = load_settings(path)
    _remind_cycle(settings, H3)
    first = len(smtp.messages)
    assert first == 2                                            # DINSOS (a landline) and DISDIK
    with State(settings.state_db) as state:
        tag = state.get("remind_secret")

    def lose(how):
        for p in settings.state_dir.glob("state.sqlite*"):
            if how == "truncated" and p.name == "state.sqlite":
                p.write_bytes(b"")
            else:
                p.unlink()

    for how in ("deleted", "truncated"):
        lose(how)
        _remind_cycle(settings, H3)                   # the same day again, from an empty state
        assert len(smtp.messages) == first, how
    # a second settings file beside the first, another state folder, the same data
    other = path.with_name("lain.yaml")
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    raw["state_dir"] = "state-lain"
    other.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    _remind_cycle(load_settings(other), H3)
    assert len(smtp.messages) == first
    # the next slot goes once each, and its Message-ID comes from the same installation tag
    lose("deleted")
    _remind_cycle(settings, H1)
    _remind_cycle(settings, H1)
    new = smtp.messages[first:]
    assert new and len({m.message["X-SPI-Slot"] for m in new}) == len(new)
    with State(settings.state_db) as state:
        assert state.get("remind_secret") == tag
    domain = mail.mail_config(settings).message_id_domain
    for m in new:
        code, label, nominal = m.message["X-SPI-Slot"].split()     # the slot's own day, not the day it went
        assert m.message["Message-ID"] == remind.message_id(settings, tag, code, label.lower(),
                                                            dt.date.fromisoformat(nominal), domain)


def test_a_second_settings_file_on_the_same_data_is_refused_by_the_lock(tmp_path):
    import jobs
    from sheets_sync.demo.setup import make_demo

    path = make_demo(tmp_path / "spi" / "settings.yaml", n_opds=1, as_of=H3)
    other = path.with_name("lain.yaml")
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    raw["state_dir"] = "state-lain"
    other.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    a, b = load_settings(path), load_settings(other)
    assert a.lock_file != b.lock_file and a.data_lock_file == b.data_lock_file
    held = jobs.Lock(a.data_lock_file)
    assert held.acquire()
    try:
        assert jobs.main(["--once", "--config", str(other), "--as-of", H3.isoformat()]) == 3
        assert not (b.state_dir / "state.sqlite").exists()
    finally:
        held.file.close()
    g = {"backend": "google", "google": {"master_id": "https://docs.google.com/spreadsheets/d/1abcdefghijkl/edit"}}
    for name, state in (("g1.yaml", "s1"), ("g2.yaml", "s2")):
        (tmp_path / name).write_text(yaml.safe_dump({**g, "state_dir": state}), encoding="utf-8")
    g1, g2 = load_settings(tmp_path / "g1.yaml"), load_settings(tmp_path / "g2.yaml")
    assert g1.data_lock_file == g2.data_lock_file and "worker-" in g1.data_lock_file.name


# ------------------------------------------------------------------ faults degrade
class FullDisk(ObservedStore):
    """The data folder's disk is full: the master cannot be saved."""

    def write_master(self, sheets):
        raise OSError(errno.ENOSPC, "No space left on device")


def test_disk_full_on_the_master_write_still_sends_reminders(three):
    settings = three.settings()
    from sheets_sync.forms import forms_for
    from sheets_sync.cycle.context import make_store
    store = FullDisk(make_store(settings, forms_for(settings)))
    rep = _remind_cycle(settings, H3, store=store)
    assert any(e.startswith("master") and "disk penuh" in e for e in rep.errors), rep.errors
    assert not rep.master_written
    sent = [p.name for p in settings.outbox_dir.glob("*.eml")]
    assert len(sent) == 1 and "DINSOS-h-3" in sent[0]             # the late OPD (a landline) got its H-3
    rep = three.cycle()                                          # space again: the master follows
    assert rep.master_written


def test_all_registry_rows_deleted_stops_the_cycle_and_keeps_memories(three):
    three.cycle()
    settings = three.settings()
    demo.write_master(three.master, [])                          # the header only
    rep = _remind_cycle(settings, H3)
    assert rep.opds == 0 and any("tidak berisi satu baris OPD" in e for e in rep.errors)
    assert _count(settings.state_db, "workbooks") == 3
    with State(settings.state_db) as state:
        assert len(state.get("rekap")) == 3
    assert not list(settings.outbox_dir.glob("*.eml"))
    demo.write_master(three.master, three.registry)
    rep = three.cycle()
    assert rep.opds == 3 and rep.read == 0                       # nothing forgotten


def test_a_renamed_contact_header_stops_the_cycle_with_a_clear_message(three):
    three.cycle()
    settings = three.settings()
    wb = openpyxl.load_workbook(three.master)
    ws = wb["Daftar OPD"]
    col = next(c.column for c in ws[1] if c.value == "E-mail Kontak")
    ws.cell(1, col).value = "Email PIC"
    wb.save(three.master)
    rep = _remind_cycle(settings, H3)
    assert rep.opds == 0 and any("E-mail Kontak" in e and "tidak ditemukan" in e for e in rep.errors)
    assert _count(settings.state_db, "workbooks") == 3
    assert not list(settings.outbox_dir.glob("*.eml"))           # not silently: the message says why


def test_google_storm_never_fails_a_cycle_whole(tmp_path, monkeypatch):
    from sheets_sync.stores.google_http import GoogleSession
    from tests.backends import Deployment
    from tests.google_emulator import start_emulator

    from .helpers import verdicts_misaligned

    with start_emulator() as emu:
        monkeypatch.setenv("SHEETS_EMULATOR_HOST", f"127.0.0.1:{emu.port}")
        dep = Deployment("google", tmp_path, emulator=emu, n_opds=3, session_factory=lambda: GoogleSession(
            None, sleep=lambda s: None, max_attempts=2))
        dep.cycle()
        opd = dep.opds()[0]
        errors = 0
        for i in range(4):
            dep.set_cell(opd, "Pegawai", 3, 3, f"Nama Baru {i}")    # something to read and write each time
            emu.set_faults(rate_429=0.5, rate_500=0.2, seed=100 + i)
            now = dt.datetime.combine(H3, dt.time(8, 10 * i), WIB)
            rep = dep.cycle(as_of=H3, hooks=[remind.hook], now=now)  # never raises
            errors += bool(rep.errors)
            emu.clear_faults()
        assert errors                                                # the storm did bite
        for _ in range(3):
            if not dep.cycle(as_of=H3).errors:
                break
        assert verdicts_misaligned(dep.settings, H3) == []
        cache = dep.settings.state_dir / "google_cache.json"
        assert os.stat(cache).st_mode & 0o777 == 0o600


# ------------------------------------------------------------------ errors staff can read
def _commands(config: Path, tmp_path: Path) -> dict:
    return {"jobs --once": ["jobs", "--once", "--config", str(config), "--as-of", H3.isoformat()],
            "status": ["status", "--config", str(config)],
            "export": ["export", "--config", str(config), "--out", str(tmp_path / "kpk.xlsx")],
            "remind": ["remind", "--dry-run", "--config", str(config), "--as-of", H3.isoformat()],
            "provision": ["provision", "--dry-run", "--config", str(config)]}


def _run(argv: list) -> int:
    import jobs
    from sheets_sync import cli
    return jobs.main(argv[1:]) if argv[0] == "jobs" else cli.main(argv)


@pytest.mark.parametrize("problem", ["garbage-state", "state-folder-unusable", "settings-folder",
                                     "settings-not-utf8", "settings-unreadable"])
def test_every_command_says_what_is_wrong_without_a_traceback(three, tmp_path, problem, capsys, caplog):
    three.cycle()
    settings = three.settings()
    config = three.config
    if problem == "garbage-state":
        for p in settings.state_dir.glob("state.sqlite*"):
            p.unlink()
        settings.state_db.write_bytes(b"ini bukan basis data SQLite " * 200)
    elif problem == "state-folder-unusable":     # a state folder that cannot be written (as root: not a folder)
        raw = yaml.safe_load(config.read_text(encoding="utf-8"))
        if os.geteuid() == 0:
            raw["state_dir"] = "settings.yaml/state"
        else:
            settings.state_dir.chmod(0o500)
        config.write_text(yaml.safe_dump(raw), encoding="utf-8")
    elif problem == "settings-folder":
        config = tmp_path / "folder.yaml"
        config.mkdir()
    elif problem == "settings-not-utf8":
        config.write_bytes("backend: xlsx\ndata_dir: d\xe4ta\n".encode("latin-1"))
    else:
        if os.geteuid() == 0:
            pytest.skip("root membaca berkas apa pun")
        config.chmod(0)
    caplog.set_level(logging.INFO)
    try:
        for name, argv in _commands(config, tmp_path).items():
            capsys.readouterr()
            caplog.clear()
            rc = _run(argv)
            out = capsys.readouterr()
            text = out.out + out.err + caplog.text
            assert "Traceback" not in text, (name, text)
            if problem.startswith("settings"):
                assert rc == 2 and ("Pengaturan salah" in text or "pengaturan salah" in text), (name, text)
            elif name == "provision":
                assert rc in (0, 1), (name, rc, text)                # provision needs no state
            elif problem == "garbage-state" or name == "jobs --once":
                assert rc != 0 and ("state" in text and ("rusak" in text or "tidak dapat" in text)), (name, text)
            else:
                assert rc != 0 or "Belum ada siklus" in text, (name, text)
    finally:
        if settings.state_dir.exists():
            settings.state_dir.chmod(0o700)


def test_validate_of_an_unreadable_file_is_a_message(tmp_path, capsys):
    from sheets_sync import cli
    folder = tmp_path / "bukan-berkas.xlsx"
    folder.mkdir()
    assert cli.main(["validate", str(folder)]) == 2
    err = capsys.readouterr().err
    assert "Berkas tidak bisa diperiksa" in err and "Errno" not in err


def test_health_file_speaks_indonesian_for_a_memory_error(three, monkeypatch):
    import jobs
    import sheets_sync.cycle as cycle_pkg
    from sheets_sync.ops import health

    def boom(ctx):
        raise MemoryError()

    monkeypatch.setattr(cycle_pkg, "run_cycle", boom)
    settings = three.settings()
    with pytest.raises(MemoryError):
        jobs.one_cycle(settings, H3, [])
    message = health.read(settings)["last_failure"]["message"]
    assert "memori habis" in message and not message.startswith("MemoryError")


def test_check_warns_on_secrets_readable_by_others(three):
    from sheets_sync.ops import selfcheck

    env = three.config.parent / ".env"
    env.write_text("CATATAN_UJI=rahasia\n", encoding="utf-8")
    env.chmod(0o644)
    three.config.chmod(0o644)
    out = io.StringIO()
    selfcheck.run(three.config, out)
    lines = out.getvalue().splitlines()
    assert any(x.startswith("!") and ".env" in x and "semua pengguna" in x for x in lines), lines
    assert any(x.startswith("!") and "Berkas pengaturan terbuka" in x for x in lines), lines
    env.chmod(0o600)
    three.config.chmod(0o600)
    out = io.StringIO()
    selfcheck.run(three.config, out)
    assert "tidak dapat dibaca pengguna lain" in out.getvalue()


def test_a_record_left_half_written_by_a_kill_is_swept(tmp_path):
    from sheets_sync.remind.ledger import SentRecords
    records = SentRecords(tmp_path)
    records.folder.mkdir(parents=True)
    (records.folder / ".2023-10-12-DINKES-h-3-11d12652ed20.15xbo3jk.tmp").write_text("{")
    kept = records.folder / "2023-10-12-DINKES-h-3-11d12652ed20.json"
    kept.write_text("{}")
    records.sweep()
    assert [p.name for p in records.folder.iterdir()] == [kept.name]
