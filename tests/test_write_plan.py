"""The write plan (cycle/writes.plan_writes) is made column at a time; it must plan
exactly the cells the per-row rule below plans: for each row of the verdicts or of
the sheet, in row order, the status, note and 'Diperiksa' cells whose text differs,
when the row's status or note moved or its inputs were edited since the last write.
The sheet's current cells are hostile: numbers (1 and 1.0 and True alike), blanks,
NaN, dates, padded texts."""
from __future__ import annotations

import datetime as dt

import pandas as pd
from hypothesis import given, settings, strategies as st

from sheets_sync.cycle.writes import plan_writes
from sheets_sync.stores import CellWrite
from sheets_sync.validate.frame import PROBLEM_COLUMNS, FormResult
from sheets_sync.validate.layout import SheetData, row_hashes

HEADERS = {"status": "Status", "message": "Keterangan", "checked": "Diperiksa"}
COLS = {"status": 8, "message": 9, "checked": 10}
NOW = "12/10/2023 10:00"


def reference(sheet: SheetData, res: FormResult, known: set) -> list[CellWrite]:
    """The per-row rule (the plan as it was written before it went column at a time)."""
    def text(v) -> str:
        return "" if v is None or (isinstance(v, float) and v != v) else str(v).strip()
    out = [CellWrite(sheet.title, sheet.header_row, COLS[k], HEADERS[k])
           for k in COLS if sheet.status_header_now.get(k) != HEADERS[k]]
    status = dict(zip(res.status.index.tolist(), res.status.tolist()))
    notes = dict(zip(res.status.index.tolist(), res.notes().tolist()))
    have = {row: tuple(text(v) for v in vals)
            for row, vals in zip(sheet.current.index.tolist(), sheet.current.to_numpy(dtype=object).tolist())}
    hashes = dict(zip(sheet.frame.index.tolist(), row_hashes(sheet.frame)))
    for row in sorted(status.keys() | have.keys()):
        s, n = status.get(row, ""), notes.get(row, "")
        h = have.get(row, ("", "", ""))
        if (s, n) == h[:2] and not (s and hashes.get(row) not in known):
            continue
        for key, value, current in zip(("status", "message", "checked"), (s, n, NOW if s else ""), h):
            if current != value:
                out.append(CellWrite(sheet.title, int(row), COLS[key], value))
    return out


NOTE = "Nomor HP salah"
hostile = [None, float("nan"), 1, 1.0, True, 0, "", "   ", dt.datetime(2023, 10, 12, 10)]
SAME = object()   # the sheet shows what the verdict says (the common case: a row nobody touched)
shown_status = st.sampled_from([SAME, SAME, SAME, SAME, " OK ", "PERIKSA", "ok"] + hostile)
shown_note = st.sampled_from([SAME, SAME, SAME, SAME, "", None, NOTE, f" {NOTE} ", 1, float("nan"), "   "])
shown_checked = st.sampled_from([NOW, f" {NOW}", "11/10/2023 09:00"] + hostile)
row_case = st.tuples(st.booleans(), st.sampled_from(["OK", "PERIKSA", "SALAH"]), st.booleans(),   # in verdicts
                     st.booleans(), shown_status, shown_note, shown_checked,                        # in sheet
                     st.booleans(), st.sampled_from(["Budi", "Ani", 7, None]))                      # known, input


def build(cases) -> tuple[SheetData, FormResult, set]:
    rows = [12 + 2 * i for i in range(len(cases))]   # with gaps, as sheet rows are
    verdict = [(r, c) for r, c in zip(rows, cases) if c[0]]
    shown = [(r, c) for r, c in zip(rows, cases) if c[3]]
    frame = pd.DataFrame({"nama": pd.Series([c[8] for _, c in verdict], index=[r for r, _ in verdict],
                                            dtype=object)})
    status = pd.Series([c[1] for _, c in verdict], index=frame.index, dtype=object)
    problems = pd.DataFrame([(r, "nama", "X", "SALAH", NOTE) for r, c in verdict if c[2]], columns=PROBLEM_COLUMNS)
    current = pd.DataFrame([(c[1] if c[4] is SAME else c[4], (NOTE if c[2] else None) if c[5] is SAME else c[5],
                             c[6]) for _, c in shown], index=[r for r, _ in shown],
                           columns=["status", "message", "checked"], dtype=object)
    hashes = row_hashes(frame)
    known = {h for h, (_, c) in zip(hashes, verdict) if c[7]}
    sheet = SheetData("pegawai", "Pegawai", 11, {"nama": 3}, dict(COLS), frame, current,
                      status_header_now={"status": "Status", "message": "Ket"})
    return sheet, FormResult("pegawai", status, problems, frame), known


@settings(max_examples=300, deadline=None)
@given(st.lists(row_case, min_size=1, max_size=40))
def test_plan_equals_the_per_row_rule(cases):
    sheet, res, known = build(cases)
    assert plan_writes(sheet, res, NOW, known, HEADERS) == reference(sheet, res, known)
    hashes = row_hashes(sheet.frame)
    assert plan_writes(sheet, res, NOW, known, HEADERS, hashes) == reference(sheet, res, known)
    # the hashes given are the ones used: none of these is known, as if no row were
    unknown = [f"lain-{i}" for i in range(len(hashes))]
    assert plan_writes(sheet, res, NOW, known, HEADERS, unknown) == reference(sheet, res, set())


def test_an_edited_row_gets_diperiksa_even_when_its_status_stands():
    sheet, res, known = build([(True, "OK", False, True, "OK", None, "11/10/2023 09:00", False, "Budi")])
    assert plan_writes(sheet, res, NOW, known, HEADERS) == [
        CellWrite("Pegawai", 11, 9, "Keterangan"), CellWrite("Pegawai", 11, 10, "Diperiksa"),
        CellWrite("Pegawai", 12, 10, NOW)]


def test_a_row_that_became_empty_is_cleared_and_numbers_are_not_taken_for_texts():
    sheet, res, known = build([(False, "OK", False, True, 1.0, 1, True, False, None),
                               (True, "OK", False, True, 1, "", None, True, "Ani")])
    got = [(w.row, w.col, w.value) for w in plan_writes(sheet, res, NOW, known, HEADERS) if w.row > 11]
    assert got == [(12, 8, ""), (12, 9, ""), (12, 10, ""), (14, 8, "OK"), (14, 10, NOW)]
