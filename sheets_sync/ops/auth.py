"""`python -m sheets_sync auth --config PATH`: an OAuth user token for an ordinary
Google account (no Workspace, so no shared drive for a service account).

Google retired the copy-paste ("out of band") code flow in 2022, so this is the
installed-app loopback flow of google-auth-oauthlib: it prints the consent URL and
listens on http://localhost:PORT for Google's redirect. On a VM without a browser
the admin forwards that port from a laptop (ssh -L PORT:localhost:PORT user@vm) and
opens the URL there; or runs `auth` on the laptop and copies the token file.

The token asks for exactly the scopes the settings need (scopes_for: spreadsheets,
drive.file, drive.metadata.readonly; plus drive with `drive_scope: full`), and is
written with mode 0600. `check_token` refreshes it for `jobs.py --check` and turns
Google's refusals (invalid_grant, invalid_scope, ...) into Indonesian with the fix.
The only module that imports google_auth_oauthlib.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

from sheets_sync.config import ConfigError, set_setting
from sheets_sync.fileio import atomic_write_text
from sheets_sync.stores.google_http import scopes_for

DEFAULT_PORT = 8085
PROMPT = ("Buka URL berikut di peramban (di laptop; bila perintah ini berjalan di VM, teruskan dulu porta "
          "{port}: ssh -L {port}:localhost:{port} pengguna@vm), masuk dengan akun Google Inspektorat, lalu "
          "setujui akses:\n\n    {{url}}\n\nMenunggu jawaban Google di http://localhost:{port}/ …")
DONE_PAGE = "Berhasil: token sheets_sync dibuat. Jendela ini boleh ditutup."
TESTING_HINT = ("Bila ini terjadi sekitar 7 hari setelah auth: layar persetujuan OAuth proyek masih berstatus "
                "'Testing' (token kedaluwarsa setelah 7 hari). Ubah ke 'In production': Google Cloud Console → "
                "APIs & Services → OAuth consent screen → Publish app.")


def token_path(settings) -> Path:
    cfg = settings.google or {}
    path = Path(cfg.get("oauth_token") or "token.json")
    return path if path.is_absolute() else (Path(settings.path).parent / path).resolve()


def client_path(settings, given: str | None) -> Path:
    cfg = settings.google or {}
    raw = given or cfg.get("oauth_client")
    if not raw:
        raise ConfigError("berkas klien OAuth belum disebut: --client-secret BERKAS.json atau google.oauth_client "
                          "(Google Cloud Console → APIs & Services → Credentials → Create credentials → OAuth "
                          "client ID → Desktop app → Download JSON).")
    path = Path(raw)
    path = path if path.is_absolute() else (Path(settings.path).parent / path).resolve()
    if not path.is_file():
        raise ConfigError(f"berkas klien OAuth {path} tidak ada.")
    return path


def run_auth(settings, *, client_secret: str | None = None, port: int = DEFAULT_PORT, out=print,
             timeout_seconds: int | None = 600) -> Path:
    """The consent flow; returns the token file written (mode 0600). Records
    google.oauth_token in the settings file when it was not there."""
    from google_auth_oauthlib.flow import InstalledAppFlow

    cfg = settings.google or {}
    scopes = scopes_for(cfg)
    client = client_path(settings, client_secret)
    try:
        flow = InstalledAppFlow.from_client_secrets_file(str(client), scopes=scopes)
    except (ValueError, KeyError) as e:
        raise ConfigError(f"{client.name} bukan berkas klien OAuth jenis 'Desktop app' ({e}).") from None
    out(f"Izin yang diminta ({len(scopes)}): " + ", ".join(s.rsplit("/", 1)[-1] for s in scopes))
    creds = flow.run_local_server(host="localhost", port=port, open_browser=False,
                                  authorization_prompt_message=PROMPT.format(port=port),
                                  success_message=DONE_PAGE, timeout_seconds=timeout_seconds,
                                  access_type="offline", prompt="consent")
    if not creds.refresh_token:
        raise ConfigError("Google tidak memberi refresh token; cabut akses aplikasi di "
                          "https://myaccount.google.com/permissions lalu jalankan auth lagi.")
    path = token_path(settings)
    write_token(path, creds.to_json())
    if not cfg.get("oauth_token"):
        set_setting(settings.path, "google", "oauth_token", str(path))
    out(f"Token OAuth ditulis ke {path} (mode 600). Periksa: python jobs.py --check --config {settings.path}")
    return path


def write_token(path: Path, text: str) -> None:
    """Only the owner may read it: created 0600, never world-readable for a moment."""
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, text, mode=0o600)
    os.chmod(path, 0o600)


def token_request():
    """google-auth's HTTP transport for the token refresh (tests swap it for a fake
    endpoint: google-auth always sends refreshes to Google's own token URL)."""
    from google.auth.transport.requests import Request
    return Request()


def check_token(path: Path, cfg: dict, request=None) -> tuple[bool, str, str]:
    """(ok, what, fix): refresh the token once, as the worker will. Never prints a token."""
    from google.auth.exceptions import RefreshError, TransportError
    from google.oauth2.credentials import Credentials

    want = set(scopes_for(cfg))
    try:
        info = json.loads(Path(path).read_text(encoding="utf-8"))
        creds = Credentials.from_authorized_user_info(info, sorted(want))
    except (OSError, ValueError) as e:
        return False, f"token OAuth {path} tidak dapat dipakai ({type(e).__name__})", \
            "buat ulang: python -m sheets_sync auth --config PATH"
    granted = set(info.get("scopes") or [])
    if granted and not want <= granted:
        lacking = ", ".join(sorted(s.rsplit("/", 1)[-1] for s in want - granted))
        return False, f"token OAuth tidak memuat izin yang diperlukan pengaturan ({lacking})", \
            "pengaturan (mis. drive_scope) berubah sejak token dibuat: jalankan lagi python -m sheets_sync auth " \
            "--config PATH"
    if request is None:
        request = token_request()
    try:
        creds.refresh(request)
    except RefreshError as e:
        text = str(e)
        if "invalid_grant" in text:
            return False, "token OAuth ditolak Google (invalid_grant: kedaluwarsa atau dicabut)", \
                "jalankan lagi python -m sheets_sync auth --config PATH. " + TESTING_HINT
        if "invalid_scope" in text:
            return False, "token OAuth ditolak Google (invalid_scope: izin token tidak cocok)", \
                "jalankan lagi python -m sheets_sync auth --config PATH (izin dihitung dari pengaturan)."
        if "invalid_client" in text or "unauthorized_client" in text:
            return False, "klien OAuth ditolak Google (invalid_client: dihapus atau rahasianya diganti)", \
                "unduh lagi JSON klien 'Desktop app' dari Google Cloud Console, lalu jalankan auth lagi."
        return False, f"token OAuth tidak dapat diperbarui ({text[:120]})", \
            "jalankan lagi python -m sheets_sync auth --config PATH"
    except TransportError as e:
        return False, f"Google tidak dapat dihubungi untuk memperbarui token ({type(e).__name__})", \
            "pastikan VM bisa keluar ke https://oauth2.googleapis.com (DNS, firewall, proxy)."
    return True, "token OAuth diperbarui oleh Google (refresh berhasil)", ""
