"""E-mail transports: `outbox` (.eml files in a folder) and `smtp`. The only module
that imports yagmail.

Messages are built with yagmail's own message preparation (`prepare_message`, the
step `yagmail.SMTP.send` runs after logging in), which needs no network. yagmail
would turn a plain-text body into HTML by itself, so the two bodies it prepares
are swapped for ours: a text/plain part and a text/html part rendered from the
templates.

Sending uses a yagmail client for the connection (SSL, STARTTLS or plain, login
with an app password or an OAuth2 file), then hands one message to the server
once. yagmail's own `send` retries after a disconnect with sleeps, which could
deliver a message twice; the caller records every attempt instead.

Nothing here logs or raises with a full e-mail address: `mask()` them.
"""
from __future__ import annotations

import datetime as dt
import email.charset
import email.policy
import hashlib
import os
import re
import smtplib
import socket
import ssl
from functools import lru_cache
from dataclasses import dataclass, field
from email.mime.text import MIMEText
from email.utils import format_datetime
from pathlib import Path

import yagmail
from yagmail.headers import resolve_addresses
from yagmail.message import prepare_message
from yagmail.utils import raw

from sheets_sync.config import WIB, ConfigError, shown
from sheets_sync.fileio import PRIVATE, atomic_write_bytes
from sheets_sync.logsafe import mask, mask_address

TRANSPORTS = ("outbox", "smtp")
SECURITY = {"ssl": 465, "starttls": 587, "none": 25}
EMAIL_RE = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
_VALID_EMAIL = re.compile(r"[^@\s,;<>]+@[^@\s,;<>]+\.[^@\s,;<>]+")
_MAIL_KEYS = {"transport", "host", "port", "security", "user", "password", "sender", "sender_name",
              "reply_to", "pause_seconds", "daily_cap", "timeout_seconds", "oauth2_file",
              "message_id_domain", "ca_file"}

_CRLF = email.policy.compat32.clone(linesep="\r\n", max_line_length=998)  # no folded Message-ID
_QP = email.charset.Charset("utf-8")
_QP.header_encoding = email.charset.QP
_QP.body_encoding = email.charset.QP


# ------------------------------------------------------------------ settings
@dataclass(frozen=True)
class MailConfig:
    transport: str = "outbox"
    host: str = ""
    port: int = 587
    security: str = "starttls"
    user: str = ""
    password: str = field(default="", repr=False)   # from the environment only
    oauth2_file: str = ""
    sender: str = ""
    sender_name: str = "Inspektorat Daerah"
    reply_to: tuple[str, ...] = ()
    pause_seconds: float = 1.0
    daily_cap: int = 400
    timeout_seconds: float = 30.0
    message_id_domain: str = "sheets-sync.local"
    ca_file: str = ""          # extra CA bundle for a relay with a private certificate


def _emails(value, key: str) -> tuple[str, ...]:
    if value in (None, ""):
        return ()
    items = value if isinstance(value, (list, tuple)) else re.split(r"[,;\s]+", str(value))
    out = tuple(str(v).strip() for v in items if str(v).strip())
    bad = [v for v in out if not _VALID_EMAIL.fullmatch(v)]
    if bad:
        raise ConfigError(f"{key}: '{shown(bad[0])}' bukan alamat e-mail yang benar, contoh spi@mukomukokab.go.id.")
    return out


def _number(raw: dict, key: str, default, low, high, kind=float):
    value = raw.get(key, default)
    try:
        if isinstance(value, bool):
            raise ValueError
        number = kind(value)
        if kind is int and str(value).strip() != str(number):
            raise ValueError
    except (TypeError, ValueError):
        raise ConfigError(f"mail.{key}: '{shown(value)}' harus berupa angka {low}–{high}.") from None
    if not low <= number <= high:
        raise ConfigError(f"mail.{key}: '{shown(value)}' di luar batas; isi angka {low}–{high}.")
    return number


