"""Self-evaluation forms with indicator texts, built cell by cell with openpyxl (not formkit's
layout), with planted shortfalls, contradictions and score errors and their truth: (rule, cell).

Two phrasing pools: DEV (what the rules were tuned on) and HELD (written apart, run once to measure).
"""
from __future__ import annotations

import random
from dataclasses import dataclass, field
from pathlib import Path

from openpyxl import Workbook

RATES = {  # rate word → lower is better
    "DEV": [("亮灯率", False), ("设施完好率", False), ("垃圾清运率", False), ("报修及时率", False),
            ("办结率", False), ("清扫保洁率", False), ("故障率", True), ("差错率", True)],
    "HELD": [("覆盖率", False), ("合格率", False), ("达标率", False), ("处置率", False),
             ("到位率", False), ("完成率", False), ("事故率", True), ("投诉率", True)],
    "HELD2": [("回收率", False), ("入库率", False), ("知晓率", False), ("参与率", False),
              ("准确率", False), ("返工率", True), ("流失率", True)],
}
RATE_TARGETS = {
    "DEV": {False: ["{n}≥{x}%", "{n}不低于{x}%", "{n}达{x}%以上", "≥{x}%", "{n}达到{x}%"],
            True: ["{n}≤{x}%", "{n}控制在{x}%以内", "{n}不超过{x}%"]},
    "HELD": {False: ["{n}：≥{x}%", "确保{n}不低于{x}%", "{n}要达到{x}%及以上", "{x}%", "{n}>={x}%"],
             True: ["{n}：≤{x}%", "{n}低于{x}%", "{n}控制在{x}%以下", "{n}{x}%以内"]},
    "HELD2": {False: ["{n}力争达到{x}%", "{n}不小于{x}%", "年度{n}≥{x}％", "{n}目标{x}%"],
              True: ["{n}不高于{x}%", "{n}≤{x}％", "{n}须控制在{x}%之内"]},
}
RATE_DONE = {
    "DEV": ["{n}达{y}%", "{n}为{y}%", "{y}%", "全年{n}达到{y}%以上", "实际{n}{y}%"],
    "HELD": ["经统计，{n}{y}%", "{n}实际达到{y}%", "全年实现{n}{y}%", "{n}：{y}%", "确保{n}在{y}%以上"],
    "HELD2": ["截至年底{n}为{y}%", "{n}为{y}％", "本年度{n}达到了{y}%", "抽查显示{n}{y}%"],
}
COUNTS = {  # (thing done, measure word)
    "DEV": [("开展业务培训", "次"), ("维修路灯", "盏"), ("开展安全检查", "次"), ("发放宣传册", "份")],
    "HELD": [("巡查重点路段", "次"), ("清理小广告", "处"), ("走访企业", "家"), ("组织应急演练", "次")],
    "HELD2": [("新建停车泊位", "个"), ("改造老旧管网", "公里"), ("整修人行道", "处"), ("补植苗木", "株")],
}
COUNT_TARGETS = {"DEV": ["全年{w}不少于{x}{u}", "{w}{x}{u}"], "HELD": ["计划{w}{x}{u}以上", "年内{w}不低于{x}{u}"],
                 "HELD2": ["{w}达到{x}{u}", "确保{w}≥{x}{u}"]}
COUNT_DONE = {"DEV": ["全年共{w}{y}{u}", "累计{w}{y}{u}"], "HELD": ["实际{w}{y}{u}", "本年度{w}{y}{u}"],
              "HELD2": ["已{w}{y}{u}", "年内{w}{y}{u}"]}
TEXT_ROWS = [("时效指标", "各项工作按计划如期完成", "均按计划如期完成"),
             ("成本指标", "经费支出控制在年初预算范围内", "无超预算支出情况"),
             ("社会效益", "改善城市环境", "市容环境明显改善")]
# told twice: key noun of the pack, phrases per pool ({v} is the figure with its measure word)
FACTS = {
    "DEV": [("投诉", "起", "累计受理市长热线等渠道投诉{v}"), ("审批事项", "件", "共受理行政审批事项{v}"),
            ("接待", "次", "共接待各级领导视察来访{v}"), ("考核", "次", "对养护单位开展考核{v}")],
    "HELD": [("投诉", "件", "全年办理群众投诉{v}"), ("信访", "件", "妥善处理来信来访信访{v}"),
             ("会议", "次", "召开专题工作会议{v}"), ("督查", "次", "开展专项督查{v}")],
    "HELD2": [("积水点", "处", "汛期前排查整改易涝积水点{v}"), ("路灯", "盏", "新装及更换LED路灯{v}"),
              ("案件", "件", "依法查处违法建设案件{v}"), ("宣传资料", "份", "向市民发放垃圾分类宣传资料{v}")],
}


