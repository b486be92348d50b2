"""Generate realistic self-evaluation forms with layout drift and planted discrepancies.

Used by sample_workbooks/make_samples.py, the tests and bench/. Every form comes with its truth:
each amount's cell and value in 万元, and each planted discrepancy's rule and cell.
"""
from __future__ import annotations

import random
from dataclasses import dataclass, field
from decimal import Decimal

from pipeline.models import a1

D = Decimal
TITLE = "部门（单位）整体支出绩效自评表"
SYN = {  # label drift: (template word, variants a real form uses)
    "公共财政拨款": ["一般公共预算财政拨款", "财政拨款"],
    "政府基金拨款": ["政府性基金预算财政拨款"],
    "纳入专户管理的非税收入拨款": ["纳入专户管理的非税收入", "财政专户管理资金"],
    "其他收入": ["其他"],
    "收入合计": ["合计"], "支出合计": ["合计"], "三公经费合计": ["合计"], "固定资产合计": ["合计"],
    "公务用车运维费": ["公务用车运行维护费"], "因公出国费": ["因公出国（境）费"],
    "机构名称": ["单位名称"], "局机关及二级机构汇总": ["汇总", "合计"],
}
HEAD = {
    "income": [("carryover", "上年结转"), ("appropriation", "公共财政拨款"), ("fund", "政府基金拨款"),
               ("special_account", "纳入专户管理的非税收入拨款"), ("other", "其他收入")],
    "three_public": [("reception", "公务接待费"), ("vehicle_operation", "公务用车运维费"),
                     ("vehicle_purchase", "公务用车购置费"), ("overseas", "因公出国费")],
    "fixed_assets": [("in_use", "在用固定资产"), ("rented", "出租固定资产"), ("other", "其他")],
}
TOTAL_LABEL = {"income": "收入合计", "expenditure": "支出合计", "three_public": "三公经费合计",
               "fixed_assets": "固定资产合计"}
BLOCK_TITLE = {"income": "年度收入情况（{u}）", "expenditure": "部门（单位）年度支出和结余情况（{u}）",
               "three_public": "三公经费（{u}）", "fixed_assets": "固定资产（{u}）"}


@dataclass
class Drift:
    row_offset: int = 0
    col_offset: int = 0
    gap_rows: int = 0              # blank rows inserted between tables
    synonyms: bool = False
    shuffle: bool = False          # sub-field columns reordered inside a table
    text_numbers: bool = False     # amounts typed as text: "1,234.50", full-width, "万元" suffix
    yuan_block: str = ""           # this table's title says （元） and holds yuan
    formulas: bool = False         # totals as =SUM(...) formulas
    summary_blank: bool = False    # summary row left blank (like the seed unit)
    report_sheet: bool = False     # narrative on a sheet of its own
    cover: bool = False            # a cover sheet before the form
    sheet_name: str = "自评表"
    spaced_labels: bool = False    # line breaks and spaces typed inside header words
    title_row: bool = False        # table titles on a row of their own, not in a side column
    flat_header: bool = False      # one header row without the 其中 row (flat tables)
    blank_row: bool = False        # an empty row between the summary row and the sub-units
    # quirks of real submissions (issue 12); all off by default, so older sets stay the same
    inline_unit: bool = False      # 填报单位（盖章）：X　　填报日期：… in one merged cell
    year_style: str = ""           # "" （2021年度） | cn （二〇二一年度） | spaced （2021 年度） | plain （2021年） | title
    unit_decl: str = ""            # "" | form: 金额单位：元 under the title, every table in 元 | corner: 单位：元 at
                                   # the yuan_block table's top right corner (its title says nothing)
    negatives: str = ""            # "" | a style for a negative 当年结余: paren | fullparen | delta | fullminus | minus
    summary_label: str = ""        # the summary row's label (合计, 小计, 总计, 汇总); "" the template's
    summary_bottom: bool = False   # the summary row under the sub-units
    score_style: str = ""          # "" | fen (96分) | grade_with_score (优（92分）) | long_grade (优秀/良好)
    measures: tuple = ()           # value columns per field, e.g. ("预算数", "决算数"): the last is final
    split_sheet: bool = False      # goals, indicators, score, grade, evaluators on a sheet 表二


