"""`python jobs.py --check`: an Indonesian checklist, exit 1 when anything fails,
each failure saying how to fix it. Against the emulator, aiosmtpd (with and
without login), closed ports and a world-readable credentials file."""
from __future__ import annotations

import datetime as dt
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

import jobs
from sheets_sync.ops import selfcheck
from sheets_sync.config import load_settings
from sheets_sync.demo.setup import make_demo

sys.path.insert(0, str(Path(__file__).resolve().parent))
from smtp_server import free_port, password_check, smtp_server  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
AS_OF = dt.date(2023, 10, 12)
MAIL_ENV = ("MAIL_TRANSPORT", "SMTP_HOST", "SMTP_PORT", "SMTP_SECURITY", "SMTP_USER", "SMTP_PASSWORD",
            "SHEETS_EMULATOR_HOST", "GOOGLE_APPLICATION_CREDENTIALS")


@pytest.fixture(autouse=True)
def clean_env(monkeypatch, tmp_path):
    for var in MAIL_ENV:
        monkeypatch.delenv(var, raising=False)
    monkeypatch.chdir(tmp_path)


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Path:
    return make_demo(tmp_path_factory.mktemp("t") / "spi" / "settings.yaml", n_opds=2, as_of=AS_OF)


def deployment(tmp_path, template, **changes) -> Path:
    import shutil
    folder = tmp_path / "spi"
    shutil.copytree(template.parent, folder)
    path = folder / "settings.yaml"
    raw = yaml.safe_load(path.read_text())
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(raw.get(key), dict):
            raw[key].update(value)
        else:
            raw[key] = value
    path.write_text(yaml.safe_dump(raw, allow_unicode=True))
    return path


def check(path) -> tuple[int, str]:
    out = io.StringIO()
    rc = selfcheck.main(path, out=out)
    return rc, out.getvalue()


def line(out: str, start: str) -> str:
    found = [x for x in out.splitlines() if start in x]
    assert found, f"no line with {start!r} in:\n{out}"
    return found[0]


def fix_after(out: str, start: str) -> str:
    lines = out.splitlines()
    i = next(i for i, x in enumerate(lines) if start in x)
    assert lines[i + 1].strip().startswith("→ Perbaiki:"), lines[i:i + 2]
    return lines[i + 1]


# ------------------------------------------------------------------ xlsx + outbox
def test_all_good_on_xlsx_with_outbox(tmp_path, template):
    rc, out = check(deployment(tmp_path, template))
    assert rc == 0, out
    assert line(out, "Pengaturan valid").startswith("✓")
    assert line(out, "Master dan Daftar OPD terbaca").startswith("✓") and "2 OPD aktif" in out
    assert line(out, "Folder data dapat ditulis").startswith("✓")
    assert line(out, "Folder outbox").startswith("✓")
    assert line(out, "Kredensial Google").startswith("–")
    assert "✗" not in out and "Hasil: semua pemeriksaan lulus" in out
    assert not list((tmp_path / "spi").rglob(".periksa-*"))          # the write test leaves nothing
    # the demo's example addresses (…@contoh…) are named, with what to do, and counted at the end
    assert line(out, "Pengaturan masih memakai alamat e-mail contoh").startswith("!")
    assert line(out, "Daftar OPD: 2 OPD masih memakai alamat e-mail contoh").startswith("!")
    assert "→ Saran: ganti dengan alamat e-mail OPD yang sebenarnya" in out
    assert "peringatan (baris bertanda !" in out


def test_real_addresses_are_not_taken_for_examples():
    from sheets_sync.ops.selfcheck import is_example_address
    assert is_example_address("inspektorat@contoh.mukomukokab.go.id") and is_example_address("a@example.com")
    assert is_example_address("SPI.Inspektorat@gmail.com")                 # the example sender
    assert not is_example_address("inspektorat@mukomukokab.go.id") and not is_example_address("contoh@gmail.com")


def test_invalid_settings_fail_first(tmp_path, template):
    rc, out = check(deployment(tmp_path, template, reminder_time="25:00"))
    assert rc == 1
    assert line(out, "Pengaturan tidak valid").startswith("✗") and "reminder_time" in out
    assert "settings.example.yaml" in fix_after(out, "Pengaturan tidak valid")


def test_missing_data_folder_and_registry(tmp_path, template):
    rc, out = check(deployment(tmp_path, template, data_dir="tidak-ada"))
    assert rc == 1
    assert line(out, "Folder data tidak ada").startswith("✗")
    assert "install -d" in fix_after(out, "Folder data tidak ada")
    assert line(out, "Daftar OPD kosong").startswith("✗")


