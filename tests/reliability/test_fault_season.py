"""A reminder season replayed under faults: Google (emulator) answering 429 to 30 %
and 500 to 5 % of requests with latency spikes (one bad enough for timeouts), and an
SMTP server that drops connections and answers 421 for a while on slot days.

The worker is emulated as it runs: on each day from H-10 to H+5 (jobs.py --as-of),
sync cycles at 08:00, 08:10 and 08:20 WIB, each running the reminder step (cycles
after reminder_time do), a cycle that fails being logged and the next one going on.
At the end every row is validated (its status is the verdict recomputed from the
spreadsheet) and every reminder slot was delivered exactly once."""
from __future__ import annotations

import datetime as dt
import logging
from collections import Counter

import pytest
import yaml


from sheets_sync.validate import opd_state as ostate
from sheets_sync import remind
from sheets_sync.config import WIB, load_settings
from tests.backends import Deployment
from tests.smtp_server import Collector, Server

from .helpers import SOAK, ledger, verdicts_misaligned

DEADLINE = dt.date(2023, 10, 15)          # the demo's: AS_OF (12/10) + 3
DAYS = [DEADLINE + dt.timedelta(days=o) for o in range(-10, 6)]
SLOT_OFFSETS = (-7, -3, -1, 0, 1, 3)
FAULTS = {"rate_429": 0.3, "rate_500": 0.05}


class FlakyCollector(Collector):
    """aiosmtpd handler with a queue of faults for the next transactions:
    '421' answers MAIL FROM with 421 (service not available), 'drop' closes the
    connection after the message was sent, before accepting it."""

    def __init__(self):
        super().__init__()
        self.plan: list[str] = []
        self.faults = Counter()

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        if self.plan and self.plan[0] == "421":
            self.faults[self.plan.pop(0)] += 1
            return "421 4.3.2 Layanan tidak tersedia, coba lagi nanti"
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.plan and self.plan[0] == "drop":
            self.faults[self.plan.pop(0)] += 1
            server.transport.close()
            return "421 4.4.2 koneksi ditutup"
        return await super().handle_DATA(server, session, envelope)


@pytest.fixture
def smtp():
    server = Server()
    server.handler = FlakyCollector()
    server.controller.handler = server.handler
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def emu(monkeypatch):
    from tests.google_emulator import start_emulator
    with start_emulator() as e:
        monkeypatch.setenv("SHEETS_EMULATOR_HOST", f"127.0.0.1:{e.port}")
        yield e


def slot_of(received) -> tuple[str, str]:
    code, label, _ = received.message["X-SPI-Slot"].split()
    return code, label


def test_season_under_google_and_smtp_faults(tmp_path, emu, smtp, monkeypatch, caplog):
    from sheets_sync.stores.google_http import GoogleSession

    for var in ("MAIL_TRANSPORT", "SMTP_HOST", "SMTP_PORT", "SMTP_SECURITY", "SMTP_USER", "SMTP_PASSWORD"):
        monkeypatch.delenv(var, raising=False)
    timeouts = {"on": False}
    dep = Deployment("google", tmp_path, emulator=emu, n_opds=6 if SOAK else 4, session_factory=lambda: GoogleSession(
        None, sleep=lambda s: None, timeout=0.5 if timeouts["on"] else 30.0))
    raw = yaml.safe_load(dep.settings_path.read_text())
    raw["mail"].update({"transport": "smtp", "host": "127.0.0.1", "port": smtp.port, "security": "none",
                        "pause_seconds": 0})
    dep.settings_path.write_text(yaml.safe_dump(raw, allow_unicode=True))
    dep.settings = load_settings(dep.settings_path)
    assert dep.settings.deadline == DEADLINE

    states: dict[dt.date, dict] = {}

    def record(ctx, reports):
        if reports:
            states.setdefault(ctx.as_of, {r.opd.code: ostate.opd_state(r, ctx.forms) for r in reports})

    caplog.set_level(logging.WARNING)
    failed_cycles, cycles = 0, 0
    # the slots' working days (the deadline is a Sunday: H-7 on Friday 6/10, H-1 and H on Friday 13/10)
    season = [s for s in remind.season(remind.reminder_config(dep.settings), DEADLINE) if s.merged_into is None]
    slot_days = {s.day for s in season}
    for i, day in enumerate(DAYS):
        if day in slot_days:
            smtp.handler.plan = ["drop", "421", "421", "drop"]          # bad for a while that morning
        for k in range(3):
            spike = {}
            if k == 0 and i % 5 == 2:
                spike = {"latency_ms": 150}                              # slow answers
            if k == 0 and i == 6:     # Wednesday 11/10: no slot that day (a slot whose whole day fails
                #                         is superseded by the next working day's slot, by design)
                spike, timeouts["on"] = {"latency_ms": 700}, True        # slower than the timeout
            emu.set_faults(**FAULTS, **spike, seed=1000 * i + k)
            now = dt.datetime.combine(day, dt.time(8, 10 * k), WIB)
            cycles += 1
            try:
                dep.cycle(as_of=day, hooks=[record, remind.hook], now=now)
            except Exception:  # noqa: BLE001 - as jobs._safely: logged, the next cycle goes on
                failed_cycles += 1
            timeouts["on"] = False
    last = DAYS[-1]
    for _ in range(3):                                                   # the worker keeps cycling
        rep = dep.cycle(as_of=last, hooks=[record, remind.hook],
                        now=dt.datetime.combine(last, dt.time(9, 0), WIB))
        if not rep.errors:
            break
    emu.clear_faults()

    # faults really happened
    by = emu.stats()["by_endpoint"]
    assert smtp.handler.faults["drop"] >= 6 and smtp.handler.faults["421"] >= 6, smtp.handler.faults
    assert sum(by.values()) > 0

    # every row validated: the status cells are the verdicts of the spreadsheets as they are
    assert verdicts_misaligned(dep.settings, last) == []

    # every slot exactly once, to the OPDs that were late on that slot's day
    got = Counter(slot_of(m) for m in smtp.messages)
    assert {s.offset for s in season} | {-1} == set(SLOT_OFFSETS)     # H-1 shares Friday with H
    expected = {(code, s.label) for s in season for code, st in states[s.day].items() if st != ostate.LENGKAP}
    assert expected and set(got) == expected and set(got.values()) == {1}, (got, expected)
    assert len({m.message["Message-ID"] for m in smtp.messages}) == len(smtp.messages)
    final = ledger(dep.settings.state_db)
    assert {s for s in final.values()} <= {"sent", "skipped", "not_needed"}, final
    print(f"\nseason: {cycles} cycles, {failed_cycles} failed on faults; SMTP faults {dict(smtp.handler.faults)}; "
          f"{len(smtp.messages)} reminders delivered once each")
