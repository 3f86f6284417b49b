"""Issue 12, Google side: every byte of a request body counts against the 2,000,000-byte
cap (the ', ' between items and the body around them too), and write answers carry no
values beyond the rows a status write must confirm."""
from __future__ import annotations

import json

import pytest

from sheets_sync.forms import load_forms
from sheets_sync.stores import SheetSpec
from sheets_sync.stores.google import MAX_REQUEST_BYTES, GoogleStore, _bodies, _values_body, body_bytes
from sheets_sync.stores.google_http import GoogleSession
from tests.backends import Deployment


def _item(n_bytes: int, i: int) -> dict:
    item = {"range": f"'T'!A{i}", "values": [["x"]]}
    item["values"][0][0] = "x" * (n_bytes - body_bytes(item) + 1)
    assert body_bytes(item) == n_bytes
    return item


def test_items_near_the_cap_are_counted_with_separators_and_body():
    # 20 items of 99,999 bytes: 1,999,980 bytes of items, which the old count let through
    # as one request of over 2,000,000 bytes once the ', ' and the body around them were added
    items = [_item(99_999, i) for i in range(20)]
    bodies = list(_bodies(items, _values_body))
    assert len(bodies) == 2
    assert all(body_bytes(b) <= MAX_REQUEST_BYTES for b in bodies)
    assert [i for b in bodies for i in b["data"]] == items                 # each item once, in order
    assert body_bytes(bodies[0]) == len(json.dumps(bodies[0]).encode())    # what requests sends


def test_one_item_exactly_filling_the_cap_goes_alone():
    envelope = body_bytes(_values_body([]))
    exact = _item(MAX_REQUEST_BYTES - envelope, 1)   # with the body around it: the cap exactly
    bodies = list(_bodies([exact, _item(40, 2)], _values_body))
    assert [body_bytes(b) for b in bodies][0] == MAX_REQUEST_BYTES
    assert len(bodies) == 2


def test_a_body_whose_answer_ranges_grow_with_its_items_is_halved_to_fit():
    items = [_item(50_000, i) for i in range(40)]
    def body_of(chunk):   # asks back one range per item: the body grows past the items' count
        return {"data": chunk, "responseRanges": ["'T'!A1:Z100000" + "0" * 3000 for _ in chunk]}
    bodies = list(_bodies(items, body_of))
    assert all(body_bytes(b) <= MAX_REQUEST_BYTES for b in bodies)
    assert [i for b in bodies for i in b["data"]] == items


def test_master_write_on_the_emulator_sends_bodies_under_the_cap_and_gets_no_values_back(tmp_path, emu):
    sent, answers = [], []

    def session():
        s = GoogleSession(None, sleep=lambda s: None)
        def seen(r, *a, **k):
            sent.append((r.request.method, len(r.request.body or b"")))
            answers.append(r.content)
        s.hooks["response"].append(seen)
        return s
    dep = Deployment("google", tmp_path, emulator=emu, n_opds=1, session_factory=session)
    store = GoogleStore(dep.settings, load_forms(), session=session())
    rows = [[f"OPD{i:05d}", "y" * 400, i] for i in range(6_000)]     # ~2.6 MB of values
    sent.clear(), answers.clear()
    store.write_master([SheetSpec("Uji", ["Kode", "Isi", "No"], rows)])
    posts = [n for m, n in sent if m == "POST"]
    assert len(posts) >= 2 and max(posts) <= MAX_REQUEST_BYTES
    assert all(b"y" * 400 not in a for a in answers)                    # nothing written comes back
    got = store.http.values_get(store.master_id, "'Uji'!A1:C6001")["values"]
    assert len(got) == 6_001 and got[-1][0] == "OPD05999"


def test_status_write_in_chunks_asks_back_only_each_chunks_rows(tmp_path, emu, monkeypatch):
    from sheets_sync.stores import google
    bodies = []

    def session():
        s = GoogleSession(None, sleep=lambda s: None)
        def seen(r, *a, **k):
            if r.request.method == "POST" and ":batchUpdate" in r.request.url and b"responseRanges" in (
                    r.request.body or b""):
                bodies.append(json.loads(r.request.body))
        s.hooks["response"].append(seen)
        return s
    monkeypatch.setattr(google, "MAX_REQUEST_BYTES", 6_000)    # a small cap: the demo OPD's write in chunks
    dep = Deployment("google", tmp_path, emulator=emu, n_opds=1, session_factory=session)
    rep = dep.cycle()
    assert rep.written_cells > 0 and not rep.errors
    assert len(bodies) >= 2
    for body in bodies:
        assert len(json.dumps(body)) <= 6_000
        rows = {r["updateCells"]["start"]["rowIndex"] + 1 for r in body["requests"]}
        asked = set()
        for rng in body["responseRanges"][1:]:                  # the first: the header row
            a, b = (int("".join(ch for ch in part if ch.isdigit())) for part in rng.split("!")[1].split(":"))
            asked |= set(range(a, b + 1))
        assert asked and asked <= rows | {min(rows) - 1}        # its own rows (and the summary line's)
