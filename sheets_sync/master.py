"""Compile the master: the tabs the Inspektorat reads (Rekap, Masalah, one per form,
Slot Ahli, Lintas OPD), plus the KPK export. Pure: final verdicts in (the cycle
adds the cross-OPD rules before), SheetSpecs out; a store renders them."""
from __future__ import annotations

import datetime as dt

import pandas as pd

from sheets_sync.codes import NO_VERDICT_COLOR, OK, PERIKSA, SALAH, STATUS_COLORS, UNREADABLE
from sheets_sync.forms import FormSet
from sheets_sync.stores import SheetSpec
from sheets_sync.validate.opd_state import (ACCEPTED, ADA_KESALAHAN, BELUM_LENGKAP, BELUM_MENGISI, LENGKAP,
                                            OpdReport, opd_state, slots, slots_filled)

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
REKAP_WIDTHS = [13, 30, 18, 7, 7, 9, 7, 17, 9, 17] + [10] * REKAP_GAP + [18, 18, 50, 30]


def rekap(reports: list[OpdReport], forms: FormSet, as_of: dt.date, deadline,
          reminders: dict | None = None) -> SheetSpec:
    """The Rekap: one row per OPD (REKAP_HEADER order in the data, see rekap_data),
    a totals row, Keadaan coloured, the chart beside the table; reminders:
    OPD code -> (kind, ISO time) of the last reminder sent (the ledger)."""
    rows = []
    for rep in reports:
        counts = {s: sum(int((r.status == s).sum()) for r in rep.results.values()) for s in (OK, PERIKSA, SALAH)}
        expert = _expert_slots(rep, forms)
        rows.append([rep.opd.code, rep.opd.name, ", ".join(forms[k].sheet for k in rep.opd.forms),
                     sum(counts.values()), counts[OK], counts[PERIKSA], counts[SALAH],
                     _keadaan(rep, forms), expert, rep.changed_at or "", rep.checked_at or "",
                     " ".join(p.text() for p in rep.problems), rep.link,
                     _reminder_text((reminders or {}).get(rep.opd.code))])
    total, share = totals(rows)
    note = f"Rekap calon responden SPI. Tanggal laporan: {as_of:%d/%m/%Y}."
    if deadline:
        note += f" Batas pengiriman: {deadline:%d/%m/%Y} ({h_label(as_of, deadline)})."
    note += f" {total[7]}; baris OK: {total[4]} dari {total[3]} ({share[4]})."
    start = 3   # the header row under the note; the chart starts under it, out of the frozen rows
    chart = {"title": "Kemajuan pengisian per OPD", "categories_col": 1, "series_cols": [5, 6, 7],
             "anchor": f"K{start + 1}", "colors": [STATUS_COLORS[s] for s in (OK, PERIKSA, SALAH)],
             "width_columns": REKAP_GAP}
    return SheetSpec("Rekap", shown_row(REKAP_HEADER), [shown_row(r) for r in rows], REKAP_WIDTHS, chart=chart,
                     note=note, colors={8: STATE_COLORS}, footer=[shown_row(total), shown_row(share)],
                     wrap=(2, 3, 10, 20, 21), fit_page="page", freeze_cols=2)


def shown_row(row: list) -> list:
    """A Rekap row in the order shown (the gap left empty for the chart)."""
    return [row[i] for i in _GLANCE] + [""] * REKAP_GAP + [row[i] for i in _DETAIL]


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
        out.append(data)
    return out


def _keadaan(rep: OpdReport, forms: FormSet) -> str:
    """The OPD's state; when its workbook could not be read this cycle, marked so that
    nobody takes the last good counts for today's."""
    state = opd_state(rep, forms)
    if not any(p.code in UNREADABLE or (p.code == "OPD_ERROR" and p.params.get("langkah") == "membaca")
               for p in rep.problems):
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
    return f"{round(100 * part / whole)}%" if whole else "-"


def totals(rows: list[list]) -> tuple[list, list]:
    """The regency's totals row and the share of each status among its rows."""
    sums = [sum(int(r[i]) for r in rows) for i in (3, 4, 5, 6)]
    done = sum(str(r[7]).startswith(LENGKAP) for r in rows)
    blank = [""] * len(REKAP_HEADER)
    total = list(blank)
    total[1], total[3:7] = f"JUMLAH KABUPATEN ({len(rows)} OPD)", sums
    total[7] = f"OPD LENGKAP: {done} dari {len(rows)} ({_pct(done, len(rows))})"
    share = list(blank)
    share[1] = "Persentase baris"
    share[3:7] = [_pct(v, sums[0]) for v in sums]
    return total, share


def _expert_slots(rep: OpdReport, forms: FormSet) -> str:
    for key in rep.opd.forms:
        rule = forms[key].complete
        if "all_choices" in rule:
            filled = slots_filled(rep.results.get(key), forms, key, rule["all_choices"])
            return f"{sum(filled.values())}/{len(slots(forms, key, rule['all_choices']))}"
    return ""


