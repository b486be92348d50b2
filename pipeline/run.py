"""The batch: discover every input, read in worker processes, validate all units, write outputs."""
from __future__ import annotations

import datetime as dt
import gc
import os
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from . import frames as frames_mod
from .models import FINDING_COLUMNS, FileResult, Finding
from .read.pool import DEFAULT_MEMORY_MB, DEFAULT_TIMEOUT, read_many
from .ruleset import RulePack, load_pack
from .validate import validate
from .write.exports import MANIFEST_COLUMNS, write_csv


class RunIncomplete(Exception):
    """The run could not account for every input file; nothing it reports can be trusted."""


@dataclass
class RunReport:
    inbox: Path
    out: Path
    pack: RulePack
    results: list[FileResult]
    findings: list[Finding]
    frames: frames_mod.Frames
    started: dt.datetime
    timings: dict[str, float] = field(default_factory=dict)
    returns_written: int = 0
    returns_enabled: bool = True   # summary.xlsx links to returns/ only when they are written

    @property
    def received(self) -> int:
        return len(self.results)

    @property
    def accepted(self) -> int:
        return sum(r.status == "accepted" for r in self.results)

    @property
    def rejected(self) -> int:
        return sum(r.status == "rejected" for r in self.results)

    @property
    def units(self) -> int:
        return len(self.frames.forms)

    def count(self, severity: str) -> int:
        return sum(f.severity == severity for f in self.findings)


def discover(inbox: Path, out: Path | None = None) -> list[tuple[Path, str]]:
    """Every regular file under inbox (recursively), sorted; the output folder is skipped."""
    inbox = inbox.resolve()
    skip = out.resolve() if out else None
    items = []
    for root, dirs, files in os.walk(inbox):
        rp = Path(root)
        dirs[:] = sorted(d for d in dirs if skip is None or (rp / d).resolve() != skip)
        for name in sorted(files):
            p = rp / name
            if p.is_file() or p.is_symlink():
                items.append((p, p.relative_to(inbox).as_posix()))
    return items


@contextmanager
def _stage(timings: dict, name: str, on_stage):
    if on_stage:
        on_stage(name, "start")
    t = time.perf_counter()
    yield
    timings[name] = timings.get(name, 0.0) + time.perf_counter() - t
    if on_stage:
        on_stage(name, "end")


def run(*args, **kwargs) -> RunReport:
    """The batch. Python's cyclic GC is paused meanwhile: the run builds millions of small
    objects and no cycles, and full collections over them cost seconds at 10,000 forms."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        return _run(*args, **kwargs)
    finally:
        if was_enabled:
            gc.enable()


def _run(inbox: Path, out: Path, *, jobs: int = 0, rules: str | None = None,
        tolerance: str | None = None, returns: bool = True, every_return: bool = False,
        timeout: float = DEFAULT_TIMEOUT,
        memory_mb: int = DEFAULT_MEMORY_MB, on_file: Callable | None = None,
        on_stage: Callable | None = None, on_discovered: Callable | None = None) -> RunReport:
    from .write.returns import write_returns
    from .write.summary import write_summary

    inbox, out = Path(inbox), Path(out)
    pack = load_pack(rules, tolerance)
    started = dt.datetime.now()
    timings: dict[str, float] = {}
    items = discover(inbox, out)
    if on_discovered:
        on_discovered(len(items))
    prepared: dict[int, tuple] = {}

    def arrived(result: FileResult) -> None:
        for form in result.forms:  # per-form frame rows, built while the workers read on
            prepared[id(form)] = frames_mod.records(form)
            form.rows = []  # the org rows now live in the frame rows; keep one copy in memory
        if on_file:
            on_file(result)

    with _stage(timings, "read", None):
        results = [_symlink_result(p, rel) if p.is_symlink() else None for p, rel in items]
        todo = [(i, it) for i, it in enumerate(items) if results[i] is None]
        read = read_many([it for _, it in todo], jobs=jobs, timeout=timeout, memory_mb=memory_mb,
                         on_result=arrived)
        for (i, _), res in zip(todo, read):
            results[i] = res
    # worker-side seconds, summed over files (they overlap across workers)
    timings["worker_guard_cpu"] = sum(r.guard_s for r in results if r)
    timings["worker_read_cpu"] = sum(r.read_s for r in results if r)
    if any(r is None for r in results) or len(results) != len(items):
        raise RunIncomplete(f"有 {sum(r is None for r in results)} 个文件没有读取结果，本次汇总作废")
    forms = [f for r in results for f in r.forms]
    with _stage(timings, "frames", on_stage):
        frames = frames_mod.build(forms, prepared)
        prepared.clear()
    kinds: dict[str, float] = {}
    with _stage(timings, "rules", on_stage):
        findings = validate(frames, pack, kinds)
    timings["narrative"] = kinds.get("narrative", 0.0)
    timings["rules"] -= timings["narrative"]
    report = RunReport(inbox, out, pack, results, findings, frames, started, timings,
                       returns_enabled=returns)
    if report.received != report.accepted + report.rejected:
        raise RunIncomplete("收到的文件数不等于接收数与拒收数之和，本次汇总作废")
    out.mkdir(parents=True, exist_ok=True)
    with _stage(timings, "exports", on_stage):
        write_csv(out / "values.csv", frames_mod.VALUE_COLUMNS, frames.values,
                  safe=("block", "field", "value", "cell"))
        write_csv(out / "findings.csv", FINDING_COLUMNS, (f.row() for f in findings))
        write_csv(out / "manifest.csv", MANIFEST_COLUMNS,
                  ([r.file, r.sha256, r.status, len(r.forms), r.error, r.code] for r in results))
    with _stage(timings, "summary", on_stage):
        write_summary(report, out / "summary.xlsx")
    if returns:
        with _stage(timings, "returns", on_stage):
            report.returns_written = write_returns(report, jobs=jobs, every=every_return)
    return report


def _symlink_result(path: Path, rel: str) -> FileResult:
    return FileResult(rel, "", "rejected", "NOT_A_REGULAR_FILE", "这是符号链接，不是报送的文件本身；未读取")
