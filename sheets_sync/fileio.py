"""Files the worker writes and reads itself: one atomic-write rule for all of them.

Every file is written beside its target under a temporary name, flushed and
fsynced, then renamed over the target, so a reader (an OPD opening its workbook,
the next cycle, a monitor reading health.json) sees the old file or the new one,
never half of one, and a power cut cannot leave a renamed but empty file.
"""
from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

PRIVATE = 0o600          # files only the worker reads: state, health, caches, outbox, sent records
PRIVATE_DIR = 0o700      # and the folders it creates for them

# zlib level of the parts the worker writes into .xlsx files: level 1 deflates sheet XML
# faster than the default 6, for somewhat larger files.
ZIP_LEVEL = 1


def private_dir(folder) -> Path:
    """`folder`, created (with missing parents) readable by the worker's user only.
    An existing folder is left as the administrator made it."""
    folder = Path(folder)
    missing = []
    p = folder
    while not p.exists() and p != p.parent:
        missing.append(p)
        p = p.parent
    for p in reversed(missing):
        try:
            p.mkdir(mode=PRIVATE_DIR)
        except FileExistsError:
            continue
        os.chmod(p, PRIVATE_DIR)   # mkdir's mode is filtered by the umask; chmod is not
    return folder


def atomic_write(path, write, *, mode: int | None = None, before_replace=None) -> None:
    """Write `path` atomically. `write(tmp_path)` fills the temporary file; `mode`
    sets its permissions (default: those of the file it replaces, else the umask's);
    a private mode (no group/other bits) creates missing folders private too;
    `before_replace()` may raise to abandon the write (the target changed meanwhile)."""
    path = Path(path)
    if mode is not None and not mode & 0o077:
        private_dir(path.parent)
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
    forget_leftovers(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(tmp)
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        if mode is not None:
            os.chmod(tmp, mode)
        elif path.exists():
            os.chmod(tmp, path.stat().st_mode & 0o777)
        else:
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(tmp, 0o666 & ~umask)
        if before_replace:
            before_replace()
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)


def atomic_write_bytes(path, data: bytes, *, mode: int | None = None) -> None:
    atomic_write(path, lambda tmp: Path(tmp).write_bytes(data), mode=mode)


def atomic_write_text(path, text: str, *, mode: int | None = None) -> None:
    atomic_write_bytes(path, text.encode("utf-8"), mode=mode)


def atomic_save(book, path, before_replace=None) -> None:
    """An openpyxl workbook, saved atomically."""
    atomic_write(path, book.save, before_replace=before_replace)


def forget_leftovers(path: Path) -> None:
    """A process killed while saving (SIGKILL, power loss) leaves its half-written
    '.<name>.<random>.tmp' beside the target; remove those of this target (only the
    mkstemp pattern) before saving it again, so that they do not pile up in a folder
    the OPD staff see."""
    pattern = re.compile(rf"\.{re.escape(path.stem)}\.[a-z0-9_]{{8}}\.tmp")
    try:
        for p in path.parent.iterdir():
            if pattern.fullmatch(p.name):
                p.unlink(missing_ok=True)
    except OSError:
        pass


def fsync_dir(folder: Path) -> None:
    """Make the rename itself durable (ext4 may otherwise lose it on a power cut)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


# Byte order marks of the UTF-16/32 texts Excel and Notepad save ("Teks Unicode", "Unicode
# Text": UTF-16 LE with a BOM, tab separated). UTF-32's first: its LE mark starts as UTF-16's.
_BOMS = ((b"\xff\xfe\x00\x00", "utf-32"), (b"\x00\x00\xfe\xff", "utf-32"),
         (b"\xff\xfe", "utf-16"), (b"\xfe\xff", "utf-16"))


def read_text(path) -> str:
    """A text file as Excel or a person saved it: UTF-8 (with or without BOM), UTF-16
    or UTF-32 with a BOM (or UTF-16 without one, told by its zero bytes), else
    Windows-1252 (a CSV saved by Excel on Windows)."""
    raw = Path(path).read_bytes()
    for bom, codec in _BOMS:
        if raw.startswith(bom):
            return raw.decode(codec, errors="replace")   # the codec takes the BOM off
    wide = _utf16_without_bom(raw)
    if wide:
        return raw.decode(wide, errors="replace")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return raw.decode("cp1252", errors="replace")


def _utf16_without_bom(raw: bytes) -> str | None:
    """'utf-16-le' or 'utf-16-be' when the start of `raw` looks like UTF-16 text of
    mostly Latin letters: a zero byte in (nearly) every other place, never in the
    others. UTF-8 and Windows-1252 text has no zero bytes at all."""
    head = raw[:4096]
    if len(head) < 4 or b"\x00" not in head:
        return None
    head = head[:len(head) // 2 * 2]
    odd, even = head[1::2].count(0), head[0::2].count(0)
    pairs = len(head) // 2
    if odd >= 0.6 * pairs and even == 0:
        return "utf-16-le"
    if even >= 0.6 * pairs and odd == 0:
        return "utf-16-be"
    return None
