"""What reminder and digest e-mails say: Jinja2 contexts built only from counts,
row numbers, column headers and problem codes (never cell values), and rendering."""
from __future__ import annotations

import datetime as dt
from collections import Counter
from functools import lru_cache

import jinja2

from sheets_sync import mail
from sheets_sync.config import TEMPLATES_DIR
from sheets_sync.validate import opd_state as ostate
from sheets_sync import codes
from sheets_sync.codes import OK, PERIKSA, REGISTRY, SALAH, TRANSIENT
from sheets_sync.remind.plan import (
    DIGEST_KIND, ReminderConfig, Slot, current_round, label, message_id, require_deadline, season_rounds)

TEMPLATES = TEMPLATES_DIR / "email"
# The short meaning of each problem code, for e-mails: a row number and a column
# header plus this, never the cell's value (codes.py texts may quote values).
from sheets_sync.codes import SHORT_TEXT as SHORT  # noqa: E402


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
    return codes.long_date(d, weekday=True)


def _common(settings, rcfg: ReminderConfig, today: dt.date) -> dict:
    require_deadline(settings)
    rnd = current_round(rcfg, season_rounds(settings), today)    # e-mails follow the current round
    deadline = rnd.deadline
    offset = (today - deadline).days
    insp = settings.inspektorat or {}
    emails = insp.get("email") or []
    emails = [emails] if isinstance(emails, str) else list(emails)
    cal = rcfg.calendar
    workdays_left = sum(cal.is_workday(today + dt.timedelta(days=i)) for i in range(1, max(-offset, 0) + 1))
    return {
        "year": settings.year,
        "prefix": rcfg.subject_prefix.replace("{tahun}", str(settings.year)),
        "today": dmy(today), "today_long": long_date(today),
        "deadline": dmy(deadline), "deadline_long": long_date(deadline),
        "round": rnd.title if settings.putaran else "",
        "offset": offset, "label": label(offset),
        "days_left": max(-offset, 0), "days_late": max(offset, 0),
        # the deadline falls on a day off and no working day is left before it
        "last_workday": offset < 0 and workdays_left == 0,
        "deadline_closed": cal.closed(deadline),
        "reminder_time": settings.reminder_time,
        "backend": settings.backend, "sync_minutes": settings.sync_minutes,
        "surat_edaran": surat_edaran(settings),
        "inspektorat": {"name": str(insp.get("nama") or "Inspektorat Daerah"),
                        "emails": [str(e) for e in emails], "contact": str(insp.get("kontak") or "")},
    }


def surat_edaran(settings) -> str:
    """'Surat Edaran Bupati Mukomuko Nomor 700/654/ITDA/X/2023 tanggal 13 Oktober 2023',
    or '' when the settings do not name the circular."""
    se = settings.surat_edaran or {}
    if not se.get("nomor"):
        return ""
    text = " ".join(x for x in ("Surat Edaran", se.get("penerbit") or "", "Nomor", se["nomor"]) if x)
    if se.get("tanggal"):
        text += f" tanggal {codes.long_date(se['tanggal'])}"
    return text


