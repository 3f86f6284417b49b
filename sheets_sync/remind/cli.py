"""`python -m sheets_sync remind`: --dry-run (who would get what) and --preview."""
from __future__ import annotations

import datetime as dt
import re
import sys
from pathlib import Path

from sheets_sync import mail
from sheets_sync.fileio import PRIVATE, atomic_write_bytes, atomic_write_text
from sheets_sync.logsafe import mask_addresses
from sheets_sync.validate import opd_state as ostate
from sheets_sync.config import WIB, today_wib
from sheets_sync.remind.plan import (
    DIGEST_KIND, DIGEST_OPD, FINAL, NO_CONTACT, SEND, WAIT, recipients, label, decide,
    reminder_config, require_deadline, round_slots, stale_before)
from sheets_sync.remind.ledger import Ledger, SentRecords, install_tag
from sheets_sync.remind.text import digest_message, dmy, long_date, opd_message




# ================================================================== CLI
def main(args, settings) -> int:
    """`python -m sheets_sync remind [--dry-run] [--preview KODE_OPD] [--as-of DATE]`."""
    from sheets_sync.forms import forms_for
    from sheets_sync.ops.offline import last_reports
    from sheets_sync.cycle.state import State

    rcfg = reminder_config(settings)
    mcfg = mail.mail_config(settings)
    require_deadline(settings)
    today = args.as_of or today_wib()
    if not settings.state_db.exists():
        print("Belum ada siklus yang dijalankan. Jalankan dulu: python jobs.py --once")
        return 1
    forms = forms_for(settings)
    reports = last_reports(settings, forms)
    if not reports:
        print("Belum ada data OPD di basis data keadaan. Jalankan dulu: python jobs.py --once")
        return 1
    _add_links(settings, forms, reports)
    with State(settings.state_db, read_only=True) as state:
        if args.preview:
            return _preview(args, settings, forms, rcfg, mcfg, reports, today, state)
        return _dry_run(settings, forms, rcfg, mcfg, reports, today, state)


def _add_links(settings, forms, reports) -> None:
    try:
        from sheets_sync.cycle.context import make_store
        store = make_store(settings, forms)
        from sheets_sync.cycle.writes import first_problem
        for r in reports:
            r.link = store.link(r.opd, first_problem(r.results, r.opd.forms))
    except Exception:  # noqa: BLE001 - a link is a nicety; the registry's location will do
        for r in reports:
            r.link = r.opd.location


def _dry_run(settings, forms, rcfg, mcfg, reports, today, state) -> int:
    insp = tuple(settings.inspektorat_emails)
    rnd, slots = round_slots(rcfg, settings, today)     # the current collection round's
    deadline = rnd.deadline
    closed = rcfg.calendar.closed(today)
    known = {**SentRecords(settings.records_dir).statuses(), **Ledger(state).statuses()}   # a lost state too
    decisions = decide([(r.opd, ostate.opd_state(r, forms)) for r in reports], slots, today,
                     known, insp, stale_before=stale_before(rcfg, today), closed=closed,
                     unread=ostate.unread_codes(reports))   # as the cycle decides
    tag = install_tag(state, settings.records_dir, create=False)
    now = dt.datetime.combine(today, dt.time.fromisoformat(settings.reminder_time), WIB)
    offset = (today - deadline).days
    print(f"Pengingat untuk {long_date(today)} pukul {settings.reminder_time} WIB "
          f"({label(offset)}; {'putaran ' + rnd.title + ', ' if settings.putaran else ''}batas {dmy(deadline)}), "
          f"transport {mcfg.transport}. Tidak ada yang dikirim.")
    print(f"Jadwal (hari kerja): {schedule_line(slots)}")
    if closed:
        print(f"Hari ini bukan hari kerja ({closed}): tidak ada pengingat maupun rekap harian hari ini.")
    if not rcfg.enabled:
        print("Pengingat dimatikan (reminders.enabled: false).")
    by_code = {r.opd.code: r for r in reports}
    n_send = 0
    for d in decisions:
        head = f"{d.code:<12} {d.state:<14} "
        if d.action == SEND:
            n_send += 1
            msg = opd_message(by_code[d.code], forms, settings, rcfg, mcfg, d.slot, today, d.to, d.cc, tag, now)
            kind = "ESKALASI" if d.slot.escalation else "pengingat"
            cc = f", cc {mask_addresses(d.cc)}" if d.cc else ""
            print(f"{head}{kind} {d.slot.label} ke {mask_addresses(d.to)}{cc} ({d.note})")
            print(f"{'':<28}Subjek: {msg.subject}")
        elif d.action == WAIT:
            nxt = f"; berikutnya {d.next_slot.label} pada {dmy(d.next_slot.day)}" if d.next_slot else ""
            print(f"{head}- {d.note}{nxt}")
        else:
            print(f"{head}{d.slot.label}: {d.note}")
        merged = [s for s in d.skip if s.merged_into is not None and s.day == today]
        missed = [s for s in d.skip if s not in merged]
        if merged:
            print(f"{'':<28}{', '.join(s.label for s in merged)} jatuh pada hari kerja yang sama dengan "
                  f"{label(merged[-1].merged_into)}: hanya {label(merged[-1].merged_into)} yang dikirim, "
                  f"{', '.join(s.label for s in merged)} dicatat dilewati")
        if missed:
            print(f"{'':<28}tidak tercatat: {', '.join(s.label for s in missed)}; hanya slot terbaru yang "
                  f"dikirim, yang lebih lama dicatat dilewati")
    if rcfg.digest and not closed:
        if insp:
            status = Ledger(state).status((DIGEST_OPD, DIGEST_KIND, today.isoformat()))
            what = "sudah terkirim" if status in FINAL else "akan dikirim"
            print(f"Rekap harian ke {mask_addresses(insp)}: {what}")
        else:
            print("Rekap harian: inspektorat.email kosong, tidak dikirim")
    left = max(mcfg.daily_cap - Ledger(state).sent_on(today_wib()), 0)
    print(f"Ringkasan: {n_send} e-mail akan dikirim; "
          f"{sum(d.action == NO_CONTACT for d in decisions)} OPD tanpa e-mail; "
          f"{sum(d.state == ostate.LENGKAP for d in decisions)} OPD lengkap. "
          f"Sisa batas harian hari ini: {left}.")
    return 0


