"""A warm worker launcher for the kill tests: `python -m tests.reliability.forker`.

Importing pandas, openpyxl, gspread and the package takes most of a second, far
longer than a small cycle; a kill timed over "process start to exit" would mostly
land in the imports. This process imports everything once, then for each request
forks a child that runs `jobs.main(argv)` exactly as `python jobs.py argv` would
(fresh logging, its own lock, its own SQLite connection), and reports the child's
pid and then its exit status. The test kills the child with SIGKILL. With
"entry": "cli" the child runs `sheets_sync.cli.main(argv)` instead (python -m
sheets_sync ..., e.g. `season new`).

Protocol (JSON lines): stdin {"argv": [...], "log": PATH[, "entry": "cli"]}; stdout {"pid": N}, then
{"pid": N, "exit": CODE} or {"pid": N, "signal": SIG}.
"""
from __future__ import annotations

import json
import os
import sys


def _preload() -> None:
    import gspread  # noqa: F401
    import openpyxl  # noqa: F401
    import pandas  # noqa: F401

    import jobs  # noqa: F401
    from sheets_sync.ops import health, season  # noqa: F401
    from sheets_sync import cli  # noqa: F401
    from sheets_sync import mail, master, remind
    from sheets_sync.cycle import run as sync
    from sheets_sync.validate import frame as validate
    from sheets_sync.stores import google, xlsx  # noqa: F401
    # what a worker process warms up in its first cycle and keeps: the compiled e-mail
    # templates and the holiday calendar of the demo's years
    from sheets_sync.remind import calendar, text
    for name in ("reminder", "digest"):
        for part in ("_subject.txt.j2", ".txt.j2", ".html.j2"):
            text.environment().get_template(name + part)
    import datetime as dt
    for year in range(2022, 2028):
        calendar.office_calendar().closed(dt.date(year, 1, 1))


def _child(argv: list[str], log: str, entry: str = "jobs") -> None:
    fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)
    code = 1
    try:
        if entry == "cli":
            from sheets_sync import cli
            code = cli.main(argv)
        else:
            import jobs
            code = jobs.main(argv)
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else 1
    except BaseException:  # noqa: BLE001
        import traceback
        traceback.print_exc()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code or 0)


def main() -> int:
    _preload()
    print(json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        req = json.loads(line)
        pid = os.fork()
        if pid == 0:
            _child(req["argv"], req["log"], req.get("entry", "jobs"))
        print(json.dumps({"pid": pid}), flush=True)
        _, status = os.waitpid(pid, 0)
        if os.WIFSIGNALED(status):
            print(json.dumps({"pid": pid, "signal": os.WTERMSIG(status)}), flush=True)
        else:
            print(json.dumps({"pid": pid, "exit": os.WEXITSTATUS(status)}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
