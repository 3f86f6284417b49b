"""Provisioning for the Google backend: one spreadsheet per OPD in the configured
Drive folder, shared with that OPD's contacts only; the master with the Inspektorat.

All HTTP goes through GoogleStore.http (gspread's HTTPClient over our GoogleSession:
quota buckets, retries, the emulator switch); this module never imports gspread.

Cost (what the quota sees):
- every run: one Drive files.list of the folder (names and versions of everything);
- the registry (Daftar OPD) is read only when the master's version moved since the
  worker or provision last read it (the worker's cache in state/google_cache.json);
- a new OPD: files.create, ONE spreadsheets.batchUpdate that turns the fresh
  spreadsheet (one tab "Sheet1", id 0) into exactly the wanted tabs, and one
  permissions.create per contact address;
- an existing spreadsheet is only looked at when its Drive version moved, or what
  it should hold changed (forms, name), since provision last left it complete:
  state/provision.json remembers a fingerprint of the spec and the version per
  spreadsheet. Looking costs one spreadsheets.get (the top rows of the form tabs
  with their validation and format, plus protected ranges and conditional formats);
  a repair one batchUpdate;
- new links: one values:batchUpdate on Daftar OPD for all of them;
- when anything was written: one more files.list to remember the new versions.
So a second run with nothing to do costs exactly one request.

Protection: the status columns (and the header rows) get a *warning-only*
protected range. Editors-only protection would need the worker's account as the
sole editor and would stop OPD staff from deleting or sorting whole rows (which
span the status columns); a warning stops the accident we care about (typing over
the worker's columns) and the worker rewrites those cells anyway.
"""
from __future__ import annotations

import json
import random
import re
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from sheets_sync.fileio import PRIVATE, atomic_write_text
from sheets_sync.progress import progress
from sheets_sync.config import ConfigError
from sheets_sync.forms import Form, FormSet, forms_for, norm_header
from sheets_sync.validate.layout import Problem
from sheets_sync.provision.spec import (CHOICE_HINT, ProvisionError, DATE_HINT, HEADER_ROW, LOCALE, PETUNJUK, STATUS_COLORS, TIME_ZONE,
                        Layout, OpdResult, Report, column_widths_px, describe, distinct_choices, emit, on_sheet,
                        fingerprint, fresh_layout, found_layout, frozen_columns, link_cell,
                        load_registry, petunjuk_lines, registry_notes, share_message, spreadsheet_name, tab_headers,
                        wanted_aspects)
from sheets_sync.validate.registry import Opd, shown_value
from sheets_sync.stores import CellWrite, StoreError
from sheets_sync.stores.google import SHEET_MIME, GoogleStore, value_ranges, quote, spreadsheet_id
from sheets_sync.stores.google_http import SlidingWindow

DRIVE = "https://www.googleapis.com/drive/v3/files"
SCAN_ROWS = 30            # rows read to find a tab's header (layout.HEADER_SCAN_ROWS)
GRID_ROWS = 1000
INSPECT_FIELDS = (
    "properties(title,locale,timeZone),"
    "sheets(properties(sheetId,title,index,gridProperties(frozenRowCount,frozenColumnCount)),"
    "protectedRanges(range,warningOnly,description),"
    "conditionalFormats(ranges,booleanRule(condition)),"
    "data(startRow,startColumn,rowData(values(effectiveValue,dataValidation(condition(type)),"
    "userEnteredFormat(numberFormat(type),wrapStrategy)))))")
TABS_FIELDS = "properties(title,locale,timeZone),sheets(properties(sheetId,title,index))"
HEADER_BG, STATUS_BG = "EEEEEE", "DDEBF7"
LOCALES = (LOCALE, "in_ID")   # Indonesian has had both codes; either is the id_ID locale
APP_KEY, APP_SEASON = "sheets_sync_opd", "sheets_sync_tahun"   # appProperties of a provisioned spreadsheet
MASTER_KEY = "sheets_sync_master"


def google_aspects(form: Form) -> list[str]:
    """What a provisioned tab has, with the view (Keterangan wrapped, the columns up to
    the name frozen): a spreadsheet made before gets it on the next provision."""
    return wanted_aspects(form) + ["view:wrap", "view:freeze"]


def _rgb(hexa: str) -> dict:
    return {"red": int(hexa[0:2], 16) / 255, "green": int(hexa[2:4], 16) / 255, "blue": int(hexa[4:6], 16) / 255}


def looks_like_google(location: str) -> bool:
    return bool(re.search(r"/d/[A-Za-z0-9_-]{10,}", location or "")) or \
        bool(re.fullmatch(r"[A-Za-z0-9_-]{25,}", (location or "").strip()))


def code_of(name: str) -> str:
    """"DINKES - SPI 2023 - Dinas Kesehatan" -> "DINKES"."""
    return (name or "").split(" - ", 1)[0].strip()


