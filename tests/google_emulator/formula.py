"""A deliberately small formula evaluator.

Enough for tests: arithmetic, comparisons, ``&``, cell and range references
(optionally on another sheet) and a handful of common functions.  Anything
else evaluates to ``#NAME?``.  The formula text is always kept, so the
FORMULA render option returns exactly what was written.
"""
from __future__ import annotations

import datetime as _dt
import math
import re
from typing import Any, Callable, List, Optional

from . import a1
from .values import (FormulaError, date_to_serial, datetime_to_serial, format_number, is_number,
                     locale_info, parse_number, serial_to_datetime)

_TOKEN = re.compile(r"""
    (?P<ws>\s+)
  | (?P<str>"(?:[^"]|"")*")
  | (?P<err>\#REF!|\#N/A|\#DIV/0!|\#VALUE!|\#NAME\?|\#NUM!|\#NULL!|\#ERROR!)
  | (?P<ref>(?:(?:'(?:[^']|'')+'|[A-Za-z_][A-Za-z0-9_]*)!)?
        (?:\$?[A-Za-z]{1,3}\$?\d+(?::\$?[A-Za-z]{1,3}\$?\d+)?
          |\$?[A-Za-z]{1,3}:\$?[A-Za-z]{1,3}
          |\$?\d+:\$?\d+)(?![A-Za-z0-9_(]))
  | (?P<num>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)
  | (?P<name>[A-Za-z_][A-Za-z0-9_.]*)
  | (?P<op><>|<=|>=|[-+*/^&=<>%(),;{}])
""", re.X)


class _Range:
    __slots__ = ("rows",)

    def __init__(self, rows: List[List[Any]]):
        self.rows = rows

    def flat(self):
        for row in self.rows:
            for v in row:
                yield v

    def first(self):
        return self.rows[0][0] if self.rows and self.rows[0] else None


class _Err(Exception):
    def __init__(self, err: FormulaError):
        self.err = err


class _ParseError(_Err):
    def __init__(self):
        super().__init__(FormulaError("#ERROR!", "Formula parse error."))


def _tokenize(text: str):
    pos = 0
    out = []
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m:
            raise _ParseError()
        pos = m.end()
        kind = m.lastgroup
        if kind == "ws":
            continue
        out.append((kind, m.group(kind)))
    out.append(("end", ""))
    return out


def _num(v: Any) -> float:
    if isinstance(v, _Range):
        v = v.first()
    if isinstance(v, FormulaError):
        raise _Err(v)
    if v is None or v == "":
        return 0
    if isinstance(v, bool):
        return 1 if v else 0
    if is_number(v):
        return v
    parsed = parse_number(str(v), locale_info("en_US"))
    if parsed is None:
        raise _Err(FormulaError("#VALUE!", f"Function expects number values. But '{v}' is a text and cannot be coerced to a number."))
    return parsed[0]


def _text(v: Any) -> str:
    if isinstance(v, _Range):
        v = v.first()
    if isinstance(v, FormulaError):
        raise _Err(v)
    if v is None:
        return ""
    if isinstance(v, bool):
        return "TRUE" if v else "FALSE"
    if is_number(v):
        return format_number(v, None, locale_info("en_US"))
    return str(v)


def _bool(v: Any) -> bool:
    if isinstance(v, _Range):
        v = v.first()
    if isinstance(v, FormulaError):
        raise _Err(v)
    if isinstance(v, str):
        if v.upper() in ("TRUE", "FALSE"):
            return v.upper() == "TRUE"
        raise _Err(FormulaError("#VALUE!"))
    return bool(_num(v))


def _norm(v: Any) -> Any:
    if isinstance(v, float) and v.is_integer() and abs(v) < 2 ** 53:
        return int(v)
    return v


