"""Provisioning for the .xlsx backend: <KODE>.xlsx in the data folder, built and
repaired with openpyxl.

A new workbook and a repaired one go through the same code: an empty book gets
every missing piece added, an existing one only what it lacks. An existing
workbook is inspected in memory (cheap) and saved, atomically, only when something
was missing; one that is open in Excel/LibreOffice is skipped.

Protection here is sheet protection WITHOUT a password: the status columns and the
header rows are locked, the input cells unlocked, so staff can type, insert and
delete rows but do not overwrite the worker's columns by accident. It is a guard
against accidents, not security (anyone can unprotect a sheet without a password).

Long dropdown lists (the 13 expert criteria are ~900 characters, over Excel's 255
limit for an inline list) live in a hidden "Pilihan" tab behind a defined name, so
the validation survives Excel saving the file (cross-sheet references would be
written as an x14 extension openpyxl drops).
"""
from __future__ import annotations

import copy
from pathlib import Path

from openpyxl import Workbook, load_workbook
from openpyxl.formatting.rule import CellIsRule
from openpyxl.styles import Alignment, Font, PatternFill, Protection
from openpyxl.utils import get_column_letter
from openpyxl.workbook.defined_name import DefinedName
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.cell_range import MultiCellRange
from openpyxl.worksheet.protection import SheetProtection

from sheets_sync.progress import progress
from sheets_sync.forms import Form, FormSet, norm_header
from sheets_sync.validate.layout import STATUS_KEYS, Problem
from sheets_sync.provision.spec import (CHOICE_HINT, DATE_HINT, HEADER_ROW, PETUNJUK, PILIHAN, STATUS_COLORS, Layout, OpdResult,
                        Report, column_widths_px, describe, distinct_choices, emit, fresh_layout, on_sheet,
                        found_layout, frozen_columns, link_cell, load_registry, workbook_file, petunjuk_lines, registry_notes,
                        tab_headers, wanted_aspects)
from sheets_sync.validate.registry import Opd
from sheets_sync.stores import StoreError
from sheets_sync.stores.xlsx import XlsxStore, read_grids, new_master, file_revision, describe_error
from sheets_sync.fileio import atomic_save
from sheets_sync.stores.xlsx_write import note_height
from sheets_sync.stores.xlsxio import BOLD, print_to_width, set_value

LAST_ROW = 1048576
TEXT_FORMAT, DATE_FORMAT = "@", "DD/MM/YYYY"
HEADER_FILL = PatternFill("solid", fgColor="EEEEEE")
STATUS_FILL = PatternFill("solid", fgColor="DDEBF7")
UNLOCKED, LOCKED = Protection(locked=False), Protection(locked=True)
# bottom, as Excel/LibreOffice/Sheets align the typed cells by default: a wrapped
# Keterangan ends on its row's line, not at the top of a tall row under the row above
WRAP = Alignment(wrap_text=True, vertical="bottom")
# A bold header wraps at whole words in wider glyphs: it fits fewer characters a line than
# note_height's estimate for typed text ('Tanggal/ Bulan/ Tahun Menggunakan Layanan' took a
# third line, clipped, in LibreOffice).
BOLD_WRAP = 0.8


def xlsx_aspects(form: Form) -> list[str]:
    """Sheet protection covers the header rows and the status columns at once. The view
    (Keterangan wrapped, panes frozen up to the name column) is repaired here only: a
    workbook made before it gets it on the next provision."""
    return [a for a in wanted_aspects(form) if a != "protect:header"] + ["view:wrap", "view:freeze"]