def ensure_master(settings, out=print, http=None) -> str:
    """google.master_id empty: find the master this installation made in the folder
    (by its appProperties tag), or create it there, and write its ID into the
    settings file (that one line; comments kept). Returns the ID."""
    from sheets_sync.config import set_setting
    from sheets_sync.stores.google import raw_http

    cfg = settings.google or {}
    folder = cfg.get("folder_id")
    if not folder:
        raise ConfigError("google.folder_id (folder Drive tempat spreadsheet dibuat) belum diisi; provision "
                          "memerlukannya untuk membuat master.")
    http = http or raw_http(cfg)
    tag = {MASTER_KEY: str(settings.year)}
    name = f"MASTER - SPI {settings.year}"
    try:
        meta = http.request("get", f"{DRIVE}/{folder}", params={"fields": "id,driveId",
                                                                "supportsAllDrives": "true"}).json()
    except Exception as e:  # noqa: BLE001 - gspread's APIError / requests' errors
        raise ProvisionError(_why(e, "membuka folder google.folder_id")) from e
    scope = {"corpora": "drive", "driveId": meta["driveId"]} if meta.get("driveId") else {"corpora": "user"}
    sid = create_tagged(http, folder, name, tag, scope, "membuat spreadsheet master")
    try:   # its first tab becomes Daftar OPD (filled below by provision), so nothing reads a missing tab
        tabs = http.spreadsheets_get(sid, params={"fields": "sheets.properties(sheetId,title)"})["sheets"]
        registry = forms_for(settings).registry["sheet"]
        if len(tabs) == 1 and tabs[0]["properties"]["title"] != registry:
            http.batch_update(sid, {"requests": [{"updateSheetProperties": {"properties": {
                "sheetId": tabs[0]["properties"]["sheetId"], "title": registry}, "fields": "title"}}]})
    except Exception as e:  # noqa: BLE001 - gspread's APIError / requests' errors
        raise ProvisionError(_why(e, "menyiapkan spreadsheet master")) from e
    set_setting(settings.path, "google", "master_id", sid)
    settings.google = {**cfg, "master_id": sid}
    out(f"Master dibuat: \"{name}\" {_link(sid)}; ID-nya ditulis ke {settings.path} (google.master_id).")
    return sid


def create_tagged(http, folder: str, name: str, tag: dict, scope: dict, doing: str, look_first: bool = True) -> str:
    """A spreadsheet in the folder tagged with appProperties, created at most once:
    looked up by its tag first (and again after a create that timed out or failed
    with 5xx, which Google may have carried out all the same)."""
    def tagged() -> str | None:
        q = (f"'{folder}' in parents and trashed=false and mimeType='{SHEET_MIME}' and "
             + " and ".join(f"appProperties has {{ key='{k}' and value='{v}' }}" for k, v in tag.items()))
        try:
            body = http.request("get", DRIVE, params={"q": q, "fields": "files(id)", "supportsAllDrives": "true",
                                                      "includeItemsFromAllDrives": "true", **scope}).json()
        except Exception as e:  # noqa: BLE001
            raise ProvisionError(_why(e, doing)) from e
        files = body.get("files", [])
        return files[0]["id"] if files else None

    if look_first:
        found = tagged()
        if found:
            return found
    body = {"name": name, "mimeType": SHEET_MIME, "parents": [folder], "appProperties": tag}
    for attempt in (1, 2):
        try:
            return http.request("post", DRIVE, json=body, params={"supportsAllDrives": "true", "fields": "id"}
                                ).json()["id"]
        except Exception as e:  # noqa: BLE001 - gspread's APIError / requests' errors
            status = _status(e)
            if status is not None and status < 500:
                raise ProvisionError(_why(e, doing)) from e
            found = tagged()
            if found:
                return found
            if attempt == 2:
                raise ProvisionError(_why(e, doing)) from e
    raise AssertionError("unreachable")


