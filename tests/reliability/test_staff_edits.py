"""Staff editing while the worker runs, on both backends.

Edits as people make them: rows inserted above the data, rows sorted (whole rows, or
only the form's columns), a cell fixed. They land between the worker's read and its
write (the store's read is wrapped to edit the workbook right after reading it), or
between two cycles. Then:
- no input cell is ever overwritten: the form's columns are exactly as staff left them;
- after the next cycle every status belongs to the row it describes: the verdicts are
  recomputed from the workbooks as they now are (validate each form, cross-OPD
  duplicates) and compared row by row with the Status and Keterangan cells.
"""
from __future__ import annotations

import datetime as dt

import pytest

from tests.backends import AS_OF, Deployment

from .helpers import store_for, verdicts_misaligned

FORM, TAB = "pegawai", "Pegawai"


@pytest.fixture(params=["xlsx", "google"])
def dep(request, tmp_path, monkeypatch):
    if request.param == "xlsx":
        yield Deployment("xlsx", tmp_path, n_opds=3)
        return
    from sheets_sync.stores.google_http import GoogleSession
    from tests.google_emulator import start_emulator
    with start_emulator() as emu:
        monkeypatch.setenv("SHEETS_EMULATOR_HOST", f"127.0.0.1:{emu.port}")
        yield Deployment("google", tmp_path, emulator=emu, n_opds=3,
                         session_factory=lambda: GoogleSession(None, sleep=lambda s: None))


# ------------------------------------------------------------------ looking and editing
def sheet_of(dep, opd):
    store, _ = store_for(dep.settings)
    return store.read_workbook(opd).sheets[FORM]


def target(dep):
    """The OPD with the most Pegawai rows."""
    best = max((o for o in dep.opds() if FORM in o.forms), key=lambda o: len(sheet_of(dep, o).frame))
    assert len(sheet_of(dep, best).frame) >= 5
    return best


def grid(dep, opd) -> list[list]:
    rows = dep.grids(opd)[TAB]
    width = max((len(r) for r in rows), default=0)
    return [list(r) + [None] * (width - len(r)) for r in rows]


def write_grid(dep, opd, new: list[list], old_rows: int) -> None:
    """Replace the tab's values as a person (or a sort) would leave them."""
    width = max(len(r) for r in new)
    rows = [list(r) + [None] * (width - len(r)) for r in new]
    rows += [[None] * width for _ in range(max(0, old_rows - len(rows)))]
    if dep.kind == "xlsx":
        import openpyxl
        path = dep.settings.data_dir / opd.location
        book = openpyxl.load_workbook(path)
        ws = book[TAB]
        for r, values in enumerate(rows, start=1):
            for c, v in enumerate(values, start=1):
                ws.cell(row=r, column=c).value = v
        book.save(path)
        return
    from sheets_sync.stores.google import col_letter, quote
    values = [["" if v is None else v for v in r] for r in rows]
    dep._google_store(staff=True).http.values_batch_update(dep._sid(opd), {"valueInputOption": "RAW", "data": [
        {"range": f"{quote(TAB)}!A1:{col_letter(width)}{len(values)}", "values": values}]})


def insert_above(dep, opd, sheet, n: int = 2) -> None:
    g = grid(dep, opd)
    first = sheet.header_row            # 0-based index of the first data row
    new = []
    for i in range(n):
        row = list(g[first])
        row[sheet.columns["nama"] - 1] = f"Pegawai Baru {i}"
        row[sheet.columns["no_hp"] - 1] = f"0813-7777-{i:04d}"
        row[sheet.columns["email"] - 1] = f"pegawai.baru{i}@contoh.go.id"
        for col in sheet.status_columns.values():
            row[col - 1] = None
        new.append(row)
    write_grid(dep, opd, g[:first] + new + g[first:], len(g))


def sort_rows(dep, opd, sheet, inputs_only: bool) -> None:
    """Sort the data rows by name, descending: whole rows (status moves along) or only
    the form's columns (a range selected without the status columns)."""
    g = grid(dep, opd)
    first = sheet.header_row
    data = [r for r in g[first:] if any(v not in (None, "") for v in r)]
    name = sheet.columns["nama"] - 1
    ordered = sorted(data, key=lambda r: str(r[name] or ""), reverse=True)
    assert ordered != data
    if inputs_only:
        cols = [c - 1 for c in sheet.columns.values()]
        ordered = [[(o if i in cols else d[i]) for i, o in enumerate(orow)] for orow, d in zip(ordered, data)]
    write_grid(dep, opd, g[:first] + ordered, len(g))


