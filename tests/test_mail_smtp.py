"""mail.py against a real SMTP server (aiosmtpd on 127.0.0.1): message layout,
outbox files, plain / implicit TLS / STARTTLS with login, refusals and a server
that is down. No sleeps."""
from __future__ import annotations

import datetime as dt
import email
import re
import sys
from email import policy
from pathlib import Path

import pytest

from sheets_sync import mail
from sheets_sync.config import WIB

sys.path.insert(0, str(Path(__file__).resolve().parent))   # tests/ helpers, whatever the import mode
from smtp_server import free_port, password_check, server_tls, smtp_server, tls_files  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SENDER = "spi@contoh.mukomukokab.go.id"


def config(port: int, **kw) -> mail.MailConfig:
    base = dict(transport="smtp", host="127.0.0.1", port=port, security="none", sender=SENDER,
                sender_name="Inspektorat Daerah Kabupaten Mukomuko", reply_to=("inspektorat@contoh.go.id",),
                pause_seconds=0, timeout_seconds=10)
    return mail.MailConfig(**{**base, **kw})


def message(**kw) -> mail.Message:
    base = dict(to=("dinkes@contoh.go.id",), subject="[SPI 2023] Dinas Kesehatan: uji ✓",
                text="Yth. Dinas Kesehatan,\nbaris dua ✓\n", html="<p>Yth. <b>Dinas Kesehatan</b> ✓</p>\n",
                message_id="<spi-2023-DINKES-h-3-20231012.0a1b2c3d@contoh.mukomukokab.go.id>",
                cc=("kepala@contoh.go.id", "dinkes@contoh.go.id"),
                date=dt.datetime(2023, 10, 12, 8, 0, tzinfo=WIB))
    return mail.Message(**{**base, **kw})


def parse(data: bytes):
    return email.message_from_bytes(data, policy=policy.default)


def body(m, kind: str) -> str:
    return m.get_body((kind,)).get_content().replace("\r\n", "\n")


def test_message_built_by_yagmail_has_both_bodies_and_headers():
    data = mail.build(config(25), message())
    m = parse(data)
    assert m["From"].addresses[0].display_name == "Inspektorat Daerah Kabupaten Mukomuko"
    assert m["From"].addresses[0].addr_spec == SENDER
    assert [a.addr_spec for a in m["To"].addresses] == ["dinkes@contoh.go.id"]
    assert [a.addr_spec for a in m["Cc"].addresses] == ["kepala@contoh.go.id"]   # no address twice
    assert m["Reply-To"] == "inspektorat@contoh.go.id"
    assert m["Message-ID"] == "<spi-2023-DINKES-h-3-20231012.0a1b2c3d@contoh.mukomukokab.go.id>"
    assert m["Date"] == "Thu, 12 Oct 2023 08:00:00 +0700"
    assert m["Subject"] == "[SPI 2023] Dinas Kesehatan: uji ✓"
    assert body(m, "plain") == "Yth. Dinas Kesehatan,\nbaris dua ✓\n"
    assert body(m, "html") == "<p>Yth. <b>Dinas Kesehatan</b> ✓</p>\n"
    lines = data.split(b"\r\n")
    assert all(b"\n" not in line for line in lines) and max(map(len, lines)) <= 998
    assert message().recipients == ("dinkes@contoh.go.id", "kepala@contoh.go.id")


def test_outbox_writes_whole_eml_named_by_message_id(tmp_path):
    t = mail.OutboxTransport(config(25, transport="outbox"), tmp_path / "outbox")
    msg = message()
    assert not t.delivered(msg.message_id)
    t.send(msg)
    assert t.delivered(msg.message_id)
    files = list((tmp_path / "outbox").iterdir())
    assert [f.name for f in files] == ["spi-2023-DINKES-h-3-20231012.0a1b2c3d.eml"]
    assert body(parse(files[0].read_bytes()), "html") == msg.html


def test_smtp_delivers_over_one_connection():
    with smtp_server() as server:
        t = mail.SmtpTransport(config(server.port))
        assert t.send(message()) == {}
        assert t.send(message(to=("dinsos@contoh.go.id",), cc=(), message_id="<spi-2@x.id>")) == {}
        t.close()
    first, second = server.messages
    assert first.mail_from == SENDER
    assert first.rcpt_tos == ["dinkes@contoh.go.id", "kepala@contoh.go.id"]
    assert second.rcpt_tos == ["dinsos@contoh.go.id"]
    assert body(first.message, "plain") == message().text and body(first.message, "html") == message().html


