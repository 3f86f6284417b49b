"""The mistakes an admin makes with seasons, rounds and rules (issue 14, tried as a
user): each is refused before anything changes, with an Indonesian message that
says what to write instead."""
from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

import jobs
from sheets_sync.config import ConfigError, load_settings, parse_settings
from sheets_sync.ops.season import SeasonError, new_season
from tests.backends import Deployment

NEW_DAY = dt.date(2024, 1, 8)
SETTINGS = Path("/tmp/settings.yaml")


# ------------------------------------------------------------------ settings
@pytest.mark.unit
@pytest.mark.parametrize("raw,words", [
    ({"tahun": 2024, "putaran": [{"nama": "Mei", "batas": "31 Mei 2023"}, {"nama": "Okt", "batas": "15 Oktober"}]},
     "31/05/2023 tidak di tahun musim \\(2024\\)"),
    ({"tahun": 2024, "putaran": [{"nama": ["Mei", "Juni"], "batas": "31 Mei"}]}, "nama ditulis sebagai teks"),
    ({"tahun": 2024, "deadline": "2024-12-05", "putaran": [{"nama": "Okt", "batas": "15 Oktober"}]},
     "deadline \\(05/12/2024\\) berbeda dengan batas putaran terakhir \\(15/10/2024\\)"),
    ({"aturan": {"slot_ahli": ["Akademisi", " akademisi ", "Tokoh Masyarakat"]}}, "ditulis dua kali: Akademisi"),
], ids=["round-of-last-year", "round-name-list", "deadline-vs-rounds", "slot-twice"])
def test_settings_mistakes_are_told(raw, words):
    with pytest.raises(ConfigError, match=words):
        parse_settings(raw, SETTINGS)


@pytest.mark.unit
def test_matching_deadline_and_rounds_are_fine():
    s = parse_settings({"tahun": 2024, "deadline": "15 Oktober", "putaran": [{"nama": "Okt", "batas": "15 Oktober"}]},
                       SETTINGS)
    assert s.deadline == dt.date(2024, 10, 15)


@pytest.mark.unit
@pytest.mark.parametrize("text", ["aturan:\n  [1, 2]: 3\n", "aturan:\n  minimal_baris: {[1]: 3}\n", "? {a: 1}\n: 3\n"])
def test_a_list_or_mapping_as_a_key_is_a_message_not_a_traceback(tmp_path, text):
    path = tmp_path / "settings.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match="bukan nama kunci"):
        load_settings(path)


def test_worker_stops_at_start_on_rules_naming_an_unknown_form(tmp_path, caplog):
    dep = Deployment("xlsx", tmp_path, n_opds=1)
    with dep.settings_path.open("a", encoding="utf-8") as f:
        f.write("aturan:\n  minimal_baris: {pengguna: 30}\n")
    assert jobs.main(["--once", "--config", str(dep.settings_path), "--as-of", "2023-10-12"]) == 2
    assert "pengaturan salah: aturan.minimal_baris: formulir pengguna tidak dikenal" in caplog.text
    assert not dep.settings.state_db.exists()                  # no cycle started


# ------------------------------------------------------------------ season new
@pytest.fixture
def dep(tmp_path):
    return Deployment("xlsx", tmp_path, n_opds=1)


def _roll(dep, year=2024, deadline=None, today=NEW_DAY):
    return new_season(dep.settings_path, year, deadline, dry_run=True, today=today, as_of=today, out=lambda s: None)


def _with_rounds(dep, block: str) -> None:
    text = dep.settings_path.read_text(encoding="utf-8").replace("deadline: '2023-10-15'\n", block)
    dep.settings_path.write_text(text, encoding="utf-8")


@pytest.mark.parametrize("kw,words", [
    ({"year": 2025}, "musim sesudah 2023 adalah 2024.*--year 2024, lalu --year 2025"),
    ({"deadline": dt.date(2023, 10, 15)}, "--deadline 15/10/2023 tidak di tahun musim baru \\(2024\\)"),
    ({"today": dt.date(2024, 11, 1)}, "\\(15/10/2024\\) sudah lewat \\(per 01/11/2024\\).*--deadline"),
], ids=["skipped-year", "deadline-of-last-year", "deadline-past"])
def test_season_new_refuses_a_wrong_year_or_deadline(dep, kw, words):
    before = dep.settings_path.read_text(encoding="utf-8")
    with pytest.raises(SeasonError, match=words):
        _roll(dep, **kw)
    assert dep.settings_path.read_text(encoding="utf-8") == before
    assert not (dep.settings.records_dir / "musim").exists()


def test_season_new_with_rounds(dep):
    _with_rounds(dep, "putaran:\n  - {nama: Mei, batas: 31 Mei 2023}\n  - {nama: Okt, batas: 15 Oktober 2023}\n")
    with pytest.raises(SeasonError, match="ditulis dengan tahun \\(31 Mei 2023, 15 Oktober 2023\\).*Tulis tanpa tahun"):
        _roll(dep)
    _with_rounds(dep, "")
    text = dep.settings_path.read_text(encoding="utf-8").replace(" 2023}", "}")
    dep.settings_path.write_text(text, encoding="utf-8")
    with pytest.raises(SeasonError, match="--deadline tidak dipakai karena settings.yaml memakai putaran"):
        _roll(dep, deadline=dt.date(2024, 10, 31))
    _only_numbers_left(dep, "Pegawai")
    _obligation_done(dep)
    said = []
    journal = new_season(dep.settings_path, 2024, today=NEW_DAY, as_of=NEW_DAY, out=said.append,
                         first_cycle=False)
    assert any(line.startswith("- Daftar OPD: kolom QR Code Layanan, Pengumuman di Website masih berisi isian "
                               "musim 2023 untuk 1 OPD (ITDA); kosongkan untuk musim 2024") for line in said), said
    assert journal["deadline"] == "2024-10-15"
    # rows holding only the provisioned numbering are not counted as carried
    assert [r["dibawa"] for r in journal["opds"].values()] == [{"pegawai": 0, "eksper": 13}]
    after = dep.settings_path.read_text(encoding="utf-8")
    assert "deadline" not in after and "batas: 31 Mei}" in after           # rounds follow tahun: 2024
    s = load_settings(dep.settings_path)
    assert s.year == 2024 and [d for _, d in s.putaran] == [dt.date(2024, 5, 31), dt.date(2024, 10, 15)]
    saved = json.loads((s.records_dir / "musim" / "2024.json").read_text(encoding="utf-8"))
    assert saved["finished"]


