"""Figures of one held-out unit: amounts per org row and measure, planted discrepancies,
an independent re-statement of the rule pack's error rules, and the narrative report.

All amounts are integers in 元-cents (1 = 0.01 元 = 0.000001 万元); a table kept in 万元 only
holds multiples of 10,000 (0.01 万元), so every identity is exact in integers.
"""
from __future__ import annotations

from decimal import Decimal

FIELDS = {
    "income": ["total", "carryover", "appropriation", "fund", "special_account", "other"],
    "expenditure": ["total", "basic", "personnel", "public", "project",
                    "surplus_current", "surplus_cumulative"],
    "three_public": ["total", "reception", "vehicle_operation", "vehicle_purchase", "overseas"],
    "fixed_assets": ["total", "in_use", "rented", "other"],
}
SURPLUS = {"surplus_current", "surplus_cumulative"}
WAN = 1_000_000  # cents per 万元


def to_wan(cents: int) -> Decimal:
    return (Decimal(cents) / WAN).normalize() if cents else Decimal(0)


def wan_str(cents: int) -> str:
    d = to_wan(cents)
    s = format(d, "f")
    return s


def _amt(rng, lo, hi, g):
    return rng.randint(int(lo * WAN) // g, int(hi * WAN) // g) * g


def _round(x, g):
    return int(round(x / g)) * g


def gen_income_exp(rng, g, scale):
    """One org's income + expenditure figures (one measure)."""
    carry = _amt(rng, 0.01, 40 * scale, g) if rng.random() < 0.7 else 0
    appr = _amt(rng, 30 * scale, 900 * scale, g)
    fund = _amt(rng, 1, 150 * scale, g) if rng.random() < 0.25 else 0
    spec = _amt(rng, 1, 60 * scale, g) if rng.random() < 0.2 else 0
    other = _amt(rng, 0.5, 40 * scale, g) if rng.random() < 0.5 else 0
    inc = {"carryover": carry, "appropriation": appr, "fund": fund,
           "special_account": spec, "other": other}
    inc["total"] = sum(inc.values())
    avail = inc["total"] - carry
    # a third of the rows spend more than they got: negative 当年结余 (and often 累计结余)
    factor = rng.uniform(1.01, 1.25) if rng.random() < 0.33 else rng.uniform(0.8, 0.995)
    total = max(g, _round(avail * factor, g))
    project = _round(total * rng.uniform(0.05, 0.45), g)
    basic = total - project
    personnel = _round(basic * rng.uniform(0.55, 0.9), g)
    exp = {"total": total, "basic": basic, "personnel": personnel,
           "public": basic - personnel, "project": project}
    exp["surplus_current"] = avail - total
    exp["surplus_cumulative"] = exp["surplus_current"] + carry
    return inc, exp


def gen_three_public(rng, g, scale):
    tp = {"reception": _amt(rng, 0.1, 6 * scale, g) if rng.random() < 0.85 else 0,
          "vehicle_operation": _amt(rng, 0.5, 15 * scale, g) if rng.random() < 0.7 else 0,
          "vehicle_purchase": _amt(rng, 5, 30, g) if rng.random() < 0.1 else 0,
          "overseas": _amt(rng, 1, 10, g) if rng.random() < 0.05 else 0}
    tp["total"] = sum(tp.values())
    return tp


def gen_fixed_assets(rng, g, scale):
    fa = {"in_use": _amt(rng, 5, 1500 * scale, g),
          "rented": _amt(rng, 1, 200, g) if rng.random() < 0.15 else 0,
          "other": _amt(rng, 0.5, 80, g) if rng.random() < 0.4 else 0}
    fa["total"] = sum(fa.values())
    return fa


def gen_tables(rng, orgs, units, measures):
    """tables[block] = {'unit', 'measures', 'rows': [{'org','summary','vals':{m:{f:cents}}}]}.
    orgs[0] is the summary row label; income and expenditure share one unit and measure set."""
    gran = {u: (10_000 if u == "万元" else rng.choice([1, 1, 100])) for u in set(units.values())}
    tables = {b: {"unit": units[b], "measures": measures[b], "rows": []} for b in FIELDS}
    subs = orgs[1:]
    for i, org in enumerate(subs):
        scale = 1.0 if i == 0 else rng.uniform(0.15, 0.8)
        row = {b: {} for b in FIELDS}
        gi, gt, gf = gran[units["income"]], gran[units["three_public"]], gran[units["fixed_assets"]]
        inc, exp = gen_income_exp(rng, gi, scale)
        for m in measures["income"]:  # budget-type columns are the final ones, rescaled
            row["income"][m], row["expenditure"][m] = (inc, exp) if m == "final" else \
                _rescale_ie(rng, inc, exp, gi)
        tp, fa = gen_three_public(rng, gt, scale), gen_fixed_assets(rng, gf, scale)
        for m in measures["three_public"]:
            row["three_public"][m] = tp if m == "final" else _rescale(rng, tp, gt, "total")
        for m in measures["fixed_assets"]:
            row["fixed_assets"][m] = fa if m == "final" else _rescale(rng, fa, gf, "total")
        for b in FIELDS:
            tables[b]["rows"].append({"org": org, "summary": False, "vals": row[b]})
    for b, t in tables.items():
        summ = {m: {f: sum(r["vals"][m][f] for r in t["rows"]) for f in FIELDS[b]}
                for m in t["measures"]}
        t["rows"].insert(0, {"org": orgs[0], "summary": True, "vals": summ})
    return tables


def _rescale(rng, vals, g, total):
    out = {f: _round(v * rng.uniform(0.8, 1.1), g) for f, v in vals.items() if f != total}
    out[total] = sum(out.values())
    return out


def _rescale_ie(rng, inc, exp, g):
    i2 = _rescale(rng, inc, g, "total")
    i2["carryover"], i2["total"] = inc["carryover"], i2["total"] - i2["carryover"] + inc["carryover"]
    e2 = {f: _round(exp[f] * rng.uniform(0.85, 1.05), g) for f in ("personnel", "public", "project")}
    e2["basic"] = e2["personnel"] + e2["public"]
    e2["total"] = e2["basic"] + e2["project"]
    e2["surplus_current"] = i2["total"] - i2["carryover"] - e2["total"]
    e2["surplus_cumulative"] = e2["surplus_current"] + i2["carryover"]
    return i2, e2


def final_measure(t):
    return "final" if "final" in t["measures"] else t["measures"][-1]


# --- planted discrepancies (final measure only); each returns a description -------------

def _delta(rng, unit):
    d = _round(rng.uniform(1.5, 60) * WAN, 10_000)
    return d if rng.random() < 0.5 else -d


def plant_amount(rng, tables, kind):
    """Breaks one thing in the final column. Returns [(block,row_index,field)] touched."""
    def pick_row(block, summary_ok=True):
        rows = tables[block]["rows"]
        idx = [i for i, r in enumerate(rows) if summary_ok or not r["summary"]]
        return rng.choice(idx)

    def bump(block, i, field, d):
        m = final_measure(tables[block])
        v = tables[block]["rows"][i]["vals"][m]
        v[field] += d
        return (block, i, field)

    def positive_delta(block, i, fields):
        m = final_measure(tables[block])
        d = _delta(rng, tables[block]["unit"])
        v = tables[block]["rows"][i]["vals"][m]
        if any(v[f] + d < 0 for f in fields):
            d = abs(d)
        return d

    touched = []
    if kind == "INC-001":
        i = pick_row("income")
        f = rng.choice(["appropriation", "other", "fund"])
        touched.append(bump("income", i, f, positive_delta("income", i, [f])))
    elif kind == "EXP-001":
        i = pick_row("expenditure")
        touched.append(bump("expenditure", i, "project", positive_delta("expenditure", i, ["project"])))
    elif kind == "EXP-002":
        i = pick_row("expenditure")
        f = rng.choice(["personnel", "public"])
        touched.append(bump("expenditure", i, f, positive_delta("expenditure", i, [f])))
    elif kind == "EXP-003":
        i = pick_row("expenditure")
        d = _delta(rng, None)
        touched.append(bump("expenditure", i, "surplus_current", d))
        touched.append(bump("expenditure", i, "surplus_cumulative", d))
    elif kind == "EXP-004":
        i = pick_row("expenditure")
        touched.append(bump("expenditure", i, "surplus_cumulative", _delta(rng, None)))
    elif kind == "TPF-001":
        i = pick_row("three_public")
        touched.append(bump("three_public", i, "reception",
                            positive_delta("three_public", i, ["reception"])))
    elif kind == "FA-001":
        i = pick_row("fixed_assets")
        touched.append(bump("fixed_assets", i, "in_use", positive_delta("fixed_assets", i, ["in_use"])))
    elif kind == "SUM-001":
        # the summary row no longer equals the sub-units while every identity still holds
        choice = rng.choice(["tp", "fa", "split_exp", "split_inc"])
        if choice == "tp":
            d = positive_delta("three_public", 0, ["reception", "total"])
            touched += [bump("three_public", 0, "reception", d), bump("three_public", 0, "total", d)]
        elif choice == "fa":
            d = positive_delta("fixed_assets", 0, ["in_use", "total"])
            touched += [bump("fixed_assets", 0, "in_use", d), bump("fixed_assets", 0, "total", d)]
        elif choice == "split_exp":
            m = final_measure(tables["expenditure"])
            v = tables["expenditure"]["rows"][0]["vals"][m]
            d = min(abs(_delta(rng, None)), v["public"] // 2 // 10_000 * 10_000) or 10_000
            touched += [bump("expenditure", 0, "personnel", d), bump("expenditure", 0, "public", -d)]
        else:
            m = final_measure(tables["income"])
            v = tables["income"]["rows"][0]["vals"][m]
            d = min(abs(_delta(rng, None)), v["appropriation"] // 2 // 10_000 * 10_000) or 10_000
            touched += [bump("income", 0, "other", d), bump("income", 0, "appropriation", -d)]
    return touched


# --- independent checker: which error findings the final figures must raise -------------

IDENTITIES = [  # rule, block of the left-hand cell, left field, right side [(block, field, sign)]
    ("INC-001", "income", "total", [("income", f, 1) for f in
                                    ["carryover", "appropriation", "fund", "special_account", "other"]]),
    ("EXP-001", "expenditure", "total", [("expenditure", "basic", 1), ("expenditure", "project", 1)]),
    ("EXP-002", "expenditure", "basic", [("expenditure", "personnel", 1), ("expenditure", "public", 1)]),
    ("EXP-003", "expenditure", "surplus_current",
     [("income", "total", 1), ("income", "carryover", -1), ("expenditure", "total", -1)]),
    ("EXP-004", "expenditure", "surplus_cumulative",
     [("expenditure", "surplus_current", 1), ("income", "carryover", 1)]),
    ("TPF-001", "three_public", "total", [("three_public", f, 1) for f in
                                          ["reception", "vehicle_operation", "vehicle_purchase",
                                           "overseas"]]),
    ("FA-001", "fixed_assets", "total", [("fixed_assets", f, 1) for f in ["in_use", "rented", "other"]]),
]
TOL = 10_000  # 0.01 万元


def expected_errors(tables):
    """[(rule, block, row_index, field)] for the final measure; row_index into tables[block]."""
    out = []
    n = len(tables["income"]["rows"])
    val = {b: [r["vals"][final_measure(t)] for r in t["rows"]] for b, t in tables.items()}
    for i in range(n):
        for rule, lb, lf, rhs in IDENTITIES:
            right = sum(s * val[b][i][f] for b, f, s in rhs)
            if abs(val[lb][i][lf] - right) > TOL:
                out.append((rule, lb, i, lf))
    for b in FIELDS:
        for f in FIELDS[b]:
            if abs(val[b][0][f] - sum(val[b][i][f] for i in range(1, n))) > TOL:
                out.append(("SUM-001", b, 0, f))
        for i in range(n):
            for f in FIELDS[b]:
                if f not in SURPLUS and val[b][i][f] < 0:
                    out.append(("NEG-001", b, i, f))
    return out


def grade_of(score: float) -> str:
    return "优" if score >= 90 else "良" if score >= 80 else "中" if score >= 60 else "差"


# --- narrative ---------------------------------------------------------------------------

NAR_FIELDS = {  # field -> phrases a report uses
    "income.total": ["收入合计", "总收入"],
    "income.appropriation": ["公共财政拨款", "一般公共预算财政拨款"],
    "income.other": ["其他收入"],
    "income.carryover": ["上年结转"],
    "expenditure.total": ["支出合计", "实际支出"],
    "expenditure.basic": ["基本支出"],
    "expenditure.project": ["项目支出"],
    "expenditure.personnel": ["人员支出"],
    "expenditure.public": ["公用支出"],
    "three_public.total": ["“三公”经费支出", "三公经费"],
}


def fmt_wan(cents: int) -> str:
    s = format((Decimal(cents) / WAN).quantize(Decimal("0.01")), "f")
    return s[:-3] if s.endswith(".00") else s


def narrative(rng, unit, year, figs, wrong: dict):
    """figs: field -> cents (the unit's whole figures). wrong: field -> cents stated instead."""
    def v(f):
        return fmt_wan(wrong.get(f, figs[f]))

    def ph(f):
        return rng.choice(NAR_FIELDS[f])
    inc_bits = [f"{ph('income.appropriation')}{v('income.appropriation')}万元"]
    if figs["income.other"]:
        inc_bits.append(f"其他收入{v('income.other')}万元")
    if figs["income.carryover"]:
        inc_bits.append(f"上年结转{v('income.carryover')}万元")
    prev = figs["income.total"] * rng.uniform(0.8, 1.1)
    paras = [
        "一、单位概况",
        f"（一）单位基本情况\n{unit}是{rng.choice(['全额拨款行政单位', '财政全额拨款事业单位', '参照公务员法管理的事业单位'])}，"
        f"内设股室{rng.randint(3, 9)}个。",
        "（二）整体支出规模、使用方向和主要内容",
        f"{year}年，{'、'.join(inc_bits)}，{ph('income.total')}{v('income.total')}万元，"
        f"比上年{'增加' if rng.random() < 0.5 else '减少'}{fmt_wan(abs(int(prev * 0.07)))}万元。"
        f"{year - 1}年收入合计{fmt_wan(int(prev) // 10_000 * 10_000)}万元。",
        f"本年度{ph('expenditure.total')}{v('expenditure.total')}万元，其中基本支出{v('expenditure.basic')}万元，"
        f"项目支出{v('expenditure.project')}万元。",
        "二、单位整体支出管理及使用情况",
        f"（一）基本支出\n{year}年度，基本支出{v('expenditure.basic')}万元，其中人员支出"
        f"{v('expenditure.personnel')}万元，公用支出{v('expenditure.public')}万元。"
        f"{ph('three_public.total')}{v('three_public.total')}万元，"
        f"较{year - 1}年下降{rng.randint(2, 30)}%。",
        f"（二）项目支出\n项目支出{v('expenditure.project')}万元，主要用于"
        f"{rng.choice(['城市管理提质改造', '信息化建设', '业务培训和专项整治', '基础设施维护'])}。",
        "三、存在的主要问题\n预算编制的精细化程度有待提高，绩效目标设置不够细化。",
        "四、改进措施\n进一步加强预算管理，强化绩效目标管理，提高资金使用效益。",
    ]
    return "\n".join(paras)
