"""Realistic demo data: OPD workbooks in the Lampiran III layout, with real mistakes.

Used by `python -m sheets_sync demo` (make demo), by tests and by the benchmark.
Everything random goes through a caller-supplied random.Random, so one seed gives
the same rows every time. Column headers come from config/forms.yaml only; this
module refers to columns by key (and, for mistakes, by column type).
"""
from __future__ import annotations

import datetime as dt
import random
import re
from bisect import bisect
from calendar import isleap
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import accumulate
from pathlib import Path

import yaml

from sheets_sync.codes import MONTHS
from sheets_sync.fileio import read_text
from sheets_sync.validate.registry import parse_registry_csv
from sheets_sync.validate.fields import SHEETS_EPOCH
from sheets_sync.forms import FORMS_YAML, Form, FormSet, load_forms, norm_choice

OPD_CSV = FORMS_YAML.parent / "opd.example.csv"
START_MIN = dt.date(1995, 1, 1)  # earliest start date of a serving civil servant here
SERVICE_DAYS = 27  # clean service dates: well inside "the last one month" for any month
TEMPLATE_ROWS = 20  # pre-numbered rows in a blank template
DATE_FORMAT = "DD/MM/YYYY"

MONTHS_SHORT = ("Jan", "Feb", "Mar", "Apr", "Mei", "Jun", "Jul", "Agu", "Sep", "Okt", "Nov", "Des")


class _Weighted:
    """Weighted pick with precomputed cumulative weights (random.choices is slow per call)."""

    def __init__(self, pairs):
        self.items = [item for item, _ in pairs]
        self.cum = list(accumulate(w for _, w in pairs))

    def pick(self, rng: random.Random):
        return self.items[bisect(self.cum, rng.random() * self.cum[-1])]


# --- vocabulary ---------------------------------------------------------------------

# Telkomsel, Indosat, XL, Axis, Tri, Smartfren; common ones repeated for weight.
PHONE_PREFIXES = (
    "0811", "0812", "0812", "0812", "0813", "0813", "0821", "0821", "0822", "0823",
    "0851", "0852", "0852", "0852", "0853", "0853", "0877", "0878", "0817", "0818",
    "0819", "0859", "0895", "0896", "0897", "0898", "0899", "0881", "0882", "0883",
    "0884", "0885", "0886", "0887", "0888", "0889", "0856", "0857", "0814", "0815",
)
PHONE_LENGTH = _Weighted([(10, 5), (11, 22), (12, 55), (13, 18)])  # digits with the 0
PHONE_STYLE = _Weighted([("plain", 34), ("dash", 18), ("space", 10), ("intl", 8), ("62", 5),
                         ("paren", 3), ("dot", 4), ("int", 12), ("float", 6)])
DATE_STYLE = _Weighted([("cell", 74), ("slash", 8), ("dash", 4), ("long", 4), ("short", 2),
                        ("slash_unpadded", 2), ("serial", 6)])
EMAIL_DOMAIN = _Weighted([("gmail.com", 62), ("yahoo.co.id", 10), ("yahoo.com", 8),
                          ("ymail.com", 3), ("outlook.com", 5), ("hotmail.com", 3),
                          ("mukomukokab.go.id", 9)])

TITLE_PREFIX = _Weighted([("H. ", 4), ("Hj. ", 2), ("Dr. ", 1), ("dr. ", 1), ("Ir. ", 1),
                          ("Drs. ", 1), ("drg. ", 0.3)])
TITLE_SUFFIX = _Weighted([(", S.Kom", 3), (", S.E.", 4), (", S.Pd", 5), (", S.H.", 3),
                          (", S.Sos", 3), (", S.T.", 2), (", A.Md", 3), (", S.Kep", 2),
                          (", S.IP", 2), (", S.STP", 1), (", S.E., M.M.", 1), (", M.Si", 1),
                          (", S.Ag", 1), (", M.Pd", 1), (", SKM", 1), (", S.Kep., Ns.", 1)])

JABATAN = (
    "Staf", "Staf Pelaksana", "Pengadministrasi Umum", "Pengolah Data", "Operator Layanan",
    "Analis Kebijakan Ahli Muda", "Analis Kebijakan Ahli Pertama", "Pranata Komputer Ahli Pertama",
    "Pranata Komputer Terampil", "Bendahara Pengeluaran", "Bendahara Penerimaan", "Sekretaris",
    "Kepala Sub Bagian Umum dan Kepegawaian", "Kepala Sub Bagian Keuangan",
    "Kepala Seksi Pelayanan", "Kepala Bidang", "Perencana Ahli Muda", "Analis Keuangan",
    "Arsiparis Terampil", "Penyusun Laporan Keuangan", "Verifikator Keuangan", "Pengemudi",
    "Pramu Bakti", "Pengelola Barang Milik Daerah", "Pengelola Kepegawaian",
)
# Extra jabatan by a keyword of the OPD's name.
JABATAN_BY_UNIT = {
    "kesehatan": ("Perawat Ahli Pertama", "Perawat Terampil", "Bidan Terampil", "Dokter Umum",
                  "Apoteker", "Sanitarian", "Nutrisionis", "Epidemiolog Kesehatan"),
    "rumah sakit": ("Perawat Ahli Pertama", "Perawat Terampil", "Bidan Terampil", "Dokter Umum",
                    "Dokter Spesialis", "Apoteker", "Pranata Laboratorium Kesehatan", "Radiografer"),
    "pendidikan": ("Guru Kelas", "Guru Mata Pelajaran", "Pengawas Sekolah", "Penilik",
                   "Pamong Belajar"),
    "kecamatan": ("Camat", "Sekretaris Camat", "Kepala Seksi Pemerintahan",
                  "Kepala Seksi Kesejahteraan Sosial", "Kepala Seksi Trantib"),
    "inspektorat": ("Auditor Ahli Muda", "Auditor Ahli Pertama", "Inspektur Pembantu",
                    "Pengawas Penyelenggara Urusan Pemerintahan di Daerah Ahli Muda"),
    "pengadaan": ("Pengelola Pengadaan Barang/Jasa Ahli Pertama",
                  "Pengelola Pengadaan Barang/Jasa Ahli Muda", "Pokja Pemilihan"),
    "kependudukan": ("Administrator Database Kependudukan", "Operator SIAK"),
    "polisi": ("Polisi Pamong Praja Terampil", "Petugas Pemadam Kebakaran", "Komandan Regu"),
}

