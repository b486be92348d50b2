"""Everything the terminal shows (rich): progress, the end-of-run summary, findings, inspect, rules,
and the command line's own words — help pages and wrong-argument messages — all in Chinese."""
from __future__ import annotations

import io
import os
import re
import shutil
from collections import Counter

from rich.console import Console
from rich.markup import escape
from rich.text import Text

from .models import BLOCK_LABELS, FIELD_LABELS, SEVERITY_LABELS

# rich.table is imported where a table is drawn: `selfeval check` of a form without findings
# prints none, and its help pages and messages are drawn only when asked for

# a pipe or a file gets lines of 120 columns unless COLUMNS says otherwise
console = Console(highlight=False, width=None if os.isatty(1) or "COLUMNS" in os.environ else 120)
err_console = Console(stderr=True, highlight=False,
                      width=None if os.isatty(2) or "COLUMNS" in os.environ else 120)
STAGE_LABELS = {"summary": "汇总表收尾（总览、合计、打包）",
                "returns": "生成退回标注表"}
SEV_STYLE = {"error": "red", "warning": "yellow", "info": "cyan"}


class RunProgress:
    """A progress bar for reading, then one line per later stage."""

    def __init__(self, quiet: bool = False):
        # imported here: `selfeval check` and the other commands draw no progress bar
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self.quiet = quiet
        self.progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                 TimeElapsedColumn(), console=console, transient=False,
                                 disable=quiet)
        self.task = None
        self.rejected = 0

    def __enter__(self):
        self.progress.__enter__()
        return self

    def __exit__(self, *exc):
        self.progress.__exit__(*exc)

    def discovered(self, n: int) -> None:
        self.task = self.progress.add_task("读取并审核文件", total=n)

    def file_done(self, result) -> None:
        if result.status == "rejected":
            self.rejected += 1
        if self.task is not None:
            self.progress.advance(self.task)

    def stage(self, name: str, phase: str) -> None:
        if phase == "start" and not self.quiet:
            self.progress.add_task(STAGE_LABELS.get(name, name), total=None)
        elif phase == "end" and not self.quiet:
            for t in self.progress.tasks:
                if t.description == STAGE_LABELS.get(name, name) and not t.finished:
                    self.progress.update(t.id, total=1, completed=1)


def run_summary(report) -> None:
    from rich.table import Table

    sev = Counter(f.severity for f in report.findings)
    t = Table(title="汇总审核结果", show_header=False, box=None, pad_edge=False)
    t.add_column(style="bold")
    t.add_column()
    t.add_row("收到文件", str(report.received))
    t.add_row("接收 / 拒收", f"{report.accepted} / [red]{report.rejected}[/]" if report.rejected
              else f"{report.accepted} / 0")
    t.add_row("单位（表）", str(report.units))
    t.add_row("问题", f"[red]错误 {sev.get('error', 0)}[/]  [yellow]警告 {sev.get('warning', 0)}[/]  "
                    f"[cyan]提示 {sev.get('info', 0)}[/]")
    t.add_row("输出", escape(str(report.out)))
    if report.returns_written:
        t.add_row("退回标注表", f"{report.returns_written} 份（returns/）")
    console.print(t)
    rejected = [r for r in report.results if r.status == "rejected"]
    if rejected:
        rt = Table(title="拒收的文件", show_lines=False)
        rt.add_column("文件")
        rt.add_column("原因代码")
        rt.add_column("原因")
        for r in rejected[:20]:
            rt.add_row(escape(r.file), r.code, escape(r.error))
        console.print(rt)
        if len(rejected) > 20:
            console.print(f"……另有 {len(rejected) - 20} 个，见 manifest.csv 或 summary.xlsx 的“提交情况”")
    by_rule = Counter((f.rule, f.name, f.severity) for f in report.findings)
    if by_rule:
        bt = Table(title="问题按规则")
        for h in ("规则", "名称", "级别", "数量"):
            bt.add_column(h)
        for (rule, name, s), n in sorted(by_rule.items(), key=lambda x: (-x[1], x[0])):
            bt.add_row(escape(rule), escape(name), f"[{SEV_STYLE[s]}]{SEVERITY_LABELS[s]}[/]", str(n))
        console.print(bt)


