"""Sync benchmark on the Sheets/Drive emulator (a separate process, 150 ms latency).

40 OPDs x 4 forms x 200 rows. For our worker and, in the same run, for a naive
gspread script (open_by_key, get_all_records per tab, update_cell per status),
prints requests and wall time of a cold cycle, an idle cycle, and a cycle after
one cell was edited in one OPD. Goals for ours: idle <= 1 request, one edited OPD
<= 5 requests including the master, cold <= 20 s with zero 429 responses.

Our cycles run with the emulator as strict as Google: requests checked against the
discovery documents (strict) and Google's per-user quota of 60 requests a minute per
group (quota_per_minute 60). Cycles are a sync interval apart in production, so the
emulator's clock is moved 10 minutes before each cycle (never slept for). The naive
script runs with strict on and the quota off (under the quota it would mostly wait).

The naive script makes one request per status cell (~800 per OPD, ~2 minutes each
at 150 ms), so it runs on --naive-opds OPDs and its 40-OPD figures are
extrapolated linearly; the printout says so.

    python benchmarks/sync_bench.py [--opds 40] [--rows 200] [--latency 150] [--naive-opds 1]
    (--naive-opds 0 skips the naive script, ~6 minutes of the run)
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
AS_OF = dt.date(2023, 10, 12)


class Emulator:
    def __init__(self):
        self.proc = subprocess.Popen([sys.executable, "-m", "tests.google_emulator", "--port", "0"],
                                     cwd=ROOT, stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        self.url = line.strip().split()[-1]
        self.host = self.url.replace("http://", "")

    def post(self, path, body=None):
        req = urllib.request.Request(self.url + path, data=json.dumps(body or {}).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
        return json.loads(urllib.request.urlopen(req).read() or b"{}")

    def stats(self) -> dict:
        return json.loads(urllib.request.urlopen(self.url + "/_emulator/stats").read())

    def requests(self) -> int:
        return self.stats()["requests"]

    def stop(self):
        self.proc.terminate()
        self.proc.wait(5)


def setup(folder: Path, n_opds: int, n_rows: int) -> Path:
    """OPD spreadsheets (every form, n_rows rows each) and a master, plus settings."""
    import gspread
    import yaml

    from sheets_sync.demo import generate_rows
    from sheets_sync.demo.setup import demo_settings
    from sheets_sync.forms import load_forms
    from sheets_sync.validate.registry import registry_header
    from sheets_sync.demo.google import form_grid
    from sheets_sync.stores.google import FOLDER_MIME, SHEET_MIME, create_file, fill_tabs
    from sheets_sync.stores.google_http import GoogleSession

    forms = load_forms()
    http = gspread.Client(auth=None, session=GoogleSession(None)).http_client
    parent = create_file(http, "SPI bench", FOLDER_MIME, None)
    regs = []
    for i in range(n_opds):
        code = f"OPD{i + 1:02d}"
        rng = random.Random(f"bench:{code}")
        sid = create_file(http, f"{code} - SPI", SHEET_MIME, parent)
        tabs = {f.sheet: form_grid(forms, f.key, generate_rows(f.key, n_rows if f.key != "eksper" else 13,
                                                                 as_of=AS_OF, rng=rng, flaw_rate=0.1))
                for f in forms}
        fill_tabs(http, sid, tabs)
        regs.append([code, f"OPD Bench {i + 1}", f"opd{i + 1}@contoh.go.id", "", "", sid, "Ya"])
    master = create_file(http, "MASTER", SHEET_MIME, parent)
    fill_tabs(http, master, {forms.registry["sheet"]: [registry_header(forms)] + regs})
    settings = demo_settings("google", AS_OF)
    settings["google"] = {"master_id": master, "folder_id": parent}
    path = folder / "settings.yaml"
    path.write_text(yaml.safe_dump(settings, sort_keys=False))
    return path


def ours(settings_path: Path, emu: Emulator, label: str) -> dict:
    from sheets_sync.config import load_settings
    from sheets_sync.cycle import open_cycle, run_cycle

    emu.post("/_emulator/clock", {"advance_s": 600})       # one sync interval since the last cycle
    before = emu.stats()
    t0 = time.perf_counter()
    with open_cycle(load_settings(settings_path), AS_OF) as ctx:
        rep = run_cycle(ctx)
        wall = time.perf_counter() - t0
    after = emu.stats()
    by = {k: v - before["by_status"].get(k, 0) for k, v in after["by_status"].items()
          if v != before["by_status"].get(k, 0)}
    return {"cycle": label, "requests": after["requests"] - before["requests"], "seconds": round(wall, 2),
            "responses_429": by.get("429", 0), "responses_4xx_5xx": sum(v for k, v in by.items() if k >= "400"),
            "cells_written": rep.written_cells}


def naive(sids: list[str], emu: Emulator, label: str, forms) -> dict:
    """What a first script with gspread does: everything, every time, cell by cell."""
    import gspread

    from sheets_sync.validate.layout import locate_form
    from sheets_sync.stores.google_http import GoogleSession
    from sheets_sync.validate.frame import validate_frame

    session = GoogleSession(None, reads_per_minute=10**6, writes_per_minute=10**6)
    gc = gspread.Client(auth=None, session=session)
    before, t0 = emu.requests(), time.perf_counter()
    for sid in sids:
        sh = gc.open_by_key(sid)
        for form in forms:
            ws = sh.worksheet(form.sheet)
            grid = ws.get_all_values()
            found = locate_form(grid, form, forms, form.sheet)
            res = validate_frame(found.frame, form, AS_OF)
            col = found.status_columns["status"]
            for row, status in res.status.items():
                ws.update_cell(int(row), col, status)
    return {"cycle": label, "requests": emu.requests() - before, "seconds": round(time.perf_counter() - t0, 2)}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--opds", type=int, default=40)
    ap.add_argument("--rows", type=int, default=200)
    ap.add_argument("--latency", type=int, default=150)
    ap.add_argument("--naive-opds", type=int, default=1)
    a = ap.parse_args()
    from sheets_sync.forms import load_forms
    from sheets_sync.stores.google import spreadsheet_id

    emu = Emulator()
    emu.post("/_emulator/faults", {"strict": True})
    os.environ["SHEETS_EMULATOR_HOST"] = emu.host
    try:
        with tempfile.TemporaryDirectory() as tmp:
            t0 = time.perf_counter()
            settings = setup(Path(tmp), a.opds, a.rows)
            print(f"setup: {a.opds} OPDs x 4 forms x {a.rows} rows in {time.perf_counter() - t0:.1f} s "
                  f"(latency {a.latency} ms from here on)")
            emu.post("/_emulator/faults", {"latency_ms": a.latency, "strict": True, "quota_per_minute": 60})
            print("emulator: strict, quota_per_minute 60")
            results = [ours(settings, emu, "cold"), ours(settings, emu, "settle"), ours(settings, emu, "idle")]
            import gspread
            from sheets_sync.stores.google_http import GoogleSession
            staff = GoogleSession(None)    # the edit is a person's at the OPD, not the worker's account
            staff.headers.update({"X-Emulator-User": "staf.opd@contoh.go.id"})
            http = gspread.Client(auth=None, session=staff).http_client
            from sheets_sync.config import load_settings
            from sheets_sync.stores.google import GoogleStore
            forms = load_forms()
            store = GoogleStore(load_settings(settings), forms)
            emu.post("/_emulator/clock", {"advance_s": 61})
            opds, _ = store.read_registry()
            http.values_batch_update(spreadsheet_id(opds[3].location), {"valueInputOption": "RAW", "data": [
                {"range": "'Pegawai'!F5", "values": [["0736-21234"]]}]})
            results += [ours(settings, emu, "one cell edited"), ours(settings, emu, "after edit"),
                        ours(settings, emu, "idle again")]
            print("\nours (sheets_sync):")
            for r in results:
                print(f"  {r['cycle']:<16} requests {r['requests']:>4}  {r['seconds']:>6.2f} s  "
                      f"429s {r['responses_429']}  4xx/5xx {r['responses_4xx_5xx']}  "
                      f"cells written {r['cells_written']}")
            sids = [spreadsheet_id(o.location) for o in opds[: a.naive_opds]]
            k = a.opds / max(len(sids), 1)
            print(f"\nnaive gspread script (measured on {len(sids)} OPD, x{k:.0f} extrapolated to {a.opds}):")
            emu.post("/_emulator/faults", {"latency_ms": a.latency, "strict": True})
            naive_res = []
            for label in ("cold", "idle", "one cell edited") if sids else ():   # --naive-opds 0: skipped
                r = naive(sids, emu, label, forms)
                naive_res.append(r)
                rate = r["requests"] / r["seconds"] * 60
                print(f"  {label:<16} requests {r['requests']:>4} measured, ~{r['requests'] * k:,.0f} for {a.opds}; "
                      f"{r['seconds']:.1f} s measured, ~{r['seconds'] * k / 60:,.1f} min for {a.opds}; "
                      f"{rate:,.0f} requests/min (Google's quota: 60/min per user, so 429s on the real API)")
            cold, idle, edit = results[0], results[2], results[3]
            ok = idle["requests"] <= 1 and edit["requests"] <= 5 and cold["seconds"] <= 20 and \
                all(r["responses_429"] == 0 and r["responses_4xx_5xx"] == 0 for r in results)
            print(json.dumps({"ours": results, "naive": naive_res, "naive_scale": k, "goal_met": ok}))
            print(f"\ngoals (idle <= 1 request, edited OPD <= 5, cold <= 20 s, zero 429 and zero 4xx/5xx): {'MET' if ok else 'NOT MET'}")
            return 0 if ok else 1
    finally:
        emu.stop()


if __name__ == "__main__":
    sys.exit(main())
