"""Every word the command line prints is Chinese: help pages and every kind of wrong argument, for
every command, through the real CLI (a subprocess)."""
from __future__ import annotations

import pytest

from test_cli import SAMPLES, english, output, selfeval

COMMANDS = ("run", "check", "inspect", "rules")
SAMPLE = str(SAMPLES / "2021_岳阳市城管局城陵矶新港区分局.xlsx")


def _registered(nested: bool = False) -> list[str]:
    """Every command on the app, also those another module registers (with nested=True also the
    commands of sub-groups, as "group command")."""
    from typer.main import get_command

    from pipeline.cli import app
    out, todo = [], [("", get_command(app))]
    while todo:
        prefix, group = todo.pop()
        for name, cmd in getattr(group, "commands", {}).items():
            out.append(f"{prefix}{name}")
            if nested:
                todo.append((f"{prefix}{name} ", cmd))
    return sorted(out if nested else [c for c in out if " " not in c])


def assert_chinese(r, code: int, *expected: str) -> None:
    text = output(r)
    assert r.returncode == code, text
    assert text.strip(), "nothing was printed"
    assert not english(text), (english(text), text)
    assert "Traceback" not in text
    for word in expected:
        assert word in text, (word, text)


def test_every_registered_command_is_tested():
    assert set(COMMANDS) <= set(_registered())


@pytest.mark.parametrize("args", [["--help"], ["-h"], [], ["run", "-h"]])  # every command: below
def test_help_pages(args):
    r = selfeval(*args)
    assert_chinese(r, 2 if not args else 0, "用法：selfeval", "选项：", "显示本帮助并退出")


@pytest.mark.parametrize("command", _registered(nested=True))
def test_help_and_unknown_option_of_every_registered_command(command):
    assert_chinese(selfeval(*command.split(), "--help"), 0, f"用法：selfeval {command}")
    assert_chinese(selfeval(*command.split(), "--no-such-option"), 2, "没有这个选项：--no-such-option",
                   f"查看帮助：selfeval {command} --help")


WRONG = [
    # missing argument
    (["run"], "缺少参数 INBOX"),
    (["check"], "缺少参数 FILE"),
    (["inspect"], "缺少参数 FILE"),
    # unknown option, with a suggestion
    (["run", "in", "--jbos", "2"], "没有这个选项：--jbos"),
    (["check", SAMPLE, "--tolerence", "1"], "没有这个选项：--tolerence"),
    (["rules", "--exprot", "x.toml"], "没有这个选项：--exprot"),
    # extra argument
    (["run", "in", "extra"], "多余的参数：extra"),
    (["check", SAMPLE, "extra"], "多余的参数：extra"),
    (["inspect", SAMPLE, "extra"], "多余的参数：extra"),
    (["rules", "extra"], "多余的参数：extra"),
    # an option without its value, a flag given a value
    (["run", "in", "--out"], "选项 --out 后面缺少它的值"),
    (["run", "in", "--quiet=yes"], "选项 --quiet 不带值"),
    # bad --jobs
    (["run", "in", "--jobs", "abc"], "--jobs"),
    (["run", "in", "--jobs", "-1"], "不能为负数"),
    (["run", "in", "-j", "1.5"], "整数"),
    # bad --fail-on
    (["run", "in", "--fail-on", "fatal"], "应为 error、warning、info 或 none"),
    (["check", SAMPLE, "--fail-on", "fatal"], "应为 error、warning、info 或 none"),
    # bad --tolerance: the tolerance is named, not the rule file
    (["run", "in", "--tolerance", "abc"], "容差应为不小于 0 的数字"),
    (["run", "in", "--tolerance", "-1"], "容差不能为负数"),
    (["run", "in", "--tolerance", "nan"], "容差应为不小于 0 的数字"),
    (["check", SAMPLE, "--tolerance", "abc"], "容差应为不小于 0 的数字"),
    # other bad option values
    (["run", "in", "--timeout", "soon"], "秒数"),
    (["run", "in", "--timeout", "0"], "秒数"),
    (["run", "in", "--memory-mb", "lots"], "正整数"),
    # unknown command
    (["runn", "in"], "没有这个命令：runn"),
    (["rules", "--export", "a.toml", "--check", "a.toml"], "一次只能用一个"),
]


@pytest.mark.parametrize("args,expected", WRONG, ids=[" ".join(a) for a, _ in WRONG])
def test_wrong_arguments(args, expected):
    r = selfeval(*args)
    assert_chinese(r, 2, expected, "命令行有误" if "--export" not in args else "")
    if "--tolerance" in args:
        assert "规则文件" not in output(r)


def test_python_dash_m_has_every_command():
    """`python -m pipeline.cli` (the fallback when the script is not on PATH) runs the same app that
    other modules register their commands on."""
    import os
    import subprocess
    import sys

    from test_cli import ROOT
    r = subprocess.run([sys.executable, "-m", "pipeline.cli", "--help"], capture_output=True, text=True,
                       encoding="utf-8", cwd=ROOT.parent,
                       env={**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "200"})
    assert r.returncode == 0, r.stderr
    listed = {line.split()[0] for line in r.stdout.split("命令：")[1].split("选项：")[0].splitlines()
              if line.strip()}
    assert listed == set(_registered())


def _needing_an_argument() -> list[str]:
    from typer.main import get_command

    from pipeline.cli import app
    out, todo = [], [("", get_command(app))]
    while todo:
        prefix, group = todo.pop()
        for name, cmd in getattr(group, "commands", {}).items():
            todo.append((f"{prefix}{name} ", cmd))
            if any(p.param_type_name == "argument" and p.required for p in getattr(cmd, "params", [])):
                out.append(f"{prefix}{name}")
    return sorted(out)


@pytest.mark.parametrize("command", _needing_an_argument())
def test_missing_argument_of_every_registered_command(command):
    assert_chinese(selfeval(*command.split()), 2, "命令行有误：缺少参数", f"用法：selfeval {command}")
