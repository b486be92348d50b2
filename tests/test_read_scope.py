"""Where a table starts and ends, and which unit of measure governs it (issue 12): side titles
beside a 序号 column, 千元 declarations, a section title row between two tables. Forms are
written cell by cell with openpyxl (not through formkit)."""
from __future__ import annotations

import csv
from decimal import Decimal
from pathlib import Path

import pytest
from conftest import fw, needs_soffice
from openpyxl import Workbook
from realforms import HEADS, ROWS, header, summary, tail

from pipeline.read.parse import read_file
from pipeline.run import run

ORGS = ["局机关", "二级机构1"]


def table(ws, r: int, block: str, *, side: str | None = None, serial: bool = False, corner: str | None = None,
          numbered: bool = True, suffix: str = "", heading: str | None = None, merge_heading: bool = True,
          summary_label: str = "合计",
          summary_at: str = "top", scale: float = 1, change: dict | None = None) -> tuple[int, dict]:
    """One table at row r (1-based). side: its side title in A (merged down the table); serial: a
    序号 column (1, 2, … unless not numbered) between the side title and 单位名称; corner: a unit declaration at the
    header's top right corner; heading: a title line on the row above (（三）三公经费), merged over
    the first columns only; suffix: after every field's header word (（千元）); change: {(org, field index): value} planted before writing.
    Returns (next row, {(org, field index): A1 cell}, ("head", field index) for the header)."""
    head = HEADS[block]
    if heading:
        ws.cell(r, 1, heading)
        if merge_heading:
            ws.merge_cells(start_row=r, start_column=1, end_row=r, end_column=4)
        r += 1
    oc = 3 if serial else 2             # the org column
    if corner:  # on the row above the header (the heading's, when there is one), at the right
        ws.cell(r - 1, oc + len(head), corner)
    top = r
    if side:
        ws.cell(r, 1, side)
    if serial:
        ws.cell(r, 2, "序号")
    ws.cell(r, oc, "单位名称")
    cells = {}
    for i, word in enumerate(head):
        ws.cell(r, oc + 1 + i, word + suffix)
        cells[("head", i)] = ws.cell(r, oc + 1 + i).coordinate
    r += 1
    lines = [(o, list(ROWS[block][k])) for k, o in enumerate(ORGS)]
    for (org, i), v in (change or {}).items():
        next(vals for o, vals in lines if o == org)[i] = v
    lines = ([(summary_label, summary(block))] + lines) if summary_at == "top" else lines + [(summary_label, summary(block))]
    n = 0
    for org, vals in lines:
        if serial and numbered and org in ORGS:
            n += 1
            ws.cell(r, 2, n)
        ws.cell(r, oc, org)
        for i, v in enumerate(vals):
            ws.cell(r, oc + 1 + i, round(v * scale, 2))
            cells[(org, i)] = ws.cell(r, oc + 1 + i).coordinate
        r += 1
    if side:
        ws.merge_cells(start_row=top, start_column=1, end_row=r - 1, end_column=1)
    return r, cells


def form(path: Path, specs: dict | None = None, under_title: str | None = None, gap: int = 1) -> dict:
    wb = Workbook()
    ws = wb.active
    ws.title = "自评表"
    r = header(ws)
    if under_title:
        ws.cell(2, 9, under_title)
    cells = {}
    for block in HEADS:
        r, cells[block] = table(ws, r + gap, block, **(specs or {}).get(block, {}))
    tail(ws, r)
    wb.save(path)
    return cells


def one(path: Path):
    r = read_file(path, path.name)
    assert r.status == "accepted", r.error
    assert len(r.forms) == 1
    return r.forms[0]


def rows(f, block: str, measure: str = "final"):
    return [row for row in f.rows if row.block == block and row.measure == measure]


def value(f, block: str, org: str, field: str):
    row = next(row for row in rows(f, block) if row.org == org)
    a = row.amounts[field]
    return a.value, a.cell, a.note


def converted(f):
    return {i.block: (i.raw, i.detail) for i in f.issues if i.code == "YUAN_CONVERTED"}


