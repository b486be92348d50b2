"""The reader on real workbooks: the seed unit, and each layout drift with exact values and cells."""
from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from conftest import build, fw, g, needs_soffice, norm_truth, read_values

from pipeline.read.parse import read_file


def test_seed_unit_facts_and_amounts(seed_path):
    r = read_file(seed_path, "seed.xlsx")
    assert r.status == "accepted" and len(r.forms) == 1
    f = r.forms[0]
    assert (f.unit.value, f.unit.cell) == ("岳阳市城市管理和综合执法局湖南城陵矶新港区分局", "B3")
    assert (f.year.value, f.year.cell) == ("2021", "A2")
    assert (f.contact.value, f.contact.cell) == ("禹荣", "B5")
    assert (f.phone.value, f.phone.cell) == ("13575009809", "E5")
    assert (f.staff_quota.value, f.staff_actual.value) == (Decimal(22), Decimal(20))
    assert (f.score.value, f.score.cell) == (Decimal(96), "D58")
    assert (f.grade.value, f.grade.cell) == ("优", "D59")
    assert f.filler.value == "禹荣"
    assert f.report.cell == "A71" and "收入合计255.12万元" in f.report.value
    assert len(f.goals) == 1 and len(f.indicators) == 18 and len(f.evaluators) == 4
    assert f.indicators[0]["category"] == "产出目标" and f.indicators[0]["type"] == "质量指标"
    assert f.indicators[-1]["type"] == "社会公众或服务对象满意度"
    assert f.block_cells == {"income": "B11", "expenditure": "B17", "three_public": "B24", "fixed_assets": "B30"}
    rows = {(row.block, row.org): row for row in f.rows}
    assert [row.org for row in f.rows if row.block == "income"] == [
        "局机关及二级机构汇总", "1、局机关", "2、二级机构1", "3、二级机构2"]
    inc = rows[("income", "2、二级机构1")].amounts
    assert {k: (str(a.value), a.cell) for k, a in inc.items()} == {
        "total": ("255.18", "C15"), "carryover": ("0.06", "D15"), "appropriation": ("235.12", "E15"),
        "fund": ("0", "F15"), "special_account": ("0", "G15"), "other": ("20", "H15")}
    exp = rows[("expenditure", "2、二级机构1")].amounts
    assert [(str(exp[k].value), exp[k].cell) for k in ("total", "basic", "personnel", "public", "project",
                                                       "surplus_current", "surplus_cumulative")] == [
        ("242.93", "C22"), ("197.47", "D22"), ("172.33", "E22"), ("25.14", "F22"), ("45.46", "G22"),
        ("12.19", "H22"), ("12.25", "I22")]
    fa = rows[("fixed_assets", "2、二级机构1")].amounts["in_use"]
    assert (fa.value, fa.cell, fa.raw, fa.note) == (Decimal("46.48"), "D34", "46.48(净值）", "(净值)")
    summary = rows[("income", "局机关及二级机构汇总")]
    assert summary.is_summary and all(a.status == "blank" for a in summary.amounts.values())


DRIFTS = {
    "template": g.Drift(),
    "shifted": g.Drift(row_offset=4, col_offset=2),
    "gaps": g.Drift(gap_rows=2),
    "synonyms": g.Drift(synonyms=True),
    "shuffled": g.Drift(shuffle=True, synonyms=True),
    "text_numbers": g.Drift(text_numbers=True),
    "cover_and_report_sheet": g.Drift(cover=True, report_sheet=True, sheet_name="Sheet1"),
    "summary_blank": g.Drift(summary_blank=True),
    "blank_row_in_table": g.Drift(blank_row=True, gap_rows=1),
    "title_rows_flat_headers": g.Drift(title_row=True, flat_header=True, spaced_labels=True),
    "blank_row_formulas": g.Drift(blank_row=True, formulas=True),
    "everything": g.Drift(row_offset=2, col_offset=1, gap_rows=1, synonyms=True, shuffle=True,
                          text_numbers=True, cover=True),
}


@pytest.mark.parametrize("name", sorted(DRIFTS))
def test_drift_reads_every_amount_at_its_cell(tmp_path: Path, name: str):
    form = build(tmp_path / f"{name}.xlsx", DRIFTS[name], seed=hash(name) % 1000, subs=4)
    r = read_file(tmp_path / f"{name}.xlsx", f"{name}.xlsx")
    assert r.status == "accepted", r.error
    assert read_values(r) == norm_truth(form)
    assert r.forms[0].unit.value == "测试单位" and r.forms[0].year.value == "2021"


