"""`python -m sheets_sync season new --year 2024`: the respondent database lives on
into next season (point 9 of the circular).

Steps, each done once and recorded in a journal beside the data
(<data_dir>/.sheets_sync/musim/<year>.json), so that a run killed at any point is
finished by running the same command again, without doing a step twice:

  previous   last season's accepted rows per OPD and form, from its state (for the
             Rekap's "Dibanding musim ..." column)
  master     a dated copy of the master in the archive (never deleted)
  opd:<KODE> a copy of the OPD's workbook in the archive, then its time-bound forms
             (carry_over: false in forms.yaml) emptied; the other forms keep every
             cell staff typed, and the next cycle re-validates them against the new
             reporting date (tenure, dates) and writes fresh statuses
  state      the old state database kept read-only (state/arsip/state-<year>.sqlite);
             a fresh one with an empty reminder ledger
  records    the old season's sent-reminder records moved to sent-<year>/
  settings   `tahun` and `deadline` (and a dated `tanggal_laporan`) in the settings
             file, comments kept (config.set_setting)

A fault in one OPD's workbook does not stop the others; the season is only switched
(state, records, settings) once every OPD is done. A finished journal refuses a
second run for the same year.
"""
from __future__ import annotations

import datetime as dt
import fcntl
import json
import os
from pathlib import Path

from sheets_sync.codes import explain
from sheets_sync.config import WIB, ConfigError, load_settings, parse_date, read_yaml, set_setting
from sheets_sync.cycle.context import make_store
from sheets_sync.cycle.rollover import journal_path, unfinished_journals
from sheets_sync.cycle.state import State
from sheets_sync.fileio import PRIVATE, atomic_write_text, fsync_dir, private_dir
from sheets_sync.forms import FormSet, forms_for
from sheets_sync.logsafe import mask
from sheets_sync.ops.season_checks import SeasonError, check_deadline, check_year, same_day
from sheets_sync.stores import CellWrite, StoreError
from sheets_sync.validate.opd_state import ACCEPTED
from sheets_sync.validate.registry import Opd, safe_file_name


def _why_not_rolled(problem) -> str:
    """A workbook's problem as said by `season new`: the cycle's text for an open file
    promises a status write, which is not what this command waits for."""
    if problem.code == "WB_LOCKED":
        return "berkas sedang dibuka di Excel/LibreOffice; minta OPD menyimpan dan menutupnya"
    return mask(problem.text()).rstrip(".")   # the message adds its own '.' after the list


def new_season(settings_path, year: int, deadline: dt.date | None = None, *, dry_run: bool = False,
               today: dt.date | None = None, as_of: dt.date | None = None, out=print, on_step=None,
               store=None, first_cycle: bool = True) -> dict:
    """Start season `year` (see the module's doc). Returns the journal. on_step(name)
    is called before each step and on_step(name + ':selesai') after it (tests crash there)."""
    settings = load_settings(settings_path)
    today = today or dt.datetime.now(WIB).date()
    path = journal_path(settings, year)
    journal = _journal(path, settings, year, deadline, today, out, as_of)
    forms = forms_for(settings)
    store = store or make_store(settings, forms)
    opds, notes = store.read_registry()
    if not opds:
        raise SeasonError("Daftar OPD tidak dapat dibaca atau kosong" + (f": {' '.join(notes)}" if notes else "")
                          + "; pergantian musim tidak dijalankan.")
    if dry_run:
        _show_plan(journal, opds, forms, settings, out)
        return journal
    locks = _take_locks(settings)
    try:
        _run(settings, forms, store, opds, journal, path, out, on_step or (lambda name: None))
    finally:
        for f in locks:
            f.close()
    if first_cycle:
        _first_cycle(Path(settings_path), store, as_of, out)
    return journal


