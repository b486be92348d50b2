"""FormPacks → tidy pandas frames for a batch of units at once.

orgs:   one row per unit × org; for every block.field F the columns F (Decimal | None), F@cell,
        F@status, F@raw; org rows of the four tables are joined on the org's name. Built
        column by column on demand (Frames.orgs).
units:  one row per unit: facts, their cells, and the consolidated figure of every field (the
        summary row, or the sum of the sub-units where the summary row is blank).
values: the values.csv rows (one per non-blank amount cell), as CSV text.

A run validates its units in chunks: uid0 is the run-wide number of a chunk's first unit.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from math import nan

import numpy as np
import pandas as pd

from ..models import UnitForm
from ..read.records import FormPack, pack


@dataclass
class Frames:
    forms: list[FormPack]
    units: pd.DataFrame
    values: str                 # the values.csv rows, rendered
    org_records: list[dict]     # one dict per unit × org; the org frame is built from them
    unit_records: list[dict]    # the rows of units as dicts
    uid0: int = 0
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

    def num(self, column: str) -> np.ndarray:
        """An amount column of the org rows as floats (NaN where blank), built once: the checks
        screen with these and confirm rows near the tolerance in Decimal (see checks.py)."""
        key = (column, float)
        if key not in self._cols:
            self._cols[key] = np.fromiter(
                (nan if v is None else float(v) for v in (r.get(column) for r in self.org_records)),
                dtype=float, count=len(self.org_records))
        return self._cols[key]

    def form(self, uid: int) -> FormPack:
        return self.forms[uid - self.uid0]


def frame(rows, columns=None) -> pd.DataFrame:
    """Object columns throughout: None stays None (pandas would turn missing text into NaN)
    and amounts stay Decimal."""
    return pd.DataFrame(rows, columns=columns, dtype=object)


def build(forms: list[FormPack | UnitForm], uid0: int = 0) -> Frames:
    """Number the forms from uid0 and stack their records (forms read outside a run are packed
    here)."""
    packs = [pack(f) if isinstance(f, UnitForm) else f for f in forms]
    org_rows, unit_rows = [], []
    for uid, p in enumerate(packs, uid0):
        for rec in p.orgs:
            rec["uid"] = uid
        p.unit_rec["uid"] = uid
        org_rows.extend(p.orgs)
        unit_rows.append(p.unit_rec)
    return Frames(packs, frame(unit_rows), "".join(p.values_csv for p in packs), org_rows, unit_rows, uid0)