def mail_config(settings) -> MailConfig:
    """MailConfig from settings.mail (already merged with SMTP_* / MAIL_TRANSPORT from
    the environment and .env), checked, with Indonesian messages."""
    raw_cfg = dict(settings.mail or {})
    unknown = sorted(set(raw_cfg) - _MAIL_KEYS)
    if unknown:
        raise ConfigError(f"mail: kunci tidak dikenal: {', '.join(unknown)}. "
                          f"Kunci yang dikenal: {', '.join(sorted(_MAIL_KEYS - {'password'}))}.")
    transport = shown(raw_cfg.get("transport") or "outbox").strip().lower()
    if transport not in TRANSPORTS:
        raise ConfigError(f"mail.transport: '{shown(raw_cfg.get('transport'))}' tidak dikenal; pilihan: outbox, smtp.")
    security = shown(raw_cfg.get("security") or "starttls").strip().lower()
    if security not in SECURITY:
        raise ConfigError(f"mail.security (SMTP_SECURITY): '{shown(raw_cfg.get('security'))}' tidak dikenal; "
                          f"pilihan: ssl (port 465), starttls (port 587), none (relay lokal).")
    port = _number(raw_cfg, "port", SECURITY[security], 1, 65535, int)
    insp = settings.inspektorat or {}
    insp_mail = _emails(insp.get("email"), "inspektorat.email")
    user = str(raw_cfg.get("user") or "").strip()
    sender = str(raw_cfg.get("sender") or user or (insp_mail[0] if insp_mail else "")).strip()
    if not sender:
        raise ConfigError("mail.sender: alamat pengirim belum diisi, contoh sender: spi@mukomukokab.go.id.")
    _emails(sender, "mail.sender")
    oauth2, ca_file = (_path(settings, raw_cfg.get(k)) for k in ("oauth2_file", "ca_file"))
    cfg = MailConfig(
        transport=transport, host=str(raw_cfg.get("host") or "").strip(), port=port, security=security,
        user=user, password=str(raw_cfg.get("password") or ""), oauth2_file=oauth2, sender=sender,
        sender_name=str(raw_cfg.get("sender_name") or insp.get("nama") or "Inspektorat Daerah").strip(),
        reply_to=_emails(raw_cfg.get("reply_to"), "mail.reply_to") or insp_mail,
        pause_seconds=_number(raw_cfg, "pause_seconds", 1.0, 0, 60),
        daily_cap=_number(raw_cfg, "daily_cap", 400, 1, 100000, int),
        timeout_seconds=_number(raw_cfg, "timeout_seconds", 30, 1, 600),
        message_id_domain=str(raw_cfg.get("message_id_domain") or sender.rpartition("@")[2]
                              or "sheets-sync.local").strip(),
        ca_file=ca_file,
    )
    if transport == "smtp":
        if not cfg.host:
            raise ConfigError("mail.host (atau SMTP_HOST) wajib diisi untuk transport smtp, "
                              "contoh smtp.gmail.com.")
        if cfg.user and not cfg.password and not cfg.oauth2_file:
            raise ConfigError("SMTP_PASSWORD belum diisi. Tulis di variabel lingkungan atau berkas .env "
                              "(untuk Gmail: sandi aplikasi), atau isi mail.oauth2_file.")
        for key, value in (("oauth2_file", cfg.oauth2_file), ("ca_file", cfg.ca_file)):
            if value and not Path(value).is_file():
                raise ConfigError(f"mail.{key}: berkas {value} tidak ditemukan.")
    return cfg


def _path(settings, value) -> str:
    """A path in the settings, relative to the settings file's folder."""
    value = str(value or "").strip()
    return str((Path(settings.path).parent / value).resolve()) if value else ""


# ------------------------------------------------------------------ messages
@dataclass(frozen=True)
class Message:
    to: tuple[str, ...]
    subject: str
    text: str
    html: str
    message_id: str
    cc: tuple[str, ...] = ()
    date: dt.datetime | None = None
    headers: dict = field(default_factory=dict, hash=False, compare=False)

    @property
    def recipients(self) -> tuple[str, ...]:
        """Envelope recipients: To then Cc, each address once."""
        seen, out = set(), []
        for a in self.to + self.cc:
            if a.casefold() not in seen:
                seen.add(a.casefold())
                out.append(a)
        return tuple(out)


