"""`auth` (OAuth loopback flow, no browser: a fake Google token endpoint and a
thread playing the browser's redirect), `--check`'s token refresh messages, and
`pilot` on the strict emulator. Nothing here talks to Google."""
from __future__ import annotations

import io
import json
import os
import stat
import sys
import threading
import time
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
import yaml

from sheets_sync.config import load_settings
from sheets_sync.ops import selfcheck
from sheets_sync.ops.auth import DEFAULT_PORT, run_auth
from sheets_sync.stores.google_http import FULL_DRIVE, SCOPES, scopes_for
from tests.google_emulator import start_emulator


class TokenEndpoint:
    """A stand-in for https://oauth2.googleapis.com/token on 127.0.0.1."""

    def __init__(self):
        self.answer = (200, {})
        self.posts: list[dict] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                n = int(self.headers.get("Content-Length") or 0)
                outer.posts.append(dict(urllib.parse.parse_qsl(self.rfile.read(n).decode())))
                status, body = outer.answer
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *a):
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/token"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        self.server.shutdown()


@pytest.fixture
def token_endpoint(monkeypatch):
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")     # the fake endpoint is plain http
    monkeypatch.delenv("SHEETS_EMULATOR_HOST", raising=False)
    t = TokenEndpoint()
    # google-auth always refreshes at Google's token URL: send those requests to the fake one,
    # and refuse anything else (nothing here may reach Google)
    import requests
    from google.auth.transport.requests import Request

    class ToFake(requests.Session):
        def request(self, method, url, **kw):
            assert url.startswith("https://oauth2.googleapis.com/token"), url
            return super().request(method, t.url, **kw)

    monkeypatch.setattr("sheets_sync.ops.auth.token_request", lambda: Request(session=ToFake()))
    yield t
    t.stop()


def settings_file(tmp_path, **google) -> object:
    cfg = tmp_path / "settings.yaml"
    cfg.write_text("# pengaturan uji\nbackend: google\nstate_dir: state\ndeadline: 2023-10-15\n"
                   "mail: {transport: outbox, sender: spi@contoh.go.id}\ninspektorat: {email: itda@contoh.go.id}\n"
                   + yaml.safe_dump({"google": {"master_id": "1AbCdEfGhIjKlMnOpQrStUvWxYz", **google}}),
                   encoding="utf-8")
    return cfg


def client_file(tmp_path, token_url: str):
    path = tmp_path / "client.json"
    path.write_text(json.dumps({"installed": {
        "client_id": "123.apps.googleusercontent.com", "client_secret": "rahasia-uji",
        "auth_uri": "http://127.0.0.1:9/auth", "token_uri": token_url,
        "redirect_uris": ["http://localhost"]}}))
    return path


def free_port() -> int:
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Screen(io.StringIO):
    """sys.stdout for the flow's printed URL, readable from the 'browser' thread."""

    def url(self, timeout: float = 10) -> str:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            for word in self.getvalue().split():
                if word.startswith("http://127.0.0.1:9/auth"):
                    return word
            time.sleep(0.02)
        raise AssertionError("no consent URL printed")


def browser(screen: Screen, seen: dict):
    """Opens the URL (we only read it) and is redirected by 'Google' to the loopback."""
    url = screen.url()
    q = dict(urllib.parse.parse_qsl(urllib.parse.urlparse(url).query))
    seen.update(q)
    back = f"{q['redirect_uri']}?state={q['state']}&code=kode-uji&scope={urllib.parse.quote(q['scope'])}"
    for _ in range(100):
        try:
            urllib.request.urlopen(back, timeout=5).read()
            return
        except OSError:
            time.sleep(0.05)


@pytest.mark.parametrize("drive_scope", ["file", "full"])
def test_auth_flow_through_a_fake_loopback_writes_a_0600_token(tmp_path, token_endpoint, monkeypatch, drive_scope):
    want = list(SCOPES) + ([FULL_DRIVE] if drive_scope == "full" else [])
    assert scopes_for({"drive_scope": drive_scope}) == want
    token_endpoint.answer = (200, {"access_token": "akses", "refresh_token": "segar", "expires_in": 3600,
                                   "token_type": "Bearer", "scope": " ".join(want)})
    cfg = settings_file(tmp_path, drive_scope=drive_scope)
    client = client_file(tmp_path, token_endpoint.url)
    screen, seen = Screen(), {}
    monkeypatch.setattr(sys, "stdout", screen)
    t = threading.Thread(target=browser, args=(screen, seen), daemon=True)
    t.start()
    port = free_port()
    lines = []
    path = run_auth(load_settings(cfg), client_secret=str(client), port=port, out=lines.append, timeout_seconds=20)
    t.join(10)
    assert sorted(seen["scope"].split()) == sorted(want)                    # exactly what the settings need
    assert seen["access_type"] == "offline" and seen["redirect_uri"] == f"http://localhost:{port}/"
    assert f"ssh -L {port}:localhost:{port}" in screen.getvalue()
    assert token_endpoint.posts[0]["code"] == "kode-uji"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    token = json.loads(path.read_text())
    assert token["refresh_token"] == "segar" and sorted(token["scopes"]) == sorted(want)
    assert load_settings(cfg).google["oauth_token"] == str(path)            # recorded in the settings
    assert "# pengaturan uji" in cfg.read_text()
    assert "segar" not in "\n".join(lines)                                   # never printed


