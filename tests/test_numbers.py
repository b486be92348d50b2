"""Amounts as people type them, and the form's simple formulas."""
from __future__ import annotations

from decimal import Decimal

import pytest

from pipeline.read.formulas import evaluate
from pipeline.read.numbers import parse_amount


@pytest.mark.parametrize("raw,value,status,note", [
    (255.18, "255.18", "ok", ""),
    (20.0, "20", "ok", ""),
    ("1,234.50", "1234.50", "ok", ""),
    ("２５５．１８", "255.18", "ok", ""),
    (" 12.3 ", "12.3", "ok", ""),
    ("255.18万元", "255.18", "ok", ""),
    ("46.48(净值）", "46.48", "ok", "(净值)"),
    ("-3.5", "-3.5", "ok", ""),
    ("(12.5)", "-12.5", "ok", ""),
    ("123456元", "123456", "ok", "元"),
    ("待定", None, "text", ""),
    ("见附表", None, "text", ""),
    ("12%", None, "text", ""),
    ("12.3/45", None, "text", ""),
    (True, None, "text", ""),
    (None, None, "blank", ""),
    ("", None, "blank", ""),
    ("—", None, "blank", "mark"),
    ("，", None, "text", ""),       # only a separator: text (it once raised IndexError and lost the file)
    (" , ", None, "text", ""),
    ("¥", None, "text", ""),
])
def test_parse_amount(raw, value, status, note):
    v, s, n = parse_amount(raw)
    assert (None if v is None else str(v), s, n) == (value, status, note)


def _cells(values):
    def cv(rc, in_sum):
        v = values.get(rc)
        if v is None:
            return Decimal(0)
        return Decimal(v) if not isinstance(v, str) or v[0].isdigit() else (Decimal(0) if in_sum else None)
    return cv


@pytest.mark.parametrize("formula,expected", [
    ("=SUM(D15:H15)", "255.18"),
    ("=D15+E15+F15+G15+H15", "255.18"),
    ("=SUM(D15,E15:H15)", "255.18"),
    ("=E15-D15*2", "235.00"),
    ("=(D15+H15)/2", "10.03"),
    ("=SUM(D15:H15)-C14", "255.18"),
    ("=VLOOKUP(A1,B:C,2,0)", None),
    ("=Sheet2!A1", None),
    ("=D15+Z99", "0.06"),
    ("=D15+X1", None),
])
def test_simple_formulas(formula, expected):
    row = {(14, 3): "0.06", (14, 4): "235.12", (14, 5): "0", (14, 6): "0", (14, 7): "20", (0, 23): "abc"}
    v = evaluate(formula, _cells(row))
    assert (None if v is None else str(v)) == expected


def test_formula_chains_and_cycles_end_without_a_value():
    from pipeline.read.grid import Grid
    from pipeline.read.sheet import SheetView

    g = Grid("s")
    for i in range(5000):  # deeper than Python's recursion limit
        g.formulas[(i, 0)] = f"A{i + 2}+1"
    g.values[(5000, 0)] = 1.0
    g.formulas[(0, 1)] = "C1+1"
    g.formulas[(0, 2)] = "B1+1"  # a cycle
    sv = SheetView(g.finish())
    assert sv.number((0, 0))[:2] == (None, "formula")
    assert sv.number((4990, 0)) == (Decimal(11), "ok", "公式计算")
    assert sv.number((0, 1))[:2] == (None, "formula")


def test_a_lone_separator_in_an_amount_cell_is_a_finding_not_a_lost_file(tmp_path):
    from conftest import build
    from openpyxl import load_workbook

    from pipeline.run import run

    inbox = tmp_path / "in"
    inbox.mkdir()
    form = build(inbox / "a.xlsx", seed=3, writer="op")
    wb = load_workbook(inbox / "a.xlsx")
    ref = next(c for c in form.cells if c["block"] == "income" and c["field"] == "other" and not c.get("blank"))
    wb[ref["sheet"]][ref["cell"]] = "，"
    wb.save(inbox / "a.xlsx")
    report = run(inbox, tmp_path / "out", jobs=1, returns=False)
    assert [r.status for r in report.results] == ["accepted"]
    assert ("TXT-001", ref["cell"]) in {(f.rule, f.cell) for f in report.findings}