def test_extra_sub_units_are_all_read(tmp_path: Path):
    form = build(tmp_path / "many.xlsx", subs=9)
    r = read_file(tmp_path / "many.xlsx", "many.xlsx")
    orgs = [row.org for row in r.forms[0].rows if row.block == "income"]
    assert len(orgs) == 10 and orgs[-1] == "9、二级机构8"
    assert read_values(r) == norm_truth(form)


def test_yuan_table_is_converted_and_recorded(tmp_path: Path):
    form = build(tmp_path / "yuan.xlsx", g.Drift(yuan_block="expenditure"))
    r = read_file(tmp_path / "yuan.xlsx", "yuan.xlsx")
    assert read_values(r) == norm_truth(form)
    issues = [i for i in r.forms[0].issues if i.code == "YUAN_CONVERTED"]
    assert len(issues) == 1 and issues[0].block == "expenditure" and "（元）" in issues[0].raw
    one = next(a for row in r.forms[0].rows if row.block == "expenditure" and not row.is_summary
               for a in row.amounts.values())
    assert one.note.startswith("元→万元")


def test_formulas_without_cached_values_are_computed(tmp_path: Path):
    form = build(tmp_path / "f.xlsx", g.Drift(formulas=True), writer="op")
    r = read_file(tmp_path / "f.xlsx", "f.xlsx")
    assert read_values(r) == norm_truth(form)
    total = next(row for row in r.forms[0].rows if row.block == "income" and row.is_summary).amounts["total"]
    assert total.raw.startswith("=SUM(") and total.note == "公式计算"


def test_xlsxwriter_cached_zero_is_not_trusted(tmp_path: Path):
    """XlsxWriter stores 0 as every formula's value and asks for recalculation on load."""
    form = build(tmp_path / "xw.xlsx", g.Drift(formulas=True), writer="xw")
    r = read_file(tmp_path / "xw.xlsx", "xw.xlsx")
    assert r.full_calc
    assert read_values(r) == norm_truth(form)


def test_several_units_in_one_workbook(tmp_path: Path):
    import random

    forms = []
    sheets = []
    for i, unit in enumerate(["甲单位", "乙单位", "丙单位"]):
        f = g.random_form(random.Random(i), unit, subs=2)
        f.drift = g.Drift(sheet_name=f"表{i + 1}")
        forms.append(f)
        sheets += g.layout(f, random.Random(i))
    fw.save_xlsxwriter(sheets, tmp_path / "multi.xlsx")
    r = read_file(tmp_path / "multi.xlsx", "multi.xlsx")
    assert [(x.sheet, x.unit_name) for x in r.forms] == [("表1", "甲单位"), ("表2", "乙单位"), ("表3", "丙单位")]


def test_report_on_its_own_sheet_belongs_to_the_form(tmp_path: Path):
    build(tmp_path / "r.xlsx", g.Drift(report_sheet=True, cover=True))
    r = read_file(tmp_path / "r.xlsx", "r.xlsx")
    assert len(r.forms) == 1 and r.forms[0].report.cell == "'评价报告'!A2"
    assert "收入合计" in r.forms[0].report.value


def test_workbook_without_form_is_rejected(tmp_path: Path):
    from openpyxl import Workbook

    wb = Workbook()
    wb.active["A1"] = "通知：请各单位于3月底前报送"
    wb.save(tmp_path / "notice.xlsx")
    r = read_file(tmp_path / "notice.xlsx", "notice.xlsx")
    assert (r.status, r.code) == ("rejected", "NO_FORM")
    assert "没有找到自评表" in r.error


@needs_soffice
@pytest.mark.parametrize("fmt", ["xls", "ods"])
def test_libreoffice_formats_read_like_xlsx(tmp_path: Path, fmt: str):
    src = tmp_path / f"src_{fmt}.xlsx"
    form = build(src, g.Drift(row_offset=1, col_offset=1, synonyms=True), seed=11)
    fw.convert([src], fmt, tmp_path)
    r = read_file(tmp_path / f"src_{fmt}.{fmt}", f"x.{fmt}")
    assert r.status == "accepted" and r.source_format == fmt
    assert read_values(r) == norm_truth(form)
    f = r.forms[0]
    assert f.score is not None and f.grade is not None and f.contact.value == form.contact