def token_file(tmp_path, token_url: str, scopes=SCOPES):
    path = tmp_path / "token.json"
    path.write_text(json.dumps({"type": "authorized_user", "client_id": "123", "client_secret": "s",
                                "refresh_token": "segar-lama", "token_uri": token_url, "scopes": list(scopes)}))
    path.chmod(0o600)
    return path


def check(cfg) -> tuple[int, str]:
    out = io.StringIO()
    rc = selfcheck.main(cfg, out)
    return rc, out.getvalue()


def test_check_explains_invalid_grant(tmp_path, token_endpoint):
    token_endpoint.answer = (400, {"error": "invalid_grant", "error_description": "Token has been expired or revoked."})
    cfg = settings_file(tmp_path, oauth_token=str(token_file(tmp_path, token_endpoint.url)))
    rc, out = check(cfg)
    assert rc == 1
    line = next(x for x in out.splitlines() if "invalid_grant" in x)
    assert line.startswith("✗")
    fix = out.split(line, 1)[1].splitlines()[1]
    assert "python -m sheets_sync auth --config" in fix and "In production" in fix and "7 hari" in fix
    assert "segar-lama" not in out
    assert token_endpoint.posts and token_endpoint.posts[0]["grant_type"] == "refresh_token"


def test_check_explains_invalid_scope(tmp_path, token_endpoint):
    token_endpoint.answer = (400, {"error": "invalid_scope", "error_description": "Bad scope"})
    cfg = settings_file(tmp_path, oauth_token=str(token_file(tmp_path, token_endpoint.url)))
    rc, out = check(cfg)
    assert rc == 1 and any(x.startswith("✗") and "invalid_scope" in x for x in out.splitlines())


def test_check_sees_a_token_without_the_scopes_the_settings_need(tmp_path, token_endpoint):
    cfg = settings_file(tmp_path, drive_scope="full", oauth_token=str(token_file(tmp_path, token_endpoint.url)))
    rc, out = check(cfg)
    assert rc == 1 and "tidak memuat izin" in out and not token_endpoint.posts


def test_refresh_that_works_is_reported(tmp_path, token_endpoint):
    from sheets_sync.ops.auth import check_token
    token_endpoint.answer = (200, {"access_token": "baru", "expires_in": 3600, "token_type": "Bearer"})
    ok, what, _ = check_token(token_file(tmp_path, token_endpoint.url), {})
    assert ok and "refresh berhasil" in what


# ------------------------------------------------------------------ pilot
@pytest.fixture
def emu(monkeypatch):
    with start_emulator(strict=True) as e:
        monkeypatch.setenv("SHEETS_EMULATOR_HOST", e.url.replace("http://", ""))
        yield e


def pilot_settings(tmp_path, folder: str, **google):
    cfg = tmp_path / "settings.yaml"
    cfg.write_text(yaml.safe_dump({"backend": "google", "state_dir": "state",
                                   "inspektorat": {"email": ["itda@contoh.go.id"]},
                                   "google": {"folder_id": folder, **google}}), encoding="utf-8")
    return load_settings(cfg)


def run_pilot(settings) -> tuple[int, str]:
    from sheets_sync.ops.pilot import main
    out = io.StringIO()
    return main(settings, out), out.getvalue()


def test_pilot_on_the_emulator(tmp_path, emu):
    from sheets_sync.stores.google import FOLDER_MIME, create_file, raw_http
    folder = create_file(raw_http(), "SPI 2024", FOLDER_MIME, None)
    n = emu.stats()["requests"]
    rc, out = run_pilot(pilot_settings(tmp_path, folder))
    spent = emu.stats()["requests"] - n
    assert rc == 0, out
    marks = [x[0] for x in out.splitlines() if x[:1] in "✓✗"]
    assert marks == ["✓"] * 7, out
    assert spent < 15 and f"{spent} permintaan" in out
    assert set(emu.stats()["by_status"]) <= {"200", "204"}
    left = raw_http().request("get", "https://www.googleapis.com/drive/v3/files", params={
        "q": f"'{folder}' in parents and trashed=false"}).json()["files"]
    assert left == []                                                    # the scratch file is gone


def test_pilot_with_a_service_account_outside_a_shared_drive(tmp_path, emu):
    from sheets_sync.stores.google import FOLDER_MIME, create_file, raw_http
    folder = create_file(raw_http(), "SPI 2024", FOLDER_MIME, None)
    emu.set_faults(strict=True, service_account=True)
    rc, out = run_pilot(pilot_settings(tmp_path, folder, credentials="/etc/sheets-sync/sa.json"))
    assert rc == 1
    assert any(x.startswith("✗") and "storageQuotaExceeded" in x for x in out.splitlines()), out
    assert "Drive bersama" in out


def test_pilot_with_a_service_account_in_a_shared_drive(tmp_path, emu):
    from sheets_sync.stores.google import FOLDER_MIME, create_file, raw_http
    emu.set_faults(strict=True, service_account=True)
    drive = raw_http().request("post", "https://www.googleapis.com/drive/v3/drives", params={"requestId": "p"},
                               json={"name": "SPI"}).json()["id"]
    folder = create_file(raw_http(), "SPI 2024", FOLDER_MIME, drive)
    rc, out = run_pilot(pilot_settings(tmp_path, folder, credentials="/etc/sheets-sync/sa.json"))
    assert rc == 0, out
    assert "Drive bersama" in out


def test_default_port_is_documented():
    readme = (os.path.dirname(__file__) + "/../README.md")
    assert f"ssh -L {DEFAULT_PORT}:localhost:{DEFAULT_PORT}" in open(readme, encoding="utf-8").read()
