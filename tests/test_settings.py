"""Settings that forgive YAML: times however they are written (also unquoted, which
YAML 1.1 reads as base-60 integers), errors that name the key and the value as
typed, YAML parser errors in Indonesian with line and column, a season year and
deadline that need no yearly edit, the circular's number, and the example file."""
from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
import yaml

from sheets_sync import mail, remind
from sheets_sync.config import ConfigError, load_settings, parse_settings, today_wib

ROOT = Path(__file__).resolve().parent.parent
ENGLISH = re.compile(r"\b(mapping|values|allowed|expected|found|while|scanning|parsing|block|token|"
                     r"could not|stream|character)\b", re.I)


def settings_from(tmp_path: Path, text: str):
    path = tmp_path / "settings.yaml"
    path.write_text(text, encoding="utf-8")
    return load_settings(path)


def error_of(tmp_path: Path, text: str) -> str:
    with pytest.raises(ConfigError) as e:
        s = settings_from(tmp_path, text)
        remind.check_settings(s)
        remind.reminder_config(s)
    return str(e.value)


# ------------------------------------------------------------------ times
@pytest.mark.parametrize("typed, expected", [
    ("10:30", "10:30"), ("8:00", "08:00"), ("08:00", "08:00"), ('"08:00"', "08:00"), ("'8:00'", "08:00"),
    ("7:05", "07:05"), ("08.30", "08:30"), ("8", "08:00"), ("23:59", "23:59"), ("0:00", "00:00"),
])
def test_times_as_typed_quoted_or_not(tmp_path, typed, expected):
    assert settings_from(tmp_path, f"reminder_time: {typed}\n").reminder_time == expected


def test_yaml_11_base_60_integers_read_back_as_the_time_typed(tmp_path):
    """A settings dict read elsewhere with YAML 1.1 (yaml.safe_load) holds 630 for 10:30."""
    for typed, expected in (("10:30", "10:30"), ("8:00", "08:00"), ("23:15", "23:15")):
        raw = yaml.safe_load(f"reminder_time: {typed}")
        assert isinstance(raw["reminder_time"], int)
        assert parse_settings(raw, tmp_path / "s.yaml").reminder_time == expected
    raw = yaml.safe_load("reminder_time: 25:00")          # 1500
    with pytest.raises(ConfigError) as e:
        parse_settings(raw, tmp_path / "s.yaml")
    assert "reminder_time" in str(e.value) and "'25:00'" in str(e.value) and "1500" not in str(e.value)


@pytest.mark.parametrize("text, key, typed", [
    ("reminder_time: 25:00\n", "reminder_time", "25:00"),
    ("reminder_time: 10:75\n", "reminder_time", "10:75"),
    ("reminder_time: jam delapan\n", "reminder_time", "jam delapan"),
    ("deadline: 2023-02-30\n", "deadline", "2023-02-30"),
    ("deadline: 31/09/2023\n", "deadline", "31/09/2023"),
    ("tahun: 20x3\n", "tahun", "20x3"),
    ("sync_interval_minutes: 1:30\n", "sync_interval_minutes", "1:30"),
    ("backend: yes\n", "backend", "yes"),
    ("mail:\n  port: dua\n", "mail.port", "dua"),
    ("mail:\n  transport: off\n", "mail.transport", "off"),
    ("mail:\n  sender: a@b.go.id\n  pause_seconds: 0:30\n", "mail.pause_seconds", "0:30"),
    ("reminders:\n  slots: [H-7, H+3]\n", "reminders.slots", "H+3"),
    ("reminders:\n  slots: [H-3, -3]\n", "reminders.slots", "-3"),
    ("reminders:\n  digest: ya\n", "reminders.digest", "ya"),
    ("reminders:\n  max_problems: 10.5\n", "reminders.max_problems", "10.5"),
    ("reminders:\n  cuti_bersama: [2023-13-01]\n", "reminders.cuti_bersama", "2023-13-01"),
    ("surat_edaran:\n  nomor: 'ISI: nomor surat'\n", "surat_edaran.nomor", "ISI: nomor surat"),
    ("surat_edaran:\n  nomor: 700/1/ITDA/2023\n  tanggal: kemarin\n", "surat_edaran.tanggal", "kemarin"),
])
def test_every_error_names_the_key_and_the_value_as_typed(tmp_path, text, key, typed):
    msg = error_of(tmp_path, "deadline: 15 Oktober\n" + text if not text.startswith("deadline") else text)
    assert msg.startswith(key) or f" {key}" in msg or f"{key}:" in msg, msg
    assert f"'{typed}'" in msg, msg


def test_yaml_1_1_booleans_still_mean_it_in_flags(tmp_path):
    s = settings_from(tmp_path, "reminders:\n  digest: yes\n  enabled: on\n")
    cfg = remind.reminder_config(s)
    assert cfg.digest is True and cfg.enabled is True


