"""The Riwayat tab of the master: one row per day per OPD, and the regency's progress
per day with a line chart toward the deadline. Pure: the history is plain lists
(kept as JSON in the worker's state by the cycle, never pickled); SheetSpecs out."""
from __future__ import annotations

import datetime as dt

from sheets_sync.codes import OK, STATUS_COLORS
from sheets_sync.master import STATE_COLORS, h_label
from sheets_sync.stores import SheetSpec
from sheets_sync.validate.opd_state import LENGKAP

HISTORY_DAYS = 180   # a season is weeks long; the state (and the master) stay small
RIWAYAT_HEADER = ["Tanggal", "Kode OPD", "Nama OPD", "Baris", "OK", "PERIKSA", "SALAH", "Keadaan"]
PROGRESS_HEADER = ["Tanggal", "Hari", "OPD", "OPD LENGKAP", "% OPD LENGKAP", "Baris", "Baris OK", "% baris OK"]
PROGRESS_COLORS = [("1F4E79", "1F4E79"), (STATUS_COLORS[OK][1],) * 2]   # lines: the strong shades


def record_history(history: list, day: dt.date, rows: list[list]) -> list[list]:
    """The Riwayat with this day's rows (ISO date, code, name, counts, Keadaan) replacing
    any earlier ones of the same day: one row per day per OPD, the day's last cycle wins."""
    d = day.isoformat()
    kept = [list(h) for h in history if isinstance(h, list) and len(h) == 8 and h[0] != d]
    kept += [[d, r[0], r[1], r[3], r[4], r[5], r[6], r[7]] for r in rows]
    days = set(sorted({h[0] for h in kept})[-HISTORY_DAYS:])
    return sorted((h for h in kept if h[0] in days), key=lambda h: h[0])


def riwayat(history: list[list], deadline) -> SheetSpec:
    """One row per day per OPD (newest day first), and beside it the regency's progress
    per day with a line chart toward the deadline."""
    rows = [[dt.date.fromisoformat(h[0])] + h[1:] for h in sorted(history, key=lambda h: h[0], reverse=True)]
    by_day: dict[str, list] = {}
    for h in history:
        by_day.setdefault(h[0], []).append(h)
    progress = []
    for d, day in sorted(by_day.items()):
        done = sum(str(h[7]).startswith(LENGKAP) for h in day)
        n_rows, n_ok = sum(int(h[3]) for h in day), sum(int(h[4]) for h in day)
        date = dt.date.fromisoformat(d)
        progress.append([date, h_label(date, deadline) if deadline else "", len(day), done,
                         _ratio(done, len(day)), n_rows, n_ok, _ratio(n_ok, n_rows)])
    title = "Kemajuan kabupaten (%)" + (f" menuju batas {deadline:%d/%m/%Y}" if deadline else "")
    side = SheetSpec("Kemajuan", PROGRESS_HEADER, progress, [12, 6, 6, 10, 10, 8, 9, 10])
    chart = {"kind": "line", "table": "side", "title": title, "categories_col": 1, "series_cols": [5, 8],
             "colors": PROGRESS_COLORS, "width_columns": 8}
    # names not wrapped: rows stay one line high, level with the progress table beside them
    return SheetSpec("Riwayat", RIWAYAT_HEADER, rows, [12, 13, 45, 7, 7, 9, 7, 17], chart=chart,
                     note="Riwayat harian per OPD (keadaan terakhir setiap hari, WIB).", colors={8: STATE_COLORS},
                     side=side, fit_page="width")


def _ratio(part: int, whole: int) -> float:
    """A percentage as a number (charted), one decimal."""
    return round(100 * part / whole, 1) if whole else 0.0
