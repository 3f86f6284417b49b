"""Long operations show their progress: export and provision, on a terminal."""
from __future__ import annotations

from sheets_sync import cli
from tests.conftest import clean_rows


def test_export_and_provision_show_a_bar_on_a_terminal(deployment, tmp_path, monkeypatch, capsys):
    deployment.add_opd("DINKES", {"pegawai": clean_rows("pegawai", 3)})
    deployment.cycle()
    monkeypatch.setenv("SHEETS_SYNC_PROGRESS", "bar")   # as if stderr were a terminal
    assert cli.main(["export", "--config", str(deployment.config), "--out", str(tmp_path / "kpk.xlsx")]) == 0
    assert "menulis ekspor" in capsys.readouterr().err
    assert cli.main(["provision", "--config", str(deployment.config), "--dry-run"]) in (0, 1)
    assert "menyiapkan workbook" in capsys.readouterr().err