# Services the public receives, by a keyword of the OPD's name.
LAYANAN_BY_UNIT = {
    "kependudukan": ("Pembuatan KTP-el", "Kartu Keluarga", "Akta Kelahiran", "Akta Kematian",
                     "Kartu Identitas Anak (KIA)", "Surat Keterangan Pindah", "Legalisir Akta"),
    "kesehatan": ("Rujukan BPJS", "Pemeriksaan di Puskesmas", "Imunisasi Anak",
                  "Surat Izin Praktik Tenaga Kesehatan", "Surat Keterangan Sehat"),
    "rumah sakit": ("Rawat Jalan Poli Penyakit Dalam", "Rawat Inap", "Rujukan BPJS",
                    "Pemeriksaan Laboratorium", "Instalasi Gawat Darurat", "Poli Anak"),
    "penanaman modal": ("Persetujuan Bangunan Gedung (PBG)", "Izin Mendirikan Bangunan/PBG",
                        "Nomor Induk Berusaha (NIB)", "Izin Reklame", "Surat Izin Praktik Bidan"),
    "kecamatan": ("Surat Keterangan Usaha", "Surat Keterangan Tidak Mampu",
                  "Surat Keterangan Ahli Waris", "Surat Keterangan Domisili", "Legalisasi Dokumen"),
    "sosial": ("Pendaftaran DTKS", "Rekomendasi PBI-JK", "Bantuan Sosial Korban Bencana",
               "Surat Keterangan Tidak Mampu"),
    "pendidikan": ("Legalisir Ijazah", "Surat Keterangan Pengganti Ijazah", "Mutasi Siswa",
                   "Izin Operasional PAUD"),
    "pekerjaan umum": ("Rekomendasi Teknis PBG", "Keterangan Rencana Kota (KRK)",
                       "Izin Pemanfaatan Jalan", "Pengaduan Jalan Rusak"),
    "pengadaan": ("Konsultasi Pengadaan", "Pendaftaran Akun SPSE", "Verifikasi Penyedia"),
    "inspektorat": ("Pengaduan Masyarakat", "Konsultasi Pengelolaan Keuangan Desa"),
}
LAYANAN = ("Permohonan Informasi Publik (PPID)", "Pengaduan Masyarakat", "Konsultasi",
           "Surat Rekomendasi", "Legalisir Dokumen")

BUSINESS_TYPE = _Weighted([("CV. ", 40), ("CV ", 20), ("PT. ", 25), ("PT ", 10), ("UD. ", 5)])
BUSINESS_WORD1 = ("Maju", "Bumi", "Karya", "Sinar", "Cahaya", "Mitra", "Putra", "Anugerah",
                  "Berkah", "Mega", "Tunas", "Sumber", "Bintang", "Rafflesia", "Selagan",
                  "Bengkulu", "Mukomuko", "Harapan", "Citra", "Tiga Saudara")
BUSINESS_WORD2 = ("Jaya", "Mandiri", "Abadi", "Sejahtera", "Bersama", "Utama", "Perkasa",
                  "Lestari", "Makmur", "Konstruksi", "Teknik", "Sentosa", "Persada")
PLACES = ("Mukomuko", "Kota Mukomuko", "Lubuk Pinang", "Penarik", "Ipuh", "Teras Terunjam",
          "Air Rami", "Selagan Raya", "Teramang Jaya", "Kota Bengkulu")
# Streets of a Sumatran regency town (Faker's id_ID streets are mostly Javanese cities).
STREETS = ("Jl. Sudirman", "Jl. Jenderal Sudirman", "Jl. Ahmad Yani", "Jl. Imam Bonjol",
           "Jl. Lintas Barat Sumatera", "Jl. Pahlawan", "Jl. Merdeka", "Jl. Diponegoro",
           "Jl. Hasanuddin", "Jl. Gajah Mada", "Jl. Ki Hajar Dewantara", "Jl. Pasar Bantal",
           "Jl. Soekarno-Hatta", "Jl. Kapten Tendean", "Jl. Sultan Syahrir", "Jl. Bandar Ratu",
           "Jl. Perintis Kemerdekaan", "Jl. Veteran", "Jl. Flamboyan", "Jl. Melati",
           "Jl. Raya Lubuk Pinang", "Jl. Raya Ipuh", "Jl. Koto Jaya", "Jl. Air Dikit")
