"""A folder of .xlsx workbooks: the embedded default that needs no account.

data/
  master.xlsx      "Daftar OPD" (the registry, edited by the Inspektorat) + the
                   tabs the worker writes (Rekap, Masalah, one per form...)
  <KODE>.xlsx      one workbook per OPD, a tab per form that applies

A workbook's revision is its (mtime, size). Writes go to a temporary file that
replaces the original atomically, and only if the original did not change since
it was read and no Excel/LibreOffice lock file says someone has it open.
"""
from __future__ import annotations

import logging
import os
import zipfile
from pathlib import Path

from openpyxl import Workbook as NewBook
from openpyxl import load_workbook

from sheets_sync.codes import explain
from sheets_sync.forms import FormSet
from sheets_sync.validate.layout import Problem
from sheets_sync.validate.registry import Opd, parse_registry, safe_file_name, shown_value, unsafe_location
from sheets_sync.fileio import atomic_save
from sheets_sync.stores.xlsxio import BOLD, set_value, write_table
from sheets_sync.stores import CellWrite, SheetSpec, StoreError, Workbook, workbook_from_grids

log = logging.getLogger(__name__)


class XlsxStore:
    name = "xlsx"
    parallel = 1   # openpyxl is CPU-bound: threads would only contend for the GIL

    def __init__(self, data_dir, forms: FormSet, master: str = "master.xlsx"):
        self.dir = Path(data_dir)
        self.forms = forms
        self.master_path = self.dir / master

    # ------------------------------------------------------------ registry
    def read_registry(self):
        sheet = self.forms.registry["sheet"]
        if not self.master_path.exists():
            return [], [f"Workbook master {self.master_path} tidak ditemukan."]
        try:
            grid = read_grids(self.master_path, only=sheet).get(sheet)
        except StoreError as e:   # name the file: the same text is used for OPD workbooks
            e.problem.params["alasan"] = f"{self.master_path.name}: {e.problem.params.get('alasan', '')}"
            raise
        if grid is None:
            return [], [f"Tab '{sheet}' tidak ada di {self.master_path.name}."]
        opds, notes = parse_registry(grid, self.forms)
        return self.contain(opds), notes

    # ---------------------------------------------------------- containment
    def contain(self, opds: list[Opd]) -> list[Opd]:
        """The registry's OPDs, each refused (a codes.REFUSED problem on it) whose
        workbook is not a file of its own inside the data folder: a path leading out
        (.., absolute, a symlink to elsewhere), the master, or the file of another OPD
        (both rows are refused: which one is right is for the Inspektorat to say)."""
        located = [(o, self.locate(o)) for o in opds]
        owners: dict = {}
        for o, where in located:
            if isinstance(where, Path):
                owners.setdefault(_identity(where), []).append(o.code)
        out = []
        for o, where in located:
            if isinstance(where, Problem):
                o = o if o.refused else o.with_problem(where)
            elif len(owners[_identity(where)]) > 1:
                others = ", ".join(c for c in owners[_identity(where)] if c != o.code)
                o = o.with_problem(Problem("REG_LOCATION_SHARED", {"baris": o.row, "opd": others}))
            out.append(o)
        return out

    def locate(self, opd: Opd) -> Path | Problem:
        """The OPD's workbook, resolved (symlinks followed) and inside the data folder,
        or the Problem that refuses it."""
        if opd.refused:
            return opd.refused
        name = opd.location or safe_file_name(opd.code)
        outside = Problem("REG_LOCATION_OUTSIDE", {"baris": opd.row, "lokasi": shown_value(name),
                                                   "contoh": safe_file_name(opd.code)})
        if unsafe_location(name):
            return outside
        try:
            root = self.dir.resolve()
            target = (self.dir / name).resolve()
        except (OSError, RuntimeError):   # a symlink loop
            return outside
        if target == root or not target.is_relative_to(root):
            return outside
        if target == self.master_path.resolve() or _same_file(target, self.master_path):
            return Problem("REG_LOCATION_MASTER", {"baris": opd.row})
        return target

    def path(self, opd: Opd) -> Path:
        """The OPD's workbook; StoreError if the registry row is refused."""
        where = self.locate(opd)
        if isinstance(where, Problem):
            raise StoreError(where)
        return where

    def link(self, opd: Opd) -> str:
        where = self.locate(opd)
        return "" if isinstance(where, Problem) else str(where)

    # ----------------------------------------------------------- revisions
    def revisions(self, opds):
        out = {}
        for o in opds:
            where = self.locate(o)
            out[o.code] = None if isinstance(where, Problem) else file_revision(where)
        return out

    def stale(self, read):
        return {o.code for o, wb in read if self.revisions([o])[o.code] != wb.revision}

    def locked(self, path: Path) -> bool:
        """Excel keeps '~$name' (first letters cut for long names), LibreOffice
        '.~lock.name#' beside a workbook that is open."""
        names = {f"~${path.name}", f"~${path.name[2:]}", f".~lock.{path.name}#"}
        return any((path.parent / n).exists() for n in names)

    # ---------------------------------------------------------------- read
    def read_workbook(self, opd: Opd) -> Workbook:
        path = self.path(opd)   # StoreError for a refused registry row: never opened
        rev = file_revision(path)
        if rev is None:
            raise StoreError(Problem("WB_NOT_FOUND", {"lokasi": path.name}))
        return workbook_from_grids(opd, rev, read_grids(path), self.forms)

    # --------------------------------------------------------------- write
    def write_cells(self, opd: Opd, wb: Workbook, writes: list[CellWrite]):
        path = self.path(opd)
        if not writes:
            return wb.revision
        if self.locked(path):
            raise StoreError(Problem("WB_LOCKED"))

        def unchanged():
            if file_revision(path) != wb.revision:
                raise StoreError(Problem("WB_CHANGED"))

        unchanged()
        try:
            book = load_workbook(path, keep_vba=path.suffix.lower() == ".xlsm", rich_text=True)
        except Exception as e:  # noqa: BLE001 - any unreadable file is one OPD's problem
            raise StoreError(Problem("WB_WRITE_FAILED", {"alasan": describe_error(e)})) from e
        for w in writes:
            set_value(book[w.sheet], w.row, w.col, w.value)
        try:
            atomic_save(book, path, before_replace=unchanged)
        except OSError as e:
            raise StoreError(Problem("WB_WRITE_FAILED", {"alasan": describe_error(e)})) from e
        return file_revision(path)

    def write_master(self, sheets: list[SheetSpec]) -> str | None:
        """Raises StoreError (never a bare OSError: a full disk is a write that failed)."""
        if self.locked(self.master_path):
            raise StoreError(Problem("WB_LOCKED"))
        try:
            book = load_workbook(self.master_path) if self.master_path.exists() else new_master(self.forms)
        except Exception as e:  # noqa: BLE001 - a master that cannot be opened is not written
            raise StoreError(Problem("WB_WRITE_FAILED", {"alasan": f"{self.master_path.name}: "
                                                                   f"{describe_error(e)}"})) from e
        for spec in sheets:
            index = None
            if spec.title in book.sheetnames:
                index = book.sheetnames.index(spec.title)
                del book[spec.title]
            ws = book.create_sheet(spec.title, index)
            render_sheet(ws, spec)
        try:
            atomic_save(book, self.master_path)
        except OSError as e:   # disk full, read-only folder: the old master stays as it was
            raise StoreError(Problem("WB_WRITE_FAILED", {"alasan": f"{self.master_path.name}: "
                                                                   f"{describe_error(e)}"})) from e
        return file_revision(self.master_path)

    def master_revision(self) -> str | None:
        return file_revision(self.master_path)


