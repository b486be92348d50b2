"""OUT/summary.xlsx for reviewers (xlsxwriter, constant memory, every input text written as text).

Sheets: 总览 · 汇总表 · 明细 · 问题清单 · 提交情况 · 规则. A run fills 明细, 问题清单 and 提交情况
chunk by chunk as its units are validated (each constant-memory sheet has a temporary file of its
own, so sheets may fill in any order); 汇总表 (its per-year totals stand above the list, and a unit
sent twice counts once), 总览 with its charts, 规则 and the filters come last. Every sheet is set
up to print on A4 (pipeline/write/printing.py).
"""
from __future__ import annotations

import time
from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import Callable

import xlsxwriter
from xlsxwriter.utility import xl_col_to_name

from ..models import BLOCK_LABELS, FIELD_LABELS
from ..check.ruleset import ALL_FIELDS
from ..read.labels import norm
from .present import (ACTION_WORDS, KIND_LABELS, SEVERITY_WORDS, a_status, decimal_of, decimals,
                      formula_cn, num_format, signed_diff)
from .changes import coverage_rows, write_changes
from .printing import xlsx_print
from .xlsheet import SAFE_OPTIONS, Sheet, fit_widths, quick_zip

STATUS_LABELS = {"accepted": "接收", "rejected": "拒收", "skipped": "跳过"}
LINK_LIMIT = 65_530   # hyperlinks Excel keeps in one worksheet
GRADES = ["优", "良", "中", "差"]
BLOCKS = ("income", "expenditure", "three_public", "fixed_assets")
TITLE = "部门（单位）整体支出绩效自评汇总审核结果"
SUPERSEDED = "已被替代"
STATUSES = ("需修改", "需说明", "已说明", "无问题", SUPERSEDED)   # 汇总表's 状态, in 总览's order
FONT = "等线"          # Excel's and WPS's CJK UI font; 宋体 and the system's fallback where absent


def amount_header(k: str) -> str:
    return f"{BLOCK_LABELS[k.split('.')[0]]}·{FIELD_LABELS[k]}"


AMOUNT_HEADERS = [amount_header(k) for k in ALL_FIELDS]
DETAIL_HEADER = ["单位", "机构", "年度", "行类型"] + AMOUNT_HEADERS + ["文件", "工作表"]
# forms with several value columns per field: each column's figures are a row of their own in 明细
MEASURE_WORDS = {"budget": "预算数", "adjusted_budget": "调整预算数", "opening": "年初数"}
D_AMOUNT = 4
# 汇总表: what a reviewer looks up first, the main amounts (printed), then links and the rest
MAIN_FIELDS = ["income.total", "income.appropriation", "expenditure.total", "expenditure.basic",
               "expenditure.project", "expenditure.surplus_current", "three_public.total",
               "fixed_assets.total"]
REST_FIELDS = [k for k in ALL_FIELDS if k not in MAIN_FIELDS]
UNIT_HEADER = ["序号", "单位", "年度", "状态", "逻辑性错误", "核实性问题", "综合得分", "评价等次", "联系人", "联系电话"]
C_MAIN = len(UNIT_HEADER)
C_LINKS = C_MAIN + len(MAIN_FIELDS)
CONSOLIDATION_HEADER = (UNIT_HEADER + [amount_header(k) for k in MAIN_FIELDS]
                        + ["问题清单", "标注表", "数据来源", "文件", "工作表"]
                        + [amount_header(k) for k in REST_FIELDS])
C_REST = C_LINKS + 5
FIELD_COL = {k: C_MAIN + i for i, k in enumerate(MAIN_FIELDS)} | {k: C_REST + i for i, k in enumerate(REST_FIELDS)}
# printed: 序号 … 规则; on screen the unit and 审核类型 stay frozen, 问题说明 within the first screen
FINDING_HEADER = ["序号", "单位", "年度", "审核类型", "处理要求", "问题说明", "单元格", "应为", "实为", "差额", "规则",
                  "单位说明", "规则名称", "表", "机构", "字段", "相关单元格", "文件", "工作表", "打开标注表", "问题编号"]
F_MESSAGE, F_NOTE, F_PRINT = 5, 11, 11   # the unit's 说明 printed beside its finding
F_LINK = FINDING_HEADER.index("打开标注表")
MANIFEST_HEADER = ["文件", "状态", "单位数", "原因代码", "原因", "格式", "退回标注表", "标注表未生成的原因", "SHA-256"]
SHEETS = ["总览", "汇总表", "明细", "问题清单", "提交情况", "规则"]
STREAMED = ["汇总表", "明细", "问题清单", "提交情况"]   # may run past one sheet's rows
RANK = {"error": 0, "warning": 1, "info": 2}
MESSAGE_WIDTH = 64
NOTE_WIDTH = 24