@dataclass
class Form:
    unit: str
    year: int
    orgs: list[str]                               # sub-unit names as written
    amounts: dict[str, dict[str, list]]           # block → field → [value per sub-unit] (万元)
    score: Decimal
    grade: str
    contact: str = "张三"
    phone: str = "13800000000"
    quota: int = 20
    actual: int = 18
    drift: Drift = field(default_factory=Drift)
    report_overrides: dict[str, Decimal] = field(default_factory=dict)
    cell_text: dict[tuple[str, int, str], str] = field(default_factory=dict)   # (block, row, field) → raw
    summary_overrides: dict[tuple[str, str], Decimal] = field(default_factory=dict)
    cell_overrides: dict[tuple[str, int, str], Decimal] = field(default_factory=dict)  # (block, row, field)
    planted: list[dict] = field(default_factory=list)
    # filled while laying out
    cells: list[dict] = field(default_factory=list)


def random_form(rng: random.Random, unit: str, year: int = 2021, subs: int | None = None) -> Form:
    n = subs if subs is not None else rng.choice([1, 2, 3, 3, 4, 5])
    orgs = ["局机关"] + [f"二级机构{i}" for i in range(1, n)]
    amounts: dict[str, dict[str, list]] = {b: {} for b in TOTAL_LABEL}
    for b in amounts:
        amounts[b] = {}
    for i in range(n):
        carry = _money(rng, 0, 30)
        approp, fund, special, other = (_money(rng, 50, 900), _money(rng, 0, 50) if rng.random() < .3 else D(0),
                                        _money(rng, 0, 40) if rng.random() < .3 else D(0), _money(rng, 0, 60))
        income = carry + approp + fund + special + other
        personnel, public = _money(rng, 30, 400), _money(rng, 5, 80)
        basic = personnel + public
        project = min(_money(rng, 0, 300), max(income - carry - basic, D(0)))
        total_exp = basic + project
        surplus = income - carry - total_exp
        tp = [_money(rng, 0, 5), _money(rng, 0, 8), D(0) if rng.random() < .8 else _money(rng, 5, 30),
              D(0) if rng.random() < .85 else _money(rng, 0, 10)]
        fa_parts = [_money(rng, 10, 500), D(0) if rng.random() < .8 else _money(rng, 1, 50), _money(rng, 0, 20)]
        row = {"income": [income, carry, approp, fund, special, other],
               "expenditure": [total_exp, basic, personnel, public, project, surplus, surplus + carry],
               "three_public": [sum(tp, D(0))] + tp, "fixed_assets": [sum(fa_parts, D(0))] + fa_parts}
        for b, vals in row.items():
            for f, v in zip(FIELDS[b], vals):
                amounts[b].setdefault(f, []).append(v)
    score = D(rng.choice([rng.randint(60, 100), rng.randint(85, 99)])) if rng.random() < .9 \
        else D(rng.randint(800, 999)) / 10
    return Form(unit, year, orgs, amounts, score, grade_of(score), contact=rng.choice(["王芳", "李强", "刘洋", "陈静"]),
                phone=f"1{rng.randint(3000000000, 9999999999)}", quota=(q := rng.randint(10, 80)),
                actual=q - rng.randint(0, 6))


FIELDS = {"income": ["total", "carryover", "appropriation", "fund", "special_account", "other"],
          "expenditure": ["total", "basic", "personnel", "public", "project", "surplus_current", "surplus_cumulative"],
          "three_public": ["total", "reception", "vehicle_operation", "vehicle_purchase", "overseas"],
          "fixed_assets": ["total", "in_use", "rented", "other"]}


def _money(rng: random.Random, lo: float, hi: float) -> Decimal:
    return D(rng.randint(int(lo * 100), int(hi * 100))) / 100


def grade_of(score: Decimal) -> str:
    return "优" if score >= 90 else "良" if score >= 80 else "中" if score >= 60 else "差"


def summary_values(form: Form, block: str) -> dict[str, Decimal]:
    return {f: sum(vals, D(0)) for f, vals in form.amounts[block].items()}


class Sheet:
    """Cells, merges and formulas of one sheet before it is written by some library."""

    def __init__(self, name: str):
        self.name = name
        self.cells: dict[tuple[int, int], object] = {}
        self.formulas: dict[tuple[int, int], str] = {}
        self.merges: list[tuple[int, int, int, int]] = []
        self.widths: dict[int, float] = {}

    def put(self, r, c, v):
        self.cells[(r, c)] = v

    def merge(self, r1, c1, r2, c2, v=None):
        if v is not None:
            self.put(r1, c1, v)
        if (r1, c1) != (r2, c2):
            self.merges.append((r1, c1, r2, c2))


def _fmt(v: Decimal) -> str:
    s = format(v, "f")
    return s.rstrip("0").rstrip(".") if "." in s else s


def _typed(rng: random.Random, v: Decimal, text_numbers: bool):
    """The amount as a person might type it."""
    if not text_numbers or rng.random() < 0.5:
        return float(v)
    s = f"{v:,.2f}" if v >= 1000 else _fmt(v)
    style = rng.choice(["plain", "fullwidth", "space", "unit"])
    if style == "fullwidth":
        return s.translate(str.maketrans("0123456789.,", "０１２３４５６７８９．，"))
    if style == "space":
        return f" {s} "
    if style == "unit":
        return s + "万元"
    return s


def layout(form: Form, rng: random.Random | None = None) -> list[Sheet]:
    """Place the form's content on sheets; fills form.cells with the truth for every amount."""
    rng = rng or random.Random(0)
    d = form.drift
    sheets = []
    if d.cover:
        cover = Sheet("封面")
        cover.put(2, 1, f"{form.year}年度部门整体支出绩效自评材料")
        cover.put(4, 1, f"报送单位：{form.unit}")
        sheets.append(cover)
    sh = Sheet(d.sheet_name)
    sheets.append(sh)
    r0, c0 = d.row_offset, d.col_offset
    C = lambda c: c0 + c  # noqa: E731
    def lab(w: str) -> str:
        w = rng.choice(SYN[w]) if d.synonyms and w in SYN and rng.random() < 0.7 else w
        if d.spaced_labels and len(w) > 2 and rng.random() < 0.6:
            k = rng.randint(1, len(w) - 1)
            w = w[:k] + rng.choice(["\n", "  ", "\n\n", " "]) + w[k:]
        return w

    for i in range(9):
        sh.widths[C(i)] = 14
    if r0:
        sh.put(0, 0, "附件2")
    r = r0
    sh.merge(r, C(0), r, C(8), (f"{form.year}年度" if d.year_style == "title" else "") + TITLE); r += 1
    sh.merge(r, C(0), r, C(8), year_line(form.year, d.year_style)); r += 1
    if d.unit_decl == "form":
        sh.put(r - 1, C(9), "金额单位：元")
    if d.inline_unit:
        sh.merge(r, C(0), r, C(8), f"填报单位（盖章）：{form.unit}　　填报日期：{form.year + 1}年3月24日")
        form.cells.append({"block": "unit", "org": "", "field": "unit", "cell": a1(r, C(0)), "sheet": sh.name,
                           "value": form.unit})
    else:
        sh.put(r, C(0), "填报单位（盖章）："); sh.merge(r, C(1), r, C(4), form.unit)
        sh.put(r, C(5), "填报日期："); sh.merge(r, C(6), r, C(8), f"{form.year + 1}年3月10日")
    r += 1
    sh.merge(r, C(0), r, C(8), "一、部门（单位）基本概况"); r += 1
    sh.put(r, C(0), "联系人"); sh.merge(r, C(1), r, C(2), form.contact)
    sh.put(r, C(3), "联络电话"); sh.merge(r, C(4), r, C(8), form.phone); r += 1
    sh.put(r, C(0), "人员编制"); sh.merge(r, C(1), r, C(2), form.quota)
    sh.put(r, C(3), "实有人数"); sh.merge(r, C(4), r, C(8), form.actual)
    form.cells.append({"block": "unit", "org": "", "field": "staff_actual", "cell": a1(r, C(4)), "sheet": sh.name})
    r += 1
    for label, text in (("职能职责概述", f"{form.unit}负责本系统的行政管理和公共服务工作。"),
                        ("年度主要工作内容", "一、完成年度重点工作任务。\n二、加强预算管理。"),
                        ("年度部门（单位）总体运行情况及取得的成绩", "各项工作运行平稳，目标任务基本完成。")):
        sh.put(r, C(0), label); sh.merge(r, C(1), r, C(8), text); r += 1
    sh.merge(r, C(0), r, C(8), "二、部门（单位）收支情况"); r += 1
    for block in ("income", "expenditure", "three_public", "fixed_assets"):
        table = _table_measured if d.measures else _table
        r = table(sh, form, block, r, C, lab, rng) + d.gap_rows
    if d.split_sheet:
        cont = Sheet("表二")
        cont.merge(0, C(0), 0, C(8), TITLE + "（续表）")
        for i in range(9):
            cont.widths[C(i)] = 14
        k = len(form.cells)
        _tail(cont, form, 2, C, rng)
        for c in form.cells[k:]:
            c["cell"] = f"'表二'!{c['cell']}"
        sheets.append(cont)
    else:
        r = _tail(sh, form, r, C, rng)
    if d.report_sheet:
        rep = Sheet("评价报告")
        rep.put(0, 0, "五、评价报告综述")
        rep.put(1, 0, report_text(form, rng))
        form.cells.append({"block": "report", "org": "", "field": "text", "cell": "'评价报告'!A2", "sheet": sh.name})
        rep.widths[0] = 100
        sheets.append(rep)
    else:
        sh.merge(r, C(0), r, C(8), "五、评价报告综述"); r += 1
        sh.merge(r, C(0), r, C(8), report_text(form, rng))
        form.cells.append({"block": "report", "org": "", "field": "text", "cell": a1(r, C(0)), "sheet": sh.name})
    return sheets