class XlsxProvisioner:
    def __init__(self, settings, forms: FormSet, out=print):
        self.settings, self.forms, self.out = settings, forms, out
        self.store = XlsxStore(settings.data_dir, forms, settings.master, lock_hours=settings.lock_hours)

    # -------------------------------------------------------------- run
    def run(self, *, dry_run: bool = False, registry_csv=None) -> Report:
        rep = Report(dry_run)
        master = self.store.master_path
        sheet = self.forms.registry["sheet"]
        grid = None
        if master.exists():
            try:
                grid = read_grids(master, only=sheet).get(sheet)
            except StoreError as e:
                raise ValueError(f"{master.name}: {e.problem.params.get('alasan', e.problem.code)}") from None
        opds, notes, edit = load_registry(grid or [], self.forms, registry_csv, keep_links=True, out=self.out,
                                          dry_run=dry_run)
        opds = self.store.contain(opds)   # outside the data folder, the master, two OPDs on one file: refused
        rep.notes += notes + registry_notes(opds)
        if not dry_run:
            self.store.dir.mkdir(parents=True, exist_ok=True)
        for opd in progress(opds, len(opds), "menyiapkan workbook"):
            res = self._one(opd, edit, dry_run)
            rep.results.append(res)
            self.out(res.line(dry_run))
        self._write_master(master, grid is None, edit, rep, dry_run)
        emit(rep, self.out)
        return rep

    def _one(self, opd: Opd, edit, dry_run: bool) -> OpdResult:
        where = self.store.locate(opd) if not opd.refused else opd.refused
        if isinstance(where, Problem):    # never created, opened or saved
            return OpdResult(opd.code, "failed", [where.text()])
        if not opd.forms:
            return OpdResult(opd.code, "skipped", ["kolom Formulir tidak menyebut formulir yang dikenal"])
        name = opd.location or workbook_file(opd)
        path = where
        if path.suffix.lower() not in (".xlsx", ".xlsm"):
            return OpdResult(opd.code, "failed", [f"{name} bukan berkas .xlsx"])
        if not opd.location:
            link_cell(edit, self.forms, opd, name)
        rev = file_revision(path)
        if rev is None:
            book = Workbook()
            done = provision_book(book, opd, self.forms, self.settings, new=True)
            if not dry_run:
                path.parent.mkdir(parents=True, exist_ok=True)
                atomic_save(book, path)
            tabs = ", ".join(self.forms[k].sheet for k in opd.forms)
            return OpdResult(opd.code, "created", [f"{name} (tab {tabs} + {PETUNJUK})"] + done, name)
        if self.store.locked(path):
            return OpdResult(opd.code, "skipped", [f"{name} sedang dibuka di Excel/LibreOffice; "
                                                   f"jalankan lagi setelah ditutup"])
        try:
            book = load_workbook(path, keep_vba=path.suffix.lower() == ".xlsm", rich_text=True)
        except Exception as e:  # noqa: BLE001 - a broken file is this OPD's problem
            return OpdResult(opd.code, "failed", [f"{name}: {describe_error(e)}"])
        done = provision_book(book, opd, self.forms, self.settings, new=False)
        changes = [d for d in done if not d.startswith("!")]
        notes = [d[1:] for d in done if d.startswith("!")]
        if not changes:
            return OpdResult(opd.code, "unchanged", notes, name)
        if not dry_run:
            def unchanged():
                if file_revision(path) != rev:
                    raise StoreError(Problem("WB_CHANGED"))
            try:
                atomic_save(book, path, before_replace=unchanged)
            except StoreError:
                return OpdResult(opd.code, "skipped", [f"{name} berubah selama diperiksa; jalankan lagi"])
            except OSError as e:
                return OpdResult(opd.code, "failed", [f"{name}: {describe_error(e)}"])
        return OpdResult(opd.code, "repaired", changes + notes, name)

    def _write_master(self, master: Path, no_registry_tab: bool, edit, rep: Report, dry_run: bool) -> None:
        if not edit.cells and master.exists() and not no_registry_tab:
            return
        if dry_run:
            rep.notes.append(f"{master.name}: Daftar OPD akan diperbarui ({len(edit.cells)} sel).")
            return
        if master.exists() and self.store.locked(master):
            rep.notes.append(f"{master.name} sedang dibuka: Daftar OPD tidak diperbarui; jalankan lagi "
                             f"setelah ditutup.")
            return
        rev = file_revision(master)
        book = load_workbook(master, rich_text=True) if rev else new_master(self.forms)
        sheet = self.forms.registry["sheet"]
        ws = book[sheet] if sheet in book.sheetnames else book.create_sheet(sheet, 0)
        for (r, c), v in sorted(edit.cells.items()):
            cell = set_value(ws, r, c, v)
            if r == 1 and edit.bootstrapped:
                cell.font = BOLD

        def unchanged():
            if file_revision(master) != rev:
                raise StoreError(Problem("WB_CHANGED"))
        try:
            atomic_save(book, master, before_replace=unchanged if rev else None)
        except StoreError:
            rep.notes.append(f"{master.name} berubah selama provision: Daftar OPD tidak diperbarui; jalankan lagi.")
            return
        what = "dibuat" if not rev else "diperbarui"
        rep.notes.append(f"{master.name}: Daftar OPD {what} ({len(edit.cells)} sel ditulis).")


