"""Reminder settings and the pure plan: which late OPD gets which slot today.
The whole design (slots, exactly once, privacy) is described in remind.py."""
from __future__ import annotations

import datetime as dt
import hashlib
import re
from dataclasses import dataclass, replace

from sheets_sync import mail
from sheets_sync.validate import opd_state as ostate
from sheets_sync.config import ConfigError, parse_date, shown
from sheets_sync.remind.calendar import OfficeCalendar, office_calendar

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
    cuti_bersama: tuple[dt.date, ...] = ()       # extra days off, beside the holidays package's

    @property
    def calendar(self) -> OfficeCalendar:
        return office_calendar(self.cuti_bersama)


_REMINDER_KEYS = {"enabled", "slots", "escalation", "digest", "max_problems", "subject_prefix",
                  "max_late_days", "cuti_bersama"}


def _offset(value, key: str) -> int:
    """-7, '-7', 'H-7', 'h+1' or 'H' -> days from the deadline."""
    if isinstance(value, bool):
        raise ConfigError(f"reminders.{key}: '{shown(value)}' bukan hari; tulis angka seperti -7 atau H-7.")
    if isinstance(value, int):
        return value
    m = re.fullmatch(r"\s*[Hh]?\s*([+-]\s*\d+)?\s*", str(value))
    if not m or (not m.group(1) and str(value).strip().upper() != "H"):
        try:
            return int(str(value).strip())
        except ValueError:
            raise ConfigError(f"reminders.{key}: '{shown(value)}' bukan hari; tulis angka seperti -7 "
                              f"atau H-7 (7 hari sebelum batas).") from None
    return int(m.group(1).replace(" ", "")) if m.group(1) else 0


def _offsets(raw: dict, key: str, default, low: int, high: int, hint: str) -> tuple[int, ...]:
    value = raw.get(key, default)
    if value is None:
        value = []
    if not isinstance(value, (list, tuple)):
        value = [value]
    out = [(_offset(v, key), v) for v in value]
    bad = [typed for o, typed in out if not low <= o <= high]
    if bad:
        raise ConfigError(f"reminders.{key}: '{shown(bad[0])}' tidak boleh; {hint}")
    days = [o for o, _ in out]
    twice = next((typed for i, (o, typed) in enumerate(out) if o in days[:i]), None)
    if twice is not None:
        raise ConfigError(f"reminders.{key}: hari '{shown(twice)}' ditulis dua kali "
                          f"({', '.join(shown(t) for _, t in out)}).")
    return tuple(sorted(days))


_YES, _NO = ("true", "yes", "on"), ("false", "no", "off")     # YAML 1.1 words still mean it


def _flag(raw: dict, key: str, default: bool) -> bool:
    value = raw.get(key, default)
    if isinstance(value, bool):
        return value
    text = shown(value).strip().casefold()
    if text in _YES + _NO:
        return text in _YES
    raise ConfigError(f"reminders.{key}: '{shown(value)}' harus true atau false.")


def _whole(raw: dict, key: str, default: int, low: int, high: int, unit: str = "") -> int:
    value = raw.get(key, default)
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise ConfigError(f"reminders.{key}: '{shown(value)}' harus bilangan bulat {low}–{high}{unit}.")
    return value


def _days_off(raw: dict, settings) -> tuple[dt.date, ...]:
    """reminders.cuti_bersama: [2023-06-28, 15 Oktober, ...] (without a year: `tahun`'s)."""
    value = raw.get("cuti_bersama") or []
    if not value:
        return ()
    if not isinstance(value, (list, tuple)):
        value = [value]
    return tuple(sorted({parse_date(v, "reminders.cuti_bersama", settings.year) for v in value} - {None}))


def reminder_config(settings) -> ReminderConfig:
    raw = settings.reminders or {}
    if not isinstance(raw, dict):
        raise ConfigError("reminders: harus berisi pasangan kunci: nilai (slots, escalation, digest).")
    unknown = sorted(set(raw) - _REMINDER_KEYS, key=str)
    if unknown:
        raise ConfigError(f"reminders: kunci tidak dikenal: {', '.join(map(str, unknown))}. "
                          f"Kunci yang dikenal: {', '.join(sorted(_REMINDER_KEYS))}.")
    d = ReminderConfig()
    slots = _offsets(raw, "slots", list(d.slots), -90, 0,
                     "pengingat dikirim pada atau sebelum batas (0 = hari H, -7 = H-7), -90 sampai 0.")
    esc = _offsets(raw, "escalation", list(d.escalation), 1, 90,
                   "eskalasi dikirim sesudah batas (1 = H+1), 1 sampai 90.")
    return ReminderConfig(enabled=_flag(raw, "enabled", True), slots=slots, escalation=esc,
                          digest=_flag(raw, "digest", False),
                          max_problems=_whole(raw, "max_problems", d.max_problems, 1, ostate.LISTED),
                          max_late_days=_whole(raw, "max_late_days", d.max_late_days, 0, 90, " (hari)"),
                          subject_prefix=str(raw.get("subject_prefix", d.subject_prefix)),
                          cuti_bersama=_days_off(raw, settings))