def _only_numbers_left(dep, tab: str) -> None:
    """Blank every cell of a tab's data rows but the first column (No)."""
    import openpyxl
    (opd,) = dep.opds()
    path = dep.settings.data_dir / opd.location
    book = openpyxl.load_workbook(path)
    ws = book[tab]
    head = next(r[0].row for r in ws.iter_rows() if any(c.value == "Status" for c in r))
    for row in ws.iter_rows(min_row=head + 1, min_col=2):
        for cell in row:
            cell.value = None
    book.save(path)


def _obligation_done(dep) -> None:
    """The Inspektorat ticks the QR code as done for the season."""
    import openpyxl
    path = dep.settings.data_dir / dep.settings.master
    book = openpyxl.load_workbook(path)
    ws = book["Daftar OPD"]
    head = next(r for r in ws.iter_rows() if any(c.value == "QR Code Layanan" for c in r))
    col = next(c.column for c in head if c.value == "QR Code Layanan")
    ws.cell(head[0].row + 1, col).value = "Sudah"
    book.save(path)


@pytest.mark.unit
@pytest.mark.parametrize("raw", [
    {"tahun": 2024, "putaran": [{"nama": "Mei", "batas": "1" * 100_000}]},
    {"aturan": {"pengguna_layanan_bulan": "x" * 100_000}},
    {"aturan": {"status_kepegawaian": "ya" * 50_000}},
    {"tahun": "2" * 100_000},
], ids=["round-date", "rule-int", "rule-bool", "year"])
def test_a_pasted_page_is_not_echoed_whole(raw):
    with pytest.raises(ConfigError) as e:
        parse_settings(raw, SETTINGS)
    assert len(str(e.value)) < 400 and "karakter)" in str(e.value)


@pytest.mark.unit
def test_a_number_of_thousands_of_digits_in_the_file_is_a_message(tmp_path):
    path = tmp_path / "settings.yaml"
    path.write_text("tahun: " + "2" * 5000 + "\n", encoding="utf-8")     # int() refuses > 4300 digits
    with pytest.raises(ConfigError, match="tahun: '2{60}… \\(5000 karakter\\)' bukan tahun"):
        load_settings(path)


def test_a_run_killed_right_after_moving_the_old_state_still_makes_it_read_only(dep):
    import os
    import stat

    def stop(name):
        if name == "state":
            raise KeyboardInterrupt(name)
    dep.cycle()                                  # a state to keep
    with pytest.raises(KeyboardInterrupt):
        new_season(dep.settings_path, 2024, today=NEW_DAY, out=lambda s: None, on_step=stop, first_cycle=False)
    s = dep.settings
    kept = s.state_dir / "arsip" / "state-2023.sqlite"
    kept.parent.mkdir()
    os.replace(s.state_db, kept)                 # where a SIGKILL after the move leaves it
    assert stat.S_IMODE(kept.stat().st_mode) != 0o400
    new_season(dep.settings_path, 2024, today=NEW_DAY, out=lambda s: None, first_cycle=False)
    assert stat.S_IMODE(kept.stat().st_mode) == 0o400


def test_a_second_rollover_waits_for_the_unfinished_one(dep):
    def stop(name):
        if name == "records":                    # after the state step, before the settings: still 2023
            raise KeyboardInterrupt(name)
    with pytest.raises(KeyboardInterrupt):
        new_season(dep.settings_path, 2024, today=NEW_DAY, out=lambda s: None, on_step=stop, first_cycle=False)
    from sheets_sync.config import set_setting
    set_setting(dep.settings_path, None, "tahun", "2024")      # as if killed right after writing the settings
    with pytest.raises(SeasonError, match="Pergantian musim ke 2024 belum selesai.*season new --year 2024"):
        new_season(dep.settings_path, 2025, today=NEW_DAY, out=lambda s: None, first_cycle=False)
    assert not (dep.settings.records_dir / "musim" / "2025.json").exists()


def test_season_new_with_an_opd_workbook_open_says_close_it(tmp_path):
    """An OPD's workbook open in Excel (a fresh ~$ lock): the rollover stops with what to
    do, in one sentence (no '..', no promise of a status write)."""
    dep = Deployment("xlsx", tmp_path, n_opds=2)
    opd = next(o for o in dep.opds() if "pengguna_layanan" in o.forms)   # a form to empty: a write
    book = dep.settings.data_dir / opd.location
    lock = book.parent / ("~$" + book.name)
    lock.write_text("staf", encoding="utf-8")
    with pytest.raises(SeasonError) as e:
        new_season(dep.settings_path, 2024, None, today=NEW_DAY, as_of=NEW_DAY, out=lambda s: None)
    text = str(e.value)
    assert f"{opd.code}: berkas sedang dibuka di Excel/LibreOffice; minta OPD menyimpan dan menutupnya. " in text
    assert ".." not in text and "status ditulis" not in text
