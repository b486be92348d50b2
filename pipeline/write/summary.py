"""OUT/summary.xlsx for reviewers (xlsxwriter, constant memory, every input text written as text).

Sheets: 总览 · 汇总表 · 明细 · 问题清单 · 提交情况 · 规则.
"""
from __future__ import annotations

import time
import zipfile
from collections import Counter
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path

import xlsxwriter
from xlsxwriter.utility import xl_col_to_name

from ..models import BLOCK_LABELS, FIELD_LABELS, SEVERITY_LABELS
from ..ruleset import ALL_FIELDS
from .atomic import atomic_path
from .names import return_link

SAFE_OPTIONS = {"constant_memory": True, "strings_to_formulas": False, "strings_to_urls": False,
                "strings_to_numbers": False, "nan_inf_to_errors": True}
STATUS_LABELS = {"accepted": "接收", "rejected": "拒收"}
GRADES = ["优", "良", "中", "差"]


def text_width(s: str) -> float:
    """Display width in Excel character units: a CJK character is about two."""
    return sum(2.1 if ord(ch) > 0x2E80 else 1.1 for ch in s)


class Sheet:
    """A worksheet written row by row (constant memory). Column widths may be set at any time
    before the workbook closes: xlsxwriter writes them then."""

    def __init__(self, wb, name: str, fmts: dict, widths: list[float] | None = None):
        self.ws = wb.add_worksheet(name)
        self.f = fmts
        self.row = 0
        if widths:
            self.widths(widths)
        # the undecorated writers: the public ones first parse A1 notation, a cost per cell
        self._num = getattr(self.ws, "_write_number", self.ws.write_number)
        self._str = getattr(self.ws, "_write_string", self.ws.write_string)

    def widths(self, widths: list[float]) -> None:
        for c, w in enumerate(widths):
            self.ws.set_column(c, c, w)

    def put(self, col: int, value, fmt=None) -> None:
        """Numbers as numbers, everything else as a literal string; nothing for an empty cell
        unless it carries a format."""
        r = self.row
        if value is None or value == "":
            if fmt is not None:
                self.ws.write_blank(r, col, None, fmt)
        elif isinstance(value, Decimal):
            self._num(r, col, float(value), fmt or self.f["amount"])
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            self._num(r, col, value, fmt)
        else:
            self._str(r, col, str(value), fmt)

    def line(self, values, fmt=None, col_fmt: dict | None = None) -> None:
        """One row; col_fmt gives single columns a format of their own."""
        for c, v in enumerate(values):
            self.put(c, v, col_fmt.get(c, fmt) if col_fmt else fmt)
        self.row += 1

    def header(self, values) -> None:
        self.line(values, self.f["head"])


def _widths(header: list[str], rows: list[list], lo: float = 6, hi: float = 60) -> list[float]:
    widths = [text_width(h) + 2 for h in header]
    for row in rows[:300]:  # a sample is enough to size a column
        for c, v in enumerate(row):
            if c < len(widths) and v is not None:
                s = v if isinstance(v, str) else f"{float(v):.2f}" if isinstance(v, Decimal) else str(v)
                widths[c] = max(widths[c], text_width(s) + 1.5)
    return [min(max(w, lo), hi) for w in widths]


def _amount_widths(header: list[str], rows: list[list]) -> list[float]:
    """6 text columns, then one column per amount field."""
    widths = _widths(header, rows, hi=40)
    for c in range(6, 6 + len(ALL_FIELDS)):
        widths[c] = max(12, min(widths[c], 16))
    return widths


def _amount_header(sh: Sheet, header: list[str], freeze_cols: int) -> None:
    sh.ws.freeze_panes(1, freeze_cols)
    sh.ws.set_row(0, 45)
    sh.header(header)


