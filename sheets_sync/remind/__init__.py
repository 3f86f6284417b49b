"""Reminder and escalation e-mails, and the Inspektorat's daily digest.

    settings (reminders:, mail:) -> slots of the season around the deadline
    -> plan: which late OPD gets which slot today (pure)
    -> render (Jinja2 templates, Bahasa Indonesia) -> send exactly once (ledger)

Slots: H-7, H-3, H-1 and H (the `slots` offsets, in days from the deadline) go to
the OPD's contact e-mails; H+1 and H+3 (`escalation`) go to the OPD's head with the
Inspektorat in Cc. An OPD that is LENGKAP gets nothing. Slots follow the office
calendar (calendar.py): one that falls on a weekend, public holiday or cuti bersama
goes out on the working day before (H-n, H) or after (H+n); of two slots on the
same working day only the later is sent, the other recorded skipped; nothing (nor
the digest) is sent on a day off. The key keeps the slot's nominal date.

Exactly once. The key of a message is (OPD, kind, slot date), e.g. (DINKES, h-3,
2023-10-12), and its Message-ID is derived from that key, so it is the same in
every run. Per key the ledger (the `reminders` table of the state database) holds:

    sending    committed BEFORE the message goes to the transport
    sent       the server (or the outbox folder) accepted it
    failed     refused or unreachable: due again in the next run
    skipped    an older slot passed while the worker was down (only the latest
               missed slot is sent)
    not_needed the OPD was LENGKAP when the slot came
    uncertain  found in 'sending' by a later run with the SMTP transport: the
               process died between handing over and recording; probably
               delivered, so NOT sent again (one log line asks the admin to check)

With the outbox transport a 'sending' row is settled by looking for the .eml file
named after its Message-ID: there, it is 'sent'; missing, the row is dropped and
the slot is sent now.

Beside the data. Every slot handed to the transport also gets a small fsynced file
in <data_dir>/.sheets_sync/sent/ (ledger.SentRecords), created exclusively before
the message leaves; the installation tag in the Message-IDs lives there too. A
state database that is truncated, deleted or replaced (a second settings file)
learns those slots back before planning (restore_ledger), so no slot is sent twice
and a slot's Message-ID never changes.

Privacy: the template context is built only from counts, sheet row numbers, column
headers, problem codes, OPD names and settings, never from cell values. Logs mask
e-mail addresses (s***@gmail.com).
"""
from __future__ import annotations

import datetime as dt
import hashlib
import logging
import time
from dataclasses import dataclass, field

from sheets_sync import mail
from sheets_sync.logsafe import mask, mask_addresses
from sheets_sync.validate import opd_state as ostate
from sheets_sync.config import WIB
from sheets_sync.remind.plan import (  # noqa: F401 - re-exported
    DIGEST_KIND, DIGEST_OPD, DONE, Decision, FINAL, HELD, LENGKAP, NO_CONTACT, ReminderConfig, Round,
    SEND, Slot, WAIT, check_settings, current_round, ended_rounds, label, message_id, decide, reminder_config,
    require_deadline, round_slots, season, season_over, season_rounds, stale_before)
from sheets_sync.remind.rounds import note_ended_rounds, recorded_rounds  # noqa: F401 - re-exported
from sheets_sync.remind.ledger import Ledger, SentRecords, install_tag, restore_ledger  # noqa: F401
from sheets_sync.remind.calendar import OfficeCalendar  # noqa: F401 - re-exported
from sheets_sync.remind.text import (  # noqa: F401 - re-exported
    SHORT, TEMPLATES, digest_context, digest_message, dmy, environment, opd_context,
    opd_message, render)

log = logging.getLogger("sheets_sync.remind")


