"""`python -m sheets_sync ...`: --help everywhere, `validate FILE --json` (shape,
.xlsx and .csv, same verdict as the cycle), `status` and `export --out`."""
from __future__ import annotations

import argparse
import csv
import json
import os
import re
import shutil
import subprocess

import openpyxl
import pytest

from sheets_sync import cli, codes, demo

from tests.conftest import PYTHON, REGRESSIONS, ROOT, clean_row, status_by_row, table

AS_OF_ARG = ["--as-of", "2023-10-12"]


# ------------------------------------------------------------------- --help
def subcommands():
    parser = cli.build_parser()
    acts = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    assert len(acts) == 1
    return sorted(acts[0].choices)


def test_known_subcommands_are_there():
    assert {"validate", "status", "export", "demo", "remind"} <= set(subcommands())
    assert set(subcommands()) == set(cli.COMMANDS)


@pytest.mark.parametrize("name", subcommands())
def test_every_subcommand_has_help(name, capsys):
    with pytest.raises(SystemExit) as e:
        cli.main([name, "--help"])
    assert e.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("Penggunaan:") and name in out
    assert not ENGLISH.search(out), ENGLISH.search(out)


def test_top_level_help_in_process_and_as_a_module(capsys):
    with pytest.raises(SystemExit) as e:
        cli.main(["--help"])
    assert e.value.code == 0
    out = capsys.readouterr().out
    for name in subcommands():
        assert name in out
    r = subprocess.run([PYTHON, "-m", "sheets_sync", "--help"], cwd=ROOT, capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 0 and "validate" in r.stdout and not r.stderr


def test_no_subcommand_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as e:
        cli.main([])
    assert e.value.code == 2


# ------------------------------------------- argparse in Bahasa Indonesia
# argparse's own words (usage, error, the required/choice/unrecognized messages, the group
# titles and -h's help); our texts never use them.
ENGLISH = re.compile(r"\b(usage|error|required|invalid|choices?|choose|arguments?|options|positional|"
                     r"show this help|unrecognized|expected|ambiguous|not allowed)\b", re.I)
MISTAKES = [
    [], ["nope"], ["exp0rt"], ["validate"], ["validate", "x.xlsx", "--as-of"], ["validate", "x.xlsx", "--bogus"],
    ["demo", "--backend", "excel"], ["demo", "--opds", "delapan"], ["export"], ["export", "--out"],
    ["remind", "--preview"], ["remind", "--as-of", "kemarin"], ["status", "--config"], ["provision", "--x"],
]


@pytest.mark.parametrize("argv", MISTAKES, ids=lambda a: " ".join(a) or "(kosong)")
def test_mistakes_are_told_in_indonesian(argv, capsys):
    with pytest.raises(SystemExit) as e:
        cli.main(argv)
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("Penggunaan: python -m sheets_sync") and "kesalahan:" in err
    assert not ENGLISH.search(err), err


@pytest.mark.parametrize("argv", [["--nope"], ["--as-of"], ["--help"]])
def test_jobs_speaks_indonesian_too(argv, capsys):
    import jobs

    with pytest.raises(SystemExit) as e:
        jobs.main(argv)
    out = capsys.readouterr()
    text = out.out + out.err
    assert text.startswith("Penggunaan: python jobs.py") and not ENGLISH.search(text), text
    assert e.value.code == (0 if argv == ["--help"] else 2)


def test_translation_of_argparse_messages():
    from sheets_sync.cliparse import translate

    assert translate("argument --backend: invalid choice: 'x' (choose from 'xlsx', 'google')") == \
        "argumen --backend: 'x' tidak dikenal; pilihan: xlsx, google"
    assert translate("argument --opds: invalid int value: 'x'") == "argumen --opds: 'x' bukan bilangan bulat"
    assert translate("the following arguments are required: BERKAS") == "argumen berikut wajib diisi: BERKAS"
    assert translate("sudah Indonesia") == "sudah Indonesia"


# ------------------------------------------------ output piped to `head`
def _closed_pipe_run(args, cwd=ROOT):
    """Run with stdout a pipe whose reader is already gone, as `... | head -0` leaves it."""
    read, write = os.pipe()
    os.close(read)
    try:
        r = subprocess.run([PYTHON, *args], cwd=cwd, stdout=write, stderr=subprocess.PIPE, text=True, timeout=120)
    finally:
        os.close(write)
    return r


def test_piped_output_to_a_closed_reader_ends_quietly(after_cycle, tmp_path, forms):
    xlsx = write_xlsx(tmp_path / "x.xlsx", forms)
    cfg = str(after_cycle.config)
    for args in (["-m", "sheets_sync", "status", "--config", cfg],
                 ["-m", "sheets_sync", "validate", str(xlsx), "--json", *AS_OF_ARG],
                 ["-m", "sheets_sync", "--help"],
                 [str(ROOT / "jobs.py"), "--check", "--config", cfg]):
        r = _closed_pipe_run(args)
        assert "Traceback" not in r.stderr and "BrokenPipeError" not in r.stderr, (args, r.stderr)
        assert r.returncode in ((0, 141) if "--help" in args else (141,)), (args, r.returncode, r.stderr)


# ---------------------------------------------------------------- validate
ROWS = [
    clean_row("pegawai", 1),
    clean_row("pegawai", 2, no_hp="021-5551234"),
    {"no": 3},                                       # only No: ignored
    {},                                              # blank: ignored
    clean_row("pegawai", 5, email=None, no_hp=81230000005),
    clean_row("pegawai", 6, nama="123", tanggal_mulai="31/09/2023"),
    clean_row("pegawai", 7, no_hp="0812-3000-0001"),  # duplicate of row 3
]
EXPECTED = {3: "OK", 4: "SALAH", 7: "PERIKSA", 8: "SALAH", 9: "SALAH"}


def write_xlsx(path, forms, rows=ROWS):
    demo.write_opd_workbook(path, ["pegawai"], {"pegawai": rows}, forms=forms)
    return path


def write_csv(path, forms, rows=ROWS, delimiter=","):
    form = forms["pegawai"]
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, delimiter=delimiter)
        w.writerow([form.title])
        w.writerow([c.header for c in form.columns])
        for r in rows:
            w.writerow(["" if r.get(k) is None else r.get(k) for k in form.keys])
    return path


