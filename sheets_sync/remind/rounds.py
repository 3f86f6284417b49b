"""The end of each collection round (putaran), in the worker's history.

When a round is over (its deadline and escalation days passed), the first cycle that
notices records it once in the state (key `putaran`, JSON): its number, name,
deadline, the day it was noted and how many OPDs were in each state then. Nothing
is ever rewritten: a record is the state of that day. `recorded_rounds(state)` gives
them back, e.g. for a Riwayat tab or `status`.
"""
from __future__ import annotations

import datetime as dt
import logging
from collections import Counter

from sheets_sync.validate import opd_state as ostate
from sheets_sync.remind.plan import ended_rounds, reminder_config, season_rounds

log = logging.getLogger("sheets_sync.remind")
KEY = "putaran"


def recorded_rounds(state) -> list[dict]:
    """Ended rounds, oldest first: [{nomor, nama, batas, dicatat, keadaan: {state: n}, opd: {code: state}}]."""
    data = state.get(KEY) or {}
    rounds = data.get("selesai") if isinstance(data, dict) else None
    return [r for r in rounds or [] if isinstance(r, dict)]


def note_ended_rounds(state, settings, forms, reports, today: dt.date) -> list[dict]:
    """Record the rounds that ended before `today` and are not recorded yet; returns
    the new records. The OPD states are those of this cycle's reports."""
    rounds = season_rounds(settings)
    if not rounds:
        return []
    done = {(r.get("nomor"), r.get("batas")) for r in recorded_rounds(state)}
    new = []
    for rnd in ended_rounds(reminder_config(settings), rounds, today):
        if (rnd.number, rnd.deadline.isoformat()) in done:
            continue
        states = {r.opd.code: ostate.opd_state(r, forms) for r in reports}
        new.append({"nomor": rnd.number, "nama": rnd.title, "batas": rnd.deadline.isoformat(),
                    "dicatat": today.isoformat(), "keadaan": dict(Counter(states.values())), "opd": states})
        log.info("putaran selesai: %s (batas %s): %s", rnd.title, f"{rnd.deadline:%d/%m/%Y}",
                 ", ".join(f"{n} {s}" for s, n in sorted(Counter(states.values()).items())) or "tanpa OPD")
    if new:
        state.set(KEY, {"selesai": recorded_rounds(state) + new})
    return new
