"""One cycle over the registry.

    registry -> which workbooks changed -> read + validate those -> cross-OPD
    duplicates -> write status cells that differ -> compile master if it changed
    -> reminders hook -> record the run

Cost follows change: an OPD whose revision is unchanged is neither read nor
validated (its verdicts come from the state database), and only status cells
whose text changes are written. A fault in one OPD is recorded for the Rekap and
the cycle goes on.
"""
from __future__ import annotations

import datetime as dt
import gc
import hashlib
import logging
import json
import threading
import time
from collections.abc import Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field

import orjson

from sheets_sync import history, master as mst
from sheets_sync.codes import TRANSIENT, explain
from sheets_sync.config import ConfigError
from sheets_sync.cycle.context import Context, stamp
from sheets_sync.cycle.state import OpdMemory
from sheets_sync.cycle.writes import notice_writes, plan_writes, shown, summary_write
from sheets_sync.progress import progress
from sheets_sync.stores import CellWrite, StoreError, Workbook
from sheets_sync.cycle import cross_cache
from sheets_sync.validate.cross_opd import contact_parts, contacts_from_json, contacts_json, cross_opd_of, finalize
from sheets_sync.validate.frame import validate_frame
from sheets_sync.validate.layout import Problem, content_hash, row_hashes
from sheets_sync.validate.opd_state import OpdReport, first_problem_in, summarize_all
from sheets_sync.validate.registry import Opd

log = logging.getLogger("sheets_sync")
_REPORT_LOCK = threading.Lock()   # writes run in a few threads on network stores


@dataclass
class CycleReport:
    opds: int = 0
    read: int = 0
    validated: int = 0
    written_cells: int = 0
    master_written: bool = False
    problems: int = 0
    errors: list[str] = field(default_factory=list)
    reports: list = field(default_factory=list)
    seconds: float = 0.0
    fatal: str = ""   # why the cycle could not do its job (no registry, store unreachable): not a success

    def line(self) -> str:
        return (f"siklus selesai: {self.opds} OPD, {self.read} dibaca, {self.validated} divalidasi, "
                f"{self.written_cells} sel status ditulis, master "
                f"{'diperbarui' if self.master_written else 'tetap'}, {self.problems} masalah berkas, "
                f"{self.seconds:.1f} dtk")


# ------------------------------------------------------------------- cycle
@contextmanager
def _fewer_collections(first_generation: int = 50_000):
    """A cycle makes millions of short-lived, acyclic objects (cells, rows, stored
    memories); with Python's default threshold (700) the cyclic collector walks them
    again and again (a fifth of an idle city cycle). Cycles are still collected, less
    often; the threshold is restored afterwards."""
    old = gc.get_threshold()
    gc.set_threshold(max(old[0], first_generation), *old[1:])
    try:
        yield
    finally:
        gc.set_threshold(*old)


def run_cycle(ctx: Context) -> CycleReport:
    with _fewer_collections():
        return _run_cycle(ctx)


def _run_cycle(ctx: Context) -> CycleReport:
    t0 = time.monotonic()
    rep = CycleReport()
    run_id = ctx.state.start_run(stamp(ctx.now()))
    try:
        opds, notes = ctx.store.read_registry()
    except StoreError as e:
        if e.problem.code not in TRANSIENT:
            raise   # a master that cannot be opened at all: the cycle fails with its message
        return _from_memory(ctx, rep, run_id, t0, e)
    except Exception as e:  # noqa: BLE001 - a fault (Google's 429/5xx, network), not a mistake in it
        return _from_memory(ctx, rep, run_id, t0, e)
    rep.errors += notes
    if not opds and notes:   # unreadable, empty, or a needed column missing: going on would forget
        # every OPD, empty the Rekap, or send no reminder without a word
        log.warning("Daftar OPD tidak dapat dipakai: %s Siklus berhenti tanpa mengubah apa pun dan dicoba lagi "
                    "pada siklus berikutnya", " ".join(notes[:3]))
        rep.fatal = "Daftar OPD tidak dapat dipakai: " + " ".join(notes[:3])
        return _finish(ctx, rep, run_id, t0, {"opd": 0, "galat": rep.errors[:20]})
    rep.opds = len(opds)
    mems = {o.code: ctx.state.opd_head(o.code) for o in opds}   # the rest of a memory when needed (_load)
    rules = _rules_key(ctx.forms)
    rules_moved = ctx.state.get("rules_key") != rules
    if rules_moved:   # season rules or forms changed: every verdict again (from memory)
        _load(ctx.state, mems, list(mems))
        for m in mems.values():
            m.as_of = None
    verdicts = _Verdicts(ctx.forms, opds, mems, ctx.state)
    fresh, dirty = _refresh(ctx, opds, mems, rep)
    if rules_moved:
        ctx.state.set("rules_key", rules)
    if dirty:   # verdicts can only move when some OPD's rows or date did
        _write_statuses(ctx, opds, mems, fresh, verdicts, rep)
    for code in dirty | set(fresh):
        ctx.state.save_opd(code, mems[code], contacts_json(mems[code].results, ctx.forms))
    ctx.state.forget_others({o.code for o in opds})
    rep.problems = sum(len(m.problems) for m in mems.values())
    rep.reports = _compile(ctx, opds, mems, verdicts, rep)
    sent = _last_reminders(ctx) if ctx.hooks else None
    for hook in ctx.hooks:
        _guarded(hook, ctx, rep.reports, rep)
    if ctx.hooks and _last_reminders(ctx) != sent:   # a reminder just sent belongs in the Rekap's
        _compile(ctx, opds, mems, verdicts, rep)     # Pengingat terakhir now, not next cycle
    return _finish(ctx, rep, run_id, t0, {"opd": rep.opds, "dibaca": rep.read, "sel": rep.written_cells,
                                          "masalah": rep.problems, "galat": rep.errors[:20]})


