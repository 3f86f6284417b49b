"""The pure parts of the master's look: the Riwayat's history (one row per day per OPD,
the day's last cycle wins, bounded), the Rekap's data rows behind its shown layout, and
the Google look requests built from a SheetSpec (colours from the one palette)."""
from __future__ import annotations

import datetime as dt

from sheets_sync import history, master as mst
from sheets_sync.codes import STATUS_COLORS
from sheets_sync.stores import SheetSpec
from sheets_sync.stores.google_look import chart_spec, format_requests, look_hash, rgb, rule_count

D1, D2 = dt.date(2023, 10, 11), dt.date(2023, 10, 12)


def _row(code, rows, ok, state):
    """A Rekap data row (REKAP_HEADER order)."""
    r = [code, f"Dinas {code}", "Pegawai", rows, ok, 0, rows - ok, state, "", "", "", "", "", ""]
    assert len(r) == len(mst.REKAP_HEADER)
    return r


def test_history_keeps_the_days_last_cycle_and_is_bounded():
    h = history.record_history([], D1, [_row("A", 2, 1, "ADA KESALAHAN"), _row("B", 0, 0, "BELUM MENGISI")])
    h = history.record_history(h, D1, [_row("A", 2, 2, "LENGKAP"), _row("B", 0, 0, "BELUM MENGISI")])
    h = history.record_history(h, D2, [_row("A", 3, 3, "LENGKAP"), _row("B", 1, 1, "BELUM LENGKAP")])
    assert [(d, code, ok) for d, code, _, _, ok, *_ in h] == [
        ("2023-10-11", "A", 2), ("2023-10-11", "B", 0), ("2023-10-12", "A", 3), ("2023-10-12", "B", 1)]
    many = []
    for i in range(history.HISTORY_DAYS + 5):
        many = history.record_history(many, D1 + dt.timedelta(days=i), [_row("A", 1, 1, "LENGKAP")])
    assert len(many) == history.HISTORY_DAYS and many[0][0] == (D1 + dt.timedelta(days=5)).isoformat()
    assert history.record_history([["rusak"], "x"], D1, []) == []          # a damaged state is not a crash


def test_riwayat_progress_per_day_toward_the_deadline():
    h = history.record_history([], D1, [_row("A", 4, 2, "ADA KESALAHAN"), _row("B", 0, 0, "BELUM MENGISI")])
    h = history.record_history(h, D2, [_row("A", 4, 4, "LENGKAP"), _row("B", 4, 2, "ADA KESALAHAN")])
    spec = history.riwayat(h, dt.date(2023, 10, 15))
    assert [r[0] for r in spec.rows] == [D2, D2, D1, D1]
    assert spec.side.rows == [[D1, "H-4", 2, 0, 0.0, 4, 2, 50.0], [D2, "H-3", 2, 1, 50.0, 8, 6, 75.0]]
    assert spec.chart["kind"] == "line" and spec.chart["table"] == "side"
    assert "15/10/2023" in spec.chart["title"]


def test_rekap_data_is_the_rows_behind_the_shown_layout():
    spec = SheetSpec("Rekap", [], [])
    data = [_row("A", 2, 2, "LENGKAP")]
    data[0][11], data[0][13] = "catatan", "H-3, 12/10/2023"
    spec.rows = [mst.shown_row(r) for r in data]
    assert mst.rekap_data(spec) == data
    shown = spec.rows[0]
    assert shown[9] == "H-3, 12/10/2023" and shown[10:10 + mst.REKAP_GAP] == [""] * mst.REKAP_GAP


def test_google_look_requests_use_the_one_palette():
    spec = SheetSpec("Rekap", ["Kode", "Keadaan"], [["A", "LENGKAP"]], [10, 17], note="n",
                     colors={2: mst.STATE_COLORS}, wrap=(1,),
                     chart={"title": "t", "categories_col": 1, "series_cols": [2], "anchor": "D3",
                            "colors": [STATUS_COLORS["OK"]], "width_columns": 2})
    reqs = format_requests(7, spec)
    rules = [r["addConditionalFormatRule"]["rule"] for r in reqs if "addConditionalFormatRule" in r]
    assert len(rules) == rule_count(spec) == 4
    green = next(r for r in rules if r["booleanRule"]["condition"]["values"][0]["userEnteredValue"] == "LENGKAP")
    assert green["booleanRule"]["format"]["backgroundColor"] == rgb(STATUS_COLORS["OK"][0])
    assert green["ranges"][0]["startRowIndex"] == 3                   # under the header (row 3)
    chart = chart_spec(7, spec)["basicChart"]
    assert chart["series"][0]["colorStyle"]["rgbColor"] == rgb(STATUS_COLORS["OK"][0])
    assert chart["domains"][0]["domain"]["sourceRange"]["sources"][0]["endRowIndex"] == 4
    before = look_hash(spec)
    spec.rows.append(["B", "BELUM MENGISI"])
    assert look_hash(spec) != before                                   # the chart's ranges must follow


def test_an_unreadable_workbook_shows_its_counts_as_old(forms):
    from sheets_sync.validate.layout import Problem
    from sheets_sync.validate.opd_state import OpdReport
    from sheets_sync.validate.registry import Opd

    def keadaan(problems, changed_at):
        rep = OpdReport(Opd("A", "Dinas A", forms=("pegawai",)), {}, problems, changed_at=changed_at)
        return mst.rekap_data(mst.rekap([rep], forms, D2, None))[0][7]

    gone = [Problem("WB_NOT_FOUND", {"lokasi": "A.xlsx"})]
    assert keadaan(gone, "11/10/2023 09:10 WIB") == "BELUM MENGISI (data lama, 11/10)"
    assert keadaan(gone, None) == "BELUM MENGISI (berkas tidak terbaca)"
    crashed = [Problem("OPD_ERROR", {"langkah": "membaca", "alasan": "KeyError"})]
    assert keadaan(crashed, "11/10/2023 09:10 WIB").endswith("(data lama, 11/10)")
    assert keadaan([Problem("WB_LOCKED")], "11/10/2023 09:10 WIB") == "BELUM MENGISI"   # read, not written


def test_totals_percentages_never_claim_all_or_none_too_early():
    """1 of 8 OPDs is 13% (half up, as people round); 995 of 1000 rows OK is 99%, not
    100%; 1 of 1000 is 1%, not 0%."""
    def row(ok, salah, state):
        return ["X", "x", "", ok + salah, ok, 0, salah, state]
    total, share = mst.totals([row(995, 5, "ADA KESALAHAN"), row(0, 0, "BELUM MENGISI")], 8)
    assert share[4] == "99%" and share[6] == "1%" and total[7] == "OPD LENGKAP: 0 dari 2 (0%)"
    rows = [row(1, 0, "LENGKAP")] + [row(0, 0, "BELUM MENGISI")] * 7
    assert mst.totals(rows, 8)[0][7] == "OPD LENGKAP: 1 dari 8 (13%)"
    assert mst.totals([row(3, 0, "LENGKAP")], 8)[1][4] == "100%"
