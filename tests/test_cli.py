"""The selfeval command as a user runs it: output, exit codes, messages."""
from __future__ import annotations

import shutil
from pathlib import Path

from conftest import build
from typer.testing import CliRunner

from pipeline.cli import app

runner = CliRunner()


def invoke(*args: str):
    return runner.invoke(app, list(args), env={"COLUMNS": "200"})


def test_run_exit_codes(tmp_path: Path, seed_path):
    clean, warn, err = tmp_path / "clean", tmp_path / "warn", tmp_path / "err"
    for d in (clean, warn, err):
        d.mkdir()
    build(clean / "a.xlsx", seed=31)
    shutil.copy(seed_path, warn / "seed.xlsx")
    build(err / "b.xlsx", seed=32, plants=["identity"])
    r = invoke("run", str(clean), "--out", str(tmp_path / "o1"))
    assert r.exit_code == 0, r.output
    assert "收到文件" in r.output and "接收 / 拒收" in r.output
    assert not (tmp_path / "o1" / "returns").exists()
    assert invoke("run", str(clean), "--out", str(tmp_path / "o1"), "--all-returns").exit_code == 0
    from openpyxl import load_workbook
    listed = load_workbook(tmp_path / "o1" / "returns" / "a.xlsx")["问题清单"]
    assert listed.max_row == 1 and listed["D1"].value == "问题说明"
    assert invoke("run", str(warn), "--out", str(tmp_path / "o2")).exit_code == 0
    assert invoke("run", str(warn), "--out", str(tmp_path / "o2"), "--fail-on", "warning").exit_code == 1
    r = invoke("run", str(err), "--out", str(tmp_path / "o3"))
    assert r.exit_code == 1 and any(rid in r.output for rid in ("INC-001", "TPF-001", "FA-001"))
    assert invoke("run", str(err), "--out", str(tmp_path / "o3"), "--fail-on", "none").exit_code == 0
    (err / "bad.xlsx").write_bytes(b"")
    r = invoke("run", str(err), "--out", str(tmp_path / "o4"))
    assert r.exit_code == 2 and "bad.xlsx" in r.output and "EMPTY_FILE" in r.output
    assert invoke("run", str(tmp_path / "nope")).exit_code == 2


def test_check_prints_the_seed_contradiction(seed_path):
    r = invoke("check", str(seed_path))
    assert r.exit_code == 0
    assert "NAR-001" in r.output and "255.12" in r.output and "A71" in r.output


def test_inspect_shows_what_was_found_where(seed_path):
    r = invoke("inspect", str(seed_path))
    assert r.exit_code == 0
    for text in ("岳阳市城市管理和综合执法局湖南城陵矶新港区分局", "B3", "收入表 B11", "C15", "255.18", "(净值)", "A71"):
        assert text in r.output, text


def test_inspect_rejected_file(tmp_path: Path):
    (tmp_path / "x.xls").write_text("<html></html>", encoding="utf-8")
    r = invoke("inspect", str(tmp_path / "x.xls"))
    assert r.exit_code == 2 and "NOT_A_WORKBOOK" in r.output and "HTML" in r.output


def test_rules_lists_the_pack(tmp_path: Path):
    r = invoke("rules")
    assert r.exit_code == 0
    for rid in ("INC-001", "EXP-003", "SUM-001", "GRD-001", "NAR-001", "DUP-001"):
        assert rid in r.output
    bad = tmp_path / "bad.toml"
    bad.write_text("[[rules]]\nid = 'X-1'\n", encoding="utf-8")
    r = invoke("rules", "--rules", str(bad))
    assert r.exit_code == 2 and "规则文件有误" in r.output and "缺少 name" in r.output


def test_bundled_samples_run_as_the_readme_says(tmp_path: Path):
    import csv

    samples = Path(__file__).parent.parent / "sample_workbooks"
    r = invoke("run", str(samples), "--out", str(tmp_path / "out"), "--no-returns")
    assert r.exit_code == 2  # two samples are deliberately broken files
    with open(tmp_path / "out" / "manifest.csv", encoding="utf-8-sig", newline="") as fh:
        manifest = {row["file"]: row for row in csv.DictReader(fh)}
    assert len(manifest) == len([p for p in samples.iterdir() if p.is_file()])
    rejected = {f: row["code"] for f, row in manifest.items() if row["status"] == "rejected"}
    assert rejected == {"13_某单位_网页另存.xls": "NOT_A_WORKBOOK", "14_某单位_传输中断.xlsx": "CORRUPT_ZIP"}
    assert manifest["12_市城管局_一簿多表.xlsx"]["units"] == "2"
    with open(tmp_path / "out" / "findings.csv", encoding="utf-8-sig", newline="") as fh:
        findings = list(csv.DictReader(fh))
    assert any(f["rule"] == "NAR-001" and f["actual"] == "255.12" for f in findings)
    assert {f["file"] for f in findings if f["severity"] == "error"} == {"09_市司法局_问题较多.xlsx"}