def _preview(args, settings, forms, rcfg, mcfg, reports, today, state) -> int:
    code = args.preview.strip()
    tag = install_tag(state, settings.records_dir, create=False)
    _, slots = round_slots(rcfg, settings, today)
    if code.casefold() in ("rekap", "digest"):
        now = dt.datetime.combine(today, dt.time.fromisoformat(settings.reminder_time), WIB)
        msg = digest_message(reports, forms, settings, rcfg, mcfg, today, {}, settings.inspektorat_emails or
                             ["inspektorat@contoh.go.id"], tag, now)
        return _write_preview(args, settings, mcfg, msg, f"rekap-{today:%Y%m%d}", "rekap harian")
    rep = next((r for r in reports if r.opd.code.casefold() == code.casefold()), None)
    if rep is None:
        print(f"OPD '{code}' tidak ada di Daftar OPD. Kode yang ada: "
              f"{', '.join(r.opd.code for r in reports)}", file=sys.stderr)
        return 2
    if not slots:
        print("Tidak ada slot pengingat di pengaturan (reminders.slots dan reminders.escalation kosong).")
        return 1
    state_now = ostate.opd_state(rep, forms)
    d = decide([(rep.opd, state_now)], slots, today, Ledger(state).statuses(), tuple(settings.inspektorat_emails),
             closed=rcfg.calendar.closed(today), unread=ostate.unread_codes([rep]))[0]
    if d.action == SEND:
        slot, day, note = d.slot, today, f"slot hari ini ({d.slot.label})"
    else:
        slot = d.next_slot or slots[-1]
        day = max(slot.day, today)
        note = f"slot berikutnya ({slot.label}, {dmy(slot.day)})" if d.next_slot else \
            f"slot terakhir ({slot.label})"
    to, cc = recipients(rep.opd, slot, tuple(settings.inspektorat_emails))
    if not to:
        to = ("kontak-belum-diisi@contoh.go.id",)
    now = dt.datetime.combine(day, dt.time.fromisoformat(settings.reminder_time), WIB)
    msg = opd_message(rep, forms, settings, rcfg, mcfg, slot, day, to, cc, tag, now)
    if state_now == ostate.LENGKAP:
        note += "; OPD ini LENGKAP sehingga tidak akan dikirimi"
    return _write_preview(args, settings, mcfg, msg, f"{rep.opd.code}-{slot.kind}-{day:%Y%m%d}", note)   # the day it goes out (Date:), not its nominal day


def schedule_line(slots) -> str:
    """H-7 Jumat 06/10 (bukan Minggu 08/10), H-3 Kamis 12/10, H-1 digabung ke H, ..."""
    parts = []
    for s in slots:
        if s.merged_into is not None:
            parts.append(f"{s.label} digabung ke {label(s.merged_into)}")
            continue
        moved = f" (bukan {day_name(s.date)} {s.date:%d/%m}, hari libur)" if s.moved else ""
        parts.append(f"{s.label} {day_name(s.day)} {s.day:%d/%m}{moved}")
    return ", ".join(parts)


def day_name(d: dt.date) -> str:
    return long_date(d).split(",")[0]


def _write_preview(args, settings, mcfg, msg: mail.Message, stem: str, note: str) -> int:
    out = Path(args.out) if args.out else settings.outbox_dir / "pratinjau"
    if out.suffix.lower() in (".eml", ".html"):
        base = out.with_suffix("")
    else:
        base = out / f"pratinjau-{re.sub(r'[^A-Za-z0-9._+-]', '_', stem)}"
    eml, html = base.with_name(base.name + ".eml"), base.with_name(base.name + ".html")
    atomic_write_bytes(eml, mail.build(mcfg, msg), mode=PRIVATE)
    atomic_write_text(html, msg.html, mode=PRIVATE)
    print(f"Pratinjau {note}: {msg.subject}")
    print(eml)
    print(html)
    return 0


