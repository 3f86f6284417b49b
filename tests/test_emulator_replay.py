"""Replays the recorded real Google traffic (gspread's cassettes) against the
emulator and holds it to the score it reached.

The recordings live outside the repository (../shared/gspread-cassettes); the
test is skipped where they are absent.  See docs/emulator.md for why the
remaining few per cent cannot match (they depend on files that existed in the
recording account, and on ids the replay tool does not map).
"""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.google_emulator import start_emulator

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
CASSETTES = SHARED / "gspread-cassettes"
TOOL = SHARED / "tools" / "replay_cassettes.py"

# Reached 1022/1124 interactions (90.9 %) and 67/70 cassettes (95.7 %).
MIN_INTERACTIONS_PCT = 90.5
MIN_CASSETTES_PCT = 95.5

pytestmark = pytest.mark.skipif(not (CASSETTES.is_dir() and TOOL.is_file()),
                                reason="recorded cassettes (../shared) not available")


def test_replay_recorded_google_traffic():
    with start_emulator() as emu:
        proc = subprocess.run([sys.executable, str(TOOL), "--base", emu.url, str(CASSETTES)],
                              capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    last = proc.stdout.strip().splitlines()[-1]
    m = re.search(r"interactions matched: (\d+)/(\d+) \(([\d.]+)%\), cassettes fully matched: (\d+)/(\d+)", last)
    assert m, last
    matched, total, _, full, cassettes = (float(x) for x in m.groups())
    interactions_pct = 100.0 * matched / total
    cassettes_pct = 100.0 * full / cassettes
    assert interactions_pct >= MIN_INTERACTIONS_PCT, last
    assert cassettes_pct >= MIN_CASSETTES_PCT, last
