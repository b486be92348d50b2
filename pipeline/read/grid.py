"""A sheet as a sparse grid of cells: values, formulas, error cells, merged ranges, hidden parts."""
from __future__ import annotations

from dataclasses import dataclass, field

ERROR_TEXTS = {"#REF!", "#DIV/0!", "#VALUE!", "#N/A", "#NAME?", "#NUM!", "#NULL!", "#SPILL!", "#CALC!",
               "#GETTING_DATA"}


@dataclass(slots=True)
class Grid:
    """0-based (row, col) keys. values hold str | float | bool; a formula cell whose value
    is unknown is absent from values but present in formulas."""
    name: str
    hidden: bool = False
    values: dict[tuple[int, int], object] = field(default_factory=dict)
    formulas: dict[tuple[int, int], str] = field(default_factory=dict)
    errors: dict[tuple[int, int], str] = field(default_factory=dict)
    merged: list[tuple[int, int, int, int]] = field(default_factory=list)
    hidden_rows: set[int] = field(default_factory=set)
    hidden_cols: set[int] = field(default_factory=set)
    nrows: int = 0
    ncols: int = 0

    def finish(self) -> "Grid":
        keys = list(self.values) + list(self.formulas) + list(self.errors)
        self.nrows = max((r for r, _ in keys), default=-1) + 1
        self.ncols = max((c for _, c in keys), default=-1) + 1
        return self

    def merge_map(self) -> dict[tuple[int, int], tuple[int, int, int, int]]:
        """Top-left cell of each merged range to the range (r1, c1, r2, c2)."""
        return {(r1, c1): (r1, c1, r2, c2) for r1, c1, r2, c2 in self.merged}


@dataclass(slots=True)
class Book:
    sheets: list[Grid]
    source_format: str
    full_calc: bool = False   # the writer asked for recalculation: cached values are not trusted
    guard_s: float = 0.0      # seconds spent in the byte guard (benchmark only)


def grid_from_rows(name: str, rows: list[list], merged, hidden: bool = False) -> Grid:
    """Build a Grid from python-calamine's dense rows (cached values only)."""
    g = Grid(name=name, hidden=hidden)
    values, errors = g.values, g.errors
    for r, row in enumerate(rows):
        for c, v in enumerate(row):
            kind = type(v)
            if kind is str:
                if not v:
                    continue  # calamine's empty cell
                if v in ERROR_TEXTS:
                    errors[(r, c)] = v
                    continue
            elif kind is float:
                if v != v:  # NaN stands for an error cell
                    errors[(r, c)] = "#VALUE!"
                    continue
            elif v is None:
                continue
            elif not isinstance(v, (int, float, bool)):
                v = str(v)  # dates, times: kept as their text
            values[(r, c)] = v
    for (r1, c1), (r2, c2) in merged or ():
        if (r1, c1) != (r2, c2):
            g.merged.append((r1, c1, r2, c2))
    return g.finish()
