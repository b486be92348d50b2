"""One form as flat records: its org rows, its unit row and its values.csv rows.

Pandas-free on purpose: the reading workers turn each form into a FormPack before sending it, so
the parent unpickles a few dicts and tuples instead of the reader's object graph (half a
millisecond less per form), and keeps nothing of the form it does not validate or write.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from ..models import BLOCK_FIELDS, UnitForm
from .indicators import pack_texts
from .labels import strip_enum
from ..write.exports import Guarded, guard

VALUE_COLUMNS = ["file", "sheet", "unit", "year", "org", "block", "field", "value", "cell", "raw", "measure"]
VALUE_SAFE = ("block", "field", "value", "cell", "measure")
_VALUES_CSV = Guarded(VALUE_COLUMNS, VALUE_SAFE)
FACTS = ("unit", "year", "contact", "phone", "score", "grade", "staff_quota", "staff_actual", "report")

# Column names built once, so every record of a process shares the same key strings.
_KEYS = {(b, f): (f"{b}.{f}", f"{b}.{f}@cell", f"{b}.{f}@status", f"{b}.{f}@raw")
         for b, fields in BLOCK_FIELDS.items() for f in fields}
_ORG_KEYS = {b: (f"{b}@org", f"{b}@org_cell") for b in BLOCK_FIELDS}
_FACT_KEYS = {n: ("f_" + n, f"f_{n}@cell", f"f_{n}@raw") for n in FACTS}
_BLOCK_COLS = {b: [(f"{b}.{f}", f"{b}.{f}@cell", f"{b}.{f}@cells") for f in fields]
               for b, fields in BLOCK_FIELDS.items()}
_DERIVED = {b: f"{b}@derived" for b in BLOCK_FIELDS}
# the budget a final figure is measured against (预算执行率): the adjusted budget, else the budget
_PLAN = {(b, f): (f"{b}.{f}~plan", f"{b}.{f}~plan@cell") for b, fields in BLOCK_FIELDS.items() for f in fields}


@dataclass(slots=True)
class FormPack:
    """What a run keeps of one form: the records, the reader's issues, the report's figures."""
    file: str
    sheet: str
    unit: str
    year: str
    orgs: list[dict]
    unit_rec: dict
    values_csv: str                # the form's values.csv rows, rendered and guarded
    issues: list[tuple]            # (code, cell, block, field, org, raw, detail)
    report_figures: list | None
    texts: tuple = ()              # goals, indicators, work, overall (read/indicators.py)


def fmt(d: Decimal | None) -> str:
    """Plain decimal text (never 1E+2), trailing zeros dropped."""
    if d is None:
        return ""
    s = format(d, "f")
    if "." in s:
        s = s.rstrip("0").rstrip(".")
    return "0" if s in ("-0", "") else s


def pack(form: UnitForm) -> FormPack:
    orgs, unit_rec, values = records(form)
    issues = [(i.code, i.cell, i.block, i.field, i.org, i.raw, i.detail) for i in form.issues]
    return FormPack(form.file, form.sheet, form.unit_name, form.year_value, orgs, unit_rec,
                    _VALUES_CSV.text(values, guarded=True), issues, form.report_figures,
                    pack_texts(form))


def records(form: UnitForm) -> tuple[list[dict], dict, list[tuple]]:
    """One form's org rows (uid still -1), unit row and values.csv rows (their text already
    through the CSV guard: the form's own words once per form, the org's once per row)."""
    unit, year = form.unit_name, form.year_value
    base = {"uid": -1, "file": form.file, "sheet": form.sheet, "unit": unit, "year": year}
    merged: dict[str, dict] = {}
    value_rows = []
    head = (guard(form.file), guard(form.sheet), guard(unit), guard(year))
    plans: dict[tuple, tuple] = {}
    for row in form.rows:
        org = guard(row.org)
        measure = row.measure
        for fld, amt in row.amounts.items():
            if amt.status != "blank" or amt.raw:
                value_rows.append((*head, org, row.block, fld, fmt(amt.value), amt.cell, guard(amt.raw), measure))
        if row.role:
            continue  # a subtotal: in values.csv, never a sub-unit of the checks
        okey = "__summary__" if row.is_summary else (strip_enum(row.org) or f"#{row.position}")
        key = okey if measure == "final" else f"{measure}|{okey}"
        rec = merged.get(key)
        if rec is None:
            rec = merged[key] = {**base, "org": row.org, "is_summary": row.is_summary,
                                 "position": len(merged), "measure": measure}
        k_org, k_org_cell = _ORG_KEYS[row.block]
        rec[k_org] = row.org
        rec[k_org_cell] = row.org_cell
        for fld, amt in row.amounts.items():
            k, k_cell, k_status, k_raw = _KEYS[row.block, fld]
            rec[k] = amt.value
            rec[k_cell] = amt.cell
            rec[k_status] = amt.status
            rec[k_raw] = amt.raw
            if measure in ("budget", "adjusted_budget") and amt.value is not None:
                pk = (okey, row.block, fld)
                if measure == "adjusted_budget" or pk not in plans:
                    plans[pk] = (amt.value, amt.cell)
        if form.magnitude:
            rec["magnitude"] = tuple(form.magnitude)
    for (okey, block, fld), (value, cell) in plans.items():
        rec = merged.get(okey)
        if rec is not None:
            k_plan, k_plan_cell = _PLAN[block, fld]
            rec[k_plan], rec[k_plan_cell] = value, cell
    orgs = list(merged.values())
    finals = [o for o in orgs if o["measure"] == "final"]
    return orgs, _unit_record(base, form, finals), value_rows


def _unit_record(base: dict, form: UnitForm, orgs: list[dict]) -> dict:
    """Facts, their cells, and per field the consolidated figure: the summary row's, or the sum of
    the sub-units' where the summary row of that table is blank."""
    rec = dict(base)
    if form.magnitude:
        rec["magnitude"] = tuple(form.magnitude)
    for name, (k, k_cell, k_raw) in _FACT_KEYS.items():
        fact = getattr(form, name)
        rec[k] = None if fact is None else fact.value
        rec[k_cell] = "" if fact is None else fact.cell
        rec[k_raw] = "" if fact is None else fact.raw
    summary = next((o for o in orgs if o["is_summary"]), None)
    subs = [o for o in orgs if not o["is_summary"]]
    for block, cols in _BLOCK_COLS.items():
        use_summary = summary is not None and any(summary.get(c) is not None for c, _, _ in cols)
        rec[_DERIVED[block]] = not use_summary and any(o.get(c) is not None for o in subs for c, _, _ in cols)
        for c, c_cell, c_cells in cols:
            if use_summary:
                rec[c] = summary.get(c)
                rec[c_cells] = summary.get(c_cell) or ""
            else:
                vals = [(o.get(c), o.get(c_cell)) for o in subs if o.get(c) is not None]
                rec[c] = sum((v for v, _ in vals), Decimal(0)) if vals else None
                rec[c_cells] = ",".join(cell for _, cell in vals)
    return rec
