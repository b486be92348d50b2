"""The selfeval command as a user runs it (a subprocess through main()): output, exit codes, messages."""
from __future__ import annotations

import csv
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from conftest import build

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "sample_workbooks"


def selfeval(*args: str, cwd: Path | None = None, env: dict | None = None, prelude: str = "",
             timeout: float = 600) -> subprocess.CompletedProcess:
    """`selfeval ARGS` in a fresh process, as the console script runs it (pipeline.cli:main).
    prelude is Python run before main() — only for injecting a fault the CLI must contain."""
    e = {k: v for k, v in os.environ.items() if k not in ("SELFEVAL_RULES", "SELFEVAL_START_METHOD")}
    e.update({"COLUMNS": "200", "PYTHONPATH": str(ROOT), "PYTHONIOENCODING": "utf-8"})
    e.update(env or {})
    code = f"import sys\n{prelude}\nfrom pipeline.cli import main\nsys.argv[0] = 'selfeval'\nmain()"
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True,
                          encoding="utf-8", cwd=cwd or ROOT.parent, env=e, timeout=timeout)


def output(r: subprocess.CompletedProcess) -> str:
    return r.stdout + r.stderr


# An English sentence: two or more English words in a row, once option names, paths, file names,
# codes (INC-001, NOT_A_WORKBOOK, INBOX) and the program's own words are taken out.
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_NOT_WORDS = re.compile(r"\S*[/\\]\S*|\S+\.[A-Za-z0-9]{1,5}\b|(?<![A-Za-z])--?[A-Za-z][A-Za-z-]*")
_RUN = re.compile(r"[A-Za-z][a-z]+(?:[\s'’\",:;()]+[A-Za-z][a-z]+)+")
_PROGRAM = {"selfeval", "run", "check", "inspect", "rules", "error", "warning", "info", "none",
            "true", "false"}
_CLICK_WORDS = re.compile(r"\b(?:Usage|Options|Arguments|Commands|Error|Try|Missing|Invalid|"
                          r"Aborted|Traceback|required|default|INTEGER|FLOAT|TEXT|BOOLEAN|PATH)\b"
                          r"|<(?:bool|int|str|path|float)>")


def command_names() -> set[str]:
    """Every command and sub-command name on the app (those other modules register too)."""
    from typer.main import get_command

    from pipeline.cli import app
    names, todo = set(), [get_command(app)]
    while todo:
        for name, cmd in getattr(todo.pop(), "commands", {}).items():
            names.add(name)
            todo.append(cmd)
    return names


def english(text: str) -> list[str]:
    """The English a Chinese user would have to read in text (empty when there is none)."""
    t = _NOT_WORDS.sub(" ", _ANSI.sub("", text))
    program = _PROGRAM | command_names()
    runs = [m.group(0) for m in _RUN.finditer(t)
            if not {w.lower() for w in re.findall(r"[A-Za-z]+", m.group(0))} <= program]
    return runs + _CLICK_WORDS.findall(t)


def test_the_english_detector():
    for text in ("Usage: selfeval run [OPTIONS] {inbox}", "Try 'selfeval run --help' for help.",
                 "Missing argument 'inbox'.", "│ --help  <bool>  Show this message and exit. │",
                 "Invalid value for '--jobs' / '-j': Input should be a valid integer",
                 "压缩包无法打开：File is not a zip file", "Got unexpected extra argument(s) (b)",
                 "[required]", "Error"):
        assert english(text), text
    for text in ("用法：selfeval run [选项] INBOX", "原因（NOT_A_WORKBOOK）：INC-001 income.total",
                 "查看帮助：selfeval run --help", "/tmp/pytest-of-root/some dir/a file.xlsx",
                 "--fail-on 级别  error | warning | info | none", "文件 13_某单位_网页另存.xls"):
        assert not english(text), (text, english(text))


