"""FormPacks → the rule engine's frames (Table: columns of Python values or numpy arrays) for a
batch of units at once.

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

from ..models import UnitForm
from ..read.records import FormPack, pack


def isna(col) -> np.ndarray:
    """Per row: missing (None, or NaN in a float column)."""
    if isinstance(col, np.ndarray) and col.dtype.kind == "f":
        return np.isnan(col)
    return np.fromiter((v is None or (isinstance(v, float) and v != v) for v in col), dtype=bool, count=len(col))


class Table:
    """The rule engine's frame: named columns of equal length — lists of Python objects (None
    stays None, amounts stay Decimal) or numpy arrays — with rows addressed by position. Just
    what the checks use; pandas cost about 0.5 s to import and far more per call than this."""

    __slots__ = ("cols", "n")

    def __init__(self, cols: dict, n: int):
        self.cols, self.n = cols, n

    @classmethod
    def from_rows(cls, rows, columns: list[str]) -> "Table":
        rows = list(rows)
        cols = {c: [r[i] for r in rows] for i, c in enumerate(columns)}
        return cls(cols, len(rows))

    def __len__(self) -> int:
        return self.n

    @property
    def empty(self) -> bool:
        return self.n == 0

    def __getitem__(self, key):
        if isinstance(key, str):
            return self.cols[key]
        return Table({c: self.cols[c] for c in key}, self.n)

    def __setitem__(self, key: str, values) -> None:
        if isinstance(values, (list, np.ndarray)):
            self.cols[key] = values
        else:   # a scalar for every row
            self.cols[key] = [values] * self.n

    def __contains__(self, key: str) -> bool:
        return key in self.cols

    def records(self, positions) -> list[dict]:
        """These rows as dicts (numpy scalars as Python values)."""
        names = list(self.cols)
        cols = [self.cols[c] for c in names]
        return [{c: (v.item() if isinstance(v, np.generic) else v) for c, v in zip(names, (col[i] for col in cols))}
                for i in positions]

    def rows(self) -> list[dict]:
        return self.records(range(self.n))


@dataclass
class Frames:
    forms: list[FormPack]
    values: str                 # the values.csv rows, rendered
    org_records: list[dict]     # one dict per unit × org; the org frame is built from them
    unit_records: list[dict]    # one dict per unit: its facts and consolidated figures
    uid0: int = 0
    _cols: dict = field(default_factory=dict, repr=False)
    _ucols: dict = field(default_factory=dict, repr=False)

    def orgs(self, columns: list[str]) -> Table:
        """The org frame with just these columns (each built once, on first use): a rule reads
        a few of the ~100, and building all of them for every org row costs seconds at scale.
        "_i" is the row's position in org_records."""
        for c in columns:
            if c not in self._cols:
                self._cols[c] = (list(range(len(self.org_records))) if c == "_i"
                                 else [r.get(c) for r in self.org_records])
        return Table({c: self._cols[c] for c in columns}, len(self.org_records))

    def units(self, columns: list[str]) -> Table:
        """The unit frame with just these columns, like orgs()."""
        for c in columns:
            if c not in self._ucols:
                self._ucols[c] = [r.get(c) for r in self.unit_records]
        return Table({c: self._ucols[c] for c in columns}, len(self.unit_records))

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


def frame(rows, columns: list[str]) -> Table:
    """A Table from row tuples."""
    return Table.from_rows(rows, columns)


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
    return Frames(packs, "".join(p.values_csv for p in packs), org_rows, unit_rows, uid0)
