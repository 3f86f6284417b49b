"""`python jobs.py` with the system's Python (no packages): a sentence naming the fix,
not a ModuleNotFoundError traceback."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from sheets_sync import preflight

ROOT = Path(__file__).resolve().parent.parent


def test_a_missing_package_is_named_with_the_python_to_use(monkeypatch, capsys):
    monkeypatch.setitem(preflight.NEEDED, "paket_yang_tidak_ada", "paket-yang-tidak-ada")
    with pytest.raises(SystemExit) as e:
        preflight.check("jobs.py", ["--once"])
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert "paket-yang-tidak-ada" in err and "jobs.py --once" in err and "Traceback" not in err
    assert ".venv/bin/python" in err or "make setup" in err


def test_every_needed_package_is_in_requirements():
    wanted = {line.split("==")[0].strip().lower() for line in (ROOT / "requirements.txt").read_text().splitlines()
              if line.strip() and not line.startswith("#")}
    assert {p.lower() for p in preflight.NEEDED.values()} <= wanted


@pytest.mark.parametrize("argv", [["jobs.py", "--once"], ["-m", "sheets_sync", "validate", "x.xlsx"]])
def test_the_entry_points_check_before_importing(tmp_path, argv):
    """Run with the packages hidden (an empty site: -S, and only the checkout on the path)."""
    p = subprocess.run([sys.executable, "-S", *argv], cwd=ROOT, capture_output=True, text=True, timeout=60,
                       env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    assert p.returncode == 2, p.stderr
    assert "Paket Python belum terpasang" in p.stderr and "Traceback" not in p.stderr