class GoogleProvisioner:
    parallel = 4

    def __init__(self, settings, forms: FormSet, store: GoogleStore | None = None, out=print):
        cfg = settings.google or {}
        if not cfg.get("folder_id"):
            raise ConfigError("google.folder_id (folder Drive tempat spreadsheet OPD dibuat) belum diisi; "
                              "provision memerlukannya.")
        self.settings, self.forms, self.out = settings, forms, out
        self.store = store or GoogleStore(settings, forms)
        self.http = self.store.http
        self.folder = str(cfg["folder_id"])
        self.state_path = Path(settings.state_dir) / "provision.json"
        self.state = _load(self.state_path)
        self.state.setdefault("spreadsheets", {})
        self.state.setdefault("master", {})
        self._lock = threading.Lock()
        self.touched: set[str] = set()     # spreadsheets written to in this run
        self.retabbed: set[str] = set()    # spreadsheets whose tab set changed
        session = self.store.session
        self.shares = SlidingWindow(int(cfg.get("shares_per_minute", 30)), clock=session.clock, sleep=session.sleep)
        self._scope: dict | None = None

    @property
    def scope(self) -> dict:
        """corpora/driveId for listing the folder (a shared drive is listed as a drive)."""
        if self._scope is None:
            self._scope = self.store.listing_scope()
        return self._scope

    # ================================================================ run
    def run(self, *, dry_run: bool = False, registry_csv=None) -> Report:
        session = self.store.session
        start = session.total
        rep = Report(dry_run)
        listing = self._list()
        grid, tab_missing, master_rev = self._registry(listing)
        opds, notes, edit = load_registry(grid, self.forms, registry_csv, keep_links=False, out=self.out,
                                          dry_run=dry_run)
        rep.notes += notes + registry_notes(opds)
        targets, owners = [], {}
        for opd in opds:
            try:
                sid, how = self._target(opd, listing)
                if sid is not None:
                    owners.setdefault(sid, []).append(opd.code)
                targets.append((opd, sid, how))
            except ProvisionError as e:
                targets.append((opd, None, str(e)))
        for i, (opd, sid, how) in enumerate(targets):   # one spreadsheet, two OPDs: neither is touched
            if sid is not None and len(owners[sid]) > 1:
                others = ", ".join(c for c in owners[sid] if c != opd.code)
                targets[i] = (opd, None, Problem("REG_LOCATION_SHARED", {"baris": opd.row, "opd": others}).text())
        with ThreadPoolExecutor(self.parallel) as pool:
            futures = [pool.submit(self._one_safe, opd, sid, how, listing, dry_run) for opd, sid, how in targets]
            for (opd, _, _), fut in progress(list(zip(targets, futures)), len(targets), "menyiapkan spreadsheet"):
                res = fut.result()
                rep.results.append(res)
                self.out(res.line(dry_run))
                if res.link and res.action != "failed":
                    link_cell(edit, self.forms, opd, res.link)
        if not dry_run:
            self._write_registry(edit, tab_missing, rep)
            self._share_master(rep)
            self._remember(master_rev, edit)
        elif edit.cells:
            rep.notes.append(f"Daftar OPD: {len(edit.cells)} sel akan ditulis.")
        rep.requests = session.total - start
        emit(rep, self.out)
        return rep

    # ========================================================== listing
    def _list(self) -> dict[str, dict]:
        """id -> {name, rev} of every spreadsheet in the folder (one request a page)."""
        q = f"mimeType='{SHEET_MIME}' and trashed=false and '{self.folder}' in parents"
        out, token = {}, None
        while True:
            params = {"q": q, "pageSize": 1000, "fields": "nextPageToken,files(id,name,version,modifiedTime)",
                      "supportsAllDrives": "true", "includeItemsFromAllDrives": "true", **self.scope}
            if token:
                params["pageToken"] = token
            body = self._call(lambda: self.http.request("get", DRIVE, params=params).json(),
                              "daftar spreadsheet di folder")
            for f in body.get("files", []):
                out[f["id"]] = {"name": f.get("name", ""), "rev": f"{f.get('version')}|{f.get('modifiedTime')}"}
            token = body.get("nextPageToken")
            if not token:
                return out

    def _registry(self, listing):
        """(grid of Daftar OPD, tab missing?, master rev) — from the worker's cache
        when the master did not change since it was read."""
        sheet = self.forms.registry["sheet"]
        mid = self.store.master_id
        rev = (listing.get(mid) or {}).get("rev")
        cached = self.store.cache.get("registry")
        if rev and cached and cached.get("rev") == rev:
            return cached["grid"], False, rev
        try:
            grid = self.store.batch_get(mid, [sheet])[sheet]
            return grid, False, rev
        except StoreError as e:
            if e.problem.code == "SHEET_MISSING":
                return [], True, rev
            raise ProvisionError(f"spreadsheet master tidak bisa dibaca ({e.problem.code}); periksa "
                                 f"google.master_id dan izin akun pekerja") from e

    def _target(self, opd: Opd, listing) -> tuple[str | None, str]:
        """The OPD's spreadsheet id (None: create one) and how it was found. Matched
        by the registry's link first, then by the code in the file name — never by
        the OPD's name, which may change."""
        loc = (opd.location or "").strip()
        if loc and looks_like_google(loc):
            sid = spreadsheet_id(loc)
            if sid == self.store.master_id:      # never renamed, given OPD tabs or shared as an OPD's
                raise ProvisionError(Problem("REG_LOCATION_MASTER", {"baris": opd.row}).text())
            if sid == spreadsheet_id(self.folder):
                raise ProvisionError(Problem("REG_LOCATION_INVALID", {
                    "baris": opd.row, "lokasi": shown_value(loc), "alasan": "itu folder Drive, bukan spreadsheet"}).text())
            if sid in listing:
                return sid, "link"
            meta = self._file(sid)
            if meta is not None:
                listing[sid] = meta
                return sid, "outside"
            raise ProvisionError("tautan di kolom Berkas / Tautan tidak bisa dibuka (dihapus, di tempat "
                                 "sampah, atau belum dibagikan ke akun pekerja). Bagikan spreadsheet itu, atau "
                                 "kosongkan selnya agar dibuatkan yang baru.")
        named = [sid for sid, f in listing.items()
                 if sid != self.store.master_id and code_of(f["name"]) == opd.code]
        if len(named) > 1:
            raise ProvisionError(f"{len(named)} spreadsheet bernama \"{opd.code} - …\" di folder; sisakan "
                                 f"satu atau tulis tautannya di kolom Berkas / Tautan.")
        if named:
            return named[0], "name"
        return None, "new" if not loc else "replace"

    def _file(self, sid: str) -> dict | None:
        try:
            f = self.http.request("get", f"{DRIVE}/{sid}", params={
                "fields": "id,name,version,modifiedTime,trashed", "supportsAllDrives": "true"}).json()
        except Exception as e:  # noqa: BLE001 - gspread's APIError, not imported here
            if _status(e) in (403, 404):
                return None
            raise ProvisionError(_why(e, "membuka spreadsheet")) from e
        if f.get("trashed"):
            return None
        return {"name": f.get("name", ""), "rev": f"{f.get('version')}|{f.get('modifiedTime')}"}

    # ====================================================== one OPD
    def _one_safe(self, opd: Opd, sid, how, listing, dry_run) -> OpdResult:
        if how not in ("link", "outside", "name", "new", "replace"):   # a resolution failure
            return OpdResult(opd.code, "failed", [how])
        if not opd.forms:
            return OpdResult(opd.code, "skipped", ["kolom Formulir tidak menyebut formulir yang dikenal"])
        try:
            return self._one(opd, sid, how, listing, dry_run)
        except ProvisionError as e:
            return OpdResult(opd.code, "failed", [str(e)])
        except StoreError as e:
            return OpdResult(opd.code, "failed", [e.problem.text()])

    def _one(self, opd: Opd, sid, how, listing, dry_run) -> OpdResult:
        name = spreadsheet_name(self.settings, opd)
        fp = fingerprint(self.settings, self.forms, opd)
        contacts = _emails(opd.contacts)
        if sid is None:
            details = [f"spreadsheet \"{name}\"", f"dibagikan ke {len(contacts)} alamat kontak"]
            if how == "replace":
                details.append(f"isi Berkas / Tautan \"{opd.location}\" bukan tautan Google, diganti")
            if dry_run:
                return OpdResult(opd.code, "created", details)
            sid = self._create(name, opd.code)
            self._batch(sid, self._new_requests(opd))
            note = self._set_locale(sid)
            if note:
                details.append(note)
            shared = self._share(sid, contacts, {}, opd, fresh=True)
            self._record(sid, opd, fp, None, shared)
            return OpdResult(opd.code, "created", details, _link(sid))
        link = _link(sid) if how in ("name",) else ""
        rec = self.state["spreadsheets"].get(sid)
        rev = listing[sid]["rev"]
        same_shares = rec is not None and set(rec.get("shared", {})) == set(contacts)
        if rec and rec.get("fingerprint") == fp and rec.get("version") == rev and same_shares:
            if link:
                return OpdResult(opd.code, "repaired", ["tautan ditulis lagi ke Daftar OPD"], link)
            return OpdResult(opd.code, "unchanged", [], link)
        details = []
        if how == "name":
            details.append("spreadsheet lama ditemukan dari namanya; tautannya ditulis ke Daftar OPD")
        if how == "outside":
            details.append("spreadsheet di luar folder google.folder_id")
        changed = False
        if not (rec and rec.get("fingerprint") == fp and rec.get("version") == rev):
            reqs, what, notes, locale = self._repairs(sid, opd, name)
            details += what + notes
            if reqs and not dry_run:
                self._batch(sid, reqs)
            if locale and not dry_run:
                note = self._set_locale(sid)
                if note:
                    details.append(note)
            changed = bool(reqs) or locale
        shares = rec.get("shared", {}) if rec else None
        share_notes, shared = self._share_diff(sid, contacts, shares, opd, dry_run, frozen=self._unsure(opd))
        details += share_notes
        changed = changed or bool(share_notes)
        if not dry_run:
            self._record(sid, opd, fp, None if changed else rev, shared)
        return OpdResult(opd.code, "repaired" if changed or link else "unchanged", details, link)

    def _record(self, sid, opd, fp, version, shared) -> None:
        with self._lock:
            self.state["spreadsheets"][sid] = {"code": opd.code, "fingerprint": fp, "version": version,
                                               "shared": shared}
            if version is None:
                self.touched.add(sid)

    # ---------------------------------------------------------- create
    def _create(self, name: str, code: str) -> str:
        """files.create in the folder, tagged with appProperties. Creating is not
        idempotent, so the session never repeats it; after a timeout or a 5xx the file
        may exist all the same: it is looked up by its tag before creating again."""
        tag = {APP_KEY: code, APP_SEASON: str(self.settings.year)}
        return create_tagged(self.http, self.folder, name, tag, self.scope, "membuat spreadsheet", look_first=False)

    def _set_locale(self, sid: str) -> str:
        """Locale and time zone in their own request, so that a refusal costs nothing
        else: id_ID, then in_ID (Indonesian has had both codes), then the time zone
        alone. Returns a note for the output when the locale had to be left."""
        for props, fields in [({"locale": loc, "timeZone": TIME_ZONE}, "locale,timeZone") for loc in LOCALES] + \
                [({"timeZone": TIME_ZONE}, "timeZone")]:
            try:
                self.http.batch_update(sid, {"requests": [{"updateSpreadsheetProperties": {
                    "properties": props, "fields": fields}}]})
            except Exception as e:  # noqa: BLE001 - gspread's APIError
                if _status(e) == 400:
                    continue
                raise ProvisionError(_why(e, "mengatur lokal spreadsheet")) from e
            if "locale" in props:
                return "" if props["locale"] == LOCALE else f"lokal {props['locale']} (id_ID ditolak Google)"
            return ("lokal id_ID/in_ID ditolak Google, lokal dibiarkan (pekerja membaca tanggal sebagai nilai, "
                    "tidak terpengaruh); zona waktu Asia/Jakarta diatur")
        return ("lokal dan zona waktu ditolak Google, dibiarkan; atur manual bila perlu: File → Setelan → "
                "Lokal Indonesia, Zona waktu (GMT+07:00) Jakarta")

    def _batch(self, sid: str, reqs: list[dict]) -> None:
        self._call(lambda: self.http.batch_update(sid, {"requests": reqs}), "menyiapkan spreadsheet")

    def _new_requests(self, opd: Opd) -> list[dict]:
        """One batchUpdate for a fresh spreadsheet (one tab "Sheet1", sheetId 0):
        Sheet1 becomes Petunjuk, one tab per form is added, everything formatted."""
        reqs = [{"updateSheetProperties": {"properties": {"sheetId": 0, "title": PETUNJUK, "index": 0},
                                           "fields": "title,index"}}]
        reqs += petunjuk_requests(0, petunjuk_lines(self.settings, self.forms, opd.forms))
        used = {0}
        for i, key in enumerate(opd.forms, start=1):
            sheet_id = _new_id(used)
            reqs += new_tab_requests(sheet_id, self.forms[key], self.forms, index=i)
        return reqs

    # ---------------------------------------------------------- repair
    def _repairs(self, sid: str, opd: Opd, name: str) -> tuple[list[dict], list[str], list[str], bool]:
        """(requests, what they add, notes, locale/time zone to set?) for an existing spreadsheet."""
        meta, all_ids = self._inspect(sid, opd)
        sheets = {s["properties"]["title"]: s for s in meta.get("sheets", [])}
        props = meta.get("properties", {})
        reqs, what, notes = [], [], []
        locale = props.get("locale") not in LOCALES or props.get("timeZone") != TIME_ZONE
        if locale:
            what.append("lokal id_ID dan zona waktu Asia/Jakarta")
        if props.get("title") != name:
            reqs.append({"updateSpreadsheetProperties": {"properties": {"title": name}, "fields": "title"}})
            what.append(f"nama spreadsheet menjadi \"{name}\"")
        used = set(all_ids)
        if not any(norm_header(t) == norm_header(PETUNJUK) for t in all_ids.values()):
            pid = _new_id(used)
            reqs.append({"addSheet": {"properties": {"sheetId": pid, "title": PETUNJUK, "index": 0}}})
            reqs += petunjuk_requests(pid, petunjuk_lines(self.settings, self.forms, opd.forms))
            what.append(f"tab {PETUNJUK} dibuat")
            self.retabbed.add(sid)
        for key in opd.forms:
            form = self.forms[key]
            title = form.sheet_in(list(all_ids.values()))
            if title is None:
                reqs += new_tab_requests(_new_id(used), form, self.forms, index=None)
                what.append(f"tab {form.sheet} dibuat")
                self.retabbed.add(sid)
                continue
            sheet = sheets.get(title)
            if sheet is None:     # present but not returned (should not happen): leave it
                continue
            grid, cells = _grid(sheet)
            lay = found_layout(grid, form, self.forms, title)
            if isinstance(lay, Problem):
                notes.append(f"tab {title}: judul kolom tidak dikenali, tidak diperbaiki")
                continue
            sheet_id = sheet["properties"].get("sheetId", 0)
            missing = [a for a in on_sheet(google_aspects(form), lay) if not _has(sheet, sheet_id, cells, form, lay, a)]
            if missing:
                reqs += aspect_requests(sheet_id, form, lay, missing)
                what.append(f"tab {title}: " + ", ".join(describe(missing, form)))
        return reqs, what, notes, locale

    def _inspect(self, sid: str, opd: Opd) -> tuple[dict, dict[int, str]]:
        """One spreadsheets.get of the top rows of the form tabs (by their usual
        names); when a tab is missing or renamed, first ask which tabs there are."""
        titles = [self.forms[k].sheet for k in opd.forms]
        try:
            meta = self._get(sid, [f"{quote(t)}!1:{SCAN_ROWS}" for t in titles] + [f"{quote(PETUNJUK)}!A1"],
                             INSPECT_FIELDS)
            ids = {s["properties"].get("sheetId", 0): s["properties"]["title"] for s in meta.get("sheets", [])}
            return meta, ids
        except StoreError as e:
            if e.problem.code != "SHEET_MISSING":
                raise
        tabs = self._get(sid, None, TABS_FIELDS)
        ids = {s["properties"].get("sheetId", 0): s["properties"]["title"] for s in tabs.get("sheets", [])}
        present = [t for t in ids.values() if any(self.forms[k].matches_sheet(t) for k in opd.forms)]
        if not present:
            return tabs, ids
        meta = self._get(sid, [f"{quote(t)}!1:{SCAN_ROWS}" for t in present], INSPECT_FIELDS)
        meta["properties"] = tabs.get("properties", {})
        return meta, ids

    def _get(self, sid: str, ranges, fields: str) -> dict:
        params = {"fields": fields}
        if ranges:
            params["ranges"] = ranges
        return self.store.call(lambda: self.http.spreadsheets_get(sid, params=params))

    # ---------------------------------------------------------- sharing
    def _unsure(self, opd: Opd) -> bool:
        """The contact cell holds something that is not an address ('anyone', a domain,
        a typo): whom it meant is unknown, so sharing is left exactly as it is."""
        header = next(c["header"] for c in self.forms.registry["columns"] if c["key"] == "email_kontak")
        return any(p.code == "REG_EMAIL_INVALID" and p.params.get("kolom") == header for p in opd.problems)

    def _share_diff(self, sid, contacts: list[str], shares: dict | None, opd, dry_run, frozen: bool = False):
        """Share with contacts not shared yet; take back what provision itself shared
        with an address no longer in the registry. Without a record (state lost, a
        spreadsheet found by name) the current permissions are read first, so nobody
        gets a second invitation. `frozen`: share with nobody new, revoke nobody."""
        if shares is None:
            current = self._permissions(sid)
            shares = {e: pid for e, pid in current.items() if e in contacts}
        add = [e for e in contacts if e not in shares]
        drop = [e for e in shares if e not in contacts]
        if frozen and (add or drop):
            return ["akses tidak diubah: kolom E-mail Kontak berisi nilai yang bukan alamat e-mail (berbagi ke "
                    "semua orang atau ke satu domain tidak diizinkan); perbaiki Daftar OPD lalu jalankan lagi"], shares
        notes = []
        if add:
            notes.append(f"dibagikan ke {len(add)} alamat baru")
        if drop:
            notes.append(f"akses {len(drop)} alamat yang tidak lagi di Daftar OPD dicabut")
        if dry_run:
            return notes, shares
        shares = dict(shares)
        shares.update(self._share(sid, add, shares, opd, fresh=False))
        for e in drop:
            pid = shares.pop(e)
            self._call(lambda: self.http.request("delete", f"{DRIVE}/{sid}/permissions/{pid}",
                                                 params={"supportsAllDrives": "true"}), "mencabut akses")
        return notes, shares

    def _share(self, sid, emails, known: dict, opd: Opd | None, fresh: bool) -> dict[str, str]:
        out = {}
        message = share_message(self.settings, opd)
        for email in emails:
            if email in known:
                continue
            params = {"supportsAllDrives": "true", "sendNotificationEmail": "true", "emailMessage": message,
                      "fields": "id"}
            body = {"role": "writer", "type": "user", "emailAddress": email}
            self.shares.take()   # Drive limits sharing on its own; keep well under it
            try:
                perm = self.http.request("post", f"{DRIVE}/{sid}/permissions", params=params, json=body).json()
            except Exception as e:  # noqa: BLE001 - gspread's APIError / requests' errors
                if _status(e) != 400:
                    raise ProvisionError(_why(e, f"membagikan ke {_mask(email)}")) from e
                # Drive answers 400 when the share was made but its notification e-mail
                # could not be sent: what counts is whether the permission exists
                pid = self._permissions(sid).get(email)
                if pid is None:
                    raise ProvisionError(_why(e, f"membagikan ke {_mask(email)}")) from e
                perm = {"id": pid}
            out[email] = perm.get("id", "")
        return out

    def _permissions(self, sid: str) -> dict[str, str]:
        body = self._call(lambda: self.http.request("get", f"{DRIVE}/{sid}/permissions", params={
            "supportsAllDrives": "true", "fields": "permissions(id,emailAddress,role,type)"}).json(),
            "membaca daftar akses")
        return {p["emailAddress"].casefold(): p["id"] for p in body.get("permissions", [])
                if p.get("emailAddress") and p.get("role") != "owner"}

    def _share_master(self, rep: Report) -> None:
        mid = self.store.master_id
        want = _emails(self.settings.inspektorat_emails)
        rec = self.state["master"]
        shares = rec.get("shared") if rec.get("id") == mid else None
        try:
            notes, shared = self._share_diff(mid, want, shares, None, False)
        except ProvisionError as e:
            rep.notes.append(f"Master: {e}")
            return
        if notes:
            rep.notes.append("Master: " + "; ".join(notes) + " (inspektorat.email).")
            self.touched.add(mid)
        self.state["master"] = {"id": mid, "shared": shared}

    # ------------------------------------------------------- registry
    def _write_registry(self, edit, tab_missing: bool, rep: Report) -> None:
        if not edit.cells:
            return
        sheet = self.forms.registry["sheet"]
        mid = self.store.master_id
        try:
            if tab_missing:
                self._batch(mid, [{"addSheet": {"properties": {"title": sheet, "index": 0}}}])
            writes = [CellWrite(sheet, r, c, v) for (r, c), v in edit.cells.items()]
            data = [{"range": rng, "values": vals} for rng, vals in value_ranges(writes)]
            self._call(lambda: self.http.values_batch_update(mid, {"valueInputOption": "RAW", "data": data}),
                       "menulis Daftar OPD")
        except (ProvisionError, StoreError) as e:
            rep.notes.append(f"Daftar OPD tidak diperbarui: {e}. Jalankan lagi.")
            return
        self.touched.add(mid)
        links = sum(1 for r in rep.results if r.link)
        what = f"{edit.bootstrapped} OPD dari {Path(edit.source).name}, " if edit.bootstrapped else ""
        rep.notes.append(f"Daftar OPD diperbarui: {what}{links} tautan ditulis.")

    def _remember(self, master_rev, edit) -> None:
        """After writing: one listing for the versions we left things at, so that the
        next run has nothing to look at; the worker's registry cache follows."""
        cache = self.store.cache
        if self.touched or self.retabbed:
            now = self._list()
            for sid in self.touched:
                rec = self.state["spreadsheets"].get(sid)
                if rec is not None and sid in now:
                    rec["version"] = now[sid]["rev"]
            master_rev = (now.get(self.store.master_id) or {}).get("rev")
            for sid in self.retabbed:
                for key in ("tabs", "grids"):
                    cache.get(key, {}).pop(sid, None)
        if master_rev:
            cache["registry"] = {"rev": master_rev, "grid": edit.grid}
        self.store.save_cache()
        _save(self.state_path, self.state)

    # ------------------------------------------------------- helpers
    def _call(self, fn, doing: str):
        try:
            return fn()
        except (ProvisionError, StoreError):
            raise
        except Exception as e:  # noqa: BLE001 - gspread's APIError / requests' errors
            raise ProvisionError(_why(e, doing)) from e