# ---------------------------------------------------------------- workbook
def provision_book(book, opd: Opd, forms: FormSet, settings, *, new: bool) -> list[str]:
    """Add whatever this OPD's workbook lacks; returns what was done (Indonesian;
    entries starting with "!" are notes, not changes). Never changes an input value."""
    done: list[str] = []
    default = book.worksheets[0] if new else None
    if not any(norm_header(ws.title) == norm_header(PETUNJUK) for ws in book.worksheets):
        _petunjuk(book.create_sheet(PETUNJUK, 0), petunjuk_lines(settings, forms, opd.forms))
        if not new:
            done.append(f"tab {PETUNJUK} dibuat")
    names = _choice_lists(book, forms, opd.forms, done, new)
    for key in opd.forms:
        form = forms[key]
        title = form.sheet_in(book.sheetnames)   # its own name before an alias, as the cycle reads it
        ws = book[title] if title is not None else None
        created = ws is None
        if created:
            ws = _new_form_tab(book, form, forms)
            lay = fresh_layout(form)
        else:
            found = found_layout(_top_grid(ws), form, forms, ws.title)
            if isinstance(found, Problem):
                done.append(f"!tab {ws.title}: judul kolom tidak dikenali, tidak diperbaiki")
                continue
            lay = found
        missing = [a for a in on_sheet(xlsx_aspects(form), lay) if not _has(ws, form, lay, a)]
        _apply(ws, form, lay, missing, names)
        if created and not new:
            done.append(f"tab {form.sheet} dibuat")
        elif missing and not created:
            done.append(f"tab {ws.title}: " + ", ".join(describe(missing, form)))
    if default is not None:
        book.remove(default)
    _order(book)
    return done


def _order(book) -> None:
    """Petunjuk first, the hidden Pilihan last; the rest as they are."""
    sheets = list(book.worksheets)
    first = [s for s in sheets if s.title == PETUNJUK]
    last = [s for s in sheets if s.title == PILIHAN]
    for i, ws in enumerate(first + [s for s in sheets if s not in first and s not in last] + last):
        book.move_sheet(ws, offset=i - book.worksheets.index(ws))
    book.active = 0
    for ws in book.worksheets:
        ws.sheet_view.tabSelected = ws is book.worksheets[0]


def _petunjuk(ws, lines: list[str]) -> None:
    ws.column_dimensions["A"].width = 70     # A4 portrait: LibreOffice does not shrink a wider one
    for r, line in enumerate(lines, start=1):
        heading = line.startswith("# ")
        cell = set_value(ws, r, 1, line[2:] if heading else line) if line else None
        if cell is not None:
            cell.alignment = Alignment(wrap_text=True, vertical="top")
            if heading:
                cell.font = Font(bold=True, size=13 if r == 1 else 11)
            # LibreOffice keeps the default height of a row from openpyxl: a wrapped
            # line would be drawn over the next one
            ws.row_dimensions[r].height = note_height(line, 70)
    print_to_width(ws, landscape=False)


def _new_form_tab(book, form: Form, forms: FormSet):
    ws = book.create_sheet(form.sheet)
    set_value(ws, 1, 1, form.title).font = Font(bold=True, size=12)
    headers = tab_headers(form, forms)
    n = len(form.columns)
    for c, h in enumerate(headers, start=1):
        cell = set_value(ws, 2, c, h)
        cell.font = BOLD
        cell.alignment = Alignment(wrap_text=True, vertical="center")
        cell.fill = STATUS_FILL if c > n else HEADER_FILL
    for c, px in enumerate(column_widths_px(form), start=1):
        _col(ws, c).width = round(px / 7, 1)
    # the header row tall enough for its wrapped headers (Excel/LibreOffice do not fit it on opening)
    heights = [note_height(h, round(px / 7, 1) * BOLD_WRAP) for h, px in zip(headers, column_widths_px(form))]
    ws.row_dimensions[HEADER_ROW].height = max([h for h in heights if h] + [None], key=lambda h: h or 0)
    # Keterangan wraps (the column's style: the worker's status cells take it), its
    # rows grow to fit since no row gets a fixed height
    _col(ws, n + 1 + STATUS_KEYS.index("message")).alignment = WRAP
    ws.freeze_panes = f"{get_column_letter(frozen_columns(form) + 1)}{HEADER_ROW + 1}"
    print_to_width(ws)
    ws.print_title_rows = f"{HEADER_ROW}:{HEADER_ROW}"
    return ws