@dataclass
class Built:
    path: Path
    planted: list[tuple] = field(default_factory=list)   # (rule, cells any of which is right[, field])
    consistent: bool = True


def _fig(rng, n: int, agree: bool) -> tuple[str, str]:
    """Two ways of telling count n that agree (n余 / n / 约n / n以上), or a pair that cannot."""
    if agree:
        base = n - n % 10 if n >= 20 else n
        return rng.choice([(f"{n}", f"{n}"), (f"{base}余", f"{n}") if n % 10 else (f"{n}", f"{n}"),
                           (f"约{n}", f"{n}"), (f"{n}", f"{n}")])
    other = n + rng.choice([-1, 1]) * max(3, int(n * rng.uniform(0.2, 0.6)))
    return f"{n}", f"{other}"


def build(path: Path, rng: random.Random, pool: str = "DEV", *, shortfalls: int = 0, cross_row: bool = False,
          contradictions: int = 0, scores: bool = False, score_errors: int = 0) -> Built:
    """One form; shortfalls / contradictions / score_errors planted, everything else consistent."""
    out = Built(path)
    rows: list[list] = []   # indicator rows: [category, kind, target, result, weight, points, missed]
    rates = rng.sample(RATES[pool], 3)
    miss_idx = set(rng.sample(range(3 + 2), shortfalls)) if shortfalls else set()
    k = 0
    for name, lower in rates:
        x = rng.choice([90, 95, 96, 98, 100]) if not lower else rng.choice([0.5, 1, 2, 3])
        missed = k in miss_idx
        if lower:
            y = round(x + rng.choice([0.2, 0.5, 1]), 1) if missed else round(x * rng.choice([0.2, 0.5, 1]), 1)
        else:
            y = round(x - rng.choice([0.5, 1, 2, 5]), 1) if missed else min(100, x + rng.choice([0, 0.5, 1, 2]))
        t = rng.choice(RATE_TARGETS[pool][lower]).format(n=name, x=_num(x))
        d = rng.choice(RATE_DONE[pool]).format(n=name, y=_num(y))
        rows.append(["产出目标", "质量指标", t, d, missed])
        k += 1
    for w, u in rng.sample(COUNTS[pool], 2):
        x = rng.choice([10, 12, 20, 50, 120, 300])
        missed = k in miss_idx
        y = x - rng.choice([1, 2, 5]) if missed else x + rng.choice([0, 1, 3, 8])
        rows.append(["产出目标", "数量指标", rng.choice(COUNT_TARGETS[pool]).format(w=w, x=x, u=u),
                     rng.choice(COUNT_DONE[pool]).format(w=w, y=y, u=u), missed])
        k += 1
    if cross_row:  # one row names several rates; another row's completion names one of them
        name, lower = rng.choice([r for r in RATES[pool] if r not in rates and not r[1]])
        other, _ = rng.choice([r for r in RATES[pool] if r not in rates and r[0] != name and not r[1]])
        x = rng.choice([95, 96, 98])
        rows.append(["产出目标", "质量指标", f"1、{name}：≥{x}%；2、{other}：≥{x - 2}%", "均达到预期要求", False])
        rows.append(["产出目标", "数量指标", f"及时维护设施，提高{name}", f"确保{name}达{x - 1}%以上", "cross"])
    for kind, t, d in rng.sample(TEXT_ROWS, 2):
        rows.append(["产出目标" if kind != "社会效益" else "效益目标", kind, t, d, False])
    rows.append(["效益目标", "满意度", "满意率达90%以上", f"满意率达{rng.choice([92, 94, 95, 98])}%以上", False])
    rng.shuffle(rows)

    # told twice: each fact in 2–3 places; planted ones disagree in exactly one place
    places = ["goals", "indicator", "work", "report"]
    facts = rng.sample(FACTS[pool], rng.randint(2, 4))
    bad_facts = set(rng.sample(range(len(facts)), min(contradictions, len(facts))))
    told: dict[str, list[tuple[int, str]]] = {p: [] for p in places}   # place → (fact#, sentence)
    fact_rows: dict[int, int] = {}
    for i, (noun, u, phrase) in enumerate(facts):
        where = rng.sample(places, 3 if i in bad_facts and rng.random() < .6 else 2)
        n = rng.choice([23, 48, 70, 120, 172, 300, 403, 1250])
        a, b = _fig(rng, n, agree=i not in bad_facts)
        values = [a] + [b] * (len(where) - 1) if len(where) == 3 else [a, b]
        if len(where) == 3 and i in bad_facts:
            rng.shuffle(values)
        for p, val in zip(where, values):
            told[p].append((i, phrase.format(v=val + u)))
        if i in bad_facts:
            out.planted.append(("IND-002", frozenset({("fact", i, p) for p, val in zip(where, values)
                                                     if len(where) == 2 or values.count(val) == 1}), noun))
    # the told-twice sentences of the indicator table go in rows of their own
    for i, sentence in told["indicator"]:
        rows.append(["产出目标", "数量指标", "及时受理并办理相关事项", sentence + "。", False])
        fact_rows[i] = len(rows) - 1

    wb = Workbook()
    ws = wb.active
    ws.title = "自评表"
    r = 1
    ws.cell(r, 1, "2021年度部门（单位）整体支出绩效自评表"); r += 1
    ws.cell(r, 1, "填报单位"); ws.cell(r, 2, "测试局"); r += 1
    ws.cell(r, 1, "联系人"); ws.cell(r, 2, "张三"); r += 1
    work = "一、做好日常管理工作。" + "".join(f"{j + 2}、{s}。" for j, (_, s) in enumerate(told["work"]))
    ws.cell(r, 1, "年度主要工作内容"); ws.cell(r, 2, work); work_cell = f"B{r}"; r += 2
    ws.cell(r, 1, "整体支出绩效定性目标及实施计划完成情况"); ws.cell(r, 2, "预期目标"); ws.cell(r, 4, "实际完成"); r += 1
    goal_text = "目标1完成情况：各项工作有序推进。" + "".join(f"目标{j + 2}完成情况：{s}。" for j, (_, s) in enumerate(told["goals"]))
    ws.cell(r, 2, "目标1：完成年度重点工作。"); ws.cell(r, 4, goal_text); goal_cell = f"D{r}"; r += 2
    ws.cell(r, 1, "整体支出绩效定量目标及实施计划完成情况")
    ws.cell(r, 2, "评价内容"); ws.cell(r, 4, "绩效目标"); ws.cell(r, 5, "完成情况")
    if scores:
        ws.cell(r, 6, "分值"); ws.cell(r, 7, "得分")
    r += 1
    first = r
    weights = _weights(rng, len(rows)) if scores else []
    total = 0
    errs = set(rng.sample(["sum", "range", "full"], score_errors)) if score_errors and scores else set()
    full_done = False
    for j, row in enumerate(rows):
        cat, kind, t, d, missed = row
        ws.cell(r, 2, cat); ws.cell(r, 3, kind); ws.cell(r, 4, t); ws.cell(r, 5, d)
        if missed is True:
            out.planted.append(("IND-001", frozenset({f"E{r}"})))
        if missed == "cross":
            out.planted.append(("IND-001", frozenset({f"E{r}"})))
        if scores:
            w = weights[j]
            p = w - (1 if missed else 0) if w > 1 else w
            if "full" in errs and missed and not full_done:
                p, full_done = w, True
                out.planted.append(("IND-005", frozenset({f"G{r}"})))
            if "range" in errs and not missed and j == len(rows) - 1:
                p = w + 2
                out.planted.append(("IND-004", frozenset({f"G{r}"})))
            ws.cell(r, 6, w); ws.cell(r, 7, p)
            total += p
        r += 1
    score = total if scores else rng.choice([88, 92, 95])
    if "sum" in errs:
        score = total + rng.choice([-3, 2, 5])
    ws.cell(r, 1, "绩效自评综合得分"); ws.cell(r, 2, score); score_cell = f"B{r}"
    if "sum" in errs:
        out.planted.append(("IND-003", frozenset({score_cell})))
    r += 1
    ws.cell(r, 1, "评价等次"); ws.cell(r, 2, "优" if score >= 90 else "良" if score >= 80 else "中"); r += 2
    ws.cell(r, 1, "五、评价报告综述"); r += 1
    report = "一、单位概况\n本单位为全额拨款事业单位。\n二、绩效情况\n" + "".join(f"{j + 1}. {s}。\n" for j, (_, s) in enumerate(told["report"]))
    ws.cell(r, 1, report); report_cell = f"A{r}"
    wb.save(path)
    # resolve the told-twice places to cells
    cell_of = {"goals": goal_cell, "work": work_cell, "report": report_cell}
    resolved = []
    for rule, cells, *fld in out.planted:
        if rule == "IND-002":
            cells = frozenset(f"E{first + fact_rows[i]}" if p == "indicator" else cell_of[p] for _, i, p in cells)
        resolved.append((rule, cells, *fld))
    out.planted = resolved
    out.consistent = not resolved
    return out


def _num(x) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)


def _weights(rng, n: int) -> list[int]:
    base = [100 // n] * n
    base[0] += 100 - sum(base)
    return base
