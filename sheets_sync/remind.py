"""Reminder and escalation e-mails, and the Inspektorat's daily digest.

    settings (reminders:, mail:) -> slots of the season around the deadline
    -> plan: which late OPD gets which slot today (pure)
    -> render (Jinja2 templates, Bahasa Indonesia) -> send exactly once (ledger)

Slots: H-7, H-3, H-1 and H (the `slots` offsets, in days from the deadline) go to
the OPD's contact e-mails; H+1 and H+3 (`escalation`) go to the OPD's head with the
Inspektorat in Cc. An OPD that is LENGKAP gets nothing.

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

Privacy: the template context is built only from counts, sheet row numbers, column
headers, problem codes, OPD names and settings, never from cell values. Logs mask
e-mail addresses (s***@gmail.com).
"""
from __future__ import annotations

import datetime as dt
import hashlib
import logging
import re
import secrets
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import jinja2

from . import mail
from . import master as mst
from .codes import OK, PERIKSA, SALAH
from .config import WIB, ConfigError, today_wib

log = logging.getLogger("sheets_sync.remind")

TEMPLATES = Path(__file__).resolve().parent.parent / "templates" / "email"
DIGEST_OPD, DIGEST_KIND = "*", "digest"
FINAL = ("sent", "skipped", "uncertain", "not_needed")
COUNTED = ("sending", "sent", "uncertain")      # toward the daily cap
TRANSIENT = {"WB_CHANGED", "WB_LOCKED", "WB_WRITE_FAILED"}   # the worker's business, not the OPD's
MONTHS = ("Januari", "Februari", "Maret", "April", "Mei", "Juni", "Juli", "Agustus",
          "September", "Oktober", "November", "Desember")
DAYS = ("Senin", "Selasa", "Rabu", "Kamis", "Jumat", "Sabtu", "Minggu")

# The short meaning of each problem code, for e-mails: a row number and a column
# header plus this, never the cell's value (codes.py texts may quote values).
from .codes import SHORT_TEXT as SHORT  # noqa: E402 - the catalogue's short texts, safe for e-mails


# ================================================================== settings
@dataclass(frozen=True)
class ReminderConfig:
    enabled: bool = True
    slots: tuple[int, ...] = (-7, -3, -1, 0)      # days from the deadline, to the contacts
    escalation: tuple[int, ...] = (1, 3)          # days after it, to the head, Inspektorat in Cc
    digest: bool = False                          # daily table for the Inspektorat
    max_problems: int = 10                        # problem lines per form in an e-mail
    subject_prefix: str = "[SPI {tahun}]"


_REMINDER_KEYS = {"enabled", "slots", "escalation", "digest", "max_problems", "subject_prefix"}


def _offset(value, key: str) -> int:
    """-7, '-7', 'H-7', 'h+1' or 'H' -> days from the deadline."""
    if isinstance(value, bool):
        raise ConfigError(f"reminders.{key}: '{value}' bukan hari; tulis angka seperti -7 atau H-7.")
    if isinstance(value, int):
        return value
    m = re.fullmatch(r"\s*[Hh]?\s*([+-]\s*\d+)?\s*", str(value))
    if not m or (not m.group(1) and str(value).strip().upper() != "H"):
        try:
            return int(str(value).strip())
        except ValueError:
            raise ConfigError(f"reminders.{key}: '{value}' bukan hari; tulis angka seperti -7 "
                              f"atau H-7 (7 hari sebelum batas).") from None
    return int(m.group(1).replace(" ", "")) if m.group(1) else 0


def _offsets(raw: dict, key: str, default, low: int, high: int, hint: str) -> tuple[int, ...]:
    value = raw.get(key, default)
    if value is None:
        value = []
    if not isinstance(value, (list, tuple)):
        value = [value]
    out = [_offset(v, key) for v in value]
    bad = [v for v in out if not low <= v <= high]
    if bad:
        raise ConfigError(f"reminders.{key}: {bad[0]} tidak boleh; {hint}")
    if len(set(out)) != len(out):
        raise ConfigError(f"reminders.{key}: ada hari yang ditulis dua kali ({out}).")
    return tuple(sorted(out))


def _flag(raw: dict, key: str, default: bool) -> bool:
    value = raw.get(key, default)
    if not isinstance(value, bool):
        raise ConfigError(f"reminders.{key}: '{value}' harus true atau false.")
    return value


