import os
import sys

from sheets_sync import preflight

preflight.check("-m sheets_sync", sys.argv[1:])
from sheets_sync.cli import main  # noqa: E402 - after the check: its imports need the packages

code = main()   # stdout is flushed (or muted, for a reader that stopped early) by now
if sys.argv[1:2] == ["validate"]:
    # `validate FILE` ends holding millions of small objects (300,000 rows); freeing
    # them one by one is a tenth of its run, and nothing is left to do but exit: the
    # OS takes the memory back at once. No other command ends this way (their files,
    # logs and threads close as usual).
    sys.stderr.flush()
    os._exit(code)
sys.exit(code)