def _rules_key(forms) -> str:
    """A fingerprint of what verdicts follow besides the rows and the date: the season
    rules (aturan) and every column's definition."""
    body = [forms.rules,
            [(f.key, f.complete, f.at_least_one, sorted(f.placeholders),
              [(c.key, c.header, c.type, c.if_missing, c.header_optional, c.rules) for c in f.columns])
             for f in forms]]
    return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()[:16]


class _Verdicts:
    """Every OPD's final verdicts (own + cross-OPD), and what the Rekap and the
    reminders need of them (summaries), each made at most once a cycle and only when
    something needs it. With a state, the cross-OPD results and the summaries come
    from it while no OPD's own verdicts moved (the key of cross_cache): an idle cycle
    that runs the reminders then loads no OPD's verdicts or rows, only their heads."""

    def __init__(self, forms, opds, mems, state=None):
        self.forms, self.opds, self.mems, self.state = forms, opds, mems, state
        self.rules = _rules_key(forms)
        self.final: dict = {}       # code -> final verdicts, made on first use (of)
        self.listing = None
        self._cross = self._summaries = None   # (key, value) of the inputs they are for

    def _key(self):
        return None if self.state is None else cross_cache.inputs_key(self.rules, self.opds, self.mems)

    def _contacts(self) -> list[tuple]:
        """Every OPD's contacts for the cross-OPD search: from a memory already whole,
        else those saved beside it (no payload decoded), else from its whole memory."""
        parts = []
        for o in self.opds:
            mem = self.mems[o.code]
            got = None
            if mem.partial and self.state is not None:
                body = self.state.opd_contacts(o.code)
                got = None if body is None else contacts_from_json(o.code, body)
            if got is None:
                _load(self.state, self.mems, [o.code])
                got = [p for r in self.mems[o.code].results.values() for p in contact_parts(o.code, r, self.forms)]
            parts += got
        return parts

    def _known(self) -> dict:
        """{(opd, form): cross-OPD problems} for the OPDs' current own verdicts."""
        key = self._key()
        if self._cross is None or self._cross[0] != key:
            self.listing = None   # of other inputs
            known = None if self.state is None else cross_cache.load(self.state, key)
            if known is None:
                known, self.listing = cross_opd_of(self._contacts(), self.forms)
                if self.state is not None:
                    cross_cache.save(self.state, key, known, self.listing)
            self._cross, self.final = (key, known), {}
        return self._cross[1]

    def of(self, code: str) -> dict:
        """One OPD's final verdicts (its whole memory is loaded for them)."""
        known = self._known()
        if code not in self.final:
            _load(self.state, self.mems, [code])
            self.final[code] = finalize(self.forms, {code: self.mems[code].results}, known)[0][code]
        return self.final[code]

    def get(self):
        """(every OPD's final verdicts, listing or None when it came from the cache)."""
        return {o.code: self.of(o.code) for o in self.opds}, self.listing

    def summaries(self) -> dict:
        """code -> {"inputs", "shown": what its status cells should show (writes.shown),
        "forms": form key -> opd_state.FormSummary}, from the state under the same key as
        the cross-OPD results, else made (see _summary) and kept."""
        key = self._key()
        if self._summaries is None or self._summaries[0] != key:
            got = None if self.state is None else cross_cache.load_summaries(self.state, key)
            if got is None or set(got) != {o.code for o in self.opds}:
                before = (cross_cache.load_summaries(self.state) if self.state is not None else None) or {}
                got = {o.code: self._summary(o.code, before.get(o.code)) for o in self.opds}
                if self.state is not None:
                    cross_cache.save_summaries(self.state, key, got)
            self._summaries = (key, got)
        return self._summaries[1]

    def _summary(self, code: str, before: dict | None) -> dict:
        """One OPD's summary. The one kept from an earlier cycle while the OPD's own
        verdicts and its cross-OPD problems are what they were then (its final verdicts
        are then the same): a one-cell edit elsewhere costs that OPD no shown() and no
        summarize_all."""
        inputs = cross_cache.opd_inputs(self.rules, code, self.mems[code], self._known())
        if before is not None and before.get("inputs") == inputs:
            return before
        final = self.of(code)
        return {"inputs": inputs, "shown": shown(final), "forms": summarize_all(final, self.forms)}

    def listing_now(self):
        """The listing for the master: computed this cycle, else the cached one."""
        self._known()
        if self.listing is None and self.state is not None:
            self.listing = cross_cache.load_listing(self.state)
        if self.listing is None:   # cache without its listing: compute it again
            _, self.listing = cross_opd_of(self._contacts(), self.forms)
        return self.listing


