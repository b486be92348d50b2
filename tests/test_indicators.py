"""The indicator rules (IND-001..005): targets met or not, counts told twice, 分值/得分 — on real
workbooks built per test, on the seed unit's form through the CLI, and on a generated set."""
from __future__ import annotations

import csv
import random
import shutil
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook
from typer.testing import CliRunner

sys.path.insert(0, str(Path(__file__).parent))

import indicator_forms  # noqa: E402
from pipeline.check import frames  # noqa: E402
from pipeline.check.quantities import quantities, told  # noqa: E402
from pipeline.check.ruleset import RuleFileError, load_pack  # noqa: E402
from pipeline.check.validate import validate  # noqa: E402
from pipeline.cli import app  # noqa: E402
from pipeline.read.parse import read_file  # noqa: E402
from pipeline.read.records import fmt, pack  # noqa: E402

RULES = Path(__file__).parent.parent / "pipeline" / "rules" / "rules.toml"
SEED_IND = [
    ("IND-002", "F38", "投诉", "定性目标完成情况 F38 写“累计受理市长信箱、12345市长热线、12319、智慧城管等城管领域投诉172起”，"
     "而定量指标完成情况、评价报告 G50、A71 写“累计受理市长信箱、12345市长热线、12319、智慧城管等城管领域投诉403起”："
     "投诉的数字前后不一致（投诉172起 与 投诉403起）"),
    ("IND-001", "G45", "亮灯率", "指标“亮灯率”完成情况 G45 写“确保亮灯率达95%以上”，未达到绩效目标 D41“亮灯率：功能照明≥96%”"
     "（目标 ≥96%，完成 95%以上）"),
]


def form(path: Path, rows, *, goals_done: str = "目标1完成情况：已完成。", work: str = "", report: str = "",
         score=95, points: bool = False) -> Path:
    """A form with the reader's labels: 年度主要工作内容 B3, 实际完成 D6, the indicator rows from
    row 9 (B category, C kind, D 绩效目标, E 完成情况, F 分值, G 得分), the score after them
    (B), the report in A under 五、评价报告综述."""
    wb = Workbook()
    ws = wb.active
    ws.title = "自评表"
    ws["A1"] = "2021年度部门（单位）整体支出绩效自评表"
    ws["A2"], ws["B2"] = "填报单位", "测试局"
    ws["A3"], ws["B3"] = "年度主要工作内容", work or "一、做好日常工作。"
    ws["A5"], ws["B5"], ws["D5"] = "整体支出绩效定性目标及实施计划完成情况", "预期目标", "实际完成"
    ws["B6"], ws["D6"] = "目标1：完成年度工作。", goals_done
    ws["A8"], ws["B8"], ws["D8"], ws["E8"] = "整体支出绩效定量目标及实施计划完成情况", "评价内容", "绩效目标", "完成情况"
    if points:
        ws["F8"], ws["G8"] = "分值", "得分"
    r = 9
    for row in rows:
        for col, v in zip("BCDEFG", ("产出目标", "质量指标", *row) if len(row) <= 4 else row):
            ws[f"{col}{r}"] = v
        r += 1
    ws[f"A{r}"], ws[f"B{r}"] = "绩效自评综合得分", score
    ws[f"A{r + 1}"], ws[f"B{r + 1}"] = "评价等次", "优"
    ws[f"A{r + 3}"] = "五、评价报告综述"
    ws[f"A{r + 4}"] = report or "本单位各项工作有序开展。"
    wb.save(path)
    return path


def ind_findings(path: Path, rules=None):
    res = read_file(path, path.name)
    fs = validate(frames.build([pack(f) for f in res.forms]), rules or load_pack())
    return [(f.rule, f.cell, f.field, f.message) for f in fs if f.rule.startswith("IND-")]


# ---------------------------------------------------------------- reading figures