def _year(y):
    """年度 as a number where it is one."""
    s = str(y or "").strip()
    return int(s) if s.isdigit() else s


def _detail_widths(rows: list[list]) -> list[float]:
    widths = _amount_widths(DETAIL_HEADER, rows, first=D_AMOUNT)
    widths[0], widths[1] = min(max(widths[0], 14), 26), min(max(widths[1], 12), 22)
    widths[2], widths[3] = 6, 7
    return widths


def _amount_widths(header: list[str], rows: list[list], first: int = 6) -> list[float]:
    widths = fit_widths(header, rows, hi=40)
    for c in range(first, len(header)):
        if "·" in header[c]:
            widths[c] = max(11, min(widths[c], 14))
    return widths


def finding_cells(i: int, x, key: str = "") -> list:
    field_label = FIELD_LABELS.get(x.field if "." in x.field else f"{x.block}.{x.field}", x.field)
    return [i, x.unit, _year(x.year), SEVERITY_WORDS[x.severity], ACTION_WORDS[x.severity], x.message,
            x.cell, x.expected, x.actual, signed_diff(x.expected, x.actual), x.rule, x.explanation,
            x.name, BLOCK_LABELS.get(x.block, x.block), x.org, field_label, x.cells, x.file, x.sheet, None, key]