# ====================================================== request builders
def _new_id(used: set) -> int:
    while True:
        i = random.randint(1_000_000, 2_000_000_000)
        if i not in used:
            used.add(i)
            return i


def _gr(sheet_id: int, r0=None, r1=None, c0=None, c1=None) -> dict:
    out = {"sheetId": sheet_id}
    for k, v in (("startRowIndex", r0), ("endRowIndex", r1), ("startColumnIndex", c0), ("endColumnIndex", c1)):
        if v is not None:
            out[k] = v
    return out


def _text(v: str, **fmt) -> dict:
    return {"userEnteredValue": {"stringValue": v}, "userEnteredFormat": fmt} if fmt else \
        {"userEnteredValue": {"stringValue": v}}


def new_tab_requests(sheet_id: int, form: Form, forms: FormSet, index: int | None) -> list[dict]:
    """A form tab: headers in rows 1-2, widths, and every aspect."""
    headers = tab_headers(form, forms)
    props = {"sheetId": sheet_id, "title": form.sheet,
             "gridProperties": {"rowCount": GRID_ROWS, "columnCount": max(26, len(headers)), "frozenRowCount": HEADER_ROW,
                                "frozenColumnCount": frozen_columns(form)}}
    if index is not None:
        props["index"] = index
    n = len(form.columns)
    header_cells = [_text(h, textFormat={"bold": True}, wrapStrategy="WRAP", verticalAlignment="MIDDLE",
                          backgroundColor=_rgb(STATUS_BG if i >= n else HEADER_BG))
                    for i, h in enumerate(headers)]
    reqs = [{"addSheet": {"properties": props}},
            {"updateCells": {"start": {"sheetId": sheet_id, "rowIndex": 0, "columnIndex": 0},
                             "rows": [{"values": [_text(form.title, textFormat={"bold": True, "fontSize": 12})]},
                                      {"values": header_cells}],
                             "fields": "userEnteredValue,userEnteredFormat"}}]
    for i, px in enumerate(column_widths_px(form)):
        reqs.append({"updateDimensionProperties": {
            "range": {"sheetId": sheet_id, "dimension": "COLUMNS", "startIndex": i, "endIndex": i + 1},
            "properties": {"pixelSize": px}, "fields": "pixelSize"}})
    # frozen panes are in the addSheet above
    return reqs + aspect_requests(sheet_id, form, fresh_layout(form), wanted_aspects(form) + ["view:wrap"])


