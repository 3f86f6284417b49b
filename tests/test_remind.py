"""Reminders: settings, planning, templates, exactly-once delivery over a real SMTP
server (aiosmtpd), the outbox, the CLI and a replayed season.

Data: the demo generator (4 OPDs: DISDIKBUD not started, DINKES clean, SETDA-PBJ and
ITDA with mistakes). Real cycles run with ctx.hooks = [remind.hook]; dates are frozen
with ctx.as_of; nothing sleeps (mail.pause_seconds: 0).
"""
from __future__ import annotations

import datetime as dt
import email
import email.utils
import logging
import re
import shutil
import subprocess
import sys
from collections import Counter
from email import policy
from pathlib import Path

import jinja2
import openpyxl
import pytest
import yaml

from sheets_sync import codes, mail, remind
from sheets_sync.validate import opd_state as ostate
from sheets_sync.validate.layout import Problem
from sheets_sync.config import WIB, ConfigError, load_settings
from sheets_sync.forms import forms_for
from sheets_sync.demo import generate_demo
from sheets_sync.demo.setup import demo_settings
from sheets_sync.validate.registry import Opd
from sheets_sync.cycle.state import State
from sheets_sync.cycle import open_cycle, run_cycle

sys.path.insert(0, str(Path(__file__).resolve().parent))   # tests/ helpers, whatever the import mode
from smtp_server import Server, smtp_server  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
DEADLINE = dt.date(2023, 10, 15)
H = {o: DEADLINE + dt.timedelta(days=o) for o in range(-12, 8)}
INSPEKTORAT = "inspektorat@contoh.mukomukokab.go.id"
LATE = {"DISDIKBUD", "SETDA-PBJ", "ITDA"}          # DINKES is the clean one
PLANTED = ["Wiryawan", "Zulhaidir", "Qorib", "Xenakis", "Sriwulan", "planted", "5550-4242",
           "81355504242", "0736-21", "30/02/2023", "qorib.z"]
EMAIL_RE = re.compile(r"[A-Za-z0-9._%+*-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")


# ------------------------------------------------------------------ data
def _edit(path: Path, sheet: str, rows: dict[int, dict[str, object]], header_row: int = 2) -> None:
    wb = openpyxl.load_workbook(path)
    ws = wb[sheet]
    cols = {c.value: c.column for c in ws[header_row] if c.value}
    for r, values in rows.items():
        for header, value in values.items():
            ws.cell(r, cols[header]).value = value   # (cell(r, c, None) would keep the old value)
    wb.save(path)


def set_registry(folder: Path, code: str, **values) -> None:
    path = folder / "data" / "master.xlsx"
    wb = openpyxl.load_workbook(path)
    ws = wb["Daftar OPD"]
    cols = {c.value: c.column for c in ws[1]}
    row = next(r for r in range(2, ws.max_row + 1) if ws.cell(r, 1).value == code)
    for header, value in values.items():
        ws.cell(row, cols[header]).value = value
    wb.save(path)


