"""Credentials load without network: a service-account key or an OAuth user token,
with the least-privilege scopes; none at all when talking to the emulator."""
from __future__ import annotations

import json

import pytest

from sheets_sync.config import ConfigError
from sheets_sync.stores.google_http import SCOPES, GoogleSession, load_credentials


def _service_account_key(path):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    path.write_text(json.dumps({
        "type": "service_account", "project_id": "spi-uji", "private_key_id": "abc",
        "private_key": pem, "client_email": "pekerja@spi-uji.iam.gserviceaccount.com",
        "client_id": "1", "token_uri": "https://oauth2.googleapis.com/token"}))
    path.chmod(0o600)
    return path


def test_service_account_key_with_least_privilege_scopes(tmp_path, monkeypatch):
    monkeypatch.delenv("SHEETS_EMULATOR_HOST", raising=False)
    creds = load_credentials({"credentials": str(_service_account_key(tmp_path / "sa.json"))})
    assert creds.service_account_email == "pekerja@spi-uji.iam.gserviceaccount.com"
    assert set(creds.scopes) == set(SCOPES)
    assert not any(s.endswith("/auth/drive") for s in creds.scopes)   # never full Drive access


def test_key_path_from_environment(tmp_path, monkeypatch):
    monkeypatch.delenv("SHEETS_EMULATOR_HOST", raising=False)
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(_service_account_key(tmp_path / "k.json")))
    assert load_credentials({}).project_id == "spi-uji"


def test_oauth_user_token(tmp_path, monkeypatch):
    monkeypatch.delenv("SHEETS_EMULATOR_HOST", raising=False)
    token = tmp_path / "token.json"
    token.write_text(json.dumps({"type": "authorized_user", "client_id": "c", "client_secret": "s",
                                 "refresh_token": "r"}))
    creds = load_credentials({"oauth_token": str(token)})
    assert creds.refresh_token == "r" and set(creds.scopes) == set(SCOPES)


def test_missing_credentials_is_an_indonesian_config_error(monkeypatch):
    monkeypatch.delenv("SHEETS_EMULATOR_HOST", raising=False)
    monkeypatch.delenv("GOOGLE_APPLICATION_CREDENTIALS", raising=False)
    with pytest.raises(ConfigError, match="belum diisi"):
        load_credentials({})


def test_emulator_needs_no_credentials(tmp_path, monkeypatch):
    monkeypatch.setenv("SHEETS_EMULATOR_HOST", "127.0.0.1:9")
    assert load_credentials({"credentials": str(tmp_path / "absent.json")}) is None
    assert GoogleSession(None).credentials is None


def test_full_drive_scope_only_when_asked(tmp_path, monkeypatch):
    monkeypatch.delenv("SHEETS_EMULATOR_HOST", raising=False)
    key = str(_service_account_key(tmp_path / "sa.json"))
    assert "https://www.googleapis.com/auth/drive" in load_credentials({"credentials": key, "drive_scope": "full"}).scopes
    with pytest.raises(ConfigError, match="drive_scope"):
        load_credentials({"credentials": key, "drive_scope": "semua"})
