"""Regression tests for the bugs the fault suite found (docs/reliability.md)."""
from __future__ import annotations

import openpyxl

from sheets_sync.xlsxio import atomic_save


def test_a_save_killed_halfway_leaves_no_temporary_file_for_good(tmp_path):
    """SIGKILL during atomic_save left '.master.<random>.tmp' in the data folder
    forever (found by test_kill on the .xlsx backend); the next save of the same
    workbook removes it, and nothing else."""
    target = tmp_path / "master.xlsx"
    leftover = tmp_path / ".master.9jclwuvd.tmp"
    leftover.write_bytes(b"PK\x03\x04 half a zip")
    others = [tmp_path / ".DINKES.abcd1234.tmp", tmp_path / ".master.catatan.tmp", tmp_path / "master.tmp"]
    for p in others:
        p.write_text("bukan milik kita")
    atomic_save(openpyxl.Workbook(), target)
    assert target.exists() and not leftover.exists()
    assert all(p.exists() for p in others)
    assert sorted(p.name for p in tmp_path.glob(".master.*.tmp")) == [".master.catatan.tmp"]