class _FinalOf(Mapping):
    """One OPD's final verdicts in its report, made on first use: the master's tabs
    read them, the Rekap and the reminders only the summaries."""

    def __init__(self, verdicts: _Verdicts, code: str):
        self._verdicts, self._code = verdicts, code

    def _final(self) -> dict:
        return self._verdicts.of(self._code)

    def __getitem__(self, key):
        return self._final()[key]

    def __iter__(self):
        return iter(self._final())

    def __len__(self):
        return len(self._final())


def _load(state, mems: dict, codes) -> None:
    """Replace the heads (State.opd_head) of these OPDs' memories with the whole
    memories, before anything reads or changes their verdicts or rows. A payload that
    does not load comes back empty and incomplete: that OPD is read again."""
    if state is None:
        return
    for code in codes:
        if mems[code].partial:
            mems[code] = state.opd(code)


def _refresh(ctx, opds, mems, rep) -> tuple[dict, set]:
    """Read and validate the workbooks that changed; re-validate from memory those
    whose verdicts a new reporting date may move. Returns (read workbooks, dirty codes).
    A refused registry row (codes.REFUSED) is neither looked at nor read."""
    refused = [o.code for o in opds if o.refused]
    _load(ctx.state, mems, refused)
    dirty: set[str] = {code for code in refused if _refuse(mems[code])}
    opds = [o for o in opds if not o.refused]
    try:
        revs = ctx.store.revisions(opds)
        ours = ctx.store.changed_by_us(opds)
        own = [o for o in opds if _own_write(mems[o.code], revs.get(o.code), o, o.code in ours)]
        _load(ctx.state, mems, [o.code for o in own])   # saved whole, with its new revision
        for o in own:
            if _own_write(mems[o.code], revs.get(o.code), o, True):   # still so once loaded whole
                _take_own_write(mems[o.code], revs.get(o.code), o.code)
                ctx.state.save_opd(o.code, mems[o.code], contacts_json(mems[o.code].results, ctx.forms))
        # the whole memory of an OPD to read (one whose payload does not load is read too)
        due = lambda o: _needs_read(mems[o.code], revs.get(o.code), o) or _safety_read(ctx, mems[o.code])  # noqa: E731
        _load(ctx.state, mems, [o.code for o in opds if due(o)])
        to_read = [o for o in opds if due(o)]
    except Exception as e:  # noqa: BLE001 - the listing failed: nothing is read this cycle
        _cycle_fault(rep, "daftar revisi workbook", e)
        rep.fatal = f"penyimpanan workbook tidak dapat dijangkau: {_why(e)}"
        to_read = []
    fresh: dict[str, Workbook] = dict(_read_many(ctx, to_read, mems, rep))
    dirty |= set(fresh)
    for o in opds:
        if o.code not in fresh and mems[o.code].as_of != ctx.as_of:
            _load(ctx.state, mems, [o.code])
            _revalidate(ctx, o, mems[o.code], rep)   # a new day can age a service date
            dirty.add(o.code)
    return fresh, dirty


