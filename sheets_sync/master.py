"""Compile the master: the tabs the Inspektorat reads (Rekap, Masalah, one per form,
Slot Ahli, Lintas OPD), plus the KPK export. Pure: final verdicts in (the cycle
adds the cross-OPD rules before), SheetSpecs out; a store renders them."""
from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd

from sheets_sync.codes import NO_VERDICT_COLOR, OK, PERIKSA, SALAH, STATUS_COLORS, UNREADABLE
from sheets_sync.export_layout import ExportLayout, OutColumn, OutSheet, parse_layout
from sheets_sync.forms import FormSet
from sheets_sync.stores import RowGroup, SheetSpec
from sheets_sync.validate.opd_state import (ACCEPTED, ADA_KESALAHAN, BELUM_LENGKAP, BELUM_MENGISI, LENGKAP,
                                            OpdReport, counts_of, filled_of, opd_state, rows_short_text, slots,
                                            unread_now)

# ------------------------------------------------------------------- master
REKAP_HEADER = ["Kode OPD", "Nama OPD", "Formulir", "Baris", "OK", "PERIKSA", "SALAH", "Keadaan",
                "Slot Ahli", "Perubahan terakhir", "Diperiksa terakhir", "Catatan", "Berkas",
                "Pengingat terakhir"]
# Keadaan -> the verdict colours of the status cells (one palette, codes.py)
STATE_COLORS = {LENGKAP: STATUS_COLORS[OK], BELUM_LENGKAP: STATUS_COLORS[PERIKSA],
                ADA_KESALAHAN: STATUS_COLORS[SALAH], BELUM_MENGISI: NO_VERDICT_COLOR}
VERDICT_COLORS = dict(STATUS_COLORS)
# The Rekap as shown: the columns read at a glance, then empty columns where the chart
# sits (beside the table, in the first screen), then the details.
REKAP_GAP = 7
_GLANCE, _DETAIL = [0, 1, 2, 3, 4, 5, 6, 7, 8, 13], [9, 10, 11, 12]
REKAP_WIDTHS = [13, 30, 18, 7, 7, 9, 7, 30, 9, 17] + [10] * REKAP_GAP + [22, 22, 50, 30]   # "12/10/2023 09:10 WIB"; Keadaan: "ADA KESALAHAN (Daftar OPD salah)"


def rekap(reports: list[OpdReport], forms: FormSet, as_of: dt.date, deadline, round_name: str = "",
          previous: dict | None = None, reminders: dict | None = None) -> SheetSpec:
    """The Rekap: one row per OPD (REKAP_HEADER order in the data, then the optional
    columns: obligations, last season; see rekap_data), a totals row, Keadaan coloured,
    the chart beside the table; reminders: OPD code -> (kind, ISO time) of the last
    reminder sent (the ledger); previous: last season's accepted rows (`season new`)."""
    rows = []
    for rep in reports:
        counts = counts_of(rep, forms)
        expert = _expert_slots(rep, forms)
        rows.append([rep.opd.code, rep.opd.name, ", ".join(forms[k].sheet for k in rep.opd.forms),
                     sum(counts.values()), counts[OK], counts[PERIKSA], counts[SALAH],
                     _keadaan(rep, forms), expert, rep.changed_at or "", rep.checked_at or "",
                     " ".join([p.text() for p in rep.problems] + [rows_short_text(rep, forms)]).strip(), rep.link,
                     _reminder_text((reminders or {}).get(rep.opd.code))]
                    + _obligation_cells(rep, forms) + ([season_change(rep, forms, previous)] if previous else []))
    extra = [ob["short"] for ob in forms.obligations] + ([f"Dibanding musim {previous['year']}"] if previous else [])
    widths = [22] * len(forms.obligations) + ([60] if previous else [])
    total, share = totals(rows, len(REKAP_HEADER) + len(extra))
    note = f"Rekap calon responden SPI. Tanggal laporan: {as_of:%d/%m/%Y}."
    if round_name:
        note += f" Putaran: {round_name}."
    if deadline:
        note += f" Batas pengiriman: {deadline:%d/%m/%Y} ({h_label(as_of, deadline)})."
    note += f" {total[7]}; baris OK: {total[4]} dari {total[3]} ({share[4]})."
    # the form tabs hold what goes to KPK: without this, their row counts look like rows lost
    note += " Tab per formulir memuat baris OK dan PERIKSA saja; baris SALAH ada di tab Masalah."
    start = 3   # the header row under the note; the chart starts under it, out of the frozen rows
    chart = {"title": "Kemajuan pengisian per OPD", "categories_col": 1, "series_cols": [5, 6, 7],
             "anchor": f"K{start + 1}", "colors": [STATUS_COLORS[s] for s in (OK, PERIKSA, SALAH)],
             "width_columns": REKAP_GAP}
    shown_extra = tuple(range(len(REKAP_WIDTHS) + 1, len(REKAP_WIDTHS) + len(extra) + 1))
    return SheetSpec("Rekap", shown_row(REKAP_HEADER + extra), [shown_row(r) for r in rows],
                     REKAP_WIDTHS + widths, chart=chart, note=note, colors={8: STATE_COLORS},
                     footer=[shown_row(total), shown_row(share)], wrap=(2, 3, 10, 20, 21) + shown_extra,
                     fit_page="page", freeze_cols=2)