def test_run_exit_codes(tmp_path: Path, seed_path):
    clean, warn, err = tmp_path / "clean", tmp_path / "warn", tmp_path / "err"
    for d in (clean, warn, err):
        d.mkdir()
    build(clean / "a.xlsx", seed=31)
    shutil.copy(seed_path, warn / "seed.xlsx")
    build(err / "b.xlsx", seed=32, plants=["identity"])
    r = selfeval("run", str(clean), "--out", str(tmp_path / "o1"))
    assert r.returncode == 0, output(r)
    assert "收到文件" in r.stdout and "接收 / 拒收" in r.stdout
    assert not (tmp_path / "o1" / "returns").exists()
    assert selfeval("run", str(clean), "--out", str(tmp_path / "o1"), "--all-returns").returncode == 0
    from openpyxl import load_workbook
    rows = list(load_workbook(tmp_path / "o1" / "returns" / "a.xlsx")["问题清单"].iter_rows(values_only=True))
    header = next(i for i, row in enumerate(rows) if "问题说明" in row)
    assert not any(any(v not in (None, "") for v in row) for row in rows[header + 1:])  # no finding listed
    assert selfeval("run", str(warn), "--out", str(tmp_path / "o2")).returncode == 0
    assert selfeval("run", str(warn), "--out", str(tmp_path / "o2"), "--fail-on", "warning").returncode == 1
    r = selfeval("run", str(err), "--out", str(tmp_path / "o3"))
    assert r.returncode == 1 and any(rid in r.stdout for rid in ("INC-001", "TPF-001", "FA-001"))
    assert selfeval("run", str(err), "--out", str(tmp_path / "o3"), "--fail-on", "none").returncode == 0
    (err / "bad.xlsx").write_bytes(b"")
    r = selfeval("run", str(err), "--out", str(tmp_path / "o4"))
    assert r.returncode == 2 and "bad.xlsx" in r.stdout and "EMPTY_FILE" in r.stdout
    r = selfeval("run", str(tmp_path / "nope"), "--out", str(tmp_path / "o5"))
    assert r.returncode == 2 and "找不到输入文件夹" in r.stderr


def test_check_prints_the_seed_contradiction(seed_path):
    r = selfeval("check", str(seed_path))
    assert r.returncode == 0, output(r)
    assert "NAR-001" in r.stdout and "255.12" in r.stdout and "A71" in r.stdout


def test_inspect_shows_what_was_found_where(seed_path):
    r = selfeval("inspect", str(seed_path))
    assert r.returncode == 0, output(r)
    for text in ("岳阳市城市管理和综合执法局湖南城陵矶新港区分局", "B3", "收入表 B11", "C15", "255.18", "(净值)", "A71"):
        assert text in r.stdout, text


def test_inspect_rejected_file(tmp_path: Path):
    (tmp_path / "x.xls").write_text("<html></html>", encoding="utf-8")
    r = selfeval("inspect", str(tmp_path / "x.xls"))
    assert r.returncode == 2 and "NOT_A_WORKBOOK" in r.stdout and "HTML" in r.stdout


def test_rules_lists_the_pack(tmp_path: Path):
    r = selfeval("rules")
    assert r.returncode == 0, output(r)
    for rid in ("INC-001", "EXP-003", "SUM-001", "GRD-001", "NAR-001", "DUP-001"):
        assert rid in r.stdout
    bad = tmp_path / "bad.toml"
    bad.write_text("[[rules]]\nid = 'X-1'\n", encoding="utf-8")
    r = selfeval("rules", "--rules", str(bad))
    assert r.returncode == 2 and "规则文件有误" in r.stderr and "缺少 name" in r.stderr


def test_bundled_samples_run_as_the_readme_says(tmp_path: Path):
    r = selfeval("run", str(SAMPLES), "--out", str(tmp_path / "out"), "--no-returns")
    assert r.returncode == 2, output(r)  # two samples are deliberately broken files
    with open(tmp_path / "out" / "manifest.csv", encoding="utf-8-sig", newline="") as fh:
        manifest = {row["file"]: row for row in csv.DictReader(fh)}
    assert len(manifest) == len([p for p in SAMPLES.iterdir() if p.is_file()])
    rejected = {f: row["code"] for f, row in manifest.items() if row["status"] == "rejected"}
    assert rejected == {"13_某单位_网页另存.xls": "NOT_A_WORKBOOK", "14_某单位_传输中断.xlsx": "CORRUPT_ZIP"}
    assert manifest["12_市城管局_一簿多表.xlsx"]["units"] == "2"
    with open(tmp_path / "out" / "findings.csv", encoding="utf-8-sig", newline="") as fh:
        findings = list(csv.DictReader(fh))
    assert any(f["rule"] == "NAR-001" and f["actual"] == "255.12" for f in findings)
    assert {f["file"] for f in findings if f["severity"] == "error"} == {"09_市司法局_问题较多.xlsx"}