def test_figures_are_read_with_their_comparison_and_unit():
    from pipeline.check.ruleset import load_pack as lp
    v = lp().vocab
    got = [(fmt(q.value), q.unit, q.cmp, q.more, q.names, q.written)
           for q in quantities("1、亮灯率：功能照明≥96%；3、运行故障率：≤0.5%；满意率达90%以上；发放渣土运输证1.3万余台次", v)]
    assert got == [("96", "%", ">=", False, ("亮灯率",), "≥96%"), ("0.5", "%", "<=", False, ("运行故障率",), "≤0.5%"),
                   ("90", "%", ">=", False, ("满意率",), "90%以上"), ("13000", "台次", "", True, (), "1.3万余台次")]
    assert [(str(q.value), q.cmp) for q in quantities("控制在0.5%以内，不低于95%，不超过3次", v)] == \
        [("0.5", "<="), ("95", ">="), ("3", "<=")]
    # a change, an average, an ordinal, another year: no figure
    assert quantities("满意率较上年提高2%；平均每周接待2次；第3次检查；2020年完成率80%", v, "2021") == []


def test_told_figures_are_ranges():
    v = load_pack().vocab
    got = [(s.noun, s.measure, str(s.lo), str(s.hi), s.hi_open) for s in
           told("受理投诉403起，接待各级领导视察来访120余次，完成3667个行道树窝补绿，审批事项约50件，考核300次以上", v)]
    assert got == [("投诉", "起", "403", "403", False), ("接待", "次", "120", "130", True),
                   ("行道树窝补绿", "个", "3667", "3667", False), ("审批事项", "件", "45.0", "55.0", False),
                   ("考核", "次", "300", "Infinity", False)]


# ---------------------------------------------------------------- IND-001

@pytest.mark.parametrize("target, result, finding", [
    ("亮灯率≥96%", "亮灯率95%", ("亮灯率", "≥96%", "95%")),
    ("≥96%", "96%", None),
    ("设施完好率：≥98%", "设施完好率达97.5%", ("设施完好率", "≥98%", "97.5%")),
    ("运行故障率：≤0.5%", "运行故障率0.6%", ("运行故障率", "≤0.5%", "0.6%")),
    ("运行故障率：≤0.5%", "运行故障率0.3%", None),
    ("故障率0.5%", "故障率0.3%", None),                      # lower is better: a bare target is a ceiling
    ("满意率达90%以上", "满意率达94%以上", None),
    ("满意率达90%以上", "满意率达88%", ("满意率", "90%以上", "88%")),
    ("报修及时率不低于95%", "报修及时率90%", ("报修及时率", "不低于95%", "90%")),
    ("投诉率控制在1%以内", "投诉率1.5%", ("投诉率", "控制在1%以内", "1.5%")),
    ("100%", "98%", ("质量指标", "100%", "98%")),
    ("全年开展业务培训不少于12次", "全年开展业务培训10次", ("业务培训", "不少于12次", "10次")),
    ("更换老化电缆300余米", "更换老化电缆300米", None),
    ("发放渣土运输证1.3万台次", "发放渣土运输证1.3万余台次", None),
    ("亮灯率≥96%", "均达到预期管理要求", None),                # text completions are not figures
    ("亮灯率≥96%", "亮灯率较上年提高2%", None),                # a change, not the level
])
def test_completion_against_its_target(tmp_path: Path, target, result, finding):
    got = ind_findings(form(tmp_path / "f.xlsx", [(target, result)]))
    if finding is None:
        assert got == []
        return
    name, exp, act = finding
    msg = f"指标“{name}”完成情况 E9 写“{result}”，未达到绩效目标 D9“{target}”（目标 {exp}，完成 {act}）"
    assert got == [("IND-001", "E9", name, msg)]


def test_a_rate_named_in_another_rows_target(tmp_path: Path):
    rows = [("1、亮灯率：功能照明≥96%；2、设施完好率：≥98%", "均达到预期管理要求"),
            ("对路灯进行及时维护，提高亮灯率。", "确保亮灯率达95%以上"),
            ("满意率达90%以上", "满意率达94%以上")]
    assert ind_findings(form(tmp_path / "f.xlsx", rows)) == [
        ("IND-001", "E10", "亮灯率", "指标“亮灯率”完成情况 E10 写“确保亮灯率达95%以上”，未达到绩效目标 D9"
         "“亮灯率：功能照明≥96%”（目标 ≥96%，完成 95%以上）")]
    rows[1] = ("对路灯进行及时维护，提高亮灯率。", "确保亮灯率达96%以上")
    assert ind_findings(form(tmp_path / "g.xlsx", rows)) == []


# ---------------------------------------------------------------- IND-002

