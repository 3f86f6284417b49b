"""Validation benchmark: 300,000 realistic `pegawai` rows (about 10 % flawed).

Goals (issue 2, tightened by issue 12): median wall time <= 1.5 s on the 2-core
machine, peak memory <= 1 GiB,
and verdicts identical to the per-row reference that calls phonenumbers and
email-validator on every value (validate_frame(..., reference=True)).

Each timed run happens in a fresh child process that loads the rows from a
pickle, so its peak RSS is the validation's own (plus the rows themselves).

    python benchmarks/validate_bench.py [--rows N] [--runs K] [--skip-reference]
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import pickle
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

AS_OF = dt.date(2023, 10, 15)
GOAL_SECONDS, GOAL_BYTES = 1.5, 1 << 30


def make_rows(n: int, path: Path) -> None:
    from sheets_sync.demo import generate_frame

    df = generate_frame("pegawai", n, as_of=AS_OF, rng=random.Random(2023), flaw_rate=0.1)
    df.index = df.index + 3   # data starts under a title row and a header row
    path.write_bytes(pickle.dumps(df))


def child(path: str, reference: bool, out: str) -> None:
    """Runs in a fresh process: load, validate, report time and peak RSS."""
    from sheets_sync.forms import load_forms
    from sheets_sync.validate.frame import validate_frame

    form = load_forms()["pegawai"]
    df = pickle.loads(Path(path).read_bytes())
    validate_frame(df.head(1000), form, AS_OF)   # imports and first-call costs out of the timing
    t0 = time.perf_counter()
    res = validate_frame(df, form, AS_OF, reference=reference)
    seconds = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    Path(out).write_bytes(pickle.dumps({"seconds": seconds, "peak": peak, "status": res.status,
                                        "problems": res.problems[["row", "column", "code"]],
                                        "normalized": res.normalized, "counts": res.counts()}))


def run_child(data: Path, reference: bool) -> dict:
    with tempfile.NamedTemporaryFile(suffix=".pkl", delete=False) as f:
        out = f.name
    subprocess.run([sys.executable, __file__, "--child", str(data), out] + (["--reference"] if reference else []),
                   check=True)
    res = pickle.loads(Path(out).read_bytes())
    Path(out).unlink()
    return res


def same_verdicts(a: dict, b: dict) -> bool:
    norm = lambda r: r["normalized"].astype(object).where(r["normalized"].notna(), None)  # noqa: E731
    return (a["status"].equals(b["status"]) and a["problems"].reset_index(drop=True).equals(
        b["problems"].reset_index(drop=True)) and norm(a).equals(norm(b)))


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=300_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--skip-reference", action="store_true")
    ap.add_argument("--child", nargs=2)
    ap.add_argument("--reference", action="store_true")
    a = ap.parse_args()
    if a.child:
        child(a.child[0], a.reference, a.child[1])
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "rows.pkl"
        t0 = time.perf_counter()
        make_rows(a.rows, data)
        print(f"rows: {a.rows:,} pegawai rows generated in {time.perf_counter() - t0:.1f} s")
        runs = [run_child(data, False) for _ in range(a.runs)]
        secs = [r["seconds"] for r in runs]
        best, med, peak = min(secs), statistics.median(secs), max(r["peak"] for r in runs)
        c = runs[0]["counts"]
        flawed = (c["PERIKSA"] + c["SALAH"]) / a.rows
        print(f"verdicts: OK {c['OK']:,}  PERIKSA {c['PERIKSA']:,}  SALAH {c['SALAH']:,}  ({flawed:.1%} flagged)")
        print(f"fast path: median {med:.2f} s, best {best:.2f} s over {a.runs} runs "
              f"-> {a.rows / med:,.0f} rows/s; peak memory {peak / 2**20:,.0f} MiB")
        ok = med <= GOAL_SECONDS and peak <= GOAL_BYTES
        if not a.skip_reference:
            ref = run_child(data, True)
            same = all(same_verdicts(r, ref) for r in runs)
            print(f"per-row reference: {ref['seconds']:.2f} s -> {a.rows / ref['seconds']:,.0f} rows/s; "
                  f"fast path is {ref['seconds'] / med:.1f}x faster; identical verdicts: {'yes' if same else 'NO'}")
            ok = ok and same
        print(json.dumps({"rows": a.rows, "median_s": round(med, 3), "best_s": round(best, 3),
                          "rows_per_s": round(a.rows / med), "peak_mib": round(peak / 2**20),
                          "goal_met": ok}))
        print(f"goals (<= {GOAL_SECONDS} s, <= 1 GiB, identical verdicts): {'MET' if ok else 'NOT MET'}")
        return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