def run_json(capsys, *args):
    code = cli.main(["validate", *map(str, args), "--json", *AS_OF_ARG])
    out = capsys.readouterr().out
    assert code == 0
    return json.loads(out)


def check_shape(records, forms, form_key):
    assert isinstance(records, list)
    for r in records:
        assert list(r) == ["row", "status", "messages", "normalized"]
        assert type(r["row"]) is int
        assert r["status"] in ("OK", "PERIKSA", "SALAH")
        assert isinstance(r["messages"], list)
        assert set(r["normalized"]) == set(forms[form_key].keys)
        assert (r["status"] == "OK") == (r["messages"] == [])


def test_validate_json_xlsx(tmp_path, forms, capsys):
    recs = run_json(capsys, write_xlsx(tmp_path / "DINKES.xlsx", forms))
    check_shape(recs, forms, "pegawai")
    assert {r["row"]: r["status"] for r in recs} == EXPECTED
    by_row = {r["row"]: r for r in recs}
    assert by_row[7]["normalized"]["no_hp"] == "+6281230000005"
    assert by_row[3]["normalized"]["tanggal_mulai"] == "2015-02-01"
    assert any("3" in json.dumps(m) for m in by_row[9]["messages"])      # names the first row
    codes = {m["code"] for m in by_row[8]["messages"]}
    assert codes == {"NAME_NO_LETTERS", "DATE_IMPOSSIBLE"}


@pytest.mark.parametrize("delimiter", [",", ";"])
def test_validate_json_csv_same_verdicts_as_xlsx(tmp_path, forms, capsys, delimiter):
    x = run_json(capsys, write_xlsx(tmp_path / "a.xlsx", forms))
    c = run_json(capsys, write_csv(tmp_path / "a.csv", forms, delimiter=delimiter))
    check_shape(c, forms, "pegawai")
    assert [(r["row"], r["status"], [m["code"] for m in r["messages"]]) for r in c] == \
           [(r["row"], r["status"], [m["code"] for m in r["messages"]]) for r in x]
    assert [r["normalized"]["no_hp"] for r in c] == [r["normalized"]["no_hp"] for r in x]