@pytest.mark.parametrize("numbered", [True, False])
def test_side_title_beside_a_serial_column_declares_yuan(tmp_path: Path, numbered: bool):
    """年度收入情况（元） in A, 序号 in B (numbered 1, 2 or left blank), 单位名称 in C: the side title
    governs, not the 序号 header; the serial numbers are no amounts."""
    p = tmp_path / "f.xlsx"
    cells = form(p, {"income": {"side": "年度收入情况（元）", "serial": True, "numbered": numbered, "scale": 10000},
                     "three_public": {"side": "三公经费", "serial": True}})
    f = one(p)
    assert value(f, "income", "局机关", "total") == (Decimal("120.5"), cells["income"][("局机关", 0)], "元→万元")
    assert value(f, "income", "合计", "total")[0] == Decimal(str(summary("income")[0]))
    assert value(f, "three_public", "局机关", "total") == (Decimal("3.5"), cells["three_public"][("局机关", 0)], "")
    assert converted(f) == {"income": ("年度收入情况（元）", "“年度收入情况（元）”标明单位为元，该表金额已换算为万元")}
    assert [row.org for row in rows(f, "income")] == ["合计", "局机关", "二级机构1"]
    assert all("序号" not in row.amounts for row in f.rows)


@pytest.mark.parametrize("spec,where", [
    ({"corner": "单位：千元"}, "corner"),
    ({"side": "三公经费（千元）"}, "title"),
    ({"side": "三公经费", "serial": True, "corner": "金额单位：千元"}, "corner"),
    ({"suffix": "（千元）"}, "header"),
    ({"suffix": "（单位：人民币千元）"}, "header"),
])
def test_thousand_yuan_converts_by_ten(tmp_path: Path, spec, where):
    p = tmp_path / "k.xlsx"
    cells = form(p, {"three_public": {**spec, "scale": 10}})
    f = one(p)
    assert value(f, "three_public", "局机关", "total") == (Decimal("3.5"), cells["three_public"][("局机关", 0)],
                                                          "千元→万元")
    assert value(f, "three_public", "二级机构1", "reception")[0] == Decimal("0.2")
    assert value(f, "income", "局机关", "total")[0] == Decimal("120.5")   # the other tables stay in 万元
    raw, detail = converted(f)["three_public"]
    assert list(converted(f)) == ["three_public"] and "标明单位为千元" in detail
    want = {"corner": spec.get("corner"), "title": "三公经费（千元）", "header": "三公经费合计" + spec.get("suffix", "")}
    assert raw == want[where]
    if where == "header":   # the header cell that states it, named by its cell
        assert detail == f"{cells['three_public'][('head', 0)]} 的“{want[where]}”标明单位为千元，该表金额已换算为万元"


def test_thousand_yuan_for_the_whole_form(tmp_path: Path):
    p = tmp_path / "w.xlsx"
    form(p, {b: {"scale": 10} for b in HEADS}, under_title="金额单位：千元")
    f = one(p)
    assert value(f, "fixed_assets", "局机关", "total")[0] == Decimal("300")
    assert value(f, "expenditure", "合计", "total")[0] == Decimal(str(summary("expenditure")[0]))
    assert sorted(converted(f)) == sorted(HEADS)
    assert all(d == "I2 的“金额单位：千元”标明单位为千元，该表金额已换算为万元" for _, d in converted(f).values())


@pytest.mark.parametrize("merged", [True, False])
def test_section_title_row_ends_the_table_above(tmp_path: Path, merged: bool):
    """（三）三公经费 on its own row, merged over the first columns only (or not merged), right under
    a table whose 小计 is its last row: the 小计 is that table's summary, the title no org."""
    p = tmp_path / "t.xlsx"
    form(p, {"expenditure": {"summary_label": "小计", "summary_at": "bottom"},
             "three_public": {"heading": "（三）三公经费", "merge_heading": merged},
             "fixed_assets": {"heading": "（四）固定资产", "merge_heading": merged}}, gap=0)
    f = one(p)
    exp = rows(f, "expenditure")
    assert [(row.org, row.is_summary, row.role) for row in exp] == [
        ("局机关", False, ""), ("二级机构1", False, ""), ("小计", True, "")]
    assert [row.org for row in rows(f, "three_public")] == ["合计", "局机关", "二级机构1"]