def build(cfg: MailConfig, msg: Message) -> bytes:
    """The RFC 5322 bytes of a message, prepared by yagmail (no network)."""
    to = list(msg.to)
    cc = [a for a in msg.cc if a.casefold() not in {t.casefold() for t in to}]
    addresses = resolve_addresses(cfg.sender, cfg.sender_name, to, cc or None, None)
    when = (msg.date or dt.datetime.now(WIB)).astimezone(WIB)
    headers = {"Date": format_datetime(when), "Auto-Submitted": "auto-generated",
               "X-Auto-Response-Suppress": "All", **msg.headers}
    if cfg.reply_to:
        headers["Reply-To"] = ", ".join(cfg.reply_to)
    mime = prepare_message(cfg.sender, cfg.sender_name, addresses, msg.subject, [raw(msg.text)],
                           None, headers, "utf-8", False, msg.message_id, True, None)
    _swap_bodies(mime, msg.text, msg.html)
    return mime.as_bytes(policy=_CRLF)   # RFC 5322 line ends; smtplib sends bytes as they are


def _swap_bodies(mime, text: str, html: str) -> None:
    """yagmail derives both bodies from one content; put ours in their places."""
    done = set()
    for parent in mime.walk():
        if not parent.is_multipart():
            continue
        parts = parent.get_payload()
        for i, part in enumerate(parts):
            kind = part.get_content_type()
            if part.is_multipart() or kind not in ("text/plain", "text/html"):
                continue
            body, subtype = (text, "plain") if kind == "text/plain" else (html, "html")
            parts[i] = MIMEText(body, subtype, _QP)
            done.add(kind)
    if done != {"text/plain", "text/html"}:  # yagmail changed its layout: fail loudly, not silently
        raise RuntimeError("struktur pesan yagmail tidak dikenali")


def eml_name(message_id: str) -> str:
    """File name of a message in the outbox: its Message-ID, made file-safe."""
    local = re.sub(r"[^A-Za-z0-9._+-]", "_", message_id.strip("<>").partition("@")[0])
    if len(local) > 120:   # a file name has 255 bytes at most: the head, and a digest of the rest
        local = local[:100] + "." + hashlib.sha256(local.encode()).hexdigest()[:16]
    return local + ".eml"


# ------------------------------------------------------------------ transports
class SendError(Exception):
    """A message not accepted. `connect`: the server could not be reached at all
    (stop trying others this run); `code`: the SMTP reply code, if any."""

    def __init__(self, reason: str, *, connect: bool = False, code: int | None = None):
        super().__init__(reason)
        self.reason, self.connect, self.code = reason, connect, code

    @property
    def temporary(self) -> bool:
        return self.code is None or 400 <= self.code < 500


class OutboxTransport:
    """Writes each message as an .eml file (atomically: a temporary file, then a
    rename), so a file that exists is a whole message."""
    name = "outbox"

    def __init__(self, cfg: MailConfig, folder: Path):
        self.cfg, self.folder = cfg, Path(folder)

    def path(self, message_id: str) -> Path:
        return self.folder / eml_name(message_id)

    def delivered(self, message_id: str) -> bool:
        return self.path(message_id).is_file()

    def send(self, msg: Message) -> dict:
        data = build(self.cfg, msg)
        try:
            atomic_write_bytes(self.path(msg.message_id), data, mode=PRIVATE)
        except OSError as e:
            raise SendError(f"folder outbox tidak dapat ditulis: {e.strerror or e}", connect=True) from None
        return {}

    def close(self) -> None:
        pass


