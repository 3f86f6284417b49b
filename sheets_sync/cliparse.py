"""Command lines in Bahasa Indonesia: an argparse parser whose own words (usage,
group titles, -h, errors) are Indonesian, and quiet handling of a closed pipe.

argparse builds its messages in English; `Parser` gives the help its Indonesian
frame (usage prefix, group titles, -h) and translates the error messages argparse
hands to `error()`, which are a small fixed set (see `_ERRORS`).
"""
from __future__ import annotations

import argparse
import os
import re
import sys

USAGE = "Penggunaan: "
HELP = "tampilkan bantuan ini lalu keluar"
TYPES = {"int": "bilangan bulat", "float": "angka", "str": "teks"}


class HelpFormatter(argparse.HelpFormatter):
    def add_usage(self, usage, actions, groups, prefix=None):
        super().add_usage(usage, actions, groups, USAGE if prefix is None else prefix)


class Parser(argparse.ArgumentParser):
    """argparse.ArgumentParser speaking Indonesian; sub-parsers are of the same kind."""

    def __init__(self, *args, add_help: bool = True, **kwargs):
        kwargs.setdefault("formatter_class", HelpFormatter)
        super().__init__(*args, add_help=False, **kwargs)
        self._positionals.title = "argumen"
        self._optionals.title = "opsi"
        if add_help:
            self.add_argument("-h", "--help", action="help", default=argparse.SUPPRESS, help=HELP)

    def error(self, message: str):
        self.print_usage(sys.stderr)
        self.exit(2, f"{self.prog}: kesalahan: {translate(message)}\n")


def _choice(m: re.Match) -> str:
    choices = re.sub(r"'([^']*)'", r"\1", m.group(2))
    return f"{m.group(1)} tidak dikenal; pilihan: {choices}"


def _invalid(m: re.Match) -> str:
    kind = TYPES.get(m.group(1), m.group(1))
    return f"{m.group(2)} bukan {kind}"


_ERRORS = (
    (r"the following arguments are required: (.*)", lambda m: f"argumen berikut wajib diisi: {m.group(1)}"),
    (r"argument (.+?): (.*)", lambda m: f"argumen {m.group(1)}: {translate(m.group(2))}"),
    (r"invalid choice: (.*) \(choose from (.*)\)", _choice),
    (r"invalid (\w+) value: (.*)", _invalid),
    (r"unrecognized arguments: (.*)", lambda m: f"argumen tidak dikenal: {m.group(1)}"),
    (r"expected one argument", lambda m: "perlu satu nilai sesudahnya"),
    (r"expected at most one argument", lambda m: "paling banyak satu nilai"),
    (r"expected at least one argument", lambda m: "perlu paling sedikit satu nilai"),
    (r"expected (\d+) arguments?", lambda m: f"perlu {m.group(1)} nilai"),
    (r"ignored explicit argument (.*)", lambda m: f"nilai {m.group(1)} tidak dipakai (opsi ini tanpa nilai)"),
    (r"not allowed with argument (.*)", lambda m: f"tidak boleh dipakai bersama {m.group(1)}"),
    (r"one of the arguments (.*) is required", lambda m: f"salah satu argumen ini wajib diisi: {m.group(1)}"),
    (r"ambiguous option: (.*) could match (.*)", lambda m: f"opsi {m.group(1)} ambigu; bisa berarti {m.group(2)}"),
    (r"unexpected option string: (.*)", lambda m: f"opsi tidak terduga: {m.group(1)}"),
)


def translate(message: str) -> str:
    """argparse's English error message in Indonesian (ours pass through)."""
    for pattern, say in _ERRORS:
        m = re.fullmatch(pattern, message, re.S)
        if m:
            return say(m)
    return message


# ------------------------------------------------------------------ closed pipes
INTERRUPTED = 130   # as a shell reports a process ended by SIGINT
BROKEN_PIPE = 141        # 128 + SIGPIPE, what `yes | head -1` leaves


def run_quietly(main, *args) -> int:
    """main(*args), but output piped to a reader that stopped (`... | head -1`) ends
    quietly instead of with a BrokenPipeError traceback."""
    try:
        code = main(*args)
        sys.stdout.flush()           # a block-buffered pipe fails here, not at the interpreter's exit
        return code
    except BrokenPipeError:
        mute_stdout()
        return BROKEN_PIPE
    except KeyboardInterrupt:   # Ctrl-C: every write is atomic, so a sentence, not a traceback
        print("\nDihentikan (Ctrl-C). Berkas yang sedang ditulis tetap utuh; jalankan lagi bila perlu.",
              file=sys.stderr)
        return INTERRUPTED


def say(line: str = "") -> None:
    """print() for commands whose work goes on after the reader stopped (`provision |
    head -3`): the rest of the output is dropped, never the rest of the work."""
    try:
        print(line, flush=True)
    except BrokenPipeError:
        mute_stdout()


def mute_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's last flush cannot fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass
