"""A folder of .xlsx workbooks: the embedded default that needs no account.

data/
  master.xlsx      "Daftar OPD" (the registry, edited by the Inspektorat) + the
                   tabs the worker writes (Rekap, Masalah, one per form...)
  <KODE>.xlsx      one workbook per OPD, a tab per form that applies

A workbook's revision is its (mtime, size). Writes go to a temporary file that
replaces the original atomically, and only if the original did not change since
it was read and no Excel/LibreOffice lock file says someone has it open.

Before openpyxl opens an OPD workbook, `check_package` holds it to the settings'
limits (file size, unpacked size and compression ratio of every part from the zip
directory, then rows and cells counted in the streamed tab XML), so that a zip bomb
or a million formatted empty rows is refused in well under a second and reported
for that OPD alone.
"""
from __future__ import annotations

import bisect
import io
import logging
import os
import re
import shutil
import stat
import socket
import struct
import time
import zipfile
from dataclasses import replace
from pathlib import Path

from openpyxl import Workbook as NewBook
from openpyxl import load_workbook
from openpyxl.utils import get_column_letter

from sheets_sync.codes import explain
from sheets_sync.config import Limits
from sheets_sync.forms import FormSet
from sheets_sync.validate.layout import ColumnGrid, Problem
from sheets_sync.validate.registry import Opd, parse_registry, safe_file_name, shown_value, unsafe_location
from sheets_sync.fileio import atomic_save, atomic_write, atomic_write_bytes
from sheets_sync.stores import xlsx_guard, xlsx_read, xlsx_write
from sheets_sync.stores.xlsxio import like_column, print_to_width, set_value, write_table
from sheets_sync.stores import xlsx_bulk
from sheets_sync.stores.xlsx_blocks import Previous, manifest_of
from sheets_sync.stores.xlsx_master import render_sheet
from sheets_sync.stores import CellWrite, SheetSpec, StoreError, Workbook, workbook_from_grids

log = logging.getLogger(__name__)


