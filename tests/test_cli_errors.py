"""Wrong inputs, bad rule files, unusable output folders and unexpected failures, through the real
CLI: each gets a Chinese message that says what is wrong and the exit code the README documents."""
from __future__ import annotations

import csv
import shutil
import subprocess
from contextlib import contextmanager
from pathlib import Path

import pytest

from test_cli import SAMPLES, english, output, selfeval

SAMPLE = SAMPLES / "2021_岳阳市城管局城陵矶新港区分局.xlsx"
BROKEN = SAMPLES / "14_某单位_传输中断.xlsx"


def assert_said(r, code: int, *words: str) -> str:
    text = output(r)
    assert r.returncode == code, text
    assert "Traceback" not in text and not english(text), text
    for w in words:
        assert w in text, (w, text)
    return text


# ---------------------------------------------------------------- inputs
def test_a_file_given_for_the_inbox_says_what_it_is(tmp_path: Path):
    r = selfeval("run", str(SAMPLE), "--out", str(tmp_path / "out"))
    assert_said(r, 2, "是一个文件", "文件夹", "selfeval check")
    assert not (tmp_path / "out").exists()


def test_a_folder_given_for_a_file_says_what_it_is(tmp_path: Path):
    for command in ("check", "inspect"):
        assert_said(selfeval(command, str(SAMPLES)), 2, "是一个文件夹", "selfeval run")
        assert_said(selfeval(command, str(tmp_path / "无此文件.xlsx")), 2, "找不到文件")


def test_check_on_a_damaged_file_is_a_verdict(tmp_path: Path):
    r = selfeval("check", str(BROKEN))
    assert_said(r, 2, "拒收", "CORRUPT_ZIP")
    (tmp_path / "空.xlsx").write_bytes(b"")
    assert_said(selfeval("check", str(tmp_path / "空.xlsx")), 2, "拒收", "EMPTY_FILE")
    assert_said(selfeval("inspect", str(BROKEN)), 2, "拒收", "CORRUPT_ZIP")


def test_chinese_names_and_spaces_from_another_directory(tmp_path: Path):
    inbox = tmp_path / "收件 箱" / "二〇二一 年"
    inbox.mkdir(parents=True)
    shutil.copy(SAMPLE, inbox / "城陵矶 新港区分局.xlsx")
    shutil.copy(BROKEN, inbox / "传输 中断.xlsx")
    elsewhere = tmp_path / "别处"
    elsewhere.mkdir()
    r = selfeval("run", str(tmp_path / "收件 箱"), "--out", str(tmp_path / "输出 结果"), cwd=elsewhere)
    assert_said(r, 2, "传输 中断.xlsx")
    with open(tmp_path / "输出 结果" / "manifest.csv", encoding="utf-8-sig", newline="") as fh:
        rows = {row["file"]: row["status"] for row in csv.DictReader(fh)}
    assert rows == {"二〇二一 年/城陵矶 新港区分局.xlsx": "accepted", "二〇二一 年/传输 中断.xlsx": "rejected"}
    assert not any(elsewhere.iterdir())
    r = selfeval("check", str(inbox / "城陵矶 新港区分局.xlsx"), cwd=elsewhere)
    assert_said(r, 0, "NAR-001")


# ---------------------------------------------------------------- rule files
def test_tolerance_is_checked_as_the_tolerance(tmp_path: Path):
    inbox = tmp_path / "in"
    inbox.mkdir()
    shutil.copy(SAMPLE, inbox)
    for bad in ("abc", "-1", "-0.01", "inf"):
        text = assert_said(selfeval("run", str(inbox), "--out", str(tmp_path / "o"), "--tolerance", bad),
                           2, "--tolerance", "容差")
        assert "规则文件" not in text
    assert not (tmp_path / "o").exists()
    assert_said(selfeval("check", str(SAMPLE), "--tolerance", "0"), 0)


def test_a_toml_error_is_said_in_chinese_with_its_line_and_column(tmp_path: Path):
    bad = tmp_path / "我的 规则.toml"
    bad.write_text('[pack]\nname = "x"\n\n[[rules]]\nid = "A-1"\nseverity = error\n', encoding="utf-8")
    for args in (["rules", "--check", str(bad)], ["rules", "--rules", str(bad)],
                 ["check", str(SAMPLE), "--rules", str(bad)],
                 ["run", str(SAMPLES), "--out", str(tmp_path / "o"), "--rules", str(bad)]):
        assert_said(selfeval(*args), 2, "规则文件有误", "第 6 行第 12 列", "文字要加英文引号", "severity = error")
    assert not (tmp_path / "o").exists()
    bad.write_text('[pack]\nname = "x\n', encoding="utf-8")
    assert_said(selfeval("rules", "--check", str(bad)), 2, "第 2 行", "缺少结束的引号")
    bad.write_bytes('[pack]\nname = "规则"\n'.encode("gbk"))
    assert_said(selfeval("rules", "--check", str(bad)), 2, "不是 UTF-8")
    bad.write_text('[pack]\ntolerance = "-1"\n', encoding="utf-8")
    assert_said(selfeval("rules", "--check", str(bad)), 2, "[pack]", "不能为负数")
    bad.write_text('[[rules]]\nid = "A"\nname = "n"\nkind = "identity"\nseverity = "error"\n'
                   'message = "m"\nformula = "income.total"\n', encoding="utf-8")
    assert_said(selfeval("rules", "--check", str(bad)), 2, "第 1 条规则（A）", "合计字段 = 分项")
    assert_said(selfeval("rules", "--check", str(tmp_path / "无.toml")), 2, "找不到规则文件")