def test_a_count_told_twice(tmp_path: Path):
    p = form(tmp_path / "f.xlsx", [("及时受理信访投诉", "累计受理城管领域投诉403起，回复率100%。")],
             goals_done="目标1完成情况：累计受理城管领域投诉172起。",
             report="五、信访投诉及时处置。累计受理城管领域投诉403起，回复率和处置率均达到100%。")
    assert ind_findings(p) == [
        ("IND-002", "D6", "投诉", "定性目标完成情况 D6 写“累计受理城管领域投诉172起”，而定量指标完成情况、评价报告 E9、A14 "
         "写“累计受理城管领域投诉403起”：投诉的数字前后不一致（投诉172起 与 投诉403起）")]


def test_a_tie_is_flagged_on_the_less_trusted_place(tmp_path: Path):
    p = form(tmp_path / "f.xlsx", [("依法办理行政审批事项", "全年共受理行政审批事项90件。")],
             report="全年，共办理行政审批事项70余件，整理审批档案130余卷。")
    assert [f[:3] for f in ind_findings(p)] == [("IND-002", "A14", "审批事项")]


@pytest.mark.parametrize("goal, report", [
    ("共接待各级领导视察来访120余次", "共接待各级领导视察来访120次"),        # 余 widens
    ("共接待各级领导视察来访约120次", "共接待各级领导视察来访115次"),        # 约 widens
    ("受理行政审批事项70余件", "受理行政审批事项75件"),
    ("开展日常考核300次，错时考核80次", "日常考核300次，错时考核80次，专项考核60次，定时考核60次"),
    ("开展专项考核60次", "开展日常考核300次"),                               # different kinds of 考核
    ("受理投诉403起", "2020年受理投诉350起"),                                # another year
    ("受理投诉403起", "投诉量比上年减少20起"),                               # a change
    ("平均每周接待视察来访2次以上", "共接待视察来访120余次"),                 # a rate per week
    ("完成3667个行道树窝补绿", "完成了3667个行道树窝补绿、1287盏路灯景观灯建设"),
])
def test_consistent_counts_give_nothing(tmp_path: Path, goal, report):
    p = form(tmp_path / "f.xlsx", [("满意率达90%以上", "满意率达94%以上")],
             goals_done=f"目标1完成情况：{goal}。", report=report + "。")
    assert ind_findings(p) == []


def test_figures_told_apart_by_the_words_before_the_noun(tmp_path: Path):
    p = form(tmp_path / "f.xlsx", [("开展各类考核", "全年累计开展日常考核260次，错时考核80次，专项考核60次。")],
             report="今年来，累计开展日常考核300次，错时考核80次，专项考核60次。")
    assert [f[:3] for f in ind_findings(p)] == [("IND-002", "A14", "考核")]


# ---------------------------------------------------------------- IND-003..005

def _scored(tmp_path: Path, pts, score, result="亮灯率97%"):
    rows = [("产出目标", "质量指标", "亮灯率≥96%", result, 40, pts[0]),
            ("产出目标", "数量指标", "开展培训不少于4次", "开展培训4次", 30, pts[1]),
            ("效益目标", "满意度", "满意率达90%以上", "满意率达94%以上", 30, pts[2])]
    return ind_findings(form(tmp_path / "f.xlsx", rows, score=score, points=True))


def test_points_that_add_up_and_stay_within_their_weights_give_nothing(tmp_path: Path):
    assert _scored(tmp_path, (38, 30, 28), 96) == []


def test_points_sum_against_the_score(tmp_path: Path):
    assert _scored(tmp_path, (38, 30, 28), 98) == [
        ("IND-003", "B12", "score", "绩效自评综合得分 B12 = 98，但 3 项指标得分之和 = 96（G9、G10、G11），相差 2")]


def test_points_above_the_weight(tmp_path: Path):
    got = _scored(tmp_path, (38, 33, 28), 99)
    assert got == [("IND-004", "G10", "数量指标", "指标“数量指标”得分 G10 = 33，应在 0–30 之间（分值 F10）")]


def test_full_points_on_a_missed_target(tmp_path: Path):
    got = _scored(tmp_path, (40, 30, 28), 98, result="亮灯率95%")
    assert got == [
        ("IND-001", "E9", "亮灯率", "指标“亮灯率”完成情况 E9 写“亮灯率95%”，未达到绩效目标 D9“亮灯率≥96%”（目标 ≥96%，完成 95%）"),
        ("IND-005", "G9", "质量指标", "指标“质量指标”得满分 40（G9），但完成情况 E9“亮灯率95%”未达到绩效目标 D9“亮灯率≥96%”")]


