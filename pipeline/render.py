"""Everything the terminal shows (rich): progress, the end-of-run summary, findings, inspect, rules."""
from __future__ import annotations

import os
from collections import Counter

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from .models import BLOCK_LABELS, FIELD_LABELS, SEVERITY_LABELS

console = Console(highlight=False, width=None if os.isatty(1) else 120)
STAGE_LABELS = {"summary": "汇总表收尾（总览、合计、打包）",
                "returns": "生成退回标注表"}
SEV_STYLE = {"error": "red", "warning": "yellow", "info": "cyan"}


class RunProgress:
    """A progress bar for reading, then one line per later stage."""

    def __init__(self, quiet: bool = False):
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
    t.add_row("输出", str(report.out))
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
            rt.add_row(r.file, r.code, r.error)
        console.print(rt)
        if len(rejected) > 20:
            console.print(f"……另有 {len(rejected) - 20} 个，见 manifest.csv 或 summary.xlsx 的“提交情况”")
    by_rule = Counter((f.rule, f.name, f.severity) for f in report.findings)
    if by_rule:
        bt = Table(title="问题按规则")
        for h in ("规则", "名称", "级别", "数量"):
            bt.add_column(h)
        for (rule, name, s), n in sorted(by_rule.items(), key=lambda x: (-x[1], x[0])):
            bt.add_row(rule, name, f"[{SEV_STYLE[s]}]{SEVERITY_LABELS[s]}[/]", str(n))
        console.print(bt)


def findings_table(findings, title: str = "问题") -> None:
    t = Table(title=title, show_lines=True)
    for h in ("级别", "规则", "工作表", "单元格", "问题说明"):
        t.add_column(h, overflow="fold")
    for f in findings:
        t.add_row(f"[{SEV_STYLE[f.severity]}]{SEVERITY_LABELS[f.severity]}[/]", f.rule, f.sheet, f.cell,
                  f.message)
    console.print(t)


def check_result(report) -> None:
    r = report.results[0]
    if r.status == "rejected":
        console.print(f"[red]拒收：{r.file}[/]\n原因（{r.code}）：{r.error}")
        return
    units = "、".join(f"{f.unit_name or '（未填单位）'}（工作表 {f.sheet}）" for f in r.forms)
    console.print(f"文件 {r.file}：{units}")
    if report.findings:
        findings_table(report.findings)
    else:
        console.print("[green]未发现问题。[/]")


def inspect_result(result) -> None:
    if result.status == "rejected":
        console.print(f"[red]拒收：{result.file}[/]\n原因（{result.code}）：{result.error}")
        return
    console.print(f"文件 {result.file}（{result.source_format}"
                  f"{'，文件要求打开时重算：公式按表内关系代算' if result.full_calc else ''}）")
    for form in result.forms:
        facts = Table(title=f"工作表 {form.sheet}：基本信息", show_header=True)
        for h in ("项目", "值", "单元格", "原文"):
            facts.add_column(h, overflow="fold")
        for key, label in (("unit", "填报单位"), ("year", "年度"), ("fill_date", "填报日期"),
                           ("contact", "联系人"), ("phone", "联络电话"), ("staff_quota", "人员编制"),
                           ("staff_actual", "实有人数"), ("score", "综合得分"), ("grade", "评价等次"),
                           ("filler", "填报人")):
            fact = getattr(form, key)
            facts.add_row(label, "" if fact is None else str(fact.value)[:40],
                          "" if fact is None else fact.cell, "" if fact is None else fact.raw[:40])
        console.print(facts)
        console.print("表格位置：" + "，".join(f"{BLOCK_LABELS[b]}表 {c}" for b, c in form.block_cells.items())
                      + f"；定性目标 {len(form.goals)} 条，定量指标 {len(form.indicators)} 条，"
                      f"评价人员 {len(form.evaluators)} 人，评价报告"
                      + (f"在 {form.report.cell}（{len(str(form.report.value))} 字）" if form.report else "未找到"))
        amounts = Table(title=f"工作表 {form.sheet}：金额（万元）")
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
                amounts.add_row(BLOCK_LABELS[row.block], row.org + ("（汇总行）" if row.is_summary else ""),
                                FIELD_LABELS[f"{row.block}.{fld}"], "" if a.value is None else str(a.value),
                                a.cell, a.raw, state)
        console.print(amounts)
        for issue in form.issues:
            console.print(f"[yellow]注意[/] {issue.code} {issue.cell} {issue.detail}")


def rules_table(pack) -> None:
    t = Table(title=f"{pack.name}（版本 {pack.version}，容差 {pack.tolerance} 万元）", show_lines=True)
    for h in ("规则", "名称", "级别", "公式或字段", "依据"):
        t.add_column(h, overflow="fold")
    for r in pack.rules:
        t.add_row(r.id, r.name, f"[{SEV_STYLE[r.severity]}]{SEVERITY_LABELS[r.severity]}[/]",
                  r.formula or "、".join(r.fields) or r.kind, r.basis)
    console.print(t)
