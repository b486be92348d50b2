"""Plant discrepancies of every kind in generated forms and record where they must be flagged."""
from __future__ import annotations

import random
from decimal import Decimal

from .formgen import Form, grade_of, summary_values

D = Decimal
KINDS = ["identity", "basic", "surplus", "rollup", "negative", "text", "score", "grade", "narrative",
         "staff", "three_public", "missing", "summary_blank"]


def plant(form: Form, kind: str, rng: random.Random) -> None:
    """Change the form so that exactly one discrepancy of this kind stands; record (rule, where)."""
    subs = len(form.orgs)
    i = rng.randint(1, subs)                       # a sub-unit row (0 is the summary row)
    if kind == "identity":
        block = rng.choice(["income", "three_public", "fixed_assets"])
        old = form.amounts[block]["total"][i - 1]
        form.cell_overrides[(block, i, "total")] = old + D(rng.choice(["0.5", "1.2", "10", "0.06"]))
        rule = {"income": "INC-001", "three_public": "TPF-001", "fixed_assets": "FA-001"}[block]
        form.planted.append({"rule": rule, "block": block, "row": i, "field": "total"})
    elif kind == "basic":
        old = form.amounts["expenditure"]["basic"][i - 1]
        form.cell_overrides[("expenditure", i, "basic")] = old + D("3.5")
        form.planted.append({"rule": "EXP-002", "block": "expenditure", "row": i, "field": "basic"})
    elif kind == "surplus":
        old = form.amounts["expenditure"]["surplus_current"][i - 1]
        form.cell_overrides[("expenditure", i, "surplus_current")] = old + D("2")
        form.planted.append({"rule": "EXP-003", "block": "expenditure", "row": i, "field": "surplus_current"})
    elif kind == "rollup":
        form.drift.summary_blank = False
        block, fld = rng.choice([("fixed_assets", "in_use"), ("income", "appropriation"),
                                 ("expenditure", "personnel"), ("three_public", "reception")])
        form.summary_overrides[(block, fld)] = summary_values(form, block)[fld] + D("1.5")
        form.planted.append({"rule": "SUM-001", "block": block, "row": 0, "field": fld})
    elif kind == "negative":
        vals = form.amounts["fixed_assets"]
        delta = D("-3") - vals["other"][i - 1]
        vals["other"][i - 1] = D("-3")
        vals["total"][i - 1] += delta
        form.planted.append({"rule": "NEG-001", "block": "fixed_assets", "row": i, "field": "other"})
    elif kind == "text":
        block, fld = rng.choice([("income", "other"), ("three_public", "reception"), ("fixed_assets", "rented")])
        form.cell_text[(block, i, fld)] = rng.choice(["待定", "见附表", "暂无数据"])
        form.planted.append({"rule": "TXT-001", "block": block, "row": i, "field": fld})
    elif kind == "score":
        form.score = D(rng.choice([105, 120, -5]))
        form.grade = "优"
        form.planted.append({"rule": "SCO-001", "block": "unit", "field": "score"})
    elif kind == "grade":
        form.score = D(rng.choice([85, 72, 55, "89.5"]))
        form.grade = "优" if grade_of(form.score) != "优" else "良"
        form.planted.append({"rule": "GRD-001", "block": "unit", "field": "grade"})
    elif kind == "narrative":
        key = rng.choice(["income.total", "expenditure.total", "expenditure.basic", "income.appropriation"])
        block, fld = key.split(".")
        form.report_overrides[key] = summary_values(form, block)[fld] - D("0.06")
        form.planted.append({"rule": "NAR-001", "block": "report", "field": key})
    elif kind == "staff":
        form.actual = form.quota + rng.randint(1, 5)
        form.planted.append({"rule": "STF-001", "block": "unit", "field": "staff_actual"})
    elif kind == "three_public":
        tp = form.amounts["three_public"]
        exp_total = form.amounts["expenditure"]["total"][i - 1]
        extra = exp_total + D(50) - tp["total"][i - 1]
        tp["reception"][i - 1] += extra
        tp["total"][i - 1] += extra
        form.planted.append({"rule": "TPF-002", "block": "three_public", "row": i, "field": "total"})
    elif kind == "missing":
        form.contact = ""
        form.planted.append({"rule": "REQ-001", "block": "unit", "field": "contact", "cell": ""})
    elif kind == "summary_blank":
        form.drift.summary_blank = True
        form.planted.append({"rule": "SUM-002", "block": "income", "row": 0, "field": "total"})
    else:
        raise ValueError(kind)


def expected(form: Form) -> list[dict]:
    """The planted findings with their cells, once the form has been laid out."""
    out = []
    for p in form.planted:
        cell = p.get("cell")
        if cell is None:
            for c in form.cells:
                if c["block"] == p["block"] and c["field"] == p["field"] and c.get("row", 0) == p.get("row", 0) \
                        and "measure" not in c:
                    cell = c["cell"]
                    break
            if p["block"] == "report":
                cell = next(c["cell"] for c in form.cells if c["block"] == "report")
        out.append({**p, "cell": cell or ""})
    return out
