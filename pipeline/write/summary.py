"""OUT/summary.xlsx for reviewers (xlsxwriter, constant memory, every input text written as text).

Sheets: 总览 · 汇总表 · 明细 · 问题清单 · 提交情况 · 规则. A run fills 汇总表, 明细, 问题清单 and
提交情况 chunk by chunk as its units are validated (each constant-memory sheet has a temporary file
of its own, so sheets may fill in any order); 总览, 规则, the totals and the filters come last.
"""
from __future__ import annotations

import time
from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import Callable

import xlsxwriter
from xlsxwriter.utility import xl_col_to_name

from ..models import BLOCK_LABELS, FIELD_LABELS, SEVERITY_LABELS
from ..check.ruleset import ALL_FIELDS
from .xlsheet import SAFE_OPTIONS, Sheet, fit_widths, quick_zip

STATUS_LABELS = {"accepted": "接收", "rejected": "拒收", "skipped": "跳过"}
LINK_LIMIT = 65_530   # hyperlinks Excel keeps in one worksheet
GRADES = ["优", "良", "中", "差"]
BLOCKS = ("income", "expenditure", "three_public", "fixed_assets")
AMOUNT_HEADERS = [f"{BLOCK_LABELS[k.split('.')[0]]}·{FIELD_LABELS[k]}" for k in ALL_FIELDS]
DETAIL_HEADER = ["单位", "年度", "文件", "工作表", "机构", "是否汇总行"] + AMOUNT_HEADERS
CONSOLIDATION_HEADER = ["序号", "单位", "年度", "文件", "工作表", "数据来源"] + AMOUNT_HEADERS + ["错误", "警告"]
FINDING_HEADER = ["序号", "严重程度", "规则", "规则名称", "单位", "年度", "文件", "工作表", "表", "机构",
                  "字段", "单元格", "应为", "实为", "差额", "相关单元格", "问题说明", "打开标注表"]
MANIFEST_HEADER = ["文件", "状态", "单位数", "原因代码", "原因", "格式", "退回标注表", "标注表未生成的原因", "SHA-256"]
SHEETS = ["总览", "汇总表", "明细", "问题清单", "提交情况", "规则"]
STREAMED = ["汇总表", "明细", "问题清单", "提交情况"]   # may run past one sheet's rows
RANK = {"error": 0, "warning": 1, "info": 2}


def _amount_widths(header: list[str], rows: list[list]) -> list[float]:
    """6 text columns, then one column per amount field."""
    widths = fit_widths(header, rows, hi=40)
    for c in range(6, 6 + len(ALL_FIELDS)):
        widths[c] = max(12, min(widths[c], 16))
    return widths


def finding_cells(i: int, x) -> list:
    field_label = FIELD_LABELS.get(x.field if "." in x.field else f"{x.block}.{x.field}", x.field)
    return [i, SEVERITY_LABELS[x.severity], x.rule, x.name, x.unit, x.year, x.file, x.sheet,
            BLOCK_LABELS.get(x.block, x.block), x.org, field_label, x.cell, x.expected, x.actual,
            x.diff, x.cells, x.message]