def test_health_is_shown_after_a_cycle(tmp_path, template):
    path = deployment(tmp_path, template)
    jobs.one_cycle(load_settings(path), AS_OF, [])
    rc, out = check(path)
    assert rc == 0
    assert line(out, "Siklus berhasil terakhir").startswith("ℹ")
    assert line(out, "Basis data state utuh").startswith("✓")


# ------------------------------------------------------------------ SMTP
def smtp_settings(port, **extra):
    return {"mail": {"transport": "smtp", "host": "127.0.0.1", "port": port, "security": "none",
                     "sender": "spi@contoh.mukomukokab.go.id", **extra}}


def test_smtp_without_login(tmp_path, template):
    with smtp_server() as server:
        rc, out = check(deployment(tmp_path, template, **smtp_settings(server.port)))
        assert rc == 0, out
        assert line(out, f"SMTP 127.0.0.1:{server.port}").startswith("✓")
        assert "tanpa login" in out and "tidak ada e-mail yang dikirim" in out
        assert server.handler.attempts == 0 and server.messages == []


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_smtp_login_accepted_and_refused(tmp_path, template, monkeypatch):
    auth = dict(authenticator=password_check("spi@contoh.mukomukokab.go.id", "sandi-aplikasi-16"),
                auth_required=True, auth_require_tls=False)
    with smtp_server(**auth) as server:
        path = deployment(tmp_path, template, **smtp_settings(server.port, user="spi@contoh.mukomukokab.go.id"))
        monkeypatch.setenv("SMTP_PASSWORD", "sandi-aplikasi-16")
        rc, out = check(path)
        assert rc == 0, out
        assert "login sebagai s***@contoh.mukomukokab.go.id diterima" in line(out, "SMTP 127.0.0.1")
        monkeypatch.setenv("SMTP_PASSWORD", "salah")
        rc, out = check(path)
        assert rc == 1
        assert line(out, "SMTP 127.0.0.1").startswith("✗") and "login SMTP ditolak (535)" in out
        fix = fix_after(out, "SMTP 127.0.0.1")
        assert "SMTP_PASSWORD" in fix and "sandi aplikasi" in fix
        assert server.handler.attempts == 0 and server.messages == []     # never sends


def test_smtp_unreachable(tmp_path, template):
    port = free_port()                                   # nothing listens there
    rc, out = check(deployment(tmp_path, template, **smtp_settings(port)))
    assert rc == 1
    assert line(out, f"SMTP 127.0.0.1:{port}").startswith("✗") and "koneksi ditolak" in out
    assert "SMTP_HOST" in fix_after(out, f"SMTP 127.0.0.1:{port}")
    assert "1 pemeriksaan gagal" in out


# ------------------------------------------------------------------ Google
@pytest.fixture
def emu(monkeypatch):
    from tests.google_emulator import start_emulator
    with start_emulator() as e:
        monkeypatch.setenv("SHEETS_EMULATOR_HOST", f"127.0.0.1:{e.port}")
        yield e


def test_google_on_the_emulator(tmp_path, emu):
    path = make_demo(tmp_path / "g" / "settings.yaml", backend="google", n_opds=2, as_of=AS_OF)
    before = emu.stats()
    rc, out = check(path)
    assert rc == 0, out
    assert line(out, "Kredensial Google").startswith("–") and "emulator" in out
    assert line(out, "terjangkau: satu daftar Drive").startswith("✓")
    assert line(out, "Master dan Daftar OPD terbaca").startswith("✓") and "2 OPD aktif" in out
    assert line(out, "Workbook OPD ditemukan: 2 dari 2").startswith("✓")
    after = emu.stats()
    used = {k: n - before["by_endpoint"].get(k, 0) for k, n in after["by_endpoint"].items()
            if n != before["by_endpoint"].get(k, 0)}
    # the folder (drive, rights), the listing (twice: reachability, then with the registry) + the registry
    assert after["requests"] - before["requests"] <= 4, used
    assert set(used) <= {"drive.files.get", "drive.files.list", "sheets.values.batchGet"}, used   # reads only
    assert line(out, "Folder Drive").startswith("✓")
    assert not (path.parent / "state" / "google_cache.json").exists()   # the check writes nothing


