"""The worker.

    python jobs.py                     run the schedule (sync every N minutes, reminders daily, WIB)
    python jobs.py --once              one full cycle, then exit 0 (1: the cycle could not do its job)
    python jobs.py --once --as-of 2023-10-12   the cycle as it would run on that date
    python jobs.py --check             check settings, credentials, Google, SMTP, folders; exit 1 if any fails

Only one worker may run on the same data: a lock beside the data (the data folder,
or per master spreadsheet on Google: <data_dir>/.sheets_sync/worker*.lock) and one in
the state folder refuse a second one, also one started with another settings file.
SIGTERM (systemctl stop) ends the loop after the current cycle.
"""
from __future__ import annotations

import datetime as dt
import fcntl
import logging
import os
import signal
import sys
import time
from pathlib import Path

if __name__ == "__main__":   # the system's Python instead of .venv's: a sentence, not a traceback
    from sheets_sync import preflight
    preflight.check("jobs.py", sys.argv[1:])

from sheets_sync.cliparse import Parser, run_quietly  # noqa: E402
from sheets_sync.config import WIB, ConfigError, load_settings  # noqa: E402

log = logging.getLogger("sheets_sync")


def parse_args(argv=None):
    p = Parser(prog="python jobs.py", description="Pekerja sheets_sync: validasi, rekap master, pengingat.")
    p.add_argument("--once", action="store_true",
                   help="jalankan satu siklus lalu berhenti; termasuk langkah pengingat (e-mail yang jatuh tempo "
                        "hari ini terkirim, berapa pun jamnya; untuk melihat saja: remind --dry-run)")
    p.add_argument("--check", action="store_true",
                   help="periksa pengaturan, kredensial, Google, SMTP dan folder, lalu berhenti "
                        "(kode keluar 1 bila ada yang gagal)")
    p.add_argument("--config", default="settings.yaml", metavar="BERKAS", help="berkas pengaturan (bawaan settings.yaml)")
    p.add_argument("--as-of", metavar="TANGGAL", help="tanggal laporan, mis. 2023-10-12 atau 12/10/2023 (bawaan hari ini, WIB)")
    p.add_argument("-v", "--verbose", action="store_true", help="log rinci (debug)")
    return p.parse_args(argv)