# ---------------------------------------------------------------- journal
def _journal(path: Path, settings, year: int, deadline, today: dt.date, out, as_of: dt.date | None = None) -> dict:
    journal = None
    if path.is_file():
        try:
            journal = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            raise SeasonError(f"Catatan pergantian musim {path} rusak; periksa atau pindahkan berkas itu, "
                              f"lalu jalankan lagi.") from None
    other = next((p for p in unfinished_journals(settings) if p != path), None)
    if other is not None:      # two rollovers interleaved would archive and empty the wrong season
        raise SeasonError(f"Pergantian musim ke {other.stem} belum selesai (catatan {other}). Selesaikan dulu: "
                          f"python -m sheets_sync season new --year {other.stem} --config {settings.path}")
    if journal and journal.get("finished"):
        raise SeasonError(f"Musim {year} sudah dimulai pada {journal['finished']} (dari musim {journal['from']}). "
                          f"Pergantian musim tidak dijalankan dua kali untuk satu tahun.")
    if journal:
        out(f"Melanjutkan pergantian musim {journal['from']} → {year} yang terhenti "
            f"(langkah selesai: {', '.join(journal['done']) or '-'}).")
        if deadline and deadline.isoformat() != journal["deadline"]:
            out(f"Catatan: batas waktu tetap {journal['deadline']} seperti pada percobaan pertama.")
        return journal
    check_year(settings, year)
    deadline = check_deadline(settings, year, deadline, as_of or today)   # as_of: the first cycle's day
    return {"from": settings.year, "to": year, "deadline": deadline.isoformat(),
            "started": today.isoformat(), "done": [], "opds": {}, "archive": {}, "previous": None}


def _save(path: Path, journal: dict) -> None:
    atomic_write_text(path, json.dumps(journal, ensure_ascii=False, indent=1), mode=PRIVATE)


def _step(name: str, journal: dict, path: Path, on_step, action) -> None:
    """Run `action` once: skipped when the journal has it, recorded right after."""
    if name in journal["done"]:
        return
    on_step(name)
    action()
    on_step(name + ":selesai")
    journal["done"].append(name)
    _save(path, journal)


def _take_locks(settings) -> list:
    """The worker's own locks (jobs.py): no cycle may run while the season changes."""
    held = []
    for lock in (settings.data_lock_file, settings.lock_file):
        private_dir(lock.parent)
        f = os.fdopen(os.open(lock, os.O_RDWR | os.O_CREAT, PRIVATE), "a+")
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            f.close()
            for g in held:
                g.close()
            raise SeasonError("Pekerja sedang berjalan untuk data ini (kuncinya dipegang). Hentikan dulu "
                              "(sudo systemctl stop sheets-sync), jalankan pergantian musim, lalu nyalakan lagi.") \
                from None
        held.append(f)
    return held


# ------------------------------------------------------------------ steps
def _run(settings, forms: FormSet, store, opds: list[Opd], journal: dict, path: Path, out, on_step) -> None:
    private_dir(path.parent)
    old = journal["from"]
    _save(path, journal)
    _step("previous", journal, path, on_step, lambda: journal.update(previous=_previous(settings, old)))
    try:
        _step("master", journal, path, on_step, lambda: journal["archive"].update(
            master=store.archive_copy(None, _archive_name(settings, old, journal["started"]))))
    except StoreError as e:
        raise SeasonError(f"Master belum dapat diarsipkan ({mask(e.problem.text())}); belum ada yang diubah. "
                          f"Perbaiki lalu jalankan perintah yang sama lagi.") from None
    failed = []
    for opd in opds:
        try:
            _step(f"opd:{opd.code}", journal, path, on_step, lambda o=opd: journal["opds"].update(
                {o.code: _roll_opd(settings, forms, store, o, old)}))
        except StoreError as e:
            failed.append(f"{opd.code}: {_why_not_rolled(e.problem)}")
        except Exception as e:  # noqa: BLE001 - one OPD's fault never stops the others
            failed.append(f"{opd.code}: {mask(explain(e)).rstrip('.')}")
    if failed:
        raise SeasonError("Belum selesai: workbook OPD berikut belum dapat diarsipkan/dikosongkan (OPD lain "
                          "sudah): " + "; ".join(failed) + ". Perbaiki lalu jalankan perintah yang sama lagi; "
                          "musim belum diganti.")
    _step("state", journal, path, on_step, lambda: _new_state(settings, journal))
    _step("records", journal, path, on_step, lambda: _move_records(settings, old))
    _step("settings", journal, path, on_step, lambda: _write_settings(settings, journal))
    journal["finished"] = dt.datetime.now(WIB).strftime("%d/%m/%Y %H:%M WIB")
    _save(path, journal)
    _report(journal, forms, settings, out)
    _obligations_left(opds, forms, journal, out)


