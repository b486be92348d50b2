"""Hostile and broken files through the real pipeline, in a subprocess with a 4 GiB memory cap."""
from __future__ import annotations

import csv
import os
import resource
import subprocess
import sys
from pathlib import Path

from conftest import HAS_SOFFICE, build, fw, g, norm_truth, read_values
from hostile import build_all, strict_copy

from pipeline.read.parse import read_file

CAP = 4 * 1024 ** 3


def _cap():
    resource.setrlimit(resource.RLIMIT_AS, (CAP, CAP))


def run_cli(*args: str, timeout: int = 300) -> subprocess.CompletedProcess:
    """selfeval as a user runs it, under the memory cap."""
    exe = [sys.executable, "-m", "pipeline.cli", *args]
    return subprocess.run(exe, capture_output=True, text=True, timeout=timeout, preexec_fn=_cap,
                          cwd=Path(__file__).parent.parent, env={**os.environ, "COLUMNS": "200"})


def manifest(out: Path) -> dict[str, dict]:
    with open(out / "manifest.csv", encoding="utf-8-sig", newline="") as fh:
        return {r["file"]: r for r in csv.DictReader(fh)}


def encrypted_copy(src: Path, dst: Path) -> None:
    from msoffcrypto.format.ooxml import OOXMLFile

    with open(src, "rb") as fin, open(dst, "wb") as fout:
        OOXMLFile(fin).encrypt("123456", fout)


def test_hostile_inbox_every_file_accounted_for(tmp_path: Path):
    inbox, out = tmp_path / "inbox", tmp_path / "out"
    good = tmp_path / "good.xlsx"
    build(good, seed=3)
    want = build_all(inbox, good)
    (inbox / "子目录").mkdir()
    build(inbox / "子目录" / "好表1.xlsx", g.Drift(row_offset=2), seed=4, unit="好单位一")
    build(inbox / "子目录" / "好表2.xlsx", g.Drift(synonyms=True), seed=5, unit="好单位二")
    want.update({"子目录/好表1.xlsx": "", "子目录/好表2.xlsx": ""})
    strict_copy(good, inbox / "严格格式.xlsx")
    want["严格格式.xlsx"] = ""
    encrypted_copy(good, inbox / "加密.xlsx")
    want["加密.xlsx"] = "ENCRYPTED"
    (inbox / "链接.xlsx").symlink_to(good)
    want["链接.xlsx"] = "NOT_A_REGULAR_FILE"
    if HAS_SOFFICE:
        fw.convert([good], "xls", tmp_path)
        (tmp_path / "good.xls").rename(inbox / "其实是xls.xlsx")
        want["其实是xls.xlsx"] = ""
    proc = run_cli("run", str(inbox), "--out", str(out), "--memory-mb", "1024", "--quiet")
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr and "Traceback" not in proc.stdout
    got = manifest(out)
    assert set(got) == set(want)
    assert {f: r["code"] for f, r in got.items()} == want
    for f, code in want.items():
        assert got[f]["status"] == ("accepted" if not code else "rejected")
        assert len(got[f]["sha256"]) == 64 or code == "NOT_A_REGULAR_FILE"
        if code:
            assert got[f]["error"], f
    assert got["加密.xlsx"]["error"] == "工作簿设置了打开密码，无法读取；请去除密码后重新报送"
    import re
    assert re.search(rf"收到文件\s+{len(want)}\b", proc.stdout)
    assert re.search(rf"接收 / 拒收\s+{sum(not c for c in want.values())} / {sum(bool(c) for c in want.values())}\b",
                     proc.stdout)


def test_strict_ooxml_reads_like_transitional(tmp_path: Path):
    form = build(tmp_path / "t.xlsx", seed=8)
    strict_copy(tmp_path / "t.xlsx", tmp_path / "s.xlsx")
    r = read_file(tmp_path / "s.xlsx", "s.xlsx")
    assert r.status == "accepted"
    assert read_values(r) == norm_truth(form)


def test_a_slow_file_costs_only_itself(tmp_path: Path):
    """A legal but huge form overruns the per-file limit; the other file still comes through."""
    from openpyxl import load_workbook

    inbox = tmp_path / "inbox"
    inbox.mkdir()
    build(inbox / "ok.xlsx", seed=1)
    build(tmp_path / "big.xlsx", seed=2, writer="op")
    wb = load_workbook(tmp_path / "big.xlsx")
    ws = wb.active
    for r in range(200, 19_000):
        for c in range(1, 10):
            ws.cell(row=r, column=c, value=f"附注{r}-{c}")
    wb.save(inbox / "big.xlsx")
    proc = run_cli("run", str(inbox), "--out", str(tmp_path / "out"), "--timeout", "0.05", "--quiet",
                   "--no-returns")
    got = manifest(tmp_path / "out")
    assert (got["big.xlsx"]["status"], got["big.xlsx"]["code"]) == ("rejected", "PARSE_TIMEOUT")
    assert got["ok.xlsx"]["status"] == "accepted"
    assert proc.returncode == 2


INJECT = {"unit": '=HYPERLINK("http://example.invalid","点我")', "org": "@SUM(1+1)",
          "amount": "=cmd|' /C calc'!A0", "contact": "+1+2", "grade": "-2+3"}


def test_input_text_never_becomes_a_formula(tmp_path: Path):
    import random

    from openpyxl import load_workbook

    inbox, out = tmp_path / "inbox", tmp_path / "out"
    inbox.mkdir()
    form = g.random_form(random.Random(9), INJECT["unit"], subs=2)
    form.orgs[1] = INJECT["org"]
    form.contact = INJECT["contact"]
    form.grade = INJECT["grade"]
    form.cell_text[("income", 1, "other")] = INJECT["amount"]
    fw.save_openpyxl(g.layout(form), inbox / "inject.xlsx")
    run_cli("run", str(inbox), "--out", str(out), "--quiet")
    for path in [out / "summary.xlsx", *sorted((out / "returns").rglob("*.xlsx"))]:
        wb = load_workbook(path)
        for ws in wb.worksheets:
            for row in ws.iter_rows():
                for c in row:
                    if c.data_type == "f":
                        assert path.name == "summary.xlsx" and ws.title == "汇总表" and c.value.startswith(("=SUM(", "=SUBTOTAL(")), \
                            (path.name, ws.title, c.coordinate, c.value)
                    if isinstance(c.value, str) and c.value in INJECT.values():
                        assert c.data_type == "s"
    texts = (out / "values.csv").read_text(encoding="utf-8-sig") + (out / "findings.csv").read_text(encoding="utf-8-sig")
    for line in texts.splitlines():
        for cell in next(csv.reader([line])):
            assert not cell.startswith(("=", "+", "@", "\t", "\r")) or cell.startswith("'")
            if cell.startswith("-"):
                assert cell.replace("-", "", 1).replace(".", "", 1).isdigit()
    assert "'=cmd|' /C calc'!A0" in texts and "'=HYPERLINK(" in texts and ",'-2+3," in texts
