"""One form's random switches (spec) and its composition, either hand-built or on the blank
template. Every amount cell written is recorded with its tags (the quirks it carries)."""
from __future__ import annotations

import openpyxl

from .figures import FIELDS, WAN
from .sheetbuild import Grid, eval_rows, facts_rows, ref, table, to_workbook

TEMPLATE = "/work/shared/templates/self_evaluation_form.xlsx"
CN_DIGITS = "〇一二三四五六七八九"
SUMMARY_NAMES = ["局机关及二级机构汇总", "合计", "小计", "总计", "汇总"]
SUBS = ["市政设施维护中心", "环境卫生管理所", "园林绿化服务中心", "综合执法大队", "信息中心",
        "机关后勤服务中心", "路灯管理所", "培训中心", "档案室", "监测站", "规划编研中心"]
NULLS = ["—", "/", "无", "——"]
NEG_STYLES = ["minus_num", "paren_fmt", "minus_text", "paren_text", "fullparen_text",
              "fullminus_text", "triangle"]


def cn_year(y):
    return "".join(CN_DIGITS[int(d)] for d in str(y))


def make_spec(rng, year, unit):
    s = {"year": year, "unit": unit}
    s["template"] = rng.random() < 0.28
    s["n_sub"] = 3 if s["template"] else rng.randint(2, 6)
    s["multi"] = (not s["template"]) and rng.random() < 0.3
    inc = "single" if s["template"] or rng.random() < 0.6 else rng.choice(["bf", "baf", "baf2", "be"])
    s["mset"] = {"income": inc, "expenditure": inc,
                 "three_public": "single" if s["template"] or rng.random() < 0.8 else rng.choice(["bf", "be"]),
                 "fixed_assets": "single" if s["template"] or rng.random() < 0.75 else "of"}
    decls = ["title", "header"] if s["template"] else ["title", "corner", "above", "header"]
    if not s["template"] and rng.random() < 0.15:
        u = rng.choice(["元", "万元"])
        s["units"] = {b: u for b in FIELDS}
        s["decl"] = {b: "global" for b in FIELDS}
    else:
        ie = "元" if rng.random() < 0.25 else "万元"
        s["units"] = {"income": ie, "expenditure": ie,
                      "three_public": "元" if rng.random() < 0.2 else "万元",
                      "fixed_assets": "元" if rng.random() < 0.2 else "万元"}
        # an undeclared table is 万元 only in a form where no table is in 元 (else ambiguous)
        any_yuan = "元" in s["units"].values()
        s["decl"] = {b: rng.choice(decls + (["none"] if u == "万元" and not any_yuan else []))
                     for b, u in s["units"].items()}
    s["summary_name"] = rng.choice(SUMMARY_NAMES) if rng.random() < 0.7 else SUMMARY_NAMES[0]
    s["summary_bottom"] = (not s["template"]) and rng.random() < 0.35
    s["neg_styles"] = rng.sample(NEG_STYLES, rng.choice([1, 1, 2]))
    s["null_p"] = rng.choice([0, 0, 0.3, 0.7])
    s["blank_zero_p"] = rng.choice([0, 0, 0, 0.3])
    s["text_amount_p"] = rng.choice([0, 0, 0.05])
    s["formula_summary"] = rng.random() < 0.12
    s["year_style"] = rng.choice(["plain", "cn", "space", "nian", "title", "title"])
    s["unit_mode"] = rng.choice(["cells", "cells", "oneplain", "onestamp", "wholeline"])
    s["unit_formula"] = s["unit_mode"] == "cells" and rng.random() < 0.3
    s["contact_one"] = rng.random() < 0.3
    return s


def quirk_list(s):
    q = ["layout:template" if s["template"] else "layout:hand", f"year:{s['year_style']}",
         f"unitname:{s['unit_mode']}", f"summary:{'bottom' if s['summary_bottom'] else 'top'}",
         f"summary_name:{s['summary_name']}", f"subunits:{s['n_sub']}"]
    q += ["unit_formula"] if s["unit_formula"] else []
    q += ["contact_one_cell"] if s["contact_one"] else []
    q += ["multisheet"] if s["multi"] else []
    q += ["formula_summary"] if s["formula_summary"] else []
    q += ["null_tokens"] if s["null_p"] else []
    q += ["blank_zero"] if s["blank_zero_p"] else []
    q += sorted({f"variant:{m}" for m in s["mset"].values() if m != "single"})
    q += sorted({f"decl:{d}:{s['units'][b]}" for b, d in s["decl"].items()})
    return q


