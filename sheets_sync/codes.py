"""The one catalogue of problem codes, with the Indonesian text staff read.

Row codes carry a severity (SALAH must be fixed, PERIKSA is accepted but worth a
look). Texts name the column ({kolom}) and what a right value looks like. Tests
assert codes, never wording, so the texts can be improved freely.
"""
from __future__ import annotations

from dataclasses import dataclass

SALAH, PERIKSA, OK = "SALAH", "PERIKSA", "OK"
SEVERITY_ORDER = {OK: 0, PERIKSA: 1, SALAH: 2}
# The one palette of verdict colours (background, text): status cells of OPD sheets,
# the master's Status and Keadaan cells, the Rekap chart. The usual "good / neutral /
# bad" cell styles, and grey for what has no verdict yet.
STATUS_COLORS = {OK: ("C6EFCE", "006100"), PERIKSA: ("FFEB9C", "9C5700"), SALAH: ("FFC7CE", "9C0006")}
NO_VERDICT_COLOR = ("E7E6E6", "404040")

WORKBOOK = "BERKAS"
# Workbook problems that pass by themselves (a file open in Excel, a write refused, an
# edit during the check): the worker's business, not the OPD's. The cycle reads such
# a workbook again next cycle; e-mails do not list them.
TRANSIENT = frozenset({"WB_CHANGED", "WB_LOCKED", "WB_WRITE_FAILED", "WB_READ_FAILED",
                       "OPD_ERROR"})   # a problem with a whole workbook or tab, shown in the Rekap
# Registry rows whose workbook the worker refuses to touch (outside the data folder, the
# master itself, another OPD's workbook): neither read nor written until the row is fixed.
REFUSED = frozenset({"REG_LOCATION_OUTSIDE", "REG_LOCATION_MASTER", "REG_LOCATION_INVALID",
                     "REG_LOCATION_SHARED"})
# Mistakes in the registry row (the Inspektorat's to fix, not the OPD's): in the Rekap, not in e-mails.
REGISTRY = REFUSED | {"REG_EMAIL_INVALID", "REG_FORM_UNKNOWN"}
# Workbook problems that leave the worker without this cycle's rows of an OPD (the file
# is gone, cannot be opened, did not answer or is refused as too large): its last good
# counts are shown as old ("data lama") in the Rekap and in `status`. Not WB_READ_ONLY:
# that workbook was read, only the status write was refused, so its counts are today's.
UNREADABLE = frozenset({"WB_NOT_FOUND", "WB_UNREADABLE", "WB_NO_ACCESS", "WB_READ_FAILED", "WB_TOO_LARGE",
                        "WB_COMPRESSION", "SHEET_TOO_LARGE"})


@dataclass(frozen=True)
class Code:
    """One entry of the catalogue: the code tests assert, its severity, the text staff
    read in the sheet and the Rekap (it may quote the cell: {nilai}), and the short
    meaning for e-mails, which never quotes a cell so respondents' data cannot leak
    into a reminder."""
    code: str
    severity: str
    text: str
    short: str = ""