class Lock:
    """An flock on a lock file: released by the kernel even on SIGKILL. Raises
    OSError when the file cannot be created (a read-only folder)."""

    def __init__(self, path: Path):
        from sheets_sync.fileio import PRIVATE, private_dir

        path.parent.parent.mkdir(parents=True, exist_ok=True)
        private_dir(path.parent)
        self.path = path
        self.file = os.fdopen(os.open(path, os.O_RDWR | os.O_CREAT, PRIVATE), "a+")

    def acquire(self) -> bool:
        try:
            fcntl.flock(self.file, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            return False


def one_cycle(settings, as_of, hooks) -> bool:
    from sheets_sync.cycle import open_cycle, run_cycle
    from sheets_sync.ops import health

    started = health.now()
    try:
        with open_cycle(settings, as_of, hooks=hooks) as cycle:
            rep = run_cycle(cycle)
            states = health.opd_states(cycle.state)
    except Exception as e:
        health.record_failure(settings, _describe(e), started=started)
        raise
    if not rep.fatal:   # "siklus selesai" would contradict the failure logged by the caller
        log.info(rep.line())
    for err in rep.errors:
        log.warning(err)
    if rep.fatal:   # ran to its end without doing its job: a failure, so the stale alarm fires
        health.record_failure(settings, rep.fatal, started=started)
        raise CycleFailed(rep.fatal)
    health.record_success(settings, rep, started=started, states=states)
    return True


class CycleFailed(Exception):
    """A cycle that ran but could not do its job (no registry, store unreachable)."""


def reminder_hooks(settings, at_reminder_time: bool):
    try:
        from sheets_sync import remind
    except ImportError:
        return []
    return [remind.hook] if at_reminder_time else []


def _now() -> dt.datetime:
    return dt.datetime.now(WIB)


def past_reminder_time(settings, now: dt.datetime | None = None) -> bool:
    """From reminder_time (WIB) to midnight every cycle runs the reminder step too: a
    slot that failed (SMTP down at 08:00) or that a worker restarted after 08:00 would
    miss goes out at the next sync, not tomorrow. The ledger keeps each slot to one send."""
    return (now or _now()).astimezone(WIB).strftime("%H:%M") >= settings.reminder_time


def load_checked(path):
    """The settings, with what would else fail every cycle checked now: the reminder
    settings, and season rules naming an unknown form (aturan.minimal_baris)."""
    from sheets_sync import remind
    from sheets_sync.forms import forms_for

    settings = load_settings(path)
    remind.check_settings(settings)
    forms_for(settings)
    return settings


def run_loop(settings, stop) -> None:
    import schedule

    live = Live(settings)

    def sync_job():
        s = live.fresh(reschedule)
        _safely(lambda: one_cycle(s, None, reminder_hooks(s, past_reminder_time(s))))

    def remind_job():
        s = live.fresh(reschedule)
        _safely(lambda: one_cycle(s, None, reminder_hooks(s, True)))

    def reschedule(s) -> None:
        schedule.clear()
        schedule.every(s.sync_minutes).minutes.do(sync_job)
        schedule.every().day.at(s.reminder_time, "Asia/Jakarta").do(remind_job)
        log.info("pekerja berjalan: sinkron tiap %d menit, pengingat pukul %s WIB", s.sync_minutes, s.reminder_time)

    reschedule(settings)
    sync_job()
    while not stop["flag"]:
        schedule.run_pending()
        time.sleep(1)
    log.info("pekerja berhenti")


# what names the data and its locks: taken when the service starts, so a change waits for a restart
_FIXED = ("backend", "data_dir", "master", "state_dir", "google")


class Live:
    """The settings of a running service, read again before a cycle when the file has
    changed since (an admin edits the deadline, the reminder time, an address...), so
    that the worker does what `status` and `remind --dry-run`, which read the file,
    say. A file that no longer loads keeps the last good settings, and says why; a
    change of what names the data (its folder, the master, the backend) waits for a
    restart, which the log says."""

    def __init__(self, settings):
        self.settings, self.stamp = settings, _stamp(settings.path)

    def fresh(self, reschedule):
        stamp = _stamp(self.settings.path)
        if stamp == self.stamp:
            return self.settings
        self.stamp = stamp
        try:
            new = load_checked(self.settings.path)
        except (ConfigError, ValueError) as e:
            log.error("pengaturan %s diubah tetapi salah, jadi pengaturan sebelumnya tetap dipakai: %s",
                      self.settings.path, e)
            return self.settings
        fixed = [k for k in _FIXED if getattr(new, k) != getattr(self.settings, k)]
        if fixed:
            log.warning("pengaturan diubah: %s baru berlaku setelah layanan dijalankan ulang "
                        "(sudo systemctl restart sheets-sync); sampai itu pengaturan sebelumnya tetap dipakai",
                        ", ".join(fixed))
            return self.settings
        timing = (new.sync_minutes, new.reminder_time) != (self.settings.sync_minutes, self.settings.reminder_time)
        self.settings = new
        log.info("pengaturan %s dibaca ulang (berkasnya diubah)", new.path)
        if timing:
            reschedule(new)
        return new


def _stamp(path) -> tuple | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_mtime_ns, st.st_size


def _safely(fn) -> None:
    """A cycle that fails is logged; the loop lives on to the next one."""
    try:
        fn()
    except ConfigError as e:
        log.error("pengaturan salah: %s", e)
    except Exception as e:  # noqa: BLE001
        log.error("siklus gagal: %s", _describe(e))
        log.debug("rincian", exc_info=True)


def _describe(e: BaseException) -> str:
    """An error as staff can act on it, in Indonesian: a workbook problem in its text,
    a state database problem with its fix, anything else in words (codes.explain)."""
    from sheets_sync.codes import explain
    from sheets_sync.cycle.state import StateError
    from sheets_sync.stores import StoreError

    if isinstance(e, StoreError):
        return e.problem.text()
    if isinstance(e, (StateError, ConfigError, CycleFailed)):
        return str(e)
    return explain(e)


def _warn_past_deadline(settings, as_of) -> None:
    """A deadline past every reminder slot at start: last season's settings, or a typo
    (15-10 for 15-12). The worker runs anyway (the master still counts), and says so."""
    from sheets_sync import remind
    from sheets_sync.config import today_wib

    day = as_of or today_wib()
    if remind.season_over(remind.reminder_config(settings), settings, day):
        late = (day - settings.deadline).days
        log.warning("batas pengiriman %s sudah lewat %d hari: tidak ada pengingat yang akan dikirim. Salah ketik di "
                    "deadline (%s)? Untuk musim baru: python -m sheets_sync season new",
                    f"{settings.deadline:%d/%m/%Y}", late, settings.path)


def records_moved_out(settings) -> str:
    """Why the worker's records beside the data may not be used ("" when they may): the
    data folder is often shared with the OPDs, and a .sheets_sync (or a folder in it)
    turned into a link would have the worker write its lock, its install tag and its
    sent-reminder records wherever the link points."""
    records, root = Path(settings.records_dir), Path(settings.data_dir)
    if not records.exists() and not records.is_symlink():
        return ""
    linked = [p for p in (records, *records.iterdir()) if p.is_symlink()] if records.is_dir() else [records]
    if linked or not records.resolve().is_relative_to(root.resolve()):
        where = linked[0] if linked else records
        return (f"folder catatan pekerja {where} adalah tautan (symlink) atau bukan folder; catatan pekerja "
                f"harus tetap di folder data. Hapus tautan itu (pekerja membuat ulang foldernya).")
    return ""


def take_locks(settings) -> tuple[list, int, str]:
    """The data lock and the state-folder lock, both or neither: (locks, 0, ""), or
    ([], exit code, an Indonesian reason) when another worker holds one (3) or a lock
    cannot be made (2)."""
    from sheets_sync.codes import explain

    locks = []
    moved = records_moved_out(settings)
    if moved:
        return [], 2, moved
    for path in (settings.data_lock_file, settings.lock_file):
        try:
            lock = Lock(path)
        except OSError as e:
            code, why = 2, (f"berkas kunci {path} tidak dapat dibuat ({explain(e, filename=False)}); folder itu "
                            f"harus dapat ditulis oleh pengguna layanan (sudo chown -R sheets-sync: {path.parent})")
        else:
            if lock.acquire():
                locks.append(lock)
                continue
            lock.file.close()
            code, why = 3, f"pekerja lain sudah berjalan untuk data ini (kunci {path} dipegang); tidak dijalankan dua kali"
        for held in locks:
            held.file.close()
        return [], code, why
    return locks, 0, ""


def main(argv=None) -> int:
    args = parse_args(argv)
    from sheets_sync import logsafe

    logsafe.install(logging.DEBUG if args.verbose else logging.INFO)
    logging.Formatter.converter = lambda *a: dt.datetime.now(WIB).timetuple()
    if args.check:
        from sheets_sync.ops import selfcheck
        return selfcheck.main(args.config)
    try:
        settings = load_checked(args.config)
        from sheets_sync.config import parse_date
        as_of = parse_date(args.as_of, "--as-of") if args.as_of else None
    except ConfigError as e:
        log.error("pengaturan salah: %s", e)
        return 2
    _warn_past_deadline(settings, as_of)
    locks, code, why = take_locks(settings)   # held until the process ends
    if code:
        log.error(why)
        return code
    if args.once:
        try:
            one_cycle(settings, as_of, reminder_hooks(settings, True))
        except Exception as e:  # noqa: BLE001 - no traceback for users
            log.error("siklus gagal: %s", _describe(e))
            log.debug("rincian", exc_info=True)
            return 1
        return 0
    stop = {"flag": False}
    signal.signal(signal.SIGTERM, lambda *a: stop.update(flag=True))
    signal.signal(signal.SIGINT, lambda *a: interrupted(stop))
    run_loop(settings, stop)
    return 0


def interrupted(stop: dict) -> None:
    """Ctrl-C in the service loop: the first lets the running cycle finish, then the
    loop ends; a second stops at once (run_quietly says so, without a traceback)."""
    if stop["flag"]:
        raise KeyboardInterrupt
    stop["flag"] = True
    log.info("Ctrl-C: pekerja berhenti setelah siklus yang sedang berjalan selesai "
             "(tekan Ctrl-C sekali lagi untuk berhenti sekarang)")


if __name__ == "__main__":
    sys.exit(run_quietly(main))
