"""Records → tidy pandas frames for all units at once.

orgs:   one row per unit × org; for every block.field F the columns F (Decimal | None), F@cell,
        F@status, F@raw; org rows of the four tables are joined on the org's name. Built
        column by column on demand (Frames.orgs).
units:  one row per unit: facts, their cells, and the consolidated figure of every field (the
        summary row, or the sum of the sub-units where the summary row is blank).
values: one tuple per non-blank amount cell, the values.csv contract.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

import pandas as pd

from .models import BLOCK_FIELDS, UnitForm
from .read.labels import strip_enum

VALUE_COLUMNS = ["file", "sheet", "unit", "year", "org", "block", "field", "value", "cell", "raw"]

@dataclass
class Frames:
    forms: list[UnitForm]
    units: pd.DataFrame
    values: list[tuple]         # the values.csv rows
    org_records: list[dict]     # one dict per unit × org; the org frame is built from them
    unit_records: list[dict]    # the rows of units as dicts
    _cols: dict = field(default_factory=dict, repr=False)

    def orgs(self, columns: list[str]) -> pd.DataFrame:
        """The org frame with just these columns (each built once, on first use): a rule reads
        a few of the ~100, and building all of them for every org row costs seconds at scale.
        "_i" is the row's position in org_records."""
        for c in columns:
            if c not in self._cols:
                self._cols[c] = (list(range(len(self.org_records))) if c == "_i"
                                 else [r.get(c) for r in self.org_records])
        return pd.DataFrame({c: self._cols[c] for c in columns}, dtype=object,
                            index=pd.RangeIndex(len(self.org_records)))


def frame(rows, columns=None) -> pd.DataFrame:
    """Object columns throughout: None stays None (pandas would turn missing text into NaN)
    and amounts stay Decimal."""
    return pd.DataFrame(rows, columns=columns, dtype=object)


def fmt(d: Decimal | None) -> str:
    """Plain decimal text (never 1E+2), trailing zeros dropped."""
    if d is None:
        return ""
    s = format(d, "f")
    if "." in s:
        s = s.rstrip("0").rstrip(".")
    return "0" if s in ("-0", "") else s


def records(form: UnitForm) -> tuple[list[dict], dict, list[tuple]]:
    """One form's org rows, unit row and values.csv rows. Independent of the other forms, so a
    run computes them while the workers are still reading; build() only numbers and stacks them."""
    unit, year = form.unit_name, form.year_value
    base = {"uid": -1, "file": form.file, "sheet": form.sheet, "unit": unit, "year": year}
    merged: dict[str, dict] = {}
    value_rows = []
    for row in form.rows:
        key = "__summary__" if row.is_summary else (strip_enum(row.org) or f"#{row.position}")
        rec = merged.get(key)
        if rec is None:
            rec = merged[key] = {**base, "org": row.org, "is_summary": row.is_summary,
                                 "position": len(merged)}
        rec[f"{row.block}@org"] = row.org
        rec[f"{row.block}@org_cell"] = row.org_cell
        for fld, amt in row.amounts.items():
            col = f"{row.block}.{fld}"
            rec[col] = amt.value
            rec[col + "@cell"] = amt.cell
            rec[col + "@status"] = amt.status
            rec[col + "@raw"] = amt.raw
            if amt.status != "blank" or amt.raw:
                value_rows.append((form.file, form.sheet, unit, year, row.org,
                                   row.block, fld, fmt(amt.value), amt.cell, amt.raw))
    orgs = list(merged.values())
    return orgs, _unit_record(base, form, orgs), value_rows


def build(forms: list[UnitForm], prepared: dict[int, tuple] | None = None) -> Frames:
    """prepared: records(form) already computed, keyed by id(form)."""
    org_rows, unit_rows, value_rows = [], [], []
    for uid, form in enumerate(forms):
        orgs, unit_rec, values = (prepared or {}).get(id(form)) or records(form)
        for rec in orgs:
            rec["uid"] = uid
        unit_rec["uid"] = uid
        org_rows.extend(orgs)
        unit_rows.append(unit_rec)
        value_rows.extend(values)
    return Frames(forms, frame(unit_rows), value_rows, org_rows, unit_rows)


def _fact(rec: dict, name: str, fact) -> None:
    rec[name] = None if fact is None else fact.value
    rec[name + "@cell"] = "" if fact is None else fact.cell
    rec[name + "@raw"] = "" if fact is None else fact.raw


def _unit_record(base: dict, form: UnitForm, orgs: list[dict]) -> dict:
    rec = dict(base)
    for name in ("unit", "year", "contact", "score", "grade", "staff_quota", "staff_actual", "report"):
        _fact(rec, "f_" + name, getattr(form, name))
    summary = next((o for o in orgs if o["is_summary"]), None)
    subs = [o for o in orgs if not o["is_summary"]]
    for block, fields in BLOCK_FIELDS.items():
        cols = [f"{block}.{f}" for f in fields]
        use_summary = summary is not None and any(summary.get(c) is not None for c in cols)
        derived = not use_summary and any(o.get(c) is not None for o in subs for c in cols)
        rec[f"{block}@derived"] = derived
        for c in cols:
            if use_summary:
                rec[c] = summary.get(c)
                rec[c + "@cells"] = summary.get(c + "@cell") or ""
            else:
                vals = [(o.get(c), o.get(c + "@cell")) for o in subs if o.get(c) is not None]
                rec[c] = sum((v for v, _ in vals), Decimal(0)) if vals else None
                rec[c + "@cells"] = ",".join(cell for _, cell in vals)
    return rec
