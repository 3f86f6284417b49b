"""Logging that never shows a full phone number, an e-mail address or a secret.

Every record is masked when it is created (a log record factory), whoever logs
it and whatever handler it ends at (yagmail, for one, adds its own), and again by
a filter on the root handlers (exception text):

    +6281234567890 -> +62812****7890, budi.santoso@gmail.com -> b***@gmail.com,
    password=hunter2 -> password=***, Bearer ya29.abc -> Bearer ***,
    -----BEGIN PRIVATE KEY----- ... -----END PRIVATE KEY----- -> [kunci privat disamarkan],
    smtplib's "AUTH PLAIN <base64>" and the base64 lines of AUTH LOGIN -> ***.

smtplib's debug output (set_debuglevel) is printed, not logged; install() sends it
through logging so that the same masks apply.
"""
from __future__ import annotations

import logging
import re

# also "quoted"@domain and the full-width ＠ a phone keyboard gives
_EMAIL = re.compile(r'(?<![\w.+"-])(["\w.+-])["\w.+-]*[@\uff20]([\w-]+(?:\.[\w-]+)+)')
# 9+ digits, maybe with +, parentheses, any spaces (NBSP too), dots, dashes (WhatsApp's
# non-breaking hyphen too) or zero-width marks between them: phone-like; letters may touch
# it (WA081234567890). Not '/': a date and an hour (03/12/2026 14:08) are no phone.
_SEP = "\\s.\\-\u2010-\u2015\u2212\u200b-\u200d\u2060\ufeff()"
_PHONE = re.compile(r"(?<!\d)(\+?\(?\d[\d" + _SEP + r"]{7,}\d)(?!\d)")

# ------------------------------------------------------------------ secrets
_PRIVATE_KEY = re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?(?:-----END [A-Z ]*PRIVATE KEY-----|\Z)",
                          re.DOTALL)
_SECRET_WORDS = (r"password|passwd|pwd|secret|token|private_key|private_key_id|api_key|apikey")
# key=value, key: value, "key": "value", 'key': 'value' (also SMTP_PASSWORD=..., ?token=...)
# A key is tried only where a word starts (look-behind), not at every \b inside a long
# word: that made masking a 10,000-character word with dashes take seconds.
_KEY_VALUE = re.compile(
    r"""(?ix)
    (?P<key>["']?(?<![\w-])[\w-]*(?:""" + _SECRET_WORDS + r""")["']?)
    (?P<sep>\s*[:=]\s*)
    (?P<value>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|[^\s,;&)}\]]+)""")
_BEARER = re.compile(r"(?i)\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+")
_GOOGLE_TOKEN = re.compile(r"\b(ya29\.[\w.-]+|1//[\w-]{20,})")
_AUTH_CMD = re.compile(r"(?i)\b(AUTH\s+(?:PLAIN|LOGIN|XOAUTH2|CRAM-MD5|OAUTHBEARER))\s+[A-Za-z0-9+/=]+")
# smtplib debug: send: 'dXNlcg==\r\n' (the lone base64 lines of AUTH LOGIN and of a 334 reply)
_SMTP_B64 = re.compile(r"""(send:\s*b?['"])(?![A-Z]+\\r)([A-Za-z0-9+/]{4,}={0,2})(\\r\\n['"])""")
_SMTP_334 = re.compile(r"""(reply:\s*b?['"]334[ -])([A-Za-z0-9+/]{4,}={0,2})""")


# the examples our own messages give ("contoh spi@mukomukokab.go.id"): nobody's address,
# and masked they read as a garbled example
EXAMPLES = frozenset({"spi@mukomukokab.go.id", "nama@gmail.com", "nama@mukomukokab.go.id"})


def mask_email(m: re.Match) -> str:
    if m.group(0).casefold() in EXAMPLES:
        return m.group(0)
    return f"{m.group(1)}***@{m.group(2)}"


def mask_phone(m: re.Match) -> str:
    s = m.group(1)
    digits = re.sub(r"\D", "", s)
    if len(digits) < 9:
        return s
    return ("+" if s.startswith("+") else "") + digits[:5] + "****" + digits[-4:]


