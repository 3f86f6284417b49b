"""Compile the master: the tabs the Inspektorat reads (Rekap, Masalah, one per form,
Slot Ahli, Lintas OPD), plus the KPK export. Pure: final verdicts in (the cycle
adds the cross-OPD rules before), SheetSpecs out; a store renders them."""
from __future__ import annotations

import datetime as dt

import pandas as pd

from sheets_sync.codes import OK, PERIKSA, SALAH
from sheets_sync.forms import FormSet
from sheets_sync.stores import SheetSpec
from sheets_sync.validate.opd_state import ACCEPTED, OpdReport, opd_state, rows_short_text, slots, slots_filled

# ------------------------------------------------------------------- master
REKAP_HEADER = ["Kode OPD", "Nama OPD", "Formulir", "Baris", "OK", "PERIKSA", "SALAH", "Keadaan",
                "Slot Ahli", "Perubahan terakhir", "Diperiksa terakhir", "Catatan", "Berkas"]


def rekap(reports: list[OpdReport], forms: FormSet, as_of: dt.date, deadline, round_name: str = "") -> SheetSpec:
    rows = []
    for rep in reports:
        counts = {s: sum(int((r.status == s).sum()) for r in rep.results.values()) for s in (OK, PERIKSA, SALAH)}
        expert = _expert_slots(rep, forms)
        rows.append([rep.opd.code, rep.opd.name, ", ".join(forms[k].sheet for k in rep.opd.forms),
                     sum(counts.values()), counts[OK], counts[PERIKSA], counts[SALAH],
                     opd_state(rep, forms), expert, rep.changed_at or "", rep.checked_at or "",
                     " ".join([p.text() for p in rep.problems] + [rows_short_text(rep, forms)]).strip(), rep.link])
    note = f"Rekap calon responden SPI. Tanggal laporan: {as_of:%d/%m/%Y}."
    if round_name:
        note += f" Putaran: {round_name}."
    if deadline:
        note += f" Batas pengiriman: {deadline:%d/%m/%Y}."
    return SheetSpec("Rekap", REKAP_HEADER, rows, [12, 34, 28, 8, 8, 10, 8, 16, 10, 20, 20, 50, 30],
                     chart={"title": "Kemajuan pengisian per OPD", "categories_col": 1,
                            "series_cols": [5, 6, 7], "anchor": "O3"}, note=note)


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
                     rows, [12, 34, 20, 8, 10, 100])


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
    return SheetSpec(form.sheet, header, rows, [12, 30, 7, 10] + [24] * (len(header) - 4))


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


def compile_master(reports, forms: FormSet, listing, as_of, deadline, round_name: str = "") -> list[SheetSpec]:
    sheets = [rekap(reports, forms, as_of, deadline, round_name), masalah(reports, forms)]
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