def _write_statuses(ctx, opds, mems, fresh, verdicts, rep) -> None:
    """The status cells of every workbook read this cycle, and of those whose verdict
    moved without an edit (cross-OPD, date), unless the workbook changed meanwhile."""
    summaries = verdicts.summaries()
    again = [o for o in opds if o.code not in fresh and summaries[o.code]["shown"] != mems[o.code].shown
             and not _read_only(mems[o.code]) and o.refused is None]   # a refused row is never read
    if again:   # read now to write them (each OPD is still read at most once a cycle)
        before = {o.code: mems[o.code].content_hash for o in again}
        for code, wb in _read_many(ctx, again, mems, rep).items():
            if wb is not None and mems[code].content_hash != before[code]:
                mems[code].complete = False   # edited since its verdicts were final: next cycle
                continue
            fresh[code] = wb
    now_text = stamp(ctx.now())
    planned, hashes = {}, {}   # hashes: code -> form -> row_hashes, made once for the plan and the memory
    for o in opds:
        if fresh.get(o.code) is not None:
            try:
                hashes[o.code] = {k: row_hashes(s.frame) for k, s in fresh[o.code].sheets.items()}
                planned[o.code] = _writes(ctx, fresh[o.code], verdicts.of(o.code), mems[o.code], now_text,
                                          hashes[o.code])
            except Exception as e:  # noqa: BLE001 - one OPD's fault never stops the others
                _fault(o, mems[o.code], rep, "menulis status", e)
    to_write = [o for o in opds if planned.get(o.code)]
    stale, unchecked = _stale(ctx, [(o, fresh[o.code]) for o in to_write], rep)
    pending = []
    for o in to_write:
        if unchecked is not None:   # not known whether it changed: write nothing, read again next cycle
            mems[o.code].problems.append(unchecked)
            mems[o.code].complete = False
        elif o.code in stale:
            mems[o.code].problems.append(Problem("WB_CHANGED"))
            mems[o.code].complete = False   # statuses of old rows are not written; re-read
        else:
            pending.append(o)
    for o in opds:   # read, nothing to write: what the sheet shows is already right
        if fresh.get(o.code) is not None and planned.get(o.code) == []:
            _written(o, fresh[o.code], verdicts.of(o.code), mems[o.code], fresh[o.code].revision, hashes[o.code])
    final = {o.code: verdicts.of(o.code) for o in pending}   # made here: the writes may run in threads
    _map(ctx, lambda o: _write(ctx, o, fresh[o.code], final[o.code], mems[o.code], rep, planned[o.code],
                               hashes[o.code]),
         pending, "menulis status")


def _compile(ctx, opds, mems, verdicts, rep) -> list:
    """The reports (for the master and the reminders) and the master itself, only
    when what it is made of changed or a person touched it."""
    inputs = _master_inputs(ctx, opds, mems)
    if _master_touched(ctx):   # someone edited the master since our write (a tab deleted?)
        ctx.state.set("master_inputs", None)
        ctx.state.set("master_hash", None)
    changed = inputs != ctx.state.get("master_inputs")
    if not verdicts.final and not changed and not ctx.hooks:
        return []
    reports = _reports(ctx, opds, mems, verdicts)
    if changed:
        ctx.state.set("registry", [asdict(o) for o in opds])
        try:
            written = _master(ctx, reports, verdicts.listing_now(), rep)
        except Exception as e:  # noqa: BLE001 - no master this cycle; the reminders still run
            _cycle_fault(rep, "master", e)
            written = False
        if written:
            ctx.state.set("master_inputs", inputs)
    return reports


def _reports(ctx, opds, mems, verdicts: _Verdicts) -> list[OpdReport]:
    """One OpdReport per OPD: its verdicts (made when first read) with their summaries,
    and the problems of its workbook and of its registry row (both shown in the Rekap)."""
    summaries = verdicts.summaries()
    out = []
    for o in opds:
        # the registry row's refusal may also be what its last read said: once in the Rekap
        problems = _once(mems[o.code].problems + list(o.problems))
        rep = OpdReport(o, _FinalOf(verdicts, o.code), problems,
                        mems[o.code].changed_at, mems[o.code].checked_at, summaries=summaries[o.code]["forms"],
                        inputs=summaries[o.code]["inputs"])
        rep.link = ctx.store.link(o, first_problem_in(rep, ctx.forms))
        out.append(rep)
    return out


def _once(problems: list[Problem]) -> list[Problem]:
    """The problems with a repeated one (same code and words) left out, in order."""
    out, seen = [], set()
    for p in problems:
        key = (p.code, p.text())
        if key not in seen:
            seen.add(key)
            out.append(p)
    return out


# ------------------------------------------------------- faults and refusals
def _cycle_fault(rep: CycleReport, what: str, e: BaseException) -> None:
    """A fault outside any one OPD (Google's 429/5xx storm, a full disk): recorded, and
    the cycle goes on with what it can do safely."""
    why = _why(e)
    rep.errors.append(f"{what}: {why}")
    log.warning("%s gagal: %s; dilewati dan dicoba lagi pada siklus berikutnya", what, why)


def _why(e: BaseException) -> str:
    if isinstance(e, StoreError):
        return str(e.problem.params.get("alasan") or e.problem.text())
    return explain(e)


