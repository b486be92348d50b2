"""Findings as reviewers read them: the Chinese message, the cells involved, the difference."""
from __future__ import annotations

from decimal import Decimal

from ..read.records import fmt
from ..models import FIELD_LABELS, Finding
from ..read.ooxml import ref_to_rc
from .ruleset import Rule


class _Safe(dict):
    def __missing__(self, key):
        return ""


def cells_text(cells: list[str]) -> str:
    """'D15:H15' for a contiguous run in one row, else the cells joined with '、'."""
    cells = [c for c in cells if c]
    if len(cells) > 2:
        try:
            rcs = [ref_to_rc(c) for c in cells]
        except ValueError:
            return "、".join(cells)
        rows = {r for r, _ in rcs}
        cols = sorted(c for _, c in rcs)
        if len(rows) == 1 and cols == list(range(cols[0], cols[0] + len(cols))):
            first = min(cells, key=lambda c: ref_to_rc(c)[1])
            last = max(cells, key=lambda c: ref_to_rc(c)[1])
            return f"{first}:{last}"
    return "、".join(cells)


def make_finding(rule: Rule, unit: dict, *, block: str, org: str, field: str, cell: str,
                 expected=None, actual=None, others: list[str] | None = None, raw: str = "",
                 label: str = "", extra: dict | None = None) -> Finding:
    exp_s = expected if isinstance(expected, str) else fmt(expected)
    act_s = actual if isinstance(actual, str) else fmt(actual)
    diff = ""
    if isinstance(expected, Decimal) and isinstance(actual, Decimal):
        diff = fmt(abs(actual - expected))
    other = cells_text(others or [])
    key = f"{block}.{field}"
    ctx = _Safe(label=label or FIELD_LABELS.get(key, field), cell=cell, actual=act_s,
                expected=exp_s, diff=diff, others=other, org=org or "本单位", raw=raw,
                unit=unit.get("unit", ""), year=unit.get("year", ""))
    if extra:
        ctx.update(extra)
    return Finding(unit.get("file", ""), unit.get("sheet", ""), unit.get("unit", ""),
                   unit.get("year", ""), rule.id, rule.severity, block, org, field, cell, exp_s,
                   act_s, rule.message.format_map(ctx), diff, other, rule.name,
                   int(unit.get("uid", -1)))
