"""Hand-built layouts, cell by cell: a Grid per sheet, then an openpyxl workbook.

Records for every amount cell where it went (sheet, cell), and for every planted finding
the cell where the README says the finding sits.
"""
from __future__ import annotations

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, Side
from openpyxl.utils import get_column_letter

from .figures import FIELDS

MEASURE_SETS = {
    "single": [("final", None)],
    "bf": [("budget", "预算数"), ("final", "决算数")],
    "baf": [("budget", "年初预算数"), ("adjusted_budget", "调整预算数"), ("final", "决算数")],
    "baf2": [("budget", "年初预算数"), ("adjusted_budget", "调整后预算数"), ("final", "决算数")],
    "be": [("budget", "预算数"), ("final", "执行数")],
    "of": [("opening", "年初数"), ("final", "年末数")],
}

# header label paths per field, top to bottom (a shorter path merges down)
HEAD = {
    "income": {"total": ["收入合计"], "carryover": ["其中：", "上年结转"],
               "appropriation": ["其中：", "公共财政拨款"], "fund": ["其中：", "政府基金拨款"],
               "special_account": ["其中：", "纳入专户管理的非税收入拨款"],
               "other": ["其中：", "其他收入"]},
    "expenditure": {"total": ["支出合计"], "basic": ["其中：", "基本支出"],
                    "personnel": ["其中：", "其中：", "人员支出"],
                    "public": ["其中：", "其中：", "公用支出"], "project": ["其中：", "项目支出"],
                    "surplus_current": ["结余", "当年结余"],
                    "surplus_cumulative": ["结余", "累计结余"]},
    "three_public": {"total": ["三公经费合计"], "reception": ["其中：", "公务接待费"],
                     "vehicle_operation": ["其中：", "公务用车运维费"],
                     "vehicle_purchase": ["其中：", "公务用车购置费"],
                     "overseas": ["其中：", "因公出国费"]},
    "fixed_assets": {"total": ["固定资产合计"], "in_use": ["其中：", "在用固定资产"],
                     "rented": ["其中：", "出租固定资产"], "other": ["其中：", "其他"]},
}
TITLES = {"income": "年度收入情况", "expenditure": "部门（单位）年度支出和结余情况",
          "three_public": "三公经费", "fixed_assets": "固定资产"}
THIN = Side(style="thin")
BOX = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)


class Grid:
    def __init__(self, name):
        self.name, self.cells, self.fmts, self.merges, self.boxed = name, {}, {}, [], set()
        self.row = 1

    def put(self, r, c, v, fmt=None, to=None, box=False):
        self.cells[(r, c)] = v
        if fmt:
            self.fmts[(r, c)] = fmt
        if to and to != (r, c):
            self.merges.append((r, c, to[0], to[1]))
        if box:
            for rr in range(r, (to or (r, c))[0] + 1):
                for cc in range(c, (to or (r, c))[1] + 1):
                    self.boxed.add((rr, cc))

    def line(self, c, v, width, **kw):
        """A text line in column c merged over `width` columns; advances the cursor."""
        self.put(self.row, c, v, to=(self.row, c + width - 1) if width > 1 else None, **kw)
        self.row += 1


def ref(r, c):
    return f"{get_column_letter(c)}{r}"


def to_workbook(grids, path):
    wb = Workbook()
    wb.remove(wb.active)
    for g in grids:
        ws = wb.create_sheet(g.name)
        for (r, c), v in g.cells.items():
            cell = ws.cell(r, c, v)
            if (r, c) in g.fmts:
                cell.number_format = g.fmts[(r, c)]
            if isinstance(v, str) and len(v) > 30:
                cell.alignment = Alignment(wrap_text=True, vertical="top")
        for (r, c) in g.boxed:
            ws.cell(r, c).border = BOX
        for r1, c1, r2, c2 in g.merges:
            ws.merge_cells(start_row=r1, start_column=c1, end_row=r2, end_column=c2)
        ws.column_dimensions["A"].width = 14
        for c in range(2, 24):
            ws.column_dimensions[get_column_letter(c)].width = 13
        if g.cells.get((1, 1)) or g.cells.get((1, 2)):
            for c in (1, 2):
                if (1, c) in g.cells:
                    ws.cell(1, c).font = Font(bold=True, size=16)
    wb.save(path)


