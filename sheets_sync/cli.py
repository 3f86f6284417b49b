"""`python -m sheets_sync ...`: parse arguments, call the library, report in Indonesian."""
from __future__ import annotations

import argparse
import datetime as dt
import io
import logging
import re
import shlex
import sys
from pathlib import Path

from sheets_sync.cliparse import Parser, run_quietly
from sheets_sync.config import ConfigError, load_settings, today_wib

DEFAULT_CONFIG = "settings.yaml"


def _date(text: str) -> dt.date:
    """A date as the settings take it: 2023-10-15, 2023/10/15, 15/10/2023, 15-10-2023, 15 Oktober 2023."""
    from sheets_sync.config import DATE_FORMS, parse_date
    try:
        return parse_date(text, "tanggal")
    except ConfigError:
        raise argparse.ArgumentTypeError(f"'{text}' bukan tanggal; tulis {DATE_FORMS}") from None


def _config_arg(parser) -> None:
    """--config, the same on every command that works on a deployment."""
    parser.add_argument("--config", default=DEFAULT_CONFIG, metavar="BERKAS",
                        help="berkas pengaturan (bawaan settings.yaml)")


def build_parser() -> argparse.ArgumentParser:
    p = Parser(prog="python -m sheets_sync", description="Basis data calon responden SPI: validasi, rekap, pengingat.")
    sub = p.add_subparsers(dest="command", metavar="PERINTAH", title="perintah")
    sub.required = True

    d = sub.add_parser("demo", help="buat data demo OPD dan berkas pengaturan",
                       description="Membuat workbook demo untuk N OPD (data realistis dengan kesalahan "
                                   "yang biasa terjadi) dan berkas pengaturan di PATH.")
    d.add_argument("--backend", choices=["xlsx", "google"], default="xlsx", help="tempat workbook demo (bawaan xlsx)")
    d.add_argument("--opds", type=int, default=8, metavar="N", help="jumlah OPD demo (bawaan 8)")
    d.add_argument("--config-out", default="demo/settings.yaml", metavar="BERKAS", help="berkas pengaturan yang dibuat")
    d.add_argument("--as-of", type=_date, metavar="TANGGAL", help="tanggal laporan demo (bawaan hari ini, WIB)")
    d.add_argument("--seed", type=int, default=2023, metavar="N", help="benih acak data demo (bawaan 2023)")
    d.add_argument("--parent", metavar="ID_FOLDER",
                   help="Google: folder Drive (mis. di Drive bersama) tempat folder demo dibuat; wajib untuk "
                        "service account")

    v = sub.add_parser("validate", help="periksa satu berkas .xlsx/.csv tanpa jaringan",
                       description="Memeriksa setiap baris satu berkas dan menampilkan statusnya.")
    v.add_argument("file", metavar="BERKAS", help="berkas .xlsx atau .csv")
    v.add_argument("--form", metavar="FORMULIR", help="kunci formulir: pegawai, pengguna_layanan, penyedia_pbj, eksper")
    v.add_argument("--as-of", type=_date, metavar="TANGGAL", help="tanggal laporan (bawaan hari ini, WIB)")
    v.add_argument("--json", action="store_true", help="keluaran JSON, satu objek per baris data")
    v.add_argument("--config", metavar="BERKAS",
                   help="berkas pengaturan yang aturan musimnya (aturan:) dipakai (bawaan: aturan Surat Edaran)")

    s = sub.add_parser("status", help="tampilkan kemajuan setiap OPD dan kesehatan pekerja",
                       description="Menampilkan kemajuan setiap OPD dari siklus terakhir dan isi berkas "
                                   "kesehatan (state/health.json). Kode keluar 1 bila siklus berhasil "
                                   "terakhir lebih lama dari 3 × interval sinkron.")
    _config_arg(s)

    e = sub.add_parser("export", help="tulis data untuk KPK (kolom Lampiran III atau template ekspor)",
                       description="Menulis baris yang diterima (OK dan PERIKSA) semua OPD ke satu .xlsx.")
    _config_arg(e)
    e.add_argument("--out", required=True, metavar="BERKAS", help="berkas .xlsx keluaran")
    e.add_argument("--template", metavar="BERKAS_YAML",
                   help="tata letak kolom KPK (bawaan: export_template di pengaturan, atau "
                        "config/export/lampiran3.yaml)")
    r = sub.add_parser("remind", help="pengingat e-mail: lihat siapa dapat apa, atau pratinjau",
                       description="Menampilkan pengingat yang akan dikirim (--dry-run) atau membuat "
                                   "pratinjau satu e-mail (--preview KODE_OPD).")
    _config_arg(r)
    r.add_argument("--as-of", type=_date, metavar="TANGGAL", help="tanggal (bawaan hari ini, WIB)")
    r.add_argument("--dry-run", action="store_true", help="hanya tampilkan, jangan kirim")
    r.add_argument("--preview", metavar="KODE_OPD", help="tulis satu e-mail ke berkas untuk dilihat")
    r.add_argument("--out", metavar="BERKAS", help="folder/berkas pratinjau (bawaan: folder outbox)")
    pv = sub.add_parser("provision", help="buat atau perbaiki workbook setiap OPD dari Daftar OPD",
                        description="Membuat workbook/spreadsheet OPD yang belum ada dan melengkapi yang sudah "
                                    "ada (tab, validasi, proteksi, warna status) tanpa mengubah isian.")
    _config_arg(pv)
    pv.add_argument("--dry-run", action="store_true", help="hanya tampilkan apa yang akan dilakukan")
    pv.add_argument("--registry-csv", metavar="BERKAS_CSV",
                    help="isi Daftar OPD dari CSV ini bila masih kosong (bawaan: config/opd.example.csv)")
    a = sub.add_parser("auth", help="buat token OAuth untuk akun Google biasa (tanpa Workspace)",
                       description="Menjalankan persetujuan OAuth (loopback): mencetak URL untuk dibuka di peramban "
                                   "dan menunggu jawaban Google di http://localhost:PORTA. Di VM tanpa peramban: "
                                   "ssh -L PORTA:localhost:PORTA pengguna@vm dari laptop, lalu buka URL-nya di "
                                   "laptop. Token ditulis dengan mode 600 ke google.oauth_token.")
    _config_arg(a)
    a.add_argument("--client-secret", metavar="BERKAS.json",
                   help="JSON klien OAuth jenis Desktop app (bawaan: google.oauth_client)")
    a.add_argument("--port", type=int, default=8085, metavar="PORTA", help="porta loopback (bawaan 8085)")
    pl = sub.add_parser("pilot", help="uji coba Google sebelum musim: buat, tulis, bagikan, daftar, hapus",
                        description="Membuat spreadsheet uji di folder google.folder_id, menulis dan membaca satu "
                                    "sel, membagikannya ke inspektorat.email, mencarinya lewat daftar Drive "
                                    "pekerja, memeriksa lokal/zona waktu, lalu menghapusnya. ✓/✗ per langkah; "
                                    "kode keluar 1 bila ada yang gagal.")
    _config_arg(pl)
    se = sub.add_parser("season", help="musim SPI: mulai musim baru (basis data responden dibawa)",
                        description="season new --year TAHUN: arsipkan master dan workbook musim ini, bawa baris "
                                    "Pegawai dan Eksper ke musim baru (diperiksa ulang), kosongkan formulir yang "
                                    "terikat waktu, mulai catatan pengingat baru, perbarui tahun dan deadline di "
                                    "pengaturan. Hentikan pekerja dulu. Aman dijalankan ulang bila terhenti.")
    se_sub = se.add_subparsers(dest="season_command", metavar="LANGKAH", title="langkah")
    se_sub.required = True
    sn = se_sub.add_parser("new", help="mulai musim baru", description=se.description)
    sn.add_argument("--year", type=int, required=True, metavar="TAHUN", help="tahun musim baru, mis. 2024")
    sn.add_argument("--deadline", type=_date, metavar="TANGGAL",
                    help="batas pengiriman musim baru (bawaan: tanggal dan bulan yang sama, tahun baru)")
    sn.add_argument("--as-of", type=_date, metavar="TANGGAL",
                    help="tanggal laporan siklus pertama musim baru (bawaan hari ini, WIB)")
    sn.add_argument("--dry-run", action="store_true", help="hanya tampilkan apa yang akan dilakukan")
    _config_arg(sn)
    return p


