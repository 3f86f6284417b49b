"""Local emulator of the Google Sheets v4 and Drive v3 REST APIs (standard library only).

In-process use::

    from tests.google_emulator import start_emulator

    with start_emulator() as emu:          # picks a free port on 127.0.0.1
        print(emu.url)                     # http://127.0.0.1:PORT
        ...
        emu.stats(); emu.reset(); emu.set_faults(rate_429=1.0)

From a shell: ``python -m tests.google_emulator --port 8765``.
"""
from .server import Emulator, EmulatorServer, start_emulator

__all__ = ["Emulator", "EmulatorServer", "start_emulator"]