def table(g, rng, spec, block, tdata, writer, out):
    """Writes one amount table at g.row. spec: layout switches of this table."""
    c0 = spec["c0"]
    measures = MEASURE_SETS[spec["mset"]]
    unit = tdata["unit"]
    tail = {"万元": "（万元）", "元": "（元）"}[unit]
    title = TITLES[block]
    decl = spec["decl"]  # title | corner | above | header | global | none
    if decl == "title":
        title += tail
    labels = HEAD[block]
    if spec.get("syn"):
        labels = {f: [x.replace("公共财政拨款", "一般公共预算财政拨款")
                      .replace("纳入专户管理的非税收入拨款", "财政专户管理资金") for x in p]
                  for f, p in labels.items()}
    if spec.get("flat_exp") and block == "expenditure":
        labels = {f: [p[0], p[-1]] if len(p) > 2 else p for f, p in labels.items()}
    depth = max(len(p) for p in labels.values())
    hrows = depth + (1 if measures[0][1] else 0)
    cols = []  # (field, measure, label) per data column
    for f in FIELDS[block]:
        for m, ml in measures:
            cols.append((f, m, ml))
    lead = (["序号"] if spec["seq"] else []) + [spec["orghead"]]
    ncols = len(lead) + len(cols) + (1 if spec["remark"] else 0)
    tc = c0  # table's first column
    if spec["style"] == "titlerow" or decl in ("corner", "above"):
        if spec["style"] == "titlerow":
            t = spec["num"] + title
        else:
            t = None
        if decl == "corner":
            if t:
                g.put(g.row, tc, t, to=(g.row, tc + ncols - 3))
            g.put(g.row, tc + ncols - 1 + (1 if spec["style"] == "leftcol" else 0),
                  rng.choice(["单位：万元", "金额单位：万元"]) if unit == "万元" else
                  rng.choice(["单位：元", "金额单位：元"]))
        elif decl == "above":  # the title on its own line, the unit on the line below it
            if t:
                g.put(g.row, tc, t, to=(g.row, tc + ncols - 1))
                g.row += 1
            g.put(g.row, tc, ("单位：万元" if unit == "万元" else rng.choice(["单位：元", "金额单位：元"])))
        else:
            g.put(g.row, tc, t, to=(g.row, tc + ncols - 1))
        g.row += 1
    top = g.row
    if spec["style"] == "leftcol":
        nrows = hrows + len(tdata["rows"])
        g.put(top, tc, title, to=(top + nrows - 1, tc), box=True)
        tc += 1
    c = tc
    for lab in lead:
        g.put(top, c, lab, to=(top + hrows - 1, c), box=True)
        c += 1
    first = c
    # header cells: merge equal labels at a level when their prefixes are equal
    for level in range(depth):
        c = first
        while c < first + len(cols):
            f = cols[c - first][0]
            path = labels[f]
            if level >= len(path):
                c += 1
                continue
            key = tuple(path[:level + 1])
            span = 1
            while c + span < first + len(cols):
                f2 = cols[c + span - first][0]
                if tuple(labels[f2][:level + 1]) == key and len(labels[f2]) > level:
                    span += 1
                else:
                    break
            lab = path[level]
            if decl == "header" and level == 0 and lab != "其中：":
                lab += tail
            bottom = top + (depth - 1 if level == len(path) - 1 else level)
            g.put(top + level, c, lab, to=(bottom, c + span - 1), box=True)
            c += span
    if measures[0][1]:
        for i, (f, m, ml) in enumerate(cols):
            g.put(top + depth, first + i, ml, box=True)
    if spec["remark"]:
        g.put(top, first + len(cols), "备注", to=(top + hrows - 1, first + len(cols)), box=True)
    r = top + hrows
    rows = tdata["rows"]
    order = list(range(len(rows)))
    if spec["summary_bottom"]:
        order = order[1:] + [0]
    n = len(rows)
    out["_subrange"] = (r, r + n - 2) if spec["summary_bottom"] else (r + 1, r + n - 1)
    seq = 0
    for i in order:
        row = rows[i]
        c = tc
        if spec["seq"]:
            seq += 0 if row["summary"] else 1
            g.put(r, c, None if row["summary"] else seq, box=True)
            c += 1
        g.put(r, c, row["org"], box=True)
        for j, (f, m, ml) in enumerate(cols):
            writer(g, r, first + j, block, i, row, f, m, unit, out)
        if spec["remark"]:
            g.put(r, first + len(cols), None, box=True)
        r += 1
    g.row = r


