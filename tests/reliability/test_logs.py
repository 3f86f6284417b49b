"""Logs never show a respondent's phone or e-mail, nor a credential, whoever logs.

A full demo cycle on the Google emulator with a reminder over a local SMTP server
(login without TLS, so the AUTH exchange is in the clear), run as a real process with
-v (DEBUG: urllib3, gspread, google-auth, yagmail) and smtplib's own debug output on.
Every phone and e-mail of the demo rows and of the registry is collected; none may
appear verbatim in what the process printed, nor the SMTP password (plain or base64)."""
from __future__ import annotations

import base64
import datetime as dt
import re
import subprocess
import sys

import pytest

from sheets_sync import logsafe
from sheets_sync.config import load_settings
from sheets_sync.demo.setup import make_demo
from tests.smtp_server import password_check, smtp_server

from .helpers import ROOT, store_for

AS_OF = dt.date(2023, 10, 12)
USER, PASSWORD = "spi.inspektorat@contoh.mukomukokab.go.id", "qwertyuiopasdfgh"
EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
WRAPPER = """
import runpy, smtplib, sys
real = smtplib.SMTP.set_debuglevel
smtplib.SMTP.set_debuglevel = lambda self, level: real(self, 1)   # yagmail sets 0: force the dialogue
smtplib.SMTP.debuglevel = 1
sys.argv = ["jobs.py"] + sys.argv[1:]
runpy.run_path("jobs.py", run_name="__main__")
"""


def personal_values(settings) -> set[str]:
    """Phones and e-mails as typed in the demo rows, their +62 forms, and the registry's."""
    from sheets_sync.validate.registry import Opd  # noqa: F401
    store, forms = store_for(settings)
    opds, _ = store.read_registry()
    found: set[str] = set()
    for o in opds:
        found.update(o.contacts)
        found.update(o.heads)
        for key, sheet in store.read_workbook(o).sheets.items():
            for col in forms[key].columns:
                if col.type not in ("phone", "email", "address_email") or col.key not in sheet.frame:
                    continue
                for v in sheet.frame[col.key].dropna().astype(str):
                    found.update(EMAIL.findall(v))
                    digits = re.sub(r"\D", "", v)
                    if col.type == "phone" and len(digits) >= 9:
                        found.add(v.strip())
                        found.add("+62" + digits.lstrip("0").removeprefix("62"))
    found.update((settings.inspektorat or {}).get("email") or [])
    return {v for v in found if len(v) >= 8}


@pytest.fixture
def emu(monkeypatch):
    from tests.google_emulator import start_emulator
    with start_emulator() as e:
        monkeypatch.setenv("SHEETS_EMULATOR_HOST", f"127.0.0.1:{e.port}")
        yield e


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_debug_logs_of_a_demo_cycle_leak_nothing(tmp_path, emu):
    path = make_demo(tmp_path / "g" / "settings.yaml", backend="google", n_opds=4, as_of=AS_OF)
    settings = load_settings(path)
    values = personal_values(settings)
    assert len(values) > 50
    with smtp_server(authenticator=password_check(USER, PASSWORD), auth_required=True,
                     auth_require_tls=False) as server:
        env = {"SHEETS_EMULATOR_HOST": f"127.0.0.1:{emu.port}", "MAIL_TRANSPORT": "smtp",
               "SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(server.port), "SMTP_SECURITY": "none",
               "SMTP_USER": USER, "SMTP_PASSWORD": PASSWORD, "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
        run = subprocess.run([sys.executable, "-c", WRAPPER, "--once", "-v", "--config", str(path),
                              "--as-of", AS_OF.isoformat()], cwd=ROOT, env=env, capture_output=True,
                             text=True, timeout=120)
        assert run.returncode == 0, run.stderr[-3000:]
        assert server.messages                                          # reminders went out over SMTP
    out = run.stdout + run.stderr
    # the output is the full DEBUG picture, not an empty one
    assert "/drive/v3/files" in out and "values:batchGet" in out    # urllib3
    assert "send:" in out and "AUTH" in out and "reply:" in out     # smtplib's dialogue
    assert "terkirim (smtp)" in out and "siklus selesai" in out
    leaked = sorted(v for v in values if v in out)
    assert not leaked, leaked[:10]
    plain = base64.b64encode(f"\0{USER}\0{PASSWORD}".encode()).decode()
    for secret in (PASSWORD, plain, base64.b64encode(PASSWORD.encode()).decode()):
        assert secret not in out
    assert "AUTH PLAIN ***" in out or "AUTH LOGIN ***" in out or "AUTH CRAM-MD5" in out


def test_secret_masks():
    mask = logsafe.mask
    assert mask("login dengan password=hunter22 gagal") == "login dengan password=*** gagal"
    assert mask("SMTP_PASSWORD=abcdefghijklmnop") == "SMTP_PASSWORD=***"
    assert mask('{"private_key": "-----BEGIN PRIVATE KEY-----\\nMIIEvQ\\n-----END PRIVATE KEY-----\\n"}') \
        == '{"private_key": "***"}'
    assert mask("kunci:\n-----BEGIN RSA PRIVATE KEY-----\nMIIE\nabc\n-----END RSA PRIVATE KEY-----") \
        == "kunci:\n[kunci privat disamarkan]"
    assert mask("Authorization: Bearer ya29.a0AfH6SMBx-abc_def") == "Authorization: Bearer ***"
    assert mask("token ya29.a0AfH6SMBxyz dipakai") == "token *** dipakai"
    assert mask("send: 'AUTH PLAIN AHVzZXIAcGFzcw==\\r\\n'") == "send: 'AUTH PLAIN ***\\r\\n'"
    assert mask("send: 'cGFzc3dvcmQ=\\r\\n'") == "send: '***\\r\\n'"
    assert mask("send: 'QUIT\\r\\n'") == "send: 'QUIT\\r\\n'"
    assert mask("siklus selesai: 3 OPD, 411 sel status ditulis, 0.3 dtk") == \
        "siklus selesai: 3 OPD, 411 sel status ditulis, 0.3 dtk"


def test_a_logger_with_its_own_handler_is_masked_too(capsys):
    """yagmail gives its logger a StreamHandler of its own, which the root filter never
    sees; the record factory masks the record before any handler."""
    import logging
    logsafe.install(logging.INFO)
    own = logging.getLogger("yagmail.uji")
    handler = logging.StreamHandler(sys.stderr)
    own.addHandler(handler)
    own.propagate = False
    try:
        own.error("gagal ke %s, HP %s, password=%s", "siti.aminah@yahoo.co.id", "081398765432", "rahasia123")
    finally:
        own.removeHandler(handler)
    err = capsys.readouterr().err
    assert "siti.aminah@yahoo.co.id" not in err and "081398765432" not in err and "rahasia123" not in err
    assert "s***@yahoo.co.id" in err