def reminder_config(settings) -> ReminderConfig:
    raw = settings.reminders or {}
    if not isinstance(raw, dict):
        raise ConfigError("reminders: harus berisi pasangan kunci: nilai (slots, escalation, digest).")
    unknown = sorted(set(raw) - _REMINDER_KEYS)
    if unknown:
        raise ConfigError(f"reminders: kunci tidak dikenal: {', '.join(unknown)}. "
                          f"Kunci yang dikenal: {', '.join(sorted(_REMINDER_KEYS))}.")
    d = ReminderConfig()
    slots = _offsets(raw, "slots", list(d.slots), -90, 0,
                     "pengingat dikirim pada atau sebelum batas (0 = hari H, -7 = H-7), -90 sampai 0.")
    esc = _offsets(raw, "escalation", list(d.escalation), 1, 90,
                   "eskalasi dikirim sesudah batas (1 = H+1), 1 sampai 90.")
    maxp = raw.get("max_problems", d.max_problems)
    if not isinstance(maxp, int) or isinstance(maxp, bool) or not 1 <= maxp <= 100:
        raise ConfigError(f"reminders.max_problems: '{maxp}' harus bilangan bulat 1–100.")
    return ReminderConfig(enabled=_flag(raw, "enabled", True), slots=slots, escalation=esc,
                          digest=_flag(raw, "digest", False), max_problems=maxp,
                          subject_prefix=str(raw.get("subject_prefix", d.subject_prefix)))


def check_settings(settings) -> None:
    """Raise ConfigError (Indonesian) if the reminder or mail settings cannot be
    used; for a worker to call once at start."""
    if reminder_config(settings).enabled:
        require_deadline(settings)
        mail.mail_config(settings)


def require_deadline(settings) -> dt.date:
    if settings.deadline is None:
        raise ConfigError("deadline belum diisi; pengingat dihitung dari batas pengiriman "
                          "(contoh deadline: 2023-10-15).")
    return settings.deadline


# ================================================================== planning (pure)
@dataclass(frozen=True)
class Slot:
    offset: int           # days from the deadline
    date: dt.date         # deadline + offset
    escalation: bool

    @property
    def kind(self) -> str:
        return "h" if self.offset == 0 else f"h{self.offset:+d}"

    @property
    def label(self) -> str:
        return label(self.offset)


def label(offset: int) -> str:
    return "H" if offset == 0 else f"H{offset:+d}"


def season(cfg: ReminderConfig, deadline: dt.date) -> list[Slot]:
    slots = [Slot(o, deadline + dt.timedelta(days=o), False) for o in cfg.slots]
    slots += [Slot(o, deadline + dt.timedelta(days=o), True) for o in cfg.escalation]
    return sorted(slots, key=lambda s: s.offset)


SEND, DONE, LENGKAP, NO_CONTACT, WAIT = "send", "done", "lengkap", "no_contact", "wait"


@dataclass
class Decision:
    code: str
    state: str
    action: str                       # SEND | DONE | LENGKAP | NO_CONTACT | WAIT
    slot: Slot | None = None          # the latest slot due (None: the season has not begun)
    to: tuple[str, ...] = ()
    cc: tuple[str, ...] = ()
    skip: tuple[Slot, ...] = ()       # older missed slots, to record as skipped
    status: str | None = None         # ledger status of `slot`, if any
    note: str = ""                    # Indonesian, for the dry run
    next_slot: Slot | None = None


def plan(opds: list[tuple], slots: list[Slot], today: dt.date, ledger: dict,
         inspektorat: tuple[str, ...]) -> list[Decision]:
    """Which OPD gets which slot today.

    opds: [(registry.Opd, state)]; ledger: {(code, kind, iso date): status}.
    Per OPD only the latest slot whose date has come is considered; older slots
    with no record were missed (worker down) and are skipped, not sent."""
    due = [s for s in slots if s.date <= today]
    upcoming = next((s for s in slots if s.date > today), None)
    out = []
    for opd, state in opds:
        if not due:
            out.append(Decision(opd.code, state, WAIT, next_slot=upcoming,
                                note="belum waktunya" if upcoming else "tidak ada slot"))
            continue
        latest = due[-1]
        skip = tuple(s for s in due[:-1] if ledger.get((opd.code, s.kind, s.date.isoformat())) in (None, "failed"))
        status = ledger.get((opd.code, latest.kind, latest.date.isoformat()))
        d = Decision(opd.code, state, SEND, latest, skip=skip, status=status, next_slot=upcoming)
        if status in FINAL or status == "sending":
            d.action, d.note = DONE, {"sent": "sudah terkirim", "skipped": "dilewati",
                                      "uncertain": "mungkin sudah terkirim (periksa)",
                                      "not_needed": "tidak perlu (lengkap saat slot)",
                                      "sending": "sedang/terputus saat dikirim"}[status]
        elif state == mst.LENGKAP:
            d.action, d.note = LENGKAP, "lengkap, tidak dikirimi"
        else:
            to, cc = _recipients(opd, latest, inspektorat)
            d.to, d.cc = to, cc
            if not to:
                d.action, d.note = NO_CONTACT, "TANPA E-MAIL KONTAK di Daftar OPD"
            else:
                d.note = "dikirim ulang (sebelumnya gagal)" if status == "failed" else "akan dikirim"
                if latest.escalation and not opd.heads:
                    d.note += "; e-mail kepala OPD kosong, dikirim ke kontak"
        out.append(d)
    return out