def aspect_requests(sheet_id: int, form: Form, lay: Layout, aspects: list[str]) -> list[dict]:
    first = lay.header_row          # 0-based index of the first data row
    s0, s1 = lay.status_span
    reqs = []
    for aspect in aspects:
        kind, _, key = aspect.partition(":")
        if kind == "format":
            c = lay.columns[key]
            col = form.column(key)
            fmt = {"type": "TEXT"} if col.type == "phone" else {"type": "DATE", "pattern": "dd/mm/yyyy"}
            reqs.append({"repeatCell": {"range": _gr(sheet_id, first, None, c - 1, c),
                                        "cell": {"userEnteredFormat": {"numberFormat": fmt}},
                                        "fields": "userEnteredFormat.numberFormat"}})
        elif kind == "validation":
            c = lay.columns[key]
            col = form.column(key)
            if col.type == "choice":
                rule = {"condition": {"type": "ONE_OF_LIST",
                                      "values": [{"userEnteredValue": v} for v in distinct_choices(col)]},
                        "inputMessage": CHOICE_HINT, "strict": False, "showCustomUi": True}
            else:
                rule = {"condition": {"type": "DATE_IS_VALID"}, "inputMessage": DATE_HINT, "strict": False}
            reqs.append({"setDataValidation": {"range": _gr(sheet_id, first, None, c - 1, c), "rule": rule}})
        elif aspect == "protect:status":
            reqs.append({"addProtectedRange": {"protectedRange": {
                "range": _gr(sheet_id, None, None, s0 - 1, s1), "warningOnly": True,
                "description": "Kolom Status, Keterangan dan Diperiksa diisi otomatis oleh pekerja Inspektorat"}}})
        elif aspect == "protect:header":
            reqs.append({"addProtectedRange": {"protectedRange": {
                "range": _gr(sheet_id, 0, lay.header_row, 0, s1), "warningOnly": True,
                "description": "Baris judul formulir: jangan diubah"}}})
        elif aspect == "view:wrap":   # Keterangan wraps (bottom: on its row's line); Sheets fits the heights
            c = lay.status["message"]
            reqs.append({"repeatCell": {"range": _gr(sheet_id, first, None, c - 1, c),
                                        "cell": {"userEnteredFormat": {"wrapStrategy": "WRAP",
                                                                       "verticalAlignment": "BOTTOM"}},
                                        "fields": "userEnteredFormat.wrapStrategy,userEnteredFormat.verticalAlignment"}})
        elif aspect == "view:freeze":
            name = next((c.key for c in form.columns[:frozen_columns(form)][::-1] if c.key in lay.columns), None)
            reqs.append({"updateSheetProperties": {"properties": {"sheetId": sheet_id, "gridProperties": {
                "frozenRowCount": lay.header_row, "frozenColumnCount": lay.columns[name] if name else 0}},
                "fields": "gridProperties.frozenRowCount,gridProperties.frozenColumnCount"}})
        elif kind == "cf":
            bg, fg = STATUS_COLORS[key]
            c = lay.status["status"]
            reqs.append({"addConditionalFormatRule": {"index": 0, "rule": {
                "ranges": [_gr(sheet_id, first, None, c - 1, c)],
                "booleanRule": {"condition": {"type": "TEXT_EQ", "values": [{"userEnteredValue": key}]},
                                "format": {"backgroundColor": _rgb(bg),
                                           "textFormat": {"foregroundColor": _rgb(fg), "bold": True}}}}}})
    return reqs


