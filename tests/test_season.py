"""`season new --year 2024`: the respondent database lives on, on both backends.
Employee and expert rows carried verbatim (statuses recomputed), service users and
vendors emptied, master and workbooks archived, a fresh reminder ledger (no reminder
twice), refusal on a second run, a dry run that changes nothing, and a rollover
interrupted at every step that finishes on the next run without duplicates or loss."""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
import signal
import stat

import openpyxl
import pytest

from sheets_sync import cli, remind
from sheets_sync.config import load_settings
from sheets_sync.cycle.state import State
from sheets_sync.forms import load_forms
from sheets_sync.ops.season import SeasonError, new_season
from sheets_sync.stores.google_http import GoogleSession
from tests.backends import AS_OF, Deployment, rekap
from tests.google_emulator import start_emulator

NEW_DAY = dt.date(2024, 1, 8)          # the rollover's day (WIB)
H3_2024 = dt.date(2024, 10, 11)        # H-3 of the new deadline (15/10/2024 is a Tuesday)
FORMS = load_forms()
CARRIED = [f.sheet for f in FORMS if f.carry_over]
EMPTIED = [f.sheet for f in FORMS if not f.carry_over]


@pytest.fixture(params=["xlsx", "google"])
def dep(request, tmp_path, monkeypatch):
    if request.param == "xlsx":
        yield Deployment("xlsx", tmp_path, n_opds=3)
        return
    with start_emulator(strict=True) as emu:
        monkeypatch.setenv("SHEETS_EMULATOR_HOST", emu.url.replace("http://", ""))
        yield Deployment("google", tmp_path, emulator=emu, n_opds=3,
                         session_factory=lambda: GoogleSession(None, sleep=lambda s: None))


def _inputs(dep) -> dict:
    """{(OPD, tab): rows of input cells (status columns left out)}, blank-insensitive."""
    out = {}
    for opd in dep.opds():
        for title, grid in dep.grids(opd).items():
            form = next((f for f in FORMS if f.matches_sheet(title)), None)
            if form is None:
                continue
            head = next(i for i, r in enumerate(grid) if FORMS.status_headers["status"] in r)
            skip = {i for i, v in enumerate(grid[head]) if v in FORMS.status_headers.values()}
            rows = [tuple(v for i, v in enumerate(r) if i not in skip) for r in grid[head + 1:]]
            out[(opd.code, title)] = [r for r in rows if any(v not in (None, "") for v in r[1:])]
    return out


def _archives(dep) -> list[str]:
    if dep.kind == "xlsx":
        folder = dep.settings.data_dir / "arsip"
        return sorted(str(p.relative_to(folder)) for p in folder.rglob("*.xlsx")) if folder.exists() else []
    files = dep._google_store().list_files()
    http = dep._google_store().http
    names = [http.request("get", f"https://www.googleapis.com/drive/v3/files/{i}",
                          params={"fields": "name"}).json()["name"] for i in files]
    return sorted(n for n in names if n.startswith("Arsip"))


def _roll(dep, **kw):
    said = []
    journal = new_season(dep.settings_path, 2024, today=NEW_DAY, as_of=NEW_DAY, out=said.append, **kw)
    return journal, "\n".join(said)


def _outbox(dep) -> list[str]:
    folder = dep.settings.outbox_dir
    return sorted(p.name for p in folder.glob("*.eml")) if folder.exists() else []


def _pegawai_cells(dep):
    """(OPD, tab, first data row, {header: column}) of an OPD with employees."""
    for opd in dep.opds():
        grid = dep.grids(opd).get("Pegawai")
        if grid and len(grid) > 3:
            head = next(i for i, r in enumerate(grid) if FORMS.status_headers["status"] in r)
            return opd, head + 2, {v: c + 1 for c, v in enumerate(grid[head]) if isinstance(v, str)}
    raise AssertionError("no Pegawai rows")


def _cell(dep, opd, row, col):
    return dep.grids(opd)["Pegawai"][row - 1][col - 1]