def masalah(reports: list[OpdReport], forms: FormSet) -> SheetSpec:
    rows = []
    for rep in reports:
        for p in rep.problems:
            rows.append([rep.opd.code, rep.opd.name, "", "", "BERKAS", p.text()])
        for key, res in rep.results.items():
            notes = res.notes()
            flagged = res.status[res.status != OK]
            for row, status in flagged.items():
                rows.append([rep.opd.code, rep.opd.name, forms[key].sheet, int(row), status, notes[row]])
    return SheetSpec("Masalah", ["Kode OPD", "Nama OPD", "Formulir", "Baris", "Status", "Keterangan"],
                     rows, [12, 34, 20, 8, 10, 100], colors={5: VERDICT_COLORS}, wrap=(6,))


def form_sheet(form_key: str, reports: list[OpdReport], forms: FormSet) -> SheetSpec:
    form = forms[form_key]
    cols = [c for c in form.columns if c.type != "row_number"]
    header = ["Kode OPD", "Nama OPD", "Baris", "Status"] + [c.header for c in cols]
    extra = [c for c in cols if c.type == "address_email"]
    header += [f"E-mail ({c.header})" for c in extra] + ["Duplikat lintas OPD"]
    keys = [c.key for c in cols] + ["email" for _ in extra]
    rows = []
    for rep in reports:
        res = rep.results.get(form_key)
        if res is None:
            continue
        cross = set(res.problems.loc[res.problems["code"] == "CROSS_OPD_DUPLICATE", "row"])
        ok = res.status.isin(ACCEPTED).to_numpy()
        norm = res.normalized.reindex(columns=keys)[ok]
        values = norm.astype(object).where(norm.notna(), "").to_numpy().tolist()
        for row, status, vals in zip(norm.index.tolist(), res.status.to_numpy()[ok].tolist(), values):
            rows.append([rep.opd.code, rep.opd.name, row, status] + vals + ["YA" if row in cross else ""])
    return SheetSpec(form.sheet, header, rows, [12, 30, 7, 10] + [24] * (len(header) - 4),
                     colors={4: VERDICT_COLORS})


def expert_sheet(reports: list[OpdReport], forms: FormSet) -> SheetSpec | None:
    key = next((f.key for f in forms if "all_choices" in f.complete), None)
    if key is None:
        return None
    col = forms[key].complete["all_choices"]
    need = pd.Series(slots(forms, key, col)).value_counts(sort=False)
    filled = {rep.opd.code: slots_filled(rep.results.get(key), forms, key, col)
              for rep in reports if key in rep.opd.forms}
    rows = []
    for i, (choice, n) in enumerate(need.items(), start=1):
        who = [code for code, f in filled.items() if f.get(choice)]
        rows.append([i, choice, int(n), sum(f.get(choice, 0) for f in filled.values()), ", ".join(who)])
    return SheetSpec("Slot Ahli", ["No", forms[key].column(col).header, "Slot", "Terisi", "OPD"],
                     rows, [5, 70, 7, 8, 40])


def cross_sheet(listing: pd.DataFrame, forms: FormSet) -> SheetSpec:
    rows = []
    if len(listing):
        for (kind, value), g in listing.groupby(["kind", "value"], sort=True):
            where = "; ".join(f"{o} {forms[f].sheet} baris {int(r)}" for o, f, r in zip(g["opd"], g["form"], g["row"]))
            rows.append(["No HP" if kind == "phone" else "E-mail", value, ", ".join(sorted(set(g["opd"]))), where])
    return SheetSpec("Lintas OPD", ["Jenis", "Nilai", "OPD", "Letak"], rows, [10, 30, 30, 80])


def compile_master(reports, forms: FormSet, listing, as_of, deadline, *,
                   reminders: dict | None = None) -> list[SheetSpec]:
    """The tabs, Rekap first (the Riwayat tab is history.py's, from the cycle's memory)."""
    sheets = [rekap(reports, forms, as_of, deadline, reminders), masalah(reports, forms)]
    sheets += [form_sheet(f.key, reports, forms) for f in forms]
    extra = expert_sheet(reports, forms)
    sheets += ([extra] if extra else []) + [cross_sheet(listing, forms)]
    return sheets


def _cell(v):
    if v is None or (isinstance(v, float) and pd.isna(v)):
        return ""
    return v


# ------------------------------------------------------------------- export
def kpk_export(reports: list[OpdReport], forms: FormSet) -> list[SheetSpec]:
    """The KPK update in the Lampiran III columns: accepted rows of every OPD."""
    out = []
    for form in forms:
        rows = []
        for rep in reports:
            res = rep.results.get(form.key)
            if res is None:
                continue
            norm = res.normalized.reindex(columns=[c.key for c in form.columns])[res.status.isin(ACCEPTED)]
            for values in norm.astype(object).where(norm.notna(), "").to_numpy().tolist():
                n = len(rows) + 1
                rows.append([n if c.type == "row_number" else v for c, v in zip(form.columns, values)])
        out.append(SheetSpec(form.sheet, [c.header for c in form.columns], rows,
                             [5] + [26] * (len(form.columns) - 1), note=form.title))
    return out