ADDRESS_EMAIL_SEP = _Weighted([("; ", 60), (", email: ", 15), (" - ", 10), ("\n", 10), (" / ", 5)])

# Expert institution and position, by a keyword of the criterion text.
EKSPER_BY_KRITERIA = (
    ("pensiunan", ("Purnabakti Pemerintah Kabupaten Mukomuko", "Purnabakti Pemprov Bengkulu"),
     ("Mantan Sekretaris Daerah", "Mantan Kepala Dinas Pendidikan", "Mantan Asisten I")),
    ("bpk", ("BPK Perwakilan Bengkulu", "BPK RI Perwakilan Provinsi Bengkulu"),
     ("Pemeriksa Ahli Muda", "Pemeriksa Ahli Pertama", "Ketua Tim Pemeriksa")),
    ("ombudsman", ("Ombudsman RI Perwakilan Bengkulu",),
     ("Kepala Perwakilan", "Asisten Pemeriksaan Laporan")),
    ("pengusaha", ("KADIN Kabupaten Mukomuko", "HIPMI Mukomuko", "APINDO Bengkulu"),
     ("Ketua", "Wakil Ketua", "Sekretaris")),
    ("dprd", ("DPRD Kab. Mukomuko",), ("Ketua DPRD", "Wakil Ketua DPRD", "Ketua Komisi I")),
    ("aktivis", ("Forum Pemuda Peduli Mukomuko", "Aliansi Mahasiswa Mukomuko"),
     ("Koordinator", "Ketua")),
    ("kepolisian", ("Polres Mukomuko",), ("Kasat Reskrim", "Kanit Tipikor", "Kasat Intelkam")),
    ("kejaksaan", ("Kejari Mukomuko",), ("Kasi Intelijen", "Kasi Pidana Khusus")),
    ("pengadilan", ("PN Mukomuko",), ("Panitera", "Hakim", "Sekretaris")),
    ("jurnalis", ("Harian Rakyat Bengkulu", "Radar Mukomuko", "RRI Bengkulu"),
     ("Wartawan", "Pemimpin Redaksi", "Kepala Biro Mukomuko")),
    ("donor", ("GIZ Indonesia", "Yayasan Kemitraan Daerah"), ("Program Advisor", "Koordinator Program")),
    ("lsm", ("LSM Peduli Transparansi Bengkulu", "Forum Warga Antikorupsi Mukomuko"),
     ("Ketua", "Direktur Eksekutif")),
)
KRITERIA_SHORT = ("Wartawan", "Auditor", "BPK", "Polres", "LSM", "Pengusaha", "Akademisi",
                  "Tokoh Masyarakat")
CELL_ERRORS = ("#REF!", "#N/A", "#VALUE!", "#NAME?")


@dataclass(frozen=True)
class _Pools:
    male: tuple[str, ...]
    female: tuple[str, ...]
    last_male: tuple[str, ...]
    last_female: tuple[str, ...]


def _distinct(fn, n: int) -> tuple[str, ...]:
    # dict keeps first-seen order, so the pool is the same in every process
    seen: dict[str, None] = {}
    for _ in range(n * 10):
        seen.setdefault(fn(), None)
        if len(seen) >= n:
            break
    return tuple(seen)


@lru_cache(maxsize=1)
def _pools() -> _Pools:
    """Faker is slow per call; draw its Indonesian names once and combine them per row."""
    from faker import Faker

    fake = Faker("id_ID")
    fake.seed_instance(20231015)
    return _Pools(
        male=_distinct(fake.first_name_male, 400), female=_distinct(fake.first_name_female, 200),
        last_male=_distinct(fake.last_name_male, 100), last_female=_distinct(fake.last_name_female, 100),
    )


# --- the generator state --------------------------------------------------------------

@dataclass
class _Gen:
    form: Form
    rng: random.Random
    as_of: dt.date
    unit: str
    pools: _Pools
    phones: set = field(default_factory=set)  # canonical numbers drawn, to avoid collisions
    emails: set = field(default_factory=set)  # casefolded addresses drawn
    sources: dict = field(default_factory=dict)  # column key -> clean earlier values (for duplicates)
    row: dict = field(default_factory=dict)  # the row being built; mistakes edit it in place

    def key(self, ctype: str) -> str | None:
        cols = self.form.of_type(ctype)
        return cols[0].key if cols else None


def _by_unit(unit: str, table: dict, default: tuple) -> tuple:
    u = unit.casefold()
    return next((v for k, v in table.items() if k in u), ()) + default


# --- values ---------------------------------------------------------------------------

def _new_phone(g: _Gen) -> str:
    """A fresh mobile number as canonical digits 08..., never one drawn before."""
    rng = g.rng
    while True:
        prefix = rng.choice(PHONE_PREFIXES)
        rest = PHONE_LENGTH.pick(rng) - 4
        number = prefix + str(rng.randrange(10 ** (rest - 1), 10 ** rest))
        if number not in g.phones:
            g.phones.add(number)
            return number


def _groups(d: str) -> tuple[str, str, str]:
    rest = d[4:]
    k = 4 if len(rest) >= 8 else len(rest) // 2
    return d[:4], rest[:k], rest[k:]