class SummaryWriter:
    """link(finding): the returned copy's address for the 问题清单 link, or None."""

    def __init__(self, path: Path, link: Callable | None = None, tmpdir: Path | None = None):
        # tmpdir: xlsxwriter's temporary files (unit data) go where the run's staging is, so a
        # killed run leaves none of them behind elsewhere
        options = dict(SAFE_OPTIONS, tmpdir=str(tmpdir)) if tmpdir else SAFE_OPTIONS
        self.wb = wb = xlsxwriter.Workbook(str(path), options)
        wb.set_custom_property("selfeval", "summary")   # a later run skips it instead of reading it
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
        self.sheets = {name: Sheet(wb, name, self.f) for name in SHEETS}   # the part being written
        self.parts = {name: [self.sheets[name]] for name in STREAMED}
        self.link = link or (lambda x: None)
        self.totals = [Decimal(0)] * len(ALL_FIELDS)
        self.n_findings = 0
        self.links_left = LINK_LIMIT   # in the current part of 问题清单
        self.unlinked = 0              # findings past Excel's hyperlink limit: no link

    def chunk(self, frames, findings, unit_rows: list[dict]) -> None:
        """One validated chunk: its units (unit_rows: their slim rows) and their findings."""
        self._detail(frames, findings)
        self._consolidation(unit_rows, findings)
        self._findings(findings)

    def _room(self, name: str) -> Sheet:
        """Where the next row of a streamed sheet goes: its current part, or, once that holds
        as many rows as Excel allows, a new part "名（续n）" at the end of the workbook."""
        sh = self.sheets[name]
        if sh.full:
            sh = self.sheets[name] = sh.spill(len(self.parts[name]))
            self.parts[name].append(sh)
        return sh

    # -- 明细: one row per unit × org; cells with findings filled and commented -----------
    def _detail(self, frames, findings) -> None:
        sh, f = self.sheets["明细"], self.f
        orgs = frames.org_records
        if not sh.started:
            sample = [[o["unit"], o["year"], o["file"], o["sheet"], o["org"], ""]
                      + [o.get(k) for k in ALL_FIELDS] for o in orgs[:300]]
            sh.start(DETAIL_HEADER, _amount_widths(DETAIL_HEADER, sample), (1, 5), tall=True)
        marks: dict[tuple[int, str], list] = {}
        for x in findings:
            if x.cell:
                marks.setdefault((x.uid, x.cell), []).append(x)
        marked_units = {uid for uid, _ in marks}
        cols = [(6 + i, k, k + "@cell", k + "@raw") for i, k in enumerate(ALL_FIELDS)]
        amount = f["amount"]
        for o in orgs:
            sh = self._room("明细")
            num, text, r = sh._num, sh._str, sh.row
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
                        worst = min(hits, key=lambda x: RANK[x.severity])
                        sh.put(c, v if v is not None else o.get(raw_key) or None, f[worst.severity])
                        note = "\n".join(f"[{x.rule}] {x.message}" for x in hits)
                        sh.ws.write_comment(r, c, note[:30000], {"x_scale": 3, "y_scale": 2})
                    elif v is not None:
                        num(r, c, float(v), amount)
            sh.row += 1

    # -- 汇总表: one row per unit, its consolidated figures and its finding counts ---------
    def _consolidation(self, units: list[dict], findings) -> None:
        sh, f = self.sheets["汇总表"], self.f
        counts = Counter((x.uid, x.severity) for x in findings)
        rows = []
        for u in units:
            derived = [BLOCK_LABELS[b] for b in BLOCKS if u.get(f"{b}@derived")]
            source = "汇总行" if not derived else "各机构之和（汇总行未填：" + "、".join(derived) + "）"
            rows.append([u["uid"] + 1, u["unit"], u["year"], u["file"], u["sheet"], source]
                        + [u.get(k) for k in ALL_FIELDS]
                        + [counts.get((u["uid"], "error"), 0), counts.get((u["uid"], "warning"), 0)])
        if not sh.started:
            sh.start(CONSOLIDATION_HEADER, _amount_widths(CONSOLIDATION_HEADER, rows), (1, 2), tall=True)
        totals, amount, warn = self.totals, f["amount"], f["warning"]
        n = len(ALL_FIELDS)
        for row in rows:  # written cell by cell without put(): ~30 cells for every unit
            sh = self._room("汇总表")
            num, text, r = sh._num, sh._str, sh.row
            num(r, 0, row[0], None)
            for c in (1, 2, 3, 4):
                if row[c]:
                    text(r, c, str(row[c]), None)
            text(r, 5, row[5], None if row[5] == "汇总行" else warn)
            for i, v in enumerate(row[6:6 + n]):
                if v is not None:
                    num(r, 6 + i, float(v), amount)
                    totals[i] += v
            num(r, 6 + n, row[6 + n], None)
            num(r, 7 + n, row[7 + n], None)
            sh.row += 1

    def _consolidation_totals(self) -> None:
        f = self.f
        parts = self.parts["汇总表"]
        if not parts[0].started:
            parts[0].start(CONSOLIDATION_HEADER, _amount_widths(CONSOLIDATION_HEADER, []), (1, 2), tall=True)
        for p in parts:
            p.filter(len(CONSOLIDATION_HEADER))
        # the data rows of every part, 1-based (a part's next free row is its last data row)
        spans = [(p.name, p.row) for p in parts if p.row > 1] or [(parts[0].name, 2)]
        sh = self._room("汇总表")
        sh.put(5, "合计（公式，随修改变化）", f["bold"])
        for i, total in enumerate(self.totals):
            letter = xl_col_to_name(6 + i)
            if len(spans) == 1 and spans[0][0] == sh.name:
                ranges = f"{letter}2:{letter}{spans[0][1]}"
            else:
                ranges = ",".join(f"'{name}'!{letter}2:{letter}{last}" for name, last in spans)
            sh.ws.write_formula(sh.row, 6 + i, f"=SUM({ranges})", f["total"], float(total))
        sh.row += 1
        sh = self._room("汇总表")
        sh.put(5, "合计（本工具计算，固定值）", f["bold"])
        for i, total in enumerate(self.totals):
            sh.put(6 + i, total, f["total"])
        sh.row += 1

    # -- 问题清单: every finding, with a link to the returned copy at its cell ---------------
    def _findings(self, findings) -> None:
        if not findings:
            return
        sh, f = self.sheets["问题清单"], self.f
        rows = [finding_cells(i, x) for i, x in enumerate(findings, self.n_findings + 1)]
        self.n_findings += len(rows)
        if not sh.started:
            self._findings_start(rows)
        for x, row in zip(findings, rows):  # every cell but the first is text
            sh = self._room("问题清单")
            if sh.row == 1:   # a new part: a sheet of its own, with links of its own
                self.links_left = LINK_LIMIT
            num, text, r = sh._num, sh._str, sh.row
            link = self.link(x)
            if link and self.links_left > 0:
                sh.ws.write_url(r, 17, link, f["link"], string="打开")
                self.links_left -= 1
            elif link:
                self.unlinked += 1
            num(r, 0, row[0], None)
            text(r, 1, row[1], f[x.severity])
            for c in range(2, 17):
                if row[c]:
                    text(r, c, str(row[c]), None)
            sh.row += 1

    def _findings_start(self, rows: list[list]) -> None:
        widths = fit_widths(FINDING_HEADER, rows, hi=50)
        widths[16] = 80
        self.sheets["问题清单"].start(FINDING_HEADER, widths)

    # -- 提交情况: every file received, in the order read -------------------------------
    def _manifest(self, results) -> None:
        sh, f = self.sheets["提交情况"], self.f
        rows = [[r.file, STATUS_LABELS[r.status], r.units, r.code, r.error, r.source_format,
                 f"returns/{r.return_name}" if r.return_name else "", r.return_error, r.sha256]
                for r in results]
        if not sh.started:
            sh.start(MANIFEST_HEADER, fit_widths(MANIFEST_HEADER, rows, hi=70))
        for r, row in zip(results, rows):
            bad = {1: f["error"]} if r.status == "rejected" else {}
            if r.return_error:
                bad[7] = f["warning"]
            self._room("提交情况").line(row, col_fmt=bad or None)

    # -- the end ----------------------------------------------------------------------
    def finish(self, report) -> None:
        """总览 and 规则, totals and filters, then the file itself; report.timings gets the
        seconds of each step."""
        timings = report.timings
        t = time.perf_counter()
        self._manifest(report.results)   # written last: it says which returned copies were made
        self._consolidation_totals()
        detail, findings, manifest = (self.sheets[n] for n in ("明细", "问题清单", "提交情况"))
        if not detail.started:
            detail.start(DETAIL_HEADER, _amount_widths(DETAIL_HEADER, []), (1, 5), tall=True)
        if not findings.started:
            self._findings_start([])
        if not manifest.started:
            manifest.start(MANIFEST_HEADER, fit_widths(MANIFEST_HEADER, [], hi=70))
        for name, ncols in (("明细", len(DETAIL_HEADER)), ("问题清单", len(FINDING_HEADER)),
                            ("提交情况", len(MANIFEST_HEADER))):
            for part in self.parts[name]:
                part.filter(ncols)
        more = [p.name for parts in self.parts.values() for p in parts[1:]]
        _overview(self.sheets["总览"], self.f, report, more, self.unlinked)
        _rules(self.sheets["规则"], self.f, report)
        timings["summary:end_sheets"] = time.perf_counter() - t
        t = time.perf_counter()
        with quick_zip():
            self.wb.close()
        timings["summary:close"] = time.perf_counter() - t