# ================================================================== running
@dataclass
class Summary:
    today: str = ""
    sent: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    held: list[str] = field(default_factory=list)       # not tried: server unreachable
    capped: list[str] = field(default_factory=list)     # not tried: daily cap reached
    no_contact: list[str] = field(default_factory=list)
    registry: list[str] = field(default_factory=list)   # not sent: the OPD's registry row is refused
    uncertain: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)

    def line(self) -> str:
        parts = [f"pengingat {self.today}: {len(self.sent)} terkirim"]
        for name, items in (("gagal", self.failed), ("tertunda (server tidak terjangkau)", self.held),
                            ("tertunda (batas harian)", self.capped), ("tanpa e-mail", self.no_contact),
                            ("ditahan (baris Daftar OPD salah)", self.registry),
                            ("belum pasti", self.uncertain),
                            ("jadwal tidak dikirim (sudah lewat atau digabung)", self.skipped)):
            if items:
                parts.append(f"{len(items)} {name}")
        return ", ".join(parts)

    def as_dict(self) -> dict:
        return dict(self.__dict__)


def today_of(ctx) -> dt.date:
    """The day the reminder step acts for: the cycle's calendar day (jobs.py --as-of
    replays a day; tanggal_laporan may freeze only the reporting date)."""
    return ctx.today


def hook(ctx, reports) -> Summary:
    """The cycle's reminder step: `ctx.hooks = [remind.hook]` (jobs.py, daily at
    reminder_time WIB, and with --once)."""
    return run(ctx.settings, ctx.forms, ctx.state, reports, today_of(ctx), ctx.now())


def run(settings, forms, state, reports, today: dt.date, now: dt.datetime, transport=None) -> Summary:
    rcfg = reminder_config(settings)
    summary = Summary(dmy(today))
    note_ended_rounds(state, settings, forms, reports, today)   # history, reminders on or off
    if not rcfg.enabled:
        log.info("pengingat dimatikan (reminders.enabled: false)")
        return summary
    _, slots = round_slots(rcfg, settings, today)        # reminders follow the current round
    mcfg = mail.mail_config(settings)
    ledger, records = Ledger(state), SentRecords(settings.records_dir)
    records.sweep()
    tag = install_tag(state, settings.records_dir)
    restore_ledger(ledger, records)
    transport = transport or mail.open_transport(mcfg, settings)
    day = _Day(settings, forms, rcfg, mcfg, ledger, tag, today, now, summary,
               _Sender(ledger, records, transport, mcfg, now, summary))
    try:
        _settle_sending(ledger, records, transport, settings, summary, now)
        closed = rcfg.calendar.closed(today)     # a weekend or holiday: no e-mail today
        decisions = decide([(r.opd, ostate.opd_state(r, forms)) for r in reports],
                         slots, today,
                         ledger.statuses(), day.insp, stale_before=stale_before(rcfg, today), closed=closed,
                         unread=ostate.unread_codes(reports))
        by_code = {r.opd.code: r for r in reports}
        for d in decisions:
            day.act(d, by_code[d.code])
        if rcfg.digest and not closed:
            day.digest(reports)
    finally:
        transport.close()
    log.info(summary.line())
    state.set("reminders_last", summary.as_dict())
    return summary


