"""The write plan: which status cells of one tab must change so that the sheet
shows the verdicts. Pure: the tab as read and its final verdicts in, CellWrites out."""
from __future__ import annotations

import hashlib
import json
import re

import numpy as np
import pandas as pd

from sheets_sync.stores import CellWrite
from sheets_sync.validate.fields import types_of
from sheets_sync.validate.frame import FormResult
from sheets_sync.validate.layout import STATUS_KEYS, SheetData, row_hashes
from sheets_sync.validate.opd_state import first_cell


def shown(results: dict[str, FormResult]) -> str:
    """What the status cells should say (form -> row -> status, note), as one digest:
    the cycle only asks whether it moved, and a digest keeps the notes (which may quote
    a cell) out of the state database."""
    if not results:
        return ""      # as a memory that never showed anything
    h = hashlib.sha256()
    for k in sorted(results):
        r = results[k]
        h.update(json.dumps([k, r.status.index.tolist(), r.status.tolist(), r.notes().tolist()],
                            ensure_ascii=False, default=str).encode("utf-8"))
    return h.hexdigest()


def plan_writes(sheet: SheetData, res: FormResult, now_text: str, known: set, headers: dict,
                hashes: list[str] | None = None) -> list[CellWrite]:
    """Status cells that differ from what the sheet shows, plus 'Diperiksa' for
    rows that changed. Rows that became empty get their old status cleared.
    hashes: row_hashes(sheet.frame) when the caller has them (they are the costly part).

    Column at a time: only the rows that need a write are visited in Python."""
    sc = sheet.status_columns
    out = [CellWrite(sheet.title, sheet.header_row, sc[k], headers[k])
           for k in sc if sheet.status_header_now.get(k) != headers[k]]
    rows = res.status.index.union(sheet.current.index)
    s = _aligned(res.status, rows)
    n = _aligned(res.notes(), rows)
    cur = sheet.current.reindex(rows)
    have = [_texts(cur.iloc[:, j].to_numpy(dtype=object)) for j in range(len(STATUS_KEYS))]
    hashes = row_hashes(sheet.frame) if hashes is None else hashes
    unseen = ~pd.Series(hashes, index=sheet.frame.index, dtype=object).reindex(rows).isin(known).to_numpy()
    edited = (s != "") & unseen
    need = np.flatnonzero(edited | (s != have[0]) | (n != have[1]))
    if not len(need):
        return out
    want = (s[need], n[need], np.where(s[need] != "", now_text, ""))
    cols = [sc[k] for k in STATUS_KEYS]
    for i, row in enumerate(rows[need].tolist()):
        for j, col in enumerate(cols):
            if have[j][need[i]] != want[j][i]:
                out.append(CellWrite(sheet.title, int(row), col, want[j][i]))
    return out


def _aligned(values: pd.Series, rows: pd.Index) -> np.ndarray:
    """The texts of a verdict column on these rows ('' where it has none)."""
    return values.reindex(rows).fillna("").to_numpy(dtype=object)


def _texts(values: np.ndarray) -> np.ndarray:
    """_text of each value: text cells (nearly all) stripped once per distinct text,
    the rest (blanks, numbers, dates a person typed) one by one."""
    out = np.empty(len(values), dtype=object)
    is_str = types_of(values) == str
    if is_str.any():
        codes, uniques = pd.factorize(values[is_str])
        out[is_str] = np.array([u.strip() for u in uniques.tolist()], dtype=object)[codes]   # exact str: no NA code
    other = np.flatnonzero(~is_str)
    out[other] = [_text(v) for v in values[other].tolist()]
    return out


# The one line above the Status header: a summary of the tab, or why its statuses stopped
# moving. The worker writes there only when the cell is empty or holds one of these (so
# it never overwrites what a person typed), and only beside other status writes of the
# tab, or to replace a notice or a summary whose counts moved: a tab nobody edits is not
# written every cycle, and an empty tab gets no "0 baris" write of its own.
NOTICE_PREFIX = "PERHATIAN: status di tab ini tidak diperbarui."
_SUMMARY = re.compile(r"\d{1,7} baris: \d{1,7} OK, \d{1,7} PERIKSA, \d{1,7} SALAH")


def ours(value) -> bool:
    """Whether the cell above the header holds nothing or a line this worker wrote."""
    text = _text(value)
    return not text or text.startswith(NOTICE_PREFIX) or _SUMMARY.match(text) is not None


ATTENTION = " PERHATIAN: "   # after the counts: a problem found beside the tab's rows (a renamed No HP header)


def summary_text(res: FormResult, now_text: str, problems=()) -> str:
    c = res.counts()
    line = f"{sum(c.values())} baris: {c['OK']} OK, {c['PERIKSA']} PERIKSA, {c['SALAH']} SALAH — diperiksa {now_text}"
    return line + "".join(f"{ATTENTION}{_short(p)}" for p in problems)


def _short(p) -> str:
    """A problem as the line above Status says it: short, since a long text in that one
    unwrapped cell widens the printed page (the Rekap and the e-mail give the whole text)."""
    if p.code == "HEADER_UNKNOWN":
        return f"ganti judul '{p.params['judul']}' menjadi '{p.params['kolom']}'."
    return p.text()


def _attention(text: str) -> str:
    """What a summary line says after its counts and time ('' when nothing)."""
    at = text.find(ATTENTION)
    return text[at:] if at >= 0 else ""


def summary_write(sheet: SheetData, res: FormResult, now_text: str, others: bool) -> list[CellWrite]:
    """The tab's summary line, when it may go there and has something new to say."""
    if sheet.above is None or not ours(sheet.above[2]):
        return []
    row, col, now = sheet.above
    text = summary_text(res, now_text, sheet.problems)
    if not others:
        shown_now = _text(now)
        counts = _SUMMARY.match(shown_now)
        news = shown_now.startswith(NOTICE_PREFIX) or _attention(shown_now) != _attention(text) or (
            counts is not None and counts.group(0) != _SUMMARY.match(text).group(0))
        if not news:
            return []
    return [CellWrite(sheet.title, row, col, text, optional=True)]


def notice_writes(notices: dict) -> list[CellWrite]:
    """A broken tab (a header renamed, columns moved) says so in its own sheet."""
    out = []
    for title, (row, col, now, problem) in notices.items():
        text = f"{NOTICE_PREFIX} {problem.text()}"
        if ours(now) and _text(now) != text:
            out.append(CellWrite(title, row, col, text, optional=True))
    return out


def first_problem(results: dict[str, FormResult], form_keys) -> tuple[str, int, str | None] | None:
    """(form key, sheet row, column key) of the cell a link should open: the first SALAH
    row of the first form that has one, else the first PERIKSA row; None when all is OK
    (opd_state.first_problem_in gives the same from the forms' summaries)."""
    for wanted in ("SALAH", "PERIKSA"):
        for key in form_keys:
            cell = first_cell(results.get(key), wanted)
            if cell is not None:
                return key, cell[0], cell[1]
    return None


def _text(v) -> str:
    return "" if v is None or (isinstance(v, float) and v != v) else str(v).strip()