def _previous(settings, year: int) -> dict:
    """{year, rows: {OPD: {form: accepted rows}}} of the last cycle of the old season."""
    rows = {}
    if settings.state_db.exists():
        with State(settings.state_db, read_only=True) as st:
            for o in st.get("registry") or []:
                results = st.opd(str(o["code"])).results
                rows[str(o["code"])] = {k: int(r.status.isin(ACCEPTED).sum()) for k, r in results.items()}
    return {"year": year, "rows": rows}


def _archive_name(settings, year: int, started: str, opd: Opd | None = None) -> str:
    if settings.backend == "google":
        return (f"Arsip master SPI {year} ({started})" if opd is None
                else f"Arsip SPI {year} - {opd.name} ({opd.code})")
    return f"master-{year}-{started}.xlsx" if opd is None else f"{year}/{safe_file_name(opd.code)}"


def _roll_opd(settings, forms: FormSet, store, opd: Opd, old: int) -> dict:
    """Archive one OPD's workbook, then empty its time-bound forms."""
    if opd.refused:
        return {"dilewati": opd.refused.text()}
    if store.revisions([opd]).get(opd.code) is None:
        return {"dilewati": "workbook belum ada"}
    wb = store.read_workbook(opd)          # first: an unreadable file is neither archived nor emptied
    copy = store.archive_copy(opd, _archive_name(settings, old, "", opd))
    writes, carried, emptied = [], {}, {}
    for key, sheet in wb.sheets.items():
        rows = [int(r) for r in sheet.frame.index]
        if forms[key].carry_over:
            carried[key] = _typed_rows(sheet.frame, forms[key])
            continue
        emptied[key] = _typed_rows(sheet.frame, forms[key])
        cols = [c for k, c in sheet.columns.items() if not forms[key].column(k).prefilled]
        cols += list(sheet.status_columns.values())
        writes += [CellWrite(sheet.title, r, c, "") for r in rows for c in cols]
    if writes:
        store.clear_cells(opd, wb, writes)
    return {"arsip": copy, "dibawa": carried, "dikosongkan": emptied}


def _typed_rows(frame, form) -> int:
    """Rows with something typed beyond the prefilled numbering (the report's counts:
    a provisioned tab numbers rows nobody has filled)."""
    keys = [k for k in frame.columns if k in form.keys and not form.column(k).prefilled]
    return sum(any(v is not None and str(v).strip() not in ("", "nan") for v in row)
               for row in frame[keys].itertuples(index=False))


def _new_state(settings, journal: dict) -> None:
    """The old state database read-only in state/arsip/, a fresh one (empty ledger)
    that knows last season's row counts."""
    db = settings.state_db
    kept = settings.state_dir / "arsip" / f"state-{journal['from']}.sqlite"
    if db.exists() and not kept.exists():
        with State(db) as st:
            st.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")    # everything in the main file
        private_dir(kept.parent)
        os.replace(db, kept)
        for extra in ("-wal", "-shm"):
            Path(f"{db}{extra}").unlink(missing_ok=True)
        fsync_dir(kept.parent)
        fsync_dir(db.parent)
    if kept.exists():      # also when a run was killed between the move and this
        os.chmod(kept, 0o400)
    journal["archive"]["state"] = str(kept)
    with State(db) as st:
        st.set("previous_season", journal["previous"])
        st.set("season", {"year": journal["to"], "from": journal["from"], "started": journal["started"]})


def _move_records(settings, old: int) -> None:
    sent, kept = settings.records_dir / "sent", settings.records_dir / f"sent-{old}"
    if sent.exists() and not kept.exists():
        os.replace(sent, kept)
        fsync_dir(settings.records_dir)


def _write_settings(settings, journal: dict) -> None:
    set_setting(settings.path, None, "tahun", str(journal["to"]))
    if not settings.putaran or "deadline" in (read_yaml(settings.path) or {}):   # rounds follow `tahun`
        set_setting(settings.path, None, "deadline", journal["deadline"])
    try:    # only a date written with its year parses without one
        fixed = parse_date((read_yaml(settings.path) or {}).get("tanggal_laporan"), "tanggal_laporan")
    except ConfigError:
        fixed = None                  # "15 Oktober": follows `tahun` already
    if fixed:   # a reporting date with its year would freeze the new season at the old date
        set_setting(settings.path, None, "tanggal_laporan", same_day(fixed, journal["to"]).isoformat())


