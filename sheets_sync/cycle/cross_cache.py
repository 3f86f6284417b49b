"""Cross-OPD duplicates remembered between cycles, under a hash of what they are
computed from, so that a cycle in which no OPD's verdicts moved (an idle cycle that
runs the reminders) does not search 300,000 phones and e-mails again. Beside them,
under the same key, what the Rekap, the reminders and the status writes need of each
OPD's final verdicts (opd_state.FormSummary per form, and writes.shown), so that such
a cycle loads no OPD's verdicts at all.

The key holds, per OPD, what its own verdicts follow: the content hash of the rows
they were computed from, the reporting date, its forms, and the rules fingerprint
(run._rules_key). An OPD's own results change only together with one of these
(read, re-validated for a new date or new rules, refused, over its time budget), so
an equal key means equal cross-OPD results. Anything unreadable is a miss."""
from __future__ import annotations

import hashlib
import json
import logging

import pandas as pd

from sheets_sync.cycle.state import State, frame_from_json, frame_to_json
from sheets_sync.validate.opd_state import FormSummary

log = logging.getLogger("sheets_sync")
KEY, PROBLEMS, LISTING = "cross_key", "cross_problems", "cross_listing"
SUMMARY_KEY, SUMMARIES = "summary_key", "summaries"


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


def opd_inputs(rules: str, code: str, mem, cross: dict) -> str:
    """What one OPD's final verdicts follow: its part of inputs_key and its cross-OPD
    problems (hashed by pandas, column at a time)."""
    h = hashlib.sha256(json.dumps([rules, code, mem.content_hash, str(mem.as_of), sorted(mem.results)],
                                  default=str).encode())
    for k in sorted(mem.results):
        p = cross.get((code, k))
        if p is not None:
            h.update(json.dumps([k, [str(c) for c in p.columns]]).encode())
            h.update(pd.util.hash_pandas_object(p, index=True).to_numpy().tobytes())
    return h.hexdigest()


def load_summaries(state: State, key: str | None = None) -> dict | None:
    """{code: {"inputs": opd_inputs, "shown": digest, "forms": {form key: FormSummary}}}
    stored under this key (None: whatever key, the last kept), or None (a miss)."""
    if key is not None and state.get(SUMMARY_KEY) != key:
        return None
    try:
        return {str(code): {"inputs": str(v["inputs"]), "shown": str(v["shown"]),
                            "forms": {str(k): FormSummary.from_json(f) for k, f in v["forms"].items()}}
                for code, v in (state.get(SUMMARIES) or {}).items()}
    except (KeyError, TypeError, ValueError, AttributeError) as e:
        log.warning("ringkasan OPD di state tidak terbaca (%s); dihitung ulang", type(e).__name__)
        return None


def save_summaries(state: State, key: str, summaries: dict) -> None:
    """Key last, as save."""
    state.set(SUMMARY_KEY, None)
    state.set(SUMMARIES, {code: {"inputs": v["inputs"], "shown": v["shown"],
                                 "forms": {k: f.to_json() for k, f in v["forms"].items()}}
                          for code, v in summaries.items()})
    state.set(SUMMARY_KEY, key)