def test_rollover_on_both_backends(dep):
    # an employee who starts after the 2023 reporting date, before the 2024 one: SALAH, then OK
    opd, row, cols = _pegawai_cells(dep)
    start = FORMS["pegawai"].column("tanggal_mulai").header
    dep.set_cell(opd, "Pegawai", row, cols[start], "01/12/2023")
    dep.cycle(hooks=[remind.hook])                        # season 2023, H-3: reminders go out
    status_col = cols[FORMS.status_headers["status"]]
    assert _cell(dep, opd, row, status_col) == "SALAH"
    sent_2023 = _outbox(dep)
    assert sent_2023 and all(n.startswith("spi-2023-") for n in sent_2023)
    before = _inputs(dep)
    settings_text = dep.settings_path.read_text(encoding="utf-8")
    state_bytes = dep.settings.state_db.read_bytes()

    journal, _ = _roll(dep, dry_run=True)                 # a dry run changes nothing
    assert journal["done"] == [] and _inputs(dep) == before and _archives(dep) == []
    assert dep.settings.state_db.read_bytes() == state_bytes
    assert dep.settings_path.read_text(encoding="utf-8") == settings_text
    assert not (dep.settings.records_dir / "musim").exists()

    journal, said = _roll(dep)
    after = _inputs(dep)
    for (code, title), rows in before.items():
        if title in CARRIED:
            assert after[(code, title)] == rows, (code, title)      # verbatim, cell for cell
        else:
            assert after[(code, title)] == [], (code, title)
    assert any(rows for (c, t), rows in before.items() if t in EMPTIED)
    assert _cell(dep, opd, row, status_col) == "OK"          # re-validated against 08/01/2024
    # archives: the master (dated) and every workbook, as they were
    codes = sorted(o.code for o in dep.opds())
    if dep.kind == "xlsx":
        assert _archives(dep) == sorted([f"2023/{c}.xlsx" for c in codes] + ["master-2023-2024-01-08.xlsx"])
        kept = openpyxl.load_workbook(dep.settings.data_dir / "arsip" / "master-2023-2024-01-08.xlsx")
        assert "Rekap" in kept.sheetnames
    else:
        assert len(_archives(dep)) == len(codes) + 1 and "Arsip master SPI 2023 (2024-01-08)" in _archives(dep)
    # settings: the new season, comments kept
    new = load_settings(dep.settings_path)
    assert (new.year, new.deadline) == (2024, dt.date(2024, 10, 15))
    assert settings_text.splitlines()[0] == dep.settings_path.read_text(encoding="utf-8").splitlines()[0]
    # state per season: the old one read-only, a fresh ledger
    old = new.state_dir / "arsip" / "state-2023.sqlite"
    assert stat.S_IMODE(old.stat().st_mode) == 0o400
    with State(old, read_only=True) as st:
        assert remind.Ledger(st).statuses()
    with State(new.state_db) as st:
        assert remind.Ledger(st).statuses() == {}
        assert st.get("previous_season")["year"] == 2023
    assert not (new.records_dir / "sent").exists() and list((new.records_dir / "sent-2023").glob("*.json"))
    # the first cycle of 2024 ran: carried rows re-validated, Rekap against last season
    dep.settings = new
    rows = rekap(dep)
    assert all(r[-1].startswith(CARRIED[0]) or "(2023:" in r[-1] for r in rows.values())
    assert any("TURUN TAJAM" in r[-1] for r in rows.values())
    assert "Pergantian" not in said and "Musim 2024 dimulai" in said
    # a second run for the same year is refused
    with pytest.raises(SeasonError, match="sudah dimulai"):
        _roll(dep)
    # reminders of 2024: each slot once, none of 2023 again
    dep.cycle(H3_2024, hooks=[remind.hook])
    dep.cycle(H3_2024, hooks=[remind.hook])
    sent = _outbox(dep)
    assert [n for n in sent if n.startswith("spi-2023-")] == sent_2023
    new_ones = [n for n in sent if n.startswith("spi-2024-")]
    assert new_ones and len({n.split(".")[0] for n in new_ones}) == len(new_ones)


def _fingerprint(dep) -> tuple:
    journal = json.loads((dep.settings.records_dir / "musim" / "2024.json").read_text(encoding="utf-8"))
    text = dep.settings_path.read_text(encoding="utf-8")
    return (_inputs(dep), _archives(dep), journal["done"], hashlib.sha256(text.encode()).hexdigest(),
            sorted(p.name for p in (dep.settings.records_dir / "sent-2023").glob("*.json")),
            archived_inputs(dep))


