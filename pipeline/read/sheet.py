"""A view over one Grid for locating things by label: normalised texts, merges, numbers."""
from __future__ import annotations

from decimal import Decimal

from ..models import a1
from .formulas import evaluate
from .grid import Grid
from .labels import norm
from .numbers import parse_amount


class SheetView:
    def __init__(self, grid: Grid, full_calc: bool = False):
        self.g = grid
        self.full_calc = full_calc
        self.merge_at = grid.merge_map()
        self.cover: dict[tuple[int, int], tuple[int, int]] = {}
        for r1, c1, r2, c2 in grid.merged:
            if (r2 - r1 + 1) * (c2 - c1 + 1) > 4096:
                continue  # a merge over a whole area holds one title at most
            for r in range(r1, r2 + 1):
                for c in range(c1, c2 + 1):
                    self.cover[(r, c)] = (r1, c1)
        self.labels: dict[tuple[int, int], str] = {
            rc: norm(v) for rc, v in grid.values.items() if isinstance(v, str)}
        self._num_cache: dict[tuple[int, int], tuple] = {}
        self._visiting: set[tuple[int, int]] = set()
        self.cache: dict[object, object] = {}   # per-sheet indexes a locator builds once

    # -- geometry -------------------------------------------------------------------------
    def top_left(self, rc: tuple[int, int]) -> tuple[int, int]:
        return self.cover.get(rc, rc)

    def span(self, rc: tuple[int, int]) -> tuple[int, int, int, int]:
        tl = self.top_left(rc)
        return self.merge_at.get(tl, (tl[0], tl[1], tl[0], tl[1]))

    def right_of(self, rc: tuple[int, int]) -> tuple[int, int]:
        """The cell just right of rc's merged range, as its own top-left."""
        r1, c1, r2, c2 = self.span(rc)
        return self.top_left((rc[0], c2 + 1))

    def value_right(self, rc: tuple[int, int], labels: set[str]) -> tuple[int, int]:
        """The value cell of a label: the cell right of it, or, where that cell is empty and not
        merged (merges unknown in .ods, or a form without them), the next filled cell in the row
        unless it is another label."""
        v = self.right_of(rc)
        if not self.is_empty(v) or v in self.cover:
            return v  # a merged value cell left blank is blank: no looking further
        for cc in range(v[1] + 1, min(v[1] + 8, self.g.ncols)):
            if not self.is_empty((rc[0], cc)):
                return v if self.label((rc[0], cc)) in labels else (rc[0], cc)
        return v

    # -- contents -------------------------------------------------------------------------
    def label(self, rc) -> str:
        return self.labels.get(rc, "")

    def raw(self, rc) -> str:
        """What the cell holds as typed: the formula text for a formula cell."""
        if rc in self.g.errors:
            return self.g.errors[rc]
        f = self.g.formulas.get(rc)
        if f:
            return "=" + f
        v = self.g.values.get(rc)
        if v is None:
            return ""
        if isinstance(v, float) and v.is_integer():
            return str(int(v))
        return str(v)

    def text(self, rc) -> str:
        v = self.g.values.get(rc)
        if v is None:
            return ""
        kind = type(v)
        if kind is str:
            return v.strip()
        return self.raw(rc) if kind is float else str(v).strip()

    def is_empty(self, rc) -> bool:
        return rc not in self.g.values and rc not in self.g.formulas and rc not in self.g.errors

    def number(self, rc) -> tuple[Decimal | None, str, str]:
        """(value, status, note) of an amount cell. status: ok | blank | text | error | formula."""
        hit = self._num_cache.get(rc)
        if hit is None:
            hit = self._number(rc)
            self._num_cache[rc] = hit
        return hit

    def amount(self, rc) -> tuple[Decimal | None, str, str, str]:
        """number(rc) and raw(rc) at once. read_rows asks this of every amount cell, and nearly
        all of them are a stored finite float, a text or empty, with no formula or error: those
        skip the general path (and its cache), with the same results."""
        g = self.g
        v = g.values.get(rc)
        if rc not in g.formulas and rc not in g.errors:
            if v is None:
                return None, "blank", "", ""
            kind = type(v)
            if kind is float and v - v == 0.0:   # finite
                if v.is_integer():
                    i = int(v)
                    return Decimal(i), "ok", "", str(i)
                s = repr(v)   # to_decimal's shortest repr, which is also str(v), the raw text
                return Decimal(s), "ok", "", s
            if kind is str:   # a number typed as text: its own text is the raw
                return (*parse_amount(v), v)
        value, status, note = self.number(rc)
        return value, status, note, self.raw(rc)

    def _number(self, rc):
        g = self.g
        if rc in g.errors:
            return None, "error", g.errors[rc]
        formula = g.formulas.get(rc)
        if formula is not None and (rc not in g.values or self.full_calc):
            if rc in self._visiting:
                return None, "formula", "循环引用"
            self._visiting.add(rc)
            try:
                val = evaluate(formula, self._operand)
            finally:
                self._visiting.discard(rc)
            if val is not None:
                return val, "ok", "公式计算"
            return None, "formula", ""
        return parse_amount(g.values.get(rc))

    def _operand(self, rc, in_sum: bool) -> Decimal | None:
        val, status, _ = self.number(rc)
        if status == "ok":
            return val
        if status == "blank":
            return Decimal(0)
        if status == "text" and in_sum:
            return Decimal(0)  # SUM skips text, as spreadsheets do
        return None

    def ref(self, rc) -> str:
        return a1(*rc)

    def find(self, words: set[str], region=None) -> list[tuple[int, int]]:
        """Cells whose normalised label is one of words, in reading order."""
        hits = [rc for rc, t in self.labels.items() if t in words]
        if region:
            r1, r2 = region
            hits = [rc for rc in hits if r1 <= rc[0] <= r2]
        return sorted(hits)