class SmtpTransport:
    """One connection per run, opened on the first message."""
    name = "smtp"

    def __init__(self, cfg: MailConfig):
        self.cfg = cfg
        self.client = None

    def delivered(self, message_id: str) -> bool:  # an SMTP server cannot be asked
        return False

    def make_client(self):
        """A yagmail client (no connection yet). TLS certificates are verified:
        smtplib alone would accept any certificate."""
        cfg = self.cfg
        tls = _tls_context(cfg.ca_file or None, _stamp_of(cfg.ca_file))
        starttls = cfg.security == "starttls" and {"context": tls}
        if starttls and cfg.oauth2_file:
            starttls = True     # yagmail's OAuth2 login only starts TLS for True (certificate not verified)
        kwargs = dict(host=cfg.host, port=cfg.port, smtp_ssl=cfg.security == "ssl", smtp_starttls=starttls,
                      smtp_skip_login=not (cfg.user or cfg.oauth2_file),
                      soft_email_validation=False, timeout=cfg.timeout_seconds)
        if cfg.security == "ssl":
            kwargs["context"] = tls
        if cfg.oauth2_file:
            return yagmail.SMTP(cfg.user or None, oauth2_file=cfg.oauth2_file, **kwargs)
        return yagmail.SMTP(cfg.user or cfg.sender, cfg.password or None, **kwargs)

    def _connect(self):
        if self.client is None:
            client = self.make_client()
            try:
                client.login()
            except smtplib.SMTPAuthenticationError as e:
                raise SendError(f"login SMTP ditolak ({e.smtp_code}); periksa SMTP_USER dan "
                                f"SMTP_PASSWORD (sandi aplikasi)", connect=True, code=e.smtp_code) from None
            except (smtplib.SMTPException, OSError) as e:
                raise SendError(f"server SMTP {self.cfg.host}:{self.cfg.port} tidak dapat dihubungi "
                                f"({_describe(e)})", connect=True) from None
            self.client = client
        return self.client

    def send(self, msg: Message) -> dict:
        """Hand one message to the server. Returns refused recipients (masked ->
        reply) when the server took it for some of them; raises SendError when it
        took it for none."""
        data = build(self.cfg, msg)
        client = self._connect()
        try:
            refused = client.smtp.sendmail(self.cfg.sender, list(msg.recipients), data)
        except smtplib.SMTPRecipientsRefused as e:
            codes = [c for c, _ in e.recipients.values()]
            raise SendError(f"semua penerima ditolak: {_refusals(e.recipients)}",
                            code=min(codes) if codes else None) from None
        except smtplib.SMTPResponseException as e:  # sender refused, data refused, 4xx/5xx
            raise SendError(f"server menolak ({e.smtp_code} {mask(_text(e.smtp_error))})",
                            code=e.smtp_code) from None
        except (smtplib.SMTPException, OSError) as e:  # disconnected, timeout
            self.close()
            raise SendError(f"koneksi SMTP terputus ({_describe(e)})") from None
        return {mask_address(k): v for k, v in (refused or {}).items()}

    def close(self) -> None:
        if self.client is not None:
            try:
                self.client.close()
            except Exception:  # noqa: BLE001 - closing a broken connection
                pass
            self.client = None


@lru_cache(maxsize=4)
def _tls_context(ca_file: str | None, stamp) -> ssl.SSLContext:
    """One verifying TLS context per CA bundle (and its version on disk): loading the
    system's certificates costs tens of milliseconds, and a context serves every
    connection."""
    return ssl.create_default_context(cafile=ca_file)


def _stamp_of(path: str) -> tuple | None:
    try:
        st = os.stat(path) if path else None
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size) if st else None


def open_transport(cfg: MailConfig, settings):
    if cfg.transport == "smtp":
        return SmtpTransport(cfg)
    return OutboxTransport(cfg, settings.outbox_dir)


def _text(value) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def _refusals(recipients: dict) -> str:
    return "; ".join(f"{mask_address(a)}: {c} {mask(_text(t))}" for a, (c, t) in recipients.items())


def _describe(e: BaseException) -> str:
    if isinstance(e, socket.timeout):
        return "waktu habis"
    if isinstance(e, ConnectionRefusedError):
        return "koneksi ditolak"
    return mask(f"{type(e).__name__}: {e}")[:200]
