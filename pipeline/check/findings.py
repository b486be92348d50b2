"""Findings as reviewers read them: the Chinese message, the cells involved, the difference.

Every amount in a message is written one way: thousands separators, two decimals (more only where
the figure has them), the ASCII minus sign and 万元; an amount of a table filled in 元 (or 千元)
is quoted as its cell shows it, with its conversion: "8,254,884.32 元（折合 825.49 万元）".
"""
from __future__ import annotations

from decimal import Decimal

from ..read.records import fmt
from ..models import FIELD_LABELS, Finding
from ..read.ooxml import ref_to_rc
from .ruleset import Rule

MONEY_BLOCKS = {"income", "expenditure", "three_public", "fixed_assets"}
# what the reader says of a table in 元 or 千元 (YUAN_CONVERTED): its unit and factor to 万元
YUAN_UNITS = (("千元", Decimal(10)), ("元", Decimal(10000)))


class _Safe(dict):
    def __missing__(self, key):
        return ""


def places(d: Decimal) -> int:
    """Decimals to show: two, or more where the figure has them (at most six)."""
    exp = d.normalize().as_tuple().exponent
    return min(max(2, -exp if isinstance(exp, int) else 2), 6)


def number(d: Decimal) -> str:
    """1234.5 → '1,234.50'; -0.06 → '-0.06'."""
    return f"{d:,.{places(d)}f}".replace("−", "-")


def money(d: Decimal, yuan: tuple[str, Decimal] | None = None) -> str:
    """'1,234.56 万元', or for a table filled in 元: '8,254,884.32 元（折合 825.49 万元）'."""
    if yuan is None:
        return f"{number(d)} 万元"
    name, factor = yuan
    return f"{number(d * factor)} {name}（折合 {d:,.2f} 万元）"


def yuan_blocks(issues) -> dict[str, tuple[str, Decimal]]:
    """block → (unit, factor) for the tables the reader converted as a whole (YUAN_CONVERTED
    without a field), from a form's issues (code, cell, block, field, org, raw, detail)."""
    out = {}
    for code, _, block, field, _, _, detail in issues:
        if code == "YUAN_CONVERTED" and not field and block:
            out[block] = next(((n, f) for n, f in YUAN_UNITS if f"单位为{n}" in detail), YUAN_UNITS[1])
    return out


def quote(text: str) -> str:
    """Text quoted inside “…”: its own double quotes become ‘…’, so the quotes pair up."""
    return str(text).replace("“", "‘").replace("”", "’").replace('"', "'")


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
    is_money = block in MONEY_BLOCKS or (block == "report" and field.split(".")[0] in MONEY_BLOCKS)
    yuan = (unit.get("@yuan") or {}).get(block if block in MONEY_BLOCKS else field.split(".")[0])

    def say(v, s: str, in_table: bool = True) -> str:
        if not isinstance(v, Decimal):
            return s
        if is_money:   # a report states 万元, whatever unit its table was filled in
            return money(v, yuan if in_table else None)
        return fmt(v)

    report = block == "report"
    diff_s = say(abs(actual - expected), diff, not report) if diff else ""
    ctx = _Safe(label=label or FIELD_LABELS.get(key, field), cell=cell,
                actual=say(actual, act_s, not report), expected=say(expected, exp_s), diff=diff_s, others=other, org=org or "本单位",
                raw=quote(raw), unit=unit.get("unit", ""), year=unit.get("year", ""))
    if extra:
        ctx.update(extra)
    message = rule.message.format_map(ctx).replace("−", "-")
    return Finding(unit.get("file", ""), unit.get("sheet", ""), unit.get("unit", ""),
                   unit.get("year", ""), rule.id, rule.severity, block, org, field, cell, exp_s,
                   act_s, message, diff, other, rule.name,
                   int(unit.get("uid", -1)))


def collapse_issues(issues, code: str):
    """One finding per problem: the reader's issues of this code merged where they are one
    problem — the cells of one hidden row (or column) into one HIDDEN_CONTENT, every conversion
    of one form into one YUAN_CONVERTED. issues: a Table (uid, code, cell, block, field, org,
    raw, detail)."""
    if code not in ("HIDDEN_CONTENT", "YUAN_CONVERTED") or issues.empty:
        return issues
    rows = issues.rows()
    mine = [r for r in rows if r["code"] == code]
    if len(mine) < 2:
        return issues
    groups: dict[tuple, list[dict]] = {}
    for rec in mine:
        cell = rec["cell"] or ""
        if code == "YUAN_CONVERTED":
            key = (rec["uid"],)
        elif cell and "所在的列" in rec["detail"]:
            key = (rec["uid"], "col", "".join(ch for ch in cell if ch.isalpha()))
        elif cell:
            key = (rec["uid"], "row", "".join(ch for ch in cell if ch.isdigit()))
        else:
            key = (rec["uid"], "sheet", rec["detail"])
        groups.setdefault(key, []).append(rec)
    merged = []
    for key, recs in groups.items():
        first = dict(recs[0])
        if len(recs) > 1:
            if code == "YUAN_CONVERTED":
                first["detail"] = "；".join(dict.fromkeys(r["detail"] for r in recs))
            else:
                what = "列" if key[1] == "col" else "行"
                where = (f"第 {key[2]} 行" if what == "行" else f"{key[2]} 列")
                figures = "、".join(f"{r['cell']}“{quote(r['raw'])}”" for r in recs)
                first["detail"] = f"{where}被隐藏，其中有 {len(recs)} 个数字：{figures}"
        merged.append(first)
    from .frames import Table

    out = [r for r in rows if r["code"] != code] + merged
    names = list(issues.cols)
    return Table.from_rows(([r[c] for c in names] for r in out), names)