def petunjuk_requests(sheet_id: int, lines: list[str]) -> list[dict]:
    rows = []
    for i, line in enumerate(lines):
        if line.startswith("# "):
            rows.append({"values": [_text(line[2:], textFormat={"bold": True, "fontSize": 13 if i == 0 else 11},
                                          wrapStrategy="WRAP")]})
        elif line:
            rows.append({"values": [_text(line, wrapStrategy="WRAP")]})
        else:
            rows.append({})
    return [{"updateCells": {"start": {"sheetId": sheet_id, "rowIndex": 0, "columnIndex": 0}, "rows": rows,
                             "fields": "userEnteredValue,userEnteredFormat"}},
            {"updateDimensionProperties": {
                "range": {"sheetId": sheet_id, "dimension": "COLUMNS", "startIndex": 0, "endIndex": 1},
                "properties": {"pixelSize": 900}, "fields": "pixelSize"}}]


# ============================================================ inspection
def _grid(sheet: dict) -> tuple[list[list], dict[tuple[int, int], dict]]:
    """Values of the rows returned (1-based rows/cols in the cells map)."""
    grid: list[list] = []
    cells: dict[tuple[int, int], dict] = {}
    for block in sheet.get("data", []) or []:
        r0, c0 = block.get("startRow", 0), block.get("startColumn", 0)
        for i, row in enumerate(block.get("rowData", []) or []):
            r = r0 + i
            while len(grid) <= r:
                grid.append([])
            values = []
            for j, cell in enumerate(row.get("values", []) or []):
                cells[(r + 1, c0 + j + 1)] = cell
                ev = cell.get("effectiveValue") or {}
                values.append(ev.get("stringValue", ev.get("numberValue", ev.get("boolValue"))))
            grid[r] = [None] * c0 + values
    return grid, cells


