"""Scale benchmark (issue 12): does the cost of a cycle follow change at city scale?

Cases (demo data scaled up, deterministic):
  A  the 40-OPD demo regency plus one OPD of 50,000 pegawai rows
  B  a city: 60 OPDs, 300,000 rows (3,000 pegawai + 2,000 pengguna layanan each)

For each case on the .xlsx backend, and for case A on the Google emulator (150 ms
latency per request), three cycles, each in a fresh process (reminders included):
cold, idle (nothing edited), one cell edited in the biggest OPD. The worker is a
long-running service (deploy/sheets-sync.service runs `jobs.py`, whose loop keeps
its modules loaded from one cycle to the next), so each process loads the worker's
modules first and the cycle is timed from there; the loading is printed apart
("modules"), paid once when the service starts. Then `validate FILE --json` on 300,000 rows (CSV and .xlsx,
the median of three runs each) against the per-row reference (phonenumbers + email-validator on every value) in
the same run. Printed: wall time of the cycle, peak RSS of its process, requests,
and whether the cycle ran the reminder step (and how many e-mails it sent).

The city runs its day as the worker does: the cold cycle before the reminder time
(no reminder step), the first idle cycle after it (the step runs and today's H-3
reminders are due: they are sent, and the Rekap's "Pengingat terakhir" moves), then
an idle cycle whose reminder step finds nothing due (every later cycle of the day).

    python benchmarks/scale_bench.py [--quick] [--skip-google] [--skip-city] [--only-city] [--only-validate]

Goals (printed as met / NOT met): city one-edit <= 10 s and <= 1 GiB, cold <= 60 s,
idle <= 2 s; 50k-row OPD one-edit <= 5 s; validate 300,000 rows file->JSON <= 0.15 x
the per-row reference.
"""
from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

AS_OF = dt.date(2023, 10, 12)
VALIDATE_RUNS = 3
GIB = 1 << 30

CHILD = r"""
import datetime as dt, json, resource, sys, time
sys.path.insert(0, {root!r})
t0 = time.perf_counter()
import jobs
from sheets_sync.config import load_settings
# what the running service holds after its first cycle (see the module doc)
import sheets_sync.cycle.run, sheets_sync.stores.xlsx, sheets_sync.stores.xlsx_bulk, sheets_sync.master
import sheets_sync.remind, sheets_sync.remind.calendar, sheets_sync.validate.frame, sheets_sync.mail, sheets_sync.history
settings = load_settings({config!r})
t1 = time.perf_counter()
sent = []


def counted(hook):
    def step(ctx, reports):
        summary = hook(ctx, reports)
        sent.append(len(summary.sent))
        return summary
    return step


hooks = [counted(h) for h in jobs.reminder_hooks(settings, {remind!r})]
jobs.one_cycle(settings, dt.date.fromisoformat({as_of!r}), hooks)
t2 = time.perf_counter()
print(json.dumps({{"cycle_s": t2 - t1, "import_s": t1 - t0, "reminded": sent[0] if sent else None,
                  "rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}}))
"""