def _compare(a: Any, b: Any, op: str) -> bool:
    def key(v):
        if v is None:
            return (0, 0)
        if isinstance(v, bool):
            return (2, int(v))
        if is_number(v):
            return (0, v)
        return (1, str(v).lower())
    ka, kb = key(a), key(b)
    if a is None and isinstance(b, str):
        ka = (1, "")
    if b is None and isinstance(a, str):
        kb = (1, "")
    return {"=": ka == kb, "<>": ka != kb, "<": ka < kb, ">": ka > kb,
            "<=": ka <= kb, ">=": ka >= kb}[op]


class Evaluator:
    """Evaluates one formula.  ``ctx`` must provide ``value(sheet, r, c)`` and
    ``range(sheet, r0, r1, c0, c1)`` where ``sheet`` is a title or None."""

    def __init__(self, ctx):
        self.ctx = ctx

    def evaluate(self, formula: str) -> Any:
        text = formula[1:] if formula.startswith("=") else formula
        try:
            self.tokens = _tokenize(text)
            self.pos = 0
            value = self._expr()
            if self.tokens[self.pos][0] != "end":
                raise _ParseError()
        except _Err as e:
            return e.err
        except RecursionError:
            return FormulaError("#REF!", "Circular dependency detected.")
        except (ZeroDivisionError,):
            return FormulaError("#DIV/0!", "Function DIVIDE parameter 2 cannot be zero.")
        except (OverflowError, ValueError):
            return FormulaError("#NUM!")
        if isinstance(value, _Range):
            value = value.first()
        if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
            return FormulaError("#NUM!")
        return _norm(value)

    # -- parser ---------------------------------------------------------------
    def _peek(self):
        return self.tokens[self.pos]

    def _take(self):
        tok = self.tokens[self.pos]
        self.pos += 1
        return tok

    def _expect(self, text):
        tok = self._take()
        if tok[1] != text:
            raise _ParseError()

    def _expr(self):
        left = self._concat()
        while self._peek()[0] == "op" and self._peek()[1] in ("=", "<>", "<", ">", "<=", ">="):
            op = self._take()[1]
            right = self._concat()
            left = _compare(self._scalar(left), self._scalar(right), op)
        return left

    def _scalar(self, v):
        if isinstance(v, _Range):
            v = v.first()
        if isinstance(v, FormulaError):
            raise _Err(v)
        return v

    def _concat(self):
        left = self._additive()
        while self._peek() == ("op", "&"):
            self._take()
            right = self._additive()
            left = _text(left) + _text(right)
        return left

    def _additive(self):
        left = self._term()
        while self._peek()[0] == "op" and self._peek()[1] in "+-":
            op = self._take()[1]
            right = self._term()
            left = _num(left) + _num(right) if op == "+" else _num(left) - _num(right)
        return left

    def _term(self):
        left = self._power()
        while self._peek()[0] == "op" and self._peek()[1] in "*/":
            op = self._take()[1]
            right = self._power()
            if op == "*":
                left = _num(left) * _num(right)
            else:
                d = _num(right)
                if d == 0:
                    raise _Err(FormulaError("#DIV/0!", "Function DIVIDE parameter 2 cannot be zero."))
                left = _num(left) / d
        return left

    def _power(self):
        left = self._unary()
        while self._peek() == ("op", "^"):
            self._take()
            right = self._unary()
            left = float(_num(left)) ** _num(right)
        return left

    def _unary(self):
        tok = self._peek()
        if tok == ("op", "-"):
            self._take()
            return -_num(self._unary())
        if tok == ("op", "+"):
            self._take()
            return _num(self._unary())
        return self._postfix()

    def _postfix(self):
        v = self._primary()
        while self._peek() == ("op", "%"):
            self._take()
            v = _num(v) / 100.0
        return v

    def _primary(self):
        kind, text = self._take()
        if kind == "num":
            return float(text) if any(c in text for c in ".eE") else int(text)
        if kind == "str":
            return text[1:-1].replace('""', '"')
        if kind == "err":
            return FormulaError(text.upper())
        if kind == "ref":
            return self._ref(text)
        if kind == "name":
            up = text.upper()
            if self._peek() == ("op", "("):
                self._take()
                args = []
                if self._peek() != ("op", ")"):
                    while True:
                        try:
                            args.append(self._expr())
                        except _ParseError:
                            raise
                        except _Err as e:  # an error value is an argument like any other (IFERROR...)
                            args.append(e.err)
                        if self._peek()[1] in (",", ";"):
                            self._take()
                            continue
                        break
                self._expect(")")
                return self._call(up, args)
            if up in ("TRUE", "FALSE"):
                return up == "TRUE"
            return FormulaError("#NAME?", f"Unknown range name: '{text}'.")
        if (kind, text) == ("op", "("):
            v = self._expr()
            self._expect(")")
            return v
        raise _ParseError()

    def _ref(self, text):
        sheet = None
        if "!" in text:
            sheet, _, cells = text.rpartition("!")
            if sheet.startswith("'"):
                sheet = sheet[1:-1].replace("''", "'")
        else:
            cells = text
        try:
            part = a1.parse_cells(cells.replace("$", ""))
        except a1.A1Error:
            raise _Err(FormulaError("#REF!"))
        if part.single:
            return self.ctx.value(sheet, part.r0, part.c0)
        return _Range(self.ctx.range(sheet, part.r0, part.r1, part.c0, part.c1))

    # -- functions -------------------------------------------------------------
    def _values(self, args, numbers_only_in_ranges=True):
        for a in args:
            if isinstance(a, _Range):
                for v in a.flat():
                    if isinstance(v, FormulaError):
                        raise _Err(v)
                    if is_number(v) or not numbers_only_in_ranges:
                        yield v
            else:
                yield a

    def _call(self, name: str, args: List[Any]) -> Any:
        fn: Optional[Callable] = getattr(self, "fn_" + name.replace(".", "_"), None)
        if fn is None:
            raise _Err(FormulaError("#NAME?", f"Unknown function: '{name}'."))
        return fn(args)

    def fn_SUM(self, args):
        return sum(_num(v) for v in self._values(args))

    def fn_PRODUCT(self, args):
        out = 1
        for v in self._values(args):
            out *= _num(v)
        return out

    def fn_AVERAGE(self, args):
        vals = [_num(v) for v in self._values(args)]
        if not vals:
            raise _Err(FormulaError("#DIV/0!", "Evaluation of function AVERAGE caused a divide by zero error."))
        return sum(vals) / len(vals)

    def fn_MIN(self, args):
        vals = [_num(v) for v in self._values(args)]
        return min(vals) if vals else 0

    def fn_MAX(self, args):
        vals = [_num(v) for v in self._values(args)]
        return max(vals) if vals else 0

    def fn_COUNT(self, args):
        return sum(1 for v in self._values(args) if is_number(v))

    def fn_COUNTA(self, args):
        return sum(1 for v in self._values(args, False) if v is not None and v != "")

    def fn_COUNTBLANK(self, args):
        return sum(1 for v in self._values(args, False) if v is None or v == "")

    def _criterion(self, crit):
        if isinstance(crit, str):
            m = re.match(r"^(<>|<=|>=|=|<|>)?(.*)$", crit, re.S)
            op, rest = m.group(1) or "=", m.group(2)
            parsed = parse_number(rest, locale_info("en_US"))
            target = parsed[0] if parsed else rest
        else:
            op, target = "=", crit
        return lambda v: _compare(v, target, op) if v is not None or op != "=" else target == ""

    def fn_COUNTIF(self, args):
        test = self._criterion(self._scalar(args[1]))
        rng = args[0].flat() if isinstance(args[0], _Range) else [args[0]]
        return sum(1 for v in rng if test(v))

    def fn_SUMIF(self, args):
        test = self._criterion(self._scalar(args[1]))
        crit_vals = list(args[0].flat()) if isinstance(args[0], _Range) else [args[0]]
        sum_vals = list(args[2].flat()) if len(args) > 2 and isinstance(args[2], _Range) else crit_vals
        return sum(_num(s) for c, s in zip(crit_vals, sum_vals) if test(c) and is_number(s))

    def fn_IF(self, args):
        cond = _bool(args[0])
        if cond:
            return args[1] if len(args) > 1 else True
        return args[2] if len(args) > 2 else False

    def fn_IFERROR(self, args):
        v = args[0].first() if isinstance(args[0], _Range) else args[0]
        if isinstance(v, FormulaError):
            return args[1] if len(args) > 1 else ""
        return v

    def fn_AND(self, args):
        return all(_bool(v) for v in self._values(args, False) if v is not None)

    def fn_OR(self, args):
        return any(_bool(v) for v in self._values(args, False) if v is not None)

    def fn_NOT(self, args):
        return not _bool(args[0])

    def fn_ISBLANK(self, args):
        v = args[0].first() if isinstance(args[0], _Range) else args[0]
        return v is None

    def fn_ISNUMBER(self, args):
        return is_number(self._scalar_safe(args[0]))

    def fn_ISTEXT(self, args):
        return isinstance(self._scalar_safe(args[0]), str)

    def fn_ISERROR(self, args):
        return isinstance(self._scalar_safe(args[0]), FormulaError)

    def _scalar_safe(self, v):
        return v.first() if isinstance(v, _Range) else v

    def fn_CONCATENATE(self, args):
        return "".join(_text(v) for v in self._values(args, False))

    fn_CONCAT = fn_CONCATENATE

    def fn_LEN(self, args):
        return len(_text(args[0]))

    def fn_UPPER(self, args):
        return _text(args[0]).upper()

    def fn_LOWER(self, args):
        return _text(args[0]).lower()

    def fn_TRIM(self, args):
        return " ".join(_text(args[0]).split())

    def fn_LEFT(self, args):
        n = int(_num(args[1])) if len(args) > 1 else 1
        return _text(args[0])[:n]

    def fn_RIGHT(self, args):
        n = int(_num(args[1])) if len(args) > 1 else 1
        return _text(args[0])[-n:] if n else ""

    def fn_MID(self, args):
        start = int(_num(args[1]))
        n = int(_num(args[2]))
        return _text(args[0])[start - 1:start - 1 + n]

    def fn_ROUND(self, args):
        digits = int(_num(args[1])) if len(args) > 1 else 0
        v = _num(args[0])
        q = 10 ** digits
        return math.floor(abs(v) * q + 0.5) / q * (1 if v >= 0 else -1)

    def fn_ROUNDUP(self, args):
        digits = int(_num(args[1])) if len(args) > 1 else 0
        v = _num(args[0])
        q = 10 ** digits
        return math.ceil(abs(v) * q) / q * (1 if v >= 0 else -1)

    def fn_ROUNDDOWN(self, args):
        digits = int(_num(args[1])) if len(args) > 1 else 0
        v = _num(args[0])
        q = 10 ** digits
        return math.floor(abs(v) * q) / q * (1 if v >= 0 else -1)

    def fn_INT(self, args):
        return math.floor(_num(args[0]))

    def fn_ABS(self, args):
        return abs(_num(args[0]))

    def fn_MOD(self, args):
        d = _num(args[1])
        if d == 0:
            raise _Err(FormulaError("#DIV/0!"))
        return _num(args[0]) % d

    def fn_VALUE(self, args):
        return _num(args[0])

    def fn_TEXT(self, args):
        pattern = _text(args[1])
        v = _num(args[0])
        if re.search(r"[dyhs]", pattern, re.I) or re.search(r"m", pattern, re.I) and "0" not in pattern:
            return format_number(v, {"type": "DATE_TIME", "pattern": pattern}, locale_info("en_US"))
        return format_number(v, {"type": "NUMBER", "pattern": pattern}, locale_info("en_US"))

    def fn_TODAY(self, args):
        return date_to_serial(_dt.datetime.utcnow().date())

    def fn_NOW(self, args):
        return datetime_to_serial(_dt.datetime.utcnow())

    def fn_DATE(self, args):
        y, m, d = (int(_num(a)) for a in args[:3])
        y += (m - 1) // 12
        m = (m - 1) % 12 + 1
        base = _dt.date(y, m, 1) + _dt.timedelta(days=d - 1)
        return date_to_serial(base)

    def fn_YEAR(self, args):
        return serial_to_datetime(_num(args[0])).year

    def fn_MONTH(self, args):
        return serial_to_datetime(_num(args[0])).month

    def fn_DAY(self, args):
        return serial_to_datetime(_num(args[0])).day