class _Books:
    """Archived .xlsx workbooks in the shape _inputs reads (opds(), grids(opd))."""

    def __init__(self, paths: dict):
        self.paths = paths

    def opds(self):
        from sheets_sync.validate.registry import Opd
        return [Opd(name, name) for name in self.paths]

    def grids(self, opd):
        from sheets_sync.stores.xlsx import read_grids
        return read_grids(self.paths[opd.code])


def archived_inputs(dep) -> dict:
    """The input rows of every archived .xlsx workbook: an archive holds the rows as they
    were before the rollover emptied them (a resumed run never re-copies an emptied one)."""
    folder = dep.settings.data_dir / "arsip"
    return _inputs(_Books({name: folder / name for name in _archives(dep)}))


def _killed_at(dep, point: str) -> None:
    """Run the rollover in a forked child that SIGKILLs itself at `point`: no finally
    block, no flush, the locks dropped by the kernel, as a power cut or OOM kill."""
    pid = os.fork()
    if pid == 0:                                   # the child
        try:
            _roll(dep, on_step=lambda name: name == point and os.kill(os.getpid(), signal.SIGKILL),
                  first_cycle=False)
        finally:
            os._exit(3)                            # the point was never reached
    _, status = os.waitpid(pid, 0)
    assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL, (point, status)


def test_rollover_killed_at_every_step_finishes_the_same(tmp_path):
    ref = Deployment("xlsx", tmp_path / "ref", n_opds=3)
    ref.cycle(hooks=[remind.hook])
    shutil.copytree(tmp_path / "ref", tmp_path / "template")     # season 2023 after a cycle
    points = []
    _roll(ref, on_step=points.append, first_cycle=False)
    want = _fingerprint(ref)
    assert any(rows for (_, title), rows in want[-1].items() if title in EMPTIED)    # archives hold them
    assert len(points) == 2 * (5 + 3)      # previous, master, 3 OPDs, state, records, settings
    # after each step's action, before its journal entry (a kill before an action leaves what
    # the previous step's entry does); of the OPD steps the first (they are alike)
    chosen = [points[0]] + [p for p in points if p.endswith(":selesai")
                            and (not p.startswith("opd:") or p.startswith(points[4]))]
    assert len(chosen) == 7
    for i, point in enumerate(chosen):
        shutil.copytree(tmp_path / "template", tmp_path / f"k{i}")
        dep = Deployment.at(tmp_path / f"k{i}" / "settings.yaml")
        _killed_at(dep, point)
        _roll(dep, first_cycle=False)
        assert _fingerprint(dep) == want, point
        assert load_settings(dep.settings_path).year == 2024
        assert not list((tmp_path / f"k{i}").rglob("*.tmp")), point


def test_rollover_on_google_interrupted_after_copies_makes_no_second_copy(tmp_path, monkeypatch):
    with start_emulator(strict=True) as emu:
        monkeypatch.setenv("SHEETS_EMULATOR_HOST", emu.url.replace("http://", ""))
        dep = Deployment("google", tmp_path, emulator=emu, n_opds=2)
        first = dep.opds()[0].code
        for at in ("master:selesai", f"opd:{first}:selesai"):
            def crash(name, at=at):
                if name == at:
                    raise KeyboardInterrupt(at)
            with pytest.raises(KeyboardInterrupt):
                _roll(dep, on_step=crash, first_cycle=False)
        _roll(dep, first_cycle=False)
        names = _archives(dep)
        assert len(names) == len(set(names)) == 3


def test_cli_refuses_wrong_years_and_a_running_worker(tmp_path, capsys):
    dep = Deployment("xlsx", tmp_path, n_opds=1)
    cfg = str(dep.settings_path)
    assert cli.main(["season", "new", "--year", "2023", "--config", cfg]) == 1
    assert "harus sesudah musim berjalan (2023" in capsys.readouterr().err
    assert cli.main(["season", "new", "--year", "24", "--config", cfg]) == 1
    assert "tulis tahun dengan 4 angka, mis. --year 2024" in capsys.readouterr().err
    with pytest.raises(SystemExit) as bad:
        cli.main(["season", "new", "--year", "2024", "--deadline", "31-02-2024", "--config", cfg])
    assert bad.value.code == 2 and "bukan tanggal" in capsys.readouterr().err
    import fcntl
    import os
    settings = dep.settings
    os.makedirs(settings.state_dir, exist_ok=True)
    with open(settings.lock_file, "a+") as held:
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)       # a worker is running
        assert cli.main(["season", "new", "--year", "2024", "--as-of", "2024-01-08", "--config", cfg]) == 1
    assert "systemctl stop" in capsys.readouterr().err
    assert load_settings(cfg).year == 2023
    assert cli.main(["season", "new", "--year", "2024", "--dry-run", "--as-of", "2024-01-08", "--config", cfg]) == 0
    assert "tidak ada yang diubah" in capsys.readouterr().out