# ---------------------------------------------------------------- the rule pack

def test_rules_are_data(tmp_path: Path):
    p = form(tmp_path / "f.xlsx", [("亮灯率≥96%", "亮灯率95%")],
             goals_done="目标1完成情况：受理投诉172起。", report="受理投诉403起。")
    assert [f[:2] for f in ind_findings(p)] == [("IND-001", "E9"), ("IND-002", "A14")]   # a tie: the report
    text = RULES.read_text(encoding="utf-8")
    off = tmp_path / "rules.toml"
    off.write_text(text.replace('check = "target"\n', 'check = "target"\nenabled = false\n'), encoding="utf-8")
    assert [f[0] for f in ind_findings(p, load_pack(off))] == ["IND-002"]
    fewer = tmp_path / "nouns.toml"
    fewer.write_text(text.replace('"投诉" = ["起", "件", "次", "宗", "条"]\n', ""), encoding="utf-8")
    assert [f[0] for f in ind_findings(p, load_pack(fewer))] == ["IND-001"]
    bad = tmp_path / "bad.toml"
    bad.write_text(text.replace('check = "repeat"', 'check = "again"'), encoding="utf-8")
    with pytest.raises(RuleFileError, match="IND-002.*check 应为"):
        load_pack(bad)
    bad.write_text(text.replace('approx_tolerance = "0.1"', 'approx_tolerance = "很多"'), encoding="utf-8")
    with pytest.raises(RuleFileError, match=r"\[indicators\]"):
        load_pack(bad)


# ---------------------------------------------------------------- the seed unit, end to end