CATALOGUE: dict[str, Code] = {c.code: c for c in (
    Code("REQUIRED", SALAH, '{kolom} wajib diisi.',
         'wajib diisi'),
    Code("MISSING_EXPECTED", PERIKSA, '{kolom} kosong; sebaiknya diisi agar responden dapat dihubungi KPK.',
         'kosong, sebaiknya diisi'),
    Code("CONTACT_MISSING", SALAH, 'Isi minimal salah satu: {kolom}. Tanpa keduanya KPK tidak dapat menghubungi responden.',
         'No HP dan e-mail kosong; isi minimal salah satu'),
    Code("CELL_ERROR", SALAH, '{kolom} berisi galat rumus ({nilai}); ketik nilainya langsung.',
         'berisi galat rumus'),
    Code("TEXT_TOO_LONG", SALAH, '{kolom} terlalu panjang ({panjang} karakter, maksimal {maks}).',
         'isian terlalu panjang'),
    Code("CELL_TOO_LONG", SALAH, '{kolom} sangat panjang ({panjang} karakter; batas pemeriksaan {maks}) sehingga tidak diperiksa; isi hanya nilai yang diminta.',
         'isian sangat panjang, tidak diperiksa'),
    Code("TEXT_CONTROL_CHARS", SALAH, '{kolom} berisi karakter kendali yang tak terlihat ({kode}), yang bisa merusak berkas kiriman ke KPK; hapus isi sel lalu ketik ulang.',
         'berisi karakter kendali tak terlihat'),
    Code("NAME_BIDI", SALAH, '{kolom} berisi karakter tersembunyi pembalik arah teks (mis. U+202E) yang membuat nama tampil berbeda dari isinya; hapus isi sel lalu ketik ulang namanya.',
         'nama berisi karakter tersembunyi pembalik arah teks'),
    Code("NAME_NO_LETTERS", SALAH, '{kolom} harus berupa nama (huruf), bukan hanya angka atau tanda baca.',
         'bukan nama (tanpa huruf)'),
    Code("PHONE_HAS_LETTERS", SALAH, '{kolom} berisi huruf; isi angka saja, contoh 0812-3456-7890.',
         'nomor HP berisi huruf'),
    Code("PHONE_SCIENTIFIC", SALAH, '{kolom} tertulis sebagai angka ilmiah (mis. 8,12E+10) sehingga angkanya sudah hilang; format sel sebagai Teks lalu ketik ulang nomornya, contoh 0812-3456-7890.',
         'nomor HP tertulis sebagai angka ilmiah (angkanya hilang)'),
    Code("PHONE_MULTIPLE", SALAH, '{kolom} berisi lebih dari satu nomor; isi satu nomor HP WhatsApp saja.',
         'berisi lebih dari satu nomor'),
    Code("PHONE_LANDLINE", SALAH, '{kolom} adalah nomor telepon kantor/rumah yang tidak bisa menerima WhatsApp; isi nomor HP, contoh 0812-3456-7890.',
         'nomor telepon rumah/kantor, bukan HP WhatsApp'),
    Code("PHONE_TOO_SHORT", SALAH, '{kolom} terlalu pendek; nomor HP Indonesia 10-13 angka diawali 08, contoh 0812-3456-7890.',
         'nomor HP terlalu pendek'),
    Code("PHONE_TOO_LONG", SALAH, '{kolom} terlalu panjang; nomor HP Indonesia 10-13 angka diawali 08, contoh 0812-3456-7890.',
         'nomor HP terlalu panjang'),
    Code("PHONE_FOREIGN", SALAH, '{kolom} bukan nomor Indonesia; isi nomor HP Indonesia, contoh 0812-3456-7890 atau +62 812-3456-7890.',
         'bukan nomor Indonesia'),
    Code("PHONE_INVALID", SALAH, '{kolom} bukan nomor HP Indonesia yang benar; contoh 0812-3456-7890.',
         'bukan nomor HP yang benar'),
    Code("EMAIL_DOMAIN_TYPO", PERIKSA, "{kolom}: domain '{domain}' mungkin salah ketik; maksudnya {saran}? Periksa lalu perbaiki bila perlu.",
         'domain e-mail mungkin salah ketik'),
    Code("EMAIL_INVALID", SALAH, '{kolom} tidak valid ({alasan}); contoh nama@gmail.com.',
         'alamat e-mail tidak valid'),
    Code("EMAIL_MULTIPLE", SALAH, '{kolom} berisi lebih dari satu alamat e-mail; isi satu e-mail saja, contoh nama@gmail.com.',
         'berisi lebih dari satu e-mail'),
    Code("ADDRESS_EMAIL_NONE", SALAH, '{kolom} tidak memuat alamat e-mail yang valid; tulis alamat lalu e-mail, contoh: Jl. Merdeka 1, Mukomuko; nama@gmail.com.',
         'tidak memuat alamat e-mail'),
    Code("ADDRESS_EMAIL_MULTIPLE", PERIKSA, '{kolom} memuat lebih dari satu e-mail; yang dipakai: yang pertama.',
         'memuat lebih dari satu e-mail'),
    Code("DATE_INVALID", SALAH, '{kolom} bukan tanggal yang dikenali; tulis tanggal/bulan/tahun, contoh 13/10/2023.',
         'bukan tanggal yang dikenali'),
    Code("DATE_NO_YEAR", SALAH, '{kolom} ({nilai}) belum ada tahunnya; tulis tanggal/bulan/tahun, contoh 13/10/2023.',
         'tahun belum ditulis'),
    Code("DATE_INCOMPLETE", SALAH, '{kolom} ({nilai}): tanggal belum lengkap; tulis tanggal/bulan/tahun, contoh 13/10/2023.',
         'tanggal belum lengkap'),
    Code("DATE_IMPOSSIBLE", SALAH, '{kolom} berisi tanggal yang tidak ada di kalender ({nilai}); periksa tanggal dan bulannya (Februari 28 atau 29 hari; April, Juni, September dan November 30 hari).',
         'tanggal tidak ada di kalender'),
    Code("DATE_AFTER_REPORT", SALAH, '{kolom} ({tanggal}) sesudah tanggal laporan {laporan}; periksa tanggalnya.',
         'tanggal sesudah tanggal laporan'),
    Code("DATE_TOO_EARLY", SALAH, '{kolom} ({tanggal}) terlalu lama, sebelum {batas}; periksa tahunnya.',
         'tanggal terlalu lama'),
    Code("DATE_TOO_OLD", SALAH, '{kolom} ({tanggal}) lebih dari {bulan} bulan sebelum tanggal laporan {laporan}; yang dilaporkan hanya pengguna layanan {bulan} bulan terakhir.',
         'di luar jangka waktu yang dilaporkan'),
    Code("CHOICE_INVALID", SALAH, '{kolom} tidak sesuai daftar; pilih salah satu kriteria dari {jumlah} slot ahli pada Surat Edaran: {pilihan}.',
         'tidak sesuai daftar pilihan'),
    Code("CHOICE_AMBIGUOUS", SALAH, '{kolom} cocok dengan lebih dari satu kriteria; tulis kriterianya lengkap, salah satu dari: {pilihan}.',
         'cocok dengan lebih dari satu pilihan'),
    Code("CONTACT_UNREACHABLE", PERIKSA, 'Tab ini tidak punya kolom {kolom}, sehingga KPK tidak dapat menghubungi responden ini (tanpa nomor WhatsApp atau e-mail). Tambahkan kolom tersebut di kanan tabel, lihat tab Petunjuk.',
         'tanpa kolom No HP/e-mail: KPK tidak dapat menghubungi'),
    Code("TENURE_SHORT", PERIKSA, '{kolom} ({tanggal}): baru {lama} bulan di unit kerja, kurang dari {minimal} bulan yang disyaratkan untuk responden ASN. Bila pegawai ini Non-ASN, isi Status Kepegawaian: Non-ASN.',
         'ASN kurang lama di unit kerja'),
    Code("DUPLICATE_PHONE", SALAH, '{kolom} sama dengan baris {baris}; satu orang cukup dicatat sekali.',
         'nomor HP sama dengan baris lain'),
    Code("DUPLICATE_EMAIL", SALAH, '{kolom} sama dengan baris {baris}; satu orang cukup dicatat sekali.',
         'e-mail sama dengan baris lain'),
    Code("CROSS_OPD_DUPLICATE", PERIKSA, '{kolom} juga tercatat di OPD lain; pastikan orangnya benar.',
         'juga tercatat di OPD lain'),
    Code("WB_NOT_FOUND", WORKBOOK, 'Berkas/spreadsheet OPD tidak ditemukan ({lokasi}). Periksa kolom berkas di Daftar OPD.'),
    Code("WB_UNREADABLE", WORKBOOK, 'Berkas tidak bisa dibuka ({alasan}). Buka berkasnya di Excel atau LibreOffice, lalu simpan ulang sebagai Buku Kerja Excel (.xlsx) tanpa kata sandi.'),
    Code("WB_LOCKED", WORKBOOK, 'Berkas sedang dibuka di Excel/LibreOffice; status ditulis setelah berkas ditutup.'),
    Code("WB_CHANGED", WORKBOOK, 'Berkas berubah saat diperiksa; diperiksa ulang pada siklus berikutnya.'),
    Code("WB_NO_ACCESS", WORKBOOK, 'Spreadsheet tidak dapat diakses (dihapus atau tidak dibagikan lagi ke akun pekerja).'),
    Code("WB_READ_ONLY", WORKBOOK, 'Spreadsheet hanya dapat dilihat oleh akun pekerja, sehingga status tidak dapat ditulis. Bagikan spreadsheet ini ke akun pekerja sebagai Editor.'),
    Code("WB_WRITE_FAILED", WORKBOOK, 'Status tidak dapat ditulis ({alasan}); dicoba lagi pada siklus berikutnya.'),
    Code("WB_READ_FAILED", WORKBOOK, 'Berkas tidak dapat dibaca ({alasan}); dicoba lagi pada siklus berikutnya.'),
    Code("SHEET_MISSING", WORKBOOK, "Tab '{tab}' untuk formulir {formulir} tidak ada (mungkin diganti nama atau dihapus)."),
    Code("SHEET_EXTRA", WORKBOOK, "Tab '{lain}' juga tampak seperti formulir {formulir}, tetapi yang diperiksa hanya tab '{dibaca}': baris di tab '{lain}' tidak dihitung. Pindahkan barisnya ke tab '{dibaca}', lalu hapus tab '{lain}' atau ganti namanya (mis. 'Catatan')."),
    Code("HEADER_MISSING", WORKBOOK, "Tab '{tab}': kolom {kolom} tidak ditemukan pada baris judul. Kembalikan judul kolom sesuai Lampiran III."),
    Code("HEADER_ORDER", WORKBOOK, "Tab '{tab}': urutan kolom berubah ({kolom}). Kembalikan urutan sesuai Lampiran III."),
    Code("HEADER_UNKNOWN", WORKBOOK, "Tab '{tab}': kolom '{judul}' tampaknya berisi {kolom}, tetapi judulnya tidak dikenali, sehingga isinya tidak diperiksa dan tidak masuk rekap. Ganti judulnya menjadi '{kolom}'."),
    Code("WB_TOO_LARGE", WORKBOOK, 'Berkas terlalu besar untuk diperiksa ({alasan}; batas {batas}) sehingga tidak dibuka. Hapus baris/kolom kosong yang berformat, gambar besar atau tab yang tidak dipakai, lalu simpan ulang.'),
    Code("WB_COMPRESSION", WORKBOOK, 'Isi berkas ({bagian}) {rasio} kali lebih besar daripada ukuran tersimpannya (batas {batas} kali): tanda berkas tidak wajar (bom zip), sehingga tidak dibuka. Simpan ulang dari Excel/LibreOffice setelah menghapus baris/kolom kosong yang berformat.'),
    Code("SHEET_TOO_LARGE", WORKBOOK, "Tab '{tab}' melewati batas {batas}, sehingga berkas ini tidak diperiksa. Dihitung sampai sel terisi yang terjauh (di Google Sheets: semua baris dan kolom tab, juga yang kosong): hapus baris/kolom di bawah dan di kanan data (pilih lalu Hapus), atau bagi datanya ke berkas lain."),
    Code("STATUS_MERGED", WORKBOOK, "Tab '{tab}': sel {sel} digabung (merge) menutupi kolom Status/Keterangan/Diperiksa, sehingga status tidak dapat ditulis. Pilih sel tersebut lalu batalkan penggabungan (Unmerge)."),
    Code("OPD_TIME_BUDGET", WORKBOOK, 'Pemeriksaan berkas ini melebihi batas waktu ({detik} dtk; batas {batas} dtk) sehingga dilewati; diperiksa lagi setelah berkasnya diubah. Hapus baris/kolom kosong yang berformat atau bagi datanya ke berkas lain.'),
    Code("OPD_ERROR", WORKBOOK, 'Galat tak terduga saat {langkah} berkas ini ({alasan}); OPD lain tetap diproses dan berkas ini dicoba lagi pada siklus berikutnya. Bila berulang, hubungi pengelola sistem.'),
    Code("OPD_NO_FORMS", WORKBOOK, 'OPD tidak punya formulir yang berlaku di Daftar OPD (kolom Formulir).'),
    Code("REG_LOCATION_OUTSIDE", WORKBOOK, 'Daftar OPD baris {baris}: Berkas / Tautan "{lokasi}" menunjuk ke luar folder data; berkas itu tidak dibaca dan tidak ditulis. Isi nama berkas .xlsx di folder data saja (tanpa "..", tanpa folder awal "/"), contoh {contoh}.'),
    Code("REG_LOCATION_MASTER", WORKBOOK, 'Daftar OPD baris {baris}: Berkas / Tautan menunjuk ke workbook master, bukan workbook OPD ini; tidak dibaca dan tidak ditulis. Isi berkas/tautan milik OPD ini sendiri.'),
    Code("REG_LOCATION_INVALID", WORKBOOK, 'Daftar OPD baris {baris}: Berkas / Tautan "{lokasi}" bukan tautan spreadsheet OPD yang dapat dipakai ({alasan}); tidak dibaca dan tidak ditulis. Salin tautan spreadsheet OPD ini dari Google Sheets.'),
    Code("REG_LOCATION_SHARED", WORKBOOK, 'Daftar OPD baris {baris}: Berkas / Tautan sama dengan milik OPD {opd}; satu workbook hanya untuk satu OPD. Kedua OPD tidak diperiksa sampai salah satunya diperbaiki di Daftar OPD.'),
    Code("REG_FORM_UNKNOWN", WORKBOOK, 'Daftar OPD baris {baris}, kolom Formulir: "{formulir}" tidak dikenal, jadi formulir itu tidak diperiksa (yang diperiksa: {dipakai}). Tulis kunci atau nama tab formulir dipisah koma: {pilihan}; kosong = semua formulir.'),
    Code("REG_EMAIL_INVALID", WORKBOOK, 'Daftar OPD baris {baris}, kolom {kolom}: "{alamat}" bukan alamat e-mail yang benar ({alasan}); alamat itu tidak dikirimi e-mail dan tidak diberi akses. Tulis alamat lengkap, beberapa alamat dipisah koma, contoh nama@mukomukokab.go.id.'),
)}

