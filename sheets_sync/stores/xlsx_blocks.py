"""The .xlsx master's long tabs as deflate segments, one per block of rows, so that a
write copies the compressed bytes of every block whose rows did not change from the
master it replaces, instead of making and deflating their XML again: a one-cell edit
in one OPD of a 300,000-row city re-renders that OPD's block, not 3.6 million cells.

How it holds together:
- A block's rows are written without row or cell references (`<row>`, `<c>`: both
  optional in ECMA-376 §18.3.1.73 and §18.3.1.4; Excel, LibreOffice, Google Sheets,
  openpyxl and calamine number them in order). A block's XML is then the same
  wherever the block lands in the tab, and an OPD that gains a row moves the later
  blocks without changing their bytes.
- Each segment is raw deflate from its own compressor, ended by a sync flush (byte
  aligned, no reference into another segment); only a part's last segment is final.
  Segments one after another are one valid deflate stream (as pigz makes them).
- The zip CRC of a part is combined from the segments' CRCs (crc32 is linear).
- zipfile cannot take data that is already compressed, so the zip is written here:
  local headers, data, central directory (no zip64: a part over 4 GiB is refused).
- Which block is where in the master on disk: a manifest (JSON, beside the state in
  the data folder's .sheets_sync) written after the master, naming the master's
  revision; a master changed since (a person saved it) is rendered whole."""
from __future__ import annotations

import hashlib
import json
import logging
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import orjson

from sheets_sync.jsonvalue import decode, encode

log = logging.getLogger("sheets_sync")

BLOCK_ROWS = 4096            # rows of one OPD per block, about (an edit re-renders at most 4x)
FORMAT = "xlsx-blocks-1"     # in every key: a new way of rendering rows never reuses old bytes
MANIFEST_BYTES = 16 << 20    # a manifest bigger than this is not ours: not read
_ZEROS = memoryview(bytes(1 << 20))
_LOCAL = struct.Struct("<IHHHHHIIIHH")
_CENTRAL = struct.Struct("<IHHHHHHIIIHHHHHII")
_END = struct.Struct("<IHHHHIIH")
_MAX = 0xFFFFFFFF


@dataclass
class Segment:
    data: bytes        # raw deflate, byte aligned
    size: int          # uncompressed bytes
    crc: int
    key: str | None = None   # a block's content key; None: a part's head or tail


def deflate(text: bytes, level: int, final: bool = False) -> Segment:
    c = zlib.compressobj(level, zlib.DEFLATED, -15)
    data = c.compress(text) + c.flush(zlib.Z_FINISH if final else zlib.Z_SYNC_FLUSH)
    return Segment(data, len(text), zlib.crc32(text))


def block_ranges(rows: list[list]) -> list[tuple[int, int]]:
    """[start, end) of each block (keyed_blocks without the keys)."""
    return _ranges(rows, [_dump(r) for r in rows])


def keyed_blocks(salt: str, rows: list[list]) -> list[tuple[int, int, str]]:
    """(start, end, key) of each block: each row serialised once, for its boundary hash
    and its block's key (what the block's bytes follow: its values, types included,
    and `salt`, how they are rendered)."""
    dumped = [_dump(r) for r in rows]
    head = FORMAT.encode() + salt.encode() + b"\0"
    return [(a, b, hashlib.blake2b(head + b"\n".join(dumped[a:b]), digest_size=16).hexdigest())
            for a, b in _ranges(rows, dumped)]


