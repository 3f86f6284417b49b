"""Google: the cycle after the worker's own status write does not read the OPD again.

Drive's listing says who made a file's last change (lastModifyingUser.me). A new
revision whose last change was ours, of an OPD the worker wrote since its last read,
is taken as that write: no read, verdicts kept. Anything a person changes afterwards
is read; a person's edit between our read and our write (the one window the listing
cannot show) is caught by a safety read after `baca_ulang_jam` hours. All on the
emulator, whose edits by "staff" come from another user (tests.backends.STAFF)."""
from __future__ import annotations

import datetime as dt

import pytest
import yaml

from sheets_sync.config import WIB, ConfigError, load_settings, parse_settings
from sheets_sync.cycle import run_cycle
from sheets_sync.cycle.state import State
from sheets_sync.forms import load_forms
from sheets_sync.ops.season import new_season
from sheets_sync.stores.google import spreadsheet_id
from sheets_sync.stores.google_http import GoogleSession
from tests.backends import Deployment, STAFF
from tests.doubles import ObservedStore

FORMS = load_forms()
T0 = dt.datetime(2023, 10, 12, 8, 0, tzinfo=WIB)
LANDLINE = "021-5551234"     # not a mobile number: the row's status becomes SALAH


def no_sleep_session():
    return GoogleSession(None, sleep=lambda s: None, max_attempts=12)


@pytest.fixture
def dep(tmp_path, emu):
    return Deployment("google", tmp_path, emulator=emu, n_opds=3, session_factory=no_sleep_session)


def value_reads(emu) -> int:
    """Requests that read a spreadsheet's cells (an OPD's form tabs, the registry)."""
    by = emu.stats()["by_endpoint"]
    return by.get("sheets.spreadsheets.get", 0) + by.get("sheets.values.batchGet", 0)


def opd_reads(emu) -> int:
    """Reads of OPD form tabs (spreadsheets.get with grid data); the registry is a batchGet."""
    return emu.stats()["by_endpoint"].get("sheets.spreadsheets.get", 0)


def pegawai_opd(dep):
    return next(o for o in dep.opds() if "pegawai" in o.forms and len(dep.grids(o)["Pegawai"]) > 4)


def cells(dep, opd) -> tuple[int, dict]:
    """(header row number, {header text: column number}) of the OPD's Pegawai tab."""
    grid = dep.grids(opd)["Pegawai"]
    head = next(i for i, r in enumerate(grid) if FORMS.status_headers["status"] in r)
    return head + 1, {v: c + 1 for c, v in enumerate(grid[head]) if isinstance(v, str)}


def status(dep, opd, row: int) -> str:
    _, cols = cells(dep, opd)
    line = dep.grids(opd)["Pegawai"][row - 1]
    col = cols[FORMS.status_headers["status"]]
    return line[col - 1] if len(line) >= col else ""


def phone_col(dep, opd) -> int:
    return cells(dep, opd)[1][FORMS["pegawai"].column("no_hp").header]


def cycle(dep, at: dt.datetime, **kw):
    return dep.cycle(now=at, **kw)


def memory(dep, code: str):
    with State(dep.settings.state_db) as st:
        return st.opd(code)


def set_hours(dep, hours) -> None:
    raw = yaml.safe_load(dep.settings_path.read_text(encoding="utf-8"))
    raw["baca_ulang_jam"] = hours
    dep.settings_path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    dep.settings = load_settings(dep.settings_path)


# ------------------------------------------------------------ the listing
def test_listing_says_whose_change_it_was(dep, emu):
    opd = pegawai_opd(dep)
    sid = spreadsheet_id(opd.location)
    cycle(dep, T0)                                           # the worker writes statuses
    store = dep._google_store()
    store.revisions(dep.opds())
    assert opd.code in store.changed_by_us([opd])
    dep.set_cell(opd, "Pegawai", 4, phone_col(dep, opd), LANDLINE)   # a person at the OPD
    store = dep._google_store()
    store.revisions(dep.opds())
    assert store.changed_by_us([opd]) == set()
    meta = store.file_meta(sid, "lastModifyingUser(me,emailAddress,displayName)")
    assert meta["lastModifyingUser"] == {"me": False, "emailAddress": STAFF["X-Emulator-User"],
                                         "displayName": STAFF["X-Emulator-User-Name"]}


# ------------------------------------------------------------ own write
def test_own_write_then_idle_reads_no_values(dep, emu):
    rep = cycle(dep, T0)
    assert rep.read == 3 and rep.written_cells > 0
    emu.advance_clock(600)
    n, opd_before = emu.stats()["requests"], opd_reads(emu)
    rep = cycle(dep, T0 + dt.timedelta(minutes=10))
    assert (rep.read, rep.validated, rep.written_cells) == (0, 0, 0)
    assert opd_reads(emu) == opd_before                      # no OPD's cells read again
    # the listing, and the registry once (the master's revision moved by our master write)
    assert emu.stats()["requests"] - n <= 2
    for o in dep.opds():
        mem = memory(dep, o.code)
        assert mem.taken_as_own and mem.wrote is None and mem.complete
    n = emu.stats()["requests"]
    rep = cycle(dep, T0 + dt.timedelta(minutes=20))
    assert rep.read == 0 and emu.stats()["requests"] - n == 1   # idle: the listing only