# Views of the catalogue by kind (row codes carry OK/PERIKSA/SALAH; workbook codes do not).
ROW_CODES: dict[str, tuple[str, str]] = {k: (c.severity, c.text) for k, c in CATALOGUE.items()
                                         if c.severity != WORKBOOK}
SHORT_TEXT: dict[str, str] = {k: c.short for k, c in CATALOGUE.items() if c.severity != WORKBOOK}
WORKBOOK_CODES: dict[str, str] = {k: c.text for k, c in CATALOGUE.items() if c.severity == WORKBOOK}


def severity(code: str) -> str:
    return CATALOGUE[code].severity


def render(code: str, **params) -> str:
    """Indonesian text for a code; unknown placeholders are left visible, never crash."""
    return CATALOGUE[code].text.format_map(_Keep(params))


class _Keep(dict):
    def __missing__(self, key):
        return "{" + key + "}"


def worst(statuses) -> str:
    best = OK
    for s in statuses:
        if SEVERITY_ORDER[s] > SEVERITY_ORDER[best]:
            best = s
    return best


# ------------------------------------------------------------- dates in words
MONTHS = ("Januari", "Februari", "Maret", "April", "Mei", "Juni", "Juli", "Agustus",
          "September", "Oktober", "November", "Desember")
DAYS = ("Senin", "Selasa", "Rabu", "Kamis", "Jumat", "Sabtu", "Minggu")