def render_phone(d: str, style: str):
    """Canonical 08... digits the way someone typed them (or the way Sheets mangled them)."""
    a, b, c = _groups(d)
    return {
        "plain": lambda: d, "dash": lambda: f"{a}-{b}-{c}", "space": lambda: f"{a} {b} {c}",
        "dot": lambda: f"{a}.{b}.{c}", "intl": lambda: f"+62 {a[1:]}-{b}-{c}",
        "62": lambda: "62" + d[1:], "paren": lambda: f"({a}) {b}-{c}",
        "int": lambda: int(d), "float": lambda: float(int(d)),
    }[style]()


def _phone_cell(g: _Gen):
    return render_phone(_new_phone(g), PHONE_STYLE.pick(g.rng))


def _date_cell(g: _Gen, d: dt.date):
    style = DATE_STYLE.pick(g.rng)
    if style == "cell":
        return dt.datetime(d.year, d.month, d.day)
    if style == "serial":
        return (d - SHEETS_EPOCH).days
    return {
        "slash": f"{d.day:02d}/{d.month:02d}/{d.year}", "dash": f"{d.day:02d}-{d.month:02d}-{d.year}",
        "long": f"{d.day} {MONTHS[d.month - 1]} {d.year}",
        "short": f"{d.day} {MONTHS_SHORT[d.month - 1]} {d.year}",
        "slash_unpadded": f"{d.day}/{d.month}/{d.year}",
    }[style]


def _days_before(g: _Gen, lo: int, hi: int) -> dt.date:
    return g.as_of - dt.timedelta(days=g.rng.randint(lo, hi))


def _person(g: _Gen, titled: float) -> tuple[str, list[str]]:
    """(name as written in the cell, the bare words for an e-mail address)."""
    rng, p = g.rng, g.pools
    male = rng.random() < 0.55
    words = [rng.choice(p.male if male else p.female)]
    if male and rng.random() < 0.06:
        words.insert(0, "Muhammad")
    if rng.random() < 0.85:
        words.append(rng.choice(p.last_male if male else p.last_female))
    name = " ".join(words)
    if rng.random() < titled:
        if rng.random() < 0.2:
            prefix = TITLE_PREFIX.pick(rng)
            if prefix in ("H. ", "Hj. "):  # Haji for men, Hajjah for women
                prefix = "H. " if male else "Hj. "
            name = prefix + name
        if rng.random() < 0.85:
            name += TITLE_SUFFIX.pick(rng)
    return name, words


def _email(g: _Gen, words: list[str], domain: str | None = None) -> str:
    rng = g.rng
    w = [x for x in (re.sub(r"[^a-z]", "", x.lower()) for x in words) if x] or ["warga"]
    first, last = w[0], w[-1]
    n = str(rng.randint(1, 99)) if rng.random() < 0.5 else str(rng.randint(1970, 2005))
    patterns = (f"{first}.{last}", f"{first}{last}", f"{first}_{last}", f"{first}.{last}{n}",
                f"{first}{n}", f"{first[0]}{last}", f"{last}.{first}") if len(w) > 1 else (f"{first}{n}", f"{first}.{n}")
    local = rng.choice(patterns)
    domain = domain or EMAIL_DOMAIN.pick(rng)
    address = f"{local}@{domain}"
    while address.casefold() in g.emails:  # a namesake already took it: add digits, as people do
        address = f"{local}{rng.randint(1, 999)}@{domain}"
    g.emails.add(address.casefold())
    if rng.random() < 0.05:  # some type with capitals; addresses are case-insensitive
        address = address.title() if rng.random() < 0.7 else address.upper()
    return address


# --- one clean row per form -----------------------------------------------------------

def _row_pegawai(g: _Gen, i: int) -> dict:
    name, words = _person(g, titled=0.45)
    start = dt.date.fromordinal(g.rng.randint(START_MIN.toordinal(), g.as_of.toordinal() - 1))
    return {"no": i, "unit_kerja": g.unit, "nama": name, "tanggal_mulai": _date_cell(g, start),
            "jabatan": g.rng.choice(_by_unit(g.unit, JABATAN_BY_UNIT, JABATAN)),
            "no_hp": _phone_cell(g), "email": _email(g, words)}


def _row_pengguna(g: _Gen, i: int) -> dict:
    name, words = _person(g, titled=0.05)
    return {"no": i, "unit_kerja": g.unit,
            "nama_layanan": g.rng.choice(_by_unit(g.unit, LAYANAN_BY_UNIT, LAYANAN)),
            "tanggal_layanan": _date_cell(g, _days_before(g, 0, SERVICE_DAYS)),
            "nama": name, "no_hp": _phone_cell(g), "email": _email(g, words)}


def _address(g: _Gen) -> str:
    rng = g.rng
    return f"{rng.choice(STREETS)} No. {rng.randint(1, 150)}, {rng.choice(PLACES)}"


def _row_penyedia(g: _Gen, i: int) -> dict:
    rng = g.rng
    kind, w1, w2 = BUSINESS_TYPE.pick(rng), rng.choice(BUSINESS_WORD1), rng.choice(BUSINESS_WORD2)
    usaha = f"{kind}{w1} {w2}" + (" Abadi" if rng.random() < 0.1 and w2 != "Abadi" else "")
    name, words = _person(g, titled=0.15)
    # Companies often use a mailbox named after the firm, otherwise the contact's own.
    mail_words = [kind.strip(" .").lower() + w1.replace(" ", ""), w2] if rng.random() < 0.5 else words
    mail = _email(g, mail_words, rng.choice(("gmail.com", "gmail.com", "yahoo.co.id")))
    return {"no": i, "unit_kerja": g.unit, "nama_usaha": usaha, "nama_cp": name,
            "alamat_email": _address(g) + ADDRESS_EMAIL_SEP.pick(rng) + mail}