def test_own_write_then_a_staff_edit_is_read(dep, emu):
    cycle(dep, T0)
    opd = pegawai_opd(dep)
    row = cells(dep, opd)[0] + 2
    assert status(dep, opd, row) == "OK"
    dep.set_cell(opd, "Pegawai", row, phone_col(dep, opd), LANDLINE)
    rep = cycle(dep, T0 + dt.timedelta(minutes=10))
    assert rep.read == 1
    assert status(dep, opd, row) == "SALAH"


def test_staff_edit_after_our_write_is_read_even_when_drive_shows_it_late(dep, emu):
    cycle(dep, T0)
    opd = pegawai_opd(dep)
    row = cells(dep, opd)[0] + 2
    emu.set_faults(strict=True, drive_lag_s=600)
    dep.set_cell(opd, "Pegawai", row, phone_col(dep, opd), LANDLINE)
    emu.advance_clock(300)                  # Drive still shows our write as the last change
    rep = cycle(dep, T0 + dt.timedelta(minutes=5))
    assert rep.read == 0 and status(dep, opd, row) == "OK"
    emu.advance_clock(400)                  # now it shows the person's edit: read
    rep = cycle(dep, T0 + dt.timedelta(minutes=12))
    assert rep.read == 1 and status(dep, opd, row) == "SALAH"


def test_a_second_change_of_ours_after_the_first_is_read(dep, emu):
    """One write, one revision taken as ours: a later change by the worker's account
    (a repair by provision, say) is read."""
    cycle(dep, T0)
    cycle(dep, T0 + dt.timedelta(minutes=10))
    opd = pegawai_opd(dep)
    row = cells(dep, opd)[0] + 2
    from sheets_sync.stores.google import col_letter
    dep._google_store().http.values_batch_update(spreadsheet_id(opd.location), {   # the worker's account
        "valueInputOption": "RAW", "data": [{"range": f"'Pegawai'!{col_letter(phone_col(dep, opd))}{row}",
                                             "values": [[LANDLINE]]}]})
    rep = cycle(dep, T0 + dt.timedelta(minutes=20))
    assert rep.read == 1


# ------------------------------------------------------------ the one window
def _edit_between_read_and_write(dep, emu):
    """Cycle 1 writes; a person edits row A; in cycle 2, after its read and before its
    write, another person edits row B (nothing of B is written). Returns (opd, row B)."""
    cycle(dep, T0)
    cycle(dep, T0 + dt.timedelta(minutes=10))
    opd = pegawai_opd(dep)
    head, col = cells(dep, opd)[0], phone_col(dep, opd)
    row_a, row_b = head + 1, head + 2
    assert status(dep, opd, row_b) == "OK"
    dep.set_cell(opd, "Pegawai", row_a, col, LANDLINE)

    def staff_types(o):
        if o.code == opd.code:
            dep.set_cell(o, "Pegawai", row_b, col, LANDLINE)
    with dep.context() as ctx:
        ctx.now = lambda: T0 + dt.timedelta(minutes=20)
        ctx.store = ObservedStore(ctx.store, after_read=staff_types)
        rep = run_cycle(ctx)
    assert rep.read == 1 and status(dep, opd, row_a) == "SALAH"
    return opd, row_b


def test_edit_between_read_and_write_is_caught_by_the_safety_read(dep, emu):
    opd, row_b = _edit_between_read_and_write(dep, emu)
    rep = cycle(dep, T0 + dt.timedelta(minutes=30))     # our write is the last change: taken as ours
    assert rep.read == 0 and status(dep, opd, row_b) == "OK"   # the window, honestly
    rep = cycle(dep, T0 + dt.timedelta(hours=5, minutes=59))
    assert rep.read == 0
    rep = cycle(dep, T0 + dt.timedelta(minutes=20, hours=6))   # baca_ulang_jam (6) since the real read
    # this OPD, and the two others whose write of cycle 1 was taken as ours (last read at T0)
    assert rep.read == 3 and status(dep, opd, row_b) == "SALAH"
    assert not memory(dep, opd.code).taken_as_own
    assert cycle(dep, T0 + dt.timedelta(hours=7)).read == 0  # once: settled again


def test_safety_read_follows_the_setting_and_zero_turns_it_off(dep, emu):
    set_hours(dep, 1)
    opd, row_b = _edit_between_read_and_write(dep, emu)
    assert cycle(dep, T0 + dt.timedelta(minutes=30)).read == 0
    assert cycle(dep, T0 + dt.timedelta(minutes=20, hours=1)).read == 3   # every OPD taken as ours
    assert status(dep, opd, row_b) == "SALAH"
    set_hours(dep, 0)
    dep.set_cell(opd, "Pegawai", row_b, phone_col(dep, opd), "0812-3000-0999")
    cycle(dep, T0 + dt.timedelta(hours=2))                   # reads the edit, writes OK
    assert cycle(dep, T0 + dt.timedelta(hours=2, minutes=10)).read == 0   # taken as ours
    assert cycle(dep, T0 + dt.timedelta(days=30)).read == 0                # 0: never read for safety