def shown_row(row: list) -> list:
    """A Rekap row in the order shown (the gap left empty for the chart)."""
    return [row[i] for i in _GLANCE] + [""] * REKAP_GAP + [row[i] for i in _DETAIL] + row[len(REKAP_HEADER):]


def rekap_data(spec: SheetSpec) -> list[list]:
    """The Rekap's OPD rows in REKAP_HEADER order (what `status` and health read)."""
    n = len(_GLANCE)
    order = _GLANCE + _DETAIL
    out = []
    for row in spec.rows:
        values = row[:n] + row[n + REKAP_GAP:]
        data = [None] * len(order)
        for i, v in zip(order, values):
            data[i] = v
        out.append(data + values[len(order):])     # the optional columns, as they are
    return out


REGISTRY_FAULT = "(Daftar OPD salah)"   # after the state of an OPD whose registry row is refused (cli status reads it)


def _keadaan(rep: OpdReport, forms: FormSet) -> str:
    """The OPD's state; when its workbook could not be read this cycle, marked so that
    nobody takes the last good counts for today's."""
    state = opd_state(rep, forms)
    if rep.opd.refused is not None:   # not read at all: the registry row is to fix
        return f"{state} {REGISTRY_FAULT}"
    if not unread_now(rep, UNREADABLE):
        return state
    if not rep.changed_at:
        return f"{state} (berkas tidak terbaca)"
    return f"{state} (data lama, {rep.changed_at[:5]})"


def _reminder_text(last) -> str:
    """('h-3', '2023-10-12T08:00:01+07:00') -> 'H-3, 12/10/2023'."""
    if not last:
        return ""
    kind, at = last
    day = str(at)[:10]
    try:
        day = dt.date.fromisoformat(day).strftime("%d/%m/%Y")
    except ValueError:
        pass
    who = " (ke pimpinan)" if str(kind).startswith("h+") else ""
    return f"{str(kind).upper()}{who}, {day}"


def h_label(day: dt.date, deadline: dt.date) -> str:
    n = (day - deadline).days
    return "H" if n == 0 else f"H{n:+d}"


def _pct(part: int, whole: int) -> str:
    """Rounded half up (1 of 8 is 13%, as people round), but never 100% before every
    one is done nor 0% once one is: 995 of 1000 rows OK must not read as all."""
    if not whole:
        return "-"
    pct = int(100 * part / whole + 0.5)
    if 0 < part < whole:
        pct = min(max(pct, 1), 99)
    return f"{pct}%"