def _choice_lists(book, forms: FormSet, form_keys, done: list, new: bool) -> dict[tuple, str]:
    """The hidden Pilihan tab and one defined name per choice column; rewritten
    (it is ours, not data) when missing or when forms.yaml's choices changed."""
    lists = [(forms[k], c) for k in form_keys for c in forms[k].columns if c.type == "choice"]
    if not lists:
        return {}
    names = {(f.key, c.key): f"pilihan_{f.key}_{c.key}" for f, c in lists}
    want = {names[(f.key, c.key)]: (c.header, distinct_choices(c)) for f, c in lists}
    ws = book[PILIHAN] if PILIHAN in book.sheetnames else None
    current = {}
    if ws is not None:
        cols = {ws.cell(1, c).value: c for c in range(1, ws.max_column + 1)}
        for name, (header, _) in want.items():
            c = cols.get(name)
            if c:
                current[name] = (header, [v for v in (ws.cell(r, c).value for r in range(2, ws.max_row + 1)) if v])
    ok = ws is not None and current == want and all(
        n in book.defined_names and book.defined_names[n].attr_text == _list_ref(i, len(want[n][1]))
        for i, n in enumerate(want, start=1))
    if ok:
        return names
    if ws is not None:
        book.remove(ws)
    ws = book.create_sheet(PILIHAN)
    ws.sheet_state = "hidden"
    for i, (name, (header, choices)) in enumerate(want.items(), start=1):
        ws.cell(1, i).value = name
        for r, v in enumerate(choices, start=2):
            set_value(ws, r, i, v)
        _col(ws, i).width = 60
        book.defined_names[name] = DefinedName(name, attr_text=_list_ref(i, len(choices)))
    ws.protection = SheetProtection(sheet=True)
    if not new:
        done.append(f"daftar pilihan (tab {PILIHAN}) dibuat ulang")
    return names


def _list_ref(col: int, n: int) -> str:
    letter = get_column_letter(col)
    return f"{PILIHAN}!${letter}$2:${letter}${n + 1}"


# ---------------------------------------------------------------- aspects
def _top_grid(ws) -> list[list]:
    """Every cell value of a tab as a grid, from the cells that exist (iterating a
    range would create empty cells); rich text as plain text."""
    from openpyxl.cell.rich_text import CellRichText

    rows: dict[int, dict[int, object]] = {}
    for (r, c), cell in ws._cells.items():
        v = cell.value
        if v is not None:
            rows.setdefault(r, {})[c] = str(v) if isinstance(v, CellRichText) else v
    grid = []
    for r in range(1, max(rows, default=0) + 1):
        cells = rows.get(r) or {}
        row = [None] * max(cells, default=0)
        for c, v in cells.items():
            row[c - 1] = v
        grid.append(row)
    return grid


def _has(ws, form: Form, lay: Layout, aspect: str) -> bool:
    kind, _, key = aspect.partition(":")
    first = lay.header_row + 1
    if kind == "format":
        col = form.column(key)
        fmt = _col_format(ws, lay.columns[key])
        return fmt == TEXT_FORMAT if col.type == "phone" else ("d" in fmt.lower() and "y" in fmt.lower())
    if kind == "validation":
        want = "list" if form.column(key).type == "choice" else "date"
        coord = f"{get_column_letter(lay.columns[key])}{first}"
        return any(dv.type == want and coord in dv.sqref for dv in ws.data_validations.dataValidation)
    if aspect == "protect:status":
        return bool(ws.protection.sheet)
    if aspect == "view:wrap":
        return _col_alignment(ws, lay.status["message"]).wrap_text is True
    if aspect == "view:freeze":   # the old default (header rows only) is repaired; any other
        return ws.freeze_panes != f"A{first}"   # choice, none included, is a person's and kept
    if kind == "cf":
        coord = f"{get_column_letter(lay.status['status'])}{first}"
        return any(coord in cf.sqref and any(rule.formula == [f'"{key}"'] for rule in cf.rules)
                   for cf in ws.conditional_formatting)
    return True