def _kriteria(g: _Gen) -> tuple[str, ...]:
    return tuple(g.form.of_type("choice")[0].rules["choices"])


def _row_eksper(g: _Gen, i: int) -> dict:
    slots = _kriteria(g)
    kriteria = slots[(i - 1) % len(slots)]
    low = kriteria.casefold()
    instansi, jabatan = next(((ins, jab) for k, ins, jab in EKSPER_BY_KRITERIA if k in low),
                             (("Universitas Bengkulu",), ("Dosen",)))
    name, words = _person(g, titled=0.7)
    return {"no": i, "kriteria": kriteria, "nama": name, "instansi": g.rng.choice(instansi),
            "jabatan": g.rng.choice(jabatan), "no_hp": _phone_cell(g), "email": _email(g, words)}


ROW_BUILDERS = {"pegawai": _row_pegawai, "pengguna_layanan": _row_pengguna,
                "penyedia_pbj": _row_penyedia, "eksper": _row_eksper}


# --- mistakes: each returns False when it does not apply to this form/row -----------

def _set(g: _Gen, ctype: str, value) -> bool:
    key = g.key(ctype)
    if key is None:
        return False
    g.row[key] = value
    return True


def _digits(rng: random.Random, n: int) -> str:
    return "".join(rng.choice("0123456789") for _ in range(n))


def _flaw_landline(g):
    area = g.rng.choice(("0736", "0737", "021", "0751"))  # Bengkulu, Mukomuko, Jakarta, Padang
    return _set(g, "phone", f"{area}-{_digits(g.rng, 7 if area == '021' else 5)}")


def _flaw_phone_short(g):
    return _set(g, "phone", "08" + _digits(g.rng, g.rng.randint(4, 6)))


def _flaw_phone_long(g):
    return _set(g, "phone", "08" + _digits(g.rng, g.rng.randint(12, 13)))


def _flaw_phone_letters(g):
    typed = render_phone(_new_phone(g), "dash")
    spots = [j for j, ch in enumerate(typed) if ch in "01"]
    j = g.rng.choice(spots)
    return _set(g, "phone", typed[:j] + ("O" if typed[j] == "0" else "l") + typed[j + 1:])


def _flaw_phone_multiple(g):
    sep = g.rng.choice((" / ", ", ", " atau ", "; "))
    return _set(g, "phone", render_phone(_new_phone(g), "plain") + sep + render_phone(_new_phone(g), "dash"))


def _flaw_phone_missing(g):
    return _set(g, "phone", None)


def _flaw_phone_foreign(g):
    rng = g.rng
    return _set(g, "phone", rng.choice((
        f"+60 1{rng.randint(0, 9)}-{_digits(rng, 3)} {_digits(rng, 4)}",  # Malaysia
        f"+65 9{_digits(rng, 3)} {_digits(rng, 4)}",  # Singapore
        f"+966 5{_digits(rng, 1)} {_digits(rng, 3)} {_digits(rng, 4)}",  # Saudi (hajj/umrah staff)
    )))


def _flaw_email_invalid(g):
    key = g.key("email")
    if key is None or not g.row.get(key):
        return False
    local, _, domain = g.row[key].partition("@")
    host = domain.split(".")[0]
    g.row[key] = g.rng.choice((f"{local}@{host}", f"{local} {domain}", f"{local}@@{domain}",
                               f"{local}@{domain.replace('.', '..', 1)}", f"{local}.@{domain}"))
    return True


def _flaw_email_missing(g):
    return _set(g, "email", None)


def _date_key(g, rule: str | None = None) -> str | None:
    return next((c.key for c in g.form.of_type("date") if rule is None or c.rules.get(rule)), None)


def _flaw_date_impossible(g):
    key = _date_key(g)
    if key is None:
        return False
    days = [(31, 4), (31, 6), (31, 9), (31, 11), (30, 2)] + ([] if isleap(g.as_of.year) else [(29, 2)])
    d, m = g.rng.choice(days)
    sep = g.rng.choice("/-")
    g.row[key] = f"{d:02d}{sep}{m:02d}{sep}{g.as_of.year}"  # e.g. 31/09/2023
    return True


def _flaw_date_future(g):
    key = _date_key(g, "not_after_report")
    if key is None:
        return False
    g.row[key] = _date_cell(g, g.as_of + dt.timedelta(days=g.rng.randint(1, 90)))
    return True


def _flaw_date_old(g):
    key = _date_key(g, "max_age_months")
    if key is None:
        return False
    g.row[key] = _date_cell(g, _days_before(g, 62, 92))
    return True


def _flaw_name_not_name(g):
    return _set(g, "name", g.rng.choice(("-", _digits(g.rng, g.rng.randint(3, 6)), "0")))


def _flaw_required_missing(g):
    keys = [c.key for c in g.form.of_type("text") if c.required]
    if not keys:
        return False
    g.row[g.rng.choice(keys)] = None
    return True


def _flaw_duplicate(g, ctype: str) -> bool:
    key = g.key(ctype)
    earlier = g.sources.get(key) if key else None
    if not earlier:
        return False
    value = g.rng.choice(earlier)
    if ctype == "phone" and g.rng.random() < 0.5:  # the same number typed differently
        value = render_phone(_canonical_phone(value), PHONE_STYLE.pick(g.rng))
    g.row[key] = value
    return True


