"""Replays the recorded real Google traffic (gspread's cassettes) against the
emulator and holds it to the score it reached.

The recordings live outside the repository (../shared/gspread-cassettes); the
test is skipped where they are absent.  The replay tool leaves out interactions
that rest on files the recording account held before; see docs/emulator.md for
the one interaction that still cannot match.

The replay runs twice: as the emulator starts by default, and in strict mode
(every request checked against Google's discovery documents, kept across the
tool's resets by ``start_emulator(strict=True)``).  Real traffic is valid by
definition, so strict mode must not lower the score.
"""
from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.google_emulator import start_emulator

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
CASSETTES = SHARED / "gspread-cassettes"
TOOL = SHARED / "tools" / "replay_cassettes.py"

# Reached 1027/1028 interactions (99.9 %) and 69/70 cassettes (98.6 %), strict off and on.
MIN_INTERACTIONS_PCT = 99.9
MIN_CASSETTES_PCT = 98.5

pytestmark = pytest.mark.skipif(not (CASSETTES.is_dir() and TOOL.is_file()),
                                reason="recorded cassettes (../shared) not available")


def _replay(strict: bool):
    with start_emulator(strict=strict) as emu:
        proc = subprocess.run([sys.executable, str(TOOL), "--base", emu.url, str(CASSETTES)],
                              capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    last = proc.stdout.strip().splitlines()[-1]
    m = re.search(r"interactions matched: (\d+)/(\d+) \(([\d.]+)%\), cassettes fully matched: (\d+)/(\d+)", last)
    assert m, last
    matched, total, _, full, cassettes = (float(x) for x in m.groups())
    return last, 100.0 * matched / total, 100.0 * full / cassettes


def test_replay_recorded_google_traffic():
    last, interactions_pct, cassettes_pct = _replay(strict=False)
    assert interactions_pct >= MIN_INTERACTIONS_PCT, last
    assert cassettes_pct >= MIN_CASSETTES_PCT, last


@pytest.mark.skipif(importlib.util.find_spec("googleapiclient") is None,
                    reason="strict mode needs google-api-python-client's discovery documents")
def test_replay_recorded_google_traffic_in_strict_mode():
    last, interactions_pct, cassettes_pct = _replay(strict=True)
    assert interactions_pct >= MIN_INTERACTIONS_PCT, last
    assert cassettes_pct >= MIN_CASSETTES_PCT, last