def _apply(ws, form: Form, lay: Layout, aspects: list[str], names: dict) -> None:
    first = lay.header_row + 1
    for aspect in aspects:
        kind, _, key = aspect.partition(":")
        if kind == "format":
            col = form.column(key)
            _col(ws, lay.columns[key]).number_format = TEXT_FORMAT if col.type == "phone" else DATE_FORMAT
        elif kind == "validation":
            c = lay.columns[key]
            _drop_overlap(ws, c, first)
            letter = get_column_letter(c)
            ws.add_data_validation(_validation(form, key, names, f"{letter}{first}:{letter}{LAST_ROW}"))
        elif aspect == "protect:status":
            _protect(ws, lay)
        elif aspect == "view:wrap":
            _col(ws, lay.status["message"]).alignment = WRAP
        elif aspect == "view:freeze":
            name = next((c.key for c in form.columns[:frozen_columns(form)][::-1] if c.key in lay.columns), None)
            ws.freeze_panes = f"{get_column_letter(lay.columns[name] + 1 if name else 1)}{first}"
        elif kind == "cf":
            letter = get_column_letter(lay.status["status"])
            fill, font = STATUS_COLORS[key]
            ws.conditional_formatting.add(f"{letter}{first}:{letter}{LAST_ROW}", CellIsRule(
                operator="equal", formula=[f'"{key}"'], fill=PatternFill("solid", start_color=fill, end_color=fill),
                font=Font(color=font, bold=True)))


def _drop_overlap(ws, col: int, first: int) -> None:
    """What is left of an older validation in this column below the first data row
    is covered by the new one: drop it, Excel refuses overlapping validations."""
    for dv in list(ws.data_validations.dataValidation):
        keep = [r for r in dv.sqref.ranges if not (r.min_col == r.max_col == col and r.min_row >= first)]
        if len(keep) == len(dv.sqref.ranges):
            continue
        if keep:
            dv.sqref = MultiCellRange([r.coord for r in keep])
        else:
            ws.data_validations.dataValidation.remove(dv)


def _validation(form: Form, key: str, names: dict, sqref: str) -> DataValidation:
    col = form.column(key)
    if col.type == "choice":
        return DataValidation(type="list", formula1=names[(form.key, key)], allow_blank=True,
                              showInputMessage=True, promptTitle=col.header[:32], prompt=CHOICE_HINT,
                              showErrorMessage=True, errorStyle="warning", errorTitle="Bukan pilihan daftar",
                              error="Isian ini tidak ada di daftar pilihan. Lanjutkan hanya bila yakin.", sqref=sqref)
    return DataValidation(type="date", operator="greaterThanOrEqual", formula1="1", allow_blank=True,
                          showInputMessage=True, promptTitle="Tanggal (dd/mm/yyyy)", prompt=DATE_HINT,
                          showErrorMessage=True, errorStyle="warning", errorTitle="Bukan tanggal",
                          error=f"Isian ini tidak terbaca sebagai tanggal. {DATE_HINT}", sqref=sqref)


def _protect(ws, lay: Layout) -> None:
    """Lock the status columns and header rows, unlock every input cell, protect the
    sheet without a password: a guard against accidents, not security."""
    first = lay.header_row + 1
    lo, hi = lay.input_span
    for c in range(lo, hi + 1):
        _col(ws, c).protection = UNLOCKED
    for (r, c), cell in list(ws._cells.items()):
        if r >= first and lo <= c <= hi and cell.protection.locked:
            cell.protection = UNLOCKED
        elif c in lay.status.values() and r >= first and not cell.protection.locked:
            cell.protection = LOCKED
    ws.protection = SheetProtection(sheet=True, formatCells=True, formatColumns=False, formatRows=False,
                                    insertRows=False, deleteRows=False, sort=False, autoFilter=False)


def _col_alignment(ws, c: int):
    for d in ws.column_dimensions.values():
        lo, hi = d.min or 0, d.max or 0
        if lo <= c <= hi:
            return d.alignment
    return Alignment()


def _col_format(ws, c: int) -> str:
    for d in ws.column_dimensions.values():
        lo, hi = d.min or 0, d.max or 0
        if lo <= c <= hi:
            return d.number_format or "General"
    return "General"


def _col(ws, c: int):
    """The column dimension of exactly column c, splitting a grouped <col min max>
    so that changing one column does not change its neighbours (or overlap them)."""
    letter = get_column_letter(c)
    for key, d in list(ws.column_dimensions.items()):
        lo, hi = d.min or 0, d.max or 0
        if lo <= c <= hi and lo != hi:
            del ws.column_dimensions[key]
            for a, b in ((lo, c - 1), (c, c), (c + 1, hi)):
                if a <= b:
                    nd = copy.copy(d)
                    nd.index, nd.min, nd.max = get_column_letter(a), a, b
                    ws.column_dimensions[get_column_letter(a)] = nd
            break
    d = ws.column_dimensions[letter]
    d.min = d.max = c
    return d