def _table(sh: Sheet, form: Form, block: str, r: int, C, lab, rng) -> int:
    d = form.drift
    yuan = d.yuan_block == block or d.unit_decl == "form"
    scale = D(10000) if yuan else D(1)
    flat = d.flat_header and block != "expenditure"
    n_head = 3 if block == "expenditure" else 1 if flat else 2
    orgs = [d.summary_label or "局机关及二级机构汇总"] + [f"{i}、{o}" for i, o in enumerate(form.orgs, 1)]
    title = BLOCK_TITLE[block].format(u="元" if yuan and not d.unit_decl else "万元")
    if d.unit_decl:
        title = title.replace("（万元）", "")
    if d.unit_decl == "corner" and yuan:
        sh.put(r, C(9), "单位：元")
        r += 1
    if d.title_row:
        sh.merge(r, C(0), r, C(8), title)
        r += 1
    first_data = r + n_head
    last = first_data + len(orgs) - 1 + (1 if d.blank_row else 0)
    if not d.title_row:
        sh.merge(r, C(0), last, C(0), title)
    sh.merge(r, C(1), r + n_head - 1, C(1), lab("机构名称"))
    sh.merge(r, C(2), r + n_head - 1, C(2), lab(TOTAL_LABEL[block]))
    cols: dict[str, int] = {"total": C(2)}
    if block == "expenditure":
        sh.merge(r, C(3), r, C(6), "其中："); sh.merge(r, C(7), r, C(8), "结余")
        sh.merge(r + 1, C(3), r + 2, C(3), "基本支出"); sh.merge(r + 1, C(4), r + 1, C(5), "其中：")
        sh.merge(r + 1, C(6), r + 2, C(6), "项目支出"); sh.merge(r + 1, C(7), r + 2, C(7), "当年结余")
        sh.merge(r + 1, C(8), r + 2, C(8), "累计结余")
        sh.put(r + 2, C(4), "人员支出"); sh.put(r + 2, C(5), "公用支出")
        cols.update(basic=C(3), personnel=C(4), public=C(5), project=C(6), surplus_current=C(7),
                    surplus_cumulative=C(8))
    else:
        heads = list(HEAD[block])
        if d.shuffle:
            rng.shuffle(heads)
        end = C(8) if block != "fixed_assets" else C(3) + len(heads) - 1
        if not flat:
            sh.merge(r, C(3), r, end, "其中：")
        for i, (fld, word) in enumerate(heads):
            sh.put(r + n_head - 1, C(3) + i, lab(word))
            cols[fld] = C(3) + i
    summary = summary_values(form, block)
    written: dict[tuple[int, str], object] = {}     # Decimal, text as typed, or None (blank)
    for i in range(len(orgs)):
        for fld in cols:
            if i == 0:
                v = None if d.summary_blank else form.summary_overrides.get((block, fld), summary[fld])
            else:
                v = form.amounts[block][fld][i - 1]
            if v is not None:
                v = form.cell_overrides.get((block, i, fld), v)
            raw = form.cell_text.get((block, i, fld))
            written[(i, fld)] = raw if raw is not None else v
    formulas = _formulas(form, block, cols, written, len(orgs), first_data, last) \
        if d.formulas and not d.summary_bottom else {}
    for i, org in enumerate(orgs):
        rr = _data_row(d, i, len(orgs), first_data)
        sh.put(rr, C(1), lab(org) if i == 0 and not d.summary_label else org)
        for fld, col in cols.items():
            v = written[(i, fld)]
            rec = {"block": block, "row": i, "org": org, "field": fld, "cell": a1(rr, col), "sheet": sh.name}
            if (i, fld) in formulas:
                text, v = formulas[(i, fld)]
                sh.formulas[(rr, col)] = text
            elif v is None:
                form.cells.append({**rec, "value": None, "blank": True})
                continue
            elif isinstance(v, str):
                sh.put(rr, col, v)
                form.cells.append({**rec, "value": None, "raw": v})
                continue
            elif v < 0 and d.negatives:
                sh.put(rr, col, negative_text(v * scale, d.negatives))
            else:
                sh.put(rr, col, _typed(rng, v * scale, d.text_numbers))
            form.cells.append({**rec, "value": _fmt(v)})
    return last + 1