def findings_table(findings, title: str = "问题") -> None:
    from rich.table import Table

    t = Table(title=title, show_lines=True)
    for h in ("级别", "规则", "工作表", "单元格", "问题说明"):
        t.add_column(h, overflow="fold")
    for f in findings:
        t.add_row(f"[{SEV_STYLE[f.severity]}]{SEVERITY_LABELS[f.severity]}[/]", escape(f.rule),
                  escape(f.sheet), escape(f.cell), escape(f.message))
    console.print(t)


def check_result(report) -> None:
    r = report.results[0]
    if r.status == "rejected":
        console.print(f"[red]拒收：{escape(r.file)}[/]\n原因（{r.code}）：{escape(r.error)}")
        return
    units = "、".join(f"{f.unit_name or '（未填单位）'}（工作表 {f.sheet}）" for f in r.forms)
    console.print(f"文件 {escape(r.file)}：{escape(units)}")
    if report.findings:
        findings_table(report.findings)
    else:
        console.print("[green]未发现问题。[/]")


def inspect_result(result) -> None:
    from rich.table import Table

    if result.status == "rejected":
        console.print(f"[red]拒收：{escape(result.file)}[/]\n原因（{result.code}）：{escape(result.error)}")
        return
    console.print(f"文件 {escape(result.file)}（{result.source_format}"
                  f"{'，文件要求打开时重算：公式按表内关系代算' if result.full_calc else ''}）")
    if getattr(result, "template", ""):
        console.print(f"表样：{escape(result.template)}")
    for form in result.forms:
        facts = Table(title=Text(f"工作表 {form.sheet}：基本信息"), show_header=True)
        for h in ("项目", "值", "单元格", "原文"):
            facts.add_column(h, overflow="fold")
        for key, label in (("unit", "填报单位"), ("year", "年度"), ("fill_date", "填报日期"),
                           ("contact", "联系人"), ("phone", "联络电话"), ("staff_quota", "人员编制"),
                           ("staff_actual", "实有人数"), ("score", "综合得分"), ("grade", "评价等次"),
                           ("filler", "填报人")):
            fact = getattr(form, key)
            facts.add_row(label, "" if fact is None else escape(str(fact.value)[:40]),
                          "" if fact is None else fact.cell, "" if fact is None else escape(fact.raw[:40]))
        console.print(facts)
        console.print("表格位置：" + "，".join(f"{BLOCK_LABELS[b]}表 {c}" for b, c in form.block_cells.items())
                      + f"；定性目标 {len(form.goals)} 条，定量指标 {len(form.indicators)} 条，"
                      f"评价人员 {len(form.evaluators)} 人，评价报告"
                      + (f"在 {form.report.cell}（{len(str(form.report.value))} 字）" if form.report else "未找到"))
        amounts = Table(title=Text(f"工作表 {form.sheet}：金额（万元）"))
        for h in ("表", "机构", "字段", "值", "单元格", "原文", "状态"):
            amounts.add_column(h, overflow="fold")
        for row in form.rows:
            for fld, a in row.amounts.items():
                if a.status == "blank" and not a.raw:
                    continue
                state = {"ok": "", "text": "[red]不是数字[/]", "error": "[red]错误值[/]",
                         "formula": "[yellow]公式无法计算[/]", "blank": "空"}[a.status]
                if a.note:
                    state = (state + " " + a.note).strip()
                amounts.add_row(BLOCK_LABELS[row.block], escape(row.org + ("（汇总行）" if row.is_summary else "")),
                                FIELD_LABELS[f"{row.block}.{fld}"], "" if a.value is None else str(a.value),
                                a.cell, escape(a.raw), state)
        console.print(amounts)
        for issue in form.issues:
            console.print(f"[yellow]注意[/] {issue.code} {issue.cell} {escape(str(issue.detail))}")