def _from_memory(ctx, rep: CycleReport, run_id: int, t0: float, e: BaseException) -> CycleReport:
    """The registry could not be read because of a fault: nothing is read, written or
    forgotten this cycle; the hooks (reminders) run on what the last good cycle knew."""
    _cycle_fault(rep, "membaca Daftar OPD di master", e)
    rep.fatal = f"Daftar OPD di master tidak dapat dibaca: {_why(e)}"
    opds = [Opd.from_dict(d) for d in ctx.state.get("registry") or []]
    if opds and ctx.hooks:
        mems = {o.code: ctx.state.opd(o.code) for o in opds}
        for o in opds:   # today's verdicts of the rows last read (a new day ages service dates);
            if mems[o.code].as_of != ctx.as_of and not o.refused:   # not saved: the next cycle writes them
                _revalidate(ctx, o, mems[o.code], rep)
        reports = _reports(ctx, opds, mems, _Verdicts(ctx.forms, opds, mems))
        for hook in ctx.hooks:
            _guarded(hook, ctx, reports, rep)
    return _finish(ctx, rep, run_id, t0, {"opd": 0, "galat": rep.errors[:20]})


def _refuse(mem: OpdMemory) -> bool:
    """A registry row whose workbook is refused (a slip in Berkas / Tautan: outside the
    data folder, the master, another OPD's file): nothing is read or written there. The
    verdicts of the OPD's own workbook, read while its row was right, stay, shown as the
    registry's to fix ("Daftar OPD salah" in the Rekap), so that one slip does not turn a
    complete OPD into BELUM MENGISI; once the row is fixed its workbook is read again.
    True when this refusal is new."""
    new = mem.revision is not None or bool(mem.problems) or mem.wrote is not None
    mem.problems, mem.revision, mem.wrote, mem.taken_as_own = [], None, None, False
    mem.complete = True
    return new


def _stale(ctx, read: list, rep: CycleReport) -> tuple[set, Problem | None]:
    """(codes whose workbook changed since read, None), or when the one check before
    the writes fails (Google's 429/5xx after the retries): (empty, the problem to
    record on each), so that nothing is written blind."""
    if not read:
        return set(), None
    try:
        return ctx.store.stale(read), None
    except Exception as e:  # noqa: BLE001
        _cycle_fault(rep, "pemeriksaan sebelum menulis status", e)
        return set(), Problem("WB_WRITE_FAILED", {"alasan": f"pemeriksaan sebelum menulis gagal: {_why(e)}"})


def _finish(ctx, rep: CycleReport, run_id: int, t0: float, summary: dict) -> CycleReport:
    rep.seconds = time.monotonic() - t0
    ctx.state.finish_run(run_id, stamp(ctx.now()), not rep.errors, summary)
    return rep


def _master_touched(ctx) -> bool:
    """Stores that know the master's revision after their own write (xlsx) let us
    notice a person's edit to it; the Google store relies on its row cache instead."""
    current = ctx.store.master_revision()
    ours = ctx.state.get("master_rev")
    return current is not None and ours is not None and current != ours


def _current_round(ctx) -> tuple:
    """(deadline, round name) the Rekap shows: those of the current collection round
    (settings `putaran`), else the season's deadline and no name."""
    from sheets_sync.remind.plan import current_round, reminder_config, season_rounds
    if not ctx.settings.putaran:
        return ctx.settings.deadline, ""
    try:
        rnd = current_round(reminder_config(ctx.settings), season_rounds(ctx.settings), ctx.today)
    except ConfigError:        # bad reminder settings: the worker said so at start
        return ctx.settings.deadline, ""
    return rnd.deadline, rnd.title


def _master_inputs(ctx, opds, mems) -> str:
    """Everything the master is computed from, hashed: unchanged means skip compiling it."""
    parts = [str(ctx.as_of), str(ctx.settings.deadline), str(_current_round(ctx)),
             json.dumps(_last_reminders(ctx), sort_keys=True)]
    for o in opds:
        m = mems[o.code]
        parts.append(json.dumps([asdict(o), m.content_hash, str(m.as_of), m.changed_at, m.checked_at,
                                 [(p.code, p.params) for p in m.problems], ctx.store.link(o)],
                                default=str, ensure_ascii=False))
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def _map(ctx, fn, items: list, label: str = "") -> list:
    """fn over items; in a few threads when the store waits on the network.
    With a label, long loops show their progress (a bar on a terminal)."""
    workers = min(ctx.store.parallel, len(items))
    if workers <= 1:
        return [fn(x) for x in progress(items, len(items), label)]
    from concurrent.futures import ThreadPoolExecutor
    with ThreadPoolExecutor(workers) as pool:
        return list(progress(pool.map(fn, items), len(items), label))


def _read_many(ctx, opds: list[Opd], mems: dict, rep: CycleReport) -> dict[str, Workbook | None]:
    """Fetch in parallel where the store allows; validate one by one."""
    _load(ctx.state, mems, [o.code for o in opds])
    fetched = _map(ctx, lambda o: _fetch(ctx, o), opds, "membaca")
    return {o.code: _read(ctx, o, mems[o.code], rep, got)
            for o, got in progress(zip(opds, fetched), len(opds), "memeriksa")}