def _data_row(d: Drift, i: int, n: int, first_data: int) -> int:
    """The sheet row of org line i (0 the summary): under the sub-units when summary_bottom."""
    if d.summary_bottom:
        return first_data + (n - 1 if i == 0 else i - 1)
    return first_data + i + (1 if d.blank_row and i > 0 else 0)


def year_line(year: int, style: str) -> str:
    if style == "cn":
        return "（" + str(year).translate(str.maketrans("0123456789", "〇一二三四五六七八九")) + "年度）"
    if style == "spaced":
        return f"（{year} 年度）"
    if style == "plain":
        return f"（{year}年）"
    if style == "title":
        return ""
    return f"（{year}年度）"


def negative_text(v: Decimal, style: str) -> str:
    a = _fmt(-v)
    return {"paren": f"({a})", "fullparen": f"（{a}）", "delta": f"△{a}", "fullminus": f"－{a}",
            "minus": f"-{a}"}[style]


def make_negative(form: Form, i: int = 0) -> None:
    """Sub-unit i spends more than it received this year: its 当年结余 (and maybe 累计结余) < 0,
    every identity still holding."""
    e, inc = form.amounts["expenditure"], form.amounts["income"]
    surplus = e["surplus_current"][i]
    if surplus < 0:
        return  # already spends more than it received
    extra = surplus + D("12.5")
    e["project"][i] += extra
    e["total"][i] += extra
    e["surplus_current"][i] = surplus - extra
    e["surplus_cumulative"][i] = e["surplus_current"][i] + inc["carryover"][i]