def test_refusals_are_reported_masked():
    with smtp_server() as server:
        t = mail.SmtpTransport(config(server.port))
        server.refuse.update({"dinkes@contoh.go.id": "550 5.1.1 <dinkes@contoh.go.id> unknown",
                              "kepala@contoh.go.id": "550 5.1.1 unknown"})
        with pytest.raises(mail.SendError) as e:
            t.send(message())
        assert e.value.code == 550 and not e.value.temporary and not e.value.connect
        assert "dinkes@" not in e.value.reason and "d***@contoh.go.id" in e.value.reason
        server.refuse.update({"dinkes@contoh.go.id": "451 4.7.1 later", "kepala@contoh.go.id": "451 4.7.1 later"})
        with pytest.raises(mail.SendError) as e:
            t.send(message())
        assert e.value.code == 451 and e.value.temporary
        server.refuse.pop("kepala@contoh.go.id")          # one of two refused: delivered to the other
        refused = t.send(message())
        assert list(refused) == ["d***@contoh.go.id"] and refused["d***@contoh.go.id"][0] == 451
        server.refuse.clear()
        server.data_reply = "554 5.7.1 message rejected"
        with pytest.raises(mail.SendError) as e:
            t.send(message())
        assert e.value.code == 554
        server.data_reply = None
        t.send(message())                                  # the same connection still works
        t.close()
    assert [m.rcpt_tos for m in server.messages] == [["kepala@contoh.go.id"],
                                                      ["dinkes@contoh.go.id", "kepala@contoh.go.id"]]


def test_server_down_is_a_connect_error():
    t = mail.SmtpTransport(config(free_port()))
    with pytest.raises(mail.SendError) as e:
        t.send(message())
    assert e.value.connect and "tidak dapat dihubungi" in e.value.reason


@pytest.fixture(scope="module")
def tls(tmp_path_factory):
    files = tls_files(tmp_path_factory.mktemp("tls"))
    if files is None:
        pytest.skip("openssl tidak tersedia")
    return files


def test_implicit_tls_verifies_the_certificate(tls):
    cert, key = tls
    with smtp_server(ssl_context=server_tls(cert, key)) as server:
        t = mail.SmtpTransport(config(server.port, security="ssl", ca_file=cert))
        t.send(message())
        t.close()
        untrusted = mail.SmtpTransport(config(server.port, security="ssl"))
        with pytest.raises(mail.SendError) as e:
            untrusted.send(message())
        assert e.value.connect
    assert len(server.messages) == 1


def test_starttls_with_login(tls):
    cert, key = tls
    kwargs = dict(tls_context=server_tls(cert, key), require_starttls=True, auth_required=True,
                  authenticator=password_check("spi.mukomuko@gmail.com", "abcd efgh ijkl mnop"))
    with smtp_server(**kwargs) as server:
        ok = config(server.port, security="starttls", ca_file=cert, user="spi.mukomuko@gmail.com",
                    password="abcd efgh ijkl mnop")
        t = mail.SmtpTransport(ok)
        t.send(message())
        t.close()
        wrong = mail.SmtpTransport(config(server.port, security="starttls", ca_file=cert,
                                          user="spi.mukomuko@gmail.com", password="salah"))
        with pytest.raises(mail.SendError) as e:
            wrong.send(message())
        assert e.value.connect and "login SMTP ditolak" in e.value.reason and "salah" not in e.value.reason
    assert len(server.messages) == 1 and server.messages[0].mail_from == SENDER


@pytest.mark.parametrize("security, port, ssl_, starttls, login", [
    ("ssl", 465, True, False, True), ("starttls", 587, False, True, True), ("none", 25, False, False, False),
])
def test_security_maps_to_yagmail(security, port, ssl_, starttls, login):
    user = "spi.mukomuko@gmail.com" if login else ""
    client = mail.SmtpTransport(config(port, security=security, user=user, password="x" if login else "")).make_client()
    assert client.ssl is ssl_ and bool(client.starttls) is starttls and client.port == str(port)
    assert client.smtp_skip_login is (not login)
    assert ("context" in client.kwargs) is ssl_            # certificates verified on SSL ...
    if starttls:
        assert client.starttls["context"].verify_mode.name == "CERT_REQUIRED"   # ... and on STARTTLS


def test_only_mail_imports_yagmail():
    hits = [p.name for p in (ROOT / "sheets_sync").rglob("*.py")
            if re.search(r"^\s*(import|from)\s+yagmail", p.read_text(encoding="utf-8"), re.M)]
    assert hits == ["mail.py"]