def _recipients(opd, slot: Slot, inspektorat) -> tuple[tuple, tuple]:
    if slot.escalation:
        to = tuple(opd.heads) or tuple(opd.contacts)
        low = {a.casefold() for a in to}
        return to, tuple(a for a in inspektorat if a.casefold() not in low)
    return tuple(opd.contacts), ()


def message_id(settings, tag: str, code: str, kind: str, day: dt.date, domain: str) -> str:
    """Stable per slot: e.g. <spi-2023-DINKES-h-3-20231012.5f1c0a9e@mukomukokab.go.id>.
    `tag` is a secret of this installation, so two installations never collide."""
    safe = re.sub(r"[^A-Za-z0-9-]", "_", code)
    digest = hashlib.sha256(f"{tag}|{code}|{kind}|{day.isoformat()}".encode()).hexdigest()[:8]
    return f"<spi-{settings.year}-{safe}-{kind}-{day:%Y%m%d}.{digest}@{domain}>"


# ================================================================== ledger
class Ledger:
    """The `reminders` table of the state database (schema in state.py). Every
    call is one committed statement (the connection is in autocommit mode)."""

    def __init__(self, state):
        self.state = state
        self.db = state.db

    def statuses(self) -> dict:
        rows = self.db.execute("SELECT opd, kind, slot_date, status FROM reminders").fetchall()
        return {(o, k, d): s for o, k, d, s in rows}

    def status(self, key) -> str | None:
        row = self.db.execute("SELECT status FROM reminders WHERE opd=? AND kind=? AND slot_date=?",
                              key).fetchone()
        return row[0] if row else None

    def rows(self, status: str) -> list[tuple]:
        return self.db.execute("SELECT opd, kind, slot_date, message_id FROM reminders WHERE status=? "
                               "ORDER BY updated_at", (status,)).fetchall()

    def record(self, key, mid: str, status: str, now: dt.datetime, recipients: str = "") -> None:
        """A final status (skipped, not_needed) for a slot that has none yet or failed."""
        self.db.execute("INSERT INTO reminders VALUES (?,?,?,?,?,?,?) "
                        "ON CONFLICT(opd, kind, slot_date) DO UPDATE SET status=excluded.status, "
                        "updated_at=excluded.updated_at WHERE reminders.status='failed'",
                        (*key, mid, status, recipients, _stamp(now)))

    def claim(self, key, mid: str, recipients: str, now: dt.datetime) -> bool:
        """'sending', committed before the message leaves. False if the slot is
        already taken (only a new or failed slot can be claimed)."""
        cur = self.db.execute(
            "INSERT INTO reminders VALUES (?,?,?,?,'sending',?,?) "
            "ON CONFLICT(opd, kind, slot_date) DO UPDATE SET status='sending', "
            "message_id=excluded.message_id, recipients=excluded.recipients, "
            "updated_at=excluded.updated_at WHERE reminders.status='failed'",
            (*key, mid, recipients, _stamp(now)))
        return cur.rowcount == 1

    def mark(self, key, status: str, now: dt.datetime | None = None) -> None:
        if now is None:
            self.db.execute("UPDATE reminders SET status=? WHERE opd=? AND kind=? AND slot_date=?",
                            (status, *key))
        else:
            self.db.execute("UPDATE reminders SET status=?, updated_at=? WHERE opd=? AND kind=? "
                            "AND slot_date=?", (status, _stamp(now), *key))

    def drop(self, key) -> None:
        self.db.execute("DELETE FROM reminders WHERE opd=? AND kind=? AND slot_date=?", key)

    def sent_on(self, day: dt.date) -> int:
        """Messages handed to the transport on this WIB day (for the daily cap)."""
        marks = ",".join("?" * len(COUNTED))
        return self.db.execute(f"SELECT COUNT(*) FROM reminders WHERE status IN ({marks}) "
                               f"AND substr(updated_at, 1, 10)=?", (*COUNTED, day.isoformat())).fetchone()[0]


