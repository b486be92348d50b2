"""The reader on forms as units really send them (issue 12), built by hand in tests/realforms.py."""
from __future__ import annotations

import csv
from decimal import Decimal
from pathlib import Path

import pytest
from openpyxl import Workbook
from realforms import HEADS, ROWS, header, simple_form, summary, tail, write_table

from pipeline.read.numbers import parse_amount
from pipeline.read.parse import read_file
from pipeline.run import run


def _one(path: Path):
    r = read_file(path, path.name)
    assert r.status == "accepted", r.error
    assert len(r.forms) == 1
    return r, r.forms[0]


def _final(form, block, org):
    return next(row for row in form.rows if row.block == block and row.org == org and row.measure == "final")


def _findings(tmp_path: Path, *names):
    out = tmp_path / "out"
    run(tmp_path / "in", out, returns=False)
    with open(out / "findings.csv", encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.mark.parametrize("text,value", [
    ("-12.50", "-12.50"), ("(12.50)", "-12.50"), ("（12.50）", "-12.50"), ("－12.50", "-12.50"),
    ("△12.50", "-12.50"), ("▲ 1,234.5", "-1234.5"), ("(1,234.50)", "-1234.50")])
def test_accounting_negatives(text, value):
    assert parse_amount(text) == (Decimal(value), "ok", "")


@pytest.mark.parametrize("inline,unit,date", [
    ("填报单位：甲局", "甲局", None),
    ("填报单位（盖章）：乙局", "乙局", None),
    ("填报单位（盖章）：丙局　　填报日期：2023年3月24日", "丙局", "2023-03-24"),
    ("填 报 单 位 ：丁局  填报日期：2023-03-10", "丁局", "2023-03-10"),
])
def test_label_and_value_in_one_cell(tmp_path: Path, inline, unit, date):
    _, f = _one_path(tmp_path, inline=inline)
    assert (f.unit.value, f.unit.cell) == (unit, "A3")
    assert (f.fill_date.value if f.fill_date else None) == date


def _one_path(tmp_path: Path, **kw):
    p = tmp_path / "f.xlsx"
    simple_form(p, **kw)
    return _one(p)


def test_next_label_is_not_the_value(tmp_path: Path):
    """填报单位（盖章）： followed by the 填报日期： label: the unit is left blank, not named 填报日期："""
    p = tmp_path / "f.xlsx"
    simple_form(p, unit="填报日期：")
    _, f = _one(p)
    assert f.unit is None


def test_contact_and_phone_in_one_cell(tmp_path: Path):
    wb = Workbook()
    ws = wb.active
    r = header(ws)
    ws["A4"], ws["B4"], ws["D4"], ws["E4"] = "联系人：李强　联系电话：0730-8221234", None, None, None
    for b in HEADS:
        r, _ = write_table(ws, r + 1, b)
    wb.save(tmp_path / "c.xlsx")
    _, f = _one(tmp_path / "c.xlsx")
    assert (f.contact.value, f.phone.value, f.phone.cell) == ("李强", "0730-8221234", "A4")


@pytest.mark.parametrize("line,year", [("（二〇二一年度）", "2021"), ("（2022 年度）", "2022"), ("（2023年）", "2023"),
                                       ("", "2020")])
def test_years_as_written(tmp_path: Path, line, year):
    _, f = _one_path(tmp_path, year_line=line, title="2020年度部门（单位）整体支出绩效自评表")
    assert f.year.value == year and f.year.cell == ("A2" if line else "A1")


def test_unit_declared_under_the_title_governs_every_table(tmp_path: Path):
    r, f = _one_path(tmp_path, under_title="金额单位：元", scale=10000)
    s = _final(f, "income", "合计").amounts["total"]
    assert (s.value, s.raw, s.note) == (Decimal(str(summary("income")[0])), str(int(summary("income")[0] * 10000)),
                                        "元→万元")
    conv = [i for i in f.issues if i.code == "YUAN_CONVERTED"]
    assert [(i.block, i.raw) for i in conv] == [(b, "金额单位：元") for b in HEADS]
    assert "I2 的“金额单位：元”" in conv[0].detail


def test_unit_declared_at_a_tables_corner_governs_that_table(tmp_path: Path):
    r, f = _one_path(tmp_path, tables={"three_public": {"unit_cell": "单位：元", "scale": 10000},
                                       "income": {"unit_cell": "单位：万元"}})
    assert _final(f, "three_public", "局机关").amounts["total"].value == Decimal("3.5")
    assert _final(f, "income", "局机关").amounts["total"].value == Decimal("120.5")
    assert _final(f, "fixed_assets", "局机关").amounts["total"].value == Decimal("300")
    assert [i.block for i in f.issues if i.code == "YUAN_CONVERTED"] == ["three_public"]


@pytest.mark.parametrize("label,at", [("合计", "top"), ("小计", "bottom"), ("总计", "bottom"), ("汇总", "top"),
                                      ("局机关及二级机构汇总", "bottom")])
def test_summary_row_anywhere_by_its_family(tmp_path: Path, label, at):
    _, f = _one_path(tmp_path, summary_label=label, summary_at=at)
    inc = [row for row in f.rows if row.block == "income"]
    assert [(row.org, row.is_summary) for row in inc if row.is_summary] == [(label, True)]
    assert [row.org for row in inc if not row.is_summary] == ["局机关", "二级机构1"]


def test_subtotal_is_neither_summary_nor_sub_unit(tmp_path: Path):
    (tmp_path / "in").mkdir()
    simple_form(tmp_path / "in" / "s.xlsx", tables={"income": {"subtotal": True}}, summary_at="bottom")
    _, f = _one(tmp_path / "in" / "s.xlsx")
    roles = [(row.org, row.is_summary, row.role) for row in f.rows if row.block == "income"]
    assert roles == [("局机关", False, ""), ("小计", False, "subtotal"), ("二级机构1", False, ""), ("合计", True, "")]
    assert [x["rule"] for x in _findings(tmp_path) if x["severity"] == "error"] == []


@pytest.mark.parametrize("score,grade,want", [("96分", "优", ("96", "优")), ("92", "优（92分）", ("92", "优")),
                                              ("85", "良好", ("85", "良好")), ("", "优（92分）", ("92", "优"))])
def test_scores_and_grades_as_written(tmp_path: Path, score, grade, want):
    (tmp_path / "in").mkdir()
    simple_form(tmp_path / "in" / "g.xlsx", score=score or None, grade=grade)
    _, f = _one(tmp_path / "in" / "g.xlsx")
    assert (str(f.score.value), f.grade.value) == want
    assert [x["rule"] for x in _findings(tmp_path) if x["rule"] in ("GRD-001", "SCO-001", "REQ-001")] == []


def test_formula_in_text_fields_without_result(tmp_path: Path):
    (tmp_path / "in").mkdir()
    wb = Workbook()
    ws = wb.active
    r = header(ws)
    ws["B3"] = "=封面!C6"
    for b in HEADS:
        r, _ = write_table(ws, r + 1, b)
    tail(ws, r)
    wb.save(tmp_path / "in" / "f.xlsx")
    _, f = _one(tmp_path / "in" / "f.xlsx")
    assert (f.unit.value, f.unit.cell, f.unit.raw) == ("=封面!C6", "B3", "=封面!C6")
    fs = _findings(tmp_path)
    assert [(x["rule"], x["cell"], x["severity"]) for x in fs if x["rule"] in ("FML-002", "REQ-001")] == [
        ("FML-002", "B3", "warning")]
    assert "单元格是没有计算结果的公式" in next(x["message"] for x in fs if x["rule"] == "FML-002")


def test_budget_and_final_columns(tmp_path: Path):
    (tmp_path / "in").mkdir()
    cells = simple_form(tmp_path / "in" / "b.xlsx", measures=("预算数", "决算数"),
                        tables={"fixed_assets": {"measures": ("年初数", "年末数")}})
    r, f = _one(tmp_path / "in" / "b.xlsx")
    assert r.template == "budget_actual+renamed_labels"
    fin = _final(f, "income", "局机关").amounts["total"]
    assert (fin.value, fin.cell) == (Decimal("120.5"), cells["income"][("局机关", 0, "决算数")])
    bud = next(row for row in f.rows if row.block == "income" and row.org == "局机关" and row.measure == "budget")
    assert (bud.amounts["total"].value, bud.amounts["total"].cell) == (Decimal("241"), cells["income"][("局机关", 0, "预算数")])
    op = next(row for row in f.rows if row.block == "fixed_assets" and row.measure == "opening" and row.is_summary)
    assert op.amounts["total"].value == Decimal("900")
    fs = _findings(tmp_path)
    assert [x["rule"] for x in fs if x["severity"] == "error"] == []
    # 执行数 ÷ 预算数 = 50 %: one warning per org row on the final 支出合计
    exe = [(x["org"], x["cell"], x["actual"]) for x in fs if x["rule"] == "EXE-001"]
    assert exe == [("合计", cells["expenditure"][("合计", 0, "决算数")], "50.0%"),
                   ("局机关", cells["expenditure"][("局机关", 0, "决算数")], "50.0%"),
                   ("二级机构1", cells["expenditure"][("二级机构1", 0, "决算数")], "50.0%")]
    with open(tmp_path / "out" / "values.csv", encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0])[-1] == "measure"
    assert {r["measure"] for r in rows} == {"final", "budget", "opening"}
    assert sum(r["measure"] == "final" for r in rows) == 66


def test_budget_columns_are_checked_among_themselves(tmp_path: Path):
    (tmp_path / "in").mkdir()
    cells = simple_form(tmp_path / "in" / "b.xlsx", measures=("年初预算数", "调整预算数", "决算数"))
    from openpyxl import load_workbook

    wb = load_workbook(tmp_path / "in" / "b.xlsx")
    bad = cells["income"][("局机关", 0, "调整预算数")]
    wb.active[bad] = 999
    wb.save(tmp_path / "in" / "b.xlsx")
    fs = _findings(tmp_path)
    assert ("INC-001", bad) in [(x["rule"], x["cell"]) for x in fs if x["severity"] == "error"]
    final_cells = {v for (o, i, m), v in cells["income"].items() if m == "决算数"}
    assert not [x for x in fs if x["severity"] == "error" and x["cell"] in final_cells]


def test_form_over_several_sheets_is_one_unit(tmp_path: Path):
    (tmp_path / "in").mkdir()
    wb = Workbook()
    ws = wb.active
    ws.title = "表一"
    r = header(ws, unit="己局")
    for b in HEADS:
        r, _ = write_table(ws, r + 1, b)
    ws2 = wb.create_sheet("表二")
    ws2["A1"] = "部门（单位）整体支出绩效自评表（续表）"
    tail(ws2, 6, score="75", grade="优")
    ws3 = wb.create_sheet("报告")
    ws3["A1"], ws3["A2"] = "评价报告", "2022年，己局收入合计200.75万元，支出合计185.75万元。"
    wb.save(tmp_path / "in" / "split.xlsx")
    r, f = _one(tmp_path / "in" / "split.xlsx")
    assert (f.unit_name, f.sheet, f.joined, r.template) == ("己局", "表一", ["表二"], "renamed_labels+split_sheet")
    assert (f.score.cell, f.grade.cell, f.report.cell) == ("'表二'!D6", "'表二'!D7", "'报告'!A2")
    fs = _findings(tmp_path)
    assert [(x["rule"], x["cell"]) for x in fs if x["rule"] in ("GRD-001", "REQ-001", "BLK-001")] == [
        ("GRD-001", "'表二'!D7")]


def test_several_units_one_per_sheet_still_separate(tmp_path: Path):
    wb = Workbook()
    ws = wb.active
    ws.title = "甲"
    r = header(ws, unit="甲局")
    for b in HEADS:
        r, _ = write_table(ws, r + 1, b)
    ws2 = wb.create_sheet("乙")
    header(ws2, unit="乙局")   # a unit whose sheet has no tables stays a unit of its own
    wb.save(tmp_path / "m.xlsx")
    r = read_file(tmp_path / "m.xlsx", "m.xlsx")
    assert [x.unit_name for x in r.forms] == ["甲局", "乙局"]


def test_magnitude_one_warning_instead_of_a_cascade(tmp_path: Path):
    (tmp_path / "in").mkdir()
    simple_form(tmp_path / "in" / "m.xlsx", tables={"income": {"scale": 10000}})
    fs = _findings(tmp_path)
    assert [(x["rule"], x["block"], x["severity"]) for x in fs] == [("MAG-001", "income", "warning")]
    assert "收入表" in fs[0]["message"] and "元" in fs[0]["message"]


def test_template_fingerprint_standard(tmp_path: Path):
    from formkit import formgen as g
    from conftest import build

    build(tmp_path / "s.xlsx", g.Drift())
    r = read_file(tmp_path / "s.xlsx", "s.xlsx")
    assert r.template == "standard" and r.forms[0].template == "standard"
    assert [row.measure for row in r.forms[0].rows] == ["final"] * len(r.forms[0].rows)