class XlsxStore:
    name = "xlsx"
    parallel = 1   # openpyxl is CPU-bound: threads would only contend for the GIL

    def __init__(self, data_dir, forms: FormSet, master: str = "master.xlsx", limits: Limits | None = None,
                 *, address: str = "", lock_hours: float = 2, clock=time.time, host: str | None = None):
        self.dir = Path(data_dir)
        self.forms = forms
        self.master_path = self.dir / master
        self.limits = limits or Limits()
        self.address = address          # settings `alamat_berkas`: the folder as OPDs reach it
        self.lock_seconds = lock_hours * 3600
        self.clock = clock
        self.host = host if host is not None else socket.gethostname()

    # ------------------------------------------------------------ registry
    def read_registry(self):
        sheet = self.forms.registry["sheet"]
        if not self.master_path.exists():
            return [], [f"Workbook master {self.master_path} tidak ditemukan; periksa data_dir dan master di "
                        f"berkas pengaturan (untuk memulai dari nol: python -m sheets_sync provision)."]
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
            # typed on Windows: dinkes\DINKES.xlsx is a folder and a file; DINKES, the file without .xlsx
            target = _as_typed(self.dir, name.strip().replace("\\", "/"))
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

    def link(self, opd: Opd, at=None) -> str:
        """Where the OPD opens its workbook: `alamat_berkas` + the file's name inside
        the data folder, never a path on this server (`at`, a problem cell, has no
        address inside a file)."""
        where = self.locate(opd)
        if isinstance(where, Problem):
            return ""
        return shared_address(self.address, where.relative_to(self.dir.resolve()).parts)

    # ----------------------------------------------------------- revisions
    def revisions(self, opds):
        out = {}
        for o in opds:
            where = self.locate(o)
            out[o.code] = None if isinstance(where, Problem) else file_revision(where)
        return out

    def changed_by_us(self, opds) -> set[str]:
        """None: a file has no author to ask, and write_cells returns the revision it
        leaves, so the worker's own write is never taken for an edit."""
        return set()

    def stale(self, read):
        return {o.code for o, wb in read if self.revisions([o])[o.code] != wb.revision}

    def locked(self, path: Path) -> bool:
        """Excel keeps '~$name' (first letters cut for long names), LibreOffice
        '.~lock.name#' beside a workbook that is open. A lock file a crashed program
        left behind would block the writes for ever, so one counts only while it is
        fresh (lock_fresh: its age, and for LibreOffice the host written in it)."""
        names = {f"~${path.name}", f"~${path.name[2:]}", f".~lock.{path.name}#"}
        return any(lock_fresh(path.parent / n, self.clock(), self.lock_seconds, self.host) for n in names)

    # ---------------------------------------------------------------- read
    def read_workbook(self, opd: Opd) -> Workbook:
        path = self.path(opd)   # StoreError for a refused registry row: never opened
        rev = file_revision(path)
        if rev is None:
            raise StoreError(Problem("WB_NOT_FOUND", {"lokasi": path.name}))
        forms = [self.forms[k] for k in opd.forms]   # read_grids holds the file to the limits first
        merges: dict = {}
        grids = read_grids(path, limits=self.limits, wanted=lambda t: any(f.matches_sheet(t) for f in forms),
                           merges=merges)
        return workbook_from_grids(opd, rev, grids, self.forms, merges)

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
        try:   # the common case: only the status cells' XML changes, in proportion to the edit
            if xlsx_write.patch_cells(path, _texts(writes), before_replace=unchanged, fit=_note_columns(wb),
                                      optional={(w.sheet, w.row, w.col) for w in writes if w.optional}):
                return file_revision(path)
        except OSError as e:
            raise StoreError(Problem("WB_WRITE_FAILED", {"alasan": describe_error(e)})) from e
        except (zipfile.BadZipFile, KeyError, ValueError):
            pass   # openpyxl below says what is wrong with the file
        _refuse_huge_merges(path, writes, self.limits.cells)
        try:
            book = load_workbook(path, keep_vba=path.suffix.lower() == ".xlsm", rich_text=True)
        except Exception as e:  # noqa: BLE001 - any unreadable file is one OPD's problem
            raise StoreError(Problem("WB_WRITE_FAILED", {"alasan": describe_error(e)})) from e
        writes = [w for w in writes if not (w.optional and _merged(book[w.sheet], w.row, w.col))]
        try:
            for title, targets in _by_sheet(writes).items():
                _open_status_merges(book[title], targets, _status_span(wb, title))
        except StoreError:
            book.close()
            raise
        notes = _note_columns(wb)
        for w in writes:
            ws = book[w.sheet]
            cell = set_value(ws, w.row, w.col, w.value)
            if not cell.has_style:   # a new cell: the column's style, as the XML path gives it
                like_column(ws, cell)
            col, first = notes.get(w.sheet, (None, 0))
            if w.col == col and w.row >= first and cell.alignment.wrap_text:
                width = ws.column_dimensions[cell.column_letter].width or 8.43
                ws.row_dimensions[w.row].height = xlsx_write.note_height(str(w.value or ""), width)
        try:
            atomic_save(book, path, before_replace=unchanged)
        except OSError as e:
            raise StoreError(Problem("WB_WRITE_FAILED", {"alasan": describe_error(e)})) from e
        return file_revision(path)

    def archive_copy(self, opd: Opd | None, name: str) -> str:
        """<data_dir>/arsip/<name>, copied atomically (a copy there is complete)."""
        source = self.master_path if opd is None else self.path(opd)
        target = self.dir / "arsip" / name
        if not target.resolve().is_relative_to(self.dir.resolve()):   # arsip/ a symlink out: data stays in
            raise StoreError(Problem("WB_WRITE_FAILED", {"alasan": f"folder arsip {target.parent} menunjuk ke luar "
                                                                   f"folder data (tautan/symlink); hapus tautannya"}))
        if not target.exists():
            try:
                mode = stat.S_IMODE(source.stat().st_mode)     # as readable as the original, no more
                atomic_write(target, lambda tmp: shutil.copyfile(source, tmp), mode=mode)
            except OSError as e:
                raise StoreError(Problem("WB_WRITE_FAILED", {"alasan": describe_error(e)})) from e
        return str(target)

    def clear_cells(self, opd: Opd, wb: Workbook, writes: list[CellWrite]) -> None:
        self.write_cells(opd, wb, writes)   # a file's revision tells an edit since the read

    row_groups = True   # compile_master may give the long tabs as RowGroups (xlsx_blocks.py)

    def write_master(self, sheets: list[SheetSpec]) -> str | None:
        """Raises StoreError (never a bare OSError: a full disk is a write that failed)."""
        if self.locked(self.master_path):
            raise StoreError(Problem("WB_LOCKED"))
        try:
            book = load_workbook(_without_tabs(self.master_path, {spec.title for spec in sheets})) \
            if self.master_path.exists() else new_master(self.forms)
        except Exception as e:  # noqa: BLE001 - a master that cannot be opened is not written
            raise StoreError(Problem("WB_WRITE_FAILED", {"alasan": f"{self.master_path.name}: "
                                                                   f"{describe_error(e)}"})) from e
        previous = Previous(self.master_path, self._blocks_path, file_revision(self.master_path))
        bulk, small = [], {}
        for spec in sheets:
            index = None
            if spec.title in book.sheetnames:
                index = book.sheetnames.index(spec.title)
                del book[spec.title]
            ws = book.create_sheet(spec.title, index)
            planned = xlsx_bulk.plan(spec, previous)
            if planned is not None:     # a long plain table: its rows as XML, not as cells
                parts, n = planned
                first = render_sheet(ws, replace(spec, rows=[], groups=None), rows_written=0, total=n)
                bulk.append(xlsx_bulk.BulkRows(spec.title, parts, n, xlsx_bulk.width_of(spec, parts), first,
                                               *xlsx_bulk.style_ids(book)))
            else:
                rows, small[spec.title] = xlsx_bulk.short_rows(spec, previous)
                render_sheet(ws, replace(spec, rows=rows, groups=None))
        _open_on(book, "Rekap")
        blocks = {}
        try:
            if bulk:
                atomic_write(self.master_path,
                             lambda tmp: blocks.update(xlsx_bulk.save(book, bulk, tmp, tab_titles, previous)))
            else:
                atomic_save(book, self.master_path)
        except (OSError, ValueError) as e:   # disk full, read-only folder: the old master stays as it was
            raise StoreError(Problem("WB_WRITE_FAILED", {"alasan": f"{self.master_path.name}: "
                                                                   f"{describe_error(e)}"})) from e
        revision = file_revision(self.master_path)
        self._keep_blocks(blocks, revision, {t: g for t, g in small.items() if g})
        return revision

    @property
    def _blocks_path(self) -> Path:
        return self.dir / ".sheets_sync" / "master-blocks.json"

    def _keep_blocks(self, blocks: dict, revision: str | None, small: dict) -> None:
        """Where each block of the new master's long tabs is (xlsx_blocks.py), for the
        next write; without it that write renders every row again, nothing worse."""
        try:
            if blocks and revision is not None:
                atomic_write_bytes(self._blocks_path, manifest_of(blocks, revision, small), mode=0o600)
            else:
                self._blocks_path.unlink(missing_ok=True)
        except OSError as e:
            log.warning("peta blok master tidak tersimpan (%s): master berikutnya ditulis utuh", describe_error(e))

    def master_revision(self) -> str | None:
        return file_revision(self.master_path)


