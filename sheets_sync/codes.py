"""The one catalogue of problem codes, with the Indonesian text staff read.

Row codes carry a severity (SALAH must be fixed, PERIKSA is accepted but worth a
look). Texts name the column ({kolom}) and what a right value looks like. Tests
assert codes, never wording, so the texts can be improved freely.
"""
from __future__ import annotations

SALAH, PERIKSA, OK = "SALAH", "PERIKSA", "OK"
SEVERITY_ORDER = {OK: 0, PERIKSA: 1, SALAH: 2}

# code: (severity, text)
ROW_CODES: dict[str, tuple[str, str]] = {
    "REQUIRED": (SALAH, "{kolom} wajib diisi."),
    "MISSING_EXPECTED": (PERIKSA, "{kolom} kosong; sebaiknya diisi agar responden dapat dihubungi KPK."),
    "CONTACT_MISSING": (SALAH, "Isi minimal salah satu: {kolom}. Tanpa keduanya KPK tidak dapat menghubungi responden."),
    "CELL_ERROR": (SALAH, "{kolom} berisi galat rumus ({nilai}); ketik nilainya langsung."),
    "TEXT_TOO_LONG": (SALAH, "{kolom} terlalu panjang ({panjang} karakter, maksimal {maks})."),
    "NAME_NO_LETTERS": (SALAH, "{kolom} harus berupa nama (huruf), bukan hanya angka atau tanda baca."),
    "PHONE_HAS_LETTERS": (SALAH, "{kolom} berisi huruf; isi angka saja, contoh 0812-3456-7890."),
    "PHONE_SCIENTIFIC": (SALAH, "{kolom} tertulis sebagai angka ilmiah (mis. 8,12E+10) sehingga angkanya sudah hilang; format sel sebagai Teks lalu ketik ulang nomornya, contoh 0812-3456-7890."),
    "PHONE_MULTIPLE": (SALAH, "{kolom} berisi lebih dari satu nomor; isi satu nomor HP WhatsApp saja."),
    "PHONE_LANDLINE": (SALAH, "{kolom} adalah nomor telepon kantor/rumah yang tidak bisa menerima WhatsApp; isi nomor HP, contoh 0812-3456-7890."),
    "PHONE_TOO_SHORT": (SALAH, "{kolom} terlalu pendek; nomor HP Indonesia 10-13 angka diawali 08, contoh 0812-3456-7890."),
    "PHONE_TOO_LONG": (SALAH, "{kolom} terlalu panjang; nomor HP Indonesia 10-13 angka diawali 08, contoh 0812-3456-7890."),
    "PHONE_FOREIGN": (SALAH, "{kolom} bukan nomor Indonesia; isi nomor HP Indonesia, contoh 0812-3456-7890 atau +62 812-3456-7890."),
    "PHONE_INVALID": (SALAH, "{kolom} bukan nomor HP Indonesia yang benar; contoh 0812-3456-7890."),
    "EMAIL_DOMAIN_TYPO": (PERIKSA, "{kolom}: domain '{domain}' mungkin salah ketik; maksudnya {saran}? Periksa lalu perbaiki bila perlu."),
    "EMAIL_INVALID": (SALAH, "{kolom} tidak valid ({alasan}); contoh nama@gmail.com."),
    "ADDRESS_EMAIL_NONE": (SALAH, "{kolom} tidak memuat alamat e-mail yang valid; tulis alamat lalu e-mail, contoh: Jl. Merdeka 1, Mukomuko; nama@gmail.com."),
    "ADDRESS_EMAIL_MULTIPLE": (PERIKSA, "{kolom} memuat lebih dari satu e-mail; yang dipakai: yang pertama."),
    "DATE_INVALID": (SALAH, "{kolom} bukan tanggal yang dikenali; tulis tanggal/bulan/tahun, contoh 13/10/2023."),
    "DATE_IMPOSSIBLE": (SALAH, "{kolom} berisi tanggal yang tidak ada di kalender ({nilai}); contoh benar 30/09/2023."),
    "DATE_AFTER_REPORT": (SALAH, "{kolom} ({tanggal}) sesudah tanggal laporan {laporan}; periksa tanggalnya."),
    "DATE_TOO_EARLY": (SALAH, "{kolom} ({tanggal}) terlalu lama, sebelum {batas}; periksa tahunnya."),
    "DATE_TOO_OLD": (SALAH, "{kolom} ({tanggal}) lebih dari 1 bulan sebelum tanggal laporan {laporan}; yang dilaporkan hanya pengguna layanan 1 bulan terakhir."),
    "CHOICE_INVALID": (SALAH, "{kolom} tidak sesuai daftar; pilih salah satu dari {jumlah} kriteria pada Surat Edaran (lihat tab Petunjuk)."),
    "DUPLICATE_PHONE": (SALAH, "{kolom} sama dengan baris {baris}; satu orang cukup dicatat sekali."),
    "DUPLICATE_EMAIL": (SALAH, "{kolom} sama dengan baris {baris}; satu orang cukup dicatat sekali."),
    "CROSS_OPD_DUPLICATE": (PERIKSA, "{kolom} juga tercatat di OPD lain ({opd}); pastikan orangnya benar."),
}

