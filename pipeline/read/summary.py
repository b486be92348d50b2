"""Which org row of a table is its summary row, and which are subtotals.

A row is of the summary family by its label (合计, 总计, 汇总, 局机关及二级机构汇总, …; 小计 a lesser
member). The summary is the family row at the top or the bottom of the table — when several
qualify, the one whose figures equal the sum of the ordinary rows, else the higher-ranked label
(合计/汇总 before 小计), else the first. A lone 小计 in the middle, or any further family row, is a
subtotal: neither the summary nor a sub-unit, so it never doubles the unit's totals.
"""
from __future__ import annotations

from decimal import Decimal

from ..models import OrgRow
from .labels import Labels


def mark_summary(rows: list[OrgRow], lab: Labels) -> None:
    """Set is_summary / role on rows (all measures of one data row share its position)."""
    if not rows:
        return
    is_summary, is_subtotal = lab.is_summary, lab.is_subtotal
    fam_rows = [row for row in rows if row.org and (is_summary(row.org) or is_subtotal(row.org))]
    if not fam_rows:
        return
    if len({row.position for row in fam_rows}) == 1 and (
            fam_rows[0].position in (rows[0].position, rows[-1].position) or is_summary(fam_rows[0].org)):
        for row in fam_rows:   # the one family row, at an end or a summary word: the summary
            row.is_summary = True
        return
    by_pos: dict[int, list[OrgRow]] = {}
    for row in rows:
        by_pos.setdefault(row.position, []).append(row)
    positions = sorted(by_pos)
    family: dict[int, int] = {}   # position → rank (0 summary word, 1 小计)
    for p in positions:
        org = by_pos[p][0].org
        if not org:
            continue
        if lab.is_summary(org):
            family[p] = 0
        elif lab.is_subtotal(org):
            family[p] = 1
    if not family:
        return
    ends = {positions[0], positions[-1]}
    cands = [p for p in family if p in ends] or [p for p in family if family[p] == 0]
    if len(cands) > 1:
        ordinary = [p for p in positions if p not in family]
        equal = [p for p in cands if _sums_match(by_pos, p, ordinary)]
        cands = equal or cands
        best = min(family[p] for p in cands)
        cands = [p for p in cands if family[p] == best]
    summary = min(cands) if cands else None
    for p in family:
        for row in by_pos[p]:
            if p == summary:
                row.is_summary = True
            else:
                row.role = "subtotal"


def _sums_match(by_pos, p: int, ordinary: list[int]) -> bool:
    """The final figures of row p equal the sum of the ordinary rows' (within 0.01)."""
    head = by_pos[p][0]
    seen = False
    for fld, amt in head.amounts.items():
        if amt.value is None:
            continue
        vals = [by_pos[q][0].amounts[fld].value for q in ordinary if fld in by_pos[q][0].amounts]
        total = sum((v for v in vals if v is not None), Decimal(0))
        if abs(total - amt.value) > Decimal("0.01"):
            return False
        seen = True
    return seen