def opd_context(rep, forms, settings, rcfg: ReminderConfig, slot: Slot, today: dt.date) -> dict:
    """The reminder's template context: counts, row numbers, headers and codes only."""
    forms_ctx, total = [], Counter()
    for key in rep.opd.forms:
        summ = rep.summary(forms, key)
        form = forms[key]
        counts = summ.counts if summ is not None else {OK: 0, PERIKSA: 0, SALAH: 0}
        total.update(counts)
        problems, more = _first_problems(summ, form, rcfg.max_problems)
        rule = form.complete
        slots_ctx = None
        if "all_choices" in rule:
            col = rule["all_choices"]
            need = Counter(ostate.slots(forms, key, col))
            filled = ostate.filled_of(summ, forms, key)
            slots_ctx = {"column": form.column(col).header, "filled": sum(filled.values()),
                         "total": sum(need.values()),
                         "open": [c for c in need if filled.get(c, 0) < need[c]]}
        complete = ostate.form_complete(summ, forms, key)
        tab_faults = [p.text() for p in rep.problems
                      if p.code in ostate.OPD_FAULTS and form.matches_sheet(str(p.params.get("tab", "")))]
        rows = sum(counts.values())
        forms_ctx.append({
            "name": form.sheet, "title": form.title, "ok": counts[OK], "periksa": counts[PERIKSA],
            "salah": counts[SALAH], "rows": rows,
            "accepted": counts[OK] + counts[PERIKSA], "min_rows": int(rule.get("min_rows", 1)),
            "complete": complete, "slots": slots_ctx, "problems": problems, "more": more,
            "tab_faults": tab_faults, "need": _need(counts[SALAH], tab_faults, complete, slots_ctx, rows),
        })
    state = ostate.opd_state(rep, forms)
    return {
        **_common(settings, rcfg, today),
        "opd": {"code": rep.opd.code, "name": rep.opd.name},
        "state": state,
        "slot": {"label": slot.label, "kind": slot.kind, "date": dmy(slot.date),
                 "escalation": slot.escalation},
        "forms": forms_ctx,
        "incomplete": [f["name"] for f in forms_ctx if not f["complete"]],
        "to_fix": [f["name"] for f in forms_ctx if f["need"] in (NEED_FIX, NEED_TAB)],
        "to_fill": [f["name"] for f in forms_ctx if f["need"] in (NEED_ROWS, NEED_SLOTS)],
        "total": {"ok": total[OK], "periksa": total[PERIKSA], "salah": total[SALAH],
                  "rows": sum(total.values())},
        "file_problems": [p.text() for p in rep.problems if p.code not in TRANSIENT | REGISTRY],
        "link": rep.link or ("" if rep.opd.refused else rep.opd.location) or "",
        # texts from forms.yaml, never cell values
        "obligations": [ob["text"] for ob in forms.obligations if ob["key"] in rep.opd.obligations_due()],
        "link_bare": _bare_name(rep.link or rep.opd.location or ""),
    }


def _bare_name(link: str) -> bool:
    """A file name without the folder OPDs open it from (settings alamat_berkas unset)."""
    return bool(link) and not any(ch in link for ch in "/\\:")


# What a form needs next, in the order an OPD must deal with it: a form with SALAH
# rows (or a broken tab) needs fixing whatever its counts, so the per-form table
# always agrees with an ADA KESALAHAN headline.
NEED_FIX, NEED_TAB, NEED_ROWS, NEED_SLOTS, NEED_NOTHING = "perbaiki", "tab", "isi", "slot", "lengkap"


def _need(salah: int, tab_faults: list, complete: bool, slots_ctx, rows: int) -> str:
    if tab_faults:
        return NEED_TAB
    if salah:
        return NEED_FIX
    if complete:
        return NEED_NOTHING
    return NEED_SLOTS if slots_ctx and rows else NEED_ROWS


def _first_problems(summ, form, limit: int) -> tuple[list[dict], int]:
    """The first `limit` problems of the form (the summary lists them in e-mail order)."""
    if summ is None or not summ.problems:
        return [], 0
    out = []
    for row, col, code, sev in summ.listed[:limit]:
        try:
            header = form.column(col).header
        except KeyError:
            header = str(col)
        meaning = SHORT.get(code) or ("perlu diperbaiki" if sev == SALAH else "perlu diperiksa")
        out.append({"row": int(row), "column": header, "meaning": meaning, "severity": str(sev)})
    return out, max(summ.problems - limit, 0)


def digest_context(reports, forms, settings, rcfg: ReminderConfig, today: dt.date,
                   outcome: dict) -> dict:
    rows, states = [], Counter()
    for rep in reports:
        counts = ostate.counts_of(rep, forms)
        state = ostate.opd_state(rep, forms)
        states[state] += 1
        rows.append({"code": rep.opd.code, "name": rep.opd.name, "state": state,
                     "rows": sum(counts.values()), "ok": counts[OK], "periksa": counts[PERIKSA],
                     "salah": counts[SALAH], "reminder": outcome.get(rep.opd.code, "-")})
    order = [ostate.BELUM_MENGISI, ostate.ADA_KESALAHAN, ostate.BELUM_LENGKAP, ostate.LENGKAP]
    return {**_common(settings, rcfg, today), "rows": rows, "n_opd": len(rows),
            "states": [{"state": s, "count": states.get(s, 0)} for s in order],
            "complete": states.get(ostate.LENGKAP, 0)}


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
