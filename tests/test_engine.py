"""The rule engine without pandas or pandera at run time (check/frames.py's Table), held to
pandera's contract: for every rule of the pack, over real read forms with every kind of planted
discrepancy, the rows our failing_indices() reports are exactly those pandera's Check reports
for the same check on the same rows as a pandas frame (pandera as the oracle)."""
from __future__ import annotations

import random
import subprocess
import sys

import numpy as np
import pandas as pd
import pandera.pandas as pa
import pytest
from conftest import SAMPLE_SEED, build

from pipeline.check import checks
from pipeline.check.frames import Table, build as build_frames, isna
from pipeline.check.ruleset import load_pack
from pipeline.check.validate import failing_indices, validate
from pipeline.read.parse import read_file

PLANTS = ["identity", "basic", "surplus", "rollup", "negative", "text", "score", "grade", "narrative"]


@pytest.fixture(scope="module")
def frames(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("engine")
    forms = []
    rng = random.Random(5)
    for i in range(24):
        kinds = rng.sample(PLANTS, rng.randint(0, 3))
        build(tmp / f"f{i}.xlsx", seed=100 + i, unit=f"单位{i % 20}", plants=kinds)
        forms += read_file(tmp / f"f{i}.xlsx", f"f{i}.xlsx").forms
    forms += read_file(SAMPLE_SEED, "seed.xlsx").forms
    return build_frames(forms)


def _pandas(t: Table) -> pd.DataFrame:
    return pd.DataFrame({c: (v if isinstance(v, np.ndarray) else pd.Series(v, dtype=object))
                         for c, v in t.cols.items()}, index=pd.RangeIndex(len(t)))


def _table(df: pd.DataFrame) -> Table:
    return Table({c: (df[c].to_numpy() if df[c].dtype.kind == "f" else list(df[c])) for c in df.columns}, len(df))


def test_every_rule_fails_the_rows_pandera_fails(frames):
    pack = load_pack()
    prepared = checks.Prepared(frames, pack, {})
    fired = set()
    for rule in pack.rules:
        frame, fn, detail, needs = checks.RUNNERS[rule.kind](rule, prepared)
        ours = failing_indices(frame[needs], rule, fn)
        if frame.empty:
            assert ours == [], rule.id
            continue
        df = _pandas(frame[needs])
        result = pa.Check(lambda d: pd.Series(np.asarray(fn(_table(d)), dtype=bool), index=d.index),
                          name=rule.id)(df)
        theirs = sorted(result.check_output.index[~result.check_output.astype(bool)].tolist())
        assert ours == theirs, rule.id
        if ours:
            fired.add(rule.id)
    # the set exercises the rules that decide amounts, texts, scores and the report
    assert fired >= {"INC-001", "EXP-002", "EXP-003", "SUM-001", "NEG-001", "TXT-001", "SCO-001",
                     "GRD-001", "NAR-001", "DUP-001"}, fired


def test_all_missing_rows_pass_and_whole_frame_verdicts():
    """pandera's ignore_na (a row whose checked values are all missing passes) and a check that
    returns one verdict for the frame."""
    t = Table({"a": np.array([np.nan, 1.0, np.nan]), "b": [None, None, 3]}, 3)
    assert failing_indices(t, None, lambda d: np.zeros(3, dtype=bool)) == [1, 2]
    assert isna(t["a"]).tolist() == [True, False, True] and isna(t["b"]).tolist() == [True, True, False]
    assert failing_indices(t, None, lambda d: False) == [0, 1, 2]
    assert failing_indices(t, None, lambda d: True) == []
    assert failing_indices(Table({"a": []}, 0), None, lambda d: False) == []


def test_findings_carry_their_keys(frames):
    found = validate(frames, load_pack())
    assert found and all(f.key.startswith(f.rule + "-") for f in found)


def test_check_starts_without_pandas_or_pandera():
    """`selfeval check` (and so the web desk's self-check) loads neither."""
    code = ("import sys, pathlib; from pipeline.single import check_file; "
            "check_file(pathlib.Path(sys.argv[1])); "
            "print(sorted(m for m in ('pandas', 'pandera', 'openpyxl', 'xlsxwriter') if m in sys.modules))")
    r = subprocess.run([sys.executable, "-c", code, str(SAMPLE_SEED)], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "pandas" not in r.stdout and "pandera" not in r.stdout, r.stdout


def test_a_validated_chunk_leaves_no_cycle(tmp_path):
    """A run pauses the cyclic GC: whatever a chunk's checks leave in a cycle stays until the run
    ends (the indicator analysis once kept every chunk's frames, ~100 KB a form)."""
    import gc

    build(tmp_path / "a.xlsx", seed=7, plants=["identity", "narrative"])
    forms = read_file(tmp_path / "a.xlsx", "a.xlsx").forms + read_file(SAMPLE_SEED, "seed.xlsx").forms
    gc.collect()
    was = gc.isenabled()
    gc.disable()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        found = validate(build_frames(forms), load_pack())
        del forms
        gc.collect()
        kept = {type(o).__name__ for o in gc.garbage}
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        if was:
            gc.enable()
    assert found and not kept & {"FormPack", "Frames", "Prepared", "Table"}, kept