AMOUNT_HEADERS = [f"{BLOCK_LABELS[k.split('.')[0]]}·{FIELD_LABELS[k]}" for k in ALL_FIELDS]
DETAIL_HEADER = ["单位", "年度", "文件", "工作表", "机构", "是否汇总行"] + AMOUNT_HEADERS
CONSOLIDATION_HEADER = ["序号", "单位", "年度", "文件", "工作表", "数据来源"] + AMOUNT_HEADERS + ["错误", "警告"]
SHEETS = ["总览", "汇总表", "明细", "问题清单", "提交情况", "规则"]


class SummaryWriter:
    """summary.xlsx written while the run goes on: 明细 chunk by chunk as units are validated,
    the other sheets at the end (each sheet has its own temporary file in constant-memory mode,
    so the order of writing does not matter)."""

    def __init__(self, path: Path):
        self.wb = wb = xlsxwriter.Workbook(str(path), SAFE_OPTIONS)
        self.f = {
            "head": wb.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1, "text_wrap": True,
                                   "valign": "vcenter"}),
            "amount": wb.add_format({"num_format": "0.00"}),
            "bold": wb.add_format({"bold": True}),
            "title": wb.add_format({"bold": True, "font_size": 14}),
            "total": wb.add_format({"bold": True, "num_format": "0.00", "top": 1}),
            "error": wb.add_format({"bg_color": "#FFC7CE", "num_format": "0.00"}),
            "warning": wb.add_format({"bg_color": "#FFEB9C", "num_format": "0.00"}),
            "info": wb.add_format({"bg_color": "#DDEBF7", "num_format": "0.00"}),
            "link": wb.add_format({"font_color": "blue", "underline": 1}),
        }
        self.sheets = {name: Sheet(wb, name, self.f) for name in SHEETS}

    def detail(self, frames, findings) -> None:
        """明细: one row per unit × org of this chunk; cells with findings filled and commented."""
        sh, f = self.sheets["明细"], self.f
        orgs = frames.org_records
        if sh.row == 0:
            sample = [[o["unit"], o["year"], o["file"], o["sheet"], o["org"], ""]
                      + [o.get(k) for k in ALL_FIELDS] for o in orgs[:300]]
            sh.widths(_amount_widths(DETAIL_HEADER, sample))
            _amount_header(sh, DETAIL_HEADER, freeze_cols=5)
        marks: dict[tuple[int, str], list] = {}
        for x in findings:
            if x.cell and x.uid >= 0:
                marks.setdefault((x.uid, x.cell), []).append(x)
        marked_units = {uid for uid, _ in marks}
        cols = [(6 + i, k, k + "@cell", k + "@raw") for i, k in enumerate(ALL_FIELDS)]
        num, text, amount = sh._num, sh._str, f["amount"]
        for o in orgs:
            r = sh.row
            for c, v in enumerate((o["unit"], o["year"], o["file"], o["sheet"], o["org"])):
                if v:
                    text(r, c, str(v), None)
            if o["is_summary"]:
                text(r, 5, "汇总行", None)
            if o["uid"] not in marked_units:  # most org rows carry no finding
                for c, key, _, _ in cols:
                    v = o.get(key)
                    if v is not None:
                        num(r, c, float(v), amount)
            else:
                for c, key, cell_key, raw_key in cols:
                    v = o.get(key)
                    hits = marks.get((o["uid"], o.get(cell_key) or ""))
                    if hits:
                        worst = min(hits, key=lambda x: ("error", "warning", "info").index(x.severity))
                        sh.put(c, v if v is not None else o.get(raw_key) or None, f[worst.severity])
                        note = "\n".join(f"[{x.rule}] {x.message}" for x in hits)
                        sh.ws.write_comment(r, c, note[:30000], {"x_scale": 3, "y_scale": 2})
                    elif v is not None:
                        num(r, c, float(v), amount)
            sh.row += 1

    def finish(self, report) -> None:
        f = self.f
        detail = self.sheets["明细"]
        if detail.row == 0:
            detail.widths(_amount_widths(DETAIL_HEADER, []))
            _amount_header(detail, DETAIL_HEADER, freeze_cols=5)
        elif detail.row > 1:
            detail.ws.autofilter(0, 0, detail.row - 1, len(DETAIL_HEADER) - 1)
        steps = [("总览", _overview), ("汇总表", _consolidation), ("问题清单", _findings),
                 ("提交情况", _manifest), ("规则", _rules)]
        timings = report.timings
        for name, write in steps:
            t = time.perf_counter()
            write(self.sheets[name], f, report)
            timings[f"summary:{name}"] = time.perf_counter() - t
        t = time.perf_counter()
        with _quick_zip():
            self.wb.close()
        timings["summary:close"] = time.perf_counter() - t