def test_text_formula_without_result_joining_cells_is_evaluated(tmp_path: Path):
    (tmp_path / "in").mkdir()
    wb = Workbook()
    ws = wb.active
    ws.title = "自评表"
    r = header(ws)
    ws["B3"] = '=封面!C6&"（本级）"'
    for b in HEADS:
        r, _ = write_table(ws, r + 1, b)
    tail(ws, r)
    wb.create_sheet("封面")["C6"] = "庚局"
    wb.save(tmp_path / "in" / "f.xlsx")
    _, f = _one(tmp_path / "in" / "f.xlsx")
    assert (f.unit.value, f.unit.raw) == ("庚局（本级）", '=封面!C6&"（本级）"')
    assert [x["rule"] for x in _findings(tmp_path) if x["rule"] in ("FML-002", "REQ-001")] == ["FML-002"]


def test_table_without_side_title_ends_at_the_next_section(tmp_path: Path):
    (tmp_path / "in").mkdir()
    wb = Workbook()
    ws = wb.active
    r = header(ws)
    for b in HEADS:
        r, _ = write_table(ws, r + 1, b)
    ws.cell(r - 1, 2, "注：本表由财务股填报")
    ws.cell(r, 1, "单位负责人：赵一")
    ws.cell(r, 4, "填表人：王芳")
    ws.cell(r + 1, 2, "预期目标")
    ws.cell(r + 1, 5, "实际完成")
    ws.cell(r + 2, 2, "目标1：保障运转")
    ws.cell(r + 2, 5, "已完成")
    tail(ws, r + 4)
    wb.save(tmp_path / "in" / "t.xlsx")
    _, f = _one(tmp_path / "in" / "t.xlsx")
    assert [row.org for row in f.rows if row.block == "fixed_assets"] == ["合计", "局机关", "二级机构1"]
    assert [x["rule"] for x in _findings(tmp_path) if x["severity"] == "error"] == []


def test_continuation_sheet_known_by_its_sections(tmp_path: Path):
    wb = Workbook()
    ws = wb.active
    ws.title = "表一"
    r = header(ws, unit="辛局")
    for b in HEADS:
        r, _ = write_table(ws, r + 1, b)
    ws2 = wb.create_sheet("绩效指标完成情况表")
    ws2["A1"] = "整体支出绩效指标完成情况"
    tail(ws2, 3, score="91", grade="优秀")
    wb.save(tmp_path / "c.xlsx")
    r, f = _one(tmp_path / "c.xlsx")
    assert (f.score.value, f.grade.value, f.grade.cell) == (Decimal(91), "优秀", "'绩效指标完成情况表'!D4")
    assert f.joined == ["绩效指标完成情况表"]


def test_currency_sign():
    assert parse_amount("￥1,234.50") == (Decimal("1234.50"), "ok", "")