def rules_table(pack) -> None:
    from rich.table import Table

    t = Table(title=Text(f"{pack.name}（版本 {pack.version}，容差 {pack.tolerance} 万元）"), show_lines=True)
    from .write.present import SEVERITY_WORDS, formula_cn   # the 审核 words and formulas in Chinese labels

    for h in ("规则", "名称（问题）", "审核类型", "审核公式", "依据"):
        t.add_column(h, overflow="fold")
    for r in pack.rules:
        t.add_row(escape(r.id), escape(r.name), f"[{SEV_STYLE[r.severity]}]{SEVERITY_WORDS[r.severity]}[/]",
                  escape(formula_cn(r)), escape(r.basis))
    console.print(t)


# ---------------------------------------------------------------- the command line's own words
# typer (0.29 and later vendors click without its gettext hooks) writes its help pages and usage
# errors in English. The CLI's command classes call these instead: help is built from the
# parameters themselves, and usage errors are said from the exception's kind and attributes
# (param, option_name, possibilities), never from its English text.

HELP_TEXT = "显示本帮助并退出"
TYPE_WORDS = (("integer", "整数"), ("number", "数字"), ("float", "数字"), ("boolean", "true 或 false"),
              ("path", "路径"), ("string", "文字"))


def _width() -> int:
    return max(60, min(shutil.get_terminal_size((100, 24)).columns, 120))


def _grid(rows: list[tuple[str, str]]) -> str:
    """Two aligned columns, CJK-aware, wrapped to the terminal."""
    from rich.table import Table

    t = Table.grid(padding=(0, 3))
    t.add_column(no_wrap=True)
    t.add_column(overflow="fold")
    for a, b in rows:
        t.add_row(Text("  " + a), Text(b))
    buf = Console(file=io.StringIO(), width=_width(), color_system=None, highlight=False)
    buf.print(t)
    return "\n".join(line.rstrip() for line in buf.file.getvalue().splitlines()) + "\n"


def _arg_name(param) -> str:
    return param.metavar or param.name.upper()


def _default_text(param) -> str:
    d = getattr(param, "default", None)
    if param.param_type_name != "option" or getattr(param, "show_default", True) is False:
        return ""
    if getattr(param, "secondary_opts", None):
        return f"（默认：{(param.opts if d else param.secondary_opts)[0]}）"
    if getattr(param, "is_flag", False) or d is None or d == "" or callable(d):
        return ""
    if isinstance(d, float) and d.is_integer():
        d = int(d)
    return f"（默认：{d}）"


def usage_text(cmd, ctx) -> str:
    pieces = ["[选项]"]
    if hasattr(cmd, "list_commands"):
        pieces.append("命令 [参数]…")
    for p in cmd.params:
        if p.param_type_name == "argument" and not getattr(p, "hidden", False):
            pieces.append(_arg_name(p) if p.required else f"[{_arg_name(p)}]")
    return f"用法：{ctx.command_path} " + " ".join(pieces)


def help_page(cmd, ctx) -> str:
    """The help page of a command or of the group (`selfeval --help`)."""
    out = [usage_text(cmd, ctx), ""]
    if cmd.help:
        out += ["  " + line for line in cmd.help.strip().splitlines()] + [""]
    params = [p for p in cmd.get_params(ctx) if not getattr(p, "hidden", False)]
    args = [(_arg_name(p), (p.help or "") + ("（必填）" if p.required else ""))
            for p in params if p.param_type_name == "argument"]
    opts = []
    for p in params:
        if p.param_type_name != "option":
            continue
        names = ", ".join(sorted(p.opts, key=len))
        if p.secondary_opts:
            names += " / " + ", ".join(p.secondary_opts)
        elif not getattr(p, "is_flag", False):
            names += f" {p.metavar or '值'}"
        text = HELP_TEXT if p.name == "help" else (p.help or "")
        opts.append((names, text + ("（必填）" if p.required else "") + _default_text(p)))
    if hasattr(cmd, "list_commands"):
        cmds = []
        for name in cmd.list_commands(ctx):
            sub = cmd.get_command(ctx, name)
            if sub is not None and not sub.hidden:
                cmds.append((name, (sub.help or "").strip().splitlines()[0] if sub.help else ""))
        if cmds:
            out += ["命令：", _grid(cmds)]
    if args:
        out += ["参数：", _grid(args)]
    if opts:
        out += ["选项：", _grid(opts)]
    if hasattr(cmd, "list_commands"):
        out.append(f"每个命令的用法：{ctx.command_path} 命令 --help")
    return "\n".join(out).rstrip() + "\n"