class Writer:
    """Writes amount cells and records them."""

    def __init__(self, rng, spec, truth):
        self.rng, self.s, self.truth = rng, spec, truth

    def __call__(self, g, r, c, block, i, row, f, m, unit, out):
        rng, s = self.rng, self.s
        cents = row["vals"][m][f]
        coord = ref(r, c)
        org = row["org"]
        tags = [f"block:{block}", f"unit:{unit}", f"decl:{s['decl'][block]}",
                f"measure:{m}", f"variant:{s['mset'][block]}",
                "row:summary" if row["summary"] else "row:sub"]
        if s["formula_summary"] and row["summary"] and block != "expenditure":
            a, b = out["_subrange"]
            col = coord.rstrip("0123456789")
            g.put(r, c, f"=SUM({col}{a}:{col}{b})", box=True)
            self._rec(g, coord, block, f, org, m, cents, f"=SUM({col}{a}:{col}{b})", tags + ["formula_sum"])
            return
        forced_num = s["formula_summary"] and block != "expenditure"
        if cents == 0 and not row["summary"] and f not in ("total", "basic", "surplus_current",
                                                          "surplus_cumulative"):
            if rng.random() < s["null_p"]:
                tok = rng.choice(NULLS)
                g.put(r, c, tok, box=True)
                self.truth["nulls"].append({"sheet": g.name, "cell": coord, "token": tok,
                                            "block": block, "field": f, "org": org})
                return
            if rng.random() < s["blank_zero_p"]:
                g.put(r, c, None, box=True)
                return
        num = cents / WAN if unit == "万元" else cents / 100
        num = round(num, 2)
        fmt, val, tag = None, num, "num"
        if cents < 0:
            style = rng.choice(s["neg_styles"])
            tag = f"neg:{style}"
            a = f"{abs(num):.2f}"
            if style == "paren_fmt":
                fmt = "#,##0.00;(#,##0.00)"
            elif style == "minus_text":
                val = "-" + a
            elif style == "paren_text":
                val = f"({a})"
            elif style == "fullparen_text":
                val = f"（{a}）"
            elif style == "fullminus_text":
                val = "－" + a
            elif style == "triangle":
                val = "△" + a
        elif not forced_num and rng.random() < s["text_amount_p"]:
            val = f"{num:,.2f}"
            tag = "text_amount"
        elif rng.random() < 0.15:
            fmt = "#,##0.00"
        g.put(r, c, val, fmt=fmt, box=True)
        raw = val if isinstance(val, str) else f"{num:.2f}"
        self._rec(g, coord, block, f, org, m, cents, raw, tags + [tag])

    def _rec(self, g, coord, block, f, org, m, cents, raw, tags):
        self.truth["amounts"].append({"sheet": g.name, "cell": coord, "block": block, "field": f,
                                      "org": org, "measure": m, "cents": cents, "raw": raw,
                                      "tags": tags})
        self.truth["_anchor"][(block, org, m, f)] = (g.name, coord)


def year_bits(s):
    y = s["year"]
    st = s["year_style"]
    title = "部门（单位）整体支出绩效自评表"
    line = {"plain": f"（{y}年度）", "cn": f"（{cn_year(y)}年度）", "space": f"（{y} 年度）",
            "nian": f"（{y}年）"}.get(st)
    if st == "title":
        title = f"{y}年度" + ("部门整体支出绩效自评表" if s["unit"][-1] != "局" else title)
    return title, line


def fact_switches(rng, s, figs):
    title, line = year_bits(s)
    m, d = rng.randint(1, 5), rng.randint(1, 28)
    date = rng.choice([f"{s['year'] + 1}年{m}月{d}日", f"{s['year'] + 1}.{m}.{d}",
                       f"{s['year'] + 1}-{m:02d}-{d:02d}"])
    unit_value = s["unit"]
    return {"c0": 1, "title": title, "yearline": line, "unit": s["unit"], "date": date,
            "unit_mode": s["unit_mode"], "unit_value": unit_value,
            "gap": rng.choice(["　　", "    ", "　　　　　　"]),
            "contact_one": s["contact_one"], "contact": figs["contact"], "phone": figs["phone"],
            "staff": figs["staff"], "global_decl": None,
            "texts": [("职能职责概述", figs["duty"]), ("年度主要工作内容", figs["work"]),
                      ("年度部门（单位）总体运行情况及取得的成绩", figs["result"])]}