def _fetch(ctx, o: Opd) -> tuple:
    """(the workbook or the exception its read raised, seconds it took)."""
    t0 = ctx.now()
    try:
        got = ctx.store.read_workbook(o)
    except Exception as e:  # noqa: BLE001 - handed to _read, which reports it for this OPD only
        got = e
    return got, _since(ctx, t0)


def _since(ctx, t0) -> float:
    return (ctx.now() - t0).total_seconds()


def _needs_read(mem: OpdMemory, revision, opd: Opd) -> bool:
    return not mem.complete or mem.revision != revision or mem.forms != opd.forms


def _own_write(mem: OpdMemory, revision, opd: Opd, ours: bool) -> bool:
    """Whether a new revision is the worker's own status write, to be taken without
    reading the OPD (its verdicts stay): the store says the last change was ours
    (Google: lastModifyingUser.me in the listing) and the worker wrote this very
    workbook since its last read. Once per write: a later change of ours is read. A
    staff edit between our read and our write (seconds) cannot be told from the write
    itself; such an OPD is read anyway after `baca_ulang_jam` hours (_safety_read).
    Decided on the memory's head as well as on the whole memory."""
    return (ours and mem.wrote is not None and mem.wrote == opd.location and mem.complete
            and revision is not None and revision != mem.revision and mem.forms == opd.forms)


def _take_own_write(mem: OpdMemory, revision, code: str) -> None:
    mem.revision, mem.wrote, mem.taken_as_own = revision, None, True
    log.debug("OPD %s: versi baru adalah tulisan status pekerja sendiri; tidak dibaca ulang", code)


def _safety_read(ctx, mem: OpdMemory) -> bool:
    """An OPD whose revision was taken as our own write, or whose status write was
    refused as read-only, is read once anyway when `baca_ulang_jam` hours passed since
    its last real read (0: never)."""
    hours = ctx.settings.reread_hours
    if not (mem.taken_as_own or _read_only(mem)) or not hours:
        return False
    try:
        last = dt.datetime.fromisoformat(mem.read_at) if mem.read_at else None
    except ValueError:
        last = None
    return last is None or _utc(ctx.now()) - last >= dt.timedelta(hours=hours)


def _read_only(mem: OpdMemory) -> bool:
    """Its last status write was refused because the worker may only view the
    spreadsheet (WB_READ_ONLY): a share changes no revision Drive shows for sure, so
    such an OPD is read again only when edited or after `baca_ulang_jam` hours."""
    return any(p.code == "WB_READ_ONLY" for p in mem.problems)


def _utc(t: dt.datetime) -> dt.datetime:
    return t.astimezone(dt.timezone.utc)


def _read(ctx: Context, o: Opd, mem: OpdMemory, rep: CycleReport, got) -> Workbook | None:
    """Validate one fetched OPD workbook (or record why it could not be read); on
    any failure keep its last good verdicts and go on with the other OPDs."""
    rep.read += 1
    mem.forms = o.forms
    if mem.taken_as_own:   # that revision was never read: the rows read now are not "as we left them"
        mem.revision = None
    mem.wrote, mem.taken_as_own, mem.read_at = None, False, _utc(ctx.now()).isoformat()
    wb, spent = got
    if isinstance(wb, Exception):
        _unreadable(ctx, o, mem, rep, wb)
        return None
    try:
        return _take(ctx, o, mem, rep, wb, spent)
    except Exception as e:  # noqa: BLE001 - one OPD's fault never stops the others
        _fault(o, mem, rep, "memeriksa", e, replace=True)
        return None


def _unreadable(ctx, o: Opd, mem: OpdMemory, rep: CycleReport, e: Exception) -> None:
    if not isinstance(e, StoreError):
        _fault(o, mem, rep, "membaca", e, replace=True)
        return
    mem.problems = [e.problem]
    # read again only when the file changes, unless the failure was the network's or
    # the quota's (429/5xx/timeout after the retries): then read again next cycle
    mem.complete = e.problem.code not in TRANSIENT
    try:
        mem.revision = ctx.store.revisions([o]).get(o.code)
    except Exception:  # noqa: BLE001 - unknown revision: read again next cycle
        mem.complete = False
    log.warning("OPD %s: %s (%s)", o.code, e.problem.text(), e.problem.code)   # the admin reads the words