def totals(rows: list[list], width: int = len(REKAP_HEADER)) -> tuple[list, list]:
    """The regency's totals row and the share of each status among its rows."""
    sums = [sum(int(r[i]) for r in rows) for i in (3, 4, 5, 6)]
    done = sum(str(r[7]).startswith(LENGKAP) for r in rows)
    blank = [""] * width
    total = list(blank)
    total[1], total[3:7] = f"JUMLAH KABUPATEN ({len(rows)} OPD)", sums
    total[7] = f"OPD LENGKAP: {done} dari {len(rows)} ({_pct(done, len(rows))})"
    share = list(blank)
    share[1] = "Persentase baris"
    share[3:7] = [_pct(v, sums[0]) for v in sums]
    return total, share


# Below this share of last season's accepted rows, a form is flagged in the Rekap: a
# database that should live on (point 9 of the circular) shrank, or is not filled yet.
DROP_FLAG = 0.5


def season_change(rep: OpdReport, forms: FormSet, previous: dict) -> str:
    """Accepted rows per form now against last season's, e.g. 'Pegawai 12 (2023: 15);
    Pengguna Layanan 3 (2023: 40) TURUN TAJAM'. previous: {year, rows: {OPD: {form: n}}}."""
    before = (previous.get("rows") or {}).get(rep.opd.code) or {}
    parts = []
    for key in rep.opd.forms:
        summ = rep.summary(forms, key)
        now = 0 if summ is None else summ.accepted
        then = int(before.get(key) or 0)
        text = f"{forms[key].sheet} {now} ({previous['year']}: {then})"
        parts.append(text + (" TURUN TAJAM" if then and now < DROP_FLAG * then else ""))
    return "; ".join(parts)


def _obligation_cells(rep: OpdReport, forms: FormSet) -> list[str]:
    """Per obligation of forms.yaml: Sudah (with its evidence), Belum, or blank when the
    registry has no column for it (not tracked)."""
    tracked = {k: (done, ev) for k, done, ev in rep.opd.obligations}
    cells = []
    for ob in forms.obligations:
        done, evidence = tracked.get(ob["key"], (None, ""))
        cells.append("" if done is None else ("Sudah" + (f" ({evidence})" if evidence else "")) if done else "Belum")
    return cells


def _expert_slots(rep: OpdReport, forms: FormSet) -> str:
    for key in rep.opd.forms:
        rule = forms[key].complete
        if "all_choices" in rule:
            filled = filled_of(rep.summary(forms, key), forms, key)
            return f"{sum(filled.values())}/{len(slots(forms, key, rule['all_choices']))}"
    return ""


def masalah(reports: list[OpdReport], forms: FormSet, grouped: bool = False) -> SheetSpec:
    spec = SheetSpec("Masalah", ["Kode OPD", "Nama OPD", "Formulir", "Baris", "Status", "Keterangan"],
                     [], [12, 34, 20, 8, 10, 100], colors={5: VERDICT_COLORS}, wrap=(6,), fit_page="width")
    return _with_rows(spec, [RowGroup(group_key("Masalah", rep), partial(_masalah_rows, rep, forms))
                             for rep in reports], grouped)


def _masalah_rows(rep: OpdReport, forms: FormSet) -> list[list]:
    rows = [[rep.opd.code, rep.opd.name, "", "", "BERKAS", p.text()] for p in rep.problems]
    for key, res in rep.results.items():
        flagged = res.status.to_numpy() != OK   # arrays, not a label lookup per row
        rows += [[rep.opd.code, rep.opd.name, forms[key].sheet, row, status, note] for row, status, note in
                 zip(res.status.index[flagged].astype("int64").tolist(), res.status.to_numpy()[flagged].tolist(),
                     res.notes().to_numpy()[flagged].tolist())]
    return rows


def form_sheet(form_key: str, reports: list[OpdReport], forms: FormSet, grouped: bool = False) -> SheetSpec:
    form = forms[form_key]
    cols = [c for c in form.columns if c.type != "row_number"]
    header = ["Kode OPD", "Nama OPD", "Baris", "Status"] + [c.header for c in cols]
    extra = [c for c in cols if c.type == "address_email"]
    header += [f"E-mail ({c.header})" for c in extra] + ["Duplikat lintas OPD"]
    keys = [c.key for c in cols] + ["email" for _ in extra]
    spec = SheetSpec(form.sheet, header, [], [12, 30, 7, 10] + [24] * (len(header) - 4),
                     colors={4: VERDICT_COLORS}, fit_page="width")
    return _with_rows(spec, [RowGroup(group_key(form.sheet, rep), partial(_form_rows, form_key, rep, keys),
                                      _accepted(rep, form_key)) for rep in reports], grouped)