def eval_switches(s, figs):
    return {"c0": 1, "goal": figs["goal"], "done": figs["done"], "indicators": figs["indicators"],
            "score_raw": figs["score_raw"], "grade_raw": figs["grade_raw"],
            "evaluators": figs["evaluators"], "unit": s["unit"], "contact": figs["contact"],
            "phone": figs["phone"]}


def unit_formula(rng, s, out):
    """=reference to the evaluators' 单位 cell, or a string concatenation."""
    if rng.random() < 0.5 and "evaluator_unit_cell" in out:
        sh, cell = out["evaluator_unit_cell"]
        return f"='{sh}'!{cell}" if sh != out["unit_sheet"] else f"={cell}", "unit_formula:ref"
    k = max(2, len(s["unit"]) // 2)
    return f'="{s["unit"][:k]}"&"{s["unit"][k:]}"', "unit_formula:concat"


def compose_hand(rng, s, tables, figs, narrative, path, truth):
    width = 9
    writer = Writer(rng, s, truth)
    c0 = 2 if rng.random() < 0.12 else 1
    names = (rng.choice(["表一", "自评表", "Sheet1", "部门整体支出绩效自评表"]),
             rng.choice(["表二", "自评表（续表）", "绩效指标完成情况表"]),
             rng.choice(["报告", "评价报告", "自评报告"]))
    if not s["multi"]:
        names = (rng.choice(["自评表", "Sheet1", "整体支出自评表", f"{s['year']}年度", "附表"]),) * 3
    g1 = Grid(names[0])
    out = {"unit_sheet": names[0]}
    fs = fact_switches(rng, s, figs)
    fs["c0"] = c0
    fs["blank_top"] = rng.random() < 0.2
    if "global" in s["decl"].values():
        fs["global_decl"] = rng.choice(["单位：", "金额单位："]) + s["units"]["income"]
    facts_rows(g1, rng, fs, width, out)
    g1.line(c0, "二、部门（单位）收支情况", width)
    style = "titlerow" if rng.random() < 0.4 else "leftcol"
    nums = iter(["（一）", "（二）", "（三）", "（四）"])
    for b in FIELDS:
        spec = {"c0": c0, "mset": s["mset"][b], "decl": s["decl"][b], "style": style,
                "num": next(nums), "seq": rng.random() < 0.12, "remark": rng.random() < 0.12,
                "orghead": rng.choice(["机构名称", "机构名称", "单位名称"]),
                "summary_bottom": s["summary_bottom"], "syn": rng.random() < 0.15,
                "flat_exp": rng.random() < 0.4}
        table(g1, rng, spec, b, tables[b], writer, out)
        if rng.random() < 0.25:
            g1.row += 1
    grids = [g1]
    g2 = g1
    if s["multi"]:
        g2 = Grid(names[1])
        g2.line(c0, rng.choice(["部门（单位）整体支出绩效自评表（续表）", "绩效指标完成情况表",
                                "部门整体支出绩效自评表（二）"]), width)
        if rng.random() < 0.5:
            g2.line(c0, f"填报单位：{s['unit']}", width)
        grids.append(g2)
    es = eval_switches(s, figs)
    es["c0"] = c0
    eval_rows(g2, rng, es, width, out)
    g3 = g2
    if s["multi"] and rng.random() < 0.7:
        g3 = Grid(names[2])
        g3.line(1, rng.choice(["部门（单位）整体支出绩效自评报告", f"{s['unit']}{s['year']}年度部门整体支出绩效自评报告"]), 9)
        grids.append(g3)
    else:
        g3.line(c0, "五、评价报告综述", width)
    g3.put(g3.row, c0, narrative, to=(g3.row, c0 + width - 1))
    truth["narrative_cell"] = (g3.name, ref(g3.row, c0))
    if s["unit_formula"]:
        f, tag = unit_formula(rng, s, out)
        r, c = _rc(out["unit_cell"])
        g1.cells[(r, c)] = f
        truth["quirks"].append(tag)
    truth["score_cell"], truth["grade_cell"] = out["score_cell"], out["grade_cell"]
    truth["sheets"] = [g.name for g in grids]
    to_workbook(grids, path)


def _rc(coord):
    from openpyxl.utils.cell import coordinate_from_string, column_index_from_string
    col, row = coordinate_from_string(coord)
    return row, column_index_from_string(col)


TEMPLATE_ROWS = {"income": (11, 13, "C"), "expenditure": (17, 20, "C"),
                 "three_public": (24, 26, "C"), "fixed_assets": (30, 32, "C")}
TEMPLATE_COLS = {"income": "CDEFGH", "expenditure": "CDEFGHI", "three_public": "CDEFG",
                 "fixed_assets": "CDEF"}
TEMPLATE_HEAD = {"income": "C11", "expenditure": "C17", "three_public": "C24", "fixed_assets": "C30"}


def compose_template(rng, s, tables, figs, narrative, path, truth):
    wb = openpyxl.load_workbook(TEMPLATE)
    ws = wb.worksheets[0]
    name = rng.choice([ws.title, ws.title, "Sheet1", f"{s['unit'][:6]}"])
    ws.title = name
    g = Grid(name)  # cells to set on the template
    writer = Writer(rng, s, truth)
    title, line = year_bits(s)
    g.put(1, 1, title)
    g.put(2, 1, line or "（    年度）" if s["year_style"] != "title" else None)
    fs = fact_switches(rng, s, figs)
    mode = s["unit_mode"]
    if mode == "cells":
        g.put(3, 2, fs["unit_value"])
        g.put(3, 7, fs["date"])
    elif mode in ("oneplain", "onestamp"):
        g.put(3, 1, ("填报单位：" if mode == "oneplain" else "填报单位（盖章）：") + s["unit"])
        g.put(3, 7, fs["date"])
    else:
        for rng_ in ("B3:E3", "G3:I3"):
            ws.unmerge_cells(rng_)
        g.put(3, 6, None)
        g.put(3, 1, f"填报单位（盖章）：{s['unit']}{fs['gap']}填报日期：{fs['date']}", to=(3, 9))
    if s["contact_one"]:
        for rng_ in ("B5:C5", "E5:I5"):
            ws.unmerge_cells(rng_)
        g.put(5, 4, None)
        g.put(5, 1, f"联系人：{figs['contact']}　联系电话：{figs['phone']}", to=(5, 9))
    else:
        g.put(5, 2, figs["contact"])
        g.put(5, 5, figs["phone"])
    g.put(6, 2, figs["staff"][0])
    g.put(6, 5, figs["staff"][1])
    g.put(7, 2, figs["duty"])
    g.put(8, 2, figs["work"])
    g.put(9, 2, figs["result"])
    out = {}
    for b, (trow, srow, _) in TEMPLATE_ROWS.items():
        unit, decl = s["units"][b], s["decl"][b]
        tail = "（元）" if unit == "元" else "（万元）"
        base = ws.cell(trow, 1).value.replace("（万元）", "")
        g.put(trow, 1, base + (tail if decl == "title" else ""))
        if decl == "header":
            hc = TEMPLATE_HEAD[b]
            g.put(int(hc[1:]), 3, ws[hc].value + tail)
        rows = tables[b]["rows"]
        out["_subrange"] = (srow + 1, srow + len(rows) - 1)
        for i, row in enumerate(rows):
            r = srow + i
            g.put(r, 2, row["org"])
            for j, f in enumerate(FIELDS[b]):
                writer(g, r, 3 + j, b, i, row, f, "final", unit, out)
    g.put(38, 2, figs["goal"])
    g.put(38, 6, figs["done"])
    for k, (grp, kind, target, done) in enumerate(figs["indicators"][:8]):
        g.put(40 + k, 4, target)
        g.put(40 + k, 7, done)
    g.put(48, 4, figs["score_raw"])
    g.put(49, 4, figs["grade_raw"])
    truth["score_cell"], truth["grade_cell"] = (name, "D48"), (name, "D49")
    for k, (nm, post) in enumerate(figs["evaluators"][:4]):
        g.put(52 + k, 1, nm)
        g.put(52 + k, 3, post)
        g.put(52 + k, 5, s["unit"])
    g.put(59, 1, f"填报人（签名）：{figs['contact']}                 联系电话： {figs['phone']}")
    g.put(61, 1, narrative)
    truth["narrative_cell"] = (name, "A61")
    if s["unit_formula"]:
        if rng.random() < 0.5:
            g.cells[(3, 2)] = "=E52"
            truth["quirks"].append("unit_formula:ref")
        else:
            k = max(2, len(s["unit"]) // 2)
            g.cells[(3, 2)] = f'="{s["unit"][:k]}"&"{s["unit"][k:]}"'
            truth["quirks"].append("unit_formula:concat")
    for (r, c), v in g.cells.items():
        ws.cell(r, c).value = v
        if (r, c) in g.fmts:
            ws.cell(r, c).number_format = g.fmts[(r, c)]
    for r1, c1, r2, c2 in g.merges:
        ws.merge_cells(start_row=r1, start_column=c1, end_row=r2, end_column=c2)
    truth["sheets"] = [name]
    wb.save(path)