def test_blank_summary_row_above_a_blank_line_is_kept(tmp_path: Path):
    """A summary row left blank, a blank line, then the org rows, and the next table three rows
    down: the summary row is no title line and the org rows below it are read."""
    wb = Workbook()
    ws = wb.active
    r = header(ws)
    ws.cell(r, 1, "年度收入情况")
    ws.cell(r, 2, "单位名称")
    for i, w in enumerate(HEADS["income"]):
        ws.cell(r, 3 + i, w)
    ws.cell(r + 1, 2, "局机关及二级机构汇总")
    ws.cell(r + 3, 2, "局机关")
    for i, v in enumerate(ROWS["income"][0]):
        ws.cell(r + 3, 3 + i, v)
    r += 4
    for block in ("expenditure", "three_public", "fixed_assets"):
        r, _ = table(ws, r, block)
    tail(ws, r)
    wb.save(tmp_path / "b.xlsx")
    f = one(tmp_path / "b.xlsx")
    assert [(row.org, row.is_summary) for row in rows(f, "income")] == [("局机关及二级机构汇总", True), ("局机关", False)]
    assert value(f, "income", "局机关", "total")[:2] == (Decimal("120.5"), "C9")


def test_planted_sum_error_under_a_section_title_is_flagged_at_its_cell(tmp_path: Path):
    (tmp_path / "in").mkdir()
    cells = form(tmp_path / "in" / "p.xlsx", {
        "expenditure": {"summary_label": "小计", "summary_at": "bottom", "change": {("局机关", 2): 82.0,
                                                                                ("局机关", 3): 8.5}},
        "three_public": {"heading": "（三）三公经费"}}, gap=0)
    out = tmp_path / "out"
    run(tmp_path / "in", out, returns=False)
    with open(out / "findings.csv", encoding="utf-8-sig", newline="") as fh:
        errs = sorted((x["rule"], x["cell"]) for x in csv.DictReader(fh) if x["severity"] == "error")
    exp = cells["expenditure"]
    assert errs == [("SUM-001", exp[("小计", 2)]), ("SUM-001", exp[("小计", 3)])]


@needs_soffice
def test_scope_survives_libreoffice(tmp_path: Path):
    src = tmp_path / "s.xlsx"
    form(src, {"income": {"side": "年度收入情况（元）", "serial": True, "scale": 10000},
               "expenditure": {"summary_label": "小计", "summary_at": "bottom"},
               "three_public": {"heading": "（三）三公经费", "corner": "单位：千元", "scale": 10}}, gap=0)
    fw.convert([src], "ods", tmp_path)
    fw.convert([src], "xls", tmp_path)
    for ext in ("ods", "xls"):
        f = one(tmp_path / f"s.{ext}")
        assert value(f, "income", "二级机构1", "total")[0] == Decimal("80.25"), ext
        assert value(f, "three_public", "局机关", "total")[0] == Decimal("3.5"), ext
        assert [(row.org, row.is_summary) for row in rows(f, "expenditure")][-1] == ("小计", True), ext
        assert sorted(converted(f)) == ["income", "three_public"], ext


def test_declaration_in_a_lower_header_row_governs_its_own_table(tmp_path: Path):
    """单位：元 right of the 预算数/决算数 row (the header's second row) is the table's own, not a
    declaration for the tables below it."""
    from realforms import write_table
    wb = Workbook()
    ws = wb.active
    r = header(ws)
    r, inc = write_table(ws, r + 1, "income", measures=("预算数", "决算数"), scale=10000)
    ws.cell(r - 5, 2 + 2 * len(HEADS["income"]) + 1, "单位：元")   # the 预算数/决算数 row, right of the table
    for block in ("expenditure", "three_public", "fixed_assets"):
        r, _ = write_table(ws, r + 1, block)
    tail(ws, r)
    wb.save(tmp_path / "h.xlsx")
    f = one(tmp_path / "h.xlsx")
    assert value(f, "income", "局机关", "total") == (Decimal("120.5"), inc[("局机关", 0, "决算数")], "元→万元")
    budget = next(row for row in rows(f, "income", "budget") if row.org == "局机关").amounts["total"]
    assert (budget.value, budget.cell) == (Decimal("241"), inc[("局机关", 0, "预算数")])
    assert value(f, "expenditure", "局机关", "total")[0] == Decimal("110.5")
    assert list(converted(f)) == ["income"]
    assert converted(f)["income"][1].startswith(f"{chr(ord('A') + 2 + 2 * len(HEADS['income']))}8 的“单位：元”")