def _accepted(rep: OpdReport, form_key: str) -> int | None:
    """An OPD's rows in a form tab, from its summaries (None: not known without its
    verdicts): an OPD without the form, or without an accepted row, is not decoded."""
    if rep.summaries is None:
        return None
    summ = rep.summaries.get(form_key)
    return 0 if summ is None else summ.accepted


def _form_rows(form_key: str, rep: OpdReport, keys: list[str]) -> list[list]:
    res = rep.results.get(form_key)
    if res is None:
        return []
    cross = res.problems.loc[res.problems["code"] == "CROSS_OPD_DUPLICATE", "row"].to_numpy()
    ok = res.status.isin(ACCEPTED).to_numpy()
    norm = res.normalized.reindex(columns=keys)[ok]
    if not len(norm):
        return []
    index = norm.index.to_numpy()
    n = len(index)   # one object table built column at a time, then one tolist
    return np.column_stack([np.full(n, rep.opd.code, object), np.full(n, rep.opd.name, object),
                            index.astype(object), res.status.to_numpy()[ok].astype(object),
                            norm.astype(object).where(norm.notna(), "").to_numpy(),
                            np.where(np.isin(index, cross), "YA", "").astype(object)]).tolist()


def _with_rows(spec: SheetSpec, groups: list[RowGroup], grouped: bool) -> SheetSpec:
    if grouped:
        spec.groups = groups
    else:
        spec.rows = [r for g in groups for r in g.rows()]
    return spec


def group_key(title: str, rep: OpdReport) -> str | None:
    """What one OPD's rows in a tab follow: its verdict inputs (rows read, date, rules,
    cross-OPD problems: cross_cache.opd_inputs), its registry row's code, name and
    problems, the tab, and the code that makes rows (a new version never reuses)."""
    if rep.inputs is None:
        return None
    body = json.dumps([_code_fingerprint(), title, rep.opd.code, rep.opd.name, rep.inputs,
                       [p.text() for p in rep.problems]], ensure_ascii=False, default=str)
    return hashlib.blake2b(body.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()


@functools.lru_cache(maxsize=1)
def _code_fingerprint() -> str:
    """The package's source: rows made by other code are other rows."""
    h = hashlib.blake2b(digest_size=16)
    root = Path(__file__).resolve().parent
    for path in sorted(root.rglob("*.py")):
        h.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes())
    return h.hexdigest()


def digest_body(spec: SheetSpec) -> list:
    """What a tab's content follows, for the master's digest: its group keys where all
    are known (no rows made), else its rows."""
    if spec.groups is not None and all(g.key is not None for g in spec.groups):
        return [spec.title, spec.header, spec.note, [g.key for g in spec.groups]]
    return [spec.title, spec.header, spec.note, spec.all_rows()]


def expert_sheet(reports: list[OpdReport], forms: FormSet) -> SheetSpec | None:
    key = next((f.key for f in forms if "all_choices" in f.complete), None)
    if key is None:
        return None
    col = forms[key].complete["all_choices"]
    need = pd.Series(slots(forms, key, col)).value_counts(sort=False)
    filled = {rep.opd.code: filled_of(rep.summary(forms, key), forms, key)
              for rep in reports if key in rep.opd.forms}
    rows = []
    for i, (choice, n) in enumerate(need.items(), start=1):
        who = [code for code, f in filled.items() if f.get(choice)]
        rows.append([i, choice, int(n), sum(f.get(choice, 0) for f in filled.values()), ", ".join(who)])
    return SheetSpec("Slot Ahli", ["No", forms[key].column(col).header, "Slot", "Terisi", "OPD"],
                     rows, [5, 70, 7, 8, 40], fit_page="width")