def _mask_value(m: re.Match) -> str:
    value = m.group("value")
    quote = value[0] if value[:1] in ("'", '"') else ""
    return f"{m.group('key')}{m.group('sep')}{quote}***{quote}"


def mask_secrets(text: str) -> str:
    text = _PRIVATE_KEY.sub("[kunci privat disamarkan]", text)
    text = _AUTH_CMD.sub(r"\1 ***", text)
    text = _SMTP_B64.sub(r"\1***\3", text)
    text = _SMTP_334.sub(r"\1***", text)
    text = _BEARER.sub(r"\1 ***", text)
    text = _GOOGLE_TOKEN.sub("***", text)
    return _KEY_VALUE.sub(_mask_value, text)


def mask(text) -> str:
    """Any text with its e-mail addresses, phone numbers and secrets masked: the one
    masking rule for logs, health.json, CLI output and error messages."""
    return _PHONE.sub(mask_phone, _EMAIL.sub(mask_email, mask_secrets(str(text))))


def mask_address(address) -> str:
    """One address: s***@gmail.com, enough to recognise it in a log, not to use it."""
    address = str(address or "").strip()
    local, at, domain = address.rpartition("@")
    return f"{local[:1]}***@{domain}" if at else "***"


def mask_addresses(addresses) -> str:
    return ", ".join(mask_address(a) for a in addresses) or "-"


def _mask_record(record: logging.LogRecord) -> None:
    if getattr(record, "_masked", False):
        return
    try:
        message = record.getMessage()
    except Exception:  # noqa: BLE001 - a broken record is still logged, masked as it is
        message = str(record.msg)
    record.msg, record.args = mask(message), None
    if record.exc_info and not record.exc_text:
        record.exc_text = mask(logging.Formatter().formatException(record.exc_info))
    elif record.exc_text:
        record.exc_text = mask(record.exc_text)
    if record.stack_info:
        record.stack_info = mask(record.stack_info)
    record._masked = True


class MaskingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_text and getattr(record, "_masked", False):
            record.exc_text = mask(record.exc_text)
        _mask_record(record)
        return True


_BASE_FACTORY = None


def _factory(*args, **kwargs) -> logging.LogRecord:
    record = _BASE_FACTORY(*args, **kwargs)
    _mask_record(record)
    return record


def _smtplib_debug_to_logging() -> None:
    """smtplib prints its debug output (the whole SMTP dialogue, AUTH included) to
    stderr; make it a log record like any other, so that it is masked."""
    import smtplib

    if getattr(smtplib.SMTP._print_debug, "_sheets_sync", False):
        return
    smtp_log = logging.getLogger("smtplib")

    def _print_debug(self, *args):
        smtp_log.debug(" ".join(str(a) for a in args))

    _print_debug._sheets_sync = True
    smtplib.SMTP._print_debug = _print_debug


# The admin reads these lines in the terminal and the journal: level names in Indonesian.
LEVEL_NAMES = {logging.DEBUG: "RINCI", logging.INFO: "INFO", logging.WARNING: "PERINGATAN",
               logging.ERROR: "GALAT", logging.CRITICAL: "KRITIS"}


def install(level=logging.INFO, fmt="%(asctime)s %(levelname)s %(message)s") -> None:
    """basicConfig + masking of every record (factory) + the filter on every root handler."""
    global _BASE_FACTORY
    for number, name in LEVEL_NAMES.items():
        logging.addLevelName(number, name)
    logging.basicConfig(level=level, format=fmt)
    root = logging.getLogger()
    root.setLevel(level)
    for h in root.handlers:
        if not any(isinstance(f, MaskingFilter) for f in h.filters):
            h.addFilter(MaskingFilter())
    if logging.getLogRecordFactory() is not _factory:
        _BASE_FACTORY = logging.getLogRecordFactory()
        logging.setLogRecordFactory(_factory)
    _smtplib_debug_to_logging()
