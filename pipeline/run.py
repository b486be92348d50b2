"""The batch: discover every input, read it in worker processes, and validate and write the units
in chunks as they arrive; only 总览, the totals and packing summary.xlsx are left for the end."""
from __future__ import annotations

import datetime as dt
import gc
import os
import time
import threading
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

from .check import frames as frames_mod
from .errors import RunIncomplete
from .models import BLOCK_FIELDS, FINDING_COLUMNS, FileResult, Finding
from .read.pool import DEFAULT_MEMORY_MB, DEFAULT_TIMEOUT, read_iter
from .read.records import VALUE_COLUMNS, VALUE_SAFE
from .check.ruleset import ALL_FIELDS, RulePack, load_pack
from .check.validate import validate
from .write.atomic import atomic_path
from .write.exports import MANIFEST_COLUMNS, CsvStream
from .write.names import ReturnNames

CHUNK = 2500        # units validated and written together, at most
MIN_CHUNK = 1000    # ... at least (a tenth of a small run), unless the run is ending
BACKLOG = 6000      # files read ahead of the one the run waits for
DEPTH = 64          # files waiting in each worker's pipe
OUTPUTS = ("values.csv", "findings.csv", "manifest.csv", "summary.xlsx")
# What a run keeps of each unit once its chunk is written: for 汇总表, 总览 and the caller.
UNIT_KEYS = (("uid", "file", "sheet", "unit", "year", "f_grade")
             + tuple(f"{b}@derived" for b in BLOCK_FIELDS) + tuple(ALL_FIELDS))