def main(argv=None) -> int:
    """The command line; output piped to a reader that stops early (`| head`) ends quietly."""
    return run_quietly(_main, argv)


def _main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    from sheets_sync import logsafe

    logsafe.install(logging.WARNING, "%(levelname)s %(message)s")
    from sheets_sync.codes import explain

    try:
        return COMMANDS[args.command](args)
    except ConfigError as e:
        print(f"Pengaturan salah: {e}", file=sys.stderr)
        return 2
    except _state_error() as e:   # evaluated only when a command fails
        print(f"State tidak dapat dipakai: {logsafe.mask(e)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        raise   # run_quietly says so in a sentence
    except BrokenPipeError:
        raise   # the reader stopped early (| head): run_quietly ends the command quietly
    except Exception as e:  # noqa: BLE001 - no traceback for users; -v style detail in the log at debug
        logging.getLogger("sheets_sync").debug("rincian", exc_info=True)
        print(f"Perintah {args.command} gagal: {logsafe.mask(explain(e))}", file=sys.stderr)
        return 1


def _state_error() -> type:
    """StateError, imported only when a command failed: importing the state loads the
    whole cycle package (~0.3 s that `validate FILE` does not need)."""
    from sheets_sync.cycle.state import StateError

    return StateError


# ------------------------------------------------------------------ demo
def cmd_demo(args) -> int:
    from sheets_sync.demo.setup import make_demo

    from sheets_sync.stores import StoreError

    from sheets_sync.demo import registry_rows
    from sheets_sync.demo.setup import DemoError

    as_of = args.as_of or today_wib()
    most = len(registry_rows())
    if args.opds < 1:
        print(f"Demo tidak dibuat: --opds harus 1 sampai {most} (OPD contoh di config/opd.example.csv).",
              file=sys.stderr)
        return 2
    n = min(args.opds, most)   # the example registry is the demo's OPDs: no more than it holds
    try:
        out = make_demo(Path(args.config_out), backend=args.backend, n_opds=n,
                        as_of=as_of, seed=args.seed, parent=args.parent)
    except DemoError as e:
        print(f"Demo tidak dibuat: {e}", file=sys.stderr)
        return 2
    except StoreError as e:
        print(f"Demo Google gagal: {e.problem.text()}", file=sys.stderr)
        return 1
    more = f" (diminta {args.opds}; config/opd.example.csv berisi {most} OPD)" if n < args.opds else ""
    print(f"Data demo dibuat: {n} OPD{more}. Pengaturan: {out}")
    run = f"{_here_python()} jobs.py --once --config {shlex.quote(str(out))}"
    print(f"Jalankan satu siklus: {run}")
    if args.backend != "google":
        for line in _demo_files(out.parent):
            print(line)
    from sheets_sync.remind.calendar import office_calendar
    cal = office_calendar()
    if cal.closed(as_of):
        workday = cal.on_or_before(as_of)
        print(f"Catatan: {as_of:%d/%m/%Y} bukan hari kerja ({cal.closed(as_of)}), jadi pengingat demo tidak "
              f"dikirim hari ini. Untuk melihatnya: {run} --as-of {workday.isoformat()}")
    return 0


def _here_python() -> str:
    """The Python running this command, as a hint may say it: `.venv/bin/python` when it
    is the checkout's own (the system's `python` lacks the packages), quoted for a shell."""
    exe = Path(sys.executable)
    try:
        return shlex.quote(str(exe.relative_to(Path.cwd())))
    except ValueError:
        return shlex.quote(str(exe))


def _demo_files(folder: Path) -> list[str]:
    """What to open after the demo's first cycle, and what each shows."""
    data = folder / "data"
    books = sorted(p.name for p in data.glob("*.xlsx") if p.name != "master.xlsx")
    out = ["Setelah siklus, buka (LibreOffice/Excel):",
           f"  {data / 'master.xlsx'}: yang dilihat Inspektorat (Rekap, Masalah, tab per formulir)"]
    if books:
        out.append(f"  {data / books[0]}: yang dilihat satu OPD (tab Petunjuk, lalu tab formulir dengan kolom "
                   f"Status, Keterangan, Diperiksa dan ringkasan di baris 1); OPD lain: {', '.join(books[1:4])}"
                   + (" …" if len(books) > 4 else ""))
    out.append(f"  {folder / 'outbox'}: e-mail pengingat (.eml) yang akan dikirim")
    return out


# -------------------------------------------------------------- validate
def cmd_validate(args) -> int:
    missing = _not_a_file(Path(args.file))
    if missing:
        print(f"Berkas tidak bisa diperiksa: {missing}", file=sys.stderr)
        return 2
    # Hundreds of thousands of rows become millions of small lists and dicts that hold
    # no reference cycles: the cyclic collector would walk them again and again (half
    # the time of `--json` on 300,000 rows). Reference counting still frees them.
    import gc
    was = gc.isenabled()
    gc.disable()
    try:
        return _validate(args)
    finally:
        if was:
            gc.enable()


def _validate(args) -> int:
    from sheets_sync.ops.offline import TooLarge, read_ahead, validate_file

    ahead = None
    try:
        forms = limits = None
        if args.config:       # a deployment's season rules (aturan:) and limits, else the circular's and defaults
            from sheets_sync.forms import forms_for
            settings = load_settings(args.config)
            forms, limits = forms_for(settings), settings.limits
        # then at once: an .xlsx is checked against those limits and parsed while the rest loads
        ahead = read_ahead(Path(args.file), limits)
        if args.form:
            from sheets_sync.forms import load_forms
            forms = forms or load_forms()
            try:
                forms[args.form]
            except KeyError as e:   # str(KeyError) would quote its text
                print(f"Pilihan --form salah: {e.args[0] if e.args else e}", file=sys.stderr)
                return 2
        problems: list = []
        results = validate_file(Path(args.file), form_key=args.form, as_of=args.as_of or today_wib(), forms=forms,
                                limits=limits, ahead=ahead, problems=problems)
    except TooLarge as e:
        unit = re.search(r"melewati batas [\d.]+ (baris|kolom)", str(e))   # which limit: name its setting
        key = {"baris": "rows", "kolom": "columns"}[unit.group(1)] if unit else "cells"
        hint = "" if args.config else (f" Bila batasnya sudah dinaikkan di pengaturan (limits.{key}), jalankan "
                                       "dengan --config BERKAS_PENGATURAN.")
        print(f"Berkas tidak bisa diperiksa: {e}{hint}", file=sys.stderr)
        return 2
    except OSError as e:
        from sheets_sync.codes import explain
        print(f"Berkas tidak bisa diperiksa: {explain(e)}", file=sys.stderr)
        return 2
    except ConfigError as e:
        print(f"Pengaturan salah: {e}", file=sys.stderr)
        return 2
    except (ValueError, KeyError) as e:
        text = e.args[0] if isinstance(e, KeyError) and e.args else str(e)   # a KeyError's str() quotes it
        print(text if text.startswith("Berkas ") else f"Berkas tidak bisa diperiksa: {text}", file=sys.stderr)
        return 2
    for p in problems:   # on stderr: `--json` keeps its stdout to the records
        print(f"PERHATIAN: {p.text()}", file=sys.stderr)
    if args.json:
        from sheets_sync.validate import jsonout   # the records' text, column at a time
        sys.stdout.flush()
        try:
            out = sys.stdout.buffer
        except AttributeError:   # a text-only stdout (redirected in-process): the same text
            out = None
        if out is not None:
            jsonout.write(results, out)
            return 0
        text = io.BytesIO()
        jsonout.write(results, text)
        sys.stdout.write(text.getvalue().decode("utf-8"))
        return 0
    from sheets_sync.forms import load_forms
    sheets = {f.key: f.sheet for f in (forms or load_forms()).forms.values()}
    csv = Path(args.file).suffix.lower() == ".csv"
    for title, res in results:
        c = res.counts()
        where = f"Berkas {Path(args.file).name}" if csv else f"Tab {title}"
        print(f"{where} (formulir {sheets.get(res.form, res.form)}): {len(res.status)} baris — OK {c['OK']}, "
              f"PERIKSA {c['PERIKSA']}, SALAH {c['SALAH']}")
        notes = res.notes()
        for row, status in res.status.items():
            if status != "OK":
                print(f"  baris {row}: {status} — {notes[row]}")
    print("Catatan: nomor HP/e-mail yang juga tercatat di OPD lain (PERIKSA) hanya diperiksa oleh siklus, "
          "yang melihat semua OPD; di sini berkas ini saja.")
    return 0


def _not_a_file(path: Path) -> str | None:
    """Why `path` cannot be checked before it is opened: a typo in the name would else read
    as 'format tidak dikenali', sending staff to re-save a file that does not exist."""
    if not path.exists():
        return f"{path} tidak ditemukan; periksa nama dan foldernya."
    if path.is_dir():
        return f"{path} adalah folder; sebutkan satu berkas .xlsx atau .csv di dalamnya."
    try:
        if path.stat().st_size == 0:
            return f"{path} kosong (0 bita); mungkin belum selesai tersimpan atau tersalin. Simpan ulang lalu coba lagi."
    except OSError:
        return None   # said when it is opened
    return None


# ---------------------------------------------------------------- status
def cmd_status(args) -> int:
    from sheets_sync.cycle.state import State

    settings = load_settings(args.config)
    from sheets_sync.cycle.rollover import pending
    held = pending(settings)
    if held:     # the worker refuses every cycle until `season new` finishes
        print(f"PERINGATAN: {held}")
        return 1
    if not settings.state_db.exists():
        print(f"Belum ada siklus yang dijalankan. Jalankan: python jobs.py --once --config {args.config}")
        return 1
    from sheets_sync.remind.rounds import recorded_rounds
    with State(settings.state_db, read_only=True) as state:
        rows = state.get("rekap") or []
        last = state.last_runs(1)
        ended = recorded_rounds(state)
    from sheets_sync.ops import health
    data = health.read(settings)
    said = health.lines(data, settings) if data is not None else []
    failed = bool(data and (data.get("last_cycle") or {}).get("failed"))
    if failed:   # above the table: its counts are the last good cycle's, not today's
        print(said.pop(0))
    from sheets_sync.master import REGISTRY_FAULT, REKAP_HEADER
    at = REKAP_HEADER.index("Berkas")
    wide = max([16] + [len(str(r[7])) for r in rows])   # "LENGKAP (data lama, 03/12)" keeps Berkas in line
    if rows:   # no table head over nothing (a first cycle that failed)
        print(f"{'Kode':<12} {'Baris':>6} {'OK':>6} {'PERIKSA':>8} {'SALAH':>6}  {'Keadaan':<{wide}} Berkas")
    for r in rows:
        print(f"{r[0]:<12} {r[3]:>6} {r[4]:>6} {r[5]:>8} {r[6]:>6}  {r[7]:<{wide}} {r[at] if len(r) > at else ''}")
        if REGISTRY_FAULT in str(r[7]) and len(r) > 11:
            print(f"{'':<12} ! {r[11]}")
        elif "(" in str(r[7]) and len(r) > 11:   # "(data lama, 12/10)": its workbook could not be read
            print(f"{'':<12} ! berkas tidak terbaca: {r[11]}")
        elif len(r) > 11 and r[11]:   # e.g. a renamed header: that tab is not checked at all
            print(f"{'':<12} ! {r[11]}")
    if rows:
        from sheets_sync.master import totals
        t, _ = totals(rows)
        print(f"{'JUMLAH':<12} {t[3]:>6} {t[4]:>6} {t[5]:>8} {t[6]:>6}  {t[7]}")
    for r in ended:   # collection rounds over (settings `putaran`), as they were then
        states = ", ".join(f"{k} {v}" for k, v in sorted((r.get("keadaan") or {}).items()))
        dmy = lambda iso: "/".join(reversed(str(iso).split("-")))  # noqa: E731 - 2023-09-15 -> 15/09/2023
        name = str(r.get("nama") or "")   # a round without a name is recorded as "Putaran 2"
        name = name if name.casefold().startswith("putaran") else f"Putaran {name}"
        print(f"{name} (batas {dmy(r.get('batas'))}) selesai, dicatat {dmy(r.get('dicatat'))}: "
              f"{states}")
    if rows and settings.backend == "xlsx" and not settings.file_address:
        print("Catatan: alamat_berkas belum diisi di pengaturan, jadi OPD hanya melihat nama berkasnya. Isi "
              "dengan alamat folder data seperti yang dibuka OPD (mis. \\\\server\\SPI), lihat README.")
    if last:
        print(f"Siklus terakhir: {last[0][2] or last[0][1]}")
    for line in said:
        print(line)
    if failed or (data is not None and health.stale(data, settings)):
        return 1   # for monitors: `python -m sheets_sync status || kirim-peringatan`
    return 0


# ---------------------------------------------------------------- export
def cmd_export(args) -> int:
    from sheets_sync.ops.offline import export_kpk

    if Path(args.out).suffix.lower() != ".xlsx":   # an .xlsx written under another name opens as junk
        print(f"Ekspor KPK: --out {args.out} harus berakhiran .xlsx (ekspor selalu berupa workbook Excel), "
              f"mis. --out kpk.xlsx", file=sys.stderr)
        return 2
    settings = load_settings(args.config)
    if settings.backend == "xlsx" and Path(args.out).resolve().is_relative_to(Path(settings.data_dir).resolve()):
        # every OPD's respondents in the folder OPDs open, or over master.xlsx and its registry
        print(f"Ekspor KPK tidak ditulis: {args.out} berada di folder data ({settings.data_dir}) yang dibuka OPD "
              f"dan berisi master serta workbook OPD. Ekspor memuat data responden semua OPD; simpan di luar "
              f"folder itu, mis. --out ~/kpk-{settings.year}.xlsx", file=sys.stderr)
        return 2
    n = export_kpk(settings, Path(args.out), Path(args.template) if args.template else None)
    print(f"Ekspor KPK ditulis ke {args.out}: {n} baris.")
    return 0


def cmd_remind(args) -> int:
    from sheets_sync.remind.cli import main

    return main(args, load_settings(args.config))


def cmd_provision(args) -> int:
    from sheets_sync import provision

    return provision.cli(args, load_settings(args.config))


def cmd_auth(args) -> int:
    from sheets_sync.ops.auth import run_auth

    try:
        run_auth(load_settings(args.config), client_secret=args.client_secret, port=args.port)
    except OSError as e:
        print(f"Auth gagal: porta {args.port} tidak dapat dipakai ({e.strerror or e}); pilih --port lain.",
              file=sys.stderr)
        return 1
    except Exception as e:  # noqa: BLE001 - oauthlib's errors (access_denied, mismatched state, timeout)
        if isinstance(e, ConfigError):
            raise
        print(f"Auth gagal: {type(e).__name__}: {e}. Jalankan lagi; pastikan URL dibuka sampai selesai dan porta "
              f"{args.port} diteruskan (ssh -L {args.port}:localhost:{args.port}).", file=sys.stderr)
        return 1
    return 0


def cmd_pilot(args) -> int:
    from sheets_sync.ops.pilot import main as pilot

    return pilot(load_settings(args.config))


def cmd_season(args) -> int:
    from sheets_sync.ops.season import SeasonError, new_season

    try:
        from sheets_sync.cliparse import say   # `season new | head`: the rollover still finishes
        new_season(args.config, args.year, args.deadline, dry_run=args.dry_run, as_of=args.as_of, out=say)
    except SeasonError as e:
        print(f"Pergantian musim: {e}", file=sys.stderr)
        return 1
    return 0


COMMANDS = {"season": cmd_season, "auth": cmd_auth, "pilot": cmd_pilot, "provision": cmd_provision, "remind": cmd_remind, "demo": cmd_demo, "validate": cmd_validate, "status": cmd_status, "export": cmd_export}
