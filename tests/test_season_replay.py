"""A whole season replayed day by day, on both backends (issue 14): two collection
rounds (`putaran`) with the worker's reminder cycle every day under a frozen clock,
then `season new --year 2024`, then the first days of the new season.

Checked: every reminder slot of each round goes out once (never twice) to an OPD
that stays late, the ledger agrees with the outbox, each round's end is recorded;
the rollover carries the employee and expert rows verbatim, empties the time-bound
forms, archives the master and every workbook, starts a fresh ledger; and the new
season sends its own slots, once, and nothing of the old season again.

Small on purpose (3 OPDs, 2 rows per tab, only the days around each round's
deadline): the scenario, not the data, is under test."""
from __future__ import annotations

import datetime as dt
import re

import pytest

from sheets_sync import remind
from sheets_sync.config import WIB, load_settings
from sheets_sync.cycle.state import State
from sheets_sync.ops.season import new_season
from sheets_sync.remind.plan import reminder_config, season_rounds
from sheets_sync.stores.google_http import GoogleSession
from tests.backends import Deployment
from tests.google_emulator import start_emulator
from tests.reliability.helpers import outbox_slots
from tests.test_season import CARRIED, EMPTIED, FORMS, _archives, _inputs

ROUNDS = ("putaran:\n"
          "  - {nama: Pemutakhiran September, batas: 15 September}\n"
          "  - {nama: Pengguna layanan 1 bulan terakhir, batas: 15 Oktober}\n")
LATE = "DINKES"                      # its service users are cleared: late all season
KEEP = 2                             # data rows kept per tab
ROLL_DAY = dt.date(2024, 1, 8)


def _days(first: dt.date, last: dt.date) -> list[dt.date]:
    return [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]


@pytest.fixture(params=["xlsx", "google"])
def dep(request, tmp_path, monkeypatch):
    def ready(d):
        text = d.settings_path.read_text(encoding="utf-8")
        assert "deadline: '2023-10-15'\n" in text
        d.settings_path.write_text(text.replace("deadline: '2023-10-15'\n", ROUNDS), encoding="utf-8")
        d.settings = load_settings(d.settings_path)
        _trim(d)
        return d
    if request.param == "xlsx":
        yield ready(Deployment("xlsx", tmp_path, n_opds=3))
        return
    with start_emulator(strict=True) as emu:
        monkeypatch.setenv("SHEETS_EMULATOR_HOST", emu.url.replace("http://", ""))
        yield ready(Deployment("google", tmp_path, emulator=emu, n_opds=3,
                               session_factory=lambda: GoogleSession(None, sleep=lambda s: None)))


def _trim(dep) -> None:
    """Keep KEEP data rows per form tab (none of LATE's service users)."""
    for opd in dep.opds():
        clear = {}
        for title, grid in dep.grids(opd).items():
            form = next((f for f in FORMS if f.matches_sheet(title)), None)
            if form is None:
                continue
            head = next(i for i, r in enumerate(grid) if FORMS.status_headers["status"] in r)
            keep = 0 if (opd.code, form.key) == (LATE, "pengguna_layanan") else KEEP
            first = head + 2 + keep                     # 1-based sheet row of the first row cleared
            if len(grid) >= first:
                clear[title] = (first, len(grid), max(len(r) for r in grid))
        _clear(dep, opd, clear)


def _clear(dep, opd, clear: dict) -> None:
    if dep.kind == "xlsx":
        import openpyxl
        path = dep.settings.data_dir / opd.location
        book = openpyxl.load_workbook(path)
        for title, (first, last, width) in clear.items():
            for row in book[title].iter_rows(min_row=first, max_row=last, max_col=width):
                for cell in row:
                    cell.value = None
        book.save(path)
        return
    from sheets_sync.stores.google import col_letter, quote
    ranges = [f"{quote(t)}!A{first}:{col_letter(width)}{last}" for t, (first, last, width) in clear.items()]
    dep._google_store().http.values_batch_clear(dep._sid(opd), body={"ranges": ranges})


def _run_days(dep, days) -> None:
    for day in days:
        now = dt.datetime.combine(day, dt.time(9, 0), WIB)          # after reminder_time, WIB
        rep = dep.cycle(day, hooks=[remind.hook], now=now)
        assert not rep.errors, (day, rep.errors)


def _ledger(settings) -> dict:
    with State(settings.state_db, read_only=True) as st:
        return remind.Ledger(st).statuses()


def _slots(settings, year: int) -> dict[int, list]:
    """{round number: its slots that send (not merged into a later one on the same day)}."""
    cfg = reminder_config(settings)
    return {r.number: [s for s in remind.season(cfg, r.deadline, round_no=r.number) if s.merged_into is None]
            for r in season_rounds(settings) if r.deadline.year == year}


def _slot_id(year: int, code: str, slot) -> str:
    return f"spi-{year}-{code}-{slot.kind}-{slot.date:%Y%m%d}"