@pytest.fixture(scope="session")
def demo_template(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("demo")
    info = generate_demo(folder, 4, as_of=H[-3], seed=2023)
    assert info["progress"] == {"DISDIKBUD": "not_started", "DINKES": "clean",
                                "SETDA-PBJ": "in_progress", "ITDA": "in_progress"}
    data = folder / "data"
    # DINKES stays LENGKAP over the whole replayed season: service dates inside the
    # one-month window of every day from H-10 to H+5.
    n = info["rows"]["DINKES"]["pengguna_layanan"]
    _edit(data / "DINKES.xlsx", "Pengguna Layanan",
          {r: {"Tanggal/ Bulan/ Tahun Menggunakan Layanan": "03/10/2023"} for r in range(3, 3 + n)})
    # Distinctive respondent data in a late OPD, in rows that are flagged (so their
    # messages would quote values) and in a clean row.
    _edit(data / "SETDA-PBJ.xlsx", "Pengguna Layanan", {
        3: {"Nama Pengguna Layanan": "Wiryawan Qorib Zulhaidir", "No HP (WA)": "0813-5550-4242",
            "E-mail": "qorib.zulhaidir@planted.example"},
        4: {"Nama Pengguna Layanan": "Qorib Planted", "No HP (WA)": "0736-21-4242",
            "E-mail": "qorib.z@@planted", "Tanggal/ Bulan/ Tahun Menggunakan Layanan": "30/02/2023"},
    })
    _edit(data / "SETDA-PBJ.xlsx", "Pegawai", {3: {"Nama Pegawai": "Sriwulan Xenakis"}})
    return folder


@pytest.fixture(autouse=True)
def clean_env(monkeypatch, tmp_path):
    for var in ("MAIL_TRANSPORT", "SMTP_HOST", "SMTP_PORT", "SMTP_SECURITY", "SMTP_USER", "SMTP_PASSWORD"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def smtp():
    with smtp_server() as server:
        yield server


def make_env(tmp_path: Path, template: Path, *, transport="smtp", port=None, reminders=None, **mail_extra) -> Path:
    folder = tmp_path / "spi"
    shutil.copytree(template, folder)
    s = demo_settings("xlsx", H[-3])
    s["deadline"] = DEADLINE.isoformat()
    s["mail"] = {"transport": transport, "sender": "spi@contoh.mukomukokab.go.id",
                 "sender_name": "Inspektorat Daerah (uji)", "host": "127.0.0.1", "port": port or 25,
                 "security": "none", "pause_seconds": 0, **mail_extra}
    s["reminders"] = reminders or {}
    path = folder / "settings.yaml"
    path.write_text(yaml.safe_dump(s, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def cycle(settings_path: Path, day: dt.date, *, now: dt.datetime | None = None, hooks=None):
    """One real cycle in a fresh 'process': new settings, new State on the same DB."""
    settings = load_settings(settings_path)
    with open_cycle(settings, day, now=now, hooks=[remind.hook] if hooks is None else hooks) as ctx:
        rep = run_cycle(ctx)
    assert not rep.errors, rep.errors
    return rep


def ledger(settings_path: Path) -> dict:
    with State(load_settings(settings_path).state_db) as state:
        return remind.Ledger(state).statuses()


def slot_of(received) -> tuple[str, str]:
    code, label, _ = received.message["X-SPI-Slot"].split()
    return code, label


def assert_private(texts) -> None:
    for text in texts:
        for value in PLANTED:
            assert value.casefold() not in text.casefold(), value


def assert_masked_logs(caplog) -> None:
    for rec in caplog.records:
        if rec.name.startswith("sheets_sync.remind"):
            for addr in EMAIL_RE.findall(rec.getMessage()):
                if "@" in addr and not addr.startswith("<spi-"):
                    assert re.fullmatch(r"[^@]?\*\*\*@.+", addr), rec.getMessage()


# ------------------------------------------------------------------ settings
class FakeSettings:
    def __init__(self, reminders=None, mail_=None, inspektorat=None, path=Path("/x/settings.yaml")):
        self.reminders, self.mail = reminders or {}, mail_ or {"transport": "outbox"}
        self.inspektorat = inspektorat if inspektorat is not None else {"nama": "Inspektorat", "email": [INSPEKTORAT]}
        self.path, self.year, self.deadline = path, 2023, DEADLINE


def test_defaults():
    r = remind.reminder_config(FakeSettings())
    assert (r.slots, r.escalation, r.digest, r.enabled) == ((-7, -3, -1, 0), (1, 3), False, True)
    m = mail.mail_config(FakeSettings())
    assert (m.transport, m.security, m.port, m.pause_seconds, m.daily_cap) == ("outbox", "starttls", 587, 1.0, 400)
    assert m.sender == INSPEKTORAT and m.reply_to == (INSPEKTORAT,)
    assert remind.reminder_config(FakeSettings({"slots": ["H-7", "h-3", "H"], "escalation": "H+2"})).slots == (-7, -3, 0)
    assert remind.reminder_config(FakeSettings({"escalation": "H+2"})).escalation == (2,)
    assert mail.mail_config(FakeSettings(mail_={"security": "ssl"})).port == 465


@pytest.mark.parametrize("reminders, word", [
    ({"slots": [3]}, "slots"), ({"escalation": [0]}, "escalation"), ({"slots": ["kadang"]}, "slots"),
    ({"slots": [-3, -3]}, "dua kali"), ({"digest": "ya"}, "digest"), ({"jadwal": 1}, "jadwal"),
    ({"max_problems": 0}, "max_problems"),
])
def test_reminder_settings_errors(reminders, word):
    with pytest.raises(ConfigError, match=word):
        remind.reminder_config(FakeSettings(reminders))


@pytest.mark.parametrize("mail_cfg, word", [
    ({"security": "tls"}, "security"), ({"transport": "smtp"}, "host"),
    ({"transport": "smtp", "host": "smtp.gmail.com", "user": "a@gmail.com"}, "SMTP_PASSWORD"),
    ({"port": "dua"}, "port"), ({"daily_cap": 0}, "daily_cap"), ({"sender": "bukan-email"}, "sender"),
    ({"pengirim": "x"}, "pengirim"),
])
def test_mail_settings_errors(mail_cfg, word):
    with pytest.raises(ConfigError, match=word):
        mail.mail_config(FakeSettings(mail_=mail_cfg))


def test_environment_overrides_and_secret_kept_out(tmp_path, monkeypatch):
    path = make_env(tmp_path, _tiny_template(tmp_path), transport="outbox")
    monkeypatch.setenv("MAIL_TRANSPORT", "smtp")
    monkeypatch.setenv("SMTP_HOST", "smtp.gmail.com")
    monkeypatch.setenv("SMTP_PORT", "465")
    monkeypatch.setenv("SMTP_SECURITY", "ssl")
    monkeypatch.setenv("SMTP_USER", "spi.mukomuko@gmail.com")
    monkeypatch.setenv("SMTP_PASSWORD", "abcd efgh ijkl mnop")
    cfg = mail.mail_config(load_settings(path))
    assert (cfg.transport, cfg.host, cfg.port, cfg.security, cfg.user) == \
        ("smtp", "smtp.gmail.com", 465, "ssl", "spi.mukomuko@gmail.com")
    assert cfg.password == "abcd efgh ijkl mnop" and "abcd" not in repr(cfg)


def test_example_settings_file_is_valid(tmp_path):
    example = ROOT / "config" / "settings.example.yaml"
    if not example.exists():
        pytest.skip("config/settings.example.yaml belum ada")
    settings = load_settings(example)
    remind.check_settings(settings)
    assert remind.reminder_config(settings).slots == (-7, -3, -1, 0)


def _tiny_template(tmp_path) -> Path:
    folder = tmp_path / "tiny"
    (folder / "data").mkdir(parents=True)
    return folder


def test_mask():
    from sheets_sync.logsafe import mask, mask_address, mask_addresses
    assert mask_address("siti.rahma@gmail.com") == "s***@gmail.com"
    assert mask("550 <siti@gmail.com> unknown") == "550 <s***@gmail.com> unknown"
    assert mask_addresses(["a@b.co", "bb@c.id"]) == "a***@b.co, b***@c.id"


def test_short_meaning_for_every_code():
    assert set(codes.ROW_CODES) <= set(remind.SHORT)


# ------------------------------------------------------------------ planning (pure)
def _opd(code, contacts=("k@x.id",), heads=("h@x.id",)):
    return Opd(code, f"Dinas {code}", tuple(contacts), tuple(heads), ("pegawai",))


EVERY_DAY = remind.OfficeCalendar(weekend=(), national=False)     # the plan's rules without the calendar


def test_an_opd_not_read_this_cycle_waits_for_one_that_reads_it():
    """Google's 503 on an OPD never read before: its state (BELUM MENGISI from no rows)
    is not known, and "Belum ada satu baris pun yang diisi" would be false."""
    slots = remind.season(remind.ReminderConfig(), DEADLINE, EVERY_DAY)
    opds = [(_opd("A"), ostate.BELUM_MENGISI), (_opd("B"), ostate.BELUM_MENGISI)]
    by = {d.code: d for d in remind.decide(opds, slots, H[-3], {}, (INSPEKTORAT,), unread=frozenset({"A"}))}
    assert by["A"].action == remind.WAIT and "tidak terbaca" in by["A"].note
    assert by["B"].action == remind.SEND
    rep = ostate.OpdReport(_opd("A"), {}, [Problem("OPD_ERROR", {"langkah": "membaca", "alasan": "RuntimeError"})])
    assert ostate.unread_now(rep)
    rep.problems = [Problem("OPD_ERROR", {"langkah": "menulis status", "alasan": "RuntimeError"})]
    assert not ostate.unread_now(rep)       # read, then the write failed: its state is known


def test_plan_slots_recipients_and_missed():
    slots = remind.season(remind.ReminderConfig(), DEADLINE, EVERY_DAY)
    assert [s.label for s in slots] == ["H-7", "H-3", "H-1", "H", "H+1", "H+3"]
    assert [s.kind for s in slots][:2] == ["h-7", "h-3"] and slots[3].kind == "h"
    opds = [(_opd("A"), ostate.ADA_KESALAHAN), (_opd("B"), ostate.LENGKAP), (_opd("C", contacts=()), ostate.BELUM_MENGISI),
            (_opd("D", heads=()), ostate.BELUM_LENGKAP)]
    # before the season
    assert {d.action for d in remind.decide(opds, slots, H[-8], {}, (INSPEKTORAT,))} == {remind.WAIT}
    # H-3, nothing recorded: H-7 was missed -> skipped, H-3 due
    by = {d.code: d for d in remind.decide(opds, slots, H[-3], {}, (INSPEKTORAT,))}
    assert by["A"].action == remind.SEND and by["A"].slot.label == "H-3"
    assert [s.label for s in by["A"].skip] == ["H-7"]
    assert by["A"].to == ("k@x.id",) and by["A"].cc == ()
    assert by["B"].action == remind.LENGKAP
    assert by["C"].action == remind.NO_CONTACT
    # a day without a slot, H-3 already sent: nothing
    led = {(c, "h-3", H[-3].isoformat()): "sent" for c in "ABCD"}
    assert {d.action for d in remind.decide(opds, slots, H[-2], led, (INSPEKTORAT,))} == {remind.DONE}
    # failed stays due
    led[("A", "h-3", H[-3].isoformat())] = "failed"
    assert remind.decide(opds, slots, H[-2], led, ())[0].action == remind.SEND
    # ... until a newer slot comes: then only the newer one, the failed one is skipped
    a = remind.decide(opds, slots, H[-1], led, ())[0]
    assert (a.action, a.slot.label, [s.label for s in a.skip]) == (remind.SEND, "H-1", ["H-7", "H-3"])
    # escalation: head in To, Inspektorat in Cc; no head -> contacts
    by = {d.code: d for d in remind.decide(opds, slots, H[1], {}, (INSPEKTORAT,))}
    assert (by["A"].to, by["A"].cc) == (("h@x.id",), (INSPEKTORAT,))
    assert by["D"].to == ("k@x.id",) and by["D"].cc == (INSPEKTORAT,)
    # long after: only the latest slot (H+3) counts
    assert remind.decide(opds, slots, H[7], {}, ())[0].slot.label == "H+3"


def test_message_id_stable():
    s = FakeSettings()
    a = remind.message_id(s, "secret", "DINKES", "h-3", H[-3], "sheets-sync.local")
    assert a == remind.message_id(s, "secret", "DINKES", "h-3", H[-3], "sheets-sync.local")
    assert re.fullmatch(r"<spi-2023-DINKES-h-3-20231012\.[0-9a-f]{8}@sheets-sync\.local>", a)
    assert a != remind.message_id(s, "other", "DINKES", "h-3", H[-3], "sheets-sync.local")
    assert a != remind.message_id(s, "secret", "DINKES", "h-1", H[-1], "sheets-sync.local")


def test_a_long_opd_code_still_makes_an_outbox_file(tmp_path):
    """A 248-character code in Daftar OPD made an .eml name past the 255 bytes a file
    name may have: every later reminder of the run was held as 'server unreachable'."""
    from sheets_sync.mail import eml_name
    s = FakeSettings()
    code = "DINAS-" + "PENDIDIKAN-" * 22
    mid = remind.message_id(s, "secret", code, "h-3", H[-3], "sheets-sync.local")
    other = remind.message_id(s, "secret", code + "X", "h-3", H[-3], "sheets-sync.local")
    assert mid != other and eml_name(mid) != eml_name(other)
    for m in (mid, "<" + "a" * 400 + "@x.id>"):
        name = eml_name(m)
        assert len(name.encode()) <= 200
        (tmp_path / name).write_text("ok")       # the file system takes it


# ------------------------------------------------------------------ templates
def test_a_form_with_salah_rows_still_names_its_open_expert_slots(tmp_path, demo_template):
    """The ADA KESALAHAN e-mail listed the SALAH rows only: an OPD with 6 of 13 expert
    criteria missing heard of them at the next slot, after fixing the rows."""
    path = make_env(tmp_path, demo_template, transport="outbox")
    rep = cycle(path, H[-3], hooks=[])
    settings = load_settings(path)
    forms, rcfg = forms_for(settings), remind.reminder_config(settings)
    slot = remind.season(rcfg, DEADLINE)[0]
    ctx = remind.opd_context(rep.reports[0], forms, settings, rcfg, slot, slot.date)
    f = ctx["forms"][0]
    f.update(need="perbaiki", salah=2, slots={"column": "Kriteria Ahli", "filled": 7, "total": 13,
                                              "open": ["Pensiunan", "Asosiasi pengusaha"]})
    _, text, html = remind.render("reminder", ctx)
    for body in (text, html):
        assert "2 baris SALAH" in body and "Juga belum lengkap" in body and "Asosiasi pengusaha" in body


def test_subjects_ask_before_the_deadline_and_say_late_after(tmp_path, demo_template):
    """'daftar calon responden belum diisi paling lambat 15/10' read as 'not filled, at
    the latest': before the deadline the subject asks (mohon diisi / mohon lengkapi)."""
    path = make_env(tmp_path, demo_template, transport="outbox")
    rep = cycle(path, H[-3], hooks=[])
    settings = load_settings(path)
    forms, rcfg = forms_for(settings), remind.reminder_config(settings)
    slots = {s.label: s for s in remind.season(rcfg, DEADLINE)}
    for label, words in (("H-3", "daftar calon responden mohon diisi paling lambat"),
                         ("H+1", "daftar calon responden belum diisi")):
        ctx = remind.opd_context(rep.reports[0], forms, settings, rcfg, slots[label], slots[label].date)
        ctx.update(state="BELUM MENGISI", total={**ctx["total"], "salah": 0})
        assert words in remind.render("reminder", ctx)[0]
    ctx = remind.opd_context(rep.reports[0], forms, settings, rcfg, slots["H-3"], slots["H-3"].date)
    ctx.update(state="BELUM LENGKAP", total={**ctx["total"], "salah": 0}, incomplete=["Eksper"])
    assert "mohon lengkapi Eksper paling lambat" in remind.render("reminder", ctx)[0]


def test_every_template_renders_and_is_strict(tmp_path, demo_template):
    path = make_env(tmp_path, demo_template, transport="outbox")
    rep = cycle(path, H[-3], hooks=[])
    settings = load_settings(path)
    forms = forms_for(load_settings(settings) if isinstance(settings, Path) else settings)
    rcfg = remind.reminder_config(settings)
    used = set()
    env = remind.environment()
    real_get = env.get_template

    def spy(name, *a, **k):
        used.add(name)
        return real_get(name, *a, **k)

    env.get_template = spy
    try:
        for r in rep.reports:
            for slot in remind.season(rcfg, DEADLINE):
                ctx = remind.opd_context(r, forms, settings, rcfg, slot, slot.date)
                subject, text, html = remind.render("reminder", ctx)
                assert r.opd.name in subject and "15/10/2023" in subject and slot.label in subject
                assert "\n" not in subject and r.opd.name in text and r.opd.name in html
                assert_private([subject, text, html])
        subject, text, html = remind.render("digest", remind.digest_context(
            rep.reports, forms, settings, rcfg, H[-3], {}))
        assert "Rekap harian" in subject and all(r.opd.code in text and r.opd.code in html for r in rep.reports)
    finally:
        del env.get_template
    assert used == {p.name for p in remind.TEMPLATES.glob("*.j2")}
    with pytest.raises(jinja2.UndefinedError):
        env.get_template("reminder.txt.j2").render({})


def test_each_state_says_what_to_do_next(tmp_path, demo_template):
    """BELUM MENGISI, BELUM LENGKAP and ADA KESALAHAN each get their own next steps; the
    per-form table agrees with the headline (a form with SALAH rows needs fixing, even
    with enough accepted rows); BELUM MENGISI sends nobody to the Status of rows that
    do not exist."""
    path = make_env(tmp_path, demo_template, transport="outbox")
    wb = openpyxl.load_workbook(tmp_path / "spi" / "data" / "DINKES.xlsx")
    wb["Pegawai"].delete_rows(3, wb["Pegawai"].max_row)          # DINKES: one form left empty
    wb.save(tmp_path / "spi" / "data" / "DINKES.xlsx")
    rep = cycle(path, H[-3], hooks=[])
    settings = load_settings(path)
    forms, rcfg = forms_for(settings), remind.reminder_config(settings)
    slot = next(s for s in remind.season(rcfg, DEADLINE) if s.label == "H-3")
    ctx = {r.opd.code: remind.opd_context(r, forms, settings, rcfg, slot, H[-3]) for r in rep.reports}
    assert {c: x["state"] for c, x in ctx.items()} == {
        "DISDIKBUD": ostate.BELUM_MENGISI, "DINKES": ostate.BELUM_LENGKAP,
        "SETDA-PBJ": ostate.ADA_KESALAHAN, "ITDA": ostate.ADA_KESALAHAN}
    out = {c: remind.render("reminder", x) for c, x in ctx.items()}

    def form_line(text, name):
        return next(x for x in text.splitlines() if x.startswith(f"* {name}:"))

    # ADA KESALAHAN: every form with SALAH rows says it needs fixing, in text and HTML
    fixed_but_enough = 0
    for code in ("SETDA-PBJ", "ITDA"):
        _, text, html = out[code]
        for f in ctx[code]["forms"]:
            if f["salah"]:
                fixed_but_enough += f["complete"]
                assert f["need"] == "perbaiki"
                assert "Perlu diperbaiki" in form_line(text, f["name"]) and "Lengkap" not in form_line(text, f["name"])
                row = re.search(rf"<td>{re.escape(f['name'])}</td>.*?</tr>", html, re.S).group(0)
                assert "Perlu diperbaiki" in row and "Lengkap" not in row
        assert re.search(r"Baris \d+, kolom", text) and "kolom Keterangan" in text
    assert fixed_but_enough                    # the case that used to read "Lengkap" beside "SALAH n"
    # BELUM MENGISI: what to fill, where; no row to look at
    _, text, html = out["DISDIKBUD"]
    steps = text.split("Ringkasan per formulir")[0]
    assert not re.search(r"Baris \d+", text) and "baca kolom" not in text.casefold()
    for f in ctx["DISDIKBUD"]["forms"]:
        assert f"tab {f['name']}" in steps and f["need"] == "isi"
        assert "Belum diisi" in form_line(text, f["name"])
    # BELUM LENGKAP: the form still to fill, by name
    assert ctx["DINKES"]["to_fill"] == ["Pegawai"] and ctx["DINKES"]["to_fix"] == []
    steps_lengkap = out["DINKES"][1].split("Ringkasan per formulir")[0]
    assert "Pegawai" in steps_lengkap and "SALAH" not in steps_lengkap.replace("Tidak ada baris SALAH", "")
    # three states, three different sets of steps
    firsts = {ctx[c]["state"]: out[c][1].split("Ringkasan per formulir")[0].split(": " + ctx[c]["state"])[1]
              for c in ("DISDIKBUD", "DINKES", "ITDA")}
    assert len(set(firsts.values())) == 3
    assert_private([t for o in out.values() for t in o])


# ------------------------------------------------------------------ SMTP, one day
def test_h3_reminders_over_smtp(tmp_path, demo_template, smtp, caplog):
    caplog.set_level(logging.INFO)
    path = make_env(tmp_path, demo_template, port=smtp.port)
    cycle(path, H[-3])
    got = {slot_of(m): m for m in smtp.messages}
    assert set(got) == {(c, "H-3") for c in LATE}          # none to DINKES (LENGKAP)
    m = got[("SETDA-PBJ", "H-3")]
    msg = m.message
    assert msg["To"].addresses[0].addr_spec == "ukpbj@contoh.mukomukokab.go.id" and msg["Cc"] is None
    assert m.rcpt_tos == ["ukpbj@contoh.mukomukokab.go.id"] and m.mail_from == "spi@contoh.mukomukokab.go.id"
    assert msg["Reply-To"] == INSPEKTORAT
    assert msg["Date"] == "Thu, 12 Oct 2023 08:00:00 +0700"      # the replayed day, at reminder_time
    assert msg["Subject"] == ("[SPI 2023] Bagian Pengadaan Barang dan Jasa Sekretariat Daerah: "
                              f"{_salah(path, 'SETDA-PBJ')} baris SALAH perlu diperbaiki paling lambat 15/10/2023 (H-3)")
    assert re.fullmatch(r"<spi-2023-SETDA-PBJ-h-3-20231012\.[0-9a-f]{8}@contoh\.mukomukokab\.go\.id>",
                        msg["Message-ID"])
    text, html = m.text(), m.html()
    # no alamat_berkas: the file's name and where to ask, never the path on the server
    assert str(tmp_path) not in text and str(tmp_path) not in html
    assert "Spreadsheet/berkas Bagian Pengadaan Barang dan Jasa Sekretariat Daerah: SETDA-PBJ.xlsx (nama berkas" in text
    assert "<code>SETDA-PBJ.xlsx</code> (nama berkas" in html
    assert "3 hari lagi" in text and "3 hari lagi" in html
    # the planted row 4: row number, column header and the code's meaning, no value
    assert 'Baris 4, kolom "E-mail": alamat e-mail tidak valid (SALAH)' in text
    assert 'Baris 4, kolom "Tanggal/ Bulan/ Tahun Menggunakan Layanan": tanggal tidak ada di kalender' in text
    assert re.search(r'<td align="right">4</td><td>E-mail</td><td>alamat e-mail tidak valid</td>', html)
    assert "<html" in html and "<br>" not in text
    assert "Tanggal/ Bulan/ Tahun Menggunakan Layanan" in text
    # ITDA has two contacts: both in To and in the envelope
    dk = got[("ITDA", "H-3")]
    assert len(dk.message["To"].addresses) == 2
    assert sorted(dk.rcpt_tos) == sorted(["inspektorat@contoh.mukomukokab.go.id",
                                          "irban1.inspektorat@contoh.mukomukokab.go.id"])
    assert_private([m.all_text() for m in smtp.messages] + [r.getMessage() for r in caplog.records])
    assert_masked_logs(caplog)
    assert {k: v for k, v in ledger(path).items() if k[1] == "h-3"} == {
        ("DISDIKBUD", "h-3", "2023-10-12"): "sent", ("SETDA-PBJ", "h-3", "2023-10-12"): "sent",
        ("ITDA", "h-3", "2023-10-12"): "sent", ("DINKES", "h-3", "2023-10-12"): "not_needed"}
    # the same day again, and after a restart (new process state): nothing new
    cycle(path, H[-3])
    cycle(path, H[-3])
    assert len(smtp.messages) == 3
    # the deadline is a Sunday: H-1 (Saturday) and H go out on Friday (H-2), only H, the
    # more urgent; Saturday (H-1) sends nothing
    cycle(path, H[-2])
    cycle(path, H[-1])
    assert Counter(slot_of(m) for m in smtp.messages) == Counter(
        {(c, s): 1 for c in LATE for s in ("H-3", "H")})
    assert {k: v for k, v in ledger(path).items() if k[1] == "h-1" and k[0] in LATE} == {
        (c, "h-1", "2023-10-14"): "skipped" for c in LATE}


def _salah(path, code) -> int:
    rows = State(load_settings(path).state_db).get("rekap")
    return next(r[6] for r in rows if r[0] == code)


def test_down_worker_sends_only_latest_missed_slot(tmp_path, demo_template, smtp):
    path = make_env(tmp_path, demo_template, port=smtp.port)
    cycle(path, H[-2])                     # first run on Friday, H's working day: H-7, H-3, H-1 missed
    assert sorted(slot_of(m) for m in smtp.messages) == sorted((c, "H") for c in LATE)
    led = ledger(path)
    for c in LATE:
        assert [led[(c, k, H[o].isoformat())] for k, o in (("h-7", -7), ("h-3", -3), ("h-1", -1))] == ["skipped"] * 3
    cycle(path, H[2])                      # down on H+1: H+1 sent late, once
    cycle(path, H[2])
    assert Counter(slot_of(m)[1] for m in smtp.messages) == Counter({"H": 3, "H+1": 3})


def test_smtp_server_down_then_back(tmp_path, demo_template, caplog):
    caplog.set_level(logging.INFO)
    server = Server()                      # port chosen, nothing listening yet
    path = make_env(tmp_path, demo_template, port=server.port)
    cycle(path, H[-3])
    led = ledger(path)
    assert "sent" not in led.values()
    assert "tidak dapat dihubungi" in caplog.text
    server.start()
    try:
        cycle(path, H[-3])
        cycle(path, H[-3])
        assert sorted(slot_of(m) for m in server.messages) == sorted((c, "H-3") for c in LATE)
    finally:
        server.stop()
    assert_masked_logs(caplog)


def test_refusals_then_recovery(tmp_path, demo_template, smtp, caplog):
    caplog.set_level(logging.INFO)
    path = make_env(tmp_path, demo_template, port=smtp.port)
    smtp.refuse["ukpbj@contoh.mukomukokab.go.id"] = "550 5.1.1 <ukpbj@contoh.mukomukokab.go.id> unknown"
    smtp.refuse["inspektorat@contoh.mukomukokab.go.id"] = "451 4.7.1 try again later"
    smtp.refuse["irban1.inspektorat@contoh.mukomukokab.go.id"] = "451 4.7.1 try again later"
    cycle(path, H[-3])
    assert [slot_of(m) for m in smtp.messages] == [("DISDIKBUD", "H-3")]   # the others still went
    led = ledger(path)
    assert led[("SETDA-PBJ", "h-3", "2023-10-12")] == led[("ITDA", "h-3", "2023-10-12")] == "failed"
    assert "550" in caplog.text and "451" in caplog.text
    smtp.refuse.clear()
    smtp.data_reply = "451 4.3.0 queue full"        # now the whole message is refused at DATA
    cycle(path, H[-3])
    assert len(smtp.messages) == 1
    smtp.data_reply = None                           # recovered
    cycle(path, H[-3])
    cycle(path, H[-3])
    assert Counter(slot_of(m) for m in smtp.messages) == Counter({(c, "H-3"): 1 for c in LATE})
    assert_masked_logs(caplog)


class Killed(BaseException):
    """Stands for SIGKILL: not an Exception, so nothing catches it."""


def _kill_after_first_send(monkeypatch):
    real = remind.Ledger.mark

    def mark(self, key, status, now=None):
        if status == "sent":
            raise Killed(key)
        return real(self, key, status, now)

    monkeypatch.setattr(remind.Ledger, "mark", mark)


def test_killed_after_smtp_accepted_is_not_resent(tmp_path, demo_template, smtp, monkeypatch, caplog):
    caplog.set_level(logging.INFO)
    path = make_env(tmp_path, demo_template, port=smtp.port)
    _kill_after_first_send(monkeypatch)
    with pytest.raises(Killed):
        cycle(path, H[-3])
    assert len(smtp.messages) == 1
    first = slot_of(smtp.messages[0])
    monkeypatch.undo()
    cycle(path, H[-3])                      # the restarted worker
    cycle(path, H[-3])
    assert Counter(slot_of(m) for m in smtp.messages) == Counter({(c, "H-3"): 1 for c in LATE})
    assert ledger(path)[(first[0], "h-3", "2023-10-12")] == "uncertain"
    assert "mungkin sudah terkirim" in caplog.text


def test_killed_around_outbox_write(tmp_path, demo_template, monkeypatch):
    path = make_env(tmp_path, demo_template, transport="outbox")
    outbox = tmp_path / "spi" / "outbox"
    _kill_after_first_send(monkeypatch)              # the .eml is written, 'sent' is not recorded
    with pytest.raises(Killed):
        cycle(path, H[-3])
    files = list(outbox.glob("*.eml"))
    assert len(files) == 1
    before = files[0].stat().st_mtime_ns
    monkeypatch.undo()

    real_send = mail.OutboxTransport.send               # killed before the .eml is written
    calls = []

    def send(self, msg):
        calls.append(msg.message_id)
        if len(calls) == 1:
            raise Killed()
        return real_send(self, msg)

    monkeypatch.setattr(mail.OutboxTransport, "send", send)
    with pytest.raises(Killed):
        cycle(path, H[-3])
    monkeypatch.undo()
    assert "sending" in ledger(path).values()
    cycle(path, H[-3])
    cycle(path, H[-3])
    assert len(list(outbox.glob("*.eml"))) == 3
    assert files[0].stat().st_mtime_ns == before               # found in the outbox: not written again
    assert set(v for k, v in ledger(path).items() if k[1] == "h-3" and k[0] in LATE) == {"sent"}
    assert not list(outbox.glob("*.tmp"))


def test_daily_cap(tmp_path, demo_template, smtp, caplog):
    caplog.set_level(logging.INFO)
    path = make_env(tmp_path, demo_template, port=smtp.port, daily_cap=2)
    day1 = dt.datetime(2023, 10, 12, 8, 0, tzinfo=WIB)
    cycle(path, H[-3], now=day1)
    assert len(smtp.messages) == 2 and "batas harian 2" in caplog.text
    cycle(path, H[-3], now=day1 + dt.timedelta(hours=1))
    assert len(smtp.messages) == 2
    cycle(path, H[-3], now=day1 + dt.timedelta(days=1))      # a new WIB day
    assert Counter(slot_of(m) for m in smtp.messages) == Counter({(c, "H-3"): 1 for c in LATE})


def test_opd_without_email_is_logged_not_fatal(tmp_path, demo_template, smtp, caplog, capsys):
    caplog.set_level(logging.INFO)
    path = make_env(tmp_path, demo_template, port=smtp.port)
    set_registry(tmp_path / "spi", "DISDIKBUD", **{"E-mail Kontak": None, "E-mail Kepala OPD": None})
    cycle(path, H[-3])
    assert sorted(slot_of(m) for m in smtp.messages) == [("ITDA", "H-3"), ("SETDA-PBJ", "H-3")]
    assert "DISDIKBUD" in caplog.text and "tidak punya e-mail" in caplog.text
    from sheets_sync import cli
    assert cli.main(["remind", "--dry-run", "--config", str(path), "--as-of", H[-3].isoformat()]) == 0
    assert "TANPA E-MAIL" in capsys.readouterr().out
    set_registry(tmp_path / "spi", "DISDIKBUD", **{"E-mail Kontak": "baru.disdikbud@contoh.mukomukokab.go.id"})
    cycle(path, H[-3])                                        # contact added: the due slot goes once
    cycle(path, H[-3])
    assert Counter(slot_of(m) for m in smtp.messages)[("DISDIKBUD", "H-3")] == 1


def test_digest_once_a_day(tmp_path, demo_template, smtp):
    path = make_env(tmp_path, demo_template, port=smtp.port, reminders={"digest": True})
    cycle(path, H[-3])
    cycle(path, H[-3])
    digests = [m for m in smtp.messages if m.message["X-SPI-Slot"].startswith("rekap")]
    assert len(digests) == 1
    d = digests[0]
    assert d.rcpt_tos == [INSPEKTORAT]
    assert d.message["Subject"].startswith("[SPI 2023] Rekap harian 12/10/2023: 1 dari 4 OPD lengkap")
    text = d.text()
    for code in ("DISDIKBUD", "DINKES", "SETDA-PBJ", "ITDA"):
        assert code in text and code in d.html()
    assert "H-3 terkirim" in text
    assert_private([d.all_text()])
    cycle(path, H[-2])
    assert sum(m.message["X-SPI-Slot"].startswith("rekap") for m in smtp.messages) == 2


# ------------------------------------------------------------------ a season
SURAT = {"penerbit": "Bupati Mukomuko", "nomor": "700/654/ITDA/X/2023", "tanggal": "2023-10-13"}


def sent_on(m) -> dt.date:
    return email.utils.parsedate_to_datetime(m.message["Date"]).astimezone(WIB).date()


def test_season_replayed_day_by_day(tmp_path, demo_template, smtp):
    """The circular's real deadline, 15 October 2023, is a Sunday. H-7 (Sunday 8/10) goes out
    on Friday 6/10; H-1 (Saturday) and H (Sunday) both fall on Friday 13/10, where only H is
    sent and H-1 is recorded skipped; H+1 and H+3 go on Monday 16 and Wednesday 18. No e-mail
    (nor the digest) is dated on a weekend, every late OPD gets every slot that is sent once,
    and every e-mail cites the circular."""
    path = make_env(tmp_path, demo_template, port=smtp.port, reminders={"digest": True})
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    raw["surat_edaran"] = SURAT
    path.write_text(yaml.safe_dump(raw, allow_unicode=True, sort_keys=False), encoding="utf-8")
    states: dict[dt.date, dict[str, str]] = {}

    def record(ctx, reports):
        states[ctx.as_of] = {r.opd.code: ostate.opd_state(r, ctx.forms) for r in reports}

    for offset in range(-10, 6):
        cycle(path, H[offset], hooks=[record, remind.hook])
        if offset in (-3, 1):
            cycle(path, H[offset])                                  # a second run on a slot day
    assert all(s["DINKES"] == ostate.LENGKAP for s in states.values())
    slots = remind.season(remind.reminder_config(load_settings(path)), DEADLINE)
    sent = [s for s in slots if s.merged_into is None]
    assert [(s.label, s.day) for s in sent] == [
        ("H-7", dt.date(2023, 10, 6)), ("H-3", dt.date(2023, 10, 12)), ("H", dt.date(2023, 10, 13)),
        ("H+1", dt.date(2023, 10, 16)), ("H+3", dt.date(2023, 10, 18))]
    reminders = [m for m in smtp.messages if not m.message["X-SPI-Slot"].startswith("rekap")]
    got = Counter(slot_of(m) for m in reminders)
    expected = {(code, s.label) for s in sent for code, st in states[s.day].items() if st != ostate.LENGKAP}
    assert set(got) == expected and set(got.values()) == {1}
    assert {c for c, _ in got} == LATE
    for m in reminders:                                             # each slot on its working day
        code, lab = slot_of(m)
        assert sent_on(m) == next(s.day for s in sent if s.label == lab)
    assert {k: v for k, v in ledger(path).items() if k[1] == "h-1"} == {
        (c, "h-1", "2023-10-14"): "skipped" for c in LATE | {"DINKES"}}
    for m in smtp.messages:
        assert sent_on(m).weekday() < 5, (m.message["X-SPI-Slot"], m.message["Date"])
        assert "Nomor 700/654/ITDA/X/2023 tanggal 13 Oktober 2023" in m.text()
        assert "Nomor 700/654/ITDA/X/2023 tanggal 13 Oktober 2023" in m.html()
    for m in reminders:
        code, lab = slot_of(m)
        heads = {"DISDIKBUD": "kepala.disdikbud", "SETDA-PBJ": "kepala.ukpbj", "ITDA": "kepala.inspektorat"}
        if lab in ("H+1", "H+3"):
            assert [a.addr_spec for a in m.message["To"].addresses] == [f"{heads[code]}@contoh.mukomukokab.go.id"]
            assert [a.addr_spec for a in m.message["Cc"].addresses] == [INSPEKTORAT]
            assert "TERLAMBAT" in m.message["Subject"]
        else:
            assert m.message["Cc"] is None and not any("kepala" in r for r in m.rcpt_tos)
    digests = [m for m in smtp.messages if m.message["X-SPI-Slot"].startswith("rekap")]
    working_days = [H[o] for o in range(-10, 6) if H[o].weekday() < 5]
    assert sorted(sent_on(m) for m in digests) == working_days          # 12 working days of 16
    assert len({m.message["Message-ID"] for m in smtp.messages}) == len(smtp.messages)
    assert_private([m.all_text() for m in smtp.messages])


def test_holidays_and_cuti_bersama_move_slots(tmp_path, demo_template, smtp):
    """17 August (Hari Kemerdekaan) and a cuti bersama day listed in the settings are days off:
    a deadline on Sunday 20 August 2023 puts H-3 on the 17th, a holiday, and the working day
    before it (the 16th) is a listed cuti bersama, so H-3 goes on Tuesday the 15th; H-1 and H
    on Friday the 18th (only H); nothing on the 16th or the 17th."""
    deadline = dt.date(2023, 8, 20)
    path = make_env(tmp_path, demo_template, port=smtp.port,
                    reminders={"digest": True, "cuti_bersama": ["2023-08-16"]})
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    raw["deadline"] = deadline.isoformat()
    path.write_text(yaml.safe_dump(raw, allow_unicode=True, sort_keys=False), encoding="utf-8")
    rcfg = remind.reminder_config(load_settings(path))
    assert rcfg.cuti_bersama == (dt.date(2023, 8, 16),)
    assert "Kemerdekaan" in rcfg.calendar.closed(dt.date(2023, 8, 17))
    assert rcfg.calendar.closed(dt.date(2023, 8, 16)) and rcfg.calendar.closed(dt.date(2023, 6, 28))  # package's too
    days = {s.label: s.day for s in remind.season(rcfg, deadline) if s.merged_into is None}
    assert days == {"H-7": dt.date(2023, 8, 11), "H-3": dt.date(2023, 8, 15), "H": dt.date(2023, 8, 18),
                    "H+1": dt.date(2023, 8, 21), "H+3": dt.date(2023, 8, 23)}
    for day in range(11, 20):
        cycle(path, dt.date(2023, 8, day))
    reminders = [m for m in smtp.messages if not m.message["X-SPI-Slot"].startswith("rekap")]
    assert {(slot_of(m)[1], sent_on(m)) for m in reminders} == {
        ("H-7", dt.date(2023, 8, 11)), ("H-3", dt.date(2023, 8, 15)), ("H", dt.date(2023, 8, 18))}
    assert set(Counter(slot_of(m) for m in reminders).values()) == {1}
    digests = sorted(sent_on(m) for m in smtp.messages if m.message["X-SPI-Slot"].startswith("rekap"))
    assert digests == [dt.date(2023, 8, d) for d in (11, 14, 15, 18)]      # not the 16th nor the 17th
    led = ledger(path)
    assert led[("ITDA", "h-3", "2023-08-17")] == "sent"             # the key keeps the nominal date
    assert led[("ITDA", "h-1", "2023-08-19")] == "skipped" and led[("ITDA", "h", "2023-08-20")] == "sent"
    mids = [m.message["Message-ID"] for m in reminders if slot_of(m) == ("ITDA", "H-3")]
    assert len(mids) == 1 and "-h-3-20230817." in mids[0]


def test_plan_sends_nothing_on_a_day_off():
    cfg = remind.ReminderConfig()
    slots = remind.season(cfg, DEADLINE)
    opds = [(_opd("A"), ostate.ADA_KESALAHAN)]
    d = remind.decide(opds, slots, H[-1], {}, (INSPEKTORAT,), closed=cfg.calendar.closed(H[-1]))[0]
    assert (d.action, d.slot, d.next_slot.label, d.next_slot.day) == (remind.WAIT, None, "H+1", H[1])
    assert "Sabtu" in d.note
    # the worker was down on Friday: on Monday only H+1 goes, H and H-1 are recorded skipped
    d = remind.decide(opds, slots, H[1], {}, (INSPEKTORAT,))[0]
    assert (d.action, d.slot.label) == (remind.SEND, "H+1")
    assert [s.label for s in d.skip] == ["H-7", "H-3", "H-1", "H"]


# ------------------------------------------------------------------ jobs.py and the CLI
def test_jobs_once_as_of_writes_outbox(tmp_path, demo_template):
    path = make_env(tmp_path, demo_template, transport="outbox")
    for _ in range(2):
        run = subprocess.run([sys.executable, str(ROOT / "jobs.py"), "--once", "--config", str(path),
                              "--as-of", H[-3].isoformat()], cwd=ROOT, capture_output=True, text=True, timeout=60)
        assert run.returncode == 0, run.stderr
    files = sorted(p.name for p in (tmp_path / "spi" / "outbox").glob("*.eml"))
    assert [f.split("-h-3-")[0] for f in files] == ["spi-2023-DISDIKBUD", "spi-2023-ITDA", "spi-2023-SETDA-PBJ"]
    assert all("-h-3-20231012." in f for f in files)
    for line in run.stderr.splitlines():
        for addr in EMAIL_RE.findall(line):
            assert "***@" in addr, line
    for f in (tmp_path / "spi" / "outbox").glob("*.eml"):
        m = email.message_from_bytes(f.read_bytes(), policy=policy.default)
        assert m.get_body(("plain",)) is not None and m.get_body(("html",)) is not None
        assert_private([m.get_body(("plain",)).get_content(), m.get_body(("html",)).get_content()])


def test_cli_dry_run_and_preview(tmp_path, demo_template, capsys):
    from sheets_sync import cli

    path = make_env(tmp_path, demo_template, transport="outbox")
    cycle(path, H[-3], hooks=[])                      # verdicts only, no reminder step
    assert cli.main(["remind", "--dry-run", "--config", str(path), "--as-of", H[-3].isoformat()]) == 0
    out = capsys.readouterr().out
    assert "Tidak ada yang dikirim" in out and "3 e-mail akan dikirim" in out
    for code in LATE:
        assert re.search(rf"{code}\s.*pengingat H-3 ke ", out)
    assert re.search(r"DINKES\s+LENGKAP", out)
    assert "u***@contoh.mukomukokab.go.id" in out and "ukpbj@" not in out
    assert not (tmp_path / "spi" / "outbox").exists() or not list((tmp_path / "spi" / "outbox").glob("*.eml"))
    assert not ledger(path)
    # preview: the slot that applies today
    assert cli.main(["remind", "--preview", "SETDA-PBJ", "--config", str(path), "--as-of", H[-3].isoformat()]) == 0
    out = capsys.readouterr().out.splitlines()
    eml, html = Path(out[-2]), Path(out[-1])
    assert eml.suffix == ".eml" and html.suffix == ".html" and eml.is_file() and html.is_file()
    m = email.message_from_bytes(eml.read_bytes(), policy=policy.default)
    assert "(H-3)" in m["Subject"]
    assert m.get_body(("html",)).get_content().replace("\r\n", "\n") == html.read_text(encoding="utf-8")
    assert_private([m.get_body(("plain",)).get_content(), html.read_text(encoding="utf-8")])
    # on a day without a slot (Saturday, H-1: a day off): the next one
    cycle(path, H[-3])
    assert cli.main(["remind", "--preview", "ITDA", "--config", str(path), "--as-of", H[-1].isoformat(),
                     "--out", str(tmp_path / "p" / "itda.eml")]) == 0
    out = capsys.readouterr().out
    assert "slot berikutnya (H+1" in out and (tmp_path / "p" / "itda.eml").is_file()
    assert cli.main(["remind", "--preview", "rekap", "--config", str(path), "--as-of", H[-3].isoformat()]) == 0
    assert cli.main(["remind", "--preview", "NOPE", "--config", str(path)]) == 2


# ------------------------------------------------ slots far in the past
def test_slots_long_past_are_skipped_not_sent():
    """A worker started weeks after the season (or with last year's deadline in its
    settings) must not mail every OPD about a slot that is long gone."""
    import datetime as dt
    from sheets_sync.validate.registry import Opd
    cfg = remind.reminder_config(type("S", (), {"reminders": {}})())
    deadline = dt.date(2023, 10, 15)
    slots = remind.season(cfg, deadline)
    opd = Opd("DINKES", "Dinas Kesehatan", ("a@contoh.go.id",), ("k@contoh.go.id",), ("pegawai",), "x.xlsx")
    today = dt.date(2023, 10, 22)          # H+7: H+3 was four days ago, within the grace
    d = remind.decide([(opd, "ADA KESALAHAN")], slots, today, {}, (), remind.stale_before(cfg, today))[0]
    assert d.action == remind.SEND and d.slot.label == "H+3"
    today = dt.date(2026, 11, 21)          # three years on
    d = remind.decide([(opd, "ADA KESALAHAN")], slots, today, {}, (), remind.stale_before(cfg, today))[0]
    assert d.action == remind.WAIT and d.slot is None
    assert [s.label for s in d.skip][-1] == "H+3"   # recorded as skipped, never sent


def test_max_late_days_is_checked():
    import pytest
    from sheets_sync.config import ConfigError
    with pytest.raises(ConfigError, match="max_late_days"):
        remind.reminder_config(type("S", (), {"reminders": {"max_late_days": -1}})())


def test_a_tab_with_a_renamed_header_is_not_said_to_be_empty(tmp_path, demo_template):
    """The OPD typed its rows but renamed a header: the e-mail says the tab could not be
    checked, not '0 baris terisi' beside rows the OPD can see in its own sheet."""
    path = make_env(tmp_path, demo_template, transport="outbox")
    book = tmp_path / "spi" / "data" / "SETDA-PBJ.xlsx"
    wb = openpyxl.load_workbook(book)
    ws = wb["Pegawai"]
    cell = next(c for c in ws[2] if c.value == "Nama Pegawai")
    cell.value = "Nama"
    wb.save(book)
    rep = cycle(path, H[-3], hooks=[])
    settings = load_settings(path)
    forms, rcfg = forms_for(settings), remind.reminder_config(settings)
    slot = next(s for s in remind.season(rcfg, DEADLINE) if s.label == "H-3")
    r = next(x for x in rep.reports if x.opd.code == "SETDA-PBJ")
    _, text, html = remind.render("reminder", remind.opd_context(r, forms, settings, rcfg, slot, H[-3]))
    line = next(x for x in text.splitlines() if x.startswith("* Pegawai:"))
    assert "belum bisa diperiksa" in line and "0 baris" not in line and "Perlu diperbaiki: tab" in line, line
    row = re.search(r"<td>Pegawai</td>.*?</tr>", html, re.S).group(0)
    assert "belum bisa diperiksa" in row and '<td align="right">0</td>' not in row, row


def test_preview_file_is_named_for_the_day_it_goes_out(tmp_path, demo_template, capsys):
    """H falls on Sunday 15/10/2023 and goes out on Friday 13/10: the preview's file name
    carries the day in its Date header, not the Sunday."""
    from sheets_sync import cli

    path = make_env(tmp_path, demo_template, transport="outbox")
    cycle(path, H[-3])                                     # H-3 sent: the next slot is H
    capsys.readouterr()
    assert cli.main(["remind", "--preview", "ITDA", "--config", str(path), "--as-of", H[-3].isoformat()]) == 0
    eml = Path(capsys.readouterr().out.splitlines()[-2])
    m = email.message_from_bytes(eml.read_bytes(), policy=policy.default)
    assert m["Date"].startswith("Fri, 13 Oct 2023") and eml.name == "pratinjau-ITDA-h-20231013.eml", eml.name