def _table_measured(sh: Sheet, form: Form, block: str, r: int, C, lab, rng) -> int:
    """The budget/actual variant: every field a header merged across its value columns
    (预算数 / 决算数 …, 年初数 / 年末数 for fixed assets), one row of measure words under it. The last
    column is the final figure (the checked one); the others hold twice it (so every identity
    holds among them too) and are recorded with their measure."""
    d = form.drift
    words = ("年初数", "年末数") if block == "fixed_assets" else tuple(d.measures)
    kinds = {"预算数": "budget", "年初预算数": "budget", "调整预算数": "adjusted_budget", "调整后预算数": "adjusted_budget",
             "决算数": "final", "执行数": "final", "年初数": "opening", "年末数": "final"}
    k = len(words)
    yuan = d.yuan_block == block or d.unit_decl == "form"
    scale = D(10000) if yuan else D(1)
    orgs = [d.summary_label or "局机关及二级机构汇总"] + [f"{i}、{o}" for i, o in enumerate(form.orgs, 1)]
    title = BLOCK_TITLE[block].format(u="元" if yuan and not d.unit_decl else "万元")
    if d.unit_decl:
        title = title.replace("（万元）", "")
    if d.unit_decl == "corner" and yuan:
        sh.put(r, C(9), "单位：元")
        r += 1
    fields = FIELDS[block]
    first_data = r + 2
    last = first_data + len(orgs) - 1
    sh.merge(r, C(0), last, C(0), title)
    sh.merge(r, C(1), r + 1, C(1), lab("机构名称"))
    words_of = {"total": TOTAL_LABEL[block]}
    if block == "expenditure":
        words_of.update(basic="基本支出", personnel="人员支出", public="公用支出", project="项目支出",
                        surplus_current="当年结余", surplus_cumulative="累计结余")
    else:
        words_of.update(dict(HEAD[block]))
    cols: dict[tuple[str, int], int] = {}
    for j, fld in enumerate(fields):
        c = C(2) + j * k
        sh.merge(r, c, r, c + k - 1, lab(words_of[fld]))
        for m, w in enumerate(words):
            sh.put(r + 1, c + m, w)
            cols[(fld, m)] = c + m
    summary = summary_values(form, block)
    for i, org in enumerate(orgs):
        rr = _data_row(d, i, len(orgs), first_data) if d.summary_bottom else first_data + i
        sh.put(rr, C(1), lab(org) if i == 0 and not d.summary_label else org)
        for fld in fields:
            if i == 0:
                v = None if d.summary_blank else summary[fld]
                final = form.summary_overrides.get((block, fld), v) if v is not None else None
            else:
                v = form.amounts[block][fld][i - 1]
                final = v
            if final is not None:
                final = form.cell_overrides.get((block, i, fld), final)
            raw = form.cell_text.get((block, i, fld))
            for m, w in enumerate(words):
                col = cols[(fld, m)]
                is_final = m == k - 1
                rec = {"block": block, "row": i, "org": org, "field": fld, "cell": a1(rr, col), "sheet": sh.name}
                if not is_final:
                    rec["measure"] = kinds.get(w, "budget")
                x = final if is_final else (None if v is None else v * 2)
                if is_final and raw is not None:
                    sh.put(rr, col, raw)
                    form.cells.append({**rec, "value": None, "raw": raw})
                    continue
                if x is None:
                    form.cells.append({**rec, "value": None, "blank": True})
                    continue
                if x < 0 and d.negatives:
                    sh.put(rr, col, negative_text(x * scale, d.negatives))
                else:
                    sh.put(rr, col, _typed(rng, x * scale, d.text_numbers))
                form.cells.append({**rec, "value": _fmt(x)})
    return last + 1


def _formulas(form: Form, block: str, cols: dict, written: dict, n: int, first: int, last: int) -> dict:
    """Totals as =SUM() formulas where nothing was planted: sub-unit totals of the flat tables and
    every summary cell. Values are what a spreadsheet computes from the cells as written."""
    def num(x):
        return x if isinstance(x, Decimal) else D(0)

    out = {}
    parts = [f for f in cols if f != "total"]
    for i in range(1, n):
        if block != "expenditure" and isinstance(written[(i, "total")], Decimal) \
                and (block, i, "total") not in form.cell_overrides:
            rr = first + i + (1 if form.drift.blank_row else 0)
            text = f"=SUM({a1(rr, min(cols[f] for f in parts))}:{a1(rr, max(cols[f] for f in parts))})"
            out[(i, "total")] = (text, sum((num(written[(i, f)]) for f in parts), D(0)))
    for fld, col in cols.items():
        if isinstance(written[(0, fld)], Decimal) and (block, fld) not in form.summary_overrides \
                and (block, 0, fld) not in form.cell_overrides:
            vals = [out.get((i, fld), (None, written[(i, fld)]))[1] for i in range(1, n)]
            out[(0, fld)] = (f"=SUM({a1(first + 1, col)}:{a1(last, col)})", sum((num(v) for v in vals), D(0)))
    return out


