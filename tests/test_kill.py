"""Fault injection: the run's process killed (-9) at several stages, and a swap interrupted half
way. OUT always holds one consistent set (the previous run's or the new one's), no process of the
run outlives it, and the next run starts clean."""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import build

from pipeline.write.outset import JOURNAL, OLD, OUTPUTS, STAGE, recover

CLI = [sys.executable, "-m", "pipeline.cli", "run"]


def outputs(out: Path) -> dict[str, str]:
    """Digests of the visible output set (summary.xlsx by its sheets' data: it holds a run date)."""
    got = {}
    for name in ("values.csv", "findings.csv", "manifest.csv"):
        if (out / name).exists():
            got[name] = hashlib.sha256((out / name).read_bytes()).hexdigest()
    if (out / "returns").exists():
        got["returns"] = sorted(p.relative_to(out).as_posix() for p in (out / "returns").rglob("*.xlsx"))
    got["summary"] = (out / "summary.xlsx").exists()
    return got


def group_alive(pgid: int) -> list[int]:
    alive = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                fields = (d / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[2]) == pgid and fields[0] != "Z":
                alive.append(int(d.name))
    return alive


@pytest.fixture(scope="module")
def inboxes(tmp_path_factory):
    base = tmp_path_factory.mktemp("kill")
    old, new = base / "old", base / "new"
    old.mkdir()
    for i in range(30):
        # one unit each: the store beside OUT (a run's default) numbers a unit's versions across
        # runs, and the expected set comes from a run on a fresh store
        build(old / f"f{i:02d}.xlsx", seed=300 + i, unit=f"单位{i:02d}", plants=["identity"] if i % 2 else [])
    shutil.copytree(old, new)
    build(new / "zz_new.xlsx", seed=399, unit="新单位", plants=["identity"])
    (new / "f00.xlsx").unlink()
    ref = base / "ref"
    assert subprocess.run([*CLI, str(new), "--out", str(ref), "-q"], capture_output=True).returncode == 1
    return old, new, outputs(ref)


@pytest.mark.skipif(sys.platform != "linux", reason="process groups and /proc")
@pytest.mark.parametrize("stage_file", ["values.csv", "returns", "manifest.csv"])
def test_killed_run_leaves_one_consistent_set(inboxes, tmp_path, stage_file):
    old, new, expected_new = inboxes
    out = tmp_path / "out"
    assert subprocess.run([*CLI, str(old), "--out", str(out), "-q"], capture_output=True).returncode == 1
    before = outputs(out)
    proc = subprocess.Popen([*CLI, str(new), "--out", str(out), "-q"], start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while not (out / STAGE / stage_file).exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    assert proc.poll() is None, "the run ended before the stage was reached"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    deadline = time.monotonic() + 10
    while group_alive(proc.pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert group_alive(proc.pid) == [], "workers or the fork server outlived the run"
    assert outputs(out) == before   # killed before the swap: the previous set, untouched
    p = subprocess.run([*CLI, str(new), "--out", str(out), "-q"], capture_output=True)
    assert p.returncode == 1
    assert outputs(out) == expected_new
    assert sorted(p.name for p in out.iterdir()) == sorted([".selfeval.lock", *OUTPUTS])


def test_a_swap_cut_half_way_is_completed_at_the_next_start(inboxes, tmp_path):
    old, new, expected_new = inboxes
    out, staged = tmp_path / "out", tmp_path / "staged"
    assert subprocess.run([*CLI, str(old), "--out", str(out), "-q"], capture_output=True).returncode == 1
    assert subprocess.run([*CLI, str(new), "--out", str(staged), "-q"], capture_output=True).returncode == 1
    # the state a run killed inside its swap leaves: journal written, two old outputs moved
    # aside, one new output moved in, the rest still staged
    (out / STAGE).mkdir()
    for name in OUTPUTS:
        shutil.move(str(staged / name), str(out / STAGE / name))
    (out / JOURNAL).write_text(json.dumps({"new": list(OUTPUTS)}), encoding="utf-8")
    (out / OLD).mkdir()
    for name in ("values.csv", "findings.csv"):
        os.replace(out / name, out / OLD / name)
    os.replace(out / STAGE / "values.csv", out / "values.csv")
    (out / ".~123-0badc0de.tmp").write_text("orphan")
    recover(out)
    assert outputs(out) == expected_new
    assert sorted(p.name for p in out.iterdir()) == sorted([".selfeval.lock", *OUTPUTS])
    # a journal that was never completed means the swap had not begun: the old set stays
    before = outputs(out)
    (out / STAGE).mkdir()
    (out / STAGE / "values.csv").write_text("half")
    (out / (JOURNAL + ".tmp")).write_text('{"new": ["val')
    recover(out)
    assert outputs(out) == before and not (out / STAGE).exists()