def check_settings(settings) -> None:
    """Raise ConfigError (Indonesian) if the reminder or mail settings cannot be
    used; for a worker to call once at start."""
    if reminder_config(settings).enabled:
        require_deadline(settings)
        mail.mail_config(settings)


def require_deadline(settings) -> dt.date:
    if settings.deadline is None:
        raise ConfigError("deadline belum diisi; pengingat dihitung dari batas pengiriman "
                          "(contoh deadline: 15 Oktober).")
    return settings.deadline


# ================================================================== planning (pure)
@dataclass(frozen=True)
class Slot:
    """One reminder of the season. `date` is the nominal day (deadline + offset):
    with the OPD and the kind it is the ledger key and the Message-ID, so a key
    never moves when the calendar (holidays, cuti bersama) changes. `send_on` is
    the working day it goes out: the working day before a nominal day off for H-n
    and H, the working day after for H+n. Of two slots on the same working day
    only the later (more urgent) is sent; the other is `merged_into` it."""
    offset: int           # days from the deadline
    date: dt.date         # deadline + offset
    escalation: bool
    send_on: dt.date | None = None     # None: the nominal date
    merged_into: int | None = None     # offset of the later slot sent the same day instead
    round: int = 1                     # the collection round (putaran) it belongs to

    @property
    def day(self) -> dt.date:
        """The day this slot is due."""
        return self.send_on or self.date

    @property
    def kind(self) -> str:
        """Part of the ledger key: 'h-3'; in a later round 'p2-h-3', so that a slot of
        round 2 is never taken for round 1's (round 1 keeps the key it always had)."""
        base = "h" if self.offset == 0 else f"h{self.offset:+d}"
        return base if self.round <= 1 else f"p{self.round}-{base}"

    @property
    def label(self) -> str:
        return label(self.offset)

    @property
    def moved(self) -> bool:
        return self.day != self.date


def label(offset: int) -> str:
    return "H" if offset == 0 else f"H{offset:+d}"


def season(cfg: ReminderConfig, deadline: dt.date, calendar: OfficeCalendar | None = None,
           round_no: int = 1) -> list[Slot]:
    """The season's (or one round's) slots, each on a working day of `calendar`
    (cfg.calendar by default)."""
    cal = calendar or cfg.calendar
    slots = []
    for offset, escalation in sorted([(o, False) for o in cfg.slots] + [(o, True) for o in cfg.escalation]):
        nominal = deadline + dt.timedelta(days=offset)
        day = cal.on_or_after(nominal) if offset > 0 else cal.on_or_before(nominal)
        slots.append(Slot(offset, nominal, escalation, day, round=round_no))
    latest = {}
    for s in slots:                                   # sorted by offset: the last one per day wins
        latest[s.day] = s.offset
    return [s if latest[s.day] == s.offset else replace(s, merged_into=latest[s.day]) for s in slots]


# ================================================================== rounds
@dataclass(frozen=True)
class Round:
    """A collection round (putaran) of the season: settings `putaran:`, or one round
    whose deadline is `deadline` (name '')."""
    number: int           # 1-based
    name: str
    deadline: dt.date

    @property
    def title(self) -> str:
        return self.name or f"Putaran {self.number}"


def season_rounds(settings) -> list[Round]:
    if settings.putaran:
        return [Round(i, name, day) for i, (name, day) in enumerate(settings.putaran, start=1)]
    return [Round(1, "", settings.deadline)] if settings.deadline else []


def round_end(cfg: ReminderConfig, rnd: Round, calendar: OfficeCalendar | None = None) -> dt.date:
    """The last day of a round: its last reminder's working day (the last escalation),
    never before its deadline."""
    days = [s.day for s in season(cfg, rnd.deadline, calendar, rnd.number)]
    return max(days + [rnd.deadline])


def season_over(cfg: ReminderConfig, settings, day: dt.date) -> bool:
    """Whether every reminder of the season is behind `day`: its last round's last slot
    went out (on its working day: an H+3 on a Saturday goes on Monday) before it. The
    service start and the self-check warn then; both ask this."""
    rounds = season_rounds(settings)
    return bool(rounds) and round_end(cfg, rounds[-1]) < day


