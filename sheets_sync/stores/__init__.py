"""Where workbooks live. One class per backend behind one small protocol.

The cycle (sync.py) only ever calls these methods; a backend turns them into file
operations (xlsx.py) or batched API requests (google.py).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Protocol

from sheets_sync.validate.layout import Problem, SheetData, locate_form, notice_cell
from sheets_sync.validate.registry import Opd


class StoreError(Exception):
    """A workbook-level problem for one OPD; the cycle reports it and goes on."""

    def __init__(self, problem: Problem):
        super().__init__(problem.code)
        self.problem = problem


@dataclass
class Workbook:
    """What a read of one OPD workbook found."""
    opd: str
    revision: str
    sheets: dict[str, SheetData] = field(default_factory=dict)   # form key -> data
    problems: list[Problem] = field(default_factory=list)        # per missing/broken tab
    notices: dict = field(default_factory=dict)   # broken tab title -> (row, col, value now, Problem)


@dataclass
class CellWrite:
    sheet: str      # tab title
    row: int
    col: int
    value: object
    optional: bool = False   # a nicety (the summary line): dropped, not refused, where it cannot go


@dataclass
class RowGroup:
    """The rows of one OPD in a long master tab, made on first use. `key` names all
    they follow (the OPD's verdict inputs, its name, the tab, the code that makes them;
    None: not known): a store that kept what it wrote under that key may reuse it
    without making the rows, so an OPD nobody edited costs no decoding of its verdicts
    (xlsx_blocks.py)."""
    key: str | None
    make: Callable[[], list[list]]
    size: int | None = None   # its row count when known without making them (0: nothing to make)
    _made: list | None = field(default=None, repr=False)

    def rows(self) -> list[list]:
        if self._made is None:
            self._made = [] if self.size == 0 else self.make()
        return self._made


@dataclass
class SheetSpec:
    """A tab of the master, as plain values; the backend renders it."""
    title: str
    header: list[str]
    rows: list[list]
    widths: list[int] = field(default_factory=list)
    chart: dict | None = None       # {"title", "categories_col", "series_cols", "anchor", "kind",
    #                                  "colors" (per series), "table": "side" to chart the side table}
    note: str = ""                  # a line above the table (row 1) if given
    # The look (all optional; columns are 1-based positions in `header`):
    colors: dict = field(default_factory=dict)   # column -> {text prefix: (background, text colour)}
    footer: list = field(default_factory=list)   # rows under the table (totals): bold, not charted
    wrap: tuple = ()                # columns whose text wraps (long names, notes)
    side: "SheetSpec | None" = None  # a second table right of this one, after one empty column
    fit_page: str = ""              # "page": prints on one landscape page; "width": landscape, one page
    #                                 wide (where the backend can say so)
    freeze_cols: int = 0            # columns kept in view when scrolling right (code, name)
    groups: list[RowGroup] | None = None   # the rows as per-OPD groups (rows is then []): only for
    #                                        a store whose `row_groups` is true; all_rows() for any

    def all_rows(self) -> list[list]:
        return self.rows if self.groups is None else [r for g in self.groups for r in g.rows()]


class Store(Protocol):
    name: str
    parallel: int   # workbooks read/written at once (network stores wait, files do not)
    row_groups: bool   # write_master takes the long tabs as RowGroups (SheetSpec.groups)

    def read_registry(self) -> tuple[list[Opd], list[str]]: ...

    def revisions(self, opds: list[Opd]) -> dict[str, str | None]:
        """A cheap fingerprint per OPD workbook (None: not found), in one go."""

    def changed_by_us(self, opds: list[Opd]) -> set[str]:
        """Codes of the OPDs whose revision (as the last `revisions` call saw it) was last
        changed by the worker's own account, where the backend knows it at no extra
        cost (Google: Drive's lastModifyingUser.me); else empty."""

    def read_workbook(self, opd: Opd) -> Workbook:
        """Raises StoreError when the workbook cannot be read at all."""

    def write_cells(self, opd: Opd, wb: Workbook, writes: list[CellWrite]) -> str | None:
        """Write status cells only; refuse (StoreError) if the workbook changed since
        `wb` was read. Returns the new revision if known."""

    def stale(self, read: list[tuple[Opd, Workbook]]) -> set[str]:
        """Codes of OPDs whose workbook changed since it was read (one check for all,
        just before the writes)."""

    def write_master(self, sheets: list[SheetSpec]) -> str | None:
        """Returns the master's revision after the write, if the store knows it."""

    def master_revision(self) -> str | None:
        """The master's revision now, if cheap to know (None: not tracked), so that a
        person's edit to the master can be noticed."""

    def link(self, opd: Opd, at=None) -> str:
        """Where the OPD opens its workbook, as the OPD reaches it (never a path on the
        worker's server); at: (form key, row, column key) of a cell to open, if the
        backend can address one (Google)."""

    def archive_copy(self, opd: Opd | None, name: str) -> str:
        """A copy of an OPD's workbook (None: the master) kept as `name` in the archive
        (season rollover); an archive of that name already there is kept, not made
        again. Returns where the copy is (file path or spreadsheet id)."""

    def clear_cells(self, opd: Opd, wb: Workbook, writes: list[CellWrite]) -> None:
        """Empty input cells on purpose (a time-bound form at season rollover): like
        write_cells, but the inputs moving is the point, not a reason to refuse."""


def workbook_from_grids(opd: Opd, revision: str, grids: dict[str, list[list]], forms,
                        merges: dict | None = None) -> Workbook:
    """Find each form that applies to the OPD among a workbook's tabs (any backend);
    `merges`: {tab: merged ranges}, whose values fill the rows they cover."""
    wb = Workbook(opd.code, revision)
    for key in opd.forms:
        form = forms[key]
        found = form.sheet_candidates(grids)
        title = found[0] if found else None
        for other in found[1:]:   # its rows are not read: said, so that none is lost in silence
            # (not "tab": a problem's tab is one that could not be checked, and this one is)
            wb.problems.append(Problem("SHEET_EXTRA", {"dibaca": title, "lain": other, "formulir": form.title}))
        if title is None:
            wb.problems.append(Problem("SHEET_MISSING", {"tab": form.sheet, "formulir": form.title}))
            continue
        found = locate_form(grids[title], form, forms, title, (merges or {}).get(title, ()))
        if isinstance(found, Problem):
            wb.problems.append(found)
            at = notice_cell(grids[title], form, forms)
            if at is not None:   # the tab itself tells the OPD, not only the Rekap
                wb.notices[title] = (*at, found)
        else:
            wb.sheets[key] = found
            wb.problems += found.problems   # checked all the same; the Rekap says what is left out
    return wb
