"""Collection rounds (issue 14, point 3): settings `putaran:`, reminders, e-mails and
the Rekap follow the current round, each slot goes out once per round, and a round's
end is recorded in the history. Frozen clock: every day is a `today` and a `now`."""
from __future__ import annotations

import datetime as dt
import sys
from collections import Counter
from pathlib import Path

import pytest
import yaml

from sheets_sync import remind
from sheets_sync.config import WIB, ConfigError, load_settings, parse_settings
from sheets_sync.cycle.state import State
from sheets_sync.forms import load_forms
from sheets_sync.remind.plan import Round, current_round, ended_rounds, reminder_config, season_rounds
from sheets_sync.validate import opd_state as ostate
from sheets_sync.validate.frame import validate_frame
from sheets_sync.validate.registry import Opd
from tests.conftest import AS_OF, clean_row, frame, table

sys.path.insert(0, str(Path(__file__).resolve().parent))
from smtp_server import smtp_server  # noqa: E402

ROUNDS = [{"nama": "Pemutakhiran September", "batas": "15 September"},
          {"nama": "Pengguna layanan 1 bulan terakhir", "batas": "15 Oktober"}]


def settings_for(tmp_path: Path, **more):
    raw = {"tahun": 2023, "putaran": ROUNDS, "data_dir": "data", "state_dir": "state", "outbox_dir": "outbox",
           "inspektorat": {"nama": "Inspektorat Daerah (uji)", "email": ["inspektorat@contoh.go.id"]},
           "mail": {"transport": "outbox", "sender": "spi@contoh.go.id"}, **more}
    path = tmp_path / "settings.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return load_settings(path)


# ------------------------------------------------------------------ settings
def test_rounds_from_the_settings(tmp_path):
    s = settings_for(tmp_path)
    assert s.putaran == (("Pemutakhiran September", dt.date(2023, 9, 15)),
                         ("Pengguna layanan 1 bulan terakhir", dt.date(2023, 10, 15)))
    assert s.deadline == dt.date(2023, 10, 15)          # the season ends with its last round
    assert [r.number for r in season_rounds(s)] == [1, 2]


def test_without_rounds_one_round_from_the_deadline():
    s = parse_settings({"deadline": "2023-10-15"}, Path("/tmp/settings.yaml"))
    assert season_rounds(s) == [Round(1, "", dt.date(2023, 10, 15))]
    assert [s.kind for s in remind.season(reminder_config(s), s.deadline)] == ["h-7", "h-3", "h-1", "h", "h+1", "h+3"]


@pytest.mark.parametrize("putaran,words", [
    ([{"nama": "Mei", "batas": "31 Mei"}, {"nama": "Juni", "batas": "1 Mei"}], "harus sesudah"),
    ([{"nama": "Mei", "batas": "31 Mei"}, {"nama": "Mei", "batas": "30 Juni"}], "berbeda"),
    ([{"nama": "Mei", "tanggal": "31 Mei"}], "nama, batas"),
    ([{"nama": "Mei", "batas": "31 Mai"}], "bukan tanggal"),
    ("31 Mei", "daftar"),
])
def test_bad_rounds_are_told_in_indonesian(putaran, words):
    with pytest.raises(ConfigError, match=words):
        parse_settings({"tahun": 2023, "putaran": putaran}, Path("/tmp/settings.yaml"))


def test_the_current_round_lasts_until_its_last_escalation(tmp_path):
    s = settings_for(tmp_path)
    cfg, rounds = reminder_config(s), season_rounds(s)
    # 15 September 2023 is a Friday: H+1 (Sat) and H+3 (Mon) both go out on Monday 18th
    assert current_round(cfg, rounds, dt.date(2023, 9, 18)).number == 1
    assert current_round(cfg, rounds, dt.date(2023, 9, 19)).number == 2
    assert current_round(cfg, rounds, dt.date(2023, 12, 1)).number == 2      # after the season: the last
    assert ended_rounds(cfg, rounds, dt.date(2023, 9, 19)) == rounds[:1]


# ------------------------------------------------------------ the replay
def reports(forms):
    """Two OPDs that stay late the whole season and one that is LENGKAP."""
    late = [Opd(code, f"Dinas {code}", contacts=(f"{code.lower()}@contoh.go.id",), forms=("pegawai",))
            for code in ("DINSOS", "DISHUB")]
    done = Opd("DINKES", "Dinas Kesehatan", contacts=("dinkes@contoh.go.id",), forms=("pegawai",))
    ok = validate_frame(frame([clean_row("pegawai", 1)], forms["pegawai"]), forms["pegawai"], AS_OF)
    return [ostate.OpdReport(o, {}, []) for o in late] + [ostate.OpdReport(done, {"pegawai": ok}, [])]


