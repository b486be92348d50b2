"""One file through the same guarded reader and rule pack as a run, without writing outputs."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

from .check import frames as frames_mod
from .models import FileResult
from .read.pool import read_many
from .check.ruleset import load_pack
from .run import RunReport
from .check.validate import validate


def read_one(path: Path) -> FileResult:
    return read_many([(path, path.name)], jobs=1, quick=True)[0]


def check_file(path: Path, rules: str | None = None, tolerance: str | None = None) -> RunReport:
    pack = load_pack(rules, tolerance)
    result = read_one(path)
    frames = frames_mod.build(result.forms)
    # a rejected file has no form to check: its verdict is the rejection, never a crash
    findings = validate(frames, pack) if result.forms else []
    return RunReport(path.parent, path.parent, pack, [result], findings, frames.unit_records,
                     dt.datetime.now(), frames=frames)
