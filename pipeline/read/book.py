"""One workbook's sheets → its units: continuation sheets joined, magnitudes checked, templates named.

A sheet with amount tables starts a unit. A sheet with the form's title or its sections but no
tables (表二, …自评表（续表）, 绩效指标完成情况表) continues the unit before it — or the one after
it, when it comes first — provided it names no other unit; one that names another unit stays a
unit of its own (several units in one workbook, one form per sheet). What a continuation sheet
holds (goals, indicators, score, grade, evaluators, report, any fact the first sheet left out)
joins its unit with sheet-qualified cells ('表二'!D5).
"""
from __future__ import annotations

import re
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


_TEXT_REF = re.compile(r"^(?:(?:'((?:[^']|'')+)'|([^\s!&(),\"'=+\-*/]+))!)?\$?([A-Za-z]{1,3})\$?(\d+)$")


def _split_top(text: str, sep: str) -> list[str]:
    parts, depth, quote, cur = [], 0, False, []
    for ch in text:
        if ch == '"':
            quote = not quote
        elif not quote and ch == "(":
            depth += 1
        elif not quote and ch == ")":
            depth -= 1
        if ch == sep and not quote and depth == 0:
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    parts.append("".join(cur))
    return parts


def eval_text(formula: str, sheets: dict, here, depth: int = 0) -> str | None:
    """A text formula without a stored result, evaluated where it only joins cells and strings:
    =封面!C6, ='封 面'!C6, =A1, =封面!C6&"（本级）", =CONCATENATE(封面!C6, "局"). Else None."""
    f = formula.strip().lstrip("=").strip()
    if depth > 3 or not f:
        return None
    m = re.fullmatch(r"(?i)CONCATENATE\((.*)\)", f)
    parts = _split_top(m.group(1), ",") if m else _split_top(f, "&")
    out = []
    for part in parts:
        p = part.strip()
        if len(p) >= 2 and p[0] == p[-1] == '"':
            out.append(p[1:-1].replace('""', '"'))
            continue
        r = _TEXT_REF.match(p)
        if not r:
            return None
        name = (r.group(1) or "").replace("''", "'") or r.group(2)
        grid = sheets.get(name) if name else here
        if grid is None:
            return None
        col = 0
        for ch in r.group(3).upper():
            col = col * 26 + ord(ch) - 64
        rc = (int(r.group(4)) - 1, col - 1)
        v = grid.values.get(rc)
        if v is None and rc in grid.formulas:
            v = eval_text(grid.formulas[rc], sheets, grid, depth + 1)
        if v is None:
            v = ""
        elif isinstance(v, float):
            v = str(int(v)) if v.is_integer() else repr(v)
        out.append(str(v))
    text = "".join(out).strip()
    return text or None


def resolve_text_formulas(form: UnitForm, sheets: list) -> None:
    """Facts and org names kept as formula text (no stored result) take the value the formula
    joins, when it only joins cells and strings; the formula stays in raw and its FML-002 issue
    stands (the file still holds no result)."""
    by_name = {g.name: g for g in sheets}
    here = by_name.get(form.sheet)
    for name in _FACTS:
        fact = getattr(form, name)
        if fact is None or not isinstance(fact.value, str) or not fact.raw.startswith("=") or fact.value != fact.raw:
            continue
        sheet, _, cell = fact.cell.rpartition("!")
        grid = by_name.get(sheet.strip("'")) if sheet else here
        val = eval_text(fact.raw, by_name, grid)
        if val is not None:
            setattr(form, name, Fact(val, fact.cell, fact.raw))
    for row in form.rows:
        if row.org.startswith("="):
            val = eval_text(row.org, by_name, here)
            if val is not None:
                row.org = val