def _tail(sh: Sheet, form: Form, r: int, C, rng) -> int:
    sh.merge(r, C(0), r, C(8), "三、部门（单位）整体支出绩效自评情况"); r += 1
    sh.merge(r, C(0), r + 1, C(0), "整体支出绩效定性目标及实施计划完成情况")
    sh.merge(r, C(1), r, C(4), "预期目标"); sh.merge(r, C(5), r, C(8), "实际完成"); r += 1
    sh.merge(r, C(1), r, C(4), "目标1：完成年度重点工作。"); sh.merge(r, C(5), r, C(8), "已完成。"); r += 1
    inds = [("产出目标", "数量指标"), ("产出目标", "质量指标"), ("产出目标", "时效指标"), ("产出目标", "成本指标"),
            ("效益目标", "社会效益"), ("效益目标", "社会公众或服务对象满意度")]
    sh.merge(r, C(0), r + len(inds), C(0), "整体支出绩效定量目标及实施计划完成情况")
    sh.merge(r, C(1), r, C(2), "评价内容"); sh.merge(r, C(3), r, C(5), "绩效目标"); sh.merge(r, C(6), r, C(8), "完成情况")
    r += 1
    sh.merge(r, C(1), r + 3, C(1), "产出目标"); sh.merge(r + 4, C(1), r + 5, C(1), "效益目标")
    for i, (_, kind) in enumerate(inds):
        sh.put(r + i, C(2), kind)
        sh.merge(r + i, C(3), r + i, C(5), f"{kind}目标{i + 1}")
        sh.merge(r + i, C(6), r + i, C(8), "达到预期")
    r += len(inds)
    d = form.drift
    score = f"{_fmt(form.score)}分" if d.score_style == "fen" else float(form.score)
    grade = form.grade
    if d.score_style == "grade_with_score":
        grade = f"{form.grade}（{_fmt(form.score)}分）"
    elif d.score_style == "long_grade":
        grade = {"优": "优秀", "良": "良好"}.get(form.grade, form.grade)
    sh.merge(r, C(0), r, C(2), "绩效自评综合得分"); sh.merge(r, C(3), r, C(8), score)
    form.cells.append({"block": "unit", "org": "", "field": "score", "cell": a1(r, C(3)), "sheet": sh.name})
    r += 1
    sh.merge(r, C(0), r, C(2), "评价等次"); sh.merge(r, C(3), r, C(8), grade)
    form.cells.append({"block": "unit", "org": "", "field": "grade", "cell": a1(r, C(3)), "sheet": sh.name})
    r += 1
    sh.merge(r, C(0), r, C(8), "四、评价人员"); r += 1
    sh.merge(r, C(0), r, C(1), "姓  名"); sh.merge(r, C(2), r, C(3), "职务/职称")
    sh.merge(r, C(4), r, C(6), "单  位"); sh.merge(r, C(7), r, C(8), "签  字"); r += 1
    for name, title in (("赵一", "局长"), (form.contact, "财务股股长")):
        sh.merge(r, C(0), r, C(1), name); sh.merge(r, C(2), r, C(3), title); sh.merge(r, C(4), r, C(6), form.unit)
        r += 1
    sh.merge(r, C(0), r, C(8), "评价组组长（签字）：                年    月    日"); r += 1
    sh.merge(r, C(0), r, C(8), f"填报人（签名）：{form.contact}                 联系电话： {form.phone}"); r += 1
    return r


REPORT_TEMPLATES = [
    "{y}年，{unit}收入合计{income.total}万元，其中财政拨款{income.appropriation}万元、其他收入{income.other}万元。"
    "本年度实际支出{expenditure.total}万元，其中基本支出{expenditure.basic}万元，项目支出{expenditure.project}万元。",
    "一、单位概况\n{unit}是全额拨款单位。\n二、收支情况\n{y}年度收入合计{income.total}万元，上年结转{income.carryover}万元，"
    "财政拨款{income.appropriation}万元；支出合计{expenditure.total}万元。",
]
REPORT_TAIL = ("基本支出{expenditure.basic}万元，其中人员支出{expenditure.personnel}万元，公用支出{expenditure.public}万元。"
               "“三公经费”支出总额为{three_public.total}万元。项目资金预算30万元，主要用于专项工作。")


def report_text(form: Form, rng: random.Random) -> str:
    figures = {}
    for block in form.amounts:
        for fld, v in summary_values(form, block).items():
            figures[f"{block}.{fld}"] = _fmt(form.report_overrides.get(f"{block}.{fld}", v))
    text = rng.choice(REPORT_TEMPLATES) + REPORT_TAIL
    text = text.replace("{y}", str(form.year)).replace("{unit}", form.unit)
    for k, v in figures.items():
        text = text.replace("{" + k + "}", v)
    return text

