"""Run the rule pack with pandera over all units at once and turn every failure into a Finding.

Each rule becomes one pandera Check over one slim frame (one row per thing checked), validated
lazily; the failing row indices, deduplicated per check, map back to exactly one cell each.
"""
from __future__ import annotations

import time

import pandas as pd
import pandera.pandas as pa

from .frames import Frames
from .models import SEVERITY_RANK, Finding
from .read.ooxml import ref_to_rc
from .ruleset import Rule, RulePack
from . import checks


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


def validate(frames: Frames, pack: RulePack, timings: dict | None = None,
             skip: set[str] = frozenset(), only: set[str] | None = None) -> list[Finding]:
    """The rules (of the kinds in only, if given, and not in skip) over these frames' units;
    timings (if given) gets seconds per rule kind."""
    findings: list[Finding] = []
    prepared = checks.Prepared(frames, pack)
    for rule in pack.rules:
        if rule.kind in skip or (only is not None and rule.kind not in only):
            continue
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
    def key(f: Finding):
        try:
            r, c = ref_to_rc(f.cell)
        except ValueError:
            r, c = -1, -1
        return (SEVERITY_RANK[f.severity], f.file, f.sheet, r, c, f.rule)

    return sorted(findings, key=key)
