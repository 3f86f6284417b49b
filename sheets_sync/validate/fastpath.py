"""Column-at-a-time accept-only checks for phones and e-mails, on Arrow (RE2).

Each function takes stripped strings and returns, per string, the normalised
value when it is *certainly* fine, or None. None only means "ask fields.py": the
per-value rules (phonenumbers, email-validator) still decide every value not
accepted here. The patterns are the ones in fields.py's fast paths, written for
RE2 (ASCII classes spelled out, no look-ahead), so an accepted value is one the
authority accepts with the same normalised form. Tests and
benchmarks/validate_bench.py compare against the per-row reference.
"""
from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from sheets_sync.validate.fields import ID_METADATA, SPECIAL_USE_DOMAINS

_M = ID_METADATA.mobile.national_number_pattern.replace(r"\d", "[0-9]")
_LOCAL = r"[A-Za-z0-9_+\-]+(?:\.[A-Za-z0-9_+\-]+)*"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9\-]{0,61}[A-Za-z0-9])?"
_EMAIL = rf"^(?P<local>{_LOCAL})@(?P<domain>(?:{_LABEL}\.)+[A-Za-z]{{2,63}})$"
_SPECIAL = r"(?i)\.(?:" + "|".join(sorted(SPECIAL_USE_DOMAINS)) + r")$"


def phones(texts: list) -> list:
    """+62 form of each plainly written Indonesian mobile number, else None."""
    a = pa.array(texts, type=pa.string())
    shape = pc.match_substring_regex(a, r"^\+?[0-9 .\-()]+$")
    # a number exported as text ('81234567890.0') is cleaned by fields.py first
    shape = pc.and_(shape, pc.invert(pc.match_substring_regex(a, r"^\+?[0-9]+\.0+$")))
    d = pc.replace_substring_regex(a, r"[^0-9]", "")
    plus = pc.starts_with(a, "+")
    ok = pc.and_(shape, pc.if_else(plus, pc.match_substring_regex(d, f"^62(?:{_M})$"),
                                   pc.match_substring_regex(d, f"^(?:62|0)?(?:{_M})$")))
    nsn = pc.replace_substring_regex(d, r"^(?:62|0)", "", max_replacements=1)
    out = pc.if_else(pc.fill_null(ok, False), pc.binary_join_element_wise("+62", nsn, ""), None)
    return out.to_pylist()


def emails(texts: list) -> list:
    """local@domain-lower-cased for each plain ASCII address, else None."""
    a = pa.array(texts, type=pa.string())
    parts = pc.extract_regex(a, _EMAIL)           # null where the shape does not match
    local, domain = pc.struct_field(parts, "local"), pc.struct_field(parts, "domain")
    ok = pc.and_(pc.is_valid(parts), pc.invert(pc.match_substring_regex(a, r"[@.][A-Za-z0-9\-]{2}--")))
    ok = pc.and_(ok, pc.less_equal(pc.utf8_length(local), 64))
    ok = pc.and_(ok, pc.less_equal(pc.utf8_length(a), 254))
    ok = pc.and_(ok, pc.invert(pc.match_substring_regex(domain, _SPECIAL)))
    joined = pc.binary_join_element_wise(local, pc.utf8_lower(domain), "@")
    return pc.if_else(pc.fill_null(ok, False), joined, None).to_pylist()