def _ranges(rows: list[list], dumped: list[bytes]) -> list[tuple[int, int]]:
    """A block ends where the first column (the OPD code) changes, and inside one OPD's
    rows after a row whose content hash ends in log2(BLOCK_ROWS) zero bits
    (content-defined, as rsync and restic cut files): a row that appears or goes (a
    phone fixed: a row moves into or out of a form tab) moves only the boundaries of
    its own block, so the later blocks are copied, not made. Blocks hold at least
    BLOCK_ROWS // 8 rows (rows alike must not make a block each) and at most
    4 * BLOCK_ROWS."""
    firsts = np.empty(len(rows), dtype=object)
    firsts[:] = [r[0] if r else None for r in rows]
    changes = np.flatnonzero(firsts[1:] != firsts[:-1]) + 1
    bounds = [0] + changes.tolist() + [len(rows)]
    hashes = np.fromiter((zlib.crc32(d) for d in dumped), dtype=np.int64, count=len(dumped))
    marks = np.flatnonzero((hashes & (_pow2(BLOCK_ROWS) - 1)) == 0) + 1   # cut after a marked row
    out = []
    for start, end in zip(bounds, bounds[1:]):
        cut = start
        for m in marks[(marks > start) & (marks < end)].tolist() + [end]:
            while m - cut > 4 * BLOCK_ROWS:
                out.append((cut, cut + 4 * BLOCK_ROWS))
                cut += 4 * BLOCK_ROWS
            if m - cut >= BLOCK_ROWS // 8 or m == end:
                out.append((cut, m))
                cut = m
    return [r for r in out if r[1] > r[0]]


def _pow2(n: int) -> int:
    return 1 << max(1, n.bit_length() - 1)


def _dump(row: list) -> bytes:
    try:
        return orjson.dumps(row)
    except TypeError:   # an int beyond 64 bits, a lone surrogate: the standard encoder
        return json.dumps(row, default=repr).encode("utf-8", "surrogatepass")


def crc_combine(crc1: int, crc2: int, len2: int) -> int:
    """crc32 of A+B from crc32(A), crc32(B) and len(B): crc32 is affine in its start
    value, so crc32(B, c) = crc32(B) ^ crc32(Z, c) ^ crc32(Z), Z = len(B) zero bytes."""
    a, b = crc1, 0
    while len2:
        zeros = _ZEROS[:min(len2, len(_ZEROS))]   # a view: no copy per step
        a, b = zlib.crc32(zeros, a), zlib.crc32(zeros, b)
        len2 -= len(zeros)
    return crc2 ^ a ^ b


class ZipOut:
    """A zip of deflated parts written from segments, in order."""

    def __init__(self, f):
        self.f, self.entries, self.at = f, [], 0

    def add(self, name: str, date_time: tuple, segments: list[Segment]) -> int:
        """Writes the part; returns the offset of its local header."""
        crc, size, csize = 0, 0, 0
        for s in segments:
            crc, size, csize = crc_combine(crc, s.crc, s.size), size + s.size, csize + len(s.data)
        raw = name.encode("utf-8")
        if max(size, csize, self.at) >= _MAX:
            raise ValueError(f"bagian {name} lebih dari 4 GiB: master terlalu besar untuk satu berkas .xlsx")
        dtime, ddate = _dos(date_time)
        flags = 0x800 if not raw.isascii() else 0
        header = _LOCAL.pack(0x04034B50, 20, flags, zlib.DEFLATED, dtime, ddate, crc, csize, size, len(raw), 0)
        self.f.write(header + raw)
        for s in segments:
            self.f.write(s.data)
        self.entries.append((raw, flags, dtime, ddate, crc, csize, size, self.at))
        at, self.at = self.at, self.at + len(header) + len(raw) + csize
        return at

    def close(self) -> None:
        start = self.at
        for raw, flags, dtime, ddate, crc, csize, size, at in self.entries:
            entry = _CENTRAL.pack(0x02014B50, 20, 20, flags, zlib.DEFLATED, dtime, ddate, crc, csize, size,
                                  len(raw), 0, 0, 0, 0, 0, at)
            self.f.write(entry + raw)
            self.at += len(entry) + len(raw)
        n = len(self.entries)
        if n >= 0xFFFF or self.at >= _MAX:
            raise ValueError("master terlalu besar untuk satu berkas .xlsx")
        self.f.write(_END.pack(0x06054B50, 0, 0, n, n, self.at - start, start, 0))