def _stamp(now: dt.datetime) -> str:
    return now.astimezone(WIB).isoformat(timespec="seconds")


def install_tag(state, create: bool = True) -> str:
    tag = state.get("remind_secret")
    if tag is None and create:
        tag = secrets.token_hex(8)
        state.set("remind_secret", tag)
    return tag or "pratinjau"


# ================================================================== rendering
@lru_cache(maxsize=4)
def environment(folder: str = str(TEMPLATES)) -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(folder), undefined=jinja2.StrictUndefined,
        autoescape=lambda name: bool(name) and name.endswith(".html.j2"),
        trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)


def render(name: str, context: dict) -> tuple[str, str, str]:
    """(subject, text, html) of the `name` templates (reminder or digest)."""
    env = environment()
    subject = " ".join(env.get_template(f"{name}_subject.txt.j2").render(context).split())
    text = env.get_template(f"{name}.txt.j2").render(context)
    html = env.get_template(f"{name}.html.j2").render(context)
    return subject, text, html


def dmy(d: dt.date) -> str:
    return d.strftime("%d/%m/%Y")


def long_date(d: dt.date) -> str:
    return f"{DAYS[d.weekday()]}, {d.day} {MONTHS[d.month - 1]} {d.year}"


def _common(settings, rcfg: ReminderConfig, today: dt.date) -> dict:
    deadline = require_deadline(settings)
    offset = (today - deadline).days
    insp = settings.inspektorat or {}
    emails = insp.get("email") or []
    emails = [emails] if isinstance(emails, str) else list(emails)
    return {
        "year": settings.year,
        "prefix": rcfg.subject_prefix.replace("{tahun}", str(settings.year)),
        "today": dmy(today), "today_long": long_date(today),
        "deadline": dmy(deadline), "deadline_long": long_date(deadline),
        "offset": offset, "label": label(offset),
        "days_left": max(-offset, 0), "days_late": max(offset, 0),
        "reminder_time": settings.reminder_time,
        "inspektorat": {"name": str(insp.get("nama") or "Inspektorat Daerah"),
                        "emails": [str(e) for e in emails], "contact": str(insp.get("kontak") or "")},
    }


def opd_context(rep, forms, settings, rcfg: ReminderConfig, slot: Slot, today: dt.date) -> dict:
    """The reminder's template context: counts, row numbers, headers and codes only."""
    forms_ctx, total = [], Counter()
    for key in rep.opd.forms:
        res = rep.results.get(key)
        form = forms[key]
        counts = res.counts() if res is not None else {OK: 0, PERIKSA: 0, SALAH: 0}
        total.update(counts)
        problems, more = _first_problems(res, form, rcfg.max_problems)
        rule = form.complete
        slots_ctx = None
        if "all_choices" in rule:
            col = rule["all_choices"]
            need = Counter(mst.slots(forms, key, col))
            filled = mst.slots_filled(res, forms, key, col)
            slots_ctx = {"column": form.column(col).header, "filled": sum(filled.values()),
                         "total": sum(need.values()),
                         "open": [c for c in need if filled.get(c, 0) < need[c]]}
        forms_ctx.append({
            "name": form.sheet, "title": form.title, "ok": counts[OK], "periksa": counts[PERIKSA],
            "salah": counts[SALAH], "rows": sum(counts.values()),
            "accepted": counts[OK] + counts[PERIKSA], "min_rows": int(rule.get("min_rows", 1)),
            "complete": mst.form_complete(res, forms, key), "slots": slots_ctx,
            "problems": problems, "more": more,
        })
    state = mst.opd_state(rep, forms)
    return {
        **_common(settings, rcfg, today),
        "opd": {"code": rep.opd.code, "name": rep.opd.name},
        "state": state,
        "slot": {"label": slot.label, "kind": slot.kind, "date": dmy(slot.date),
                 "escalation": slot.escalation},
        "forms": forms_ctx,
        "incomplete": [f["name"] for f in forms_ctx if not f["complete"]],
        "total": {"ok": total[OK], "periksa": total[PERIKSA], "salah": total[SALAH],
                  "rows": sum(total.values())},
        "file_problems": [mst.problem_text(p) for p in rep.problems if p.code not in TRANSIENT],
        "link": rep.link or rep.opd.location or "",
    }