def facts_rows(g, rng, fs, width, out):
    """Title, year, unit line, 填报单位, contact, staff, texts. fs: fact switches."""
    c0 = fs["c0"]
    g.line(c0, fs["title"], width)
    if fs["yearline"]:
        g.line(c0, fs["yearline"], width)
    if fs["global_decl"]:
        g.put(g.row, c0 + width - 2, fs["global_decl"])
        g.row += 1
    if fs.get("blank_top"):
        g.row += 1
    r = g.row
    mode = fs["unit_mode"]
    name, date = fs["unit"], fs["date"]
    if mode == "cells":
        g.put(r, c0, "填报单位（盖章）：" if rng.random() < 0.6 else "填报单位")
        g.put(r, c0 + 1, fs["unit_value"], to=(r, c0 + 4))
        out["unit_cell"] = ref(r, c0 + 1)
        g.put(r, c0 + 5, "填报日期：")
        g.put(r, c0 + 6, date, to=(r, c0 + width - 1))
    elif mode in ("oneplain", "onestamp"):
        lab = "填报单位：" if mode == "oneplain" else "填报单位（盖章）："
        g.put(r, c0, lab + name, to=(r, c0 + 4))
        g.put(r, c0 + 5, "填报日期：" + date, to=(r, c0 + width - 1))
    else:  # whole line in one merged cell
        g.put(r, c0, f"填报单位（盖章）：{name}{fs['gap']}填报日期：{date}", to=(r, c0 + width - 1))
    g.row += 1
    g.line(c0, "一、部门（单位）基本概况", width)
    r = g.row
    if fs["contact_one"]:
        g.put(r, c0, f"联系人：{fs['contact']}　联系电话：{fs['phone']}", to=(r, c0 + width - 1))
    else:
        g.put(r, c0, "联系人")
        g.put(r, c0 + 1, fs["contact"], to=(r, c0 + 2))
        g.put(r, c0 + 3, rng.choice(["联络电话", "联系电话"]))
        g.put(r, c0 + 4, fs["phone"], to=(r, c0 + width - 1))
    g.row += 1
    r = g.row
    g.put(r, c0, "人员编制")
    g.put(r, c0 + 1, fs["staff"][0], to=(r, c0 + 2))
    g.put(r, c0 + 3, "实有人数")
    g.put(r, c0 + 4, fs["staff"][1], to=(r, c0 + width - 1))
    g.row += 1
    for lab, txt in fs["texts"]:
        g.put(g.row, c0, lab)
        g.put(g.row, c0 + 1, txt, to=(g.row, c0 + width - 1))
        g.row += 1


def eval_rows(g, rng, es, width, out):
    """三、 goals, indicators, score and grade; 四、 evaluators. es: switches."""
    c0 = es["c0"]
    g.line(c0, "三、部门（单位）整体支出绩效自评情况", width)
    r = g.row
    g.put(r, c0, "整体支出绩效定性目标及实施计划完成情况", to=(r + 1, c0))
    g.put(r, c0 + 1, "预期目标", to=(r, c0 + 3))
    g.put(r, c0 + 4, "实际完成", to=(r, c0 + width - 1))
    g.put(r + 1, c0 + 1, es["goal"], to=(r + 1, c0 + 3))
    g.put(r + 1, c0 + 4, es["done"], to=(r + 1, c0 + width - 1))
    g.row += 2
    inds = es["indicators"]
    r = g.row
    g.put(r, c0, "整体支出绩效定量目标及实施计划完成情况", to=(r + len(inds), c0))
    g.put(r, c0 + 1, "评价内容", to=(r, c0 + 2))
    g.put(r, c0 + 3, "绩效目标", to=(r, c0 + 5))
    g.put(r, c0 + 6, "完成情况", to=(r, c0 + width - 1))
    for k, (grp, kind, target, done) in enumerate(inds, 1):
        g.put(r + k, c0 + 1, grp)
        g.put(r + k, c0 + 2, kind)
        g.put(r + k, c0 + 3, target, to=(r + k, c0 + 5))
        g.put(r + k, c0 + 6, done, to=(r + k, c0 + width - 1))
    g.row = r + len(inds) + 1
    for lab, val, key in (("绩效自评综合得分", es["score_raw"], "score_cell"),
                          ("评价等次", es["grade_raw"], "grade_cell")):
        g.put(g.row, c0, lab, to=(g.row, c0 + 2))
        g.put(g.row, c0 + 3, val, to=(g.row, c0 + width - 1))
        out[key] = (g.name, ref(g.row, c0 + 3))
        g.row += 1
    g.line(c0, "四、评价人员", width)
    r = g.row
    for cc, lab in ((0, "姓  名"), (2, "职务/职称"), (4, "单  位"), (7, "签  字")):
        g.put(r, c0 + cc, lab)
    for k, (nm, post) in enumerate(es["evaluators"], 1):
        g.put(r + k, c0, nm, to=(r + k, c0 + 1))
        g.put(r + k, c0 + 2, post, to=(r + k, c0 + 3))
        g.put(r + k, c0 + 4, es["unit"], to=(r + k, c0 + 6))
        if k == 1:
            out["evaluator_unit_cell"] = (g.name, ref(r + k, c0 + 4))
    g.row = r + len(es["evaluators"]) + 1
    g.line(c0, "评价组组长（签字）：                年    月    日", width)
    g.line(c0, "部门（单位）意见：          部门（单位）负责人（签章）：          年    月    日", width)
    g.line(c0, f"填报人（签名）：{es['contact']}                 联系电话： {es['phone']}", width)