def lines(text: str, width: float) -> int:
    """Lines a wrapped cell of this column width takes."""
    from .xlsheet import text_width

    room = max(int(width * 1.15) - 1, 1)   # text_width errs wide: a CJK character prints narrower than 2.1
    return sum(max(1, -(-int(text_width(part)) // room)) for part in str(text).split("\n"))


class SummaryWriter:
    """link(finding): the returned copy's address for the 问题清单 link, or None."""

    def __init__(self, path: Path, link: Callable | None = None, tmpdir: Path | None = None):
        # tmpdir: xlsxwriter's temporary files (unit data) go where the run's staging is, so a
        # killed run leaves none of them behind elsewhere
        options = dict(SAFE_OPTIONS, tmpdir=str(tmpdir)) if tmpdir else dict(SAFE_OPTIONS)
        options["default_format_properties"] = {"font_name": FONT, "font_size": 10}
        self.wb = wb = xlsxwriter.Workbook(str(path), options)
        wb.set_custom_property("selfeval", "summary")   # a later run skips it instead of reading it
        base = {"font_name": FONT, "font_size": 10}

        def fmt(**kw):
            return wb.add_format({**base, **kw})

        money = "#,##0.00"
        self.f = {
            "head": fmt(bold=True, bg_color="#DDEBF7", border=1, text_wrap=True, valign="vcenter",
                        align="center"),
            "amount": fmt(num_format=money),
            "bold": fmt(bold=True),
            "title": fmt(bold=True, font_size=16, align="center", valign="vcenter"),
            "note": fmt(font_color="#595959"),
            "total": fmt(bold=True, num_format=money, top=1, bottom=1, bg_color="#F2F2F2"),
            "total_label": fmt(bold=True, top=1, bottom=1, bg_color="#F2F2F2"),
            "total_count": fmt(bold=True, num_format="0", top=1, bottom=1, bg_color="#F2F2F2"),
            "error": fmt(bg_color="#FFC7CE", num_format=money),
            "warning": fmt(bg_color="#FFEB9C", num_format=money),
            "info": fmt(bg_color="#DDEBF7", num_format=money),
            "ok": fmt(bg_color="#E2EFDA"),
            "link": fmt(font_color="blue", underline=1),
            "wrap": fmt(text_wrap=True, valign="top"),
            "top": fmt(valign="top"),
            "score": fmt(num_format="0.00"),
            "small": fmt(font_size=8),
            "pct": fmt(num_format="0.0%"),
            "grey": fmt(font_color="#808080", font_strikeout=True, text_wrap=True, valign="top"),
            "status": {"需修改": fmt(bg_color="#FFC7CE", bold=True), "需说明": fmt(bg_color="#FFEB9C"),
                       "已说明": fmt(bg_color="#DDEBF7"), "无问题": fmt(bg_color="#E2EFDA"),
                       SUPERSEDED: fmt(font_color="#808080")},
        }
        self._nums: dict[tuple, object] = {}
        self.sheets = {name: Sheet(wb, name, self.f) for name in SHEETS}   # the part being written
        self.parts = {name: [self.sheets[name]] for name in STREAMED}
        self.link = link or (lambda x: None)
        self.n_findings = 0
        self.links_left = LINK_LIMIT   # in the current part of 问题清单
        self.unlinked = 0              # findings past Excel's hyperlink limit: no link
        self.first_finding: dict[int, tuple[str, int]] = {}   # uid → (part, row) in 问题清单
        self.flags: dict[int, dict[str, str]] = {}            # uid → {field: worst severity}
        self.facts: dict[int, tuple] = {}                     # uid → (score, grade, contact, phone)
        self.superseded: set[int] = set()                     # uids of a unit-year sent again later
        self.explained: Counter = Counter()                   # uid → warnings with a 说明 long enough

    def num_fmt(self, places: int, severity: str | None = None):
        """#,##0.00 (more decimals where the figure has them), filled by severity if given."""
        key = (places, severity)
        if key not in self._nums:
            props = {"font_name": FONT, "font_size": 10, "num_format": num_format(places)}
            if severity == "num":
                props["valign"] = "top"
            elif severity:
                props["bg_color"] = {"error": "#FFC7CE", "warning": "#FFEB9C", "info": "#DDEBF7"}[severity]
            self._nums[key] = self.wb.add_format(props)
        return self._nums[key]

    def chunk(self, frames, findings, unit_rows: list[dict]) -> None:
        """One validated chunk: its units (unit_rows: their slim rows) and their findings."""
        self._detail(frames, findings)
        self._unit_facts(frames, findings)
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
            sample = [[o["unit"], o["org"], o["year"], ""] + [o.get(k) for k in ALL_FIELDS]
                      + [o["file"], o["sheet"]] for o in orgs[:300]]
            sh.start(DETAIL_HEADER, _detail_widths(sample), (1, 2), tall=True)
        marks: dict[tuple[int, str], list] = {}
        for x in findings:
            if x.cell:
                marks.setdefault((x.uid, x.cell), []).append(x)
        marked_units = {uid for uid, _ in marks}
        cols = [(D_AMOUNT + i, k, k + "@cell", k + "@raw") for i, k in enumerate(ALL_FIELDS)]
        c_file = D_AMOUNT + len(ALL_FIELDS)
        amount = f["amount"]
        fmt_of = {2: amount}   # decimals → number format
        for o in orgs:
            sh = self._room("明细")
            r = sh.row
            kind = "·".join(w for w in ("汇总行" if o["is_summary"] else "",
                                        MEASURE_WORDS.get(o.get("measure") or "final", "")) if w)
            year = o["year"]
            texts = [(c, int(v) if c == 2 and str(v).isdigit() else str(v), None)
                     for c, v in ((0, o["unit"]), (1, o["org"]), (2, year), (3, kind))
                     if v or (c == 2 and str(v).isdigit())]
            tail = [(c, str(v), None) for c, v in ((c_file, o["file"]), (c_file + 1, o["sheet"])) if v]
            uid = o["uid"]
            if uid not in marked_units or not any((uid, o.get(ck) or "") in marks for _, _, ck, _ in cols):
                # most org rows carry no finding: the whole row at once
                body = []
                for c, key, _, _ in cols:
                    v = o.get(key)
                    if v is not None:
                        p = places_of(v)
                        body.append((c, v, fmt_of.get(p) or fmt_of.setdefault(p, self.num_fmt(p))))
                if texts or body or tail:
                    sh.ws.ready_row(r, texts + body + tail)
                sh.row += 1
                continue
            num, text = sh._num, sh._str
            for c, v, _ in texts + tail:
                (num if isinstance(v, int) else text)(r, c, v, None)
            for c, key, cell_key, raw_key in cols:
                v = o.get(key)
                hits = marks.get((o["uid"], o.get(cell_key) or ""))
                if hits:
                    worst = min(hits, key=lambda x: RANK[x.severity])
                    fm = self.num_fmt(places_of(v) if v is not None else 2, worst.severity)
                    sh.put(c, v if v is not None else o.get(raw_key) or None, fm)
                    note = "\n".join(f"[{x.rule}] {x.message}" for x in hits)
                    sh.ws.write_comment(r, c, note[:30000], {"x_scale": 3, "y_scale": 2})
                elif v is not None:
                    p = places_of(v)
                    num(r, c, float(v), fmt_of.get(p) or fmt_of.setdefault(p, self.num_fmt(p)))
            sh.row += 1

    def _unit_facts(self, frames, findings) -> None:
        """What 汇总表 needs of a chunk's units beyond the run's slim rows: score, grade, contact,
        phone, and which consolidated figures carry a finding (coloured as in 明细)."""
        cells: dict[tuple[int, str], str] = {}
        for x in findings:
            if x.cell:
                k = (x.uid, x.cell)
                if k not in cells or RANK[x.severity] < RANK[cells[k]]:
                    cells[k] = x.severity
        marked = {uid for uid, _ in cells}
        for u in frames.unit_records:
            uid = u["uid"]
            self.facts[uid] = (u.get("f_score"), u.get("f_grade"), u.get("f_contact"), u.get("f_phone"))
            if uid not in marked:
                continue
            flagged = {}
            for k in ALL_FIELDS:
                for c in str(u.get(k + "@cells") or "").split(","):
                    sev = cells.get((uid, c))
                    if sev and (k not in flagged or RANK[sev] < RANK[flagged[k]]):
                        flagged[k] = sev
            if flagged:
                self.flags[uid] = flagged

    # -- 汇总表: one row per unit; per-year SUBTOTAL rows above the list ---------------------
    def _consolidation(self, report) -> None:
        f = self.f
        units = report.unit_rows
        counts = Counter((x.uid, x.severity) for x in report.findings)
        # the same unit and year twice: the later file counts, the earlier row is superseded
        last: dict[str, int] = {}
        for u in units:
            if u.get("unit"):
                last[norm(str(u["unit"])) + "|" + str(u.get("year") or "")] = u["uid"]
        superseded = self.superseded = {u["uid"] for u in units if u.get("unit")
                                        and last[norm(str(u["unit"])) + "|" + str(u.get("year") or "")] != u["uid"]}
        if report.collection is not None:   # the store knows of later versions from other runs
            later = report.collection.superseded
            superseded |= {u["uid"] for u in units if (u.get("file"), u.get("sheet")) in later}
        explained = self.explained = explained_warnings(report)
        years = sorted({_year(u.get("year")) for u in units if u["uid"] not in superseded},
                       key=lambda y: (not isinstance(y, int), str(y)))
        counted = [u for y in years for u in units if u["uid"] not in superseded and _year(u.get("year")) == y]
        order = counted + [u for u in units if u["uid"] in superseded]
        returned = {r.file: r.return_name for r in report.results if r.return_name} \
            if report.returns_enabled else {}

        sh = self.sheets["汇总表"]
        last_col = C_LINKS - 1
        widths = _amount_widths(CONSOLIDATION_HEADER, [[None, u.get("unit"), None, "需修改", 0, 0, None, None,
                                                        self.facts.get(u["uid"], (None,) * 4)[2],
                                                        self.facts.get(u["uid"], (None,) * 4)[3]] for u in units[:300]],
                                first=C_MAIN)
        widths[0], widths[1], widths[2] = 5, min(max(widths[1], 16), 30), 6
        widths[3], widths[4], widths[5], widths[6], widths[7] = 7.5, 7.5, 7.5, 6.5, 6
        widths[C_LINKS] = widths[C_LINKS + 1] = 7
        sh.ws.set_row(0, 30)
        sh.ws.merge_range(0, 0, 0, last_col, "部门（单位）整体支出绩效自评汇总表", f["title"])
        sh.row = 1
        n_units = len(counted)
        note = f"金额单位：万元　　共 {n_units} 个单位"
        if superseded:
            note += f"；另有 {len(superseded)} 份较早的重复报送已被替代，列在表末，不计入合计"
        if len(years) > 1:
            note += "；合计按年度分列，不跨年度相加"
        sh.ws.merge_range(1, 0, 1, last_col, note, f["note"])
        sh.row = 2
        # where each year's rows will be: totals stand above the list (filters keep them right)
        head_row = 2 + len(years)
        segments: dict = {y: [] for y in years}
        r, part = head_row + 1, 0
        from .xlsheet import ROW_LIMIT
        for u in counted:
            if r >= ROW_LIMIT:
                part, r = part + 1, 1
            seg = segments[_year(u.get("year"))]
            if seg and seg[-1][0] == part and seg[-1][2] == r - 1:
                seg[-1][2] = r
            else:
                seg.append([part, r, r])
            r += 1
        names = [sh.name] + [f"{sh.name}（续{i}）" for i in range(1, part + 1)]
        sums = {y: [Decimal(0)] * len(ALL_FIELDS) for y in years}
        errs = {y: [0, 0] for y in years}
        for u in counted:
            y = _year(u.get("year"))
            for i, k in enumerate(ALL_FIELDS):
                if u.get(k) is not None:
                    sums[y][i] += u[k]
            errs[y][0] += counts.get((u["uid"], "error"), 0)
            errs[y][1] += counts.get((u["uid"], "warning"), 0)
        for y in years:
            n = sum(1 for u in counted if _year(u.get("year")) == y)

            def ranges(col: int) -> str:
                letter = xl_col_to_name(col)
                return ",".join((f"{letter}{a + 1}:{letter}{b + 1}" if p == 0 else
                                 f"'{names[p]}'!{letter}{a + 1}:{letter}{b + 1}") for p, a, b in segments[y])

            rr = sh.row
            label = f"{y} 年度合计（{n} 个单位）" if y != "" else f"年度未填合计（{n} 个单位）"
            sh.ws.write_string(rr, 0, "", f["total_label"])
            sh.ws.write_string(rr, 1, label, f["total_label"])
            for c in (2, 3, 6, 7, 8, 9):
                sh.ws.write_blank(rr, c, None, f["total_label"])
            for c, v in ((4, errs[y][0]), (5, errs[y][1])):
                sh.ws.write_formula(rr, c, f"=SUBTOTAL(9,{ranges(c)})", f["total_count"], v)
            for i, k in enumerate(ALL_FIELDS):
                c = FIELD_COL[k]
                sh.ws.write_formula(rr, c, f"=SUBTOTAL(9,{ranges(c)})", f["total"], float(sums[y][i]))
            sh.row += 1
        sh.start(CONSOLIDATION_HEADER, widths, (head_row + 1, 2), tall=True)
        self._units_head = head_row
        links = LINK_LIMIT
        for i, u in enumerate(order, 1):
            sh = self._room("汇总表")
            if sh.row == 1:
                links = LINK_LIMIT
            uid, r = u["uid"], sh.row
            old = uid in superseded
            e, w = counts.get((uid, "error"), 0), counts.get((uid, "warning"), 0)
            status = SUPERSEDED if old else a_status(e, w, explained.get(uid, 0))
            score, grade, contact, phone = self.facts.get(uid, (None, None, None, None))
            unit_name = str(u.get("unit") or "")
            if lines(unit_name, widths[1]) > 1:
                sh.ws.set_row(r, 13.5 * lines(unit_name, widths[1]))
            sh.put(0, i, f["top"])
            sh.put(1, unit_name, f["grey"] if old else f["wrap"])
            sh.put(2, _year(u.get("year")))
            sh.put(3, status, f["status"][status])
            sh.put(4, e)
            sh.put(5, w)
            if isinstance(score, Decimal):
                sh.put(6, float(score), f["score"])
            elif score not in (None, ""):
                sh.put(6, str(score))
            sh.put(7, grade if grade not in (None, "") else None)
            sh.put(8, contact if contact not in (None, "") else None)
            sh.put(9, phone if phone not in (None, "") else None)
            flagged = self.flags.get(uid, {})
            for k in ALL_FIELDS:
                v = u.get(k)
                sev = flagged.get(k)
                if v is not None:
                    sh._num(r, FIELD_COL[k], float(v), self.num_fmt(places_of(v), sev))
                elif sev:
                    sh.ws.write_blank(r, FIELD_COL[k], None, self.num_fmt(2, sev))
            at = self.first_finding.get(uid)
            if at and links > 0:
                sh.ws.write_url(r, C_LINKS, f"internal:'{at[0]}'!A{at[1] + 1}", f["link"], string="查看问题")
                links -= 1
            name = returned.get(u.get("file"))
            if name and links > 0:
                sh.ws.write_url(r, C_LINKS + 1, f"external:returns/{name}", f["link"], string="打开")
                links -= 1
            derived = [BLOCK_LABELS[b] for b in BLOCKS if u.get(f"{b}@derived")]
            source = "汇总行" if not derived else "各机构之和（汇总行未填：" + "、".join(derived) + "）"
            sh.put(C_LINKS + 2, source, None if not derived else f["warning"])
            sh.put(C_LINKS + 3, u.get("file") or "")
            sh.put(C_LINKS + 4, u.get("sheet") or "")
            sh.row += 1
        for p in self.parts["汇总表"]:
            p.filter(len(CONSOLIDATION_HEADER))
        first = self.parts["汇总表"][0]
        for p in self.parts["汇总表"]:
            xlsx_print(p.ws, title=TITLE, right=self.run_note, rows=(0, p.head_row),
                       area=(0, 0, max(p.row - 1, p.head_row), C_LINKS - 1))
        first.ws.activate()

    # -- 问题清单: every finding, with a link to the returned copy at its cell ---------------
    def _findings(self, findings) -> None:
        if not findings:
            return
        sh, f = self.sheets["问题清单"], self.f
        rows = [finding_cells(i, x, x.key) for i, x in enumerate(findings, self.n_findings + 1)]
        self.n_findings += len(rows)
        if not sh.started:
            self._findings_start(rows)
        wrap, top = f["wrap"], f["top"]
        for x, row in zip(findings, rows):
            sh = self._room("问题清单")
            if sh.row == 1:   # a new part: a sheet of its own, with links of its own
                self.links_left = LINK_LIMIT
            r = sh.row
            self.first_finding.setdefault(x.uid, (sh.name, r))
            link = self.link(x)
            if link and self.links_left > 0:
                sh.ws.write_url(r, F_LINK, link, f["link"], string="打开")
                self.links_left -= 1
            elif link:
                self.unlinked += 1
            n = max(lines(row[5], MESSAGE_WIDTH), lines(row[F_NOTE], NOTE_WIDTH) if row[F_NOTE] else 1)
            if n > 1:
                sh.ws.set_row(r, 13.5 * n)
            sh.put(0, row[0], top)
            sh.put(1, row[1] or None, top)
            sh.put(2, row[2] if row[2] != "" else None, top)
            sh.put(3, row[3], self._sev_fmt(x.severity))
            sh.put(4, row[4], top)
            sh.put(5, row[5], wrap)
            sh.put(6, row[6] or None, top)
            nf = self.num_fmt(decimals(x.expected, x.actual), "num")
            for c, v in ((7, x.expected), (8, x.actual), (9, row[9])):
                d = decimal_of(v) if v != "" else None
                if d is not None:
                    sh._num(r, c, float(d), nf)
                elif v not in ("", None):
                    sh.put(c, str(v), top)
            for c in range(10, len(row)):
                if c != F_LINK:
                    sh.put(c, row[c] or None, wrap if c == F_NOTE else top)
            sh.row += 1

    def _sev_fmt(self, severity: str):
        key = ("sev", severity)
        if key not in self._nums:
            self._nums[key] = self.wb.add_format({"font_name": FONT, "font_size": 10, "valign": "top",
                                                  "bg_color": {"error": "#FFC7CE", "warning": "#FFEB9C",
                                                               "info": "#DDEBF7"}[severity]})
        return self._nums[key]

    def _findings_start(self, rows: list[list]) -> None:
        widths = fit_widths(FINDING_HEADER, rows, hi=30)
        widths[0], widths[2], widths[3], widths[4], widths[5] = 6, 6, 11, 13, MESSAGE_WIDTH
        widths[1] = min(max(widths[1], 12), 22)
        for c in (7, 8, 9):
            widths[c] = 12
        widths[F_NOTE] = NOTE_WIDTH
        self.sheets["问题清单"].start(FINDING_HEADER, widths, (1, 4))

    # -- 提交情况: every file received, in the order read -------------------------------
    def _manifest(self, results) -> None:
        sh, f = self.sheets["提交情况"], self.f
        rows = [[r.file, STATUS_LABELS[r.status], r.units, r.code, r.error, r.source_format,
                 f"returns/{r.return_name}" if r.return_name else "", r.return_error, r.sha256]
                for r in results]
        if not sh.started:
            widths = fit_widths(MANIFEST_HEADER, rows, hi=50)
            widths[8] = 50     # the digest in 8 pt
            sh.start(MANIFEST_HEADER, widths)
        for r, row in zip(results, rows):
            bad = {1: f["error"]} if r.status == "rejected" else {}
            bad[8] = f["small"]
            if r.return_error:
                bad[7] = f["warning"]
            self._room("提交情况").line(row, col_fmt=bad or None)

    # -- the end ----------------------------------------------------------------------
    def finish(self, report) -> None:
        """汇总表, 总览 and 规则, filters and print settings, then the file itself;
        report.timings gets the seconds of each step."""
        timings = report.timings
        t = time.perf_counter()
        self.run_note = f"汇总日期 {report.started:%Y-%m-%d %H:%M}"
        self._manifest(report.results)   # written last: it says which returned copies were made
        self._consolidation(report)
        detail, findings, manifest = (self.sheets[n] for n in ("明细", "问题清单", "提交情况"))
        if not detail.started:
            detail.start(DETAIL_HEADER, _detail_widths([]), (1, 2), tall=True)
        if not findings.started:
            self._findings_start([])
        if not manifest.started:
            manifest.start(MANIFEST_HEADER, fit_widths(MANIFEST_HEADER, [], hi=70))
        for name, ncols in (("明细", len(DETAIL_HEADER)), ("问题清单", len(FINDING_HEADER)),
                            ("提交情况", len(MANIFEST_HEADER))):
            for part in self.parts[name]:
                part.filter(ncols)
        for p in self.parts["明细"]:    # wide: the unit and org columns on every page
            xlsx_print(p.ws, title=TITLE, right=self.run_note, wide=0, rows=(0, 0), cols=(0, 1),
                       area=(0, 0, max(p.row - 1, 0), D_AMOUNT + len(ALL_FIELDS) - 1))
            p.ws.set_print_scale(80)
        for p in self.parts["问题清单"]:
            xlsx_print(p.ws, title=TITLE, right=self.run_note, rows=(0, 0),
                       area=(0, 0, max(p.row - 1, 0), F_PRINT))
        for p in self.parts["提交情况"]:
            xlsx_print(p.ws, title=TITLE, right=self.run_note, rows=(0, 0))
        more = [p.name for parts in self.parts.values() for p in parts[1:]]
        _overview(self, report, more, self.unlinked)
        _rules(self.sheets["规则"], self.f, report)
        xlsx_print(self.sheets["规则"].ws, title=TITLE, right=self.run_note, rows=(0, 0))
        if report.collection is not None:   # a run with the collection's store
            write_changes(self.wb, self.f, report.collection.changes, title=TITLE, right=self.run_note)
        timings["summary:end_sheets"] = time.perf_counter() - t
        t = time.perf_counter()
        with quick_zip():
            self.wb.close()
        timings["summary:close"] = time.perf_counter() - t


def explained_warnings(report) -> Counter:
    """uid → its warnings whose 说明 (from the store) is long enough to clear them."""
    from ..collect.notes import note_counts

    n = report.pack.explain_min_chars
    return Counter(x.uid for x in report.findings
                   if x.severity == "warning" and x.explanation and note_counts(x.explanation, n))


def places_of(v) -> int:
    """Decimals to show for an amount: two, or as many as it was given (up to six)."""
    if v.__class__ is not Decimal:
        return 2
    s = str(v)   # cheaper than as_tuple(), which builds the digits; 'E' forms take the long way
    dot = s.find(".")
    if dot < 0 or "E" in s:
        exp = v.as_tuple().exponent
        return min(max(2, -exp), 6) if isinstance(exp, int) else 2
    n = len(s) - dot - 1
    return 2 if n <= 2 else min(n, 6)


def _overview(w: SummaryWriter, report, continued: list[str], unlinked: int = 0) -> None:
    """One portrait page: the run's figures, grades and statuses, three charts, then every rule
    of the pack with units checked / passed / failed / rate (fired or not)."""
    sh, f, ws, wb = w.sheets["总览"], w.f, w.sheets["总览"].ws, w.wb
    sev = Counter(x.severity for x in report.findings)
    counts = Counter((x.uid, x.severity) for x in report.findings)
    units_with_errors = len({x.uid for x in report.findings if x.severity == "error"})
    grades, status = Counter(), Counter()
    for u in report.unit_rows:
        g = str(u.get("f_grade") or "").strip()
        grades[g[:1] if g[:1] in GRADES else ("未填" if not g else "其他")] += 1
        status[SUPERSEDED if u["uid"] in w.superseded else
               a_status(counts.get((u["uid"], "error"), 0), counts.get((u["uid"], "warning"), 0),
                        w.explained.get(u["uid"], 0))] += 1
    rows = [["汇总日期", report.started.strftime("%Y-%m-%d %H:%M")], ["输入文件夹", str(report.inbox)],
            ["规则包", f"{report.pack.name}（版本 {report.pack.version}）"],
            ["容差（万元）", float(report.pack.tolerance)],
            ["收到文件", report.received], ["接收", report.accepted], ["拒收", report.rejected],
            ["跳过（非报送文件）", report.skipped], ["退回标注表", report.returns_written],
            ["标注表未能生成", report.return_failures],
            ["单位（表）数", report.units], ["有错误的单位", units_with_errors],
            ["逻辑性错误", sev.get("error", 0)], ["核实性问题", sev.get("warning", 0)], ["提示", sev.get("info", 0)]]
    rows += coverage_rows(report.collection)
    if continued:  # lists longer than one Excel sheet holds
        rows.append(["续表（超出一张工作表的行数）", "、".join(continued)])
    if unlinked:   # Excel keeps at most 65,530 hyperlinks per sheet: said, never silent
        rows.append(["问题清单未加链接的问题", f"{unlinked} 条（Excel 每张工作表最多 {LINK_LIMIT:,} 个链接），"
                     "可按文件名在 returns/ 中打开标注表"])
    for c, wd in enumerate((20, 44, 11, 10, 8, 8, 8, 8)):
        ws.set_column(c, c, wd)
    ws.set_column(9, 10, 8, None, {"hidden": True})   # the chart's data: rules with findings
    ws.set_row(0, 30)
    ws.merge_range(0, 0, 0, 7, TITLE, f["title"])
    right = {2: ["评价等次", "单位数"], 9: ["单位状态", "单位数"]}
    grade_rows = {3 + i: [g, grades.get(g, 0)] for i, g in enumerate(GRADES + ["其他", "未填"])}
    status_rows = {10 + i: [s, status.get(s, 0)] for i, s in enumerate(STATUSES)}
    by_rule = Counter(x.rule for x in report.findings)
    fired = [(r.id, by_rule[r.id]) for r in report.pack.rules if by_rule.get(r.id)]
    sh.row = 2
    for k in range(max(len(rows), 14, len(fired) + 1)):
        r = sh.row
        if k < len(rows):
            sh.put(0, rows[k][0], f["bold"])
            sh.put(1, rows[k][1], f["score"] if isinstance(rows[k][1], float) else None)
        if r in right:
            sh.put(3, right[r][0], f["head"])
            sh.put(4, right[r][1], f["head"])
        for table in (grade_rows, status_rows):
            if r in table:
                sh.put(3, table[r][0], f["status"].get(table[r][0]))
                sh.put(4, table[r][1])
        if k < len(fired):
            sh.put(9, fired[k][0])
            sh.put(10, fired[k][1])
        sh.row += 1
    chart_row = sh.row + 1
    name = "'总览'"

    def place(chart, title, x, width):
        chart.set_title({"name": title, "name_font": {"name": FONT, "size": 10}})
        if chart.__class__.__name__ != "ChartPie":
            chart.set_legend({"none": True})
        else:
            chart.set_legend({"position": "bottom", "font": {"name": FONT, "size": 8}})
        chart.set_size({"width": width, "height": 230})
        chart.set_chartarea({"border": {"color": "#BFBFBF"}})
        chart.show_hidden_data()   # the rules' counts sit in hidden columns
        ws.insert_chart(chart_row, 0, chart, {"x_offset": x, "y_offset": 2})

    axis = {"num_font": {"name": FONT, "size": 8}}
    c1 = wb.add_chart({"type": "column"})
    c1.add_series({"categories": f"={name}!$D$4:$D$9", "values": f"={name}!$E$4:$E$9",
                   "data_labels": {"value": True}, "fill": {"color": "#5B9BD5"}, "gap": 80})
    c1.set_x_axis(axis)
    c1.set_y_axis(dict(axis, major_gridlines={"visible": True, "line": {"color": "#E0E0E0"}}))
    place(c1, "评价等次分布（单位数）", 2, 255)
    c2 = wb.add_chart({"type": "bar"})
    if fired:
        c2.add_series({"categories": f"={name}!$J$3:$J${2 + len(fired)}",
                       "values": f"={name}!$K$3:$K${2 + len(fired)}",
                       "fill": {"color": "#ED7D31"}, "data_labels": {"value": True}, "gap": 60})
    else:
        c2.add_series({"categories": f"={name}!$D$11:$D$13", "values": f"={name}!$E$11:$E$13"})
    c2.set_y_axis(dict(axis, reverse=True))
    c2.set_x_axis(axis)
    place(c2, "各规则问题数" if fired else "各规则问题数（本次无问题）", 265, 320)
    c3 = wb.add_chart({"type": "pie"})
    c3.add_series({"categories": f"={name}!$D$11:$D$15", "values": f"={name}!$E$11:$E$15",
                   "data_labels": {"value": True},
                   "points": [{"fill": {"color": "#FF7C80"}}, {"fill": {"color": "#FFD966"}},
                              {"fill": {"color": "#9DC3E6"}}, {"fill": {"color": "#A9D08E"}},
                              {"fill": {"color": "#BFBFBF"}}]})
    place(c3, "单位审核状态", 593, 250)
    sh.row = chart_row + 13
    n = report.units
    failed_units: dict[str, set] = {}
    for x in report.findings:
        failed_units.setdefault(x.rule, set()).add(x.uid)
    sh.line(["规则", "规则名称", "审核类型", "检查单位数", "通过", "未通过", "通过率", "问题数"], f["head"])
    for rule in report.pack.rules:
        bad = len(failed_units.get(rule.id, ()))
        sh.put(0, rule.id)
        sh.put(1, rule.name)
        sh.put(2, SEVERITY_WORDS[rule.severity])
        sh.put(3, n)
        sh.put(4, n - bad)
        sh.put(5, bad, w._sev_fmt(rule.severity) if bad else None)
        sh.put(6, (n - bad) / n if n else 1.0, f["pct"])
        sh.put(7, by_rule.get(rule.id, 0))
        sh.row += 1
    xlsx_print(ws, title=TITLE, right=f"汇总日期 {report.started:%Y-%m-%d %H:%M}", landscape=False,
               area=(0, 0, sh.row - 1, 7))
    ws.fit_to_pages(1, 1)
    ws.activate()


def _rules(sh: Sheet, f, report) -> None:
    header = ["规则", "名称（问题）", "审核类型", "处理要求", "检查内容", "审核公式", "容差（万元）", "依据"]
    tol = float(report.pack.tolerance)
    rows = [[r.id, r.name, SEVERITY_WORDS[r.severity], ACTION_WORDS[r.severity], KIND_LABELS.get(r.kind, r.kind),
             formula_cn(r), tol if r.kind in ("identity", "rollup", "narrative", "compare") else None, r.basis]
            for r in report.pack.rules]
    widths = fit_widths(header, rows, hi=50)
    widths[5], widths[7] = 50, 50
    sh.start(header, widths)
    for row in rows:
        n = max(lines(str(row[c] or ""), widths[c]) for c in (1, 5, 7))
        if n > 1:
            sh.ws.set_row(sh.row, 13.5 * n)
        for c, v in enumerate(row):
            sh.put(c, v, f["wrap"] if c in (1, 5, 7) else f["top"])
        sh.row += 1