@dataclass
class _Day:
    """One day's reminder step: what it acts with, and what each decision does."""
    settings: object
    forms: object
    rcfg: ReminderConfig
    mcfg: object
    ledger: Ledger
    tag: str
    today: dt.date
    now: dt.datetime
    summary: Summary
    out: "_Sender"
    outcome: dict = field(default_factory=dict)   # OPD code -> what happened, for the digest

    @property
    def insp(self) -> tuple[str, ...]:
        return tuple(self.settings.inspektorat_emails)

    def act(self, d: Decision, rep) -> None:
        for s in d.skip:          # older slots passed while the worker was down
            self.record(d.code, s, "skipped")
            self.summary.skipped.append(f"{d.code} {s.label}")
        self.outcome[d.code] = _outcome(d)
        if d.action == LENGKAP:
            self.record(d.code, d.slot, "not_needed")
        elif d.action == NO_CONTACT:
            self.summary.no_contact.append(d.code)
            what = "kepala OPD maupun kontak" if d.slot.escalation else "kontak"
            log.warning("OPD %s (%s) terlambat tetapi tidak punya e-mail %s di Daftar OPD; "
                        "pengingat %s tidak dikirim", d.code, d.state, what, d.slot.label)
        elif d.action == HELD:
            self.summary.registry.append(d.code)
            log.warning("OPD %s: pengingat %s ditahan karena baris Daftar OPD-nya salah (Berkas / Tautan); "
                        "setelah diperbaiki, dikirim pada siklus berikutnya", d.code, d.slot.label)
        elif d.action == SEND:
            self.send(d, rep)

    def record(self, code: str, slot: Slot, status: str) -> None:
        mid = message_id(self.settings, self.tag, code, slot.kind, slot.date, self.mcfg.message_id_domain)
        self.ledger.record((code, slot.kind, slot.date.isoformat()), mid, status, self.now)

    def send(self, d: Decision, rep) -> None:
        mark = fingerprint(self.tag, rep.opd.name, d.to + d.cc)
        key = (d.code, d.slot.kind, d.slot.date.isoformat())
        earlier = self.ledger.sent_as(key, mark)
        if earlier:   # the same reminder to the same people, before the registry's Kode OPD changed
            self.record(d.code, d.slot, "skipped")
            self.outcome[d.code] = f"{d.slot.label} sudah terkirim (sebagai {earlier})"
            log.info("OPD %s: pengingat %s sudah terkirim sebagai OPD %s (Kode OPD diubah); tidak dikirim ulang",
                     d.code, d.slot.label, earlier)
            return
        try:
            msg = opd_message(rep, self.forms, self.settings, self.rcfg, self.mcfg, d.slot, self.today, d.to,
                              d.cc, self.tag, _dated(self.settings, self.today, self.now))
        except Exception as e:  # noqa: BLE001 - one OPD's template fault never stops the others
            log.error("pengingat %s untuk %s tidak dapat dibuat: %s: %s", d.slot.label, d.code,
                      type(e).__name__, mask(e))
            self.summary.failed.append(f"{d.code} {d.slot.label}")
            return
        ok = self.out.deliver(key, msg, f"{d.code} {d.slot.label}", mark)
        self.outcome[d.code] = f"{d.slot.label} terkirim" if ok else f"{d.slot.label} tertunda"

    def digest(self, reports) -> None:
        """The Inspektorat's daily digest, once a day."""
        key = (DIGEST_OPD, DIGEST_KIND, self.today.isoformat())
        if self.ledger.status(key) in FINAL:
            return
        if not self.insp:
            log.warning("rekap harian tidak dikirim: inspektorat.email kosong di pengaturan")
            return
        msg = digest_message(reports, self.forms, self.settings, self.rcfg, self.mcfg, self.today, self.outcome,
                             self.insp, self.tag, _dated(self.settings, self.today, self.now))
        self.out.deliver(key, msg, "rekap harian")


def fingerprint(tag: str, name: str, addresses) -> str:
    """One OPD's reminder to its people, whatever its Kode OPD: the name and the
    recipients, keyed with the installation's secret (the ledger keeps addresses only
    masked; this cannot be turned back into them)."""
    text = "\n".join([tag, name.strip().casefold(), *sorted(a.strip().casefold() for a in addresses)])
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def _dated(settings, today: dt.date, now: dt.datetime) -> dt.datetime:
    """The Date of today's messages: now, or for a replayed day (--as-of) that day at
    the reminder time."""
    if now.astimezone(WIB).date() == today:
        return now
    return dt.datetime.combine(today, dt.time.fromisoformat(settings.reminder_time), WIB)


def _outcome(d: Decision) -> str:
    if d.action == WAIT:
        return "-"
    if d.action == DONE:
        return f"{d.slot.label} {d.note}"
    if d.action == LENGKAP:
        return "lengkap"
    if d.action == NO_CONTACT:
        return "tanpa e-mail kontak"
    if d.action == HELD:
        return "ditahan: Daftar OPD salah"
    return f"{d.slot.label} akan dikirim"