def change_cell(dep, opd, sheet) -> None:
    row = int(sheet.frame.index[1])
    dep.set_cell(opd, TAB, row, sheet.columns["no_hp"], "0736-21234")       # a landline now: SALAH


EDITS = {
    "insert_above": lambda dep, opd, sheet: insert_above(dep, opd, sheet),
    "sort_whole_rows": lambda dep, opd, sheet: sort_rows(dep, opd, sheet, inputs_only=False),
    "sort_inputs_only": lambda dep, opd, sheet: sort_rows(dep, opd, sheet, inputs_only=True),
    "change_cell": change_cell,
}


def input_cells(dep) -> dict:
    """{(opd, tab, row, col): value} of every form column of every OPD."""
    out = {}
    for o in dep.opds():
        store, _ = store_for(dep.settings)
        wb = store.read_workbook(o)
        g = dep.grids(o)
        for sheet in wb.sheets.values():
            cols = list(sheet.columns.values())
            for r, row in enumerate(g[sheet.title], start=1):
                for c in cols:
                    v = row[c - 1] if c - 1 < len(row) else None
                    out[(o.code, sheet.title, r, c)] = None if v in ("", None) else v
    return out


def misaligned(dep, as_of=AS_OF) -> list:
    return verdicts_misaligned(dep.settings, as_of)


# ------------------------------------------------------------------ tests
@pytest.mark.parametrize("edit", list(EDITS))
def test_edit_between_read_and_write(dep, edit, monkeypatch):
    opd = target(dep)
    sheet = sheet_of(dep, opd)
    store_cls = type(store_for(dep.settings)[0])
    real = store_cls.read_workbook
    done = []

    def read_then_edit(self, o):
        wb = real(self, o)
        if o.code == opd.code and not done:
            done.append(True)
            EDITS[edit](dep, opd, sheet)              # staff save right after the worker's read
        return wb

    monkeypatch.setattr(store_cls, "read_workbook", read_then_edit)
    dep.cycle()
    monkeypatch.setattr(store_cls, "read_workbook", real)
    assert done
    from sheets_sync.cycle.state import State
    state = State(dep.settings.state_db)
    try:                                                   # the edit was seen: nothing written there
        assert [p.code for p in state.opd(opd.code).problems] == ["WB_CHANGED"]
    finally:
        state.close()
    after_edit = input_cells(dep)                          # what staff left (the cycle wrote no input)
    dep.cycle()
    assert input_cells(dep) == after_edit
    dep.cycle()                                            # the write of our own statuses is read back
    assert input_cells(dep) == after_edit
    assert misaligned(dep) == []


@pytest.mark.parametrize("edit", list(EDITS))
def test_edit_between_cycles(dep, edit):
    dep.cycle()
    opd = target(dep)
    EDITS[edit](dep, opd, sheet_of(dep, opd))
    edited = input_cells(dep)
    dep.cycle()
    assert input_cells(dep) == edited
    assert misaligned(dep) == []


def test_no_input_cell_is_overwritten_on_a_cold_cycle(dep):
    before = input_cells(dep)
    dep.cycle()
    dep.cycle()
    assert input_cells(dep) == before
    assert misaligned(dep) == []
    assert misaligned(dep, dt.date(2023, 12, 1)) != []     # the check is not vacuous: another day, other verdicts


def test_edit_at_the_last_moment_before_the_write(dep, monkeypatch):
    """The tightest window: a cell changed after the stale check, while the worker
    writes. .xlsx: the save is abandoned (the workbook changed since it was read).
    Google (no write precondition in the Sheets API): the status cells are written,
    never an input cell, and the next cycle puts the changed row right."""
    opd = target(dep)
    sheet = sheet_of(dep, opd)
    store_cls = type(store_for(dep.settings)[0])
    real = store_cls.write_cells
    done = []

    def edit_then_write(self, o, wb, writes):
        if o.code == opd.code and not done:
            done.append(True)
            change_cell(dep, opd, sheet)
        return real(self, o, wb, writes)

    monkeypatch.setattr(store_cls, "write_cells", edit_then_write)
    dep.cycle()
    monkeypatch.setattr(store_cls, "write_cells", real)
    assert done
    edited = input_cells(dep)
    assert edited[(opd.code, TAB, int(sheet.frame.index[1]), sheet.columns["no_hp"])] == "0736-21234"
    dep.cycle()
    dep.cycle()
    assert input_cells(dep) == edited
    assert misaligned(dep) == []
