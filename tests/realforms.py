"""Hand-built forms with the quirks of real submissions (issue 12), written cell by cell with
openpyxl — on purpose not through formkit, so the reader is not measured only on its generator."""
from __future__ import annotations

from openpyxl import Workbook

INCOME_HEAD = ["收入合计", "上年结转", "一般公共预算财政拨款", "政府性基金预算财政拨款", "财政专户管理资金", "其他收入"]
EXP_HEAD = ["支出合计", "基本支出", "人员支出", "公用支出", "项目支出", "当年结余", "累计结余"]
TP_HEAD = ["三公经费合计", "公务接待费", "公务用车运维费", "公务用车购置费", "因公出国费"]
FA_HEAD = ["固定资产合计", "在用固定资产", "出租固定资产", "其他"]

# one sub-unit's figures (万元) that satisfy every identity; the summary is their sum
ROWS = {
    "income": [[120.5, 0.5, 100, 0, 0, 20], [80.25, 0.25, 70, 0, 0, 10]],
    "expenditure": [[110.5, 90.5, 80, 10.5, 20, 9.5, 10], [75.25, 60, 50, 10, 15.25, 4.75, 5]],
    "three_public": [[3.5, 1.5, 2, 0, 0], [1.2, 0.2, 1, 0, 0]],
    "fixed_assets": [[300, 280, 0, 20], [150, 140, 5, 5]],
}
HEADS = {"income": INCOME_HEAD, "expenditure": EXP_HEAD, "three_public": TP_HEAD, "fixed_assets": FA_HEAD}
TITLES = {"income": "年度收入情况", "expenditure": "年度支出和结余情况", "three_public": "三公经费",
          "fixed_assets": "固定资产"}


def summary(block: str) -> list[float]:
    return [round(sum(v), 2) for v in zip(*ROWS[block])]


def write_table(ws, r: int, block: str, *, unit_cell: str | None = None, summary_at: str = "top",
                summary_label: str = "合计", scale: float = 1, measures: tuple[str, ...] = (),
                subtotal: bool = False, typed=None) -> tuple[int, dict]:
    """A table at row r (1-based) with its title in A; returns (next free row, cells) where cells
    maps (org, field index, measure) → A1 cell. measures: sub-column words (预算数, 决算数) under
    every field; the final (last) column holds ROWS, the others twice them (budget)."""
    cells = {}
    head = HEADS[block]
    ws.cell(r, 1, TITLES[block])
    if unit_cell:
        ws.cell(r - 1, 2 + len(head) * max(1, len(measures)), unit_cell)  # top right corner
    ws.cell(r, 2, "单位名称")
    ncol = max(1, len(measures))
    for i, word in enumerate(head):
        col = 3 + i * ncol
        ws.cell(r, col, word)
        if measures:
            if ncol > 1:
                ws.merge_cells(start_row=r, start_column=col, end_row=r, end_column=col + ncol - 1)
            for k, m in enumerate(measures):
                ws.cell(r + 1, col + k, m)
    r += 2 if measures else 1
    orgs = ["局机关", "二级机构1"]
    data = [(o, ROWS[block][i]) for i, o in enumerate(orgs)]
    if subtotal:
        data.insert(1, ("小计", ROWS[block][0]))
    lines = [(summary_label, summary(block))] + data if summary_at == "top" else data + [(summary_label, summary(block))]
    for org, vals in lines:
        ws.cell(r, 2, org)
        for i, v in enumerate(vals):
            for k in range(ncol):
                col = 3 + i * ncol + k
                final = k == ncol - 1
                x = v * scale if final else v * 2 * scale
                if typed is not None:
                    x = typed(x)
                ws.cell(r, col, x)
                cells[(org, i, measures[k] if measures else "")] = ws.cell(r, col).coordinate
        r += 1
    return r + 1, cells


def header(ws, *, unit: str = "测试局", year_line: str = "（2022年度）", inline: str | None = None,
           title: str = "部门（单位）整体支出绩效自评表") -> int:
    ws.cell(1, 1, title)
    ws.cell(2, 1, year_line)
    if inline is not None:
        ws.cell(3, 1, inline)
        ws.merge_cells("A3:I3")
    else:
        ws.cell(3, 1, "填报单位（盖章）：")
        ws.cell(3, 2, unit)
        ws.cell(3, 6, "填报日期：")
        ws.cell(3, 7, "2023年3月10日")
    ws.cell(4, 1, "联系人")
    ws.cell(4, 2, "王芳")
    ws.cell(4, 4, "联络电话")
    ws.cell(4, 5, "13800001111")
    return 6


def tail(ws, r: int, *, score="95", grade="优") -> int:
    ws.cell(r, 1, "绩效自评综合得分")
    ws.cell(r, 4, score)
    ws.cell(r + 1, 1, "评价等次")
    ws.cell(r + 1, 4, grade)
    return r + 3


def simple_form(path, **kw) -> dict:
    """The whole form on one sheet; kw goes to write_table for every table (or per block via
    tables={block: {...}}); returns the cells of every table."""
    wb = Workbook()
    ws = wb.active
    ws.title = kw.pop("sheet", "自评表")
    hk = {k: kw.pop(k) for k in ("unit", "year_line", "inline", "title") if k in kw}
    tk = {k: kw.pop(k) for k in ("score", "grade") if k in kw}
    per = kw.pop("tables", {})
    before = kw.pop("under_title", None)
    r = header(ws, **hk)
    if before:
        ws.cell(2, 9, before)  # under the title, beside the year line: the whole form
    cells = {}
    for block in HEADS:
        r, cells[block] = write_table(ws, r + 1, block, **{**kw, **per.get(block, {})})
    tail(ws, r, **tk)
    wb.save(path)
    return cells
