"""The generator's quirks of real submissions (formkit add_quirks), alone and combined: every amount
at its cell with its measure, unit name and year right, planted discrepancies flagged."""
from __future__ import annotations

import random
from pathlib import Path

import pytest
from conftest import fw, g, needs_soffice
from formkit.formplant import expected, plant

from pipeline.read.labels import strip_enum
from pipeline.read.parse import read_file
from pipeline.read.records import fmt


def _key(block, org, field, measure, summary):
    return block, "汇总" if summary else strip_enum(org), field, measure


def got(result):
    out = {}
    for form in result.forms:
        for row in form.rows:
            for fld, a in row.amounts.items():
                if a.status != "blank" or a.raw:
                    out[_key(row.block, row.org, fld, row.measure, row.is_summary)] = (
                        fmt(a.value) if a.value is not None else None, a.cell)
    return out


def truth(form):
    return {_key(c["block"], c["org"], c["field"], c.get("measure", "final"), c["row"] == 0): (c["value"], c["cell"])
            for c in form.cells if c["block"] not in ("unit", "report") and not c.get("blank")}


def make(path: Path, drift: g.Drift, seed: int = 5, plants=(), negatives=False) -> g.Form:
    rng = random.Random(seed)
    form = g.random_form(rng, "某某县教育局", subs=3)
    form.drift = drift
    if negatives:
        g.make_negative(form)
    for kind in plants:
        plant(form, kind, rng)
    fw.save_xlsxwriter(g.layout(form, random.Random(seed + 1)), path)
    return form


QUIRKS = {
    "inline_unit": g.Drift(inline_unit=True),
    "year_cn": g.Drift(year_style="cn"),
    "year_spaced": g.Drift(year_style="spaced"),
    "year_plain": g.Drift(year_style="plain"),
    "year_title": g.Drift(year_style="title"),
    "unit_form": g.Drift(unit_decl="form"),
    "unit_corner": g.Drift(unit_decl="corner", yuan_block="three_public"),
    "neg_paren": g.Drift(negatives="paren"),
    "neg_fullparen": g.Drift(negatives="fullparen"),
    "neg_delta": g.Drift(negatives="delta"),
    "neg_fullminus": g.Drift(negatives="fullminus"),
    "subtotal_bottom": g.Drift(summary_label="小计", summary_bottom=True),
    "total_bottom": g.Drift(summary_label="总计", summary_bottom=True),
    "hj_top": g.Drift(summary_label="合计"),
    "score_fen": g.Drift(score_style="fen"),
    "grade_with_score": g.Drift(score_style="grade_with_score"),
    "long_grade": g.Drift(score_style="long_grade"),
    "budget_final": g.Drift(measures=("预算数", "决算数")),
    "three_budgets": g.Drift(measures=("年初预算数", "调整预算数", "决算数")),
    "budget_exec": g.Drift(measures=("预算数", "执行数"), summary_label="汇总", summary_bottom=True),
    "split_sheet": g.Drift(split_sheet=True, report_sheet=True),
    "everything": g.Drift(inline_unit=True, year_style="cn", unit_decl="form", negatives="delta",
                          summary_label="小计", summary_bottom=True, score_style="grade_with_score",
                          measures=("预算数", "决算数"), split_sheet=True, report_sheet=True, synonyms=True,
                          row_offset=2, col_offset=1, shuffle=True),
}


@pytest.mark.parametrize("name", sorted(QUIRKS))
def test_quirk_reads_every_amount_unit_and_year(tmp_path: Path, name: str):
    d = QUIRKS[name]
    form = make(tmp_path / f"{name}.xlsx", d, seed=len(name), negatives=bool(d.negatives))
    r = read_file(tmp_path / f"{name}.xlsx", f"{name}.xlsx")
    assert r.status == "accepted" and len(r.forms) == 1, r.error
    f = r.forms[0]
    assert got(r) == truth(form)
    assert (f.unit_name, f.year_value) == ("某某县教育局", "2021")
    assert f.score is not None and f.score.value == form.score
    assert f.report is not None
    if d.measures:
        assert "budget_actual" in r.template
    if d.split_sheet:
        assert "split_sheet" in r.template and f.grade.cell.startswith("'表二'!")


@pytest.mark.parametrize("kind", ["identity", "rollup", "grade", "surplus", "narrative", "text"])
def test_planted_discrepancies_on_quirky_forms(tmp_path: Path, kind: str):
    from pipeline.run import run
    import csv

    inbox = tmp_path / "in"
    inbox.mkdir()
    form = make(inbox / "q.xlsx", QUIRKS["everything"], seed=11, plants=[kind], negatives=True)
    run(inbox, tmp_path / "out", returns=False)
    with open(tmp_path / "out" / "findings.csv", encoding="utf-8-sig", newline="") as fh:
        fs = list(csv.DictReader(fh))
    for p in expected(form):
        assert (p["rule"], p["cell"]) in {(x["rule"], x["cell"]) for x in fs}
    # the budget columns were left consistent: no error on them (a plant touches the final figure)
    budget = {c["cell"] for c in form.cells if c.get("measure")}
    assert not [x for x in fs if x["severity"] == "error" and x["cell"] in budget]


@needs_soffice
def test_quirks_survive_libreoffice(tmp_path: Path):
    src = tmp_path / "src.xlsx"
    d = g.Drift(inline_unit=True, year_style="spaced", negatives="fullparen", summary_label="合计",
                summary_bottom=True, measures=("预算数", "决算数"), split_sheet=True, report_sheet=True)
    form = make(src, d, seed=3, negatives=True)
    fw.convert([src], "ods", tmp_path)
    r = read_file(tmp_path / "src.ods", "src.ods")
    assert got(r) == truth(form)
    assert (r.forms[0].unit_name, r.forms[0].year_value) == ("某某县教育局", "2021")