# ------------------------------------------------------------------ building
def write_settings(folder: Path, backend: str = "xlsx", google: dict | None = None) -> Path:
    import yaml
    from sheets_sync.demo.setup import demo_settings

    s = demo_settings(backend, AS_OF)
    if google:
        s["google"] = google
    path = folder / "settings.yaml"
    path.write_text(yaml.safe_dump(s, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def big_rows(form_key: str, n: int, seed: str) -> list[dict]:
    from sheets_sync.demo import generate_rows
    return generate_rows(form_key, n, as_of=AS_OF, rng=random.Random(seed), flaw_rate=0.1)


def case_a(folder: Path, n_big: int) -> tuple[Path, str, str]:
    """40 demo OPDs + BESAR with n_big pegawai rows. Returns (settings, big file, big code)."""
    from sheets_sync import demo
    info = demo.generate_demo(folder, 40, as_of=AS_OF, seed=2023)
    regs = demo.registry_rows(40)
    for r in regs:
        r.setdefault("aktif", "Ya")
    big = {"kode": "BESAR", "nama": "Dinas Besar (uji skala)", "email_kontak": "besar@contoh.go.id",
           "email_kepala": "", "formulir": "pegawai", "berkas": "BESAR.xlsx", "aktif": "Ya"}
    demo.write_opd_workbook(Path(info["data_dir"]) / "BESAR.xlsx", ["pegawai"],
                            {"pegawai": big_rows("pegawai", n_big, "besar")})
    demo.write_master(Path(info["data_dir"]) / "master.xlsx", regs + [big])
    return write_settings(folder), "BESAR.xlsx", "BESAR"


def case_city(folder: Path, n_opds: int, per_opd: int) -> tuple[Path, str, str]:
    from sheets_sync import demo
    data = folder / "data"
    regs = []
    n_peg, n_pel = per_opd * 3 // 5, per_opd * 2 // 5
    for i in range(1, n_opds + 1):
        code = f"OPD{i:02d}"
        regs.append({"kode": code, "nama": f"Perangkat Daerah {i}", "email_kontak": f"opd{i}@contoh.go.id",
                     "email_kepala": "", "formulir": "pegawai, pengguna_layanan", "berkas": f"{code}.xlsx",
                     "aktif": "Ya"})
        demo.write_opd_workbook(data / f"{code}.xlsx", ["pegawai", "pengguna_layanan"],
                                {"pegawai": big_rows("pegawai", n_peg, f"{code}p"),
                                 "pengguna_layanan": big_rows("pengguna_layanan", n_pel, f"{code}l")})
    demo.write_master(data / "master.xlsx", regs)
    return write_settings(folder), "OPD01.xlsx", "OPD01"


def edit_one_cell_xlsx(path: Path) -> None:
    """A person changes one phone number (row 1,000 of the first tab), as Excel would save it."""
    from sheets_sync.stores import xlsx_read, xlsx_write
    grids = xlsx_read.read_grids(path)
    title = next(iter(grids))
    assert xlsx_write.patch_cells(path, {title: {(1002, 6): "0736-21234"}})


# ------------------------------------------------------------------ running
def cycle(config: Path, env: dict | None = None, remind: bool = True) -> dict:
    code = CHILD.format(root=str(ROOT), config=str(config), as_of=AS_OF.isoformat(), remind=remind)
    t0 = time.perf_counter()
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       env={**os.environ, **(env or {})}, timeout=3600)
    wall = time.perf_counter() - t0
    if p.returncode != 0:
        raise SystemExit(f"cycle failed:\n{p.stderr[-3000:]}")
    out = json.loads(p.stdout.strip().splitlines()[-1])
    out["process_s"] = wall
    return out


def three_cycles(label: str, config: Path, edit, env=None, requests=None,
                 names=("cold", "idle", "one edit"), quiet: tuple = ()) -> list[dict]:
    """The cycles `names` in order; those in `quiet` run before the reminder time
    (no reminder step)."""
    rows = []
    for name in names:
        if name == "one edit":
            edit()
        before = requests() if requests else None
        r = cycle(config, env, remind=name not in quiet)
        r.update(case=label, cycle=name)
        if requests:
            r["requests"] = requests() - before
        rows.append(r)
        step = "no reminder step" if r["reminded"] is None else f"reminder step: {r['reminded']} sent"
        print(f"  {label:<24} {name:<15} cycle {r['cycle_s']:7.2f} s   (modules {r['import_s']:.2f} s)"
              f"   peak RSS {r['rss'] / 2**20:7.0f} MiB"
              f"   {step}" + (f"   {r['requests']} requests" if requests else ""), flush=True)
    return rows


def validate_cli(rows: int, folder: Path) -> dict:
    """`validate FILE --json` on `rows` pegawai rows as CSV and .xlsx, and the per-row reference."""
    print(f"validate --json, {rows:,} rows", flush=True)
    from sheets_sync import demo
    from sheets_sync.forms import load_forms
    form = load_forms()["pegawai"]
    data = big_rows("pegawai", rows, "validate")
    csv_path = folder / "pegawai.csv"
    with open(csv_path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow([c.header for c in form.columns])
        for r in data:
            w.writerow(["" if r.get(c.key) is None else (r[c.key].strftime("%d/%m/%Y") if isinstance(
                r.get(c.key), (dt.date, dt.datetime)) else r[c.key]) for c in form.columns])
    xlsx_path = demo.write_opd_workbook(folder / "pegawai.xlsx", ["pegawai"], {"pegawai": data})
    # A city that keeps 300,000 rows in one tab raises its limits in its settings, and
    # `validate FILE --config` checks a file against that deployment's limits (as its cycle would).
    config = big_limits_settings(folder / "validate", rows)
    out = {}
    for name, path in (("csv", csv_path), ("xlsx", xlsx_path)):
        times = []
        for _ in range(VALIDATE_RUNS):   # the median: one run on this VM varies by a quarter
            t0 = time.perf_counter()
            p = subprocess.run([sys.executable, "-m", "sheets_sync", "validate", str(path), "--form", "pegawai",
                                "--as-of", AS_OF.isoformat(), "--json", "--config", str(config)],
                               capture_output=True, cwd=ROOT, timeout=3600)
            times.append(time.perf_counter() - t0)
            assert p.returncode == 0, p.stderr.decode()[-2000:]
        out[name], out[f"{name}_runs"] = sorted(times)[len(times) // 2], times
        out[f"{name}_rows"] = len(json.loads(p.stdout))
    code = (f"import sys,time,datetime as dt; sys.path.insert(0,{str(ROOT)!r});"
            f"from sheets_sync.ops.offline import read_grids; from sheets_sync.forms import load_forms;"
            f"from sheets_sync.validate.layout import locate_form; from sheets_sync.validate.frame import validate_frame;"
            f"from pathlib import Path; t=time.perf_counter(); fs=load_forms(); f=fs['pegawai'];"
            f"g=list(read_grids(Path({str(csv_path)!r})).values())[0]; s=locate_form(g,f,fs,'x');"
            f"r=validate_frame(s.frame,f,dt.date.fromisoformat({AS_OF.isoformat()!r}),reference=True);"
            f"recs=r.records(); import json; json.dumps(recs, default=str); print(time.perf_counter()-t)")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=3600)
    assert p.returncode == 0, p.stderr[-2000:]
    out["reference"] = float(p.stdout.strip().splitlines()[-1])
    out["floor_check"], out["floor_parse"], out["floor_core"] = xlsx_floor(xlsx_path, csv_path, config)
    return out


FLOOR_PARSE = """import sys, time, python_calamine
t = time.perf_counter()
book = python_calamine.CalamineWorkbook.from_path(sys.argv[1])
rows = [book.get_sheet_by_name(n).to_python(skip_empty_area=False) for n in book.sheet_names]
print(time.perf_counter() - t)
"""

FLOOR_CHECK = """import sys, time
from pathlib import Path
from sheets_sync.config import load_settings
from sheets_sync.stores.xlsx import check_package
limits = load_settings(sys.argv[2]).limits
t = time.perf_counter()
check_package(Path(sys.argv[1]), limits)
print(time.perf_counter() - t)
"""

FLOOR_CORE = """import sys, os, time, gc, datetime as dt
from pathlib import Path
gc.disable()   # as `validate` runs
from sheets_sync.ops.offline import read_grids
from sheets_sync.forms import load_forms
from sheets_sync.validate.layout import locate_form
from sheets_sync.validate.frame import validate_frame
from sheets_sync.validate import jsonout
fs = load_forms(); f = fs["pegawai"]
grid = list(read_grids(Path(sys.argv[1])).values())[0]   # not timed: Arrow's columns, ready
t = time.perf_counter()
found = locate_form(grid, f, fs, "x", (), hashed=False)
res = validate_frame(found.frame, f, dt.date.fromisoformat(sys.argv[2]), domains=fs.email_domains)
with open(os.devnull, "wb") as out:
    jsonout.write([("x", res)], out)
print(time.perf_counter() - t)
"""


def xlsx_floor(xlsx_path: Path, csv_path: Path, config: Path) -> tuple[float, float, float]:
    """What `validate FILE.xlsx --json` cannot go below while it reads through calamine
    and holds the file to the limits first (calamine aborts the process on some files):
    the check alone, calamine's parse alone (one thread: no mapping after it), and the
    validation + JSON of the same rows handed over as ready columns (the CSV path's
    Arrow columns, read untimed). Each must end before the next starts. Medians of
    VALIDATE_RUNS, each in a fresh process."""
    def median(args):
        times = []
        for _ in range(VALIDATE_RUNS):
            p = subprocess.run([sys.executable, "-c", *args], capture_output=True, text=True, cwd=ROOT,
                               timeout=3600)
            assert p.returncode == 0, p.stderr[-2000:]
            times.append(float(p.stdout.strip().splitlines()[-1]))
        return sorted(times)[len(times) // 2]
    return (median([FLOOR_CHECK, str(xlsx_path), str(config)]), median([FLOOR_PARSE, str(xlsx_path)]),
            median([FLOOR_CORE, str(csv_path), AS_OF.isoformat()]))


def big_limits_settings(folder: Path, rows: int) -> Path:
    """Demo settings with limits raised for one tab of `rows` rows."""
    import yaml
    folder.mkdir(parents=True, exist_ok=True)
    path = write_settings(folder)
    s = yaml.safe_load(path.read_text(encoding="utf-8"))
    s["limits"] = {"rows": rows + 1_000, "cells": (rows + 1_000) * 20, "file_mb": 200, "unpacked_mb": 2_000,
                   "part_mb": 2_000}
    path.write_text(yaml.safe_dump(s, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def google_case_a(folder: Path, n_big: int) -> list[dict]:
    from tests.google_emulator import start_emulator
    from sheets_sync import demo
    from sheets_sync.demo.google import form_grid
    from sheets_sync.forms import load_forms
    from sheets_sync.stores.google import FOLDER_MIME, SHEET_MIME, create_file, fill_tabs, raw_http
    from sheets_sync.validate.registry import registry_header

    folder.mkdir(parents=True, exist_ok=True)
    with start_emulator() as emu:
        env = {"SHEETS_EMULATOR_HOST": f"127.0.0.1:{emu.port}"}
        os.environ.update(env)
        forms = load_forms()
        http = raw_http()
        parent = create_file(http, "SPI skala", FOLDER_MIME, None)
        regs, rows, _ = demo.demo_plan(40, as_of=AS_OF, seed=2023)
        regs = [dict(r) for r in regs]
        rows["BESAR"] = {"pegawai": big_rows("pegawai", n_big, "besar")}
        regs.append({"kode": "BESAR", "nama": "Dinas Besar (uji skala)", "email_kontak": "besar@contoh.go.id",
                     "email_kepala": "", "formulir": "pegawai", "aktif": "Ya"})
        big_sid = None
        for reg in regs:
            sid = create_file(http, f"{reg['kode']} - SPI", SHEET_MIME, parent)
            fill_tabs(http, sid, {forms[k].sheet: form_grid(forms, k, r) for k, r in rows[reg["kode"]].items()})
            reg["berkas"] = f"https://docs.google.com/spreadsheets/d/{sid}/edit"
            big_sid = sid if reg["kode"] == "BESAR" else big_sid
        master = create_file(http, "MASTER", SHEET_MIME, parent)
        keys = [c["key"] for c in forms.registry["columns"]]
        fill_tabs(http, master, {forms.registry["sheet"]: [registry_header(forms)] +
                                 [[r.get(k, "") for k in keys] for r in regs]})
        config = write_settings(folder, "google", {"master_id": master, "folder_id": parent})
        emu.set_faults(latency_ms=150)

        def edit():
            http.values_update(big_sid, "'Pegawai'!F1002", params={"valueInputOption": "RAW"},
                               body={"values": [["0736-21234"]]})

        # on Google the cycle after the worker's own writes re-reads what it wrote (Drive's
        # version lags: see README), so the idle cycle is the one after that
        return three_cycles("A google 40+50k", config, edit, env, lambda: emu.stats()["requests"],
                            names=("cold", "after own write", "idle", "one edit"))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="smaller cases (5,000 / 30,000 rows) for a smoke run")
    ap.add_argument("--skip-google", action="store_true")
    ap.add_argument("--skip-city", action="store_true")
    ap.add_argument("--skip-xlsx", action="store_true", help="no .xlsx cases (A and city)")
    ap.add_argument("--only-validate", action="store_true", help="only `validate FILE --json` (no cycles)")
    ap.add_argument("--only-city", action="store_true", help="the city case only (no case A, Google, validate)")
    args = ap.parse_args()
    if args.only_validate:
        args.skip_xlsx = args.skip_google = args.skip_city = True
    n_big, city_opds, per_opd, v_rows = (5_000, 6, 5_000, 30_000) if args.quick else (50_000, 60, 5_000, 300_000)
    results, goals = [], []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        if not args.skip_xlsx and not args.only_city:
            print(f"Case A: 40 demo OPDs + one OPD of {n_big:,} rows (.xlsx)", flush=True)
            cfg, big, _ = case_a(tmp / "a", n_big)
            rows_a = three_cycles("A xlsx 40+big", cfg, lambda: edit_one_cell_xlsx(cfg.parent / "data" / big))
            results += rows_a
            goals.append(("50k-row OPD, one cell edited <= 5 s", rows_a[2]["cycle_s"] <= 5))
        if not args.skip_city and not args.skip_xlsx:
            print(f"Case B: city, {city_opds} OPDs x {per_opd:,} rows (.xlsx)", flush=True)
            cfg, big, _ = case_city(tmp / "b", city_opds, per_opd)
            rows_b = three_cycles("B xlsx city", cfg, lambda: edit_one_cell_xlsx(cfg.parent / "data" / big),
                                  names=("cold", "idle, H-3 due", "idle", "one edit"), quiet=("cold",))
            results += rows_b
            b = {r["cycle"]: r for r in rows_b}
            goals += [("city cold <= 60 s", b["cold"]["cycle_s"] <= 60),
                      ("city idle <= 2 s", b["idle"]["cycle_s"] <= 2),
                      ("city one edit <= 10 s", b["one edit"]["cycle_s"] <= 10),
                      ("city peak RSS <= 1 GiB (every cycle)", max(r["rss"] for r in rows_b) <= GIB)]
        if not args.skip_google and not args.only_city:
            print("Case A on the Google emulator (150 ms latency)", flush=True)
            rows_g = google_case_a(tmp / "g", n_big)
            results += rows_g
            goals += [("Google idle = 1 request", rows_g[2]["requests"] == 1),
                      ("Google one edited OPD <= 5 requests", rows_g[3]["requests"] <= 5)]
        v = {} if args.only_city else validate_cli(v_rows, tmp)
        for name in ("csv", "xlsx") if v else ():
            ratio = v[name] / v["reference"]
            runs = ", ".join(f"{t:.2f}" for t in v[name + "_runs"])
            print(f"  validate {name:<4} {v[name]:7.2f} s (median of {runs}) for {v[name + '_rows']:,} rows; "
                  f"per-row reference {v['reference']:.2f} s; ratio {ratio:.3f}")
            goals.append((f"validate {name} <= 0.15 x reference", ratio <= 0.15))
        if v:
            floor = v["floor_check"] + v["floor_parse"] + v["floor_core"]
            print(f"  xlsx floor: check before calamine {v['floor_check']:.2f} s + calamine parse alone "
                  f"{v['floor_parse']:.2f} s + validation and JSON on ready columns {v['floor_core']:.2f} s "
                  f"= {floor:.2f} s; ratio {floor / v['reference']:.3f}")
    print("\nGoals:")
    for text, ok in goals:
        print(f"  {'met    ' if ok else 'NOT met'}  {text}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