# ------------------------------------------------------------------ output
def _show_plan(journal: dict, opds: list[Opd], forms: FormSet, settings, out) -> None:
    carry = ", ".join(f.sheet for f in forms if f.carry_over) or "-"
    empty = ", ".join(f.sheet for f in forms if not f.carry_over) or "-"
    out(f"Uji coba (--dry-run), tidak ada yang diubah. Pergantian musim {journal['from']} → {journal['to']}:")
    out(f"- master diarsipkan sebagai '{_archive_name(settings, journal['from'], journal['started'])}'")
    out(f"- {len(opds)} workbook OPD diarsipkan; dibawa ke musim baru: {carry}; dikosongkan: {empty}")
    out(f"- state musim {journal['from']} disimpan hanya-baca; catatan pengingat baru (kosong)")
    out(f"- {settings.path.name}: tahun: {journal['to']}, {_season_end(settings, journal)}")


def _report(journal: dict, forms: FormSet, settings, out) -> None:
    old, new = journal["from"], journal["to"]
    out(f"Musim {new} dimulai (dari musim {old}).")
    out(f"- Master musim {old} diarsipkan: {journal['archive']['master']}")
    rolled = [r for r in journal["opds"].values() if "arsip" in r]
    for key in (f.key for f in forms):
        kept = sum(r["dibawa"].get(key, 0) for r in rolled)
        gone = sum(r["dikosongkan"].get(key, 0) for r in rolled)
        if forms[key].carry_over:
            out(f"- {forms[key].sheet}: {kept} baris dibawa apa adanya; statusnya diperiksa ulang "
                f"terhadap tanggal laporan musim baru")
        else:
            out(f"- {forms[key].sheet}: {gone} baris dikosongkan (tersimpan di arsip)")
    for code, r in journal["opds"].items():
        if "dilewati" in r:
            out(f"- OPD {code} dilewati: {r['dilewati']}")
    out(f"- State musim {old} disimpan hanya-baca: {journal['archive']['state']}; pengingat musim {new} mulai dari nol")
    out(f"- {settings.path.name}: tahun: {new}, {_season_end(settings, journal)}. Perbarui juga surat_edaran "
        f"(nomor, tanggal) bila ada Surat Edaran baru.")


def _obligations_left(opds: list[Opd], forms: FormSet, journal: dict, out) -> None:
    """The registry is the Inspektorat's to fill, so it is not emptied; but last season's
    "Sudah" would keep this season's reminders from asking for the QR code again."""
    done = [o.code for o in opds if any(d for _, d, _ in o.obligations)]
    if done:
        header = {c["key"]: c.get("header", c["key"]) for c in forms.registry.get("columns") or ()}
        names = ", ".join(header.get(ob["done"], ob["done"]) for ob in forms.obligations)
        out(f"- Daftar OPD: kolom {names} masih berisi isian musim {journal['from']} untuk {len(done)} OPD "
            f"({', '.join(done[:10])}{' …' if len(done) > 10 else ''}); kosongkan untuk musim {journal['to']} "
            f"(isian lama tersimpan di arsip master).")


def _season_end(settings, journal: dict) -> str:
    if not settings.putaran:
        return f"deadline: {journal['deadline']}"
    last = dt.date.fromisoformat(journal["deadline"])
    return f"putaran mengikuti tahun {journal['to']} (batas putaran terakhir {last:%d/%m/%Y})"


def _first_cycle(settings_path: Path, store, as_of, out) -> None:
    """Re-validate the carried rows now, against the new season's reporting date."""
    from sheets_sync.cycle import open_cycle, run_cycle

    try:
        with open_cycle(load_settings(settings_path), as_of, store=store) as ctx:
            rep = run_cycle(ctx)
        out(f"Siklus pertama musim baru: {rep.line()}")
    except Exception as e:  # noqa: BLE001 - the season has changed; the worker's next cycle does this
        out(f"Siklus pertama belum berhasil ({mask(str(e))}); pekerja menjalankannya pada siklus berikutnya.")