def _param_hint(param) -> str:
    if param is None:
        return "参数"
    if param.param_type_name == "argument":
        return f"参数 {_arg_name(param)}"
    return "选项 " + "/".join(sorted(param.opts, key=len, reverse=True))


def _is_chinese(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


_EXTRA = re.compile(r"unexpected extra argument(?:\(s\)|s)?\s*\((.*)\)", re.S)
_NO_COMMAND = re.compile(r"No such command '([^']*)'(?:.*?Did you mean '([^']*)')?", re.S)
_NEEDS_VALUE = re.compile(r"Option '(.*)' requires (?:an argument|\d+ arguments)")
_NO_VALUE = re.compile(r"Option '(.*)' does not take a value")


def usage_error_text(exc) -> str:
    """What was wrong on the command line, in Chinese, from the exception's kind and attributes."""
    kinds = {k.__name__ for k in type(exc).__mro__}
    message = str(getattr(exc, "message", "") or "")
    param = getattr(exc, "param", None)
    ctx = getattr(exc, "ctx", None)
    if "MissingParameter" in kinds:
        what = f"缺少{_param_hint(param)}" if param is not None else "缺少参数"
        if param is not None and param.help:
            what += f"：{param.help}"
        return what
    if "NoSuchOption" in kinds:
        name = getattr(exc, "option_name", "")
        text = f"没有这个选项：{name}"
        if getattr(exc, "possibilities", None):
            text += f"（是不是：{'、'.join(sorted(exc.possibilities))}？）"
        return text
    if "BadOptionUsage" in kinds:
        name = getattr(exc, "option_name", "")
        if _NEEDS_VALUE.search(message):
            return f"选项 {name} 后面缺少它的值"
        if _NO_VALUE.search(message):
            return f"选项 {name} 不带值"
        return f"选项 {name} 的用法有误"
    if "BadParameter" in kinds:
        if _is_chinese(message):
            return f"{_param_hint(param)} 的值有误：{message}"
        expected = next((zh for en, zh in TYPE_WORDS if en in message.lower()), None)
        return f"{_param_hint(param)} 的值有误" + (f"：应为{expected}" if expected else "")
    m = _EXTRA.search(message)
    if m:
        return f"多余的参数：{m.group(1)}（路径中有空格时请加引号）"
    m = _NO_COMMAND.search(message)
    if m:
        known = "、".join(ctx.command.list_commands(ctx)) if ctx is not None else ""
        return (f"没有这个命令：{m.group(1)}" + (f"（是不是 {m.group(2)}？）" if m.group(2) else "")
                + (f"；可用的命令：{known}" if known else ""))
    if "Missing command" in message:
        return "缺少命令"
    if _is_chinese(message):
        return message
    return "命令行有误"


def usage_error(exc, command_path: str = "selfeval") -> None:
    """A wrong command line: what was wrong, the usage line, where to find help (stderr).
    command_path names the command when the error carries no context (an option missing its value)."""
    ctx = getattr(exc, "ctx", None)
    err_console.print(f"[red]命令行有误：{escape(usage_error_text(exc))}[/]")
    if ctx is not None:
        err_console.print(escape(usage_text(ctx.command, ctx)))
        command_path = ctx.command_path
    err_console.print(f"查看帮助：{escape(command_path)} --help")


def failure(message: str) -> None:
    """A failure the user can fix (bad folder, bad rule file, OUT not writable …)."""
    err_console.print(f"[red]{escape(message)}[/]")


def crash(log: str | None) -> None:
    """An unexpected failure: never a traceback on screen, only where its details were written."""
    where = f"详细信息已写入 {log}，请把该文件发给技术支持。" if log else "详细信息无法写入文件。"
    err_console.print(f"[red]程序内部出错，本次结果不可用（退出码 4）。{escape(where)}[/]")