def _first_problems(res, form, limit: int) -> tuple[list[dict], int]:
    if res is None or not len(res.problems):
        return [], 0
    order = {c.key: i for i, c in enumerate(form.columns)}
    p = res.problems[["row", "column", "code", "severity"]].copy()
    p["rank"] = (p["severity"] != SALAH).astype(int)
    p["col_order"] = p["column"].map(order).fillna(len(order))
    p = p.sort_values(["rank", "row", "col_order"], kind="stable")
    out = []
    for row, col, code, sev in p[["row", "column", "code", "severity"]].head(limit).itertuples(index=False):
        try:
            header = form.column(col).header
        except KeyError:
            header = str(col)
        meaning = SHORT.get(code) or ("perlu diperbaiki" if sev == SALAH else "perlu diperiksa")
        out.append({"row": int(row), "column": header, "meaning": meaning, "severity": str(sev)})
    return out, max(len(p) - limit, 0)


def digest_context(reports, forms, settings, rcfg: ReminderConfig, today: dt.date,
                   outcome: dict) -> dict:
    rows, states = [], Counter()
    for rep in reports:
        counts = Counter()
        for res in rep.results.values():
            counts.update(res.counts())
        state = mst.opd_state(rep, forms)
        states[state] += 1
        rows.append({"code": rep.opd.code, "name": rep.opd.name, "state": state,
                     "rows": sum(counts.values()), "ok": counts[OK], "periksa": counts[PERIKSA],
                     "salah": counts[SALAH], "reminder": outcome.get(rep.opd.code, "-")})
    order = [mst.BELUM_MENGISI, mst.ADA_KESALAHAN, mst.BELUM_LENGKAP, mst.LENGKAP]
    return {**_common(settings, rcfg, today), "rows": rows, "n_opd": len(rows),
            "states": [{"state": s, "count": states.get(s, 0)} for s in order],
            "complete": states.get(mst.LENGKAP, 0)}


def opd_message(rep, forms, settings, rcfg, mcfg, slot: Slot, today: dt.date, to, cc, tag: str,
                now: dt.datetime) -> mail.Message:
    subject, text, html = render("reminder", opd_context(rep, forms, settings, rcfg, slot, today))
    mid = message_id(settings, tag, rep.opd.code, slot.kind, slot.date, mcfg.message_id_domain)
    return mail.Message(tuple(to), subject, text, html, mid, tuple(cc), now,
                        {"X-SPI-Slot": f"{rep.opd.code} {slot.label} {slot.date.isoformat()}"})


def digest_message(reports, forms, settings, rcfg, mcfg, today, outcome, to, tag, now) -> mail.Message:
    subject, text, html = render("digest", digest_context(reports, forms, settings, rcfg, today, outcome))
    mid = message_id(settings, tag, "rekap", DIGEST_KIND, today, mcfg.message_id_domain)
    return mail.Message(tuple(to), subject, text, html, mid, (), now,
                        {"X-SPI-Slot": f"rekap {today.isoformat()}"})


# ================================================================== running
@dataclass
class Summary:
    today: str = ""
    sent: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    held: list[str] = field(default_factory=list)       # not tried: server unreachable
    capped: list[str] = field(default_factory=list)     # not tried: daily cap reached
    no_contact: list[str] = field(default_factory=list)
    uncertain: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)

    def line(self) -> str:
        parts = [f"pengingat {self.today}: {len(self.sent)} terkirim"]
        for name, items in (("gagal", self.failed), ("tertunda (server tidak terjangkau)", self.held),
                            ("tertunda (batas harian)", self.capped), ("tanpa e-mail", self.no_contact),
                            ("belum pasti", self.uncertain), ("dilewati", self.skipped)):
            if items:
                parts.append(f"{len(items)} {name}")
        return ", ".join(parts)

    def as_dict(self) -> dict:
        return dict(self.__dict__)


def today_of(ctx) -> dt.date:
    """The day the reminder step acts for: ctx.today if the runner set one, else
    ctx.as_of (jobs.py --as-of replays a day)."""
    return getattr(ctx, "today", None) or ctx.as_of


def hook(ctx, reports) -> Summary:
    """The cycle's reminder step: `ctx.hooks = [remind.hook]` (jobs.py, daily at
    reminder_time WIB, and with --once)."""
    return run(ctx.settings, ctx.forms, ctx.state, reports, today_of(ctx), ctx.now())