def _has(sheet: dict, sheet_id: int, cells: dict, form: Form, lay: Layout, aspect: str) -> bool:
    kind, _, key = aspect.partition(":")
    first = lay.header_row + 1            # 1-based first data row
    s0, s1 = lay.status_span
    if kind == "format":
        cell = cells.get((first, lay.columns[key])) or {}
        t = ((cell.get("userEnteredFormat") or {}).get("numberFormat") or {}).get("type")
        return t == "TEXT" if form.column(key).type == "phone" else t in ("DATE", "DATE_TIME")
    if kind == "validation":
        cell = cells.get((first, lay.columns[key])) or {}
        t = ((cell.get("dataValidation") or {}).get("condition") or {}).get("type", "")
        return t == "ONE_OF_LIST" if form.column(key).type == "choice" else t.startswith("DATE")
    if kind == "protect":
        for pr in sheet.get("protectedRanges", []) or []:
            g = pr.get("range") or {}
            if g.get("sheetId", 0) != sheet_id:
                continue
            c0, c1 = g.get("startColumnIndex", 0), g.get("endColumnIndex")
            r0, r1 = g.get("startRowIndex", 0), g.get("endRowIndex")
            if key == "status" and c0 <= s0 - 1 and (c1 is None or c1 >= s1) and r0 <= lay.header_row \
                    and (r1 is None or r1 > lay.header_row):
                return True
            if key == "header" and r0 == 0 and (r1 is None or r1 >= lay.header_row) and c0 == 0 \
                    and (c1 is None or c1 >= s1):
                return True
        return False
    if aspect == "view:wrap":
        cell = cells.get((first, lay.status["message"])) or {}
        return (cell.get("userEnteredFormat") or {}).get("wrapStrategy") == "WRAP"
    if aspect == "view:freeze":   # the old default (header rows only) is repaired, a person's own choice kept
        grid = sheet.get("properties", {}).get("gridProperties") or {}
        return (grid.get("frozenRowCount", 0), grid.get("frozenColumnCount", 0)) != (lay.header_row, 0)
    if kind == "cf":
        c = lay.status["status"]
        for rule in sheet.get("conditionalFormats", []) or []:
            cond = (rule.get("booleanRule") or {}).get("condition") or {}
            values = [v.get("userEnteredValue") for v in cond.get("values", []) or []]
            if cond.get("type") != "TEXT_EQ" or values != [key]:
                continue
            for g in rule.get("ranges", []) or []:
                if g.get("startColumnIndex", 0) <= c - 1 < (g.get("endColumnIndex") or 10 ** 6) \
                        and g.get("startRowIndex", 0) <= lay.header_row:
                    return True
        return False
    return True