def test_two_rounds_replayed_day_by_day_send_each_slot_once_per_round(tmp_path):
    forms = load_forms()
    with smtp_server() as smtp:
        s = settings_for(tmp_path, mail={"transport": "smtp", "host": "127.0.0.1", "port": smtp.port,
                                         "security": "none", "sender": "spi@contoh.go.id", "pause_seconds": 0})
        reps = reports(forms)
        days = [dt.date(2023, 9, 6) + dt.timedelta(days=i) for i in range(15)] + \
            [dt.date(2023, 10, 4) + dt.timedelta(days=i) for i in range(17)]
        with State(s.state_db) as state:
            for day in days:
                now = dt.datetime.combine(day, dt.time(8, 0), WIB)
                remind.run(s, forms, state, reps, day, now)
                if state.get("reminders_last")["sent"]:      # a second run on a slot day sends nothing
                    assert remind.run(s, forms, state, reps, day, now).sent == []
            statuses = remind.Ledger(state).statuses()
            history = remind.recorded_rounds(state)
        got = Counter(tuple(m.message["X-SPI-Slot"].split()) for m in smtp.messages)
    assert set(got.values()) == {1}                                       # never twice
    sent = {(code, date) for code, _, date in got}
    for rnd in (1, 2):
        deadline = dt.date(2023, 9, 15) if rnd == 1 else dt.date(2023, 10, 15)
        slots = [x for x in remind.season(reminder_config(s), deadline, round_no=rnd) if x.merged_into is None]
        for code in ("DINSOS", "DISHUB"):
            for x in slots:                                               # every slot of the round, once
                assert (code, x.date.isoformat()) in sent, (rnd, code, x.label)
                assert statuses[(code, x.kind, x.date.isoformat())] == "sent"
        assert all(x.kind.startswith("p2-") == (rnd == 2) for x in slots)  # the key holds the round
    assert len(got) == 2 * (5 + 5)           # round 1: H+1 merged into H+3 (Mon); round 2: H-1 into H (Fri)
    assert not any(code == "DINKES" for code, _, _ in got)                # LENGKAP: nothing
    assert [(r["nomor"], r["nama"], r["batas"], r["dicatat"]) for r in history] == [
        (1, "Pemutakhiran September", "2023-09-15", "2023-09-19"),
        (2, "Pengguna layanan 1 bulan terakhir", "2023-10-15", "2023-10-19")]
    assert history[0]["keadaan"] == {"BELUM MENGISI": 2, "LENGKAP": 1}
    texts = [m.message.get_body(("plain",)).get_content() for m in smtp.messages]
    assert any("Putaran pengumpulan: Pemutakhiran September (batas Jumat, 15 September 2023)" in t for t in texts)
    assert any("Putaran pengumpulan: Pengguna layanan 1 bulan terakhir" in t for t in texts)


def test_same_slot_date_in_two_rounds_is_two_keys():
    cfg = reminder_config(parse_settings({"deadline": "2023-10-15"}, Path("/tmp/settings.yaml")))
    one = remind.season(cfg, dt.date(2023, 10, 15), round_no=1)
    two = remind.season(cfg, dt.date(2023, 10, 15), round_no=2)
    assert {(x.kind, x.date) for x in one}.isdisjoint({(x.kind, x.date) for x in two})


# ------------------------------------------------------------ the Rekap
def test_the_rekap_shows_the_current_round(deployment):
    raw = yaml.safe_load(deployment.config.read_text(encoding="utf-8"))
    del raw["deadline"]
    raw["putaran"] = [dict(r, batas=r["batas"] + " 2023") for r in ROUNDS]    # tahun from the rounds
    deployment.config.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    deployment.add_opd("DINKES", {"pegawai": [clean_row("pegawai", 1)]})
    deployment.cycle(as_of=dt.date(2023, 9, 12))
    from tests.conftest import sheet_rows
    note = sheet_rows(deployment.master, "Rekap")[0][0]
    assert "Putaran: Pemutakhiran September" in note and "15/09/2023" in note
    deployment.cycle(as_of=dt.date(2023, 10, 2))
    note = sheet_rows(deployment.master, "Rekap")[0][0]
    assert "Putaran: Pengguna layanan 1 bulan terakhir" in note and "15/10/2023" in note
    assert table(deployment.master, "Rekap", "Kode OPD")[0]["Keadaan"] == "LENGKAP"


def test_status_lists_ended_rounds(tmp_path, capsys):
    from sheets_sync import cli
    s = settings_for(tmp_path)
    forms = load_forms()
    with State(s.state_db) as state:
        assert remind.note_ended_rounds(state, s, forms, reports(forms), dt.date(2023, 9, 18)) == []
        assert len(remind.note_ended_rounds(state, s, forms, reports(forms), dt.date(2023, 9, 19))) == 1
        assert remind.note_ended_rounds(state, s, forms, reports(forms), dt.date(2023, 9, 20)) == []   # once
    cli.main(["status", "--config", str(s.path)])
    out = capsys.readouterr().out
    assert "Putaran Pemutakhiran September (batas 15/09/2023) selesai, dicatat 19/09/2023: " \
           "BELUM MENGISI 2, LENGKAP 1" in out