def _flaw_cell_error(g):
    keys = [c.key for c in g.form.of_type("text", "name")]
    g.row[g.rng.choice(keys)] = g.rng.choice(CELL_ERRORS)
    return True


def _flaw_spaces(g):
    """Stray spaces: not an error, the validator should quietly trim them."""
    keys = [c.key for c in g.form.of_type("text", "name") if isinstance(g.row.get(c.key), str)]
    if not keys:
        return False
    key = g.rng.choice(keys)
    value = g.row[key].replace(" ", "  ", 1)
    g.row[key] = g.rng.choice((" ", "  ", "")) + value + g.rng.choice((" ", "  "))
    return True


def _flaw_address_no_email(g):
    return _set(g, "address_email", _address(g))


def _flaw_kriteria(g):
    key = g.key("choice")
    if key is None:
        return False
    g.row[key] = g.rng.choice(KRITERIA_SHORT) if g.rng.random() < 0.5 else _typo(g)
    return True


def _typo(g) -> str:
    """Drop one letter of the slot's text, making sure the result matches no choice or alias."""
    col = g.form.of_type("choice")[0]
    known = {norm_choice(t) for t in col.rules.get("choices", [])}
    known |= {norm_choice(t) for t in col.rules.get("choice_aliases", {})}
    text = g.row[col.key] or ""
    for _ in range(20):
        j = g.rng.randrange(len(text))
        typo = text[:j] + text[j + 1:]
        if text[j].isalpha() and norm_choice(typo) not in known:
            return typo
    return g.rng.choice(KRITERIA_SHORT)


# name, weight, function. Weights: phones are where most real mistakes happen.
FLAWS = (
    ("phone_landline", 6, _flaw_landline), ("phone_short", 5, _flaw_phone_short),
    ("phone_long", 3, _flaw_phone_long), ("phone_letters", 3, _flaw_phone_letters),
    ("phone_multiple", 4, _flaw_phone_multiple), ("phone_missing", 4, _flaw_phone_missing),
    ("phone_foreign", 1, _flaw_phone_foreign), ("email_invalid", 8, _flaw_email_invalid),
    ("email_missing", 6, _flaw_email_missing), ("date_impossible", 3, _flaw_date_impossible),
    ("date_future", 3, _flaw_date_future), ("date_old", 6, _flaw_date_old),
    ("name_not_name", 3, _flaw_name_not_name), ("required_missing", 4, _flaw_required_missing),
    ("duplicate_phone", 4, lambda g: _flaw_duplicate(g, "phone")),
    ("duplicate_email", 3, lambda g: _flaw_duplicate(g, "email")),
    ("cell_error", 2, _flaw_cell_error), ("spaces", 6, _flaw_spaces),
    ("address_no_email", 12, _flaw_address_no_email), ("kriteria", 12, _flaw_kriteria),
)
_FLAW_PICK = _Weighted([((name, fn), w) for name, w, fn in FLAWS])


def _apply_flaw(g: _Gen) -> str:
    # Draw until one applies to this form and row; "spaces" applies to every form.
    for _ in range(30):
        name, fn = _FLAW_PICK.pick(g.rng)
        if fn(g):
            return name
    return "spaces" if _flaw_spaces(g) else ""


def _canonical_phone(value) -> str:
    """Canonical 08... digits of a clean phone cell (only used on values this module made)."""
    digits = re.sub(r"\D", "", str(int(value)) if isinstance(value, (int, float)) else value)
    if digits.startswith("62"):
        digits = digits[2:]
    return digits if digits.startswith("0") else "0" + digits


# --- public API -----------------------------------------------------------------------

def generate_rows(form_key: str, n: int, *, as_of: dt.date, rng: random.Random,
                  flaw_rate: float = 0.1, unit: str = "Dinas Kesehatan",
                  forms: FormSet | None = None) -> list[dict]:
    """n rows of a form as spreadsheet cell values, keyed by column key; `no` is 1..n.

    With probability flaw_rate a row carries one realistic mistake. Eksper rows walk
    the criterion slots in the order of forms.yaml (and start over after the last).
    """
    form = (forms or load_forms())[form_key]
    g = _Gen(form=form, rng=rng, as_of=as_of, unit=unit, pools=_pools())
    build = ROW_BUILDERS[form_key]
    contact_keys = [k for k in (g.key("phone"), g.key("email")) if k]
    rows = []
    for i in range(1, n + 1):
        g.row = build(g, i)
        before = [g.row.get(k) for k in contact_keys]
        if flaw_rate and rng.random() < flaw_rate:
            _apply_flaw(g)
        # Only values that stayed clean may be copied by the duplicate mistake later.
        for k, v in zip(contact_keys, before):
            if v is not None and g.row.get(k) is v:
                g.sources.setdefault(k, []).append(v)
        rows.append({key: g.row.get(key) for key in form.keys})
    return rows


def generate_frame(form_key: str, n: int, **kw):
    """generate_rows as a DataFrame (columns = column keys, dtype object), for benchmarks."""
    import pandas as pd

    form = (kw.get("forms") or load_forms())[form_key]
    return pd.DataFrame(generate_rows(form_key, n, **kw), columns=form.keys, dtype=object)


