"""Logging that never shows a full phone number or e-mail address.

A filter on the root handlers rewrites every record, whoever logged it:
+6281234567890 -> +62812****7890, budi.santoso@gmail.com -> b***@gmail.com.
"""
from __future__ import annotations

import logging
import re

_EMAIL = re.compile(r"(?<![\w.+-])([\w.+-])[\w.+-]*@([\w-]+(?:\.[\w-]+)+)")
# 9+ digits, maybe with +, spaces, dots or dashes between them: phone-like.
_PHONE = re.compile(r"(?<![\w])(\+?\d[\d .\-]{7,}\d)(?![\w])")


def mask_email(m: re.Match) -> str:
    return f"{m.group(1)}***@{m.group(2)}"


def mask_phone(m: re.Match) -> str:
    s = m.group(1)
    digits = re.sub(r"\D", "", s)
    if len(digits) < 9:
        return s
    return ("+" if s.startswith("+") else "") + digits[:5] + "****" + digits[-4:]


def mask(text: str) -> str:
    return _PHONE.sub(mask_phone, _EMAIL.sub(mask_email, text))


class MaskingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a broken record is still logged, masked as it is
            message = str(record.msg)
        record.msg, record.args = mask(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = mask(logging.Formatter().formatException(record.exc_info))
        elif record.exc_text:
            record.exc_text = mask(record.exc_text)
        return True


def install(level=logging.INFO, fmt="%(asctime)s %(levelname)s %(message)s") -> None:
    """basicConfig + the masking filter on every root handler."""
    logging.basicConfig(level=level, format=fmt)
    root = logging.getLogger()
    root.setLevel(level)
    for h in root.handlers:
        if not any(isinstance(f, MaskingFilter) for f in h.filters):
            h.addFilter(MaskingFilter())