def test_validate_gives_the_cycles_verdicts(deployment, forms, capsys):
    rows = ROWS + [clean_row("pegawai", 8, tanggal_mulai="01/11/2023"),
                   clean_row("pegawai", 9, unit_kerja="#REF!")]
    path = deployment.add_opd("DINKES", {"pegawai": rows})
    recs_before = run_json(capsys, path)
    deployment.cycle()
    cycle = {r: v[0] for r, v in status_by_row(path, "Pegawai", forms, "pegawai").items()}
    recs = run_json(capsys, path)                  # the status columns now present are not input
    assert {r["row"]: r["status"] for r in recs} == cycle
    assert recs == recs_before


def test_validate_form_option_and_text_output(tmp_path, forms, capsys):
    path = write_xlsx(tmp_path / "x.xlsx", forms)
    assert cli.main(["validate", str(path), "--form", "pegawai", *AS_OF_ARG]) == 0
    out = capsys.readouterr().out
    assert "SALAH" in out and "baris 4" in out
    assert cli.main(["validate", str(path), "--form", "eksper", *AS_OF_ARG]) == 2
    assert cli.main(["validate", str(path), "--form", "tidak_ada", *AS_OF_ARG]) == 2
    assert cli.main(["validate", str(tmp_path / "hilang.xlsx"), *AS_OF_ARG]) == 2
    junk = tmp_path / "junk.xlsx"
    junk.write_bytes(bytes.fromhex("D0CF11E0A1B11AE1") + b"\0" * 600)
    assert cli.main(["validate", str(junk), *AS_OF_ARG]) == 2
    empty = tmp_path / "kosong.csv"
    empty.write_text("", encoding="utf-8")
    assert cli.main(["validate", str(empty), *AS_OF_ARG]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and "Berkas tidak bisa diperiksa" in err


def test_validate_names_a_renamed_optional_column(tmp_path, forms, capsys):
    """Pengguna Layanan's 'No HP (WA)' renamed 'Nomor WA': the rows are checked without
    it, and `validate` says so on stderr (its --json stdout stays the records)."""
    key = "pengguna_layanan"
    path = tmp_path / "DINSOS.xlsx"
    demo.write_opd_workbook(path, [key], {key: [clean_row(key, i) for i in (1, 2)]}, forms=forms)
    wb = openpyxl.load_workbook(path)
    wb["Pengguna Layanan"]["F2"] = "Nomor WA"
    wb.save(path)
    said = codes.render("HEADER_UNKNOWN", tab="Pengguna Layanan", judul="Nomor WA", kolom="No HP (WA)")
    assert cli.main(["validate", str(path), "--json", *AS_OF_ARG]) == 0
    out, err = capsys.readouterr()
    recs = json.loads(out)
    assert [r["row"] for r in recs] == [3, 4] and all(r["normalized"]["no_hp"] is None for r in recs)
    assert said in err
    assert cli.main(["validate", str(path), *AS_OF_ARG]) == 0
    assert said in capsys.readouterr().err


def test_validate_says_which_tab_it_could_not_check(tmp_path, forms, capsys):
    """An OPD workbook whose Pengguna Layanan header was renamed: its Pegawai rows are
    checked, and the other tab is named with why, not left out in silence."""
    path = tmp_path / "DINSOS.xlsx"
    demo.write_opd_workbook(path, ["pegawai", "pengguna_layanan"],
                            {k: [clean_row(k, i) for i in (1, 2)] for k in ("pegawai", "pengguna_layanan")}, forms=forms)
    wb = openpyxl.load_workbook(path)
    ws = wb["Pengguna Layanan"]
    cell = next(c for c in ws[2] if c.value == "Nama Pengguna Layanan")
    cell.value = "Nama"
    wb.save(path)
    assert cli.main(["validate", str(path), *AS_OF_ARG]) == 0
    out, err = capsys.readouterr()
    assert "Tab Pegawai" in out and "Tab Pengguna Layanan" not in out
    assert "PERHATIAN: Tab 'Pengguna Layanan': kolom Nama Pengguna Layanan tidak ditemukan" in err, err


def test_validate_bad_as_of_is_a_usage_error(tmp_path, forms, capsys):
    with pytest.raises(SystemExit) as e:
        cli.main(["validate", str(write_xlsx(tmp_path / "x.xlsx", forms)), "--as-of", "31/02/2023"])
    assert e.value.code == 2
    assert "bukan tanggal" in capsys.readouterr().err


def test_as_of_takes_the_dates_the_settings_take():
    import datetime as dt

    from sheets_sync.cli import _date
    for text in ("2023-10-12", "12/10/2023", "12-10-2023", "12 Oktober 2023"):
        assert _date(text) == dt.date(2023, 10, 12)


def test_validate_subprocess_json(tmp_path, forms):
    path = write_xlsx(tmp_path / "x.xlsx", forms)
    r = subprocess.run([PYTHON, "-m", "sheets_sync", "validate", str(path), "--json", *AS_OF_ARG], cwd=ROOT,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert {x["row"]: x["status"] for x in json.loads(r.stdout)} == EXPECTED
    # `validate` ends without freeing its objects one by one (__main__): the exit code
    # and the message on stderr still come through
    bad = tmp_path / "rusak.xlsx"
    bad.write_bytes(b"bukan zip")
    r = subprocess.run([PYTHON, "-m", "sheets_sync", "validate", str(bad), "--json"], cwd=ROOT,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and "Berkas tidak bisa dibuka" in r.stderr and not r.stdout, r.stderr


# ---------------------------------------------------------- status, export
@pytest.fixture
def after_cycle(deployment):
    deployment.add_opd("DINKES", {"pegawai": ROWS, "pengguna_layanan": [
        clean_row("pengguna_layanan", 40), clean_row("pengguna_layanan", 41, nama='=HYPERLINK("http://x")'),
        clean_row("pengguna_layanan", 42, tanggal_layanan="01/01/2023")]})
    deployment.add_opd("DINSOS", {"pegawai": [clean_row("pegawai", 50, unit_kerja="@Dinas Sosial")]})
    deployment.add_opd("KOSONG", {"pegawai": [{"no": 1}]})
    deployment.cycle()
    return deployment


def test_status_before_and_after_a_cycle(deployment, capsys):
    deployment.add_opd("DINKES", {"pegawai": ROWS})
    assert cli.main(["status", "--config", str(deployment.config)]) == 1
    deployment.cycle()
    assert cli.main(["status", "--config", str(deployment.config)]) == 0
    out = capsys.readouterr().out
    line = next(x for x in out.splitlines() if x.startswith("DINKES"))
    assert line.split()[1:5] == ["5", "1", "1", "3"] and "ADA KESALAHAN" in line


def test_status_with_bad_config(tmp_path, capsys):
    cfg = tmp_path / "s.yaml"
    cfg.write_text("backend: excel\n")
    assert cli.main(["status", "--config", str(cfg)]) == 2
    assert "Pengaturan salah" in capsys.readouterr().err


def test_export_has_lampiran_iii_columns_and_only_accepted_rows(after_cycle, forms, tmp_path, capsys):
    out = tmp_path / "kirim" / "kpk.xlsx"
    assert cli.main(["export", "--config", str(after_cycle.config), "--out", str(out)]) == 0
    assert str(out) in capsys.readouterr().out
    book = openpyxl.load_workbook(out)
    accepted = {"pegawai": 0, "pengguna_layanan": 0}
    for code in ("DINKES", "DINSOS", "KOSONG"):
        for key, title in (("pegawai", "Pegawai"), ("pengguna_layanan", "Pengguna Layanan")):
            try:
                st = status_by_row(after_cycle.path(code), title, forms, key)
            except KeyError:
                continue
            accepted[key] += sum(v[0] in ("OK", "PERIKSA") for v in st.values())
    assert accepted == {"pegawai": 3, "pengguna_layanan": 2}
    for form in forms:
        ws = book[form.sheet]
        rows = [list(r) for r in ws.iter_rows(values_only=True)]
        header_at = next(i for i, r in enumerate(rows) if r[0] == form.columns[0].header)
        assert rows[header_at][:len(form.columns)] == [c.header for c in form.columns]
        data = [r for r in rows[header_at + 1:] if any(v not in (None, "") for v in r)]
        assert [r[0] for r in data] == list(range(1, len(data) + 1))          # No renumbered
        assert len(data) == accepted.get(form.key, 0), form.key
        for c in ws.iter_rows():
            for cell in c:
                assert cell.data_type != "f", cell.coordinate
    peg = [list(r) for r in book["Pegawai"].iter_rows(values_only=True)]
    phones = {r[5] for r in peg if isinstance(r[5], str) and r[5].startswith("+62")}
    assert phones == {"+6281230000001", "+6281230000005", "+6281230000050"}
    assert any(r[1] == "@Dinas Sosial" for r in peg)
    peng = [list(r) for r in book["Pengguna Layanan"].iter_rows(values_only=True)]
    assert any(r[4] == '=HYPERLINK("http://x")' for r in peng)


def test_export_matches_master_accepted_rows(after_cycle, forms, tmp_path):
    out = tmp_path / "kpk.xlsx"
    assert cli.main(["export", "--config", str(after_cycle.config), "--out", str(out)]) == 0
    master_rows = table(after_cycle.master, "Pegawai", "Kode OPD")
    book = openpyxl.load_workbook(out)
    rows = [r for r in book["Pegawai"].iter_rows(values_only=True)]
    exported = [r for r in rows if isinstance(r[0], int)]
    assert sorted(r[5] for r in exported) == sorted(m["No HP (W/A) aktif"] for m in master_rows)


def test_validate_csv_with_line_breaks_inside_quoted_cells(tmp_path, forms, capsys):
    """'Alamat & e-mail' is often two lines in one cell; a CSV export quotes it."""
    rows = [clean_row("penyedia_pbj", 1, alamat_email="Jl. Sudirman 5, Mukomuko\ncv.maju1@gmail.com"),
            clean_row("penyedia_pbj", 2, alamat_email="Jl. Merdeka 2\nIpuh"),
            clean_row("penyedia_pbj", 3)]
    form = forms["penyedia_pbj"]
    path = tmp_path / "pbj.csv"
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow([c.header for c in form.columns])
        for r in rows:
            w.writerow([r.get(k) for k in form.keys])
    recs = run_json(capsys, path)
    xl = tmp_path / "pbj.xlsx"
    demo.write_opd_workbook(xl, ["penyedia_pbj"], {"penyedia_pbj": rows}, forms=forms)
    want = run_json(capsys, xl)
    assert [r["status"] for r in recs] == ["OK", "SALAH", "OK"]
    assert [r["row"] for r in recs] == [2, 3, 4]          # one spreadsheet row per CSV record
    assert recs[0]["normalized"]["alamat_email"] == want[0]["normalized"]["alamat_email"]
    assert recs[0]["normalized"]["email"] == "cv.maju1@gmail.com"
    assert [r["status"] for r in want] == ["OK", "SALAH", "OK"]


# ------------------------------------------------------ kept regression files
def test_regression_csv_title_semicolon_multiline(capsys):
    recs = run_json(capsys, REGRESSIONS / "penyedia_title_semicolon_multiline.csv")
    assert [(r["row"], r["status"]) for r in recs] == [(3, "OK"), (4, "SALAH"), (5, "OK")]
    assert [r["normalized"]["email"] for r in recs] == ["cv.maju1@gmail.com", None, "pt.sinar3@gmail.com"]
    assert [m["code"] for m in recs[1]["messages"]] == ["ADDRESS_EMAIL_NONE"]


def test_regression_xlsx_dimension_a1_and_cached_formula(capsys, deployment, forms):
    src = REGRESSIONS / "pegawai_dimension_a1_cached_formula.xlsx"
    recs = run_json(capsys, src)
    assert [(r["row"], r["status"]) for r in recs] == [(3, "OK"), (4, "SALAH")]
    assert recs[0]["normalized"]["unit_kerja"] == "Dinas Kesehatan"        # the formula's cached result
    path = deployment.add_opd("DINKES", form_keys=["pegawai"], write=False)
    shutil.copyfile(src, path)
    deployment.cycle()
    assert {r: v[0] for r, v in status_by_row(path, "Pegawai", forms, "pegawai").items()} == {3: "OK", 4: "SALAH"}


def test_validate_mistyped_path_form_and_folder_say_what_is_wrong(tmp_path, forms, capsys):
    """A typo in the file name is 'not found', not 'format not recognised' (re-save it);
    a wrong --form is said without the quotes of a Python KeyError."""
    assert cli.main(["validate", str(tmp_path / "DINKSE.xlsx"), *AS_OF_ARG]) == 2
    assert "DINKSE.xlsx tidak ditemukan" in capsys.readouterr().err
    assert cli.main(["validate", str(tmp_path), *AS_OF_ARG]) == 2
    assert "adalah folder" in capsys.readouterr().err
    path = write_xlsx(tmp_path / "x.xlsx", forms)
    assert cli.main(["validate", str(path), "--form", "pegawa", *AS_OF_ARG]) == 2
    err = capsys.readouterr().err
    assert err.startswith("Pilihan --form salah: formulir 'pegawa' tidak dikenal; pilihan: pegawai"), err


def test_export_refuses_an_out_name_that_is_not_xlsx(after_cycle, tmp_path, capsys):
    out = tmp_path / "kpk.csv"
    assert cli.main(["export", "--config", str(after_cycle.config), "--out", str(out)]) == 2
    assert "harus berakhiran .xlsx" in capsys.readouterr().err and not out.exists()


def test_provision_piped_to_head_still_provisions_every_opd(after_cycle):
    """`provision | head -1`: the reader stops, the work does not (no 'Provision gagal:
    … BrokenPipeError', and the OPD after the first line still gets its workbook)."""
    gone = after_cycle.path("KOSONG")
    gone.unlink()
    r = _closed_pipe_run(["-m", "sheets_sync", "provision", "--config", str(after_cycle.config)])
    assert "BrokenPipeError" not in r.stderr and "gagal" not in r.stderr, r.stderr
    assert gone.exists()
    r = _closed_pipe_run(["-m", "sheets_sync", "season", "new", "--year", "2024", "--dry-run",
                          "--config", str(after_cycle.config)])
    assert "BrokenPipeError" not in r.stderr and "Traceback" not in r.stderr, r.stderr


def test_export_refuses_the_data_folder(after_cycle, capsys):
    """--out into the data folder would put every OPD's respondents where OPDs open their
    files, or write over master.xlsx and its Daftar OPD."""
    master = after_cycle.master
    before = master.read_bytes()
    assert cli.main(["export", "--config", str(after_cycle.config), "--out", str(master)]) == 2
    assert master.read_bytes() == before and "folder data" in capsys.readouterr().err
    inside = master.parent / "kirim" / "kpk.xlsx"
    assert cli.main(["export", "--config", str(after_cycle.config), "--out", str(inside)]) == 2
    assert not inside.exists()




def test_ctrl_c_ends_with_a_sentence_not_a_traceback(capsys):
    """Ctrl-C during `jobs.py --once` or `--check` printed forty lines of traceback."""
    from sheets_sync.cliparse import INTERRUPTED, run_quietly

    def work():
        raise KeyboardInterrupt

    assert run_quietly(work) == INTERRUPTED == 130
    err = capsys.readouterr().err
    assert "Dihentikan (Ctrl-C)" in err and "Traceback" not in err


def test_ctrl_c_in_the_service_loop_lets_the_cycle_finish_then_a_second_stops_it():
    import jobs
    stop = {"flag": False}
    jobs.interrupted(stop)
    assert stop["flag"] is True
    with pytest.raises(KeyboardInterrupt):
        jobs.interrupted(stop)