def test_google_emulator_unreachable(tmp_path, emu, monkeypatch):
    path = make_demo(tmp_path / "g" / "settings.yaml", backend="google", n_opds=2, as_of=AS_OF)
    monkeypatch.setenv("SHEETS_EMULATOR_HOST", f"127.0.0.1:{free_port()}")
    rc, out = check(path)
    assert rc == 1
    assert line(out, "tidak dapat dihubungi: jaringan").startswith("✗")
    assert "emulator" in fix_after(out, "tidak dapat dihubungi")
    assert line(out, "Master dan Daftar OPD: dilewati").startswith("–")


def _google_settings(tmp_path, template, key: Path) -> Path:
    return deployment(tmp_path, template, backend="google",
                      google={"master_id": "1AbCdEfGhIjKlMnOpQrStUvWxYz", "credentials": str(key)})


def test_world_readable_credentials(tmp_path, template):
    key = tmp_path / "service_account.json"
    key.write_text(json.dumps({"type": "service_account", "client_email": "spi@proyek.iam.gserviceaccount.com",
                               "private_key": "-----BEGIN PRIVATE KEY-----\nabc\n-----END PRIVATE KEY-----\n"}))
    key.chmod(0o644)
    path = _google_settings(tmp_path, template, key)
    rc, out = check(path)
    assert rc == 1
    assert line(out, "dapat dibaca semua pengguna (mode 644)").startswith("✗")
    assert "chmod 640" in fix_after(out, "dapat dibaca semua pengguna")
    assert line(out, "Master dan Daftar OPD: dilewati").startswith("–")   # Google is never called
    assert "BEGIN PRIVATE KEY" not in out


def test_missing_or_wrong_credentials(tmp_path, template):
    rc, out = check(_google_settings(tmp_path, template, tmp_path / "tidak-ada.json"))
    assert rc == 1 and line(out, "tidak ditemukan").startswith("✗")
    oauth_client = tmp_path / "client.json"
    oauth_client.write_text(json.dumps({"installed": {"client_id": "x"}}))
    oauth_client.chmod(0o600)
    (tmp_path / "spi" / "settings.yaml").unlink()
    import shutil
    shutil.rmtree(tmp_path / "spi")
    rc, out = check(_google_settings(tmp_path, template, oauth_client))
    assert rc == 1 and line(out, "bukan kunci service account").startswith("✗")


# ------------------------------------------------------------------ as a command
def test_jobs_check_as_a_command(tmp_path, template):
    path = deployment(tmp_path, template)
    run = subprocess.run([sys.executable, str(ROOT / "jobs.py"), "--check", "--config", str(path)],
                         cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout.startswith("Pemeriksaan sheets_sync") and "✓ Pengaturan valid" in run.stdout
    bad = subprocess.run([sys.executable, str(ROOT / "jobs.py"), "--check", "--config", str(tmp_path / "x.yaml")],
                         cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert bad.returncode == 1 and "✗ Pengaturan tidak valid" in bad.stdout


# ------------------------------------------------------------------ the season's dates
def test_deadline_in_the_past_is_a_warning(tmp_path, template):
    from sheets_sync.config import today_wib

    rc, out = check(deployment(tmp_path / "lama", template))           # the demo's deadline: 15/10/2023
    assert rc == 0, out
    assert line(out, "sudah lewat").startswith("!") and "tidak ada pengingat yang akan dikirim" in out
    soon = today_wib() + dt.timedelta(days=10)
    rc, out = check(deployment(tmp_path / "baru", template, deadline=soon.isoformat(), tahun="auto"))
    assert rc == 0 and "sudah lewat" not in out, out
    raw_path = deployment(tmp_path / "kosong", template, tahun="auto")
    raw = yaml.safe_load(raw_path.read_text())
    del raw["deadline"], raw["surat_edaran"]
    raw_path.write_text(yaml.safe_dump(raw, allow_unicode=True))
    rc, out = check(raw_path)
    assert f"15 Oktober {today_wib().year} (bawaan)" in out and "surat_edaran.nomor" in out


def test_google_wrong_master_id_says_what_to_check(tmp_path, emu):
    """A master_id with a typo: the check says the spreadsheet is not found or not shared
    and points at google.master_id, not only the code WB_NOT_FOUND."""
    path = make_demo(tmp_path / "g" / "settings.yaml", backend="google", n_opds=1, as_of=AS_OF)
    text = path.read_text(encoding="utf-8")
    good = next(x for x in text.splitlines() if "master_id:" in x).split(":", 1)[1].strip()
    path.write_text(text.replace(good, good[:-4] + "Xxxx"), encoding="utf-8")
    rc, out = check(path)
    assert rc == 1
    said = line(out, "Master (spreadsheet")
    assert said.startswith("✗") and "tidak dibagikan ke akun pekerja" in said and "google.master_id" in said, said
