"""deploy/sheets-sync.service: valid for systemd, hardened, and described in the README."""
from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
UNIT = ROOT / "deploy" / "sheets-sync.service"


def directives(text: str) -> dict[str, list[str]]:
    """key -> every value it is given (systemd allows a key more than once)."""
    out: dict[str, list[str]] = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith(("#", ";", "[")):
            continue
        key, _, value = line.partition("=")
        out.setdefault(key.strip(), []).append(value.strip())
    return out


def test_unit_runs_the_worker_as_its_own_user_and_restarts():
    d = directives(UNIT.read_text())
    assert d["User"] == ["sheets-sync"] and d["Group"] == ["sheets-sync"]
    assert d["WorkingDirectory"] == ["/opt/sheets-sync"]
    assert d["ExecStart"] == ["/opt/sheets-sync/.venv/bin/python jobs.py --config /etc/sheets-sync/settings.yaml"]
    assert d["Restart"] == ["on-failure"] and int(d["RestartSec"][0]) > 0
    assert d["RestartPreventExitStatus"] == ["2"]          # jobs.py: 2 = settings wrong
    assert d["EnvironmentFile"] == ["-/etc/sheets-sync/env"]
    assert int(d["TimeoutStopSec"][0]) >= 60               # SIGTERM waits for the current cycle


def test_unit_is_hardened():
    d = directives(UNIT.read_text())
    for key, value in {"NoNewPrivileges": "yes", "ProtectSystem": "strict", "ProtectHome": "yes",
                       "PrivateTmp": "yes", "PrivateDevices": "yes", "ProtectKernelTunables": "yes",
                       "ProtectKernelModules": "yes", "ProtectControlGroups": "yes",
                       "RestrictNamespaces": "yes", "RestrictSUIDSGID": "yes", "LockPersonality": "yes",
                       "SystemCallArchitectures": "native"}.items():
        assert d.get(key) == [value], key
    assert d["RestrictAddressFamilies"] == ["AF_INET AF_INET6 AF_UNIX"]
    assert d["CapabilityBoundingSet"] == [""]
    writable = d["ReadWritePaths"][0].split()
    assert sorted(writable) == sorted(f"/var/lib/sheets-sync/{x}" for x in ("data", "state", "outbox"))


@pytest.mark.skipif(not shutil.which("systemd-analyze"), reason="systemd-analyze is not installed")
def test_systemd_analyze_verify(tmp_path):
    """Verify a copy whose ExecStart binary and WorkingDirectory exist on this machine;
    any line about the unit itself (unknown key, value that does not parse) fails."""
    text = UNIT.read_text()
    text = text.replace("/opt/sheets-sync/.venv/bin/python", sys.executable)
    text = text.replace("WorkingDirectory=/opt/sheets-sync", f"WorkingDirectory={tmp_path}")
    unit = tmp_path / "sheets-sync.service"
    unit.write_text(text)
    run = subprocess.run(["systemd-analyze", "verify", "--man=no", str(unit)],
                         capture_output=True, text=True, timeout=60)
    about_unit = [line for line in (run.stdout + run.stderr).splitlines() if unit.name in line]
    assert run.returncode == 0, run.stdout + run.stderr
    assert not about_unit, about_unit


@pytest.mark.skipif(not shutil.which("systemd-analyze"), reason="systemd-analyze is not installed")
def test_verify_would_catch_a_mistake(tmp_path):
    """The check above is not vacuous: a misspelt key is reported."""
    text = UNIT.read_text().replace("/opt/sheets-sync/.venv/bin/python", sys.executable)
    text = text.replace("WorkingDirectory=/opt/sheets-sync", f"WorkingDirectory={tmp_path}")
    unit = tmp_path / "sheets-sync.service"
    unit.write_text(text.replace("NoNewPrivileges=yes", "NoNewPrivilege=yes"))
    run = subprocess.run(["systemd-analyze", "verify", "--man=no", str(unit)],
                         capture_output=True, text=True, timeout=60)
    assert "NoNewPrivilege" in run.stdout + run.stderr


def test_readme_walks_from_a_new_vm_to_a_running_service():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## Pemasangan di server"):]
    for needed in ("useradd", "service account", "shared drive", "sandi aplikasi", "settings.yaml",
                   "python -m sheets_sync provision", "jobs.py --check", "systemctl enable --now sheets-sync",
                   "journalctl -u sheets-sync", ".backup", "git pull", "make setup",
                   "systemctl restart sheets-sync", "deploy/sheets-sync.service"):
        assert needed in section, needed
    assert re.search(r"chmod 6[04]0", section)
