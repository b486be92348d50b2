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
             seen: dict | None = None) -> list[Finding]:
    """All rules over these frames' units; timings (if given) gets seconds per rule kind.
    seen: what rules comparing units across a run remember of earlier chunks (a run passes the
    same dict for every chunk)."""
    findings: list[Finding] = []
    prepared = checks.Prepared(frames, pack, seen)
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
    """Unit by unit in the run's order (files by path), errors first, then by cell."""
    def key(f: Finding):
        try:
            r, c = ref_to_rc(f.cell)
        except ValueError:
            r, c = -1, -1
        return (f.uid, SEVERITY_RANK[f.severity], r, c, f.rule)

    return sorted(findings, key=key)