def test_the_seed_unit_gives_exactly_its_two_through_the_cli(tmp_path: Path, seed_path):
    inbox, out = tmp_path / "in", tmp_path / "out"
    inbox.mkdir()
    shutil.copy(seed_path, inbox / "seed.xlsx")
    r = CliRunner().invoke(app, ["run", str(inbox), "--out", str(out)])
    assert r.exit_code == 0, r.output
    with open(out / "findings.csv", encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    ind = [(x["rule"], x["cell"], x["field"], x["message"]) for x in rows if x["rule"].startswith("IND-")]
    assert ind == SEED_IND
    assert [(x["severity"], x["block"], x["cells"]) for x in rows if x["rule"].startswith("IND-")] == \
        [("warning", "goals", "G50、A71"), ("warning", "indicator", "D41")]
    # beyond what the pack without these rules gives: exactly these two
    off = tmp_path / "rules.toml"
    off.write_text(RULES.read_text(encoding="utf-8").replace('kind = "indicator"\n', 'kind = "indicator"\nenabled = false\n'),
                   encoding="utf-8")
    r2 = CliRunner().invoke(app, ["run", str(inbox), "--out", str(tmp_path / "out2"), "--rules", str(off)])
    assert r2.exit_code == 0, r2.output
    with open(tmp_path / "out2" / "findings.csv", encoding="utf-8-sig", newline="") as fh:
        before = list(csv.DictReader(fh))
    assert len(rows) - len(before) == 2 and not any(x["rule"].startswith("IND-") for x in before)
    # 问题清单 of the summary and the returned copy carry them like every other finding
    sheet = load_workbook(out / "summary.xlsx", read_only=True)["问题清单"]
    texts = {str(c) for row in sheet.iter_rows(values_only=True) for c in row if c is not None}
    assert SEED_IND[0][3] in texts and SEED_IND[1][3] in texts
    back = load_workbook(out / "returns" / "seed.xlsx")
    listed = {str(c) for row in back["问题清单"].iter_rows(values_only=True) for c in row if c is not None}
    assert SEED_IND[0][3] in listed and SEED_IND[1][3] in listed
    form_sheet = back["自评表"]
    assert SEED_IND[0][3] in form_sheet["F38"].comment.text
    assert SEED_IND[1][3] in form_sheet["G45"].comment.text


# ---------------------------------------------------------------- a generated set

def test_planted_and_consistent_forms(tmp_path: Path):
    sys.path.insert(0, str(Path(__file__).parent.parent / "scripts"))
    from indicators_eval import score

    rng = random.Random(20261201)
    rules = load_pack()
    items = []
    for i in range(24):
        b = indicator_forms.build(tmp_path / f"f{i}.xlsx", rng, "HELD" if i % 2 else "DEV",
                                  shortfalls=i % 3, cross_row=i % 4 == 1, contradictions=i % 3 == 2,
                                  scores=i % 2 == 0, score_errors=1 if i % 6 == 0 else 0)
        got = {(r, c, f) for r, c, f, _ in ind_findings(b.path, rules)}
        items.append((b.path.name, b.planted, got))
    s = score(items)
    assert s["planted"] > 30 and s["consistent_forms"] >= 2
    assert s["recall"] >= 0.9 and s["precision"] >= 0.9 and s["consistent_with_findings"] == 0



@pytest.mark.parametrize("target, result", [
    ("满意率≥90%", "群众满意率95%、企业满意率88%"),        # the figure named exactly answers the target
    ("≥95%", "亮灯率97%，故障率0.3%"),                      # two figures, an unnamed target: not compared
    ("运行故障率：≤0.5%", "报修及时率达到100%"),             # another measure
    ("完成3个项目", "完成了3个项目中的2个"),
    ("完成3个项目", "完成2个试点"),                          # another thing counted
    ("全年开展业务培训不少于12次", "开展安全检查10次"),
    ("90%-95%", "93%"),
])
def test_completions_not_matched_with_the_target_give_nothing(tmp_path: Path, target, result):
    assert ind_findings(form(tmp_path / "f.xlsx", [(target, result)])) == []


def test_part_of_the_year_is_not_the_year(tmp_path: Path):
    p = form(tmp_path / "f.xlsx", [("及时受理信访投诉", "全年累计受理城管领域投诉403起。")],
             goals_done="目标1完成情况：上半年受理城管领域投诉200起。", report="截至6月底受理城管领域投诉180起。")
    assert ind_findings(p) == []
    q = form(tmp_path / "g.xlsx", [("准确率不小于90%", "截至年底准确率为89%")])   # the year's end is the year
    assert [f[:2] for f in ind_findings(q)] == [("IND-001", "E9")]
    p = form(tmp_path / "h.xlsx", [("及时受理信访投诉", "全年累计受理城管领域投诉403起。")],
             goals_done="目标1完成情况：受理城管领域投诉403起。", report="1-10月受理城管领域投诉380起。")
    assert ind_findings(p) == []


def test_a_subtotal_row_is_not_counted_twice(tmp_path: Path):
    rows = [("产出目标", "质量指标", "亮灯率≥96%", "亮灯率97%", 40, 38),
            ("产出目标", "小计", "", "", 40, 38),
            ("效益目标", "满意度", "满意率达90%以上", "满意率达94%以上", 60, 58)]
    assert ind_findings(form(tmp_path / "f.xlsx", rows, score=96, points=True)) == []


def test_full_width_figures_read_as_typed(tmp_path: Path):
    p = form(tmp_path / "f.xlsx", [("亮灯率：＞＝９６％", "亮灯率９５．５％")],
             goals_done="目标1完成情况：受理城管领域投诉１７２起。", report="受理城管领域投诉４０３起，发放宣传资料１．５万余份。")
    assert [f[:3] for f in ind_findings(p)] == [("IND-001", "E9", "亮灯率"), ("IND-002", "A14", "投诉")]


def test_no_text_breaks_the_checks():
    from pipeline.check import indicators as ind

    v = load_pack().vocab
    alphabet = list("0123456789０１２.．%％万千亿余多次个件起投诉考核接待审批事项率亮灯≥≤<>＞不低于超过以上以内约近，。；：、（）\n第年") \
        + ["行道树窝补绿", "控制在", "1.3万余台次", "9" * 40, "2020年", "上半年"]
    rng = random.Random(15)
    for _ in range(3000):
        a, b = ("".join(rng.choice(alphabet) for _ in range(rng.randint(0, 40))) for _ in range(2))
        ind.target_misses((("产出目标", "质量指标", "D9", a, "E9", b, "", None, "", None, ""),), v, Decimal(0), "2021")
        ind.contradictions([("goals", "D6", a), ("report", "A14", b)], v, "2021")