# ================================================================ helpers
def _emails(items) -> list[str]:
    out = []
    for e in items or ():
        e = str(e).strip().casefold()
        if e and "@" in e and e not in out:
            out.append(e)
    return out


def _link(sid: str) -> str:
    return f"https://docs.google.com/spreadsheets/d/{sid}/edit"


def _mask(email: str) -> str:
    from sheets_sync.logsafe import mask
    return mask(email)


def _status(e) -> int | None:
    resp = getattr(e, "response", None)
    return getattr(resp, "status_code", None)


def _why(e, doing: str) -> str:
    """Google's answer in Indonesian, with the fix where there is a known one."""
    resp = getattr(e, "response", None)
    if resp is None:
        return f"{doing}: jaringan ({type(e).__name__})"
    try:
        err = resp.json().get("error", {})
    except ValueError:
        err = {}
    reasons = {x.get("reason") for x in err.get("errors", []) or []}
    message = str(err.get("message", ""))[:200]
    code = resp.status_code
    if "storageQuotaExceeded" in reasons or "storage quota" in message.lower():
        return (f"{doing}: Google menolak (storageQuotaExceeded). Service account tidak punya ruang di Drive "
                f"pribadi: pakai folder di Drive bersama (shared drive) untuk google.folder_id, atau masuk "
                f"dengan akun pengguna (google.oauth_token). Lihat README, bagian Google Sheets.")
    if code == 404:
        return (f"{doing}: tidak ditemukan (404) — folder/spreadsheet tidak ada atau belum dibagikan ke akun "
                f"pekerja sebagai Editor.")
    if code == 403:
        return f"{doing}: akun pekerja tidak diizinkan (403): {message}"
    return f"{doing}: Google menjawab {code}: {message}"


def _load(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def _save(path: Path, data: dict) -> None:
    atomic_write_text(path, json.dumps(data, indent=1, sort_keys=True), mode=PRIVATE)
