"""Run the rule pack over all units of a chunk at once and turn every failure into a Finding.

Each rule is one vectorised check over one slim frame (one row per thing checked, check/frames.py's
Table); the failing rows map back to exactly one cell each. The checks keep pandera's contract
(a boolean per row, or one for the frame; a row whose checked values are all missing passes,
pandera's ignore_na) without pandera or pandas at run time: importing them cost ~1 s at every
start (`selfeval check`, the web desk) and their per-call overhead more than the checks
themselves. tests/test_engine.py runs every rule's check through pandera as the oracle.
"""
from __future__ import annotations

import time

import numpy as np

from .frames import Frames, Table
from .keys import finding_keys
from ..models import SEVERITY_RANK, Finding
from ..read.ooxml import ref_to_rc
from .ruleset import Rule, RulePack
from . import checks


def failing_indices(frame: Table, rule: Rule, fn) -> list[int]:
    """The positions of the rows that fail one rule's check (fn over the frame: a boolean per
    row, or one for the whole frame)."""
    if frame.empty:
        return []
    out = fn(frame)
    if np.ndim(out) == 0:   # a check that judged the frame as a whole
        return [] if bool(out) else list(range(len(frame)))
    failing = np.flatnonzero(~np.asarray(out, dtype=bool)).tolist()
    if not failing or not frame.cols:
        return failing
    # pandera's ignore_na: a row with every checked value missing passes. Asked of the failing
    # rows only: testing every row's object columns in Python cost more than most checks
    cols = list(frame.cols.values())
    return [i for i in failing if not all(_missing(c[i]) for c in cols)]


def _missing(v) -> bool:
    return v is None or (isinstance(v, float) and v != v) or (isinstance(v, np.floating) and np.isnan(v))


def validate(frames: Frames, pack: RulePack, timings: dict | None = None,
             seen: dict | None = None, context: dict | None = None) -> list[Finding]:
    """All rules over these frames' units; timings (if given) gets seconds per rule kind (and
    under "pandera" the checks themselves, by their historical name).
    seen: what rules comparing units across a run remember of earlier chunks (a run passes the
    same dict for every chunk).
    context: what the collection's store knows of these units (collect/context.py): earlier
    versions (DUP-001 as 第 N 版), last year's figures (cross_year rules); None without a store."""
    findings: list[Finding] = []
    prepared = checks.Prepared(frames, pack, seen, context)
    for rule in pack.rules:
        t0 = time.perf_counter()
        runner = checks.RUNNERS[rule.kind]
        frame, fn, detail, needs = runner(rule, prepared)
        t1 = time.perf_counter()
        failing = failing_indices(frame[needs], rule, fn)
        t2 = time.perf_counter()
        if failing:
            for row in frame.records(failing):
                findings.extend(detail(row))
        if timings is not None:
            timings[rule.kind] = timings.get(rule.kind, 0.0) + time.perf_counter() - t2 + t1 - t0
            timings["pandera"] = timings.get("pandera", 0.0) + t2 - t1
    prepared.close()
    findings = sort_findings(findings)
    notes = (context or {}).get("notes") or {}
    for f, k in zip(findings, finding_keys(findings)):
        f.key = k
        if f.uid in notes:
            f.explanation = notes[f.uid].get(k, "")
    return findings


def sort_findings(findings: list[Finding]) -> list[Finding]:
    """Unit by unit in the run's order (files by path), errors first, then by cell."""
    def key(f: Finding):
        try:
            r, c = ref_to_rc(f.cell)
        except ValueError:
            r, c = -1, -1
        return (f.uid, SEVERITY_RANK[f.severity], r, c, f.rule)

    return sorted(findings, key=key)