def _dos(date_time: tuple) -> tuple[int, int]:
    y, mo, d, h, mi, s = date_time
    return (h << 11) | (mi << 5) | (s // 2), (max(y, 1980) - 1980) << 9 | (mo << 5) | d


# ------------------------------------------------------------------ the master on disk
class Previous:
    """The blocks of the master on disk that a write may copy, per tab title:
    key -> (offset in the file, compressed length, size, crc). Empty when there is no
    manifest, it is unreadable, or it is not of the file now on disk."""

    def __init__(self, master: Path, manifest: Path, revision: str | None):
        self.master, self.tabs, self.groups, self.small = master, {}, {}, {}
        try:
            if revision is None or manifest.is_symlink() or manifest.stat().st_size > MANIFEST_BYTES:
                return   # a link may point out of the data folder: not followed
            doc = json.loads(manifest.read_bytes())
            if doc.get("format") != FORMAT or doc.get("revision") != revision:
                return
            with open(master, "rb") as f:
                self.tabs = {title: _tab_blocks(f, tab) for title, tab in doc["tabs"].items()}
            self.groups = {title: {str(k): (int(n), [str(b) for b in keys])
                                   for k, (n, keys) in (tab.get("groups") or {}).items()}
                           for title, tab in doc["tabs"].items()}
            self.small = {str(t): dict(g) for t, g in (doc.get("small") or {}).items()}
        except (OSError, ValueError, KeyError, TypeError, AttributeError, struct.error) as e:
            if not isinstance(e, FileNotFoundError):
                log.info("peta blok master tidak terpakai (%s): master ditulis utuh", type(e).__name__)
            self.tabs, self.groups, self.small = {}, {}, {}

    def small_rows(self, title: str, key: str) -> list[list] | None:
        """A short tab's rows of one group as the master on disk holds them, or None."""
        body = self.small.get(title, {}).get(key)
        return None if body is None else rows_from_json(body)

    def group(self, title: str, key: str) -> tuple[int, list[str]] | None:
        """(rows, block keys) of a group the master on disk holds whole, else None."""
        got = self.groups.get(title, {}).get(key)
        blocks = self.tabs.get(title, {})
        return got if got is not None and all(k in blocks for k in got[1]) else None

    def reader(self):
        return open(self.master, "rb") if self.tabs else None

    def copy(self, f, title: str, key: str) -> Segment | None:
        got = self.tabs.get(title, {}).get(key)
        if got is None or f is None:
            return None
        at, clen, size, crc = got
        f.seek(at)
        data = f.read(clen)
        return Segment(data, size, crc, key) if len(data) == clen else None


def _tab_blocks(f, tab: dict) -> dict:
    """A tab's blocks with absolute offsets, after checking that the part the manifest
    names starts where it says (a local header of that name, deflated)."""
    f.seek(int(tab["at"]))
    head = f.read(_LOCAL.size)
    sig, _, _, method, _, _, _, _, _, n, extra = _LOCAL.unpack(head)
    if sig != 0x04034B50 or method != zlib.DEFLATED or f.read(n).decode("utf-8") != tab["part"]:
        raise ValueError("part moved")
    data = int(tab["at"]) + _LOCAL.size + n + extra
    return {str(k): (data + int(rel), int(clen), int(size), int(crc)) for k, rel, clen, size, crc in tab["blocks"]}


def manifest_of(tabs: dict, revision: str, small: dict | None = None) -> bytes:
    """tabs: title -> {"part", "at", "blocks": [[key, offset in the part's data, clen, size, crc]],
    "groups": {group key: [rows, [block keys]]}}; small: title -> {group key: rows as
    rows_to_json} of the short tabs openpyxl renders as cells (a few thousand rows)."""
    return json.dumps({"format": FORMAT, "revision": revision, "tabs": tabs, "small": small or {}}).encode()


def rows_to_json(rows: list[list]) -> list | None:
    """Rows as typed JSON values (jsonvalue.encode); None when a value is of a kind it
    would only keep as text (those rows are made again rather than come back as text)."""
    out = []
    for row in rows:
        vals = [encode(v) for v in row]
        if any(type(e) is str and not isinstance(v, str) for e, v in zip(vals, row)):
            return None
        out.append(vals)
    return out


def rows_from_json(body) -> list[list] | None:
    """The inverse of rows_to_json; None for anything that is not its output."""
    try:
        return [[decode(v) for v in row] for row in body]
    except (TypeError, ValueError, KeyError, AttributeError):
        return None


def part_blocks(segments: list[Segment]) -> list[list]:
    out, rel = [], 0
    for s in segments:
        if s.key is not None:
            out.append([s.key, rel, len(s.data), s.size, s.crc])
        rel += len(s.data)
    return out