# ------------------------------------------------------------ still read
def test_registry_row_pointing_elsewhere_is_read_even_if_the_worker_made_that_file(dep, emu):
    """A new spreadsheet made by the worker's account (provision) shows `me` too; the
    write the worker remembers was into the old one."""
    cycle(dep, T0)
    opd = pegawai_opd(dep)
    http = dep._google_store().http
    copy = http.request("post", f"https://www.googleapis.com/drive/v3/files/{spreadsheet_id(opd.location)}/copy",
                        json={"name": "salinan"}, params={"supportsAllDrives": True, "fields": "id"}).json()["id"]
    master = dep.settings.google["master_id"]
    grid = dep._google_store().batch_get(master, [FORMS.registry["sheet"]])[FORMS.registry["sheet"]]
    r, c = next((i + 1, row.index(opd.location) + 1) for i, row in enumerate(grid) if opd.location in row)
    from sheets_sync.stores.google import col_letter, quote
    dep._google_store(staff=True).http.values_batch_update(master, {"valueInputOption": "RAW", "data": [
        {"range": f"{quote(FORMS.registry['sheet'])}!{col_letter(c)}{r}", "values": [[copy]]}]})
    store = dep._google_store()
    moved = next(o for o in store.read_registry()[0] if o.code == opd.code)
    assert store.changed_by_us([moved]) == {opd.code}       # the copy is the worker's own file
    rep = cycle(dep, T0 + dt.timedelta(minutes=10))
    assert rep.read == 1


def test_registry_forms_changed_is_read(dep, emu):
    cycle(dep, T0)
    opd = next(o for o in dep.opds() if len(o.forms) > 1)
    master = dep.settings.google["master_id"]
    sheet = FORMS.registry["sheet"]
    grid = dep._google_store().batch_get(master, [sheet])[sheet]
    header = grid[0]
    col = next(i for i, h in enumerate(header) if str(h).strip().lower().startswith("formulir"))
    r = next(i for i, row in enumerate(grid) if row and row[0] == opd.code)
    from sheets_sync.stores.google import col_letter, quote
    dep._google_store(staff=True).http.values_batch_update(master, {"valueInputOption": "RAW", "data": [
        {"range": f"{quote(sheet)}!{col_letter(col + 1)}{r + 1}", "values": [[opd.forms[0]]]}]})
    rep = cycle(dep, T0 + dt.timedelta(minutes=10))
    assert rep.read == 1


def test_season_rollover_reads_every_opd(dep, emu):
    cycle(dep, T0)                         # written: each OPD's next revision would be "ours"
    said = []
    new_season(dep.settings_path, 2024, today=dt.date(2024, 1, 8), as_of=dt.date(2024, 1, 8), out=said.append,
               first_cycle=False)          # empties time-bound forms with the worker's own account
    settings = load_settings(dep.settings_path)
    from sheets_sync.cycle import open_cycle
    with open_cycle(settings, dt.date(2024, 1, 8), store=None) as ctx:
        rep = run_cycle(ctx)
    assert rep.read == 3


# ------------------------------------------------------------ the setting
@pytest.mark.parametrize("bad", [-1, 721, "enam", 1.5, True])
def test_baca_ulang_jam_is_checked_in_indonesian(tmp_path, bad):
    with pytest.raises(ConfigError, match=r"baca_ulang_jam: '.*' harus bilangan bulat 0–720"):
        parse_settings({"baca_ulang_jam": bad}, tmp_path / "s.yaml")


def test_baca_ulang_jam_default_and_value(tmp_path):
    assert parse_settings({}, tmp_path / "s.yaml").reread_hours == 6
    assert parse_settings({"baca_ulang_jam": 0}, tmp_path / "s.yaml").reread_hours == 0
    assert parse_settings({"baca_ulang_jam": "12"}, tmp_path / "s.yaml").reread_hours == 12


# ------------------------------------------------------------ the memory
def test_memory_keeps_the_own_write_marks_and_reads_older_payloads():
    import orjson
    from sheets_sync.cycle.state import OpdMemory, decode_memory, encode_memory
    mem = OpdMemory(wrote="1AbCdEfGhIjK", taken_as_own=True, read_at="2023-10-12T01:00:00+00:00")
    back = decode_memory(encode_memory(mem))
    assert (back.wrote, back.taken_as_own, back.read_at) == (mem.wrote, True, mem.read_at)
    older = orjson.loads(encode_memory(OpdMemory()))
    for key in ("wrote", "taken_as_own", "read_at"):
        del older[key]
    back = decode_memory(orjson.dumps(older))
    assert (back.wrote, back.taken_as_own, back.read_at) == (None, False, None)
    older["wrote"] = 12
    with pytest.raises(ValueError):
        decode_memory(orjson.dumps(older))