def long_date(d, weekday: bool = False) -> str:
    """15 Oktober 2023, or with the weekday: Minggu, 15 Oktober 2023."""
    text = f"{d.day} {MONTHS[d.month - 1]} {d.year}"
    return f"{DAYS[d.weekday()]}, {text}" if weekday else text


# ------------------------------------------------------------- errors in words
def explain(e: BaseException, *, filename: bool = True) -> str:
    """An exception as staff can read it, in Indonesian (never a traceback): for the
    health file, the CLI and the worker's log. Masking is the caller's (logsafe.mask)."""
    import errno as _errno

    name = type(e).__name__
    if isinstance(e, MemoryError):
        return "memori habis (MemoryError): berkas terlalu besar untuk mesin ini"
    if isinstance(e, RecursionError):
        return "struktur data terlalu dalam (RecursionError)"
    if isinstance(e, OSError):
        where = f" ({e.filename})" if e.filename and filename else ""
        words = {_errno.ENOSPC: "disk penuh", _errno.EACCES: "izin ditolak", _errno.EPERM: "izin ditolak",
                 _errno.EROFS: "sistem berkas hanya-baca", _errno.ENOENT: "tidak ditemukan",
                 _errno.EISDIR: "berupa folder, bukan berkas", _errno.ENOTDIR: "bukan folder",
                 _errno.EDQUOT: "kuota disk habis", _errno.EIO: "galat baca/tulis disk"}
        what = _known(name, str(e)) or words.get(e.errno)
        if not what:
            what = f"galat sistem berkas/jaringan ({name})"
        return f"{what}{where}"
    if isinstance(e, UnicodeError):
        return "isi berkas bukan teks UTF-8 yang benar"
    text = str(e).strip()
    known = _known(name, text)
    if known:
        return known
    return f"galat tak terduga ({name}{': ' + text[:300] if text else ''})"


