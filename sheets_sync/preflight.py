"""Before anything else is imported: are the worker's packages installed for the Python
that runs it? `python jobs.py` with the system's Python (not the one `make setup`
made in .venv) ended in a ModuleNotFoundError traceback. Standard library only, and
no package is imported here (find_spec only looks): `validate` loads pandas in a
thread on purpose."""
from __future__ import annotations

import importlib.util
import shlex
import sys
from pathlib import Path

# import name -> the package pip installs (requirements.txt)
NEEDED = {"yaml": "PyYAML", "pandas": "pandas", "numpy": "numpy", "pyarrow": "pyarrow", "openpyxl": "openpyxl",
          "python_calamine": "python-calamine", "jinja2": "jinja2", "yagmail": "yagmail",
          "phonenumbers": "phonenumbers", "email_validator": "email-validator", "orjson": "orjson",
          "schedule": "schedule", "holidays": "holidays", "defusedxml": "defusedxml"}


def missing() -> list[str]:
    return [pkg for name, pkg in NEEDED.items() if importlib.util.find_spec(name) is None]


def check(program: str, argv: list[str]) -> None:
    """Exit 2 with an Indonesian sentence when a package is missing; `program argv` is
    the command to run again with the right Python (its arguments quoted for a shell)."""
    gone = missing()
    if not gone:
        return
    command = " ".join([program, *(shlex.quote(a) for a in argv)])
    venv = Path(__file__).resolve().parent.parent / ".venv" / "bin" / "python"
    how = (f"pakai Python milik sheets_sync: {venv} {command}" if venv.exists()
           else "jalankan dulu `make setup` di folder sheets_sync, lalu pakai .venv/bin/python " + command)
    print(f"Paket Python belum terpasang untuk {sys.executable}: {', '.join(gone)}. Perintah ini perlu Python "
          f"yang dipasang oleh `make setup`: {how}", file=sys.stderr)
    raise SystemExit(2)