def run(settings, forms, state, reports, today: dt.date, now: dt.datetime, transport=None) -> Summary:
    rcfg = reminder_config(settings)
    summary = Summary(dmy(today))
    if not rcfg.enabled:
        log.info("pengingat dimatikan (reminders.enabled: false)")
        return summary
    deadline = require_deadline(settings)
    mcfg = mail.mail_config(settings)
    ledger = Ledger(state)
    tag = install_tag(state)
    transport = transport or mail.open_transport(mcfg, settings)
    insp = tuple(_insp_emails(settings))
    dated = _dated(settings, today, now)
    try:
        _settle_sending(ledger, transport, settings, summary)
        slots = season(rcfg, deadline)
        by_code = {r.opd.code: r for r in reports}
        decisions = plan([(r.opd, mst.opd_state(r, forms)) for r in reports], slots, today,
                         ledger.statuses(), insp)
        out = _Sender(ledger, transport, mcfg, now, summary)
        outcome = {}
        for d in decisions:
            rep = by_code[d.code]
            for s in d.skip:
                key = (d.code, s.kind, s.date.isoformat())
                ledger.record(key, message_id(settings, tag, d.code, s.kind, s.date, mcfg.message_id_domain),
                              "skipped", now)
                summary.skipped.append(f"{d.code} {s.label}")
            outcome[d.code] = _outcome(d)
            if d.action == LENGKAP:
                ledger.record((d.code, d.slot.kind, d.slot.date.isoformat()),
                              message_id(settings, tag, d.code, d.slot.kind, d.slot.date,
                                         mcfg.message_id_domain), "not_needed", now)
            elif d.action == NO_CONTACT:
                summary.no_contact.append(d.code)
                what = "kepala OPD maupun kontak" if d.slot.escalation else "kontak"
                log.warning("OPD %s (%s) terlambat tetapi tidak punya e-mail %s di Daftar OPD; "
                            "pengingat %s tidak dikirim", d.code, d.state, what, d.slot.label)
            elif d.action == SEND:
                try:
                    msg = opd_message(rep, forms, settings, rcfg, mcfg, d.slot, today, d.to, d.cc, tag, dated)
                except Exception as e:  # noqa: BLE001 - one OPD's template fault never stops the others
                    log.error("pengingat %s untuk %s tidak dapat dibuat: %s: %s", d.slot.label, d.code,
                              type(e).__name__, mail.mask_all(e))
                    summary.failed.append(f"{d.code} {d.slot.label}")
                    continue
                ok = out.deliver((d.code, d.slot.kind, d.slot.date.isoformat()), msg, f"{d.code} {d.slot.label}")
                outcome[d.code] = f"{d.slot.label} terkirim" if ok else f"{d.slot.label} tertunda"
        if rcfg.digest:
            _digest(reports, forms, settings, rcfg, mcfg, today, outcome, insp, tag, now, ledger, out)
    finally:
        transport.close()
    log.info(summary.line())
    state.set("reminders_last", summary.as_dict())
    return summary


def _dated(settings, today: dt.date, now: dt.datetime) -> dt.datetime:
    """The Date of today's messages: now, or for a replayed day (--as-of) that day at
    the reminder time."""
    if now.astimezone(WIB).date() == today:
        return now
    return dt.datetime.combine(today, dt.time.fromisoformat(settings.reminder_time), WIB)


def _insp_emails(settings) -> list[str]:
    emails = (settings.inspektorat or {}).get("email") or []
    return [emails] if isinstance(emails, str) else [str(e) for e in emails]


def _outcome(d: Decision) -> str:
    if d.action == WAIT:
        return "-"
    if d.action == DONE:
        return f"{d.slot.label} {d.note}"
    if d.action == LENGKAP:
        return "lengkap"
    if d.action == NO_CONTACT:
        return "tanpa e-mail kontak"
    return f"{d.slot.label} akan dikirim"


def _digest(reports, forms, settings, rcfg, mcfg, today, outcome, insp, tag, now, ledger, out) -> None:
    key = (DIGEST_OPD, DIGEST_KIND, today.isoformat())
    if ledger.status(key) in FINAL:
        return
    if not insp:
        log.warning("rekap harian tidak dikirim: inspektorat.email kosong di pengaturan")
        return
    msg = digest_message(reports, forms, settings, rcfg, mcfg, today, outcome, insp, tag, _dated(settings, today, now))
    out.deliver(key, msg, "rekap harian")


