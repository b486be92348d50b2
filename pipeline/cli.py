"""The selfeval command: run · check · inspect · rules. Rendering lives in render.py."""
from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Optional

import typer

from . import render
from .read.pool import DEFAULT_MEMORY_MB, DEFAULT_TIMEOUT
from .check.ruleset import RuleFileError, load_pack

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="部门（单位）整体支出绩效自评表：汇总、审核与问题标注。")

FAIL_LEVELS = {"error": ("error",), "warning": ("error", "warning"),
               "info": ("error", "warning", "info"), "none": ()}


@contextmanager
def _rule_file_errors():
    """A bad rule pack is the user's to fix: say where, in Chinese, and exit 2."""
    try:
        yield
    except RuleFileError as exc:
        render.console.print(f"[red]规则文件有误：{exc}[/]")
        raise typer.Exit(2)


def _exit_code(report, fail_on: str) -> int:
    if report.rejected:
        return 2
    levels = FAIL_LEVELS[fail_on]
    return 1 if any(f.severity in levels for f in report.findings) else 0


def _check_fail_on(fail_on: str) -> None:
    if fail_on not in FAIL_LEVELS:
        render.console.print(f"[red]--fail-on 应为 error、warning、info 或 none，而不是 {fail_on}[/]")
        raise typer.Exit(2)


@app.command()
def run(inbox: Path = typer.Argument(..., help="报送文件所在文件夹（含子文件夹）"),
        out: Path = typer.Option(Path("output"), "--out", "-o", help="输出文件夹"),
        jobs: int = typer.Option(0, "--jobs", "-j", help="读取进程数（0 = 全部 CPU 核）"),
        fail_on: str = typer.Option("error", "--fail-on", help="error | warning | info | none"),
        rules: Optional[Path] = typer.Option(None, "--rules", help="规则文件（默认 rules/rules.toml）"),
        tolerance: Optional[str] = typer.Option(None, "--tolerance", help="尾差容差（万元），默认取规则文件"),
        returns: bool = typer.Option(True, "--returns/--no-returns", help="是否生成退回单位的标注表"),
        all_returns: bool = typer.Option(False, "--all-returns", help="没有问题的表也生成退回件"),
        timeout: float = typer.Option(DEFAULT_TIMEOUT, "--timeout", help="单个文件读取时限（秒）"),
        memory_mb: int = typer.Option(DEFAULT_MEMORY_MB, "--memory-mb", help="每个读取进程的内存上限（MB）"),
        quiet: bool = typer.Option(False, "--quiet", "-q", help="只输出结果摘要")) -> None:
    """汇总审核 INBOX 下的全部自评表，结果写入 OUT。"""
    from .errors import RunIncomplete
    from .run import run as run_batch

    _check_fail_on(fail_on)
    if not inbox.is_dir():
        render.console.print(f"[red]找不到输入文件夹：{inbox}[/]")
        raise typer.Exit(2)
    try:
        with _rule_file_errors(), render.RunProgress(quiet) as progress:
            report = run_batch(inbox, out, jobs=jobs, rules=str(rules) if rules else None,
                               tolerance=tolerance, returns=returns, every_return=all_returns,
                               timeout=timeout,
                               memory_mb=memory_mb, on_file=progress.file_done,
                               on_stage=progress.stage, on_discovered=progress.discovered)
    except RunIncomplete as exc:
        render.console.print(f"[red]{exc}[/]")
        raise typer.Exit(3)
    render.run_summary(report)
    raise typer.Exit(_exit_code(report, fail_on))


@app.command()
def check(file: Path = typer.Argument(..., help="一个自评表文件"),
          fail_on: str = typer.Option("error", "--fail-on", help="error | warning | info | none"),
          rules: Optional[Path] = typer.Option(None, "--rules", help="规则文件"),
          tolerance: Optional[str] = typer.Option(None, "--tolerance", help="尾差容差（万元）")) -> None:
    """审核一个文件，在终端列出问题。"""
    from .single import check_file

    _check_fail_on(fail_on)
    if not file.is_file():
        render.console.print(f"[red]找不到文件：{file}[/]")
        raise typer.Exit(2)
    with _rule_file_errors():
        report = check_file(file, rules=str(rules) if rules else None, tolerance=tolerance)
    render.check_result(report)
    raise typer.Exit(_exit_code(report, fail_on))


@app.command()
def inspect(file: Path = typer.Argument(..., help="一个自评表文件")) -> None:
    """显示读取结果：找到的表格、各行、金额及其单元格、换算和问题。"""
    from .single import read_one

    if not file.is_file():
        render.console.print(f"[red]找不到文件：{file}[/]")
        raise typer.Exit(2)
    result = read_one(file)
    render.inspect_result(result)
    raise typer.Exit(0 if result.status == "accepted" else 2)


@app.command("rules")
def list_rules(rules: Optional[Path] = typer.Option(None, "--rules", help="规则文件")) -> None:
    """列出规则包中的全部规则。"""
    with _rule_file_errors():
        pack = load_pack(str(rules) if rules else None)
    render.rules_table(pack)


if __name__ == "__main__":
    app()