def evaluate(formula: str, ctx) -> Any:
    return Evaluator(ctx).evaluate(formula)


__all__ = ["evaluate", "Evaluator", "FormulaError"]


# --------------------------------------------------------------------------- reference rewriting

_ENDPOINT = re.compile(r"^(\$?)([A-Za-z]{0,3})(\$?)(\d*)$")


def _sheet_of(ref: str):
    if "!" not in ref:
        return None, None, ref
    prefix, _, cells = ref.rpartition("!")
    name = prefix[1:-1].replace("''", "'") if prefix.startswith("'") else prefix
    return prefix, name, cells


def _rewrite(formula_text: str, fn) -> str:
    """Apply ``fn(ref_text) -> new_text`` to every reference token of a formula."""
    if not formula_text.startswith("="):
        return formula_text
    body = formula_text[1:]
    out = []
    pos = 0
    while pos < len(body):
        m = _TOKEN.match(body, pos)
        if not m:
            return formula_text
        tok = m.group(0)
        if m.lastgroup == "ref":
            tok = fn(tok)
        out.append(tok)
        pos = m.end()
    return "=" + "".join(out)


def shift_references(formula_text: str, host_title: str, target_title: str, dim: str, start: int, n: int,
                     insert: bool) -> str:
    """Adjust references into ``target_title`` after inserting/deleting ``n``
    rows or columns at 0-based ``start`` (references into deleted cells become #REF!)."""
    stop = start + n
    low_target = target_title.lower()

    def move(index: int, is_end: bool) -> Optional[int]:
        if insert:
            return index + n if index >= start else index
        if index >= stop:
            return index - n
        if index >= start:
            return None if not is_end else -1  # inside the deleted block
        return index

    def fix(ref: str) -> str:
        prefix, name, cells = _sheet_of(ref)
        sheet = name if name is not None else host_title
        if sheet.lower() != low_target:
            return ref
        parts = cells.split(":")
        points = []
        for p in parts:
            m = _ENDPOINT.match(p)
            if not m:
                return ref
            points.append(list(m.groups()))
        idx_group = 3 if dim == "ROWS" else 1
        new_idx = []
        for i, pt in enumerate(points):
            raw = pt[idx_group]
            if not raw:
                new_idx.append(None)
                continue
            index = int(raw) - 1 if dim == "ROWS" else a1.col_index(raw)
            new_idx.append(move(index, is_end=(i == 1)))
        if len(points) == 1:
            if new_idx[0] is None and points[0][idx_group]:
                return "#REF!"
        else:
            lo, hi = new_idx
            if points[0][idx_group] and lo is None:
                lo = start  # range start inside the deleted block: clamp to the block start
            if hi == -1:
                hi = start - 1
            if lo is not None and hi is not None and hi < lo:
                return "#REF!"
            new_idx = [lo, hi]
        for pt, idx in zip(points, new_idx):
            if idx is None or not pt[idx_group]:
                continue
            pt[idx_group] = str(idx + 1) if dim == "ROWS" else a1.col_letters(idx)
        text = ":".join("".join(pt) for pt in points)
        return (prefix + "!" if prefix else "") + text

    return _rewrite(formula_text, fix)


def rename_references(formula_text: str, old_title: str, new_title: str) -> str:
    low = old_title.lower()

    def fix(ref: str) -> str:
        prefix, name, cells = _sheet_of(ref)
        if name is None or name.lower() != low:
            return ref
        return a1.sheet_prefix(new_title) + "!" + cells

    return _rewrite(formula_text, fix)