@pytest.mark.unit
def test_rekap_comparison_flags_a_drop_below_half(forms):
    import pandas as pd

    from sheets_sync import master
    from sheets_sync.validate.frame import FormResult
    from sheets_sync.validate.opd_state import OpdReport
    from sheets_sync.validate.registry import Opd

    def res(key, n):
        return FormResult(key, pd.Series(["OK"] * n + ["SALAH"], dtype=object), pd.DataFrame(), pd.DataFrame(), {})
    rep = OpdReport(Opd("DINKES", "Dinas Kesehatan", forms=("pegawai", "pengguna_layanan")),
                    {"pegawai": res("pegawai", 10), "pengguna_layanan": res("pengguna_layanan", 4)}, [])
    previous = {"year": 2023, "rows": {"DINKES": {"pegawai": 20, "pengguna_layanan": 9}}}
    assert master.season_change(rep, forms, previous) == (
        "Pegawai 10 (2023: 20); Pengguna Layanan 4 (2023: 9) TURUN TAJAM")
    spec = master.rekap([rep], forms, NEW_DAY, None, previous=previous)
    assert spec.header[-1] == "Dibanding musim 2023" and spec.rows[0][-1].endswith("TURUN TAJAM")
    assert "Dibanding musim 2023" not in master.rekap([rep], forms, NEW_DAY, None).header


def test_a_broken_workbook_holds_the_season_not_the_other_opds(tmp_path):
    dep = Deployment("xlsx", tmp_path, n_opds=3)
    dep.cycle()
    broken, *others = dep.opds()
    path = dep.settings.data_dir / broken.location
    good = path.read_bytes()
    path.write_bytes(b"PK\x03\x04 bukan xlsx")
    with pytest.raises(SeasonError, match=f"Belum selesai.*{broken.code}.*musim belum diganti"):
        _roll(dep, first_cycle=False)
    journal = json.loads((dep.settings.records_dir / "musim" / "2024.json").read_text(encoding="utf-8"))
    assert journal["done"] == ["previous", "master"] + [f"opd:{o.code}" for o in others]
    assert load_settings(dep.settings_path).year == 2023 and dep.settings.state_db.exists()
    path.write_bytes(good)                                       # the OPD's file restored
    _roll(dep, first_cycle=False)
    assert load_settings(dep.settings_path).year == 2024
    assert f"2023/{broken.code}.xlsx" in _archives(dep)
    openpyxl.load_workbook(dep.settings.data_dir / "arsip" / "2023" / f"{broken.code}.xlsx")   # the good one


@pytest.mark.unit
def test_settings_year_and_deadline_rewritten_keeping_comments(tmp_path):
    from sheets_sync.config import CONFIG_DIR, set_setting

    path = tmp_path / "settings.yaml"
    example = (CONFIG_DIR / "settings.example.yaml").read_text(encoding="utf-8")
    path.write_text(example, encoding="utf-8")
    set_setting(path, None, "tahun", "2024")
    set_setting(path, None, "deadline", "2024-10-15")
    lines = path.read_text(encoding="utf-8").splitlines()
    old = example.splitlines()
    changed = [(a, b) for a, b in zip(old, lines) if a != b]
    assert len(lines) == len(old) and len(changed) == 2
    assert changed[0][1].startswith("tahun: 2024 ") and changed[1][1].startswith("deadline: 2024-10-15 ")
    for before, after in changed:          # the comment stays in its column
        assert after.index("#") == before.index("#") and after.split("#", 1)[1] == before.split("#", 1)[1]
    settings = load_settings(path)
    assert (settings.year, settings.deadline) == (2024, dt.date(2024, 10, 15))