# Short meanings for e-mails: they never quote a cell value (the texts above may,
# e.g. a date), so respondents' data cannot leak into a reminder.
SHORT_TEXT: dict[str, str] = {
    "REQUIRED": "wajib diisi",
    "MISSING_EXPECTED": "kosong, sebaiknya diisi",
    "CONTACT_MISSING": "No HP dan e-mail kosong; isi minimal salah satu",
    "CELL_ERROR": "berisi galat rumus",
    "TEXT_TOO_LONG": "isian terlalu panjang",
    "NAME_NO_LETTERS": "bukan nama (tanpa huruf)",
    "PHONE_HAS_LETTERS": "nomor HP berisi huruf",
    "PHONE_SCIENTIFIC": "nomor HP tertulis sebagai angka ilmiah (angkanya hilang)",
    "PHONE_MULTIPLE": "berisi lebih dari satu nomor",
    "PHONE_LANDLINE": "nomor telepon rumah/kantor, bukan HP WhatsApp",
    "PHONE_TOO_SHORT": "nomor HP terlalu pendek",
    "PHONE_TOO_LONG": "nomor HP terlalu panjang",
    "PHONE_FOREIGN": "bukan nomor Indonesia",
    "PHONE_INVALID": "bukan nomor HP yang benar",
    "EMAIL_INVALID": "alamat e-mail tidak valid",
    "EMAIL_DOMAIN_TYPO": "domain e-mail mungkin salah ketik",
    "ADDRESS_EMAIL_NONE": "tidak memuat alamat e-mail",
    "ADDRESS_EMAIL_MULTIPLE": "memuat lebih dari satu e-mail",
    "DATE_INVALID": "bukan tanggal yang dikenali",
    "DATE_IMPOSSIBLE": "tanggal tidak ada di kalender",
    "DATE_AFTER_REPORT": "tanggal sesudah tanggal laporan",
    "DATE_TOO_EARLY": "tanggal terlalu lama",
    "DATE_TOO_OLD": "lebih dari 1 bulan sebelum tanggal laporan",
    "CHOICE_INVALID": "tidak sesuai daftar pilihan",
    "DUPLICATE_PHONE": "nomor HP sama dengan baris lain",
    "DUPLICATE_EMAIL": "e-mail sama dengan baris lain",
    "CROSS_OPD_DUPLICATE": "juga tercatat di OPD lain",
}


# Problems with a whole workbook or tab; shown in the master's Rekap.
WORKBOOK_CODES: dict[str, str] = {
    "WB_NOT_FOUND": "Berkas/spreadsheet OPD tidak ditemukan ({lokasi}). Periksa kolom berkas di Daftar OPD.",
    "WB_UNREADABLE": "Berkas tidak bisa dibuka ({alasan}). Simpan ulang sebagai .xlsx tanpa kata sandi.",
    "WB_LOCKED": "Berkas sedang dibuka di Excel/LibreOffice; status ditulis setelah berkas ditutup.",
    "WB_CHANGED": "Berkas berubah saat diperiksa; diperiksa ulang pada siklus berikutnya.",
    "WB_NO_ACCESS": "Spreadsheet tidak dapat diakses (dihapus atau tidak dibagikan lagi ke akun pekerja).",
    "WB_WRITE_FAILED": "Status tidak dapat ditulis ({alasan}); dicoba lagi pada siklus berikutnya.",
    "SHEET_MISSING": "Tab '{tab}' untuk formulir {formulir} tidak ada (mungkin diganti nama atau dihapus).",
    "HEADER_MISSING": "Tab '{tab}': kolom {kolom} tidak ditemukan pada baris judul. Kembalikan judul kolom sesuai Lampiran III.",
    "HEADER_ORDER": "Tab '{tab}': urutan kolom berubah ({kolom}). Kembalikan urutan sesuai Lampiran III.",
    "OPD_NO_FORMS": "OPD tidak punya formulir yang berlaku di Daftar OPD (kolom Formulir).",
}


def severity(code: str) -> str:
    return ROW_CODES[code][0]


def render(code: str, **params) -> str:
    """Indonesian text for a code; unknown placeholders are left visible, never crash."""
    text = ROW_CODES[code][1] if code in ROW_CODES else WORKBOOK_CODES[code]
    return text.format_map(_Keep(params))


class _Keep(dict):
    def __missing__(self, key):
        return "{" + key + "}"


def worst(statuses) -> str:
    best = OK
    for s in statuses:
        if SEVERITY_ORDER[s] > SEVERITY_ORDER[best]:
            best = s
    return best