class _Sender:
    """Hands messages to the transport one by one: ledger first, pause, cap."""

    def __init__(self, ledger: Ledger, transport, mcfg, now: dt.datetime, summary: Summary):
        self.ledger, self.transport, self.mcfg, self.now, self.summary = ledger, transport, mcfg, now, summary
        self.day = now.astimezone(WIB).date()
        self.count = ledger.sent_on(self.day)
        self.tried = 0
        self.down = False
        self.cap_logged = False
        self.pause = mcfg.pause_seconds if transport.name == "smtp" else 0

    def deliver(self, key, msg: mail.Message, what: str) -> bool:
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
        if not self.ledger.claim(key, msg.message_id, mail.masked(msg.recipients), self.now):
            return False        # recorded meanwhile: never twice
        self.count += 1
        try:
            refused = self.transport.send(msg)
        except mail.SendError as e:
            self.ledger.mark(key, "failed", self.now)
            self.count -= 1
            self.summary.failed.append(what)
            self.down = self.down or e.connect
            log.warning("%s belum terkirim ke %s: %s; dicoba lagi pada siklus berikutnya",
                        what, mail.masked(msg.recipients), e.reason)
            return False
        # A process killed here leaves 'sending': settled by the next run, never resent blindly.
        self.ledger.mark(key, "sent", self.now)
        self.summary.sent.append(what)
        log.info("%s terkirim (%s) ke %s", what, self.transport.name, mail.masked(msg.recipients))
        if refused:
            log.warning("%s: sebagian penerima ditolak server: %s", what,
                        "; ".join(f"{a} {c}" for a, (c, _) in refused.items()))
        return True


def _settle_sending(ledger: Ledger, transport, settings, summary: Summary) -> None:
    """Slots left in 'sending' by an earlier run that died after handing a message over."""
    outbox = mail.OutboxTransport(None, settings.outbox_dir)
    for opd, kind, day, mid in ledger.rows("sending"):
        key = (opd, kind, day)
        if outbox.delivered(mid) or transport.delivered(mid):
            ledger.mark(key, "sent")
        elif transport.name == "outbox":
            ledger.drop(key)        # the .eml was never written: due again now
        else:
            ledger.mark(key, "uncertain")
            summary.uncertain.append(f"{opd} {kind}")
            log.warning("pengingat %s %s (%s) mungkin sudah terkirim: proses berhenti saat mengirim. "
                        "Tidak dikirim ulang; periksa folder Terkirim akun pengirim (Message-ID %s).",
                        opd, kind.upper(), day, mid)


# ================================================================== CLI
def cli(args, settings) -> int:
    """`python -m sheets_sync remind [--dry-run] [--preview KODE_OPD] [--as-of DATE]`."""
    from .forms import load_forms
    from .offline import last_reports
    from .state import State

    rcfg = reminder_config(settings)
    mcfg = mail.mail_config(settings)
    deadline = require_deadline(settings)
    today = args.as_of or today_wib()
    if not settings.state_db.exists():
        print("Belum ada siklus yang dijalankan. Jalankan dulu: python jobs.py --once")
        return 1
    forms = load_forms(str(settings.forms_file) if settings.forms_file else None)
    reports = last_reports(settings, forms)
    if not reports:
        print("Belum ada data OPD di basis data keadaan. Jalankan dulu: python jobs.py --once")
        return 1
    _add_links(settings, forms, reports)
    state = State(settings.state_db)
    try:
        if args.preview:
            return _preview(args, settings, forms, rcfg, mcfg, reports, today, state)
        return _dry_run(settings, forms, rcfg, mcfg, reports, today, deadline, state)
    finally:
        state.close()


def _add_links(settings, forms, reports) -> None:
    try:
        from .sync import make_store
        store = make_store(settings, forms)
        for r in reports:
            r.link = store.link(r.opd)
    except Exception:  # noqa: BLE001 - a link is a nicety; the registry's location will do
        for r in reports:
            r.link = r.opd.location