def _take(ctx: Context, o: Opd, mem: OpdMemory, rep: CycleReport, wb: Workbook, spent: float) -> Workbook | None:
    """A read workbook into the OPD's memory: validated again if its rows (or the
    reporting date) changed, unless its time budget is spent. Memory changes only
    once everything succeeded."""
    budget = ctx.settings.limits.opd_seconds
    if spent > budget:
        return _over_budget(o, mem, wb, spent, budget)
    if wb.revision == mem.revision and mem.complete:
        _keep_inputs(wb, mem)
    digest = hashlib.sha256("".join(s.content_hash for s in wb.sheets.values()).encode()).hexdigest()
    frames = {k: s.frame for k, s in wb.sheets.items()}
    # a tab renamed, or a header changed, this time: its rows as last read stay counted
    # (the Rekap says why the tab is not checked), not dropped from the totals and the master
    frames.update({k: mem.frames[k] for k in o.forms if k not in frames and k in mem.frames})
    if digest != mem.content_hash or mem.as_of != ctx.as_of or set(mem.results) != set(frames):
        t0 = ctx.now()
        results = _validate(ctx, frames)
        spent += _since(ctx, t0)
        if spent > budget:   # checked between steps: its statuses are not written
            return _over_budget(o, mem, wb, spent, budget)
        rep.validated += 1
        mem.frames, mem.results, mem.as_of = frames, results, ctx.as_of
        mem.checked_at = stamp(ctx.now())
    if digest != mem.content_hash:
        mem.changed_at = stamp(ctx.now())
    mem.content_hash, mem.revision = digest, wb.revision
    mem.problems = list(wb.problems)
    if not o.forms:   # the registry's Formulir names no known form: say so in the Rekap
        mem.problems.append(Problem("OPD_NO_FORMS"))
    return wb


def _over_budget(o: Opd, mem: OpdMemory, wb: Workbook, spent: float, budget: int) -> None:
    """An OPD whose read and check took longer than limits.opd_seconds: reported and
    skipped, nothing written, read again once its file changes. Its rows count as
    unchecked (the verdicts in memory were for older rows), and no rows are kept for
    this revision, so a later read of it cannot take old rows for its own."""
    mem.problems = [Problem("OPD_TIME_BUDGET", {"detik": int(spent), "batas": budget})]
    mem.frames, mem.results, mem.shown, mem.row_hashes, mem.content_hash = {}, {}, {}, {}, None
    mem.revision, mem.complete = wb.revision, True
    log.warning("OPD %s: melebihi batas waktu (%d dtk, batas %d dtk); dilewati", o.code, spent, budget)
    return None


def _fault(o: Opd, mem: OpdMemory, rep: CycleReport, step: str, e: BaseException, *, replace: bool = False) -> None:
    """Any unexpected exception while one OPD is read, checked or written becomes that
    OPD's problem in the Rekap (OPD_ERROR), instead of (replace: the workbook's problems
    were not learnt this cycle) or besides its other problems; tried again next cycle."""
    with _REPORT_LOCK:
        kept = [] if replace else [p for p in mem.problems if p.code != "OPD_ERROR"]
        mem.problems = kept + [Problem("OPD_ERROR", {"langkah": step, "alasan": type(e).__name__})]
        mem.complete = False
        rep.errors.append(f"{o.code}: {step}: {type(e).__name__}")
    log.error("OPD %s: galat tak terduga saat %s (%s); OPD lain tetap diproses", o.code, step,
              type(e).__name__, exc_info=e)


def _keep_inputs(wb: Workbook, mem: OpdMemory) -> None:
    """The workbook is as this worker last left it (same revision), so its input cells
    are the ones read before: use those. Saving the status cells through openpyxl
    drops the cached results of formulas, which would read back as empty cells."""
    for key, sheet in wb.sheets.items():
        frame = mem.frames.get(key)
        if frame is not None and list(frame.columns) == list(sheet.frame.columns):
            sheet.frame = frame
            sheet.content_hash = content_hash(frame)


def _validate(ctx: Context, frames: dict) -> dict:
    return {k: validate_frame(f, ctx.forms[k], ctx.as_of, domains=ctx.forms.email_domains,
                              max_chars=ctx.settings.limits.cell_chars)
            for k, f in frames.items()}


def _revalidate(ctx: Context, o: Opd, mem: OpdMemory, rep: CycleReport) -> None:
    """Validate from the rows in memory; 'Diperiksa terakhir' in the Rekap is this
    moment (a re-read that finds the same rows is not a new check). On failure the
    last verdicts stay."""
    try:
        results = _validate(ctx, mem.frames)
    except Exception as e:  # noqa: BLE001 - one OPD's fault never stops the others
        _fault(o, mem, rep, "memeriksa", e)
        return
    rep.validated += 1
    mem.checked_at = stamp(ctx.now())
    mem.results = results
    mem.as_of = ctx.as_of


# ------------------------------------------------------------------- write
def _writes(ctx, wb: Workbook, final: dict, mem: OpdMemory, now_text: str, hashes: dict) -> list[CellWrite]:
    out = []
    for key, sheet in wb.sheets.items():
        cells = plan_writes(sheet, final[key], now_text, mem.row_hashes.get(key, set()),
                            ctx.forms.status_headers, hashes[key])
        out += cells + summary_write(sheet, final[key], now_text, bool(cells))
    return out + notice_writes(wb.notices)


