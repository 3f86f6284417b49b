"""Reminder settings and the pure plan: which late OPD gets which slot today.
The whole design (slots, exactly once, privacy) is described in remind.py."""
from __future__ import annotations

import datetime as dt
import hashlib
import re
from dataclasses import dataclass

from sheets_sync import mail
from sheets_sync.validate import opd_state as ostate
from sheets_sync.config import ConfigError

DIGEST_OPD, DIGEST_KIND = "*", "digest"
FINAL = ("sent", "skipped", "uncertain", "not_needed")
COUNTED = ("sending", "sent", "uncertain")      # toward the daily cap


# ================================================================== settings
@dataclass(frozen=True)
class ReminderConfig:
    enabled: bool = True
    slots: tuple[int, ...] = (-7, -3, -1, 0)      # days from the deadline, to the contacts
    escalation: tuple[int, ...] = (1, 3)          # days after it, to the head, Inspektorat in Cc
    digest: bool = False                          # daily table for the Inspektorat
    max_problems: int = 10                        # problem lines per form in an e-mail
    max_late_days: int = 7                        # a slot further back than this is not sent
    subject_prefix: str = "[SPI {tahun}]"


_REMINDER_KEYS = {"enabled", "slots", "escalation", "digest", "max_problems", "subject_prefix",
                  "max_late_days"}


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
    late = raw.get("max_late_days", d.max_late_days)
    if not isinstance(late, int) or isinstance(late, bool) or not 0 <= late <= 90:
        raise ConfigError(f"reminders.max_late_days: '{late}' harus bilangan bulat 0–90 (hari).")
    return ReminderConfig(enabled=_flag(raw, "enabled", True), slots=slots, escalation=esc,
                          digest=_flag(raw, "digest", False), max_problems=maxp, max_late_days=late,
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


def stale_before(cfg: ReminderConfig, today: dt.date) -> dt.date:
    """Slots dated before this are too old to send (reminders.max_late_days)."""
    return today - dt.timedelta(days=cfg.max_late_days)


def plan(opds: list[tuple], slots: list[Slot], today: dt.date, ledger: dict,
         inspektorat: tuple[str, ...], stale_before: dt.date | None = None) -> list[Decision]:
    """Which OPD gets which slot today.

    opds: [(registry.Opd, state)]; ledger: {(code, kind, iso date): status}.
    Per OPD only the latest slot whose date has come is considered; older slots
    with no record were missed (worker down) and are skipped, not sent. A slot
    dated before `stale_before` is never sent at all: a worker started long after
    the season (or with last year's deadline) must not mail every OPD about it."""
    stale = tuple(s for s in slots if stale_before and s.date < stale_before)
    due = [s for s in slots if s.date <= today and s not in stale]
    upcoming = next((s for s in slots if s.date > today), None)
    out = []
    for opd, state in opds:
        old = tuple(s for s in stale if ledger.get((opd.code, s.kind, s.date.isoformat())) in (None, "failed"))
        if not due:
            note = "belum waktunya" if upcoming else "tidak ada slot"
            if old:
                note = f"jadwal terakhir ({old[-1].label}) sudah lewat terlalu lama; tidak dikirim"
            out.append(Decision(opd.code, state, WAIT, next_slot=upcoming, note=note, skip=old))
            continue
        latest = due[-1]
        skip = old + tuple(s for s in due[:-1]
                           if ledger.get((opd.code, s.kind, s.date.isoformat())) in (None, "failed"))
        status = ledger.get((opd.code, latest.kind, latest.date.isoformat()))
        d = Decision(opd.code, state, SEND, latest, skip=skip, status=status, next_slot=upcoming)
        if status in FINAL or status == "sending":
            d.action, d.note = DONE, {"sent": "sudah terkirim", "skipped": "dilewati",
                                      "uncertain": "mungkin sudah terkirim (periksa)",
                                      "not_needed": "tidak perlu (lengkap saat slot)",
                                      "sending": "sedang/terputus saat dikirim"}[status]
        elif state == ostate.LENGKAP:
            d.action, d.note = LENGKAP, "lengkap, tidak dikirimi"
        else:
            to, cc = recipients(opd, latest, inspektorat)
            d.to, d.cc = to, cc
            if not to:
                d.action, d.note = NO_CONTACT, "TANPA E-MAIL KONTAK di Daftar OPD"
            else:
                d.note = "dikirim ulang (sebelumnya gagal)" if status == "failed" else "akan dikirim"
                if latest.escalation and not opd.heads:
                    d.note += "; e-mail kepala OPD kosong, dikirim ke kontak"
        out.append(d)
    return out


def recipients(opd, slot: Slot, inspektorat) -> tuple[tuple, tuple]:
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
