"""What `season new` checks before it changes anything (ops/season.py): the year,
the new season's deadline, and rounds that would not follow `tahun`. Each refusal
says, in Indonesian, what to write instead."""
from __future__ import annotations

import datetime as dt

from sheets_sync.config import ConfigError, parse_date, read_yaml


class SeasonError(Exception):
    """The rollover cannot run (or cannot finish yet); the message says why, in Indonesian."""


def check_year(settings, year: int) -> None:
    if not 1000 <= year <= 9999:   # 27 for 2027
        raise SeasonError(f"--year {year}: tulis tahun dengan 4 angka, mis. --year {settings.year + 1}.")
    if not settings.year < year <= 2100:
        raise SeasonError(f"--year {year} harus sesudah musim berjalan ({settings.year}, kunci tahun di "
                          f"{settings.path.name}).")
    if year > settings.year + 1:    # a typo here would silently skip a whole season's reminders
        raise SeasonError(f"--year {year}: musim sesudah {settings.year} adalah {settings.year + 1} (SPI tiap "
                          f"tahun). Periksa tahunnya; bila memang ada tahun yang dilewati, jalankan dulu "
                          f"--year {settings.year + 1}, lalu --year {year}.")


def check_deadline(settings, year: int, deadline: dt.date | None, today: dt.date) -> dt.date:
    """The new season's deadline: given, or the same day next year; with rounds
    (`putaran`), the last round's, which must follow `tahun` (written without a year)."""
    where = settings.path.name
    if settings.putaran:
        if deadline is not None:
            raise SeasonError(f"--deadline tidak dipakai karena {where} memakai putaran: batas musim adalah batas "
                              f"putaran terakhir. Ubah batas di bagian putaran bila perlu, lalu jalankan tanpa "
                              f"--deadline.")
        pinned = _pinned_rounds(settings)
        if pinned:
            raise SeasonError(f"Batas putaran di {where} ditulis dengan tahun ({', '.join(pinned)}), jadi tidak "
                              f"ikut pindah ke {year}. Tulis tanpa tahun (mis. '15 Oktober': mengikuti tahun "
                              f"musim), lalu jalankan lagi.")
        deadline = same_day(settings.putaran[-1][1], year)
    deadline = deadline or same_day(settings.deadline, year)
    if deadline.year != year:
        raise SeasonError(f"--deadline {deadline:%d/%m/%Y} tidak di tahun musim baru ({year}); tulis batas "
                          f"pengiriman tahun {year}, mis. --deadline {year}-10-15.")
    if deadline < today:
        raise SeasonError(f"Batas pengiriman musim {year} ({deadline:%d/%m/%Y}) sudah lewat (per "
                          f"{today:%d/%m/%Y}): tidak ada pengingat yang akan terkirim. "
                          + ("Ubah batas putaran di " + where if settings.putaran else
                             "Berikan --deadline TTTT-BB-HH yang belum lewat") + ".")
    return deadline


def _pinned_rounds(settings) -> list[str]:
    """Rounds whose `batas` is written with its year ('15 Oktober 2023', 2023-10-15)."""
    raw = (read_yaml(settings.path) or {}).get("putaran")
    pinned = []
    for item in raw if isinstance(raw, list) else []:
        try:
            if isinstance(item, dict) and parse_date(item.get("batas"), "putaran") is not None:
                pinned.append(str(item.get("batas"))[:40])
        except ConfigError:
            continue             # "15 Oktober": follows `tahun`
    return pinned


def same_day(day: dt.date, year: int) -> dt.date:
    try:
        return day.replace(year=year)
    except ValueError:          # 29 February
        return day.replace(year=year, day=28)
