"""Cross-OPD duplicates remembered between cycles, under a hash of what they are
computed from, so that a cycle in which no OPD's verdicts moved (an idle cycle that
runs the reminders) does not search 300,000 phones and e-mails again.

The key holds, per OPD, what its own verdicts follow: the content hash of the rows
they were computed from, the reporting date, its forms, and the rules fingerprint
(run._rules_key). An OPD's own results change only together with one of these
(read, re-validated for a new date or new rules, refused, over its time budget), so
an equal key means equal cross-OPD results. Anything unreadable is a miss."""
from __future__ import annotations

import hashlib
import json
import logging

from sheets_sync.cycle.state import State, frame_from_json, frame_to_json

log = logging.getLogger("sheets_sync")
KEY, PROBLEMS, LISTING = "cross_key", "cross_problems", "cross_listing"


def inputs_key(rules: str, opds, mems) -> str:
    body = [rules] + [[o.code, mems[o.code].content_hash, str(mems[o.code].as_of), sorted(mems[o.code].results)]
                      for o in opds]
    return hashlib.sha256(json.dumps(body, default=str).encode()).hexdigest()


def load(state: State, key: str) -> dict | None:
    """{(opd, form): problems} stored under this key, or None (a miss)."""
    if state.get(KEY) != key:
        return None
    try:
        return {(str(o), str(f)): frame_from_json(p) for o, f, p in state.get(PROBLEMS) or []}
    except (KeyError, TypeError, ValueError) as e:
        log.warning("cache duplikat lintas OPD tidak terbaca (%s); dihitung ulang", type(e).__name__)
        return None


def load_listing(state: State):
    """The listing stored with the problems (for the master's Lintas OPD tab), or None."""
    try:
        raw = state.get(LISTING)
        return None if raw is None else frame_from_json(raw)
    except (KeyError, TypeError, ValueError):
        return None


def save(state: State, key: str, cross: dict, listing) -> None:
    """Key last, so that a process killed in between leaves a miss, never a wrong hit."""
    state.set(KEY, None)
    state.set(PROBLEMS, [[o, f, frame_to_json(p)] for (o, f), p in cross.items()])
    state.set(LISTING, frame_to_json(listing))
    state.set(KEY, key)
