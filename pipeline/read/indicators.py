"""The form's goals and indicator table as read (targets, completions, 分值 and 得分 with their
cells), and the compact texts a run sends to the parent for the indicator checks."""
from __future__ import annotations

from ..models import Fact, UnitForm
from .labels import Labels, norm
from .sheet import SheetView

# Column headers of the variant forms that weigh and score each indicator. A labels.toml that
# lists facts.indicator_weight / facts.indicator_points overrides these.
WEIGHT_WORDS = frozenset(norm(w) for w in ("分值", "权重", "指标分值", "标准分值", "权重分值", "分数", "标准分"))
POINTS_WORDS = frozenset(norm(w) for w in ("得分", "指标得分", "评分", "实际得分", "自评分", "自评分值"))


def goals(sv: SheetView, lab: Labels, form: UnitForm, rc) -> None:
    """定性目标: each 预期目标 cell and the 实际完成 cell beside it."""
    r, c = rc
    actual_col = None
    for (rr, cc), t in sv.labels.items():
        if rr == r and cc > c and t in lab.facts["goals_actual"]:
            actual_col = cc
    row = sv.span(rc)[2] + 1
    for rr in range(row, row + 10):
        exp = sv.text((rr, c))
        if not exp or sv.label((rr, c)) in lab.facts["indicator_header"] or sv.top_left((rr, c))[1] < c:
            break
        act = Fact(sv.text((rr, actual_col)), sv.ref((rr, actual_col)), sv.raw((rr, actual_col))) \
            if actual_col is not None and sv.text((rr, actual_col)) else None
        form.goals.append((Fact(exp, sv.ref((rr, c)), sv.raw((rr, c))), act))


def indicators(sv: SheetView, lab: Labels, form: UnitForm, rc) -> None:
    """定量指标: one dict per row with its category, kind, target and completion (texts and
    cells) and, where the form has those columns, 分值 (weight) and 得分 (points)."""
    r, c = rc
    target_col = result_col = weight_col = points_col = None
    weight_words = lab.facts.get("indicator_weight") or WEIGHT_WORDS
    points_words = lab.facts.get("indicator_points") or POINTS_WORDS
    header_rows = range(r, sv.span(rc)[2] + 1)
    for (rr, cc), t in sv.labels.items():
        if rr == r and cc > c:
            if t in lab.facts["indicator_target"] and target_col is None:
                target_col = cc
            elif t in lab.facts["indicator_result"] and result_col is None:
                result_col = cc
        if rr in header_rows and cc > c:
            if t in weight_words and weight_col is None:
                weight_col = cc
            elif t in points_words and points_col is None:
                points_col = cc
    if target_col is None:
        return
    stop = lab.facts["score"] | lab.facts["grade"] | lab.facts["evaluator_name"]
    # the rows holding a stop label in columns 0..target_col, from one pass over the labels
    # (an empty word in stop would match every unlabelled cell: then cell by cell)
    if "" in stop:
        stop_rows = {rr for rr in range(sv.g.nrows)
                     if any(sv.label((rr, cc)) in stop for cc in range(0, target_col + 1))}
    else:
        stop_rows = {rr for (rr, cc), t in sv.labels.items() if cc <= target_col and t in stop}
    for rr in range(sv.span(rc)[2] + 1, sv.g.nrows):
        if rr in stop_rows:
            break
        if sv.top_left((rr, c))[1] < c:
            break
        cat = sv.text(sv.top_left((rr, c)))
        kind = sv.text(sv.top_left((rr, c + 1)))
        target = sv.text((rr, target_col))
        result = sv.text((rr, result_col)) if result_col is not None else ""
        if not (target or result):
            continue
        rec = {"category": cat, "type": kind, "target": target, "result": result,
               "cell": sv.ref((rr, target_col)),
               "result_cell": sv.ref((rr, result_col)) if result_col is not None else ""}
        for key, col in (("weight", weight_col), ("points", points_col)):
            if col is not None and sv.top_left((rr, col)) == (rr, col):
                num, status, _ = sv.number((rr, col))
                rec[key] = num if status == "ok" else None
                rec[key + "_cell"] = sv.ref((rr, col))
                rec[key + "_raw"] = sv.raw((rr, col))
        form.indicators.append(rec)


def pack_texts(form: UnitForm) -> tuple:
    """What the indicator checks read of one form, as plain tuples (the report text travels in
    the unit record already):
    (goals: ((expected cell, expected, actual cell, actual), ...),
     indicators: ((category, kind, target cell, target, result cell, result,
                   weight cell, weight, points cell, points, points raw), ...),
     work: (cell, text) | None, overall: (cell, text) | None)"""
    goals_t = tuple((e.cell, str(e.value), a.cell if a else "", str(a.value) if a else "")
                    for e, a in form.goals)
    inds = tuple((i.get("category", ""), i.get("type", ""), i.get("cell", ""), i.get("target", ""),
                  i.get("result_cell", ""), i.get("result", ""), i.get("weight_cell", ""), i.get("weight"),
                  i.get("points_cell", ""), i.get("points"), i.get("points_raw", ""))
                 for i in form.indicators)
    work = (form.work.cell, str(form.work.value)) if form.work else None
    overall = (form.overall.cell, str(form.overall.value)) if form.overall else None
    return goals_t, inds, work, overall
