"""One workbook's sheets → its units: continuation sheets joined, magnitudes checked, templates named.

A sheet with amount tables starts a unit. A sheet with the form's title or its sections but no
tables (表二, …自评表（续表）, 绩效指标完成情况表) continues the unit before it — or the one after
it, when it comes first — provided it names no other unit; one that names another unit stays a
unit of its own (several units in one workbook, one form per sheet). What a continuation sheet
holds (goals, indicators, score, grade, evaluators, report, any fact the first sheet left out)
joins its unit with sheet-qualified cells ('表二'!D5).
"""
from __future__ import annotations

from decimal import Decimal

from ..models import Fact, Issue, UnitForm
from .labels import strip_enum

_FACTS = ("unit", "year", "fill_date", "contact", "phone", "staff_quota", "staff_actual", "duties",
          "work", "overall", "score", "grade", "filler", "report")
# a table this many times another's, or the report's figure, was most likely typed in 元
_MAG_LO, _MAG_HI = Decimal(2500), Decimal(40000)
_REPORT_LO, _REPORT_HI = Decimal(9500), Decimal(10500)
_BLOCK_NAMES = {"income": "收入表", "expenditure": "支出和结余表", "three_public": "三公经费表",
                "fixed_assets": "固定资产表"}


def join_continuations(placed: list[tuple[int, UnitForm]]) -> list[tuple[int, UnitForm]]:
    out: list[tuple[int, UnitForm]] = []
    pending: list[tuple[int, UnitForm]] = []
    base: UnitForm | None = None
    for pos, f in placed:
        if f.block_cells:
            for p in pending:
                if _same_unit(f, p[1]):
                    _merge(f, p[1])
                else:
                    out.append(p)
            pending = []
            out.append((pos, f))
            base = f
        elif base is not None and _same_unit(base, f):
            _merge(base, f)
        else:
            pending.append((pos, f))
    out.extend(pending)
    out.sort(key=lambda x: x[0])
    return out


def _name(f: UnitForm) -> str:
    return strip_enum(f.unit_name) if f.unit and isinstance(f.unit.value, str) else ""


def _same_unit(base: UnitForm, other: UnitForm) -> bool:
    a, b = _name(base), _name(other)
    return not a or not b or a == b or a in b or b in a


def _q(sheet: str, cell: str) -> str:
    return cell if not cell or "!" in cell else f"'{sheet}'!{cell}"


def _qualified(sheet: str, rec: dict) -> dict:
    return {k: _q(sheet, v) if k.endswith("cell") and isinstance(v, str) else v for k, v in rec.items()}


def _merge(base: UnitForm, cont: UnitForm) -> None:
    sh = cont.sheet
    for name in _FACTS:
        fact = getattr(cont, name)
        if fact is not None and getattr(base, name) is None:
            setattr(base, name, Fact(fact.value, _q(sh, fact.cell), fact.raw))
    base.goals.extend((Fact(e.value, _q(sh, e.cell), e.raw),
                       None if a is None else Fact(a.value, _q(sh, a.cell), a.raw)) for e, a in cont.goals)
    base.indicators.extend(_qualified(sh, i) for i in cont.indicators)
    base.evaluators.extend(_qualified(sh, e) for e in cont.evaluators)
    for i in cont.issues:
        if i.code != "BLOCK_MISSING":
            base.issues.append(Issue(i.code, _q(sh, i.cell), i.block, i.field, i.org, i.raw, i.detail))
    base.joined.append(sh)


def _table_totals(form: UnitForm) -> dict[str, tuple[Decimal, str]]:
    """Per table, the final figure that represents it: the summary row's total, else the largest
    sub-unit total (blank tables left out)."""
    out: dict[str, tuple[Decimal, str]] = {}
    for row in form.rows:
        if row.measure != "final" or row.role:
            continue
        amt = row.amounts.get("total")
        if amt is None or amt.value is None or amt.value <= 0:
            continue
        have = out.get(row.block)
        if row.is_summary or have is None or (not have[2] and amt.value > have[0]):
            out[row.block] = (amt.value, amt.cell, row.is_summary)
    return {b: (v, c) for b, (v, c, _) in out.items()}


def check_magnitude(form: UnitForm) -> None:
    """A table about 10,000× the unit's other tables or the figures its report states: one
    核实性 issue naming the table and the likely cause (the cross-table rules leave it out)."""
    totals = _table_totals(form)
    suspects: dict[str, str] = {}
    stated = {}
    for key, value, _ in form.report_figures or ():
        if key.endswith(".total") and value and value > 0:
            stated.setdefault(key.split(".")[0], value)
    for block, (v, _) in totals.items():
        s = stated.get(block)
        if s is not None and _REPORT_LO <= v / s <= _REPORT_HI:
            suspects[block] = f"约为评价报告所述金额（{s}万元）的10000倍"
    inc, exp = totals.get("income"), totals.get("expenditure")
    if inc and exp and "income" not in suspects and "expenditure" not in suspects:
        ratio = inc[0] / exp[0]
        if _MAG_LO <= ratio <= _MAG_HI:
            suspects["income"] = "约为支出和结余表金额的10000倍"
        elif _MAG_LO <= 1 / ratio <= _MAG_HI:
            suspects["expenditure"] = "约为收入表金额的10000倍"
    ref = max((totals[b][0] for b in ("income", "expenditure") if b in totals and b not in suspects), default=None)
    if ref:
        for block, limit in (("three_public", Decimal(50)), ("fixed_assets", _MAG_LO)):
            if block in totals and block not in suspects and totals[block][0] / ref >= limit:
                suspects[block] = "远大于收支金额，约为其10000倍量级"
    for block, why in suspects.items():
        v, cell = totals[block]
        form.issues.append(Issue("MAGNITUDE", cell, block, "total", "", str(v),
                                 f"{_BLOCK_NAMES[block]}金额（{cell} = {v}）{why}，疑似以元填报却标为万元；"
                                 f"请核实该表的金额单位"))
        form.magnitude.append(block)


def fingerprint(form: UnitForm, renamed: set[str], header_words: set[str]) -> str:
    """standard | budget_actual · split_sheet · renamed_labels, joined by '+'."""
    parts = []
    if any(row.measure != "final" for row in form.rows):
        parts.append("budget_actual")
    if form.joined:
        parts.append("split_sheet")
    if header_words & renamed:
        parts.append("renamed_labels")
    return "+".join(parts) or "standard"


def file_template(forms: list[UnitForm]) -> str:
    return ";".join(dict.fromkeys(f.template for f in forms if f.template))