def _open_on(book, title: str) -> None:
    """The master opens on the Rekap (the state of the regency at a glance), not on
    the registry that happens to be the first tab. Every other tab is deselected: two
    selected tabs are 'grouped' in Excel, and one edit would then change both."""
    if title not in book.sheetnames:
        return
    for ws in book.worksheets:
        ws.sheet_view.tabSelected = ws.title == title
    book.active = book.sheetnames.index(title)


# ------------------------------------------------------------------ addresses
def shared_address(base: str, parts: tuple[str, ...]) -> str:
    """A file inside the data folder as OPDs reach it: the folder's address (a network
    share \\\\server\\SPI, a mounted path, a synced folder's URL) joined the way that
    address is written; without one, just the name inside the data folder."""
    base = base.strip()
    if not base:
        return "/".join(parts)
    if "://" in base:
        from urllib.parse import quote
        return base.rstrip("/") + "/" + "/".join(quote(p) for p in parts)
    sep = "\\" if "\\" in base else "/"
    return base.rstrip(sep) + sep + sep.join(parts)


# ------------------------------------------------------------------ lock files
def lock_fresh(lock: Path, now: float, max_age: float, host: str) -> bool:
    """Whether a lock file says someone has the workbook open now. The rule (README:
    "Berkas terkunci"): no file, no lock; a lock older than max_age seconds (settings
    kunci_kedaluwarsa_jam, 2 hours) is a leftover of a crash; a LibreOffice lock
    ("user,host,...", no pid in it) written on this very host while no LibreOffice
    runs here is a leftover too. Excel's ~$ file holds no host: age only."""
    try:
        st = lock.lstat()
    except OSError:
        return False
    if now - st.st_mtime > max_age:
        log.info("berkas kunci %s berumur lebih dari %d jam: dianggap sisa dan diabaikan",
                 lock.name, max_age // 3600)
        return False
    if lock.name.startswith(".~lock.") and _lock_host(lock) == host.casefold() and not _office_running():
        log.info("berkas kunci %s dari komputer ini, LibreOffice tidak berjalan: diabaikan", lock.name)
        return False
    return True


def _lock_host(lock: Path) -> str | None:
    """The host field of a LibreOffice lock file: "name,user,host,date,profile-url;"
    (the name may be empty), from a bounded read."""
    try:   # not blocking: a pipe named like a lock file would wait for a writer for ever
        fd = os.open(lock, os.O_RDONLY | os.O_NONBLOCK)
        with os.fdopen(fd, "rb") as f:
            if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
                return None
            fields = f.read(4096).decode("utf-8", "replace").split(",")
    except OSError:
        return None
    return fields[2].strip().casefold() if len(fields) > 3 else None


def _office_running() -> bool:
    """Whether a LibreOffice process runs on this host (Linux /proc); True when it
    cannot be told, so that a lock is never ignored on a guess."""
    try:
        pids = [p for p in os.listdir("/proc") if p.isdigit()]
    except OSError:
        return True
    for pid in pids:
        try:
            with open(f"/proc/{pid}/comm", "rb") as f:
                if f.read(64).strip().lower().startswith((b"soffice", b"oosplash")):
                    return True
        except OSError:
            continue
    return False


def _note_columns(wb: Workbook) -> dict[str, tuple[int, int]]:
    """tab -> (its Keterangan column, first data row): the note sets its row's height."""
    return {s.title: (s.status_columns["message"], s.header_row + 1) for s in wb.sheets.values()}


def _merged(ws, row: int, col: int) -> bool:
    return any(r.min_row <= row <= r.max_row and r.min_col <= col <= r.max_col for r in ws.merged_cells.ranges)


def _texts(writes: list[CellWrite]) -> dict[str, dict[tuple[int, int], object]]:
    out: dict[str, dict[tuple[int, int], object]] = {}
    for w in writes:
        out.setdefault(w.sheet, {})[(w.row, w.col)] = "" if w.value is None else w.value
    return out


# ------------------------------------------------------------ merged status cells
def _by_sheet(writes: list[CellWrite]) -> dict[str, dict[int, list[int]]]:
    """tab title -> column -> sorted rows written there."""
    out: dict[str, dict[int, list[int]]] = {}
    for w in writes:
        out.setdefault(w.sheet, {}).setdefault(w.col, []).append(w.row)
    for cols in out.values():
        for rows in cols.values():
            rows.sort()
    return out


def _status_span(wb: Workbook, title: str) -> tuple[int, int, int] | None:
    """(first status column, last status column, header row) of a tab as read."""
    for sheet in wb.sheets.values():
        if sheet.title == title:
            cols = sheet.status_columns.values()
            return min(cols), max(cols), sheet.header_row
    return None


def _open_status_merges(ws, targets: dict[int, list[int]], span) -> None:
    """Merged ranges that cover a status cell about to be written: a merge inside the
    Status | Keterangan | Diperiksa columns (from the header row down) is the worker's
    own cells and is unmerged; one reaching into input columns or above the header is
    never touched and is reported (STATUS_MERGED), so that staff unmerge it."""
    for rng in list(ws.merged_cells.ranges):
        hit = any(rng.min_col <= col <= rng.max_col and _any_between(rows, rng.min_row, rng.max_row)
                  for col, rows in targets.items())
        if not hit:
            continue
        ours = span is not None and span[0] <= rng.min_col and rng.max_col <= span[1] and rng.min_row >= span[2]
        if not ours:
            raise StoreError(Problem("STATUS_MERGED", {"tab": ws.title, "sel": rng.coord}))
        ws.unmerge_cells(rng.coord)
        log.info("tab %s: sel status %s tidak lagi digabung", ws.title, rng.coord)


def _refuse_huge_merges(path: Path, writes: list[CellWrite], most: int) -> None:
    """openpyxl builds one object per merged cell: a merge such as A3:XFD1048576 (16
    billion cells) would take the worker's memory before any limit is checked, so the
    merged area is counted from the XML first and held to the workbook's cell limit."""
    merges = xlsx_read.merged_ranges_xml(path, sorted({w.sheet for w in writes}))
    area = 0
    for tab, ranges in merges.items():
        for r0, c0, r1, c1 in ranges:
            area += (r1 - r0 + 1) * (c1 - c0 + 1)
            if area > most:
                sel = f"{get_column_letter(c0)}{r0}:{get_column_letter(c1)}{r1}"
                raise StoreError(Problem("STATUS_MERGED", {"tab": tab, "sel": sel}))


def _any_between(rows: list[int], low: int, high: int) -> bool:
    i = bisect.bisect_left(rows, low)
    return i < len(rows) and rows[i] <= high


_EMPTY_TAB = (b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
              b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData/></worksheet>')


def _without_tabs(path: Path, titles: set[str]) -> io.BytesIO:
    """The master with the tabs about to be regenerated emptied, in memory: openpyxl
    then parses only what a person keeps there (Daftar OPD), not the thousands of
    rows of the compiled tabs it would throw away. The file on disk is untouched."""
    out = io.BytesIO()
    with zipfile.ZipFile(path) as z, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as w:
        parts = {part for part, title in tab_titles(z).items() if title in titles}
        for info in z.infolist():
            # stored, not deflated: openpyxl reads it at once from memory
            w.writestr(info, _EMPTY_TAB if info.filename in parts else z.read(info.filename),
                       compress_type=zipfile.ZIP_STORED)
    out.seek(0)
    return out


def new_master(forms: FormSet):
    from sheets_sync.validate.registry import registry_header

    book = NewBook()
    ws = book.active
    ws.title = forms.registry["sheet"]
    write_table(ws, registry_header(forms), [])
    print_to_width(ws)
    return book


def _as_typed(root: Path, name: str) -> Path:
    """The file a Berkas typed on Windows means, resolved: as written if it exists, else
    with .xlsx added ('DINSOS'), in another case ('dinsos.XLSX': Windows ignores case),
    or without a first step naming the data folder itself ('data/DINSOS.xlsx'). The
    caller checks that the answer stays inside the data folder."""
    target = (root / name).resolve()
    if target.exists():
        return target
    parts = Path(name).parts
    tries = [name] + ([str(Path(*parts[1:]))] if len(parts) > 1 and parts[0].casefold() == root.name.casefold()
                      else [])
    for tried in tries:
        t = (root / tried).resolve()
        for cand in (t, t.with_name(t.name + ".xlsx")) if not t.suffix else (t,):
            if cand.is_file():
                return cand
            folder = cand.parent
            if folder.is_dir():
                same = [c for c in folder.iterdir() if c.name.casefold() == cand.name.casefold()]
                if len(same) == 1:
                    return same[0].resolve()
    return target


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


def read_grids(path: Path, only: str | None = None, *, limits: Limits | None = None,
               wanted=None, merges: dict | None = None, ahead=None, columnar: bool = False) -> dict[str, list[list]]:
    """Every tab's cell values (formulas as their last computed value); only the tab
    `only`, or the tabs whose title `wanted(title)` accepts; read with python-calamine
    (stores/xlsx_read.py), the values mapped to what openpyxl gives. A tab past the
    limits' rows, columns or cells is refused (SHEET_TOO_LARGE); the file is held to
    the limits before calamine sees it (check_package; for `only`, that tab). `merges`, if given,
    receives each tab's merged ranges; `ahead`: the file's xlsx_read.Parsing, started earlier;
    columnar=True: a big tab as a layout.ColumnGrid."""
    limits = limits or Limits()
    if ahead is None:   # (an `ahead` was checked in its thread before parsing)
        check_package(path, limits, keep=None if only is None else (lambda title: title == only))
    try:
        grids = xlsx_read.read_grids(path, only=only, wanted=wanted, merges=merges, ahead=ahead, columnar=columnar)
    except xlsx_read.ReadError as e:
        raise StoreError(Problem("WB_UNREADABLE", {"alasan": describe_error(e)})) from e
    budget = limits.cells
    for title, grid in grids.items():
        width, cells = grid.extent if isinstance(grid, ColumnGrid) else \
            (max((len(r) for r in grid), default=0), sum(len(r) for r in grid))
        budget -= cells
        if len(grid) > limits.rows or width > limits.columns or budget < 0:
            raise StoreError(_too_large(title, len(grid), width, limits))
    return grids


def read_grids_openpyxl(path: Path, only: str | None = None, *, limits: Limits | None = None,
                        wanted=None, merges: dict | None = None) -> dict[str, list[list]]:
    """The same with openpyxl's read-only reader, streamed and stopped at the limits:
    the reference tests/test_xlsx_readers.py holds the fast reader to. Read-only
    worksheets know no merged cells: `merges` are read from the sheet XML."""
    limits = limits or Limits()
    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except Exception as e:  # noqa: BLE001 - corrupt, encrypted, not xlsx: one OPD's problem
        raise StoreError(Problem("WB_UNREADABLE", {"alasan": describe_error(e)})) from e
    try:
        out, budget = {}, [limits.cells]
        for ws in book.worksheets:
            if (only is None or ws.title == only) and (wanted is None or wanted(ws.title)):
                out[ws.title] = _grid(ws, limits, budget)
        if merges is not None:
            merges.update(xlsx_read.merged_ranges_xml(path, list(out)))
        return out
    except StoreError:
        raise
    except Exception as e:  # noqa: BLE001
        raise StoreError(Problem("WB_UNREADABLE", {"alasan": describe_error(e)})) from e
    finally:
        book.close()


_EMPTY = ()


def _grid(ws, limits: Limits, budget: list[int]) -> list:
    """A tab's rows, read as a stream and stopped as soon as it passes the limits
    (openpyxl fills missing rows and cells in: a lone cell at row 1,048,576 or column
    XFD would otherwise become a million rows or a 16,384-wide row)."""
    # Read-only mode trusts the sheet's <dimension> record, which some tools write
    # wrongly (e.g. "A1"), cutting rows off; forget it and read what is there.
    if hasattr(ws, "reset_dimensions"):
        ws.reset_dimensions()
    rows, last = [], 0
    for i, row in enumerate(ws.iter_rows(values_only=True), start=1):
        budget[0] -= len(row)
        if i > limits.rows or len(row) > limits.columns or budget[0] < 0:
            raise StoreError(_too_large(ws.title, i, len(row), limits))
        if any(v is not None and v != "" for v in row):
            rows.append(list(row))
            last = i
        else:
            rows.append(_EMPTY)  # thousands of formatted empty rows cost nothing
    return rows[:last]


def _too_large(title: str, rows: int, columns: int, limits: Limits) -> Problem:
    if rows > limits.rows:
        cap = f"{_n(limits.rows)} baris"
    elif columns > limits.columns:
        cap = f"{_n(limits.columns)} kolom (ada sel di kolom ke-{_n(columns)})"
    else:
        cap = f"{_n(limits.cells)} sel per berkas"
    return Problem("SHEET_TOO_LARGE", {"tab": title, "batas": cap})


def _n(x: int) -> str:
    """12.345 (Indonesian thousands)."""
    return f"{x:,}".replace(",", ".")


def _mb(x: int) -> str:
    return f"{x / 1_000_000:,.1f} MB".replace(",", "X").replace(".", ",").replace("X", ".")


# ------------------------------------------------------------------ limits
_EOCD = b"PK\x05\x06"
MAX_ENTRIES = 10_000             # parts in one workbook (a real one has tens; a tab is ~2)
_CHUNK = 1 << 20


def check_package(path: Path, limits: Limits, keep=None) -> None:
    """Refuse (StoreError) an .xlsx over the limits before it is parsed: the file, the
    number of parts (end-of-directory record, before zipfile reads the directory),
    every part's unpacked size and compression ratio (zip directory), the shared-strings
    table's announced size, then the rows, cells and farthest reference of every tab
    counted in its streamed XML. `keep(title)`: only those tabs, and not the file as a
    whole (the master, read for its Daftar OPD tab, is as large as the regency's rows).
    A file that is not a zip is left to the reader, which reports it as unreadable."""
    st = path.stat()
    if not stat.S_ISREG(st.st_mode):   # a folder, a pipe (opening one waits for ever), a device
        raise StoreError(Problem("WB_UNREADABLE", {"alasan": "bukan berkas biasa: folder, pipa atau perangkat"}))
    size = st.st_size
    if keep is None and size > limits.file_mb * 1_000_000:
        raise StoreError(Problem("WB_TOO_LARGE", {"alasan": f"berkas {_mb(size)}", "batas": f"{limits.file_mb} MB"}))
    entries = _directory_entries(path, size)
    if entries is not None and entries > MAX_ENTRIES:
        raise StoreError(Problem("WB_TOO_LARGE", {"alasan": f"{_n(entries)} bagian di dalam berkas",
                                                  "batas": f"{_n(MAX_ENTRIES)} bagian"}))
    try:
        z = zipfile.ZipFile(path)
    except Exception:  # noqa: BLE001 - not a zip we can list: the reader says why, as WB_UNREADABLE
        return
    with z:
        try:
            _check_parts(z, limits, keep)
        except StoreError:
            raise
        except Exception as e:  # noqa: BLE001 - encrypted, bad CRC, odd compression: unreadable
            raise StoreError(Problem("WB_UNREADABLE", {"alasan": describe_error(e)})) from e


def _check_parts(z: zipfile.ZipFile, limits: Limits, keep) -> None:
    infos = z.infolist()
    total = sum(i.file_size for i in infos)
    if keep is None and total > limits.unpacked_mb * 1_000_000:
        raise StoreError(Problem("WB_TOO_LARGE", {"alasan": f"isinya {_mb(total)} setelah dibuka",
                                                  "batas": f"{limits.unpacked_mb} MB"}))
    names = {i.filename for i in infos}
    other = other_package(z, names)
    if other:   # staff read "an .ods file", not "bagian xl/workbook.xml tidak ada"
        raise StoreError(Problem("WB_UNREADABLE", {"alasan": other}))
    try:   # the parts calamine will read, found as it finds them (any part name)
        tabs, _ = xlsx_guard.workbook_parts(z)
    except xlsx_guard.Unplaceable as e:
        raise StoreError(Problem("WB_UNREADABLE", {"alasan": str(e)})) from None
    sheets = [p for p, title in tabs.items() if p in names and (keep is None or keep(title))]
    for i in infos:
        if keep is not None and i.filename in tabs and i.filename not in sheets:
            continue   # a tab not read: the master's long form tabs
        where = f"tab '{tabs[i.filename]}'" if i.filename in tabs else f"bagian {i.filename.rsplit('/', 1)[-1]}"
        if i.file_size > limits.part_mb * 1_000_000:
            raise StoreError(Problem("WB_TOO_LARGE", {"alasan": f"{where} {_mb(i.file_size)} setelah dibuka",
                                                      "batas": f"{limits.part_mb} MB per bagian"}))
        if i.file_size > 1_000_000 and i.file_size > limits.compression_ratio * max(i.compress_size, 1):
            raise StoreError(Problem("WB_COMPRESSION", {
                "bagian": where, "rasio": _n(i.file_size // max(i.compress_size, 1)),
                "batas": _n(limits.compression_ratio)}))
    found = xlsx_guard.roots(z)
    for part, root in found.items():   # any part whose root is a table of texts, wherever a reader may find it
        _check_strings(z, z.getinfo(part), root)
    if keep is None:  # every part holding sheet data, whatever points at it (calamine resolves names
        # its own way): a decoy workbook.xml, a target written ../, a prefix bound elsewhere
        sheets += [i.filename for i in infos if i.filename not in tabs and not i.is_dir()
                   and xlsx_guard.holds(z, i.filename, b"sheetData")]
    cells, areas = limits.cells, []
    for name in sheets:
        cells, area = _count_tab(z, name, tabs.get(name) or name.rsplit("/", 1)[-1], limits, cells)
        areas.append(area)
    # every tab calamine parses stays in memory at once; several tabs may name one part
    entries = xlsx_guard.sheet_entries(z, found) if keep is None else len(sheets)
    total = sum(areas) + max(0, entries - len(areas)) * max(areas, default=0)
    if total > AREA_PER_CELL * limits.cells:
        raise StoreError(Problem("WB_TOO_LARGE", {
            "alasan": f"tab-tabnya bersama {_n(total)} sel dari A1 sampai sel terjauh masing-masing",
            "batas": f"{_n(AREA_PER_CELL * limits.cells)} sel"}))


# OpenDocument files name their kind in a first part 'mimetype' (a line of text).
_ODF_KINDS = {"application/vnd.oasis.opendocument.spreadsheet": "OpenDocument .ods (dari LibreOffice/WPS)",
              "application/vnd.oasis.opendocument.text": "dokumen OpenDocument .odt"}
# Other Office files are zips too: told by their main folder.
_OFFICE_FOLDERS = (("word/", "dokumen Word .docx"), ("ppt/", "presentasi PowerPoint .pptx"))


def other_package(z: zipfile.ZipFile, names: set[str]) -> str | None:
    """What a zip without an Excel workbook (xl/workbook.xml) is, in plain words for
    staff ('ini berkas OpenDocument .ods (dari LibreOffice/WPS), bukan Excel .xlsx'); None
    when it holds one."""
    if "xl/workbook.xml" in names:
        return None
    kind = None
    if "mimetype" in names and z.getinfo("mimetype").file_size <= 200:
        mime = z.read("mimetype").decode("ascii", errors="replace").strip()
        kind = _ODF_KINDS.get(mime) or ("OpenDocument" if mime.startswith("application/vnd.oasis") else None)
    if kind is None and "content.xml" in names:   # OpenDocument without its (optional) mimetype part
        kind = "OpenDocument (mis. .ods dari LibreOffice/WPS)"
    if kind is None:
        kind = next((k for folder, k in _OFFICE_FOLDERS if any(n.startswith(folder) for n in names)), None)
    return f"ini berkas {kind}, bukan Excel .xlsx" if kind else "berkas zip, tetapi bukan workbook Excel .xlsx"


def _check_strings(z: zipfile.ZipFile, info: zipfile.ZipInfo, root: tuple[str, dict]) -> None:
    """The shared-strings table says how many texts it holds (uniqueCount), and calamine
    reserves memory for that many before reading them: 4,000,000,000 in a 200-byte part
    asked for 96 GB and aborted the process. A text takes at least <si><t/></si>, so a
    count over a part's bytes / 8 is a lie."""
    announced = xlsx_guard.announced_strings(z, info.filename, root)
    if announced > max(info.file_size // 8, 16):
        raise StoreError(Problem("WB_UNREADABLE", {
            "alasan": f"daftar teksnya rusak: menyebut {_n(announced)} teks dalam {_mb(info.file_size)}"}))


def _directory_entries(path: Path, size: int) -> int | None:
    """Entries the zip's end-of-central-directory record announces (a zip64 marker
    reads as 65,535), or None when there is no such record (not a zip)."""
    with open(path, "rb") as f:
        f.seek(max(0, size - 65_557))
        tail = f.read()
    at = tail.rfind(_EOCD)
    if at < 0 or len(tail) - at < 22:
        return None
    return struct.unpack("<H", tail[at + 10:at + 12])[0]


def _count_tab(z: zipfile.ZipFile, name: str, title: str, limits: Limits, cells: int) -> tuple[int, int]:
    """Count <row> and <c> tags of one tab's XML as it streams out of the zip (C-speed
    byte counts on 1 MB pieces), and find its farthest placed cell (xlsx_guard.extent);
    a piece not written as common programs write it sends the whole tab to expat
    (xlsx_guard.parsed_extent). Stops at the first limit passed. Returns (the cells
    left, the tab's rectangle from A1 to its farthest cell)."""
    rows, far, budget = 0, (0, 0), cells
    with z.open(name) as f:
        for piece in _pieces(f, title):
            got = xlsx_guard.extent(piece)
            if got is None:   # not written as common programs write sheets: expat places the cells
                return _parsed_tab(z, name, title, limits, budget)
            r, c = _tags(piece)
            rows, cells = rows + r, cells - c
            far = max(far[0], got[0]), max(far[1], got[1])
            if rows > limits.rows or cells < 0 or _too_far(far, limits):
                break
    if rows > limits.rows or cells < 0:
        raise StoreError(_too_large(title, rows, 0, limits))
    if _too_far(far, limits):
        raise StoreError(_too_far_problem(title, far, limits))
    return cells, far[0] * far[1]


def _pieces(f, title: str):
    """A tab's XML in pieces of about _CHUNK bytes, each cut before a '<' so that no tag
    straddles two pieces."""
    carry = b""
    while chunk := f.read(_CHUNK):
        buf = carry + chunk
        cut = buf.rfind(b"<")
        cut = len(buf) if cut < 0 else cut
        yield buf[:cut]
        carry = buf[cut:]
        if len(carry) > _CHUNK:   # one tag over a megabyte: not a sheet
            raise StoreError(Problem("WB_UNREADABLE", {"alasan": f"tab '{title}' tidak berbentuk tabel"}))
    yield carry


def _parsed_tab(z: zipfile.ZipFile, name: str, title: str, limits: Limits, cells: int) -> tuple[int, int]:
    def stop(rows, tags, far_r, far_c):
        return rows > limits.rows or tags > cells or _too_far((far_r, far_c), limits)

    try:
        rows, filled, far_r, far_c = xlsx_guard.parsed_extent(z, name, stop)
    except xlsx_guard.Unplaceable as e:
        raise StoreError(Problem("WB_UNREADABLE", {"alasan": f"tab '{title}': {e}"})) from None
    if rows > limits.rows or filled > cells:
        raise StoreError(_too_large(title, rows, 0, limits))
    if _too_far((far_r, far_c), limits):
        raise StoreError(_too_far_problem(title, (far_r, far_c), limits))
    return cells - filled, far_r * far_c


AREA_PER_CELL = 4   # the rectangle calamine fills, A1 to the farthest cell: at most this x limits.cells


def _too_far(far: tuple[int, int], limits: Limits) -> bool:
    row, col = far
    return row > limits.rows or col > limits.columns or row * col > AREA_PER_CELL * limits.cells


def _too_far_problem(title: str, far: tuple[int, int], limits: Limits) -> Problem:
    row, col = far
    if row > limits.rows:
        cap = f"{_n(limits.rows)} baris (ada sel di baris ke-{_n(row)})"
    elif col > limits.columns:
        cap = f"{_n(limits.columns)} kolom (ada sel di kolom ke-{_n(col)})"
    else:
        where = f"{get_column_letter(col)}{row}" if col <= 16_384 else f"baris {_n(row)}, kolom ke-{_n(col)}"
        cap = (f"{_n(AREA_PER_CELL * limits.cells)} sel dari A1 sampai sel terjauh ({where}): ada sel terisi "
               "atau berformat jauh di bawah/kanan data")
    return Problem("SHEET_TOO_LARGE", {"tab": title, "batas": cap})


def _tags(xml: bytes) -> tuple[int, int]:
    """(<row> tags, <c> tags and merged ranges) in a plainly written piece of tab XML
    (every <c> and <row> opens with ' r=', no prefixes: xlsx_guard.extent said so). A
    merged range costs as a cell (1.5 million of them: 1 GB)."""
    return xml.count(b"<row "), xml.count(b"<c ") + xml.count(b"mergeCell ")


def tab_titles(z: zipfile.ZipFile) -> dict[str, str]:
    """Part name -> tab title (xl/worksheets/sheet1.xml -> 'Pegawai'), from the small
    workbook.xml and its relationships; {} when they are missing, odd or large."""
    try:
        return xlsx_guard.workbook_parts(z)[0]
    except xlsx_guard.Unplaceable:
        return {}


def describe_error(e: Exception) -> str:
    if isinstance(e, xlsx_read.ReadError) and "Password" in e.kind:
        return "dilindungi kata sandi"
    if isinstance(e, zipfile.BadZipFile) or "zip" in str(e).lower():
        return "bukan berkas .xlsx yang utuh, atau dilindungi kata sandi"
    if isinstance(e, PermissionError):
        return "tidak ada izin membaca/menulis berkas"
    if isinstance(e, OSError):
        return f"galat berkas: {explain(e, filename=False)}"
    if isinstance(e, xlsx_read.ReadError) and "_rels" in str(e):
        return "berkas zip, tetapi bukan workbook .xlsx"
    return "isinya tidak terbaca sebagai workbook .xlsx"   # a text, an image... renamed .xlsx