def render_sheet(ws, spec: SheetSpec) -> None:
    start = 1
    if spec.note:
        set_value(ws, 1, 1, spec.note).font = BOLD
        start = 3
    write_table(ws, spec.header, spec.rows, start_row=start, widths=spec.widths)
    if spec.chart and spec.rows:
        _chart(ws, spec, start)


def _chart(ws, spec: SheetSpec, start: int) -> None:
    from openpyxl.chart import BarChart, Reference

    c = spec.chart
    chart = BarChart()
    chart.type, chart.grouping, chart.overlap = "bar", "stacked", 100
    chart.title = c["title"]
    chart.height = max(7.5, 0.5 * len(spec.rows) + 3)
    chart.width = 18
    last = start + len(spec.rows)
    for col in c["series_cols"]:
        chart.add_data(Reference(ws, min_col=col, min_row=start, max_row=last), titles_from_data=True)
    chart.set_categories(Reference(ws, min_col=c["categories_col"], min_row=start + 1, max_row=last))
    ws.add_chart(chart, c.get("anchor", "A" + str(last + 3)))


def new_master(forms: FormSet):
    from sheets_sync.validate.registry import registry_header

    book = NewBook()
    ws = book.active
    ws.title = forms.registry["sheet"]
    write_table(ws, registry_header(forms), [])
    return book


def _identity(path: Path):
    """What makes two paths one file: device and inode when it exists (hard links too)."""
    try:
        st = path.stat()
        return (st.st_dev, st.st_ino)
    except OSError:
        return str(path)


def _same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def file_revision(path: Path) -> str | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return f"{st.st_mtime_ns}-{st.st_size}"


def read_grids(path: Path, only: str | None = None) -> dict[str, list[list]]:
    """Every tab's cell values (formulas as their last computed value)."""
    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except Exception as e:  # noqa: BLE001 - corrupt, encrypted, not xlsx: one OPD's problem
        raise StoreError(Problem("WB_UNREADABLE", {"alasan": describe_error(e)})) from e
    try:
        out = {}
        for ws in book.worksheets:
            if only is None or ws.title == only:
                out[ws.title] = _grid(ws)
        return out
    except Exception as e:  # noqa: BLE001
        raise StoreError(Problem("WB_UNREADABLE", {"alasan": describe_error(e)})) from e
    finally:
        book.close()


_EMPTY = ()


def _grid(ws) -> list:
    # Read-only mode trusts the sheet's <dimension> record, which some tools write
    # wrongly (e.g. "A1"), cutting rows off; forget it and read what is there.
    if hasattr(ws, "reset_dimensions"):
        ws.reset_dimensions()
    rows, last = [], 0
    for i, row in enumerate(ws.iter_rows(values_only=True), start=1):
        if any(v is not None and v != "" for v in row):
            rows.append(list(row))
            last = i
        else:
            rows.append(_EMPTY)  # thousands of formatted empty rows cost nothing
    return rows[:last]


def describe_error(e: Exception) -> str:
    if isinstance(e, zipfile.BadZipFile) or "zip" in str(e).lower():
        return "bukan berkas .xlsx yang utuh, atau dilindungi kata sandi"
    if isinstance(e, PermissionError):
        return "tidak ada izin membaca/menulis berkas"
    if isinstance(e, OSError):
        return f"galat berkas: {explain(e, filename=False)}"
    return f"format tidak dikenali ({type(e).__name__})"