@dataclass
class RunReport:
    inbox: Path
    out: Path
    pack: RulePack
    results: list[FileResult]
    findings: list[Finding]
    unit_rows: list[dict]       # one slim row per unit (UNIT_KEYS): what the summary's 汇总表 needs
    started: dt.datetime
    timings: dict[str, float] = field(default_factory=dict)
    returns_written: int = 0
    returns_enabled: bool = True   # summary.xlsx links to returns/ only when they are written
    frames: frames_mod.Frames | None = None   # all units' frames, kept only by check_file

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
        return len(self.unit_rows)

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
         on_stage: Callable | None = None, on_discovered: Callable | None = None,
         on_chunk: Callable | None = None,
         chunk_size: int = CHUNK, min_chunk: int | None = None, backlog: int = BACKLOG) -> RunReport:
    """Units are validated and written in chunks while the workers read on, so the parent holds
    one chunk of records at a time, never the whole run, and little is left for the end: 总览,
    the totals, packing summary.xlsx. What the run keeps (findings, one slim row per unit, the
    files' outcomes) is small. on_chunk(frames, findings, unit_rows, files) sees each chunk once it
    is written (the store records versions there)."""
    from .write.returns import write_returns
    from .write.summary import SummaryWriter

    inbox, out = Path(inbox), Path(out)
    pack = load_pack(rules, tolerance)
    started = dt.datetime.now()
    timings: dict[str, float] = {}
    kinds: dict[str, float] = {}
    items = discover(inbox, out)
    if on_discovered:
        on_discovered(len(items))
    report = RunReport(inbox, out, pack, [], [], [], started, timings, returns_enabled=returns)
    out.mkdir(parents=True, exist_ok=True)
    with ExitStack() as stack:
        tmp = {name: stack.enter_context(atomic_path(out / name)) for name in OUTPUTS}
        # every output is written as the chunks go, into temporary files renamed only at the end
        values = CsvStream(tmp["values.csv"], VALUE_COLUMNS, safe=VALUE_SAFE)
        stack.callback(values.close)
        findings_csv = CsvStream(tmp["findings.csv"], FINDING_COLUMNS)
        stack.callback(findings_csv.close)
        manifest_csv = CsvStream(tmp["manifest.csv"], MANIFEST_COLUMNS)
        stack.callback(manifest_csv.close)
        names = ReturnNames()
        summary = SummaryWriter(tmp["summary.xlsx"], names.link if returns else None)
        seen: dict = {}           # the run-wide rules' memory of earlier units (duplicates)
        chunk: list = []
        arrived: list = []        # files read since the last chunk

        def flush() -> None:
            timings["chunks"] = timings.get("chunks", 0) + 1
            uid0 = len(report.unit_rows)
            with _stage(timings, "chunk_frames", None):
                frames = frames_mod.build(chunk, uid0)
            with _stage(timings, "chunk_rules", None):
                found = validate(frames, pack, kinds, seen=seen)
            units = [{k: u.get(k) for k in UNIT_KEYS} for u in frames.unit_records]
            with _stage(timings, "chunk_exports", None):
                values.text(frames.values)
                findings_csv.rows(f.row() for f in found)
                manifest_csv.rows([r.file, r.sha256, r.status, r.units, r.error, r.code] for r in arrived)
            with _stage(timings, "chunk_summary", None):
                summary.chunk(frames, found, units, arrived)
            if on_chunk:
                on_chunk(frames, found, units, list(arrived))
            report.findings.extend(found)
            report.unit_rows.extend(units)
            chunk.clear()
            arrived.clear()

        if min_chunk is None:
            min_chunk = min(chunk_size, MIN_CHUNK, max(100, len(items) // 10))
        t_read = time.perf_counter()
        stream = _InOrder(items, backlog, timings, jobs=jobs, timeout=timeout, memory_mb=memory_mb)
        for result in stream:
            report.results.append(result)
            names.add(result)
            arrived.append(result)
            chunk.extend(result.forms)
            result.forms = []   # the packs now live in the chunk only
            if on_file:
                on_file(result)
            # a full chunk, or enough for one while the next file is still being read: the
            # parent works instead of waiting, and little is left for it once reading ends
            if len(chunk) >= chunk_size or (len(chunk) >= min_chunk and not stream.ready()):
                flush()
        if chunk or arrived:
            flush()
        timings["read"] = time.perf_counter() - t_read   # reading, with the chunks' work overlapped
        timings["tail_after_reading"] = time.perf_counter() - timings.pop("reader_done_at", t_read)
        # worker-side seconds, summed over files (they overlap across workers)
        timings["worker_guard_cpu"] = sum(r.guard_s for r in report.results)
        timings["worker_read_cpu"] = sum(r.read_s for r in report.results)
        timings["chunk_pandera"] = kinds.get("pandera", 0.0)
        timings["chunk_narrative"] = kinds.get("narrative", 0.0)
        timings["chunk_rules"] -= timings["chunk_narrative"]
        if len(report.results) != len(items) or report.received != report.accepted + report.rejected:
            raise RunIncomplete("收到的文件数不等于接收数与拒收数之和，本次汇总作废")
        with _stage(timings, "summary", on_stage):
            for out_csv in (values, findings_csv, manifest_csv):
                out_csv.close()
            summary.finish(report)
    if returns:
        with _stage(timings, "returns", on_stage):
            report.returns_written = write_returns(report, jobs=jobs, every=every_return)
    return report


class _InOrder:
    """Every item's result in input order, read by a thread that keeps the workers fed while the
    caller validates and writes. It sends no file more than backlog ahead of the one the caller
    waits for, which bounds what waits in memory (and the needed file is always sent).
    timings["read_wait"]: seconds the caller spent waiting for a result."""

    def __init__(self, items: list[tuple[Path, str]], backlog: int, timings: dict, **read_args):
        self.items, self.backlog, self.timings, self.read_args = items, backlog, timings, read_args
        self.buf: dict[int, FileResult] = {}
        self.pending = []
        for i, (p, rel) in enumerate(items):
            if p.is_symlink():
                self.buf[i] = _symlink_result(p, rel)
            else:
                self.pending.append(i)
        self.cv = threading.Condition()
        self.next = 0
        self.done = False
        self.error: BaseException | None = None
        self.cancel = threading.Event()

    def ready(self) -> bool:
        """Whether the next result is already here (the caller need not wait for it)."""
        return self.next in self.buf

    def _reader(self) -> None:
        pending, buf, cv = self.pending, self.buf, self.cv
        try:
            for j, res in read_iter([self.items[i] for i in pending], packed=True, depth=DEPTH,
                                    cancel=self.cancel,
                                    hold=lambda j: pending[j] > self.next + self.backlog, **self.read_args):
                with cv:
                    buf[pending[j]] = res
                    cv.notify()
        except BaseException as exc:  # surfaces in the caller's thread
            self.error = exc
        finally:
            self.timings["reader_thread_cpu"] = time.thread_time()
            self.timings["reader_done_at"] = time.perf_counter()
            with cv:
                self.done = True
                cv.notify()

    def __iter__(self) -> Iterator[FileResult]:
        thread = threading.Thread(target=self._reader, name="selfeval-reader", daemon=True)
        thread.start()
        timings = self.timings
        try:
            for i in range(len(self.items)):
                with self.cv:
                    self.next = i
                    if i not in self.buf:
                        t = time.perf_counter()
                        while i not in self.buf and not self.done:
                            self.cv.wait()
                        timings["read_wait"] = timings.get("read_wait", 0.0) + time.perf_counter() - t
                    res = self.buf.pop(i, None)
                if res is None:
                    if self.error is not None:
                        raise self.error
                    raise RunIncomplete(f"文件 {self.items[i][1]} 没有读取结果，本次汇总作废")
                yield res
        finally:
            self.cancel.set()
            thread.join()


def _symlink_result(path: Path, rel: str) -> FileResult:
    return FileResult(rel, "", "rejected", "NOT_A_REGULAR_FILE", "这是符号链接，不是报送的文件本身；未读取")