def template_rows(form_key: str, n: int = TEMPLATE_ROWS, *, start: int = 1,
                  forms: FormSet | None = None) -> list[dict]:
    """Blank pre-numbered rows, as templates come; eksper gets its criterion slots prefilled."""
    form = (forms or load_forms())[form_key]
    choice = next((c for c in form.columns if c.prefilled and c.type == "choice"), None)
    if choice is not None:
        slots = choice.rules["choices"]
        return [{"no": i, choice.key: slots[i - 1]} for i in range(start, len(slots) + 1)]
    return [{"no": i} for i in range(start, start + n)]


# --- workbooks ------------------------------------------------------------------------

def _cell(ws, value, font=None):
    """Plain values go in as they are; dates get the Indonesian format; '=' text stays text."""
    from openpyxl.cell import WriteOnlyCell

    is_date = isinstance(value, (dt.date, dt.datetime))
    is_formula_like = isinstance(value, str) and value.startswith("=")
    if not (is_date or is_formula_like or font):
        return value
    cell = WriteOnlyCell(ws, value=value)
    if is_date:
        cell.number_format = DATE_FORMAT
    if is_formula_like:
        cell.data_type = "s"  # a typed '=...' must never become a live formula
    if font:
        cell.font = font
    return cell


def _width(header: str, values) -> float:
    longest = max([len(header)] + [len(str(v)) for v in values if v is not None])
    return float(min(max(longest + 2, 6), 45))


def write_opd_workbook(path, form_keys, rows_by_form: dict, *, forms: FormSet | None = None) -> Path:
    """One OPD workbook: per form a sheet with the title row, the header row, data from row 3."""
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    fs = forms or load_forms()
    bold = Font(bold=True)
    wb = Workbook(write_only=True)  # streams rows: fine for a 300,000-row sheet too
    for key in form_keys:
        form = fs[key]
        rows = rows_by_form.get(key) or []
        ws = wb.create_sheet(form.sheet)
        headers = [c.header for c in form.columns] + list(fs.status_headers.values())
        sample = rows[:200]
        for j, col in enumerate(form.columns, start=1):
            ws.column_dimensions[get_column_letter(j)].width = _width(col.header, (r.get(col.key) for r in sample))
        for j, width in enumerate((10, 60, 18), start=len(form.columns) + 1):  # Status, Keterangan, Diperiksa
            ws.column_dimensions[get_column_letter(j)].width = width
        ws.freeze_panes = "A3"  # title and header stay visible while scrolling
        ws.append([_cell(ws, form.title, bold)])
        ws.append([_cell(ws, h, bold) for h in headers])
        for i, row in enumerate(rows, start=1):
            values = [row.get(c.key) for c in form.columns]
            if values and values[0] is None and form.columns[0].type == "row_number":
                values[0] = i  # templates come pre-numbered
            ws.append([_cell(ws, v) for v in values])
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)
    return path


def fill_opd_book(book, rows_by_form: dict, *, forms: FormSet | None = None):
    """The demo rows typed into a provisioned workbook (an openpyxl book; its Petunjuk,
    validations, protection and colours kept): from the row under each form's header,
    each cell styled by its column as a cell a person types in would be."""
    from sheets_sync.stores.xlsxio import like_column, set_value

    fs = forms or load_forms()
    for key, rows in rows_by_form.items():
        form = fs[key]
        ws = next(w for w in book.worksheets if form.matches_sheet(w.title))
        first = next(r for r in range(1, 31) if ws.cell(r, 1).value == form.columns[0].header) + 1
        for i, row in enumerate(rows, start=1):
            values = [row.get(c.key) for c in form.columns]
            if values and values[0] is None and form.columns[0].type == "row_number":
                values[0] = i  # templates come pre-numbered
            for j, v in enumerate(values, start=1):
                if v is not None:
                    like_column(ws, set_value(ws, first + i - 1, j, v))
    return book


@lru_cache(maxsize=1)
def _registry_spec() -> tuple[str, tuple[tuple[str, str], ...]]:
    """(sheet name, ((key, header), ...)) of the registry, from forms.yaml."""
    with open(FORMS_YAML, encoding="utf-8") as f:
        reg = yaml.safe_load(f)["registry"]
    return reg["sheet"], tuple((c["key"], str(c["header"])) for c in reg["columns"])


def write_master(path, registry_rows: list[dict]) -> Path:
    """master.xlsx with only the registry tab; the worker adds Rekap and the rest."""
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    sheet, cols = _registry_spec()
    wb = Workbook()
    ws = wb.active
    ws.title = sheet
    ws.append([h for _, h in cols])
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for row in registry_rows:
        ws.append([row.get(k) for k, _ in cols])
    for j, (key, header) in enumerate(cols, start=1):
        ws.column_dimensions[get_column_letter(j)].width = _width(header, (r.get(key) for r in registry_rows))
    ws.freeze_panes = "A2"
    from sheets_sync.stores.xlsxio import print_to_width
    print_to_width(ws)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)
    return path


# --- the demo regency -----------------------------------------------------------------

def _read_registry_csv(path=None) -> list[dict]:
    fs = load_forms()
    keys = [c["key"] for c in fs.registry["columns"]]
    rows = parse_registry_csv(read_text(path or OPD_CSV), fs)
    return [dict(zip(keys, row)) for row in rows]


def form_keys_of(reg: dict, forms: FormSet | None = None) -> list[str]:
    """The forms an OPD fills: its Formulir cell (keys or tab names), empty meaning all."""
    fs = forms or load_forms()
    names = [t.strip() for t in re.split(r"[,;]", reg.get("formulir") or "") if t.strip()]
    if not names:
        return [f.key for f in fs]
    return [f.key for f in fs if any(n == f.key or f.matches_sheet(n) for n in names)]


