"""The same demo deployment on either backend, for behaviour tests that must hold
on both: .xlsx files in a folder, or Google Sheets on the local emulator."""
from __future__ import annotations

import atexit
import datetime as dt
import shutil
import tempfile
from pathlib import Path

from sheets_sync.config import load_settings
from sheets_sync.demo.setup import make_demo
from sheets_sync.stores import StoreError
from sheets_sync.cycle import open_cycle, run_cycle

AS_OF = dt.date(2023, 10, 12)
# Who edits an OPD's spreadsheet in these tests: a person at the OPD, not the worker's
# account, so that Drive's lastModifyingUser.me is false for the edit as it is on Google
# (the emulator takes the caller from these headers; the worker sends none).
STAFF = {"X-Emulator-User": "staf.opd@contoh.go.id", "X-Emulator-User-Name": "Staf OPD"}
_TEMPLATES: dict[tuple, Path] = {}


def demo_copy(path: Path, *, backend: str, n_opds: int, as_of: dt.date) -> Path:
    """make_demo, but an .xlsx demo is made once per process and copied (its settings
    use paths relative to the settings file, so a copy is a deployment of its own).
    Google demos live on a per-test emulator and are made each time."""
    if backend != "xlsx":
        return make_demo(path, backend=backend, n_opds=n_opds, as_of=as_of)
    key = (n_opds, as_of)
    if key not in _TEMPLATES:
        folder = Path(tempfile.mkdtemp(prefix="demo-template-"))
        atexit.register(shutil.rmtree, folder, True)   # a test run leaves nothing in /tmp
        _TEMPLATES[key] = make_demo(folder / "settings.yaml", backend="xlsx", n_opds=n_opds, as_of=as_of).parent
    shutil.copytree(_TEMPLATES[key], path.parent, dirs_exist_ok=True)
    return path.parent / "settings.yaml"


class Deployment:
    """A settings file with demo OPDs, plus ways to look at and edit the workbooks
    the way a person would, behind the store's back."""

    def __init__(self, kind: str, folder: Path, emulator=None, n_opds: int = 5, session_factory=None,
                 parent: str | None = None):
        self.kind, self.emulator = kind, emulator
        self.session_factory = session_factory
        self.settings_path = (demo_copy(folder / "settings.yaml", backend=kind, n_opds=n_opds, as_of=AS_OF)
                              if parent is None else
                              make_demo(folder / "settings.yaml", backend=kind, n_opds=n_opds, as_of=AS_OF,
                                        parent=parent))
        self.settings = load_settings(self.settings_path)

    @classmethod
    def at(cls, settings_path: Path) -> "Deployment":
        """An .xlsx deployment already on disk (e.g. a copied folder)."""
        dep = cls.__new__(cls)
        dep.kind, dep.emulator, dep.session_factory = "xlsx", None, None
        dep.settings_path, dep.settings = settings_path, load_settings(settings_path)
        return dep

    # -------------------------------------------------------------- cycles
    def context(self, as_of=AS_OF):
        store = None
        if self.kind == "google" and self.session_factory:
            from sheets_sync.forms import load_forms
            from sheets_sync.stores.google import GoogleStore
            store = GoogleStore(self.settings, load_forms(), session=self.session_factory())
        return open_cycle(self.settings, as_of, store=store)

    def cycle(self, as_of=AS_OF, hooks=(), now=None):
        with self.context(as_of) as ctx:
            ctx.hooks, ctx.now = list(hooks), (ctx.now if now is None else (lambda: now))
            return run_cycle(ctx)

    def requests(self) -> int:
        return self.emulator.stats()["requests"] if self.emulator else 0

    # ------------------------------------------------------- look and edit
    def opds(self):
        with self.context() as ctx:
            return ctx.store.read_registry()[0]

    def grids(self, opd) -> dict[str, list[list]]:
        """Every tab of an OPD workbook as a grid of raw values."""
        if self.kind == "xlsx":
            from sheets_sync.stores.xlsx import read_grids
            return read_grids(self.settings.data_dir / opd.location)
        store = self._google_store()
        sid = self._sid(opd)
        titles = store._tab_titles(sid, refresh=True)
        return store.batch_get(sid, titles)

    def set_cell(self, opd, tab: str, row: int, col: int, value) -> None:
        if self.kind == "xlsx":
            import openpyxl
            path = self.settings.data_dir / opd.location
            book = openpyxl.load_workbook(path)
            book[tab].cell(row=row, column=col).value = value
            book.save(path)
            return
        from sheets_sync.stores.google import col_letter, quote
        self._google_store(staff=True).http.values_batch_update(self._sid(opd), {
            "valueInputOption": "RAW",
            "data": [{"range": f"{quote(tab)}!{col_letter(col)}{row}", "values": [[value]]}]})

    def rename_tab(self, opd, old: str, new: str) -> None:
        if self.kind == "xlsx":
            import openpyxl
            path = self.settings.data_dir / opd.location
            book = openpyxl.load_workbook(path)
            book[old].title = new
            book.save(path)
            return
        store, sid = self._google_store(staff=True), self._sid(opd)
        meta = store.http.spreadsheets_get(sid, params={"fields": "sheets.properties"})
        sheet_id = next(s["properties"]["sheetId"] for s in meta["sheets"] if s["properties"]["title"] == old)
        store.http.batch_update(sid, {"requests": [{"updateSheetProperties": {
            "properties": {"sheetId": sheet_id, "title": new}, "fields": "title"}}]})

    def delete(self, opd) -> None:
        if self.kind == "xlsx":
            (self.settings.data_dir / opd.location).unlink()
            return
        from gspread.urls import DRIVE_FILES_API_V3_URL
        self._google_store(staff=True).http.request("delete", f"{DRIVE_FILES_API_V3_URL}/{self._sid(opd)}")

    def _google_store(self, staff: bool = False):
        """A store on its own session; staff=True: its requests are a person's at the OPD."""
        from sheets_sync.forms import load_forms
        from sheets_sync.stores.google import GoogleStore
        from sheets_sync.stores.google_http import GoogleSession
        session = GoogleSession(None)
        if staff:
            session.headers.update(STAFF)
        return GoogleStore(self.settings, load_forms(), session=session)

    @staticmethod
    def _sid(opd) -> str:
        from sheets_sync.stores.google import spreadsheet_id
        return spreadsheet_id(opd.location)


def rekap(dep: Deployment) -> dict[str, list]:
    """The Rekap rows of the last cycle by OPD code (from the state database)."""
    from sheets_sync.cycle.state import State
    with State(dep.settings.state_db) as state:
        return {r[0]: r for r in state.get("rekap") or []}


__all__ = ["Deployment", "rekap", "AS_OF", "STAFF", "StoreError"]