def test_export_edit_check_and_use_a_pack(tmp_path: Path):
    target = tmp_path / "本局 规则" / "rules.toml"
    r = selfeval("rules", "--export", str(target))
    assert_said(r, 0, "已导出规则包", "labels.toml", "rules --check")
    labels = target.with_name("labels.toml")
    assert target.read_bytes() == (SAMPLES.parent / "pipeline" / "rules" / "rules.toml").read_bytes()
    assert labels.read_bytes() == (SAMPLES.parent / "pipeline" / "rules" / "labels.toml").read_bytes()
    assert_said(selfeval("rules", "--export", str(target)), 2, "已存在", "--force")
    assert_said(selfeval("rules", "--export", str(target), "--force"), 0)
    assert_said(selfeval("rules", "--check", str(target)), 0, "规则文件可用", "同义词表")
    # a bureau disables INC-001: --rules and SELFEVAL_RULES both use the edited pack
    text = target.read_text(encoding="utf-8")
    assert text.count('id = "INC-001"') == 1
    target.write_text(text.replace('id = "INC-001"', 'id = "INC-001"\nenabled = false'), encoding="utf-8")
    assert_said(selfeval("rules", "--check", str(target.parent)), 0, "规则文件可用")
    assert "INC-001" in selfeval("rules").stdout
    assert "INC-001" not in selfeval("rules", "--rules", str(target)).stdout
    assert "INC-001" not in selfeval("rules", env={"SELFEVAL_RULES": str(target.parent)}).stdout
    r = selfeval("run", str(SAMPLES), "--out", str(tmp_path / "o"), "--no-returns",
                 env={"SELFEVAL_RULES": str(target.parent)})
    assert r.returncode == 2, output(r)
    with open(tmp_path / "o" / "findings.csv", encoding="utf-8-sig", newline="") as fh:
        rules = {row["rule"] for row in csv.DictReader(fh)}
    assert "INC-001" not in rules and "SUM-001" in rules
    # a broken synonym table is caught before any file is read
    labels.write_text("[org]\n", encoding="utf-8")
    assert_said(selfeval("rules", "--check", str(target)), 2, "同义词表")
    assert_said(selfeval("run", str(SAMPLES), "--out", str(tmp_path / "o2"),
                         env={"SELFEVAL_RULES": str(target.parent)}), 2, "同义词表", "SELFEVAL_RULES")
    assert_said(selfeval("rules", env={"SELFEVAL_RULES": str(tmp_path / "无")}), 2, "SELFEVAL_RULES")


# ---------------------------------------------------------------- output folders
def test_out_that_is_a_file(tmp_path: Path):
    (tmp_path / "out").write_text("x", encoding="utf-8")
    assert_said(selfeval("run", str(SAMPLES), "--out", str(tmp_path / "out")), 2, "是一个已有的文件")
    assert_said(selfeval("run", str(SAMPLES), "--out", str(tmp_path / "out" / "sub")), 2, "不是文件夹")
    assert (tmp_path / "out").read_text(encoding="utf-8") == "x"


@contextmanager
def tmpfs(where: Path, *options: str):
    where.mkdir(parents=True, exist_ok=True)
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", ",".join(options), "tmpfs", str(where)],
                       capture_output=True)
    if r.returncode:
        pytest.skip("cannot mount a tmpfs here (needs root)")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=True)


def test_out_on_a_read_only_disk(tmp_path: Path):
    with tmpfs(tmp_path / "ro", "ro", "size=1m") as ro:
        assert_said(selfeval("run", str(SAMPLES), "--out", str(ro / "out")), 2, "只读", "--out")