def registry_rows(n_opds: int | None = None, *, path=None) -> list[dict]:
    """The first n_opds OPDs of config/opd.example.csv (all when None), in CSV order.

    The OPD with the eksper form (Inspektorat) is always in, and from 4 OPDs on the one
    with penyedia_pbj (procurement), so every form shows up in a small demo.
    """
    rows = _read_registry_csv(path)
    if n_opds is None or n_opds >= len(rows):
        return rows
    must = []
    for form_key, from_n in (("eksper", 1), ("penyedia_pbj", 4)):
        hit = next((r for r in rows if form_key in form_keys_of(r)), None)
        if hit is not None and n_opds >= from_n and hit not in must:
            must.append(hit)
    others = [r for r in rows if r not in must][: max(n_opds - len(must), 0)]
    chosen = {id(r) for r in must[:n_opds] + others}
    return [r for r in rows if id(r) in chosen]


def _progress_plan(regs: list[dict], rng: random.Random) -> dict[str, str]:
    """kode -> not_started | clean | in_progress: about one OPD in six has not started.

    The OPDs carrying the rarer forms (eksper, penyedia) stay in progress so those
    forms always show data with mistakes.
    """
    plain = [r["kode"] for r in regs if set(form_keys_of(r)) <= {"pegawai", "pengguna_layanan"}]
    rng.shuffle(plain)
    idle = plain[: round(len(regs) / 6)]
    clean = plain[len(idle): len(idle) + 1]
    return {r["kode"]: "not_started" if r["kode"] in idle else "clean" if r["kode"] in clean
            else "in_progress" for r in regs}


def _opd_rows(form_key: str, progress: str, rng: random.Random, as_of, unit: str, fs) -> list[dict]:
    if progress == "not_started":
        return template_rows(form_key, forms=fs)
    is_slots = any(c.prefilled and c.type == "choice" for c in fs[form_key].columns)
    if is_slots:  # eksper: fill some or all of the criterion slots, the rest stay prefilled
        n = len(template_rows(form_key, forms=fs))
        filled = n if progress == "clean" else rng.randint(n - 4, n)
    else:
        filled = rng.randint(15, 60)
    flaw_rate = 0.0 if progress == "clean" else 0.1
    rows = generate_rows(form_key, filled, as_of=as_of, rng=rng, flaw_rate=flaw_rate, unit=unit, forms=fs)
    trailing = 0 if progress == "clean" else rng.randint(0, 10)
    return rows + template_rows(form_key, trailing, start=filled + 1, forms=fs)


def _share_a_citizen(plans: dict, rows: dict, fs) -> None:
    """The same citizen served by two OPDs: a cross-OPD duplicate the master should point at."""
    key = "pengguna_layanan"
    if key not in fs.forms:
        return
    busy = [k for k, p in plans.items() if p == "in_progress" and rows[k].get(key)]
    if len(busy) < 2:
        return
    src, dst = rows[busy[0]][key][0], rows[busy[1]][key]
    person = [c.key for c in fs[key].columns if c.person or c.type in ("phone", "email")]
    dst[0].update({k: src.get(k) for k in person})


def _filled(rows: list[dict], form: Form) -> int:
    blank_ok = {c.key for c in form.columns if c.prefilled}
    return sum(any(v is not None for k, v in r.items() if k not in blank_ok) for r in rows)


def demo_plan(n_opds: int, *, as_of: dt.date, seed: int = 2023):
    """(registry rows, {kode: {form_key: rows}}, {kode: progress}) for n_opds demo OPDs:
    the data of the demo, whatever backend it is written to."""
    fs = load_forms()
    regs = registry_rows(n_opds)
    plans = _progress_plan(regs, random.Random(seed))
    rows: dict[str, dict[str, list[dict]]] = {}
    for reg in regs:
        # One generator per OPD, seeded by its code: adding an OPD leaves the others alone.
        rng = random.Random(f"{seed}:{reg['kode']}")
        rows[reg["kode"]] = {k: _opd_rows(k, plans[reg["kode"]], rng, as_of, reg["nama"], fs)
                             for k in form_keys_of(reg, fs)}
    _share_a_citizen(plans, rows, fs)
    return regs, rows, plans


def generate_demo(out_dir, n_opds: int = 8, *, as_of: dt.date, seed: int = 2023) -> dict:
    """Workbooks of n_opds demo OPDs in out_dir/data/ plus master.xlsx with the registry.

    Returns {"opds": [kode...], "data_dir": str, "master": str,
             "progress": {kode: not_started|clean|in_progress},
             "rows": {kode: {form_key: filled rows}}}.
    """
    fs = load_forms()
    data_dir = Path(out_dir) / "data"
    regs, rows, plans = demo_plan(n_opds, as_of=as_of, seed=seed)
    for reg in regs:
        reg_rows = rows[reg["kode"]]
        write_opd_workbook(data_dir / reg["berkas"], list(reg_rows), reg_rows, forms=fs)
    master = write_master(data_dir / "master.xlsx", regs)
    return {
        "opds": [r["kode"] for r in regs], "data_dir": str(data_dir), "master": str(master),
        "progress": plans,
        "rows": {kode: {k: _filled(v, fs[k]) for k, v in by_form.items()} for kode, by_form in rows.items()},
    }
