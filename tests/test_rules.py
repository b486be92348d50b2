"""The rule pack on real workbooks: every planted discrepancy at its cell, no false alarm."""
from __future__ import annotations

from pathlib import Path

import pytest
from conftest import build, expected, fw, g

from pipeline.check import frames
from pipeline.read.parse import read_file
from pipeline.check.ruleset import RuleFileError, load_pack
from pipeline.check.validate import validate


def check(*paths: Path, tolerance: str | None = None, rules: str | None = None):
    forms = [f for p in paths for f in read_file(p, p.name).forms]
    return validate(frames.build(forms), load_pack(rules, tolerance))


def test_seed_unit_report_contradiction_is_caught(seed_path):
    fs = check(seed_path)
    nar = [f for f in fs if f.rule == "NAR-001"]
    assert len(nar) == 1
    f = nar[0]
    assert (f.severity, f.block, f.field, f.cell, f.expected, f.actual, f.diff, f.cells) == (
        "warning", "report", "income.total", "A71", "255.18", "255.12", "0.06", "C15")
    assert f.message == "评价报告写“收入合计255.12万元”，但表内收入合计为 255.18 万元（C15），相差 0.06 万元"
    assert not [x for x in fs if x.severity == "error"]
    assert sorted((x.rule, x.cell) for x in fs if x.rule == "SUM-002") == [
        ("SUM-002", "C13"), ("SUM-002", "C20"), ("SUM-002", "C26"), ("SUM-002", "C32")]


CLEAN = [g.Drift(), g.Drift(row_offset=3, col_offset=2, synonyms=True, shuffle=True),
         g.Drift(text_numbers=True, gap_rows=1), g.Drift(yuan_block="income"),
         g.Drift(report_sheet=True, cover=True)]


@pytest.mark.parametrize("i", range(len(CLEAN)))
def test_clean_forms_raise_nothing(tmp_path: Path, i: int):
    build(tmp_path / "c.xlsx", CLEAN[i], seed=100 + i, subs=3 + i)
    fs = check(tmp_path / "c.xlsx")
    assert [(f.rule, f.cell, f.message) for f in fs if f.severity != "info"] == []


def test_clean_openpyxl_formulas_raise_nothing(tmp_path: Path):
    build(tmp_path / "f.xlsx", g.Drift(formulas=True), writer="op")
    assert [f.message for f in check(tmp_path / "f.xlsx")] == []


KINDS = ["identity", "basic", "surplus", "rollup", "negative", "text", "score", "grade", "narrative",
         "staff", "three_public", "missing", "summary_blank"]
SEVERITY = {"INC-001": "error", "TPF-001": "error", "FA-001": "error", "EXP-002": "error",
            "EXP-003": "error", "SUM-001": "error", "NEG-001": "error", "TXT-001": "error",
            "SCO-001": "error", "GRD-001": "error", "NAR-001": "warning", "STF-001": "warning",
            "TPF-002": "warning", "REQ-001": "warning", "SUM-002": "warning"}


@pytest.mark.parametrize("kind", KINDS)
def test_planted_discrepancy_is_flagged_at_its_cell(tmp_path: Path, kind: str):
    form = build(tmp_path / "p.xlsx", seed=KINDS.index(kind), plants=[kind])
    fs = check(tmp_path / "p.xlsx")
    (want,) = expected(form)
    hits = [f for f in fs if f.rule == want["rule"] and f.cell == want["cell"]]
    assert hits, (want, [(f.rule, f.cell) for f in fs])
    assert hits[0].severity == SEVERITY[want["rule"]]
    if want["block"] not in ("unit", "report"):
        assert (hits[0].block, hits[0].field) == (want["block"], want["field"])
    if kind == "missing":
        assert hits[0].message == "未填写联系人"


def test_identity_message_names_cells_and_difference(tmp_path: Path):
    form = g.random_form(__import__("random").Random(3), "单位甲", subs=2)
    old = form.amounts["income"]["total"][0]
    form.cell_overrides[("income", 1, "total")] = old + g.D("0.06")
    fw.save_xlsxwriter(g.layout(form), tmp_path / "i.xlsx")
    fs = [f for f in check(tmp_path / "i.xlsx") if f.rule == "INC-001"]
    assert len(fs) == 1
    f = fs[0]
    assert (f.cell, f.cells, f.org, f.diff) == ("C14", "D14:H14", "1、局机关", "0.06")
    assert f.message == f"收入合计 C14 = {old + g.D('0.06'):,.2f} 万元，但分项之和 = {old:,.2f} 万元（D14:H14），相差 0.06 万元"


def test_rounding_within_tolerance_is_not_an_error(tmp_path: Path):
    import random

    form = g.random_form(random.Random(5), "单位乙", subs=2)
    old = form.amounts["income"]["total"][0]
    form.cell_overrides[("income", 1, "total")] = old + g.D("0.01")
    fw.save_xlsxwriter(g.layout(form), tmp_path / "t.xlsx")
    assert not [f for f in check(tmp_path / "t.xlsx") if f.rule == "INC-001"]
    strict = [f for f in check(tmp_path / "t.xlsx", tolerance="0.001") if f.rule == "INC-001"]
    assert [f.cell for f in strict] == ["C14"]


def test_exact_tolerance_is_decided_in_decimal(tmp_path: Path):
    """100.01 − 100.00 is 0.010000000000005116 in floats: the screen must not turn a difference
    of exactly the tolerance into an error, nor let 0.011 pass."""
    import random

    form = g.random_form(random.Random(6), "单位丙", subs=2)
    parts = ("carryover", "appropriation", "fund", "special_account", "other")
    for row, base, total in ((1, "100.00", "100.01"), (2, "8.20", "8.211")):
        for fld in parts:
            form.cell_overrides[("income", row, fld)] = g.D(base) if fld == "carryover" else g.D(0)
        form.cell_overrides[("income", row, "total")] = g.D(total)
    fw.save_xlsxwriter(g.layout(form), tmp_path / "t.xlsx")
    fs = [f for f in check(tmp_path / "t.xlsx") if f.rule == "INC-001"]
    assert [(f.actual, f.expected, f.diff) for f in fs] == [("8.211", "8.2", "0.011")]


def test_report_figures_of_another_year_or_of_a_change_are_not_compared(tmp_path: Path):
    from openpyxl import load_workbook

    build(tmp_path / "n.xlsx", seed=8, unit="单位丁", writer="op")
    wb = load_workbook(tmp_path / "n.xlsx")
    cell = next(c for row in wb["自评表"].iter_rows() for c in row
                if isinstance(c.value, str) and "收入合计" in c.value and len(c.value) > 60)
    told = cell.value
    cell.value = told + "2020年收入合计999万元，支出合计比上年增加7万元。"
    wb.save(tmp_path / "other.xlsx")
    assert not [f for f in check(tmp_path / "other.xlsx") if f.rule == "NAR-001"]
    cell.value = told + "2021年收入合计999万元。"   # the form's own year: compared, and wrong
    wb.save(tmp_path / "own.xlsx")
    nar = [f for f in check(tmp_path / "own.xlsx") if f.rule == "NAR-001"]
    assert [(f.field, f.actual) for f in nar] == [("income.total", "999")]


def test_same_unit_twice_names_the_first_file(tmp_path: Path):
    build(tmp_path / "a.xlsx", seed=1, unit="重复单位")
    build(tmp_path / "b.xlsx", seed=2, unit="重复单位")
    dup = [f for f in check(tmp_path / "a.xlsx", tmp_path / "b.xlsx") if f.rule == "DUP-001"]
    assert [(f.file, f.severity) for f in dup] == [("b.xlsx", "warning")]
    assert dup[0].message == "重复单位（2021年度）在本次汇总中已是第 2 份（第 1 份：a.xlsx）；请确认以哪一份为准"


def test_error_cells_and_hidden_rows_are_findings(tmp_path: Path):
    from openpyxl import load_workbook

    form = build(tmp_path / "e.xlsx", seed=4, writer="op")
    wb = load_workbook(tmp_path / "e.xlsx")
    ws = wb["自评表"]
    cell = next(c["cell"] for c in form.cells if c["block"] == "income" and c["field"] == "other" and c.get("row") == 1)
    ws[cell] = "#REF!"
    hidden_cell = next(c["cell"] for c in form.cells if c["block"] == "fixed_assets" and c.get("row") == 2)
    ws.row_dimensions[int(hidden_cell[1:])].hidden = True
    wb.save(tmp_path / "e.xlsx")
    fs = check(tmp_path / "e.xlsx")
    err = [f for f in fs if f.rule == "ERR-001"]
    assert [(f.cell, f.severity, f.actual) for f in err] == [(cell, "error", "#REF!")]
    hid = [f for f in fs if f.rule == "HID-001"]
    assert hid and {f.cell[1:] for f in hid} == {hidden_cell[1:]} and all(f.severity == "warning" for f in hid)


def test_disabled_rule_does_not_run_and_bad_pack_is_a_clear_error(tmp_path: Path, seed_path):
    pack = (Path(__file__).parent.parent / "pipeline" / "rules" / "rules.toml").read_text(encoding="utf-8")
    off = tmp_path / "off.toml"
    off.write_text(pack.replace('id = "NAR-001"', 'id = "NAR-001"\nenabled = false'), encoding="utf-8")
    assert not [f for f in check(seed_path, rules=str(off)) if f.rule == "NAR-001"]
    bad = tmp_path / "bad.toml"
    bad.write_text(pack.replace('income.total = income.carryover', 'income.totl = income.carryover'), encoding="utf-8")
    with pytest.raises(RuleFileError, match="INC-001.*公式或字段无法识别.*income.totl"):
        load_pack(bad)
    bad.write_text(pack.replace('severity = "error"', 'severity = "fatal"', 1), encoding="utf-8")
    with pytest.raises(RuleFileError, match="severity"):
        load_pack(bad)


def test_hidden_sheet_with_figures_is_a_warning(tmp_path: Path):
    from openpyxl import load_workbook

    build(tmp_path / "h.xlsx", seed=6, writer="op")
    wb = load_workbook(tmp_path / "h.xlsx")
    ws = wb.create_sheet("底稿")
    ws["A1"], ws["B1"] = "收入合计", 123.45
    ws.sheet_state = "hidden"
    wb.save(tmp_path / "h.xlsx")
    hid = [f for f in check(tmp_path / "h.xlsx") if f.rule == "HID-001"]
    assert len(hid) == 1 and hid[0].severity == "warning" and "隐藏的工作表“底稿”中有数字" in hid[0].message