def _dry_run(settings, forms, rcfg, mcfg, reports, today, deadline, state) -> int:
    insp = tuple(_insp_emails(settings))
    decisions = plan([(r.opd, mst.opd_state(r, forms)) for r in reports], season(rcfg, deadline), today,
                     Ledger(state).statuses(), insp)
    tag = install_tag(state, create=False)
    now = dt.datetime.combine(today, dt.time.fromisoformat(settings.reminder_time), WIB)
    offset = (today - deadline).days
    print(f"Pengingat untuk {long_date(today)} pukul {settings.reminder_time} WIB "
          f"({label(offset)}; batas {dmy(deadline)}), transport {mcfg.transport}. Tidak ada yang dikirim.")
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
            cc = f", cc {mail.masked(d.cc)}" if d.cc else ""
            print(f"{head}{kind} {d.slot.label} ke {mail.masked(d.to)}{cc} ({d.note})")
            print(f"{'':<28}Subjek: {msg.subject}")
        elif d.action == WAIT:
            nxt = f"; berikutnya {d.next_slot.label} pada {dmy(d.next_slot.date)}" if d.next_slot else ""
            print(f"{head}- {d.note}{nxt}")
        else:
            print(f"{head}{d.slot.label}: {d.note}")
        if d.skip:
            print(f"{'':<28}tidak tercatat: {', '.join(s.label for s in d.skip)}; hanya slot terbaru yang "
                  f"dikirim, yang lebih lama dicatat dilewati")
    if rcfg.digest:
        if insp:
            status = Ledger(state).status((DIGEST_OPD, DIGEST_KIND, today.isoformat()))
            what = "sudah terkirim" if status in FINAL else "akan dikirim"
            print(f"Rekap harian ke {mail.masked(insp)}: {what}")
        else:
            print("Rekap harian: inspektorat.email kosong, tidak dikirim")
    left = max(mcfg.daily_cap - Ledger(state).sent_on(today_wib()), 0)
    print(f"Ringkasan: {n_send} e-mail akan dikirim; "
          f"{sum(d.action == NO_CONTACT for d in decisions)} OPD tanpa e-mail; "
          f"{sum(d.state == mst.LENGKAP for d in decisions)} OPD lengkap. "
          f"Sisa batas harian hari ini: {left}.")
    return 0


def _preview(args, settings, forms, rcfg, mcfg, reports, today, state) -> int:
    code = args.preview.strip()
    tag = install_tag(state, create=False)
    deadline = require_deadline(settings)
    slots = season(rcfg, deadline)
    if code.casefold() in ("rekap", "digest"):
        now = dt.datetime.combine(today, dt.time.fromisoformat(settings.reminder_time), WIB)
        msg = digest_message(reports, forms, settings, rcfg, mcfg, today, {}, _insp_emails(settings) or
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
    state_now = mst.opd_state(rep, forms)
    d = plan([(rep.opd, state_now)], slots, today, Ledger(state).statuses(), tuple(_insp_emails(settings)))[0]
    if d.action == SEND:
        slot, day, note = d.slot, today, f"slot hari ini ({d.slot.label})"
    else:
        slot = d.next_slot or slots[-1]
        day = max(slot.date, today)
        note = f"slot berikutnya ({slot.label}, {dmy(slot.date)})" if d.next_slot else \
            f"slot terakhir ({slot.label})"
    to, cc = _recipients(rep.opd, slot, tuple(_insp_emails(settings)))
    if not to:
        to = ("kontak-belum-diisi@contoh.go.id",)
    now = dt.datetime.combine(day, dt.time.fromisoformat(settings.reminder_time), WIB)
    msg = opd_message(rep, forms, settings, rcfg, mcfg, slot, day, to, cc, tag, now)
    if state_now == mst.LENGKAP:
        note += "; OPD ini LENGKAP sehingga tidak akan dikirimi"
    return _write_preview(args, settings, mcfg, msg, f"{rep.opd.code}-{slot.kind}-{slot.date:%Y%m%d}", note)


def _write_preview(args, settings, mcfg, msg: mail.Message, stem: str, note: str) -> int:
    out = Path(args.out) if args.out else settings.outbox_dir / "pratinjau"
    if out.suffix.lower() in (".eml", ".html"):
        base = out.with_suffix("")
    else:
        base = out / f"pratinjau-{re.sub(r'[^A-Za-z0-9._+-]', '_', stem)}"
    base.parent.mkdir(parents=True, exist_ok=True)
    eml, html = base.with_name(base.name + ".eml"), base.with_name(base.name + ".html")
    eml.write_bytes(mail.build(mcfg, msg))
    html.write_text(msg.html, encoding="utf-8")
    print(f"Pratinjau {note}: {msg.subject}")
    print(eml)
    print(html)
    return 0


__all__ = ["hook", "cli", "run", "check_settings", "plan", "season", "reminder_config", "render", "Ledger", "Slot",
           "ReminderConfig", "Summary", "SHORT"]