def test_two_rounds_then_a_rollover_then_the_new_season(dep):
    s = dep.settings
    assert [r.name for r in season_rounds(s)] == ["Pemutakhiran September", "Pengguna layanan 1 bulan terakhir"]
    codes = [o.code for o in dep.opds()]
    assert LATE in codes and len(codes) == 3

    # ---- season 2023: day by day around each round's deadline (and one quiet day between)
    # (H-7 of round 2, Sunday 8 October, goes out on Friday the 6th)
    _run_days(dep, _days(dt.date(2023, 9, 7), dt.date(2023, 9, 19)) + [dt.date(2023, 9, 27)]
              + _days(dt.date(2023, 10, 5), dt.date(2023, 10, 19)))
    _run_days(dep, [dt.date(2023, 10, 18)])                    # a restarted worker on a slot day: no resend
    sent = outbox_slots(s.outbox_dir)
    assert sent and set(sent.values()) == {1}, sent            # never twice
    rounds = _slots(s, 2023)
    assert sorted(rounds) == [1, 2]
    ledger = _ledger(s)
    for number, slots in rounds.items():
        for slot in slots:                                     # the late OPD: every slot of the round, once
            assert sent[_slot_id(2023, LATE, slot)] == 1, (number, slot.label)
            assert ledger[(LATE, slot.kind, slot.date.isoformat())] == "sent"
        assert all(slot.kind.startswith("p2-") == (number == 2) for slot in slots)
    assert {k for k, v in ledger.items() if v == "sent"} == {_parts(n) for n in sent if _parts(n)}
    with State(s.state_db, read_only=True) as st:
        history = remind.recorded_rounds(st)
    assert [(r["nomor"], r["dicatat"]) for r in history] == [(1, "2023-09-19"), (2, "2023-10-19")]
    assert history[0]["keadaan"] and sum(history[0]["keadaan"].values()) == 3
    before = _inputs(dep)
    old_ledger = dict(ledger)

    # ---- the rollover (and its first cycle, re-validating the carried rows)
    said = []
    new_season(dep.settings_path, 2024, today=ROLL_DAY, as_of=ROLL_DAY, out=said.append)
    assert "Musim 2024 dimulai" in "\n".join(said)
    dep.settings = s = load_settings(dep.settings_path)
    assert s.year == 2024 and [d.year for _, d in s.putaran] == [2024, 2024]
    assert "deadline" not in dep.settings_path.read_text(encoding="utf-8")     # the rounds say it
    after = _inputs(dep)
    for (code, title), rows in before.items():
        assert after[(code, title)] == (rows if title in CARRIED else []), (code, title)
    assert any(rows for (c, t), rows in before.items() if t in EMPTIED)
    assert any(rows for (c, t), rows in before.items() if t == "Eksper")      # the expert rows went along
    archives = _archives(dep)
    if dep.kind == "xlsx":
        assert archives == sorted([f"2023/{c}.xlsx" for c in codes] + ["master-2023-2024-01-08.xlsx"])
    else:
        assert len(archives) == len(set(archives)) == 4 and "Arsip master SPI 2023 (2024-01-08)" in archives
    assert "Tanggal laporan: 18/10/2023" in _archived_rekap_note(dep, journal_of(s)["archive"]["master"])
    with State(s.state_dir / "arsip" / "state-2023.sqlite", read_only=True) as st:
        assert remind.Ledger(st).statuses() == old_ledger                 # the old season kept as it was
    assert _ledger(s) == {}                                             # a fresh ledger

    # ---- the first days of 2024: nothing due, nothing of 2023 again; then its first round's slots, once
    _run_days(dep, _days(ROLL_DAY, ROLL_DAY + dt.timedelta(days=1)))
    assert outbox_slots(s.outbox_dir) == sent and _ledger(s) == {}
    first_round = _slots(s, 2024)[1]
    opening = [x.date for x in first_round][:2]                      # H-7 and H-3 of 15 September 2024
    _run_days(dep, _days(opening[0] - dt.timedelta(days=1), opening[1]) + [opening[1]])
    now_sent = outbox_slots(s.outbox_dir)
    assert set(now_sent.values()) == {1}
    assert {k: v for k, v in now_sent.items() if k.startswith("spi-2023-")} == sent
    new = {k for k in now_sent if k.startswith("spi-2024-")}
    assert {_slot_id(2024, LATE, x) for x in first_round[:2]} <= new
    assert all(not _parts(k)[1].startswith("p2-") for k in new if _parts(k))


def journal_of(settings) -> dict:
    import json
    return json.loads((settings.records_dir / "musim" / "2024.json").read_text(encoding="utf-8"))


def _archived_rekap_note(dep, where: str) -> str:
    """The first cell of the archived master's Rekap (its reporting date and round)."""
    if dep.kind == "xlsx":
        from sheets_sync.stores.xlsx import read_grids
        grid = read_grids(dep.settings.data_dir / "arsip" / where, only="Rekap")["Rekap"]
    else:
        grid = dep._google_store().batch_get(where, ["Rekap"])["Rekap"]
    return str(grid[0][0])


SLOT_ID = re.compile(r"^spi-\d{4}-(.+?)-((?:p\d+-)?h[+-]?\d*)-(\d{4})(\d\d)(\d\d)$")


def _parts(slot_id: str) -> tuple | None:
    """'spi-2023-DINKES-p2-h-3-20231012' -> ('DINKES', 'p2-h-3', '2023-10-12'); None for a digest."""
    m = SLOT_ID.match(slot_id)
    return (m.group(1), m.group(2), f"{m.group(3)}-{m.group(4)}-{m.group(5)}") if m else None
