"""Run the rule pack with pandera over all units at once and turn every failure into a Finding.

Each rule becomes one pandera Check over one slim frame (one row per thing checked), validated
lazily; the failing row indices, deduplicated per check, map back to exactly one cell each.
"""
from __future__ import annotations

import time
from decimal import Decimal

import pandas as pd
import pandera.pandas as pa

from .frames import Frames, fmt
from .models import FIELD_LABELS, Finding
from .read.ooxml import ref_to_rc
from .ruleset import Rule, RulePack
from . import checks

ZERO = Decimal(0)


class _Safe(dict):
    def __missing__(self, key):
        return ""


def failing_indices(frame: pd.DataFrame, rule: Rule, fn) -> list:
    """Validate frame against one pandera check; the index labels of the rows that fail it."""
    if frame.empty:
        return []
    schema = pa.DataFrameSchema(checks=[pa.Check(fn, name=rule.id)])
    try:
        schema.validate(frame, lazy=True)
    except pa.errors.SchemaErrors as exc:
        fc = exc.failure_cases
        idx = fc.loc[fc["check"] == rule.id, "index"].dropna().unique().tolist()
        return sorted(idx)
    return []


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


def validate(frames: Frames, pack: RulePack, timings: dict | None = None) -> list[Finding]:
    """All rules over all units; timings (if given) gets seconds per rule kind."""
    findings: list[Finding] = []
    prepared = checks.Prepared(frames, pack)
    for rule in pack.rules:
        t0 = time.perf_counter()
        runner = checks.RUNNERS[rule.kind]
        frame, fn, detail, needs = runner(rule, prepared)
        failing = failing_indices(frame[needs], rule, fn)
        if failing:
            for row in frame.loc[failing].to_dict("records"):
                findings.extend(detail(row))
        if timings is not None:
            timings[rule.kind] = timings.get(rule.kind, 0.0) + time.perf_counter() - t0
    return sort_findings(findings)


def sort_findings(findings: list[Finding]) -> list[Finding]:
    from .models import SEVERITY_RANK

    def key(f: Finding):
        try:
            r, c = ref_to_rc(f.cell)
        except ValueError:
            r, c = -1, -1
        return (SEVERITY_RANK[f.severity], f.file, f.sheet, r, c, f.rule)

    return sorted(findings, key=key)