def _known(name: str, text: str) -> str:
    """Errors of the libraries underneath whose English would reach staff."""
    low = text.lower()
    if name in ("OperationalError", "DatabaseError"):   # sqlite3
        if "disk is full" in low or "disk i/o" in low:
            return "disk penuh atau tidak dapat ditulis (basis data state). Kosongkan ruang disk."
        if "no such table" in low or "not a database" in low or "malformed" in low:
            return ("basis data state kosong atau rusak (mungkin sisa disk penuh). Pindahkan state.sqlite ke "
                    "tempat lain; siklus berikutnya membuatnya lagi")
        if "locked" in low:
            return "basis data state sedang dipakai proses lain; coba lagi sebentar lagi"
    if name in ("ConnectionError", "ConnectTimeout", "ReadTimeout", "Timeout", "TransportError"):
        return "jaringan tidak dapat dihubungi (periksa koneksi internet/proxy VM); dicoba lagi nanti"
    if name == "MalformedError" or "service account info" in low:
        return ("berkas kredensial Google tidak berbentuk kunci service account (client_email/token_uri "
                "tidak ada); jalankan python jobs.py --check untuk rinciannya")
    if name == "SSLError" or "wrong version number" in low:
        return "jabat-tangan TLS gagal: port dan security SMTP tidak cocok (465 = ssl, 587 = starttls)"
    if name == "SMTPNotSupportedError" and "starttls" in low:
        return "server SMTP tidak menawarkan STARTTLS: pakai security ssl (port 465) atau none (relay lokal)"
    return ""