def cross_sheet(listing: pd.DataFrame, forms: FormSet) -> SheetSpec:
    """One row per shared value, in (kind, value) order. Column at a time: the listing
    is sorted so that each value's rows are contiguous, then joined with reduceat."""
    rows = []
    if len(listing):
        g = listing.sort_values(["kind", "value"], kind="stable")
        kind, value, opd = (g[c].to_numpy(dtype=object) for c in ("kind", "value", "opd"))
        sheet = np.array([forms[f].sheet for f in g["form"].tolist()], dtype=object)
        where = opd + " " + sheet + " baris " + g["row"].astype("int64").astype(str).to_numpy(dtype=object) + "; "
        new = np.r_[True, (kind[1:] != kind[:-1]) | (value[1:] != value[:-1])]
        starts = np.flatnonzero(new)
        gid = np.cumsum(new) - 1
        pairs = pd.DataFrame({"gid": gid, "opd": opd}).drop_duplicates().sort_values(["gid", "opd"])
        firsts = np.flatnonzero(np.r_[True, np.diff(pairs["gid"].to_numpy()) != 0])
        owners = np.add.reduceat(pairs["opd"].to_numpy(dtype=object) + ", ", firsts)
        places = np.add.reduceat(where, starts)
        rows = [["No HP" if k == "phone" else "E-mail", v, o[:-2], w[:-2]] for k, v, o, w in
                zip(kind[starts].tolist(), value[starts].tolist(), owners.tolist(), places.tolist())]
    return SheetSpec("Lintas OPD", ["Jenis", "Nilai", "OPD", "Letak"], rows, [10, 30, 30, 80], fit_page="width")


def compile_master(reports, forms: FormSet, listing, as_of, deadline, round_name: str = "",
                   previous: dict | None = None, *, reminders: dict | None = None,
                   grouped: bool = False) -> list[SheetSpec]:
    """The tabs, Rekap first (the Riwayat tab is history.py's, from the cycle's memory).
    grouped: the long per-OPD tabs (Masalah, one per form) as RowGroups, made on use."""
    sheets = [rekap(reports, forms, as_of, deadline, round_name, previous, reminders),
              masalah(reports, forms, grouped)]
    sheets += [form_sheet(f.key, reports, forms, grouped) for f in forms]
    extra = expert_sheet(reports, forms)
    sheets += ([extra] if extra else []) + [cross_sheet(listing, forms)]
    return sheets


def _cell(v):
    if v is None or (isinstance(v, float) and pd.isna(v)):
        return ""
    return v


# ------------------------------------------------------------------- export
def kpk_export(reports: list[OpdReport], forms: FormSet, layout: ExportLayout | None = None) -> list[SheetSpec]:
    """The KPK update: accepted rows of every OPD, in the columns of `layout`
    (config/export/*.yaml); without one, the Lampiran III columns of forms.yaml."""
    layout = layout or parse_layout({"sheets": [{"form": f.key} for f in forms]}, forms)
    return [_export_sheet(sheet, reports, forms) for sheet in layout.sheets]


def _export_sheet(sheet: OutSheet, reports: list[OpdReport], forms: FormSet) -> SheetSpec:
    keys = sorted({c.arg for c in sheet.columns if c.source == "from"})
    rows = []
    for key in sheet.forms:
        for rep in reports:
            res = rep.results.get(key)
            if res is None:
                continue
            norm = res.normalized.reindex(columns=keys)[res.status.isin(ACCEPTED)]
            for values in norm.astype(object).where(norm.notna(), "").to_numpy().tolist():
                found = dict(zip(keys, values))
                rows.append([_export_value(c, found, len(rows) + 1, forms[key], rep) for c in sheet.columns])
    return SheetSpec(sheet.title, [c.header for c in sheet.columns], rows, [c.width for c in sheet.columns],
                     note=sheet.note)


def _export_value(col: OutColumn, found: dict, n: int, form, rep: OpdReport):
    if col.source == "from":
        return found[col.arg]    # a form of a shared tab without this column: blank (reindex)
    return {"row_number": n, "value": col.arg, "form": form.title,
            "opd": rep.opd.code if col.arg == "code" else rep.opd.name}[col.source]