class _Sender:
    """Hands messages to the transport one by one: ledger first, pause, cap."""

    def __init__(self, ledger: Ledger, records: SentRecords, transport, mcfg, now: dt.datetime, summary: Summary):
        self.ledger, self.transport, self.mcfg, self.now, self.summary = ledger, transport, mcfg, now, summary
        self.records = records
        self.day = now.astimezone(WIB).date()
        self.count = ledger.sent_on(self.day)
        self.tried = 0
        self.down = False
        self.cap_logged = False
        self.pause = mcfg.pause_seconds if transport.name == "smtp" else 0

    def deliver(self, key, msg: mail.Message, what: str, mark: str = "") -> bool:
        if self.down:
            self.summary.held.append(what)
            return False
        if self.count >= self.mcfg.daily_cap:
            self.summary.capped.append(what)
            if not self.cap_logged:
                self.cap_logged = True
                log.warning("batas harian %d e-mail tercapai (WIB %s); sisa pengingat dikirim pada "
                            "siklus berikutnya. Naikkan mail.daily_cap hanya jika akun pengirim mengizinkan.",
                            self.mcfg.daily_cap, dmy(self.day))
            return False
        if self.tried and self.pause:
            time.sleep(self.pause)
        self.tried += 1
        to = mask_addresses(msg.recipients) + (f" #{mark}" if mark else "")
        if not self.ledger.claim(key, msg.message_id, to, self.now):
            return False        # recorded meanwhile: never twice
        try:
            claimed = self.records.claim(key, msg.message_id, self.now)
        except OSError as e:    # cannot record beside the data: do not send what could not be recorded
            self.ledger.mark(key, "failed", self.now)
            self.summary.failed.append(what)
            log.warning("%s belum dikirim: catatan pengiriman di %s tidak dapat ditulis (%s); dicoba lagi pada "
                        "siklus berikutnya", what, self.records.folder, e.strerror or e)
            return False
        if not claimed:         # handed over before, by a run whose state is lost: never twice
            earlier = self.records.get(key) or {}
            self.ledger.mark(key, "sent" if earlier.get("status") == "sent" else "uncertain", self.now)
            log.warning("%s sudah tercatat di %s; tidak dikirim ulang", what, self.records.folder)
            return False
        self.count += 1
        try:
            refused = self.transport.send(msg)
        except mail.SendError as e:
            self.records.release(key)
            self.ledger.mark(key, "failed", self.now)
            self.count -= 1
            self.summary.failed.append(what)
            self.down = self.down or e.connect
            log.warning("%s belum terkirim ke %s: %s; dicoba lagi pada siklus berikutnya",
                        what, mask_addresses(msg.recipients), e.reason)
            return False
        # A process killed here leaves 'sending': settled by the next run, never resent blindly.
        self.ledger.mark(key, "sent", self.now)
        self.records.mark_sent(key, msg.message_id, self.now)
        self.summary.sent.append(what)
        log.info("%s terkirim (%s) ke %s", what, self.transport.name, mask_addresses(msg.recipients))
        if refused:
            log.warning("%s: sebagian penerima ditolak server: %s", what,
                        "; ".join(f"{a} {c}" for a, (c, _) in refused.items()))
        return True


def _settle_sending(ledger: Ledger, records: SentRecords, transport, settings, summary: Summary,
                    now: dt.datetime) -> None:
    """Slots left in 'sending' by an earlier run that died after handing a message over."""
    outbox = mail.OutboxTransport(None, settings.outbox_dir)
    for opd, kind, day, mid in ledger.rows("sending"):
        key = (opd, kind, day)
        if outbox.delivered(mid) or transport.delivered(mid):
            ledger.mark(key, "sent")
            _quietly(lambda: records.mark_sent(key, mid, now))
        elif transport.name == "outbox":
            _quietly(lambda: records.release(key))
            ledger.drop(key)        # the .eml was never written: due again now
        else:
            ledger.mark(key, "uncertain")
            summary.uncertain.append(f"{opd} {kind}")
            log.warning("pengingat %s %s (%s) mungkin sudah terkirim: proses berhenti saat mengirim. "
                        "Tidak dikirim ulang; periksa folder Terkirim akun pengirim (Message-ID %s).",
                        opd, kind.upper(), day, mid)


def _quietly(fn) -> None:
    try:
        fn()
    except OSError as e:
        log.warning("catatan pengiriman di folder data tidak dapat diperbarui: %s", e.strerror or e)


__all__ = ["hook", "run", "check_settings", "plan", "season", "reminder_config", "render", "Ledger", "Slot",
           "ReminderConfig", "Summary", "SHORT", "OfficeCalendar"]