def test_out_on_a_full_disk(tmp_path: Path):
    with tmpfs(tmp_path / "full", "size=2m") as full:
        assert_said(selfeval("run", str(SAMPLES), "--out", str(full / "o"), "--no-returns"), 2)
        (full / "fill").write_bytes(b"0" * (shutil.disk_usage(full).free - 10 * 1024))
        assert_said(selfeval("run", str(SAMPLES), "--out", str(full / "a")), 2, "磁盘", "已满")
        (full / "fill").unlink()
        (full / "fill").write_bytes(b"0" * (shutil.disk_usage(full).free - 150 * 1024))
        r = selfeval("run", str(SAMPLES), "--out", str(full / "b"))  # fills up while writing
        assert_said(r, 2, "磁盘")


# ---------------------------------------------------------------- unexpected failures
BOOM = "import pipeline.{module} as m\ndef boom(*a, **k):\n    raise {exc}\nm.{name} = boom\n"


def test_an_unexpected_failure_names_its_log_and_exits_4(tmp_path: Path):
    out = tmp_path / "输出"
    out.mkdir()  # the run fails once OUT is there: the details go into it
    r = selfeval("run", str(SAMPLES), "--out", str(out),
                 prelude=BOOM.format(module="run", name="run", exc="KeyError('chunk_rules')"))
    text = assert_said(r, 4, "程序内部出错", str(out / "selfeval-error.log"))
    log = (out / "selfeval-error.log").read_text(encoding="utf-8")
    assert "Traceback" in log and "KeyError: 'chunk_rules'" in log and "chunk_rules" not in text
    # no OUT to write to: the log goes to the temporary folder
    r = selfeval("check", str(SAMPLE), prelude=BOOM.format(module="single", name="check_file",
                                                           exc="ZeroDivisionError()"))
    text = assert_said(r, 4, "程序内部出错", "selfeval-error-")
    log = Path(text.split("详细信息已写入 ")[1].split("，")[0].strip())
    assert log.is_file() and "ZeroDivisionError" in log.read_text(encoding="utf-8")
    log.unlink()


def test_a_run_that_cannot_account_for_its_inputs_exits_3(tmp_path: Path):
    r = selfeval("run", str(SAMPLES), "--out", str(tmp_path / "o"),
                 prelude=BOOM.format(module="run", name="run",
                                     exc="__import__('pipeline.errors').errors.RunIncomplete('收到的文件数不等于接收数与拒收数之和，本次汇总作废')"))
    assert_said(r, 3, "本次汇总作废")


def test_a_rule_parameter_of_the_wrong_type_is_a_rule_file_error(tmp_path: Path):
    pack = (SAMPLES.parent / "pipeline" / "rules" / "rules.toml").read_text(encoding="utf-8")
    bad = tmp_path / "rules.toml"
    for old, new in (('min = "0"', 'min = "零"'), ('bands = [["优", "90"]', 'bands = [["优"]')):
        assert old in pack
        bad.write_text(pack.replace(old, new, 1), encoding="utf-8")
        assert_said(selfeval("rules", "--check", str(bad)), 2, "规则文件有误", "SCO-001" if "min" in old else "GRD-001")
        assert_said(selfeval("check", str(SAMPLE), "--rules", str(bad)), 2, "规则文件有误")


def test_rejection_reasons_carry_no_english(tmp_path: Path):
    import zipfile

    src = zipfile.ZipFile(SAMPLES / "01_市财政局_标准格式.xlsx")
    with zipfile.ZipFile(tmp_path / "坏的.xlsx", "w") as z:
        for info in src.infolist():
            data = src.read(info)
            if info.filename == "xl/worksheets/sheet1.xml":
                data = data[: len(data) // 2] + b"<x></y>" + data[len(data) // 2:]
            z.writestr(info, data)
    assert_said(selfeval("check", str(tmp_path / "坏的.xlsx")), 2, "拒收", "CORRUPT_XML")


def test_out_inside_the_inbox_writes_nothing_there(tmp_path: Path):
    inbox = tmp_path / "收件箱"
    inbox.mkdir()
    shutil.copy(SAMPLE, inbox / "a.xlsx")
    for out in (inbox / "输出", inbox):
        assert_said(selfeval("run", str(inbox), "--out", str(out)), 2, "输入文件夹")
        assert sorted(p.name for p in inbox.iterdir()) == ["a.xlsx"]
    assert_said(selfeval("run", str(inbox), "--out", str(tmp_path)), 2, "输出文件夹 ")
    assert sorted(p.name for p in inbox.iterdir()) == ["a.xlsx"]


def test_library_warnings_stay_off_the_terminal():
    prelude = ("import warnings, pipeline.single as s\n_check = s.check_file\n"
               "def noisy(*a, **k):\n    warnings.warn('Data Validation extension is not supported')\n"
               "    return _check(*a, **k)\ns.check_file = noisy\n")
    r = selfeval("check", str(SAMPLE), prelude=prelude)
    assert_said(r, 0, "NAR-001")
    assert "Data Validation" not in output(r)