def current_round(cfg: ReminderConfig, rounds: list[Round], today: dt.date,
                  calendar: OfficeCalendar | None = None) -> Round | None:
    """The first round not yet over on `today` (its deadline plus the escalation
    days); after the last round, the last one."""
    for rnd in rounds:
        if today <= round_end(cfg, rnd, calendar):
            return rnd
    return rounds[-1] if rounds else None


def round_slots(cfg: ReminderConfig, settings, today: dt.date) -> tuple[Round, list[Slot]]:
    """The current round on `today` and its slots: what reminders follow."""
    require_deadline(settings)
    rnd = current_round(cfg, season_rounds(settings), today)
    return rnd, season(cfg, rnd.deadline, round_no=rnd.number)


def ended_rounds(cfg: ReminderConfig, rounds: list[Round], today: dt.date,
                 calendar: OfficeCalendar | None = None) -> list[Round]:
    return [r for r in rounds if round_end(cfg, r, calendar) < today]


SEND, DONE, LENGKAP, NO_CONTACT, WAIT = "send", "done", "lengkap", "no_contact", "wait"
HELD = "held"   # the OPD's registry row is refused: the Inspektorat's to fix, nothing to tell the OPD


@dataclass
class Decision:
    code: str
    state: str
    action: str                       # SEND | DONE | LENGKAP | NO_CONTACT | HELD | WAIT
    slot: Slot | None = None          # the latest slot due (None: the season has not begun)
    to: tuple[str, ...] = ()
    cc: tuple[str, ...] = ()
    skip: tuple[Slot, ...] = ()       # older missed or merged slots, to record as skipped
    status: str | None = None         # ledger status of `slot`, if any
    note: str = ""                    # Indonesian, for the dry run
    next_slot: Slot | None = None


def stale_before(cfg: ReminderConfig, today: dt.date) -> dt.date:
    """Slots due before this are too old to send (reminders.max_late_days)."""
    return today - dt.timedelta(days=cfg.max_late_days)


def decide(opds: list[tuple], slots: list[Slot], today: dt.date, ledger: dict,
           inspektorat: tuple[str, ...], stale_before: dt.date | None = None, closed: str = "",
           unread: frozenset = frozenset()) -> list[Decision]:
    """Which OPD gets which slot today.

    opds: [(registry.Opd, state)]; ledger: {(code, kind, iso date): status}, keyed
    by the slot's nominal date. Per OPD only the latest slot whose working day has
    come is considered; older slots with no record were missed (worker down) or
    merged into a later slot of the same day, and are skipped, not sent. A slot
    due before `stale_before` is never sent at all: a worker started long after
    the season (or with last year's deadline) must not mail every OPD about it.
    `closed` (why today is not a working day, e.g. "Minggu") sends nothing today:
    what is due goes out on the next working day. `unread`: codes of OPDs whose workbook
    could not be read this cycle for a passing reason (Google's 503, a timeout): their
    state is not known, so their reminder waits for a cycle that reads them (reminders
    run on every cycle after the reminder time) instead of telling them a stale one."""
    stale = tuple(s for s in slots if stale_before and s.day < stale_before)
    due = [s for s in slots if s.day <= today and s not in stale]
    upcoming = next((s for s in slots if s.day > today and s.merged_into is None), None)
    out = []
    for opd, state in opds:
        old = tuple(s for s in stale if ledger.get((opd.code, s.kind, s.date.isoformat())) in (None, "failed"))
        if not due or closed:
            note = "belum waktunya" if upcoming else "tidak ada slot"
            if old:
                note = f"jadwal terakhir ({old[-1].label}) sudah lewat terlalu lama; tidak dikirim"
            if closed:
                note = f"hari libur ({closed}): tidak ada e-mail hari ini"
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
        elif opd.code in unread:
            d.action, d.note = WAIT, "berkas tidak terbaca pada siklus ini; pengingat menunggu siklus berikutnya"
        elif opd.refused is not None:
            # its workbook was not read (the row points outside, at the master, at another
            # OPD's file): "nothing filled" would be the registry's mistake told to the OPD
            d.action, d.note = HELD, "ditahan: Berkas / Tautan di Daftar OPD salah (lihat Rekap)"
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
    safe = re.sub(r"[^A-Za-z0-9-]", "_", code)[:40]   # the outbox file is named after it; the digest keeps it unique
    digest = hashlib.sha256(f"{tag}|{code}|{kind}|{day.isoformat()}".encode()).hexdigest()[:8]
    return f"<spi-{settings.year}-{safe}-{kind}-{day:%Y%m%d}.{digest}@{domain}>"