class _QuickZip(zipfile.ZipFile):
    """At 10,000 units summary.xlsx holds ~100 MB of sheet XML: deflate level 1 packs it about
    three times faster than the default level 6, for a file about a quarter larger."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("compresslevel", 1)
        super().__init__(*args, **kwargs)


@contextmanager
def _quick_zip():
    """xlsxwriter offers no compression level: swap the ZipFile it packs with while it closes."""
    import xlsxwriter.workbook as xw_workbook

    saved = xw_workbook.ZipFile
    xw_workbook.ZipFile = _QuickZip
    try:
        yield
    finally:
        xw_workbook.ZipFile = saved


def write_summary(report, path: Path) -> None:
    """The whole summary at once, from a finished report (frames of all its units)."""
    with atomic_path(path) as tmp:
        w = SummaryWriter(tmp)
        w.detail(report.frames, report.findings)
        w.finish(report)


def _overview(sh: Sheet, f, report) -> None:
    sev = Counter(x.severity for x in report.findings)
    units_with_errors = len({(x.file, x.sheet) for x in report.findings if x.severity == "error"})
    grades = Counter()
    for u in report.unit_rows:
        g = str(u.get("f_grade") or "").strip()
        grades[g[:1] if g[:1] in GRADES else ("未填" if not g else "其他")] += 1
    rows = [["汇总日期", report.started.strftime("%Y-%m-%d %H:%M")], ["输入文件夹", str(report.inbox)],
            ["规则包", f"{report.pack.name}（版本 {report.pack.version}）"],
            ["容差（万元）", format(report.pack.tolerance, "f")],
            ["收到文件", report.received], ["接收", report.accepted], ["拒收", report.rejected],
            ["单位（表）数", report.units], ["有错误的单位", units_with_errors],
            ["错误", sev.get("error", 0)], ["警告", sev.get("warning", 0)], ["提示", sev.get("info", 0)]]
    by_rule = Counter((x.rule, x.name, x.severity) for x in report.findings)
    rule_rows = [[r, n, SEVERITY_LABELS[s], c] for (r, n, s), c in sorted(by_rule.items())]
    sh.widths(_widths(["项目", "内容", "严重程度", "数量"], rows + rule_rows, hi=70))
    sh.line(["部门（单位）整体支出绩效自评表汇总审核结果"], f["title"])
    sh.row += 1
    for r in rows:
        sh.put(0, r[0], f["bold"])
        sh.put(1, r[1])
        sh.row += 1
    sh.row += 1
    sh.header(["评价等次", "单位数"])
    for g in GRADES + ["其他", "未填"]:
        sh.line([g, grades.get(g, 0)])
    sh.row += 1
    sh.header(["规则", "规则名称", "严重程度", "问题数"])
    for r in rule_rows:
        sh.line(r)


def _consolidation(sh: Sheet, f, report) -> None:
    units = report.unit_rows
    counts = Counter((x.uid, x.severity) for x in report.findings)
    rows = []
    for u in units:
        derived = [BLOCK_LABELS[b] for b in ("income", "expenditure", "three_public", "fixed_assets")
                   if u.get(f"{b}@derived")]
        source = "汇总行" if not derived else "各机构之和（汇总行未填：" + "、".join(derived) + "）"
        rows.append([u["uid"] + 1, u["unit"], u["year"], u["file"], u["sheet"], source]
                    + [u.get(k) for k in ALL_FIELDS]
                    + [counts.get((u["uid"], "error"), 0), counts.get((u["uid"], "warning"), 0)])
    sh.widths(_amount_widths(CONSOLIDATION_HEADER, rows))
    _amount_header(sh, CONSOLIDATION_HEADER, freeze_cols=2)
    for row in rows:
        for c, v in enumerate(row):
            sh.put(c, v, f["warning"] if c == 5 and v != "汇总行" else None)
        sh.row += 1
    first, last = 2, sh.row  # Excel rows of the data, 1-based
    totals = [sum((u.get(key) for u in units if u.get(key) is not None), Decimal(0)) for key in ALL_FIELDS]
    sh.put(5, "合计（公式，随修改变化）", f["bold"])
    for i, total in enumerate(totals):
        letter = xl_col_to_name(6 + i)
        formula = f"=SUM({letter}{first}:{letter}{max(last, first)})"
        sh.ws.write_formula(sh.row, 6 + i, formula, f["total"], float(total))
    sh.row += 1
    sh.put(5, "合计（本工具计算，固定值）", f["bold"])
    for i, total in enumerate(totals):
        sh.put(6 + i, total, f["total"])
    sh.row += 1
    if rows:
        sh.ws.autofilter(0, 0, len(rows), len(CONSOLIDATION_HEADER) - 1)


FINDING_HEADER = ["序号", "严重程度", "规则", "规则名称", "单位", "年度", "文件", "工作表", "表", "机构",
                  "字段", "单元格", "应为", "实为", "差额", "相关单元格", "问题说明", "打开标注表"]


def finding_cells(i: int, x) -> list:
    field_label = FIELD_LABELS.get(x.field if "." in x.field else f"{x.block}.{x.field}", x.field)
    return [i, SEVERITY_LABELS[x.severity], x.rule, x.name, x.unit, x.year, x.file, x.sheet,
            BLOCK_LABELS.get(x.block, x.block), x.org, field_label, x.cell, x.expected, x.actual,
            x.diff, x.cells, x.message]


def _findings(sh: Sheet, f, report) -> None:
    rows = [finding_cells(i, x) for i, x in enumerate(report.findings, 1)]
    widths = _widths(FINDING_HEADER, rows, hi=50)
    widths[16] = 80
    sh.widths(widths)
    sh.ws.freeze_panes(1, 0)
    sh.header(FINDING_HEADER)
    for x, row in zip(report.findings, rows):
        link = return_link(report, x)
        if link:
            sh.ws.write_url(sh.row, 17, link, f["link"], string="打开")
        sh.line(row, col_fmt={1: f[x.severity]})
    if rows:
        sh.ws.autofilter(0, 0, len(rows), len(FINDING_HEADER) - 1)


def _manifest(sh: Sheet, f, report) -> None:
    header = ["文件", "状态", "单位数", "原因代码", "原因", "格式", "SHA-256"]
    rows = [[r.file, STATUS_LABELS[r.status], r.units, r.code, r.error, r.source_format, r.sha256]
            for r in report.results]
    sh.widths(_widths(header, rows, hi=70))
    sh.ws.freeze_panes(1, 0)
    sh.header(header)
    for r, row in zip(report.results, rows):
        sh.line(row, col_fmt={1: f["error"]} if r.status == "rejected" else None)
    if rows:
        sh.ws.autofilter(0, 0, len(rows), len(header) - 1)


def _rules(sh: Sheet, f, report) -> None:
    header = ["规则", "名称", "类型", "严重程度", "公式或字段", "容差（万元）", "依据"]
    tol = format(report.pack.tolerance, "f")
    rows = [[r.id, r.name, r.kind, SEVERITY_LABELS[r.severity], r.formula or "、".join(r.fields),
             tol if r.kind in ("identity", "rollup", "narrative", "compare") else "", r.basis]
            for r in report.pack.rules]
    sh.widths(_widths(header, rows, hi=70))
    sh.ws.freeze_panes(1, 0)
    sh.header(header)
    for row in rows:
        sh.line(row)