def _write(ctx, o: Opd, wb: Workbook, final: dict, mem: OpdMemory, rep: CycleReport,
           writes: list[CellWrite], hashes: dict) -> None:
    try:
        new_rev = ctx.store.write_cells(o, wb, writes)
    except StoreError as e:
        mem.problems.append(e.problem)
        # try again next cycle, from a fresh read; but a spreadsheet shared as Viewer refuses
        # every write until the share changes: its rows read now stay current, and it is
        # tried again when its revision moves or after baca_ulang_jam hours (_safety_read)
        mem.complete = e.problem.code == "WB_READ_ONLY"
        log.warning("OPD %s: status belum ditulis: %s (%s)", o.code, e.problem.text(), e.problem.code)
        return
    except Exception as e:  # noqa: BLE001 - one OPD's fault never stops the others
        _fault(o, mem, rep, "menulis status", e)
        return
    with _REPORT_LOCK:
        rep.written_cells += len(writes)
    _written(o, wb, final, mem, new_rev or wb.revision, hashes)
    mem.wrote = o.location if new_rev is None else None   # its next revision may be this write (_own_write)


def _written(o: Opd, wb: Workbook, final: dict, mem: OpdMemory, revision, hashes: dict) -> None:
    """Remember that the sheet now shows these verdicts, at this revision (hashes:
    form -> row_hashes of the rows read, as planned)."""
    mem.row_hashes = {k: set(hashes[k]) for k in wb.sheets}
    mem.shown = shown(final)
    mem.revision = revision
    mem.complete = True


# ------------------------------------------------------------------ master
def _master(ctx, reports, listing, rep: CycleReport) -> bool:
    deadline, round_name = _current_round(ctx)
    sheets = mst.compile_master(reports, ctx.forms, listing, ctx.as_of, deadline, round_name,
                                previous=ctx.state.get("previous_season"),   # set by `season new`
                                reminders=_last_reminders(ctx), grouped=ctx.store.row_groups)
    rows = mst.rekap_data(sheets[0])
    ctx.state.set("rekap", rows)
    days = history.record_history(ctx.state.get("riwayat") or [], ctx.as_of, rows)
    ctx.state.set("riwayat", days)   # JSON in the state, never pickle
    sheets.append(history.riwayat(days, deadline))
    digest = _digest([mst.digest_body(s) for s in sheets])
    if digest == ctx.state.get("master_hash"):
        return True
    try:
        ctx.state.set("master_rev", ctx.store.write_master(sheets))
    except StoreError as e:
        why = _master_not_written(e.problem)
        rep.errors.append(f"master belum ditulis: {why}")   # `status` shows it: words, not a code
        log.warning("master belum ditulis: %s", why)
        return False
    ctx.state.set("master_hash", digest)
    rep.master_written = True
    return True


def _master_not_written(problem: Problem) -> str:
    """The master's write problem for the admin; an open master is the Inspektorat's own
    file in Excel, and the OPD text ('status ditulis setelah berkas ditutup') misleads."""
    if problem.code == "WB_LOCKED":
        return "master sedang dibuka di Excel/LibreOffice; ditulis pada siklus sesudah ditutup (WB_LOCKED)"
    return f"{problem.text()} ({problem.code})"


def _last_reminders(ctx) -> dict:
    """OPD code -> (kind, time) of its last reminder sent, from the reminders ledger."""
    from sheets_sync.remind.ledger import Ledger
    try:
        return Ledger(ctx.state).last_sent()
    except Exception as e:  # noqa: BLE001 - a column of the Rekap is not worth a cycle
        log.warning("riwayat pengingat tidak terbaca: %s", explain(e))
        return {}


def _digest(body) -> str:
    """JSON, not pickle: pickle bytes depend on object identity, not only on values.
    orjson: the city's 3.6 million master cells in a tenth of the standard encoder's
    time; what it does not take (an int beyond 64 bits) goes through the standard one."""
    try:
        canon = orjson.dumps(body, default=str)
    except TypeError:
        canon = json.dumps(body, default=str, ensure_ascii=False).encode()
    return hashlib.sha256(canon).hexdigest()


def _guarded(hook, ctx, reports, rep: CycleReport) -> None:
    try:
        hook(ctx, reports)
    except ConfigError as e:  # a settings mistake: the operator needs the message, not a traceback
        rep.errors.append(f"langkah {getattr(hook, '__name__', 'hook')}: pengaturan salah: {e}")
        log.error("langkah %s: pengaturan salah: %s", getattr(hook, "__name__", "hook"), e)
    except Exception as e:  # noqa: BLE001 - reminders failing must not fail the sync
        rep.errors.append(f"langkah {getattr(hook, '__name__', 'hook')} gagal: {explain(e)}")
        log.error("langkah %s gagal: %s", getattr(hook, "__name__", "hook"), explain(e))
        log.debug("rincian", exc_info=True)