def _overview(sh: Sheet, f, report, continued: list[str], unlinked: int = 0) -> None:
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
            ["跳过（非报送文件）", report.skipped], ["退回标注表", report.returns_written],
            ["标注表未能生成", report.return_failures],
            ["单位（表）数", report.units], ["有错误的单位", units_with_errors],
            ["错误", sev.get("error", 0)], ["警告", sev.get("warning", 0)], ["提示", sev.get("info", 0)]]
    if continued:  # lists longer than one Excel sheet holds
        rows.append(["续表（超出一张工作表的行数）", "、".join(continued)])
    if unlinked:   # Excel keeps at most 65,530 hyperlinks per sheet: said, never silent
        rows.append(["问题清单未加链接的问题", f"{unlinked} 条（Excel 每张工作表最多 {LINK_LIMIT:,} 个链接），"
                     "可按文件名在 returns/ 中打开标注表"])
    by_rule = Counter((x.rule, x.name, x.severity) for x in report.findings)
    rule_rows = [[r, n, SEVERITY_LABELS[s], c] for (r, n, s), c in sorted(by_rule.items())]
    for c, w in enumerate(fit_widths(["项目", "内容", "严重程度", "数量"], rows + rule_rows, hi=70)):
        sh.ws.set_column(c, c, w)
    sh.line(["部门（单位）整体支出绩效自评表汇总审核结果"], f["title"])
    sh.row += 1
    for r in rows:
        sh.put(0, r[0], f["bold"])
        sh.put(1, r[1])
        sh.row += 1
    sh.row += 1
    sh.line(["评价等次", "单位数"], f["head"])
    for g in GRADES + ["其他", "未填"]:
        sh.line([g, grades.get(g, 0)])
    sh.row += 1
    sh.line(["规则", "规则名称", "严重程度", "问题数"], f["head"])
    for r in rule_rows:
        sh.line(r)


def _rules(sh: Sheet, f, report) -> None:
    header = ["规则", "名称", "类型", "严重程度", "公式或字段", "容差（万元）", "依据"]
    tol = format(report.pack.tolerance, "f")
    rows = [[r.id, r.name, r.kind, SEVERITY_LABELS[r.severity], r.formula or "、".join(r.fields),
             tol if r.kind in ("identity", "rollup", "narrative", "compare") else "", r.basis]
            for r in report.pack.rules]
    sh.start(header, fit_widths(header, rows, hi=70))
    for row in rows:
        sh.line(row)