# ------------------------------------------------------------------ YAML errors
@pytest.mark.parametrize("text, line", [
    ("backend: xlsx\nreminder_time: 08:00: pagi\n", 2),
    ("mail:\n  transport: outbox\n sender: a@b.go.id\n", 3),
    ("inspektorat:\n  nama: 'Inspektorat\n", 2),
    ("reminders:\n\tslots: [H-7]\n", 2),
    ("reminders:\n  slots: [H-7, H-3\n", 2),
    ("deadline: 15 Oktober\ndeadline: 16 Oktober\n", 2),
    ("mail:\n  sender: \"a\\q@b.id\"\n", 2),
])
def test_yaml_errors_in_indonesian_with_line_and_column(tmp_path, text, line):
    msg = error_of(tmp_path, text)
    assert re.search(rf"baris {line}, kolom \d+", msg), msg
    assert not ENGLISH.search(msg), msg
    assert "^" in msg                                   # the line itself, with a caret


def test_duplicate_key_names_both_lines(tmp_path):
    msg = error_of(tmp_path, "tahun: 2024\nbackend: xlsx\ntahun: 2025\n")
    assert "'tahun'" in msg and "baris 3" in msg and "baris 1" in msg


# ------------------------------------------------------------------ year and deadline
def test_year_auto_and_deadline_without_year(tmp_path):
    this_year = today_wib().year
    s = settings_from(tmp_path, "tahun: auto\ndeadline: 15 Oktober\n")
    assert (s.year, s.deadline, s.deadline_default, s.year_auto) == (this_year, dt.date(this_year, 10, 15), False, True)
    s = settings_from(tmp_path, "tahun: 2024\ndeadline: 16/10\n")
    assert s.deadline == dt.date(2024, 10, 16)
    s = settings_from(tmp_path, "tahun: 2024\n")                       # no deadline: 15 October of that year
    assert (s.deadline, s.deadline_default) == (dt.date(2024, 10, 15), True)
    s = settings_from(tmp_path, "deadline: 2023-10-15\n")             # a dated deadline gives the season
    assert (s.year, s.deadline) == (2023, dt.date(2023, 10, 15))
    s = settings_from(tmp_path, "backend: xlsx\n")                     # neither: this season
    assert (s.year, s.deadline) == (this_year, dt.date(this_year, 10, 15))
    for typed in ("2023-10-15", "15-10-2023", "15/10/2023", "15 Oktober 2023", "15 okt 2023", "Minggu, 15 Oktober 2023"):
        assert settings_from(tmp_path, f"deadline: {typed}\n").deadline == dt.date(2023, 10, 15), typed


def test_surat_edaran(tmp_path):
    s = settings_from(tmp_path, "surat_edaran:\n  penerbit: Bupati Mukomuko\n  nomor: 700/654/ITDA/X/2023\n"
                                "  tanggal: 13 Oktober 2023\n")
    assert s.surat_edaran == {"penerbit": "Bupati Mukomuko", "nomor": "700/654/ITDA/X/2023",
                              "tanggal": dt.date(2023, 10, 13)}
    from sheets_sync.remind.text import surat_edaran
    assert surat_edaran(s) == "Surat Edaran Bupati Mukomuko Nomor 700/654/ITDA/X/2023 tanggal 13 Oktober 2023"
    assert surat_edaran(settings_from(tmp_path, "tahun: 2024\n")) == ""
    assert "nomor" in error_of(tmp_path, "surat_edaran:\n  nomer: 1\n")


def test_example_settings_has_no_year_baked_in(tmp_path):
    text = (ROOT / "config" / "settings.example.yaml").read_text(encoding="utf-8")
    active = [line.split("#")[0] for line in text.splitlines() if not line.lstrip().startswith("#")]
    assert not [x for x in active if re.search(r"\b20\d\d\b", x)], "a year in an active line"
    assert "issue" not in text.casefold()
    s = load_settings(ROOT / "config" / "settings.example.yaml")
    remind.check_settings(s)
    this_year = today_wib().year
    assert (s.year, s.deadline, s.reminder_time) == (this_year, dt.date(this_year, 10, 15), "08:00")
    assert mail.mail_config(s).transport == "outbox"


def test_a_broken_forms_file_is_told_in_indonesian(tmp_path):
    from sheets_sync.forms import forms_for

    (tmp_path / "formulir.yaml").write_text("forms:\n  pegawai:\n    title: 'Pegawai\n", encoding="utf-8")
    s = settings_from(tmp_path, "forms_file: formulir.yaml\n")
    with pytest.raises(ConfigError) as e:
        forms_for(s)
    assert re.search(r"baris 3, kolom \d+", str(e.value)) and not ENGLISH.search(str(e.value))
