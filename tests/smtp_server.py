"""A real SMTP server for tests: aiosmtpd on 127.0.0.1, collecting what it accepts.

    with smtp_server() as server:          # or the `smtp` fixture in a test module
        ... send to server.port ...
        server.messages                    # [Received(mail_from, rcpt_tos, message)]
        server.refuse["dinkes@..."] = "550 5.1.1 no such user"   # per recipient (RCPT)
        server.data_reply = "451 4.3.0 try again later"           # every message (DATA)
"""
from __future__ import annotations

import email
import shutil
import socket
import ssl
import subprocess
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


def tls_files(folder) -> tuple[str, str] | None:
    """A self-signed certificate for 127.0.0.1 (cert.pem, key.pem), made with the
    openssl command; None if there is no openssl."""
    if not shutil.which("openssl"):
        return None
    cert, key = str(folder / "cert.pem"), str(folder / "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                    "-nodes", "-keyout", key, "-out", cert, "-days", "2", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
                   check=True, capture_output=True, timeout=30)
    return cert, key


def server_tls(cert: str, key: str) -> ssl.SSLContext:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(cert, key)
    return ctx


def password_check(user: str, password: str):
    """An aiosmtpd authenticator accepting one login."""
    def check(server, session, envelope, mechanism, auth_data):
        ok = isinstance(auth_data, LoginPassword) and auth_data.login == user.encode() \
            and auth_data.password == password.encode()
        return AuthResult(success=ok, handled=False)   # aiosmtpd answers 535 itself
    return check


def free_port() -> int:
    """A port nothing listens on (bound and released at once)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    raw: bytes

    @property
    def message(self) -> EmailMessage:
        return email.message_from_bytes(self.raw, policy=policy.default)

    def text(self) -> str:
        return self.message.get_body(("plain",)).get_content()

    def html(self) -> str:
        return self.message.get_body(("html",)).get_content()

    def all_text(self) -> str:
        """Headers and every decoded part: what a reader could ever see."""
        m = self.message
        parts = [f"{k}: {v}" for k, v in m.items()]
        for part in m.walk():
            if not part.is_multipart():
                parts.append(part.get_content())
        return "\n".join(parts)


class Collector:
    def __init__(self):
        self.messages: list[Received] = []
        self.refuse: dict[str, str] = {}       # address (lower case) -> reply to its RCPT
        self.data_reply: str | None = None     # a reply to DATA instead of accepting
        self.attempts = 0                      # DATA commands seen
        self.lock = threading.Lock()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        reply = self.refuse.get(address.lower())
        if reply:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.attempts += 1
            if self.data_reply:
                return self.data_reply
            self.messages.append(Received(envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return "250 Message accepted for delivery"


class Server:
    """kwargs go to aiosmtpd's Controller: ssl_context= (implicit TLS), tls_context=
    and require_starttls= (STARTTLS), authenticator= and auth_required= (login)."""

    def __init__(self, **kwargs):
        self.handler = Collector()
        self.port = free_port()
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port, **kwargs)

    @property
    def messages(self) -> list[Received]:
        return self.handler.messages

    @property
    def refuse(self) -> dict:
        return self.handler.refuse

    @property
    def data_reply(self):
        return self.handler.data_reply

    @data_reply.setter
    def data_reply(self, value):
        self.handler.data_reply = value

    def start(self):
        self.controller.start()
        return self

    def stop(self):
        self.controller.stop()


@contextmanager
def smtp_server(**kwargs):
    server = Server(**kwargs).start()
    try:
        yield server
    finally:
        server.stop()
